/**
 * One PV Access TCP connection on the server side: the validation handshake, channels,
 * and the GET, PUT, MONITOR, GET_FIELD and RPC operations over the shared PV model.
 * Everything produced in one turn of the event loop goes out together (in writes of
 * about 256 kB at most); monitor updates wait in per-subscription bounded queues (the
 * newest value replaces the last queued one when a client lags) and honour the pipeline
 * window (a subscription without window waits outside the ready set until the client
 * acknowledges). An update's data is encoded once per PV snapshot and field selection and
 * copied for every other subscription that sends it; NTNDArray value updates are written
 * straight from the snapshot (NdArrayUpdateEncoder). A subscription with more queued goes
 * to the back of the line after each turn, so one big image does not starve many rows.
 * The socket sits behind {@link PvaTransport}, so tests drive a connection in memory.
 * @module
 */

import { ByteWriter } from "../../core/bytes.ts";
import { EpicsError, RemoteProtocolError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { PutContext, PvProvider, PvSnapshot, ServedPv } from "../../pv/types.ts";
import { PvChange } from "../../pv/types.ts";
import {
  beginMessage,
  bitOf,
  BitSet,
  type DecodedMessage,
  decodeMessage,
  encodeBitSet,
  encodeCreateChannelResponse,
  encodeDestroyChannel,
  encodeEcho,
  encodeGetFieldResponse,
  encodeOpResponse,
  encodeSearchResponse,
  encodeSetByteOrder,
  encodeValidated,
  encodeValidationRequest,
  encodeValueBits,
  endMessage,
  type FieldDesc,
  type GetFieldRequest,
  type OpCommand,
  type OpRequest,
  PvaCommand,
  PvaFramer,
  type PvaMessage,
  pvaStatus,
  PvaStatusType,
  PvaSubcmd,
  PvValue,
  requestMask,
  requestOptions,
  type SearchRequest,
  STATUS_OK,
  typeAtBit,
  TypeCache,
} from "../proto/mod.ts";
import {
  extractPut,
  leafBits,
  NtSnapshotWriter,
  selectBits,
  valueFromPlain,
} from "../nt/pv_map.ts";
import { isNdArrayValueUpdate, NdArrayUpdateEncoder } from "../nt/ndarray_fast.ts";
import { isScalarValueUpdate, ScalarUpdateEncoder } from "../nt/scalar_fast.ts";
import { searchReply } from "./search.ts";
import { SERVER_CHANNEL, serverChannelPv } from "./server_pv.ts";

/** The byte pipe under a connection. */
export interface PvaTransport {
  /** Writes some bytes; resolves with how many were written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes the connection. */
  close(): void;
}

/** Settings of a connection. */
export interface PvaConnectionOptions {
  /** Where the connection logs protocol trouble. */
  logger: Logger;
  /** "host:port" of the peer (its host is the default client host name). */
  peer: string;
  /** The server's GUID (12 bytes), for searches over TCP. */
  guid: Uint8Array;
  /** The server's TCP port, for searches over TCP. */
  tcpPort: number;
  /** Byte order the server announces and sends in (default: little-endian, like x86 peers). */
  littleEndian?: boolean;
  /** Largest message accepted (bytes, default 64 MiB). */
  maxPayload?: number;
  /** Default monitor queue depth when the pvRequest sets none (default 4). */
  queueSize?: number;
  /** Called once when the connection has closed. */
  onClose?: () => void;
  /**
   * Inactivity timeout base in seconds (EPICS_PVA_CONN_TMO): as pvxs, the connection
   * counts as dead after 4/3 of it without receiving a byte (an ECHO counts). Unset or 0:
   * never. {@link PvaServerConnection.checkIdle} applies it; the transport calls that.
   */
  connTimeout?: number;
  /** Milliseconds clock for the inactivity timeout (default Date.now; tests inject one). */
  now?: () => number;
  /**
   * Called each time the connection has written everything it could (its output is
   * empty and every subscription queue is empty or waiting for the client's
   * acknowledgement), with the PVs that have a subscription which sent updates since the
   * last call, each with the room left in its queue (how many posts it takes before the
   * newest starts replacing the last queued one; the largest when several subscriptions
   * of this connection watch the PV). The map is reused: read it during the call only.
   * A producer posting that many values from here posts only as fast as clients take
   * updates, as pvxs's spam does when a subscription's queue has room.
   */
  onDrained?: (roomFor: ReadonlyMap<ServedPv, number>) => void;
  /**
   * Whether {@link onDrained} gets the room of each PV (default true). Keeping the map
   * costs a lookup per update; a producer that only wants the signal passes false and
   * gets an empty map.
   */
  drainedRoom?: boolean;
  /**
   * Also call {@link onDrained} after every completed write whose updates left room in
   * some subscription's queue, not only once everything is out (default false). A
   * producer that posts the room it is given then refills each subscription as soon as
   * its updates are on the wire, as pvxs's spam posts whenever a queue has room, instead
   * of waiting for the whole connection (1,000 array subscriptions: megabytes) to drain.
   */
  drainedOnEachWrite?: boolean;
  /** Counts monitor updates encoded and bytes written (shared by a server's connections). */
  traffic?: PvaTraffic;
}

/** What connections have sent: monitor updates and bytes, since the counter was made. */
export interface PvaTraffic {
  /** MONITOR data updates encoded for sending. */
  updates: number;
  /** Bytes handed to the socket (every message). */
  bytes: number;
}

/** Authentication methods offered, lowest preference first (as pvxs offers them). */
export const AUTH_METHODS: readonly string[] = ["anonymous", "ca"];

interface Channel {
  cid: number;
  sid: number;
  pv: ServedPv;
  writer: NtSnapshotWriter;
  ops: Set<Op>;
  /** NTNDArray PVs: the direct encoder of value updates (made on first use). */
  nd?: NdArrayUpdateEncoder;
  /** Numeric NTScalar/NTScalarArray PVs: the direct encoder of value updates (first use). */
  sc?: ScalarUpdateEncoder;
}

interface QueuedUpdate {
  snap: PvSnapshot;
  /** PvChange bits; 0 = everything (an initial update). */
  changes: number;
}

interface Op {
  ioid: number;
  command: OpCommand;
  channel: Channel;
  type: FieldDesc;
  /** Fields the pvRequest selected. */
  mask: BitSet;
  /** PUT: what put data decodes into. */
  putValue?: PvValue;
  /** PUT/RPC: an execution is in progress. */
  busy: boolean;
  /** Set by CANCEL: the running execution's reply is dropped. */
  cancelled: boolean;
  done: boolean;
  mon?: Monitor;
}

interface Monitor {
  running: boolean;
  pipeline: boolean;
  /** Updates the client still accepts (pipeline mode). */
  window: number;
  queueSize: number;
  /** In the connection's ReadyQueue. */
  ready: boolean;
  queue: QueuedUpdate[];
  /** Queue entries already sent, reused by the next updates (no allocation per update). */
  free: QueuedUpdate[];
  /** Changed bits to send per PvChange combination, with their encoding. */
  bits: Map<number, UpdateBits>;
  /** The last entry of `bits` used, and its key (-1: none): most updates repeat it. */
  lastChanges: number;
  /** Closes the running monitor of a PV that filters its own updates. */
  stopFiltered?: () => void;
  lastBits: UpdateBits | undefined;
  /**
   * Whether the PV had this one subscriber when an update was last queued (read then,
   * while the PV is at hand): nobody to share an encoding with.
   */
  solo: boolean;
  unsubscribe: () => void;
}

/** The changed BitSet of monitor updates, encoded once in the connection's byte order. */
interface UpdateBits {
  bits: BitSet;
  /** Size + bytes, as on the wire. */
  wire: Uint8Array;
  /** The wire bytes as a string: updates with equal keys carry equal data. */
  key: string;
  /** An NTNDArray value update the direct encoder writes (NdArrayUpdateEncoder). */
  fastNd: boolean;
  /** A numeric NTScalar(Array) value update the direct encoder writes (ScalarUpdateEncoder). */
  fastScalar: boolean;
}

/**
 * The last monitor update data (changed BitSet and values) encoded for a PV, so other
 * subscriptions with the same selection, on this connection or another, copy the bytes
 * instead of encoding them again. A connection encodes into one of two buffers, hands
 * it to the socket (epoch + 1) and only writes into it again after the next hand-over
 * (epoch + 2): until then the bytes stay valid.
 */
interface EncodedUpdate {
  /** The snapshot these bytes encode (an entry for an older one is stale). */
  snap: PvSnapshot | undefined;
  littleEndian: boolean;
  owner: PvaServerConnection;
  epoch: number;
  buf: Uint8Array;
  start: number;
  end: number;
}

/** Per PV: its last encoding per selection key (each entry says which snapshot it holds). */
// Bounded: one entry per PV and selection, replaced when the PV posts.
const lastEncoded = new WeakMap<ServedPv, Map<string, EncodedUpdate>>();

/**
 * One NT writer per PV, shared by every channel to it on every connection: a writer holds
 * the NT type and a whole value tree (several kB), which per channel made 100,000
 * monitors cost about 1 GB. Sharing is safe because each write() is encoded at once,
 * before the next write (the writer's contract).
 */
const writers = new WeakMap<ServedPv, { type: ServedPv["type"]; writer: NtSnapshotWriter }>();

function writerFor(pv: ServedPv): NtSnapshotWriter {
  const w = writers.get(pv);
  if (w && w.type === pv.type) return w.writer;
  const writer = new NtSnapshotWriter(pv.type);
  writers.set(pv, { type: pv.type, writer });
  return writer;
}

const DEFAULT_QUEUE = 4;

/** The newer snapshot of a structure PV, marking what either of two updates marked. */
function mergeMarks(older: PvSnapshot, newer: PvSnapshot): PvSnapshot {
  if (!older.changed || !newer.changed) return { ...newer, changed: undefined };
  const changed = new Map(older.changed);
  for (const [p, m] of newer.changed) changed.set(p, (changed.get(p) ?? 0) | m);
  return { ...newer, changed };
}

/**
 * What a PVA monitor of a self-filtering PV listens to: values, alarms and properties, as
 * QSRV subscribes DBE_VALUE|DBE_ALARM and DBE_PROPERTY (not DBE_LOG).
 */
const PVA_MONITOR_MASK = PvChange.VALUE | PvChange.ALARM | PvChange.PROPERTY;

/**
 * Subscriptions with updates to send, first in first out: an array with a moving head
 * (a Set whose front entries are deleted again and again leaves holes that every new
 * iteration walks over). Membership is the monitor's `ready` flag; a deleted op's entry
 * stays behind and is skipped.
 */
class ReadyQueue {
  #items: (Op | undefined)[] = [];
  #head = 0;

  add(op: Op): void {
    const mon = op.mon!;
    if (mon.ready) return;
    mon.ready = true;
    this.#items.push(op);
  }

  delete(op: Op): void {
    if (op.mon) op.mon.ready = false;
  }

  /** Takes the first op out (it is no longer in the queue until added again). */
  shift(): Op | undefined {
    const items = this.#items;
    while (this.#head < items.length) {
      const op = items[this.#head];
      items[this.#head++] = undefined;
      if (op?.mon?.ready) {
        op.mon.ready = false;
        if (this.#head >= 1024 && this.#head * 2 >= items.length) {
          items.copyWithin(0, this.#head);
          items.length -= this.#head;
          this.#head = 0;
        }
        return op;
      }
    }
    items.length = 0;
    this.#head = 0;
    return undefined;
  }

  clear(): void {
    for (const op of this.values()) op.mon!.ready = false;
    this.#items.length = 0;
    this.#head = 0;
  }

  *values(): IterableIterator<Op> {
    for (let i = this.#head; i < this.#items.length; i++) {
      const op = this.#items[i];
      if (op?.mon?.ready) yield op;
    }
  }
}

/** A MONITOR pipeline acknowledgement: header, sid, ioid, subcmd, nfree. */
const ACK_SIZE = 8 + 13;

function readU32LE(b: Uint8Array, o: number): number {
  return (b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24) >>> 0;
}

/** Bytes of the frame whose 8-byte header starts at `at`: header only for control messages. */
function frameSpan(b: Uint8Array, at: number): number {
  const flags = b[at + 2];
  if (flags & 0x01) return 8;
  return 8 + ((flags & 0x80) ? readU32BE(b, at + 4) : readU32LE(b, at + 4));
}

function readU32BE(b: Uint8Array, o: number): number {
  return (b[o] << 24 | b[o + 1] << 16 | b[o + 2] << 8 | b[o + 3]) >>> 0;
}

/**
 * Updates are handed to the socket in pieces of about this many bytes, so that the
 * client starts reading while the rest is encoded (and memory stays bounded).
 */
const WRITE_CHUNK = 256 * 1024;

function isTrue(s: string | undefined): boolean {
  return s !== undefined && /^(true|1|yes)$/i.test(s.trim());
}

/** Server side of one PVA TCP connection. */
export class PvaServerConnection {
  readonly #provider: PvProvider;
  readonly #transport: PvaTransport;
  readonly #opts: PvaConnectionOptions;
  readonly #framer: PvaFramer;
  readonly #cache = new TypeCache();
  #out: ByteWriter;
  #spare: ByteWriter;
  /** Counts hand-overs of #out to the socket (invalidates EncodedUpdate ranges). */
  #epoch = 0;
  #channels = new Map<number, Channel>();
  #ops = new Map<number, Op>();
  #nextSid = 1;
  #ready = new ReadyQueue();
  /** UpdateBits by fast-path flag and wire bytes, shared by this connection's monitors. */
  #sharedBits = new Map<string, UpdateBits>();
  /** PVs with a subscription that sent updates, with its queue's room, for onDrained. */
  #roomFor = new Map<ServedPv, number>();
  #flushQueued = false;
  /** Updates queued in every subscription, those waiting for a pipeline window included. */
  #pending = 0;
  /** When a write last completed or the client last acknowledged updates (#now's clock). */
  #lastProgress: number;
  #writing = false;
  #closed = false;
  #validated = false;
  #authMethod = "";
  #user = "";
  #host: string;
  readonly #now: () => number;
  readonly #trackRoom: boolean;
  /** When bytes last arrived (ms, #now's clock). */
  #lastRx: number;
  /** Allowed silence in ms (Infinity: no timeout). */
  readonly #idleMs: number;

  /**
   * Creates the connection and queues SET_BYTE_ORDER and the validation request.
   * @param provider the PVs served
   * @param transport the socket (or a test pipe) bytes are written to
   * @param opts logger, peer address, server GUID and port, limits, callbacks
   */
  constructor(provider: PvProvider, transport: PvaTransport, opts: PvaConnectionOptions) {
    this.#provider = provider;
    this.#transport = transport;
    this.#opts = opts;
    this.#framer = new PvaFramer({ maxPayload: opts.maxPayload });
    const le = opts.littleEndian ?? true;
    this.#out = new ByteWriter(4096, le);
    this.#spare = new ByteWriter(4096, le);
    this.#host = opts.peer.replace(/:\d+$/, "");
    this.#now = opts.now ?? Date.now;
    this.#trackRoom = opts.onDrained !== undefined && opts.drainedRoom !== false;
    this.#lastRx = this.#now();
    this.#lastProgress = this.#lastRx;
    const tmo = opts.connTimeout ?? 0;
    this.#idleMs = tmo > 0 ? tmo * 4000 / 3 : Infinity;
    encodeSetByteOrder(this.#out);
    encodeValidationRequest(this.#out, {
      bufferSize: 0x10000,
      registrySize: 0x7fff,
      authMethods: [...AUTH_METHODS],
    });
    this.#scheduleFlush();
  }

  /** The account the client named ("ca" authentication), or "" when anonymous. */
  get user(): string {
    return this.#user;
  }

  /** The client's host: the name it sent ("ca" authentication) or its address. */
  get host(): string {
    return this.#host;
  }

  /** The authentication method the client chose ("" before validation). */
  get authMethod(): string {
    return this.#authMethod;
  }

  /** Whether the handshake has completed. */
  get validated(): boolean {
    return this.#validated;
  }

  /** Number of open channels. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** Number of live operations. */
  get operationCount(): number {
    return this.#ops.size;
  }

  /** "host:port" of the peer. */
  get peer(): string {
    return this.#opts.peer;
  }

  /** Monitor updates waiting in this connection's subscription queues. */
  get queuedUpdates(): number {
    let n = 0;
    for (const op of this.#ready.values()) n += op.mon?.queue.length ?? 0;
    return n;
  }

  /**
   * Every monitor update not yet sent, including those of pipelined subscriptions that
   * wait for the client's acknowledgement (0: the client has been sent everything).
   */
  get pendingUpdates(): number {
    return this.#pending;
  }

  /**
   * When the client last took updates: a write to it completed or it acknowledged some
   * (ms on the `now` clock). A client that stops reading stops moving it.
   */
  get lastProgress(): number {
    return this.#lastProgress;
  }

  /** Bytes held by the connection's two output buffers (what a stalled peer costs). */
  get bufferBytes(): number {
    return this.#out.buffer.length + this.#spare.buffer.length;
  }

  /** Whether a write to the peer is in progress (a peer that stops reading keeps it so). */
  get writing(): boolean {
    return this.#writing;
  }

  /** Whether the connection has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Feeds bytes received from the client. A malformed message closes this connection
   * (with a log line); it never throws.
   */
  receive(chunk: Uint8Array): void {
    if (this.#closed) return;
    // Any bytes count as life, even half a message (as pvxs's read timeout does).
    if (chunk.length > 0) this.#lastRx = this.#now();
    // Pipeline acknowledgements, what a fast subscriber sends most, are taken straight
    // from the chunk (no message objects, no payload copies). The framer gets the rest
    // one message at a time (or the bytes completing the frame it holds), so a frame cut
    // across two reads does not send every later acknowledgement the slow way.
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      let end = n;
      const missing = this.#framer.missing;
      if (missing > 0) end = Math.min(n, pos + missing);
      else if (this.#framer.idle) {
        if (n - pos >= ACK_SIZE && this.#ackAt(chunk, pos)) {
          pos += ACK_SIZE;
          continue;
        }
        if (n - pos >= 8) end = Math.min(n, pos + frameSpan(chunk, pos));
      }
      let msgs: PvaMessage[];
      try {
        msgs = this.#framer.receive(pos === 0 && end === n ? chunk : chunk.subarray(pos, end));
      } catch (e) {
        this.#protocolFailure(e);
        return;
      }
      pos = end;
      for (const m of msgs) {
        if (this.#closed) return;
        try {
          this.#dispatch(m);
        } catch (e) {
          this.#protocolFailure(e);
          return;
        }
      }
      if (this.#closed) return;
    }
  }

  /**
   * When the connection times out unless more bytes arrive (ms on the `now` clock;
   * Infinity without a timeout).
   */
  get idleDeadline(): number {
    return this.#lastRx + this.#idleMs;
  }

  /**
   * Closes the connection when nothing has arrived for longer than the inactivity
   * timeout (EPICS_PVA_CONN_TMO × 4/3), ending its channels and subscriptions.
   * @returns whether the connection is closed now
   */
  checkIdle(): boolean {
    if (this.#closed) return true;
    const now = this.#now();
    if (now < this.idleDeadline) return false;
    this.#opts.logger.warn(
      `PVA connection from ${this.#opts.peer} closed: nothing received for ${
        ((now - this.#lastRx) / 1000).toFixed(1)
      } s`,
    );
    this.close();
    return true;
  }

  /** Closes the connection, ending its channels and subscriptions. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const op of this.#ops.values()) this.#endOp(op);
    this.#ops.clear();
    this.#channels.clear();
    this.#ready.clear();
    try {
      this.#transport.close();
    } catch {
      // Already closed by the peer.
    }
    this.#opts.onClose?.();
  }

  /** Tells the client its channels to `name` are gone (DESTROY_CHANNEL) and drops them. */
  disconnectPv(name: string): void {
    for (const ch of [...this.#channels.values()]) {
      if (ch.pv.name !== name) continue;
      this.#dropChannel(ch);
      encodeDestroyChannel(this.#out, { sid: ch.sid, cid: ch.cid }, true);
    }
    this.#scheduleFlush();
  }

  #protocolFailure(e: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    this.#opts.logger.warn(`PVA connection from ${this.#opts.peer} closed: ${why}`);
    this.close();
  }

  #ctx(): PutContext {
    return { protocol: "pva", user: this.#user, host: this.#host };
  }

  #dispatch(m: PvaMessage): void {
    if (m.control) return; // Set-byte-order and friends: each message carries its own order.
    if (m.fromServer) {
      throw new RemoteProtocolError(
        `message 0x${m.command.toString(16)} has the server direction bit`,
      );
    }
    if (m.command === PvaCommand.MONITOR && this.#monitorAck(m)) return;
    const d = decodeMessage(m, {
      cache: this.#cache,
      valueFor: (command, ioid) => {
        const op = this.#ops.get(ioid);
        return op && op.command === command ? op.putValue : undefined;
      },
    });
    this.#handle(d);
  }

  /**
   * The pipeline acknowledgement, the message a fast subscriber sends most, read in
   * place (no decoding into objects); anything else returns false for the general path.
   *
   * ```text
   * MONITOR (client): u32 sid | u32 ioid | u8 subcmd 0x80 | u32 nfree
   * ```
   */
  #monitorAck(m: PvaMessage): boolean {
    const p = m.payload;
    if (p.length !== 13 || p[8] !== PvaSubcmd.GET_PUT) return false;
    const u32 = (o: number) =>
      m.littleEndian
        ? (p[o] | p[o + 1] << 8 | p[o + 2] << 16 | p[o + 3] << 24) >>> 0
        : (p[o] << 24 | p[o + 1] << 16 | p[o + 2] << 8 | p[o + 3]) >>> 0;
    const op = this.#ops.get(u32(4));
    if (!op || op.command !== PvaCommand.MONITOR || op.channel.sid !== u32(0) || !op.mon) {
      return false;
    }
    op.mon.window += u32(9);
    this.#lastProgress = this.#now();
    if (op.mon.queue.length) this.#ready.add(op);
    this.#scheduleFlush();
    return true;
  }

  /**
   * Applies the pipeline acknowledgement at `at` in `b` when there is one for a live
   * subscription (a whole 21-byte MONITOR message, application, unsegmented, from a
   * client); otherwise returns false and leaves it to the framer.
   */
  #ackAt(b: Uint8Array, at: number): boolean {
    const flags = b[at + 2];
    if (
      b[at] !== 0xca || b[at + 1] === 0 || (flags & 0x7f) !== 0 ||
      b[at + 3] !== PvaCommand.MONITOR || b[at + 16] !== PvaSubcmd.GET_PUT
    ) return false;
    const le = flags === 0;
    const u32 = le ? readU32LE : readU32BE;
    if (u32(b, at + 4) !== ACK_SIZE - 8) return false;
    const op = this.#ops.get(u32(b, at + 12));
    if (!op || op.command !== PvaCommand.MONITOR || op.channel.sid !== u32(b, at + 8) || !op.mon) {
      return false;
    }
    op.mon.window += u32(b, at + 17);
    this.#lastProgress = this.#now();
    if (op.mon.queue.length) this.#ready.add(op);
    this.#scheduleFlush();
    return true;
  }

  #handle(d: DecodedMessage): void {
    if (!this.#validated && d.kind !== "validationResponse" && d.kind !== "echo") {
      // pvxs would serve it as an anonymous peer; real clients always answer the
      // validation request first, so one that skips it is broken: drop it.
      throw new RemoteProtocolError(`${d.kind} before connection validation`);
    }
    switch (d.kind) {
      case "validationResponse":
        return this.#validation(d.msg.authMethod, d.msg.authData);
      case "echo":
        encodeEcho(this.#out, d.payload, true);
        return this.#scheduleFlush();
      case "searchRequest":
        return this.#tcpSearch(d.msg);
      case "createChannelRequest":
        for (const c of d.msg.channels) this.#createChannel(c.cid, c.name);
        return this.#scheduleFlush();
      case "destroyChannel": {
        const ch = this.#channels.get(d.msg.sid);
        if (!ch) {
          this.#opts.logger.debug(`DESTROY_CHANNEL for unknown sid ${d.msg.sid}`);
          return;
        }
        this.#dropChannel(ch);
        encodeDestroyChannel(this.#out, { sid: ch.sid, cid: ch.cid }, true);
        return this.#scheduleFlush();
      }
      case "destroyRequest": {
        const op = this.#ops.get(d.msg.ioid);
        if (op) this.#dropOp(op);
        return;
      }
      case "cancelRequest": {
        const op = this.#ops.get(d.msg.ioid);
        if (op?.busy) op.cancelled = true;
        return;
      }
      case "getFieldRequest":
        return this.#getField(d.msg);
      case "opRequest":
        return this.#op(d.msg);
      case "message":
        this.#opts.logger.info(`message from ${this.#opts.peer}: ${d.msg.message}`);
        return;
      case "unknown":
        this.#opts.logger.debug(`ignored PVA command 0x${d.command.toString(16)}`);
        return;
      default:
        // AUTHNZ, beacons and replies make no sense from a client: ignore, as pvxs does.
        this.#opts.logger.debug(`ignored ${d.kind} from ${this.#opts.peer}`);
    }
  }

  #validation(method: string, data: PvValue | null): void {
    this.#authMethod = method;
    let status = STATUS_OK;
    if (method === "ca") {
      const user = data?.tryField("user")?.value;
      const host = data?.tryField("host")?.value;
      if (typeof user === "string") this.#user = user;
      if (typeof host === "string" && host !== "") this.#host = host;
    } else if (method !== "anonymous") {
      status = pvaStatus(
        PvaStatusType.ERROR,
        `Client selected authentication "${method}", which this server does not offer`,
      );
    }
    this.#validated = true;
    encodeValidated(this.#out, status);
    this.#scheduleFlush();
  }

  #tcpSearch(req: SearchRequest): void {
    const reply = searchReply(req, this.#provider);
    if (!reply) return;
    encodeSearchResponse(this.#out, {
      ...reply,
      guid: this.#opts.guid,
      serverPort: this.#opts.tcpPort,
    });
    this.#scheduleFlush();
  }

  #createChannel(cid: number, name: string): void {
    // The built-in listing channel comes first, as pvxs's own source does.
    const pv = name === SERVER_CHANNEL
      ? serverChannelPv(this.#provider)
      : name
      ? this.#provider.lookup(name)
      : undefined;
    if (!pv) {
      encodeCreateChannelResponse(this.#out, {
        cid,
        sid: 0xffffffff,
        status: pvaStatus(PvaStatusType.FATAL, `Refused to create channel "${name}": no such PV`),
      });
      return;
    }
    const sid = this.#allocSid();
    this.#channels.set(sid, {
      cid,
      sid,
      pv,
      writer: writerFor(pv),
      ops: new Set(),
    });
    encodeCreateChannelResponse(this.#out, { cid, sid, status: STATUS_OK });
  }

  #allocSid(): number {
    while (this.#channels.has(this.#nextSid)) this.#nextSid = (this.#nextSid + 1) >>> 0;
    const sid = this.#nextSid;
    this.#nextSid = (this.#nextSid + 1) >>> 0 || 1;
    return sid;
  }

  #dropChannel(ch: Channel): void {
    for (const op of [...ch.ops]) this.#dropOp(op);
    this.#channels.delete(ch.sid);
  }

  #dropOp(op: Op): void {
    this.#endOp(op);
    op.channel.ops.delete(op);
    if (this.#ops.get(op.ioid) === op) this.#ops.delete(op.ioid);
    this.#ready.delete(op);
  }

  #endOp(op: Op): void {
    op.done = true;
    if (op.mon) {
      op.mon.unsubscribe();
      this.#pending -= op.mon.queue.length;
      op.mon.queue.length = 0;
    }
  }

  /** Ends a monitor from the server side: a final MONITOR (DESTROY) with an error status. */
  #finishMonitor(op: Op): void {
    this.#dropOp(op);
    encodeOpResponse(this.#out, {
      command: PvaCommand.MONITOR,
      ioid: op.ioid,
      subcmd: PvaSubcmd.DESTROY,
      status: pvaStatus(PvaStatusType.ERROR, `No read access to "${op.channel.pv.name}"`),
    });
    this.#scheduleFlush();
  }

  #getField(req: GetFieldRequest): void {
    const ch = this.#channels.get(req.sid);
    let type: FieldDesc | null = null;
    let status = STATUS_OK;
    if (!ch) {
      status = pvaStatus(PvaStatusType.ERROR, `No channel with server id ${req.sid}`);
    } else {
      type = ch.writer.type;
      if (req.subField !== "") {
        const b = bitOf(type, req.subField);
        if (b < 0) {
          status = pvaStatus(
            PvaStatusType.ERROR,
            `"${ch.pv.name}" has no field "${req.subField}"`,
          );
        } else {
          type = typeAtBit(type, b)!;
        }
      }
    }
    encodeGetFieldResponse(this.#out, { ioid: req.ioid, status, type });
    this.#scheduleFlush();
  }

  /** Replies to an operation request with an error Status. */
  #opError(req: OpRequest, message: string): void {
    encodeOpResponse(this.#out, {
      command: req.command,
      ioid: req.ioid,
      subcmd: req.subcmd,
      status: pvaStatus(PvaStatusType.ERROR, message),
    });
    this.#scheduleFlush();
  }

  #op(req: OpRequest): void {
    if (req.subcmd & PvaSubcmd.INIT) return this.#opInit(req);
    const op = this.#ops.get(req.ioid);
    if (!op || op.command !== req.command || op.channel.sid !== req.sid) {
      // Destruction is not acknowledged, so late requests for dead ids are normal.
      this.#opts.logger.debug(`request for unknown operation ${req.ioid} ignored`);
      return;
    }
    switch (req.command) {
      case PvaCommand.GET:
        // Rights can change while the operation lives (access security inputs): ask again.
        if (op.channel.pv.canRead?.(this.#ctx()) ?? true) this.#sendData(op, req.subcmd);
        else this.#opError(req, `No read access to "${op.channel.pv.name}"`);
        break;
      case PvaCommand.PUT:
        if (req.subcmd & PvaSubcmd.GET) {
          if (op.channel.pv.canRead?.(this.#ctx()) ?? true) this.#sendData(op, req.subcmd);
          else this.#opError(req, `No read access to "${op.channel.pv.name}"`);
        } else return this.#put(op, req);
        break;
      case PvaCommand.MONITOR:
        return this.#monitorControl(op, req);
      case PvaCommand.RPC:
        return this.#rpc(op, req);
    }
    if (req.subcmd & PvaSubcmd.DESTROY) this.#dropOp(op);
  }

  #opInit(req: OpRequest): void {
    const ch = this.#channels.get(req.sid);
    if (!ch) return this.#opError(req, `No channel with server id ${req.sid}`);
    if (this.#ops.has(req.ioid)) {
      return this.#opError(req, `Request id ${req.ioid} is already in use`);
    }
    const supported = req.command === PvaCommand.GET || req.command === PvaCommand.PUT ||
      req.command === PvaCommand.MONITOR || req.command === PvaCommand.RPC;
    if (!supported) {
      return this.#opError(
        req,
        `Operation 0x${req.command.toString(16)} is not supported by this server`,
      );
    }
    const reads = req.command === PvaCommand.GET || req.command === PvaCommand.MONITOR;
    if (reads && !(ch.pv.canRead?.(this.#ctx()) ?? true)) {
      return this.#opError(req, `No read access to "${ch.pv.name}"`);
    }
    if (req.command === PvaCommand.RPC && !ch.pv.rpc) {
      return this.#opError(req, `"${ch.pv.name}" does not implement RPC`);
    }
    const type = ch.writer.type;
    let mask: BitSet;
    try {
      // QSRV serves every field whatever the pvRequest selects (single records and groups).
      mask = req.command === PvaCommand.RPC
        ? BitSet.of(0)
        : requestMask(ch.pv.type.layout === "qsrv" ? null : req.pvRequest ?? null, type);
    } catch (e) {
      return this.#opError(req, `Bad pvRequest for "${ch.pv.name}": ${(e as Error).message}`);
    }
    const op: Op = {
      ioid: req.ioid,
      command: req.command,
      channel: ch,
      type,
      mask,
      busy: false,
      cancelled: false,
      done: false,
    };
    if (req.command === PvaCommand.PUT) op.putValue = PvValue.create(type);
    if (req.command === PvaCommand.MONITOR) {
      const o = requestOptions(req.pvRequest ?? null);
      const q = Number.parseInt(o.queueSize ?? "", 10);
      const mon: Monitor = {
        running: false,
        pipeline: isTrue(o.pipeline),
        window: req.nfree ?? 0,
        queueSize: Number.isFinite(q) && q >= 1 ? q : this.#opts.queueSize ?? DEFAULT_QUEUE,
        ready: false,
        queue: [],
        free: [],
        bits: new Map(),
        lastChanges: -1,
        lastBits: undefined,
        solo: false,
        unsubscribe: () => {},
      };
      op.mon = mon;
      // A PV that filters its own updates (IOC channel filters) is monitored while running.
      const stopUpdates = ch.pv.monitor
        ? () => mon.stopFiltered?.()
        : ch.pv.subscribe((snap, changes) => {
          if (mon.running && changes !== 0) this.#enqueue(op, snap, changes);
        });
      // Rights that change at run time (an IOC's access security): a monitor whose read
      // access is taken away ends with an error, as a new one would be refused.
      const stopWatch = ch.pv.watchAccess?.(() => {
        if (!op.done && !(ch.pv.canRead?.(this.#ctx()) ?? true)) this.#finishMonitor(op);
      });
      mon.unsubscribe = () => {
        stopUpdates();
        stopWatch?.();
      };
    }
    this.#ops.set(op.ioid, op);
    ch.ops.add(op);
    encodeOpResponse(this.#out, {
      command: req.command,
      ioid: req.ioid,
      subcmd: req.subcmd,
      status: STATUS_OK,
      types: req.command === PvaCommand.RPC ? [] : [type],
    });
    this.#scheduleFlush();
  }

  /** GET reply or PUT get-put reply: the PV's current state, selected fields only. */
  #sendData(op: Op, subcmd: number): void {
    const w = op.channel.writer;
    const snap = op.channel.pv.snapshot();
    const value = w.write(snap);
    encodeOpResponse(this.#out, {
      command: op.command,
      ioid: op.ioid,
      subcmd,
      status: STATUS_OK,
      value,
      changed: (w.structure ? this.#structBits(op, snap, 0) : this.#bitsFor(op, 0)).bits,
    });
    this.#scheduleFlush();
  }

  #bitsFor(op: Op, changes: number): UpdateBits {
    const mon = op.mon;
    if (mon && mon.lastChanges === changes) return mon.lastBits!;
    const cache = mon?.bits;
    let b = cache?.get(changes);
    if (!b) {
      const w = op.channel.writer;
      const selected = selectBits(op.type, w.changeBits(changes), op.mask);
      // QSRV marks a get and a first update as the whole structure, others by leaves.
      const bits = changes === 0 && w.marksWhole ? selected : leafBits(op.type, selected);
      const bw = new ByteWriter(16, this.#out.littleEndian);
      encodeBitSet(bw, bits);
      const wire = bw.toBytes();
      const pvType = op.channel.pv.type;
      const fastNd = pvType.nt === "NTNDArray" && isNdArrayValueUpdate(op.type, bits);
      const fastScalar = !fastNd && isScalarValueUpdate(pvType, op.type, bits);
      const key = String.fromCharCode(...wire);
      // One object for all subscriptions sending the same bits (10,000 rows: one, which
      // stays in cache, instead of 10,000 met once per frame).
      const sharedKey = (fastNd ? "1" : fastScalar ? "2" : "0") + key;
      const shared = this.#sharedBits.get(sharedKey);
      if (shared) b = shared;
      else {
        b = { bits, wire, key, fastNd, fastScalar };
        if (this.#sharedBits.size >= 1024) this.#sharedBits.clear();
        this.#sharedBits.set(sharedKey, b);
      }
      cache?.set(changes, b);
    }
    if (mon) {
      mon.lastChanges = changes;
      mon.lastBits = b;
    }
    return b;
  }

  /**
   * A structure PV's update bits: they depend on what each snapshot marks, so they are not
   * cached. A whole structure (a get, an initial update) keeps its one bit, as QSRV marks
   * a group; updates mark leaves.
   */
  #structBits(op: Op, snap: PvSnapshot, changes: number): UpdateBits {
    const marked = op.channel.writer.updateBits(snap, changes);
    const selected = selectBits(op.type, marked, op.mask);
    // A whole structure keeps its one bit (QSRV's any members mark it in updates too).
    const bits = changes === 0 || marked.get(0) ? selected : leafBits(op.type, selected);
    const w = new ByteWriter(16, this.#out.littleEndian);
    encodeBitSet(w, bits);
    const wire = w.toBytes();
    return { bits, wire, key: String.fromCharCode(...wire), fastNd: false, fastScalar: false };
  }

  #put(op: Op, req: OpRequest): void {
    const name = op.channel.pv.name;
    const reply = (status = STATUS_OK) => {
      op.busy = false;
      if (this.#closed || op.done) return;
      if (op.cancelled) {
        op.cancelled = false;
        return;
      }
      encodeOpResponse(this.#out, {
        command: op.command,
        ioid: op.ioid,
        subcmd: req.subcmd,
        status,
      });
      if (req.subcmd & PvaSubcmd.DESTROY) this.#dropOp(op);
      this.#scheduleFlush();
    };
    const refuse = (message: string) => reply(pvaStatus(PvaStatusType.ERROR, message));
    if (op.busy) return this.#opError(req, `A put to "${name}" is already in progress`);
    if (!req.value || !req.changed) return refuse(`Put to "${name}" carried no data`);
    let extract;
    try {
      extract = extractPut(op.channel.pv.type, req.value, req.changed);
    } catch (e) {
      const why = `Cannot put to "${name}": ${(e as Error).message}`;
      op.channel.pv.putRefused?.(undefined, this.#ctx(), why);
      return refuse(why);
    }
    // Fields besides the value are refused even alongside it: applying the value alone
    // and answering OK would report a put that did not happen as asked.
    if (extract.others.length > 0) {
      return refuse(
        `Cannot put to "${name}": only "value" can be written, not ${
          extract.others.map((p) => `"${p}"`).join(", ")
        }`,
      );
    }
    if (!extract.hasValue) return reply();
    op.busy = true;
    op.channel.pv.put(extract.value, this.#ctx()).then(
      () => reply(),
      (e) => {
        const msg = e instanceof EpicsError ? e.message : `Put to "${name}" failed: ${e}`;
        this.#opts.logger.debug(`put to "${name}" refused: ${msg}`);
        refuse(msg);
      },
    );
  }

  #rpc(op: Op, req: OpRequest): void {
    const pv = op.channel.pv;
    if (op.busy) return this.#opError(req, `An RPC call to "${pv.name}" is already in progress`);
    op.busy = true;
    const finish = (status: typeof STATUS_OK, result?: PvValue | null) => {
      op.busy = false;
      if (this.#closed || op.done) return;
      if (op.cancelled) {
        op.cancelled = false;
        return;
      }
      encodeOpResponse(this.#out, {
        command: op.command,
        ioid: op.ioid,
        subcmd: req.subcmd,
        status,
        result,
      });
      if (req.subcmd & PvaSubcmd.DESTROY) this.#dropOp(op);
      this.#scheduleFlush();
    };
    const args = req.args ? req.args.toJSON() : null;
    Promise.resolve()
      .then(() => pv.rpc!(args, this.#ctx()))
      .then(
        (r) => finish(STATUS_OK, valueFromPlain(r)),
        (e) =>
          finish(pvaStatus(
            PvaStatusType.ERROR,
            e instanceof Error ? e.message : `RPC to "${pv.name}" failed: ${e}`,
          )),
      );
  }

  #monitorControl(op: Op, req: OpRequest): void {
    const mon = op.mon!;
    const sub = req.subcmd;
    if (sub & PvaSubcmd.GET_PUT) {
      mon.window += req.nfree ?? 0;
      this.#lastProgress = this.#now();
      if (mon.queue.length) this.#ready.add(op);
      this.#scheduleFlush();
    }
    if (sub & PvaSubcmd.PROCESS) {
      if (sub & PvaSubcmd.GET) {
        if (!mon.running) {
          mon.running = true;
          const pv = op.channel.pv;
          if (pv.monitor) {
            // Its first update (when the filters pass one) is the complete state.
            let first = true;
            mon.stopFiltered = pv.monitor(PVA_MONITOR_MASK, (snap, changes) => {
              this.#enqueue(op, snap, first ? 0 : changes);
              first = false;
            });
          } // (Re)starting sends the complete current state first.
          else this.#enqueue(op, pv.snapshot(), 0);
        }
      } else {
        mon.running = false;
        mon.stopFiltered?.();
        mon.stopFiltered = undefined;
      }
    }
    if (sub & PvaSubcmd.DESTROY) this.#dropOp(op);
  }

  #enqueue(op: Op, snap: PvSnapshot, changes: number): void {
    if (this.#closed || op.done) return;
    const P = PvChange.PROPERTY;
    if (op.channel.writer.marksWhole && changes & P && changes & ~P) {
      // QSRV watches a channel's value and its properties by two subscriptions: one post
      // of both is two updates, the value's first.
      this.#enqueue(op, snap, changes & ~P);
      changes = P;
    }
    const mon = op.mon!;
    mon.solo = (op.channel.pv as { listenerCount?: number }).listenerCount === 1;
    const q = mon.queue;
    if (q.length >= mon.queueSize) {
      // The client lags: keep the newest state, merging what changed.
      const last = q[q.length - 1];
      // A structure PV's snapshot says which members it marks: keep the marks of both.
      last.snap = op.channel.writer.structure && last.changes !== 0 && changes !== 0
        ? mergeMarks(last.snap, snap)
        : snap;
      last.changes = last.changes === 0 || changes === 0 ? 0 : last.changes | changes;
    } else {
      const e = mon.free.pop();
      if (e) {
        e.snap = snap;
        e.changes = changes;
        q.push(e);
      } else q.push({ snap, changes });
      this.#pending++;
    }
    // A pipelined subscription with no window left waits for the client's
    // acknowledgement (which puts it back), not in the ready set.
    if (mon.pipeline && mon.window <= 0) return;
    this.#ready.add(op);
    this.#scheduleFlush();
  }

  /** Encodes queued updates the windows allow, until about WRITE_CHUNK bytes are out. */
  #encodeUpdates(): void {
    const out = this.#out;
    const ready = this.#ready;
    const traffic = this.#opts.traffic;
    while (out.length < WRITE_CHUNK) {
      const op = ready.shift();
      if (!op) break;
      const mon = op.mon!;
      const q = mon.queue;
      let sent = 0;
      while (
        sent < q.length && (!mon.pipeline || mon.window > 0) && out.length < WRITE_CHUNK
      ) {
        const u = q[sent++];
        this.#encodeUpdate(
          out,
          op,
          u.snap,
          op.channel.writer.structure
            ? this.#structBits(op, u.snap, u.changes)
            : this.#bitsFor(op, u.changes),
        );
        if (mon.pipeline) mon.window--;
      }
      if (traffic) traffic.updates += sent;
      if (sent > 0 && this.#trackRoom) {
        const room = mon.queueSize - (q.length - sent);
        const pv = op.channel.pv;
        if (!(this.#roomFor.get(pv)! >= room)) this.#roomFor.set(pv, room);
      }
      this.#pending -= sent;
      for (let i = 0; i < sent; i++) {
        const e = q[i];
        e.snap = undefined!; // let the snapshot go while the entry waits for reuse
        mon.free.push(e);
      }
      if (sent === q.length) {
        q.length = 0;
      } else if (mon.pipeline && mon.window <= 0) {
        if (sent > 0) {
          q.copyWithin(0, sent);
          q.length -= sent;
        }
      } else {
        if (sent > 0) {
          q.copyWithin(0, sent);
          q.length -= sent;
        }
        // To the back of the line: a subscription whose updates each fill a write (a big
        // image) must not keep the others (its rows) from ever being sent.
        ready.add(op);
      }
    }
  }

  /**
   * One MONITOR update: ioid, subcmd 0, changed BitSet, the changed fields, an empty
   * overrun BitSet. The data part is copied when another subscription to the same PV
   * encoded it for the same snapshot and selection and its bytes are still at hand.
   */
  #encodeUpdate(out: ByteWriter, op: Op, snap: PvSnapshot, b: UpdateBits): void {
    const start = beginMessage(out, PvaCommand.MONITOR, true);
    out.u32(op.ioid).u8(0);
    if (op.mon?.solo) {
      // One subscriber in all (a SharedPV says so): nobody to share the encoding with.
      out.bytes(b.wire);
      this.#encodeData(out, op, snap, b);
      out.u8(0);
      endMessage(out, start);
      return;
    }
    const pv = op.channel.pv;
    let memo = lastEncoded.get(pv);
    if (!memo) {
      memo = new Map();
      lastEncoded.set(pv, memo);
    }
    const m = memo.get(b.key);
    if (
      m && m.snap === snap && m.littleEndian === out.littleEndian &&
      m.owner.#epoch <= m.epoch + 1
    ) {
      out.bytes(m.buf.subarray(m.start, m.end));
    } else {
      const from = out.length;
      out.bytes(b.wire);
      this.#encodeData(out, op, snap, b);
      // Updated in place: no allocation per update.
      const e = m ?? {} as EncodedUpdate;
      e.snap = snap;
      e.littleEndian = out.littleEndian;
      e.owner = this;
      e.epoch = this.#epoch;
      e.buf = out.buffer;
      e.start = from;
      e.end = out.length;
      if (!m) memo.set(b.key, e);
    }
    out.u8(0); // overrun: the empty BitSet (the queue keeps the newest value instead)
    endMessage(out, start);
  }

  /** The changed fields of an update (after its BitSet). */
  #encodeData(out: ByteWriter, op: Op, snap: PvSnapshot, b: UpdateBits): void {
    if (b.fastNd && out.littleEndian) {
      (op.channel.nd ??= new NdArrayUpdateEncoder(op.channel.writer)).encode(out, snap);
    } else if (
      !(b.fastScalar && out.littleEndian &&
        (op.channel.sc ??= new ScalarUpdateEncoder(op.channel.pv.type)).encode(out, snap))
    ) {
      encodeValueBits(out, op.channel.writer.write(snap), b.bits);
    }
  }

  #scheduleFlush(): void {
    if (this.#flushQueued || this.#writing || this.#closed) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    let wrote = false;
    try {
      for (;;) {
        if (this.#closed) return;
        this.#encodeUpdates();
        if (this.#out.length === 0) break;
        const w = this.#out;
        this.#out = this.#spare;
        this.#spare = w;
        this.#epoch++;
        const bytes = w.view();
        let off = 0;
        while (off < bytes.length) {
          off += await this.#transport.write(bytes.subarray(off));
          this.#lastProgress = this.#now();
        }
        if (this.#opts.traffic) this.#opts.traffic.bytes += bytes.length;
        w.reset();
        wrote = true;
        if (this.#opts.drainedOnEachWrite && this.#roomFor.size > 0 && !this.#closed) {
          // The producer's posts queue up and go out with the next write of this loop.
          this.#opts.onDrained?.(this.#roomFor);
          this.#roomFor.clear();
        }
      }
    } catch (e) {
      if (!this.#closed) {
        this.#opts.logger.debug(
          `PVA connection to ${this.#opts.peer} write failed: ${(e as Error).message}`,
        );
        this.close();
      }
    } finally {
      this.#writing = false;
    }
    // Only after bytes went out (a drain that found nothing to send must not call the
    // producer again, or the two would spin). Outside the try: a throwing callback is the
    // caller's bug, not a write failure.
    if (wrote && !this.#closed && this.#opts.onDrained) {
      this.#opts.onDrained(this.#roomFor);
      this.#roomFor.clear();
    }
  }
}
