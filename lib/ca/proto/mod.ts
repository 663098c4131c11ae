/**
 * The sans-I/O Channel Access codec: message header and framing, typed per-command
 * encoders and decoders, the 39 DBR payload types and the server-side value
 * conversions. Pure functions over bytes; no sockets, timers or clocks.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { CaFramer, encodeEcho } from "./mod.ts";
 * const w = new ByteWriter();
 * encodeEcho(w);
 * const [msg] = new CaFramer().receive(w.toBytes());
 * if (msg.command !== 23) throw new Error();
 * ```
 * @module
 */
export * from "./constants.ts";
export * from "./dbr_types.ts";
export * from "./header.ts";
export * from "./framer.ts";
export * from "./messages.ts";
export * from "./dbr.ts";
export * from "./convert.ts";
