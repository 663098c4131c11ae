/**
 * The sans-I/O PV Access codec: header and framing, Size/String, BitSet, Status, type
 * introspection with the per-connection type cache, values (full and partial), pvRequest,
 * and every application message.
 * @module
 */
export * from "./header.ts";
export * from "./size_string.ts";
export * from "./bitset.ts";
export * from "./status.ts";
export * from "./typedesc.ts";
export * from "./value.ts";
export * from "./request.ts";
export * from "./messages.ts";
