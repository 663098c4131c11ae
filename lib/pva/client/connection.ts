/**
 * The client side of one PVA TCP connection as a plain object: bytes in, events out;
 * requests in, bytes out. No sockets, no timers: the transport feeds `receive()` with
 * what it read and writes what `takeOutput()` returns.
 *
 * ```text
 * server: Set byte order | CONNECTION_VALIDATION (buffer size, registry size, methods)
 * client: CONNECTION_VALIDATION (buffer size, registry size, qos, method, auth data)
 * server: CONNECTION_VALIDATED (Status)        -> event "validated"; queued requests go out
 * client: CREATE_CHANNEL / GET / PUT / MONITOR / GET_FIELD / RPC / SEARCH ...
 * ```
 *
 * Requests made before the server validated the connection are held and sent right after
 * CONNECTION_VALIDATED, in order. Every message is written in the byte order the server
 * announced. Operation data is merged into a per-operation value (the last full value),
 * created from the type of the INIT reply.
 * @module
 */

import { ByteWriter } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import { type BitSet } from "../proto/bitset.ts";
import { PvaCommand, PvaControl, type PvaMessage } from "../proto/header.ts";
import {
  type DecodedMessage,
  decodeMessage,
  encodeCreateChannelRequest,
  encodeDestroyChannel,
  encodeEcho,
  encodeGetFieldRequest,
  encodeOpRequest,
  encodeRequestIds,
  encodeSearchRequest,
  encodeValidationResponse,
  type OpCommand,
  PvaSubcmd,
  type SearchRequest,
  type SearchResponse,
} from "../proto/messages.ts";
import type { PvaStatus } from "../proto/status.ts";
import { type FieldDesc, T, TypeCache, TypeCode } from "../proto/typedesc.ts";
import { PvValue } from "../proto/value.ts";
import { ReadFramer } from "./_read_framer.ts";

/** Something the server told us, as {@link ClientConnection.receive} reports it. */
export type ConnEvent =
  | { kind: "validated"; status: PvaStatus }
  | { kind: "channelCreated"; cid: number; sid: number; status: PvaStatus }
  | { kind: "channelDestroyed"; sid: number; cid: number }
  | { kind: "opInit"; command: OpCommand; ioid: number; status: PvaStatus; type: FieldDesc | null }
  | {
    kind: "opData";
    command: OpCommand;
    ioid: number;
    subcmd: number;
    /** Absent on MONITOR updates (they carry no status). */
    status?: PvaStatus;
    /** The operation's value with this reply merged in (changed marks = the reply's). */
    value?: PvValue;
    overrun?: BitSet;
    /** RPC result. */
    result?: PvValue | null;
  }
  | { kind: "getField"; ioid: number; status: PvaStatus; type: FieldDesc | null }
  | { kind: "message"; ioid: number; type: number; message: string }
  | { kind: "searchResponse"; msg: SearchResponse }
  | { kind: "echo" };

/** Options of a {@link ClientConnection}. */
export interface ClientConnectionOptions {
  /** Account name sent with the "ca" method (default ""). */
  user?: string;
  /** Host name sent with the "ca" method (default ""). */
  host?: string;
}

interface OpState {
  command: OpCommand;
  /** Cache of the last value (GET, MONITOR, PUT's get-put), from the INIT reply type. */
  value: PvValue | undefined;
  /**
   * Byte offset (0..7) at which large replies of this operation are placed in their
   * buffer, so that their numeric arrays can be viewed aligned instead of copied.
   */
  pad: number;
}

/** Replies of this size or more are read straight into their own buffer. */
const LARGE_REPLY = 64 * 1024;

/** Our receive buffer size as announced in the validation reply (pvxs sends the same). */
const CLIENT_BUFFER_SIZE = 0x10000;
const REGISTRY_SIZE = 0x7fff;

/**
 * One client connection's protocol state.
 *
 * @example
 * ```ts
 * import { ClientConnection } from "./connection.ts";
 * import { fromHex } from "../../core/bytes.ts";
 * const c = new ClientConnection();
 * c.createChannel(1, "pv:x"); // held until the server validates
 * [...c.receive(fromHex("ca02410200000000ca0240011400000000000100ff7f0209616e6f6e796d6f7573026361"))];
 * const ev = [...c.receive(fromHex("ca02400901000000ff"))];
 * if (ev[0].kind !== "validated") throw new Error();
 * if (!c.takeOutput()) throw new Error("validation reply and CREATE_CHANNEL expected");
 * ```
 */
export class ClientConnection {
  #framer = new ReadFramer({
    largeAt: LARGE_REPLY,
    // A reply's first four payload bytes are its ioid: place it as its operation's
    // last replies needed.
    padFor: (_command, le, prefix) =>
      prefix.length >= 4
        ? this.#ops.get(new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0, le))
          ?.pad ?? 0
        : 0,
  });
  #cache = new TypeCache();
  #out = new ByteWriter(4096, true);
  #held = new ByteWriter(1024, true);
  #ops = new Map<number, OpState>();
  #validated = false;
  #validationSent = false;
  #user: string;
  #host: string;
  /** Authentication methods the server offered. */
  authMethods: string[] = [];

  /**
   * Creates a connection state machine; nothing is queued until the server validates.
   * @param opts the account and host sent with "ca" authentication
   */
  constructor(opts: ClientConnectionOptions = {}) {
    this.#user = opts.user ?? "";
    this.#host = opts.host ?? "";
  }

  /** Whether CONNECTION_VALIDATED was received. */
  get validated(): boolean {
    return this.#validated;
  }

  /** Number of operations the connection tracks. */
  get operationCount(): number {
    return this.#ops.size;
  }

  /**
   * Feeds bytes read from the socket. Events come out one at a time and each message is
   * decoded only when the previous event was consumed: an operation's value is updated in
   * place, so a consumer sees every update of a chunk holding several.
   * @param chunk the bytes
   * @returns the events they complete (none while a frame is partial)
   * @throws {RemoteProtocolError} when the server breaks the protocol (close the socket)
   */
  receive(chunk: Uint8Array): Generator<ConnEvent, void, undefined> {
    return this.#events(this.#framer.receive(chunk));
  }

  /**
   * Where the transport should read next: a view in the receive buffer, or the rest
   * of a large reply's own buffer (so its bytes are copied only once). Pass the number
   * of bytes read to {@link commit}.
   * @returns the view to read into
   */
  readSpace(): Uint8Array {
    return this.#framer.space();
  }

  /**
   * Accounts for `n` bytes read into the last {@link readSpace}; events as from
   * {@link receive}.
   * @param n bytes read
   * @returns the events they complete
   * @throws {RemoteProtocolError} when the server breaks the protocol (close the socket)
   */
  commit(n: number): Generator<ConnEvent, void, undefined> {
    return this.#events(this.#framer.commit(n));
  }

  *#events(msgs: PvaMessage[]): Generator<ConnEvent, void, undefined> {
    for (const m of msgs) {
      if (m.control) {
        if (m.command === PvaControl.SET_BYTE_ORDER) {
          this.#out.littleEndian = m.littleEndian;
          this.#held.littleEndian = m.littleEndian;
        }
        continue;
      }
      if (!m.fromServer) {
        throw new RemoteProtocolError(
          `Cannot accept PVA command 0x${m.command.toString(16)}: direction bit says client`,
        );
      }
      const d = decodeMessage(m, {
        cache: this.#cache,
        valueFor: (_c, ioid) => this.#ops.get(ioid)?.value,
      });
      const ev = this.#handle(d);
      if (!ev) continue;
      if (ev.kind === "opData" && ev.value && m.payload.length >= LARGE_REPLY) {
        this.#checkAlignment(ev.ioid, ev.value, m.payload);
      }
      yield ev;
    }
  }

  /**
   * After a large reply: if one of the numeric arrays it carried had to be copied
   * (misaligned in the payload), try the next placement for that operation's replies.
   * The arrays of a stream of updates sit at the same offsets, so this settles within
   * a few updates.
   */
  #checkAlignment(ioid: number, value: PvValue, payload: Uint8Array): void {
    const op = this.#ops.get(ioid);
    if (!op) return;
    const s = PvValue._store(value);
    const ch = s.changed;
    for (let b = ch.nextSetBit(0); b >= 0; b = ch.nextSetBit(s.layout.ends[b])) {
      for (let j = b; j < s.layout.ends[b]; j++) {
        const v = s.vals[j];
        if (
          ArrayBuffer.isView(v) && (v as Uint8Array).BYTES_PER_ELEMENT > 1 &&
          v.buffer !== payload.buffer && v.byteLength >= 64
        ) {
          op.pad = (op.pad + 1) & 7;
          return;
        }
      }
    }
  }

  #handle(d: DecodedMessage): ConnEvent | undefined {
    switch (d.kind) {
      case "validationRequest":
        this.authMethods = d.msg.authMethods;
        this.#sendValidation(d.msg.authMethods);
        return undefined;
      case "validated": {
        this.#validated = true;
        const held = this.#held.view();
        if (held.length > 0) {
          this.#out.bytes(held);
          this.#held.reset();
        }
        return { kind: "validated", status: d.status };
      }
      case "echo":
        return { kind: "echo" };
      case "createChannelResponse":
        return { kind: "channelCreated", cid: d.msg.cid, sid: d.msg.sid, status: d.msg.status };
      case "destroyChannel":
        return { kind: "channelDestroyed", sid: d.msg.sid, cid: d.msg.cid };
      case "getFieldResponse":
        return { kind: "getField", ioid: d.msg.ioid, status: d.msg.status, type: d.msg.type };
      case "message":
        return { kind: "message", ioid: d.msg.ioid, type: d.msg.type, message: d.msg.message };
      case "searchResponse":
        return { kind: "searchResponse", msg: d.msg };
      case "opResponse": {
        const m = d.msg;
        const op = this.#ops.get(m.ioid);
        // Late replies for destroyed operations are expected; ignore them.
        if (!op) return undefined;
        if (m.subcmd & PvaSubcmd.INIT) {
          const type = m.types?.[0] ?? null;
          if (type && type.code === TypeCode.STRUCTURE) op.value = PvValue.create(type);
          if (!m.status || m.status.type >= 2) this.#ops.delete(m.ioid);
          return { kind: "opInit", command: m.command, ioid: m.ioid, status: m.status!, type };
        }
        if ((m.subcmd & PvaSubcmd.DESTROY) !== 0) this.#ops.delete(m.ioid);
        return {
          kind: "opData",
          command: m.command,
          ioid: m.ioid,
          subcmd: m.subcmd,
          status: m.status,
          value: m.value,
          overrun: m.overrun,
          result: m.result,
        };
      }
    }
    return undefined;
  }

  #sendValidation(methods: string[]): void {
    if (this.#validationSent) return;
    this.#validationSent = true;
    const ca = methods.includes("ca");
    const authData = ca
      ? PvValue.create(T.struct("", [["user", T.string], ["host", T.string]]), {
        user: this.#user,
        host: this.#host,
      })
      : null;
    encodeValidationResponse(this.#out, {
      bufferSize: CLIENT_BUFFER_SIZE,
      registrySize: REGISTRY_SIZE,
      qos: 0,
      authMethod: ca ? "ca" : "anonymous",
      authData,
    });
  }

  /** The writer for requests: held until validation, then straight out. */
  get #w(): ByteWriter {
    return this.#validated ? this.#out : this.#held;
  }

  /**
   * Takes the bytes to write to the socket (everything queued since the last call).
   * @returns the bytes, or undefined when nothing is pending
   */
  takeOutput(): Uint8Array | undefined {
    if (this.#out.length === 0) return undefined;
    const b = this.#out.toBytes();
    this.#out.reset();
    return b;
  }

  /** Queues CREATE_CHANNEL for one channel. */
  createChannel(cid: number, name: string): void {
    encodeCreateChannelRequest(this.#w, { channels: [{ cid, name }] });
  }

  /** Queues DESTROY_CHANNEL. */
  destroyChannel(sid: number, cid: number): void {
    encodeDestroyChannel(this.#w, { sid, cid }, false);
  }

  /** Queues a SEARCH over this connection (name servers). */
  search(m: SearchRequest): void {
    encodeSearchRequest(this.#w, m);
  }

  /** Queues an ECHO request (empty payload). */
  echo(): void {
    if (this.#validated) encodeEcho(this.#out, new Uint8Array(0), false);
  }

  /**
   * Queues the INIT of an operation and starts tracking `ioid`.
   * @param command GET, PUT, MONITOR, RPC...
   * @param sid the server's channel ID
   * @param ioid a request ID unique on this connection
   * @param pvRequest the pvRequest structure
   * @param nfree MONITOR only: pipeline window (sends INIT 0x88)
   */
  initOp(
    command: OpCommand,
    sid: number,
    ioid: number,
    pvRequest: PvValue,
    nfree?: number,
  ): void {
    this.#ops.set(ioid, { command, value: undefined, pad: 0 });
    const subcmd = nfree !== undefined ? PvaSubcmd.INIT | PvaSubcmd.GET_PUT : PvaSubcmd.INIT;
    encodeOpRequest(this.#w, { command, sid, ioid, subcmd, pvRequest, nfree });
  }

  /**
   * Queues a non-INIT operation message.
   * @param command the operation's command
   * @param sid the server's channel ID
   * @param ioid the operation
   * @param subcmd subcommand bits
   * @param extra put value and mask, RPC arguments, or a MONITOR ack count
   */
  execOp(
    command: OpCommand,
    sid: number,
    ioid: number,
    subcmd: number,
    extra: { value?: PvValue; changed?: BitSet; args?: PvValue | null; nfree?: number } = {},
  ): void {
    encodeOpRequest(this.#w, { command, sid, ioid, subcmd, ...extra });
  }

  /** The value cache of an operation (after its INIT reply). */
  opValue(ioid: number): PvValue | undefined {
    return this.#ops.get(ioid)?.value;
  }

  /** Queues GET_FIELD (one-shot: the reply frees `ioid`). */
  getField(sid: number, ioid: number, subField = ""): void {
    encodeGetFieldRequest(this.#w, { sid, ioid, subField });
  }

  /** Queues DESTROY_REQUEST and forgets `ioid`. */
  destroyOp(sid: number, ioid: number): void {
    this.#ops.delete(ioid);
    encodeRequestIds(this.#w, PvaCommand.DESTROY_REQUEST, { sid, ioid });
  }

  /** Forgets an operation without telling the server (its channel is gone). */
  forgetOp(ioid: number): void {
    this.#ops.delete(ioid);
  }
}
