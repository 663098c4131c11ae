/**
 * The client side of one CA virtual circuit, sans-I/O: requests are encoded into an
 * outgoing buffer that the transport drains once per event-loop turn, received bytes
 * become typed events, and the ECHO watchdog runs on an injected clock.
 *
 * ```text
 * client -> server at open: VERSION(priority, 13) | CLIENT_NAME(user) | HOST_NAME(host)
 * then per channel:         CREATE_CHAN(cid, name)
 * server -> client:         VERSION | ACCESS_RIGHTS(cid) | CREATE_CHAN(cid, sid, type, count)
 * ```
 * @module
 */

import { ByteWriter } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import { CA_MINOR_VERSION, CaCommand } from "../proto/constants.ts";
import { decodeDbr } from "../proto/dbr.ts";
import type { DbrData } from "../proto/dbr_types.ts";
import { CaFramer } from "../proto/framer.ts";
import { type CaMessage, writeHeader } from "../proto/header.ts";
import { asciiPayloadSize, writeNamePayload } from "./search.ts";
import {
  decodeAccessRights,
  decodeCreateChan,
  decodeError,
  decodeSearchReply,
  encodeClearChannel,
  encodeClientName,
  encodeCreateChanRequest,
  encodeEcho,
  encodeEventAdd,
  encodeEventCancel,
  encodeHostName,
  encodeReadNotify,
  encodeVersion,
  encodeWrite,
  encodeWriteNotify,
} from "../proto/messages.ts";

/** Decodes a DBR body into values that do not alias the (reused) receive buffer. */
function decodeOwned(m: CaMessage): DbrData {
  const d = decodeDbr(m.dataType, m.dataCount, m.payload);
  if (d.value instanceof Uint8Array && d.value.buffer === m.payload.buffer) {
    d.value = d.value.slice();
  }
  return d;
}

/** What the circuit learned from the bytes it received. */
export type CircuitEvent =
  | { kind: "version"; minorVersion: number }
  | { kind: "accessRights"; cid: number; rights: number }
  | { kind: "created"; cid: number; sid: number; dataType: number; count: number }
  | { kind: "createFailed"; cid: number }
  | { kind: "serverDisconn"; cid: number }
  | {
    kind: "readReply";
    ioid: number;
    eca: number;
    dataType: number;
    count: number;
    data?: DbrData;
  }
  | { kind: "writeReply"; ioid: number; eca: number }
  | { kind: "monitor"; subid: number; eca: number; dataType: number; count: number; data?: DbrData }
  | { kind: "cancelled"; subid: number }
  | { kind: "cleared"; cid: number; sid: number }
  | {
    kind: "error";
    cid: number;
    eca: number;
    request: { command: number; param1: number; param2: number; dataType: number };
    text: string;
  }
  | { kind: "searchReply"; cid: number; port: number; serverIp: number }
  | { kind: "echo" };

/** Options of {@link CircuitState}. */
export interface CircuitStateOptions {
  /** User name sent in CLIENT_NAME. */
  user: string;
  /** Host name sent in HOST_NAME. */
  host: string;
  /** Circuit priority 0..99. */
  priority?: number;
  /** Largest accepted payload (EPICS_CA_MAX_ARRAY_BYTES when auto array bytes is off). */
  maxPayload?: number;
  /** Seconds of silence before an ECHO probe (EPICS_CA_CONN_TMO). */
  connTimeout: number;
  /** Seconds to wait for the ECHO reply before the circuit counts as dead (libca: 5). */
  echoTimeout?: number;
}

/** What the watchdog wants done at a given time. */
export interface WatchdogAction {
  /** Send an ECHO now (already queued in the output). */
  sentEcho: boolean;
  /** The server has been silent too long: drop the circuit. */
  dead: boolean;
  /** When to call {@link CircuitState.tick} next (same clock as `now`). */
  nextAt: number;
}

/**
 * One circuit's protocol state. Methods that send append to the output buffer; the
 * transport calls {@link CircuitState.takeOutput} after the current turn and writes
 * the bytes in one go. Times are seconds on the caller's clock.
 * @example
 * ```ts
 * import { CircuitState } from "./circuit_state.ts";
 * const c = new CircuitState({ user: "u", host: "h", connTimeout: 30 }, 0);
 * c.hello();
 * c.createChannel(1, "T:ai");
 * if (c.takeOutput()!.length !== 16 + 24 + 24 + 24) throw new Error();
 * ```
 */
export class CircuitState {
  readonly #opts: CircuitStateOptions;
  readonly #framer: CaFramer;
  readonly #out = new ByteWriter(4096);
  #lastRecv: number;
  #echoSentAt: number | undefined;
  /** The server's minor version (from VERSION; 13 until told otherwise). */
  serverMinor = CA_MINOR_VERSION;

  /**
   * @param opts identity, priority and limits
   * @param now the current time in seconds
   */
  constructor(opts: CircuitStateOptions, now: number) {
    this.#opts = opts;
    this.#framer = new CaFramer({ maxPayload: opts.maxPayload });
    this.#lastRecv = now;
  }

  /** True when bytes wait to be written. */
  get hasOutput(): boolean {
    return this.#out.length > 0;
  }

  /**
   * The bytes queued since the last call (a copy), or undefined when there are none.
   * @returns the bytes to write
   */
  takeOutput(): Uint8Array | undefined {
    if (this.#out.length === 0) return undefined;
    const b = this.#out.toBytes();
    this.#out.reset();
    return b;
  }

  /**
   * Queues bytes encoded elsewhere (a search block for a name server).
   * @param bytes whole CA messages
   */
  appendRaw(bytes: Uint8Array): void {
    this.#out.bytes(bytes);
  }

  /** Queues the opening messages: VERSION, CLIENT_NAME, HOST_NAME. */
  hello(): void {
    encodeVersion(this.#out, { priority: this.#opts.priority ?? 0 });
    encodeClientName(this.#out, this.#opts.user);
    encodeHostName(this.#out, this.#opts.host);
  }

  /**
   * Queues CREATE_CHAN.
   * @param cid the channel's client ID
   * @param name the PV name
   */
  createChannel(cid: number, name: string): void {
    const size = asciiPayloadSize(name);
    if (size < 0) {
      encodeCreateChanRequest(this.#out, { cid, name });
      return;
    }
    writeHeader(this.#out, CaCommand.CREATE_CHAN, size, 0, 0, cid, CA_MINOR_VERSION);
    writeNamePayload(this.#out, name, size);
  }

  /**
   * Queues CLEAR_CHANNEL.
   * @param sid server ID
   * @param cid client ID
   */
  clearChannel(sid: number, cid: number): void {
    encodeClearChannel(this.#out, { sid, cid });
  }

  /**
   * Queues READ_NOTIFY.
   * @param f channel SID, operation IOID, DBR type and count (0 = dynamic)
   */
  read(f: { sid: number; ioid: number; dataType: number; count: number }): void {
    encodeReadNotify(this.#out, f);
  }

  /**
   * Queues WRITE (no completion reply; p2 carries the CID, as libca does).
   * @param f channel IDs, DBR type, count and data
   */
  write(f: { sid: number; cid: number; dataType: number; count: number; data: DbrData }): void {
    encodeWrite(this.#out, f);
  }

  /**
   * Queues WRITE_NOTIFY.
   * @param f channel SID, IOID, DBR type, count and data
   */
  writeNotify(
    f: { sid: number; ioid: number; dataType: number; count: number; data: DbrData },
  ): void {
    encodeWriteNotify(this.#out, f);
  }

  /**
   * Queues EVENT_ADD.
   * @param f channel SID, subscription ID, DBR type, count (0 = dynamic) and DBE mask
   */
  eventAdd(f: { sid: number; subid: number; dataType: number; count: number; mask: number }): void {
    encodeEventAdd(this.#out, f);
  }

  /**
   * Queues EVENT_CANCEL.
   * @param f channel SID, subscription ID and the subscription's type and count
   */
  eventCancel(f: { sid: number; subid: number; dataType: number; count: number }): void {
    encodeEventCancel(this.#out, f);
  }

  /**
   * Consumes bytes from the socket.
   * @param chunk the bytes read
   * @param now the current time in seconds
   * @returns the events the bytes completed
   * @throws {RemoteProtocolError} when the stream is malformed (drop the circuit)
   */
  receive(chunk: Uint8Array, now: number): CircuitEvent[] {
    this.#lastRecv = now;
    this.#echoSentAt = undefined;
    const out: CircuitEvent[] = [];
    for (const m of this.#framer.receive(chunk)) {
      const ev = this.#event(m);
      if (ev) out.push(ev);
    }
    return out;
  }

  #event(m: CaMessage): CircuitEvent | undefined {
    switch (m.command) {
      case CaCommand.VERSION:
        this.serverMinor = m.dataCount;
        return { kind: "version", minorVersion: m.dataCount };
      case CaCommand.ACCESS_RIGHTS: {
        const a = decodeAccessRights(m);
        return { kind: "accessRights", cid: a.cid, rights: a.rights };
      }
      case CaCommand.CREATE_CHAN: {
        const c = decodeCreateChan(m);
        return { kind: "created", cid: c.cid, sid: c.sid, dataType: c.dataType, count: c.count };
      }
      case CaCommand.CREATE_CH_FAIL:
        return { kind: "createFailed", cid: m.param1 };
      case CaCommand.SERVER_DISCONN:
        return { kind: "serverDisconn", cid: m.param1 };
      case CaCommand.READ_NOTIFY: {
        const eca = m.param1;
        return {
          kind: "readReply",
          ioid: m.param2,
          eca,
          dataType: m.dataType,
          count: m.dataCount,
          data: (eca & 1) ? decodeOwned(m) : undefined,
        };
      }
      case CaCommand.WRITE_NOTIFY:
        return { kind: "writeReply", ioid: m.param2, eca: m.param1 };
      case CaCommand.EVENT_ADD: {
        // A zero-size EVENT_ADD confirms a cancel (ca.md 5.14).
        if (m.payload.length === 0) return { kind: "cancelled", subid: m.param2 };
        const eca = m.param1;
        return {
          kind: "monitor",
          subid: m.param2,
          eca,
          dataType: m.dataType,
          count: m.dataCount,
          data: (eca & 1) ? decodeOwned(m) : undefined,
        };
      }
      case CaCommand.CLEAR_CHANNEL:
        return { kind: "cleared", sid: m.param1, cid: m.param2 };
      case CaCommand.ERROR: {
        const e = decodeError(m);
        return {
          kind: "error",
          cid: e.cid,
          eca: e.eca,
          request: {
            command: e.request.command,
            param1: e.request.param1,
            param2: e.request.param2,
            dataType: e.request.dataType,
          },
          text: e.text,
        };
      }
      case CaCommand.SEARCH: {
        const r = decodeSearchReply(m);
        return { kind: "searchReply", cid: r.cid, port: r.port, serverIp: r.serverIp };
      }
      case CaCommand.ECHO:
      case CaCommand.READ_SYNC:
        return { kind: "echo" };
      case CaCommand.NOT_FOUND:
      case CaCommand.RSRV_IS_UP:
        return undefined;
      default:
        throw new RemoteProtocolError(
          `Cannot handle CA command ${m.command} from the server: not a client-bound message`,
        );
    }
  }

  /**
   * Runs the ECHO watchdog (ca.md 5.4): after `connTimeout` seconds of silence an ECHO
   * goes out; no reply within `echoTimeout` seconds means the server is unresponsive.
   * @param now the current time in seconds
   * @returns what happened and when to call again
   */
  tick(now: number): WatchdogAction {
    const tmo = this.#opts.connTimeout;
    const echoTmo = this.#opts.echoTimeout ?? 5;
    if (this.#echoSentAt !== undefined) {
      if (now - this.#echoSentAt >= echoTmo) {
        return { sentEcho: false, dead: true, nextAt: now + echoTmo };
      }
      return { sentEcho: false, dead: false, nextAt: this.#echoSentAt + echoTmo };
    }
    if (now - this.#lastRecv >= tmo) {
      encodeEcho(this.#out);
      this.#echoSentAt = now;
      return { sentEcho: true, dead: false, nextAt: now + echoTmo };
    }
    return { sentEcho: false, dead: false, nextAt: this.#lastRecv + tmo };
  }
}
