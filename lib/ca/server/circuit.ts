/**
 * One Channel Access virtual circuit (a TCP connection) on the server side: it frames
 * requests, answers them from the PV provider, runs subscriptions with per-subscription
 * bounded queues, and coalesces everything produced in one turn of the event loop into
 * a single write. The socket itself is behind {@link CircuitTransport}, so tests can drive
 * a circuit in memory.
 * @module
 */

import { ByteWriter, cString } from "../../core/bytes.ts";
import { CaStatusError, RemoteProtocolError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import {
  AccessRight,
  CA_MINOR_VERSION,
  CaCommand,
  Dbe,
  Dbr,
  Eca,
  LAST_BUFFER_TYPE,
  MAX_STRING_SIZE,
  SearchReply,
} from "../proto/constants.ts";
import { plainDecimalAt, stringToNumber } from "../proto/convert.ts";
import { dbrInfo, dbrPayloadSize, decodeDbr, encodeDbr } from "../proto/dbr.ts";
import type { DbrData, DbrValues } from "../proto/dbr_types.ts";
import { CaFramer, detachedMessage, FramedMessage } from "../proto/framer.ts";
import { type CaMessage, encodeMessage, padded, writeHeader } from "../proto/header.ts";
import {
  PUT_DONE,
  type PutContext,
  type PvProvider,
  type PvSnapshot,
  type ServedPv,
} from "../../pv/types.ts";
import { handOverArray } from "../../pv/coerce.ts";
import { type CaNative, caNative, ecaForPutError, putValue, readAs } from "./projection.ts";

/** The byte pipe under a circuit. */
export interface CircuitTransport {
  /** Writes some bytes; resolves with how many were written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes the connection. */
  close(): void;
}

/** Settings of a circuit. */
export interface CircuitOptions {
  /** Where log lines go. */
  logger: Logger;
  /** Largest request payload accepted (bytes). */
  maxPayload: number;
  /** Largest reply payload sent (bytes); larger reads get ECA_TOLARGE. */
  maxReplyPayload: number;
  /** "host:port" of the peer, for log lines. */
  peer: string;
  /** The server's TCP port (for search replies on the circuit). */
  tcpPort: number;
  /**
   * Most updates held per scalar subscription while the client lags (newest replaces the
   * last). Default: as many as fit in 256 KiB, between 2 and 64. An array subscription
   * holds one update, the newest, whatever this says (RSRV's rule: see #eventAdd).
   */
  queueSize?: number;
  /** Output bytes pending before the circuit stops taking requests (default 4 MiB). */
  highWater?: number;
  /** Called once when the circuit has closed. */
  onClose?: () => void;
}

interface Channel {
  cid: number;
  sid: number;
  pv: ServedPv;
  /** The PV's CA type and count (a PV's type is fixed: computed once). */
  native: CaNative;
  subs: Map<number, Subscription>;
  /** Read access, as last sent in ACCESS_RIGHTS. */
  readable: boolean;
  /** The AccessRight bits last sent. */
  rights: number;
  /** Stops watching the PV's access rights (PVs that can change them at run time). */
  unwatchAccess?: () => void;
}

/** What casr shows of one circuit. */
export interface CaCircuitReport {
  /** "ip:port" of the client. */
  peer: string;
  /** CLIENT_NAME. */
  user: string;
  /** HOST_NAME. */
  host: string;
  /** The client's CA minor protocol version. */
  minorVersion: number;
  /** The priority the client asked for (VERSION). */
  priority: number;
  /** Its channels, in creation order. */
  channels: { name: string; read: boolean; write: boolean; subscriptions: number }[];
  /** Bytes received and not yet handled: a partial message and requests held back. */
  unprocessedBytes: number;
  /** Bytes of replies produced and not yet written. */
  undeliveredBytes: number;
}

interface Subscription {
  subid: number;
  channel: Channel;
  dataType: number;
  count: number;
  mask: number;
  maxQueue: number;
  /** Payload bytes of one update (what a queued snapshot will cost to send). */
  entryBytes: number;
  /** An array: while the client lags, a waiting update is replaced by the newer one. */
  coalesce: boolean;
  queue: PvSnapshot[];
  unsubscribe: () => void;
}

/** Bytes of queued updates a subscription may hold while its client lags. */
const QUEUE_BYTES = 256 * 1024;
/**
 * Replies produced and not yet written (see CaCircuit.backlog) plus updates queued and not
 * yet encoded, from which the client counts as lagging: its array subscriptions then keep
 * only their newest update. Four of the server's largest reads: one read of another
 * client's array puts (up to 256 KiB) can queue that much for this client at once, and a
 * client that keeps up must not lose updates for it.
 */
const LAG_BYTES = 1024 * 1024;
const DEFAULT_HIGH_WATER = 4 * 1024 * 1024;
/** Sids below this are also found by array index (see CaCircuit.#bySid). */
const DENSE_SIDS = 1 << 20;

/** A DBR payload for one snapshot and request shape, shared by every reader. */
interface Encoded {
  /** The request shape it answers (type, count, read or event). */
  key: number;
  status: number;
  count: number;
  /** Unpadded payload size. */
  size: number;
  /** The padded payload bytes, kept once a second reader asked for the same shape. */
  body?: Uint8Array;
}

/** What {@link encodedPayload} hands the caller: cached bytes, or data to encode in place. */
interface Prepared {
  enc: Encoded;
  /** Present when there are no cached bytes: encode this straight into the output. */
  data?: DbrData;
}

/** The payloads encoded from a PV's latest snapshot (the one most readers ask for). */
interface PvEncodings {
  snap: PvSnapshot | undefined;
  /** The first shape asked for; any other shapes of the same snapshot are in `more`. */
  first: Encoded | undefined;
  more: Map<number, Encoded> | undefined;
}

/**
 * Encoded payloads by PV, for its latest snapshot. Snapshots are immutable and replaced
 * on every post, so entries are valid while the snapshot is the one they were made for.
 * A shape read once (the common case: one monitor, one reader) is encoded straight into
 * the output with no copy; when a second reader asks for the same snapshot and shape, the
 * bytes are kept and shared from then on, so a value read by many clients, or posted to
 * many subscribers, is converted once. Keyed by PV, not by snapshot: an entry is made once
 * per PV rather than once per post (a lagging subscriber's older snapshot is encoded
 * without the cache).
 */
const ENCODED = new WeakMap<ServedPv, PvEncodings>();
const scratch = new ByteWriter(1024);

/** One-element arrays by DBR value type, reused by {@link scalarRead} (never kept). */
const ONE: readonly (Exclude<DbrValues, string[]> | undefined)[] = [
  undefined,
  new Int16Array(1),
  new Float32Array(1),
  new Uint16Array(1),
  new Uint8Array(1),
  new Int32Array(1),
  new Float64Array(1),
];

/**
 * The common read of a numeric scalar PV as its own native type, in a plain, STS or TIME
 * shape: the same data {@link readAs} builds, without allocating its value array. The
 * returned value is a shared one-element array, valid until the next call (the callers
 * encode it at once). Undefined when the general path is needed.
 */
function scalarRead(
  snap: PvSnapshot,
  pv: ServedPv,
  native: CaNative,
  dataType: number,
): DbrData | undefined {
  const v = snap.value;
  const t = pv.type;
  if (typeof v !== "number" || t.kind === "array" || t.scalar === "int8") return undefined;
  if (dataType > Dbr.TIME_DOUBLE) return undefined;
  const vt = dataType % 7;
  const one = ONE[vt];
  if (one === undefined || native.type !== vt) return undefined;
  one[0] = v;
  return {
    value: one,
    meta: { status: snap.alarm.status, severity: snap.alarm.severity, stamp: snap.timeStamp },
  };
}

/** Big-endian bytes of one number, reassembled by {@link readOne}. */
const NUM_BYTES = new Uint8Array(8);
const NUM_VIEW = new DataView(NUM_BYTES.buffer);

/** The number of DBR value type `vt` (1..6) at `at` in `p`, without decoding the payload. */
function readOne(p: Uint8Array, at: number, vt: number): number {
  switch (vt) {
    case Dbr.SHORT:
      return ((p[at] << 24) | (p[at + 1] << 16)) >> 16;
    case Dbr.ENUM:
      return (p[at] << 8) | p[at + 1];
    case Dbr.CHAR:
      return p[at];
    case Dbr.LONG:
      return (p[at] << 24) | (p[at + 1] << 16) | (p[at + 2] << 8) | p[at + 3];
    case Dbr.FLOAT:
      for (let i = 0; i < 4; i++) NUM_BYTES[i] = p[at + i];
      return NUM_VIEW.getFloat32(0);
    default:
      for (let i = 0; i < 8; i++) NUM_BYTES[i] = p[at + i];
      return NUM_VIEW.getFloat64(0);
  }
}

function encodedPayload(
  snap: PvSnapshot,
  pv: ServedPv,
  native: CaNative,
  dataType: number,
  count: number,
  atLeastOne: boolean,
  logger: Logger,
): Prepared {
  // dataType < 64 and count < 2^32: the key stays below 2^39, exact in a double.
  const key = (count * 2 + (atLeastOne ? 1 : 0)) * 64 + dataType;
  let cache = ENCODED.get(pv);
  if (cache === undefined) {
    ENCODED.set(pv, cache = { snap: undefined, first: undefined, more: undefined });
  }
  const current = cache.snap === snap;
  const seen = !current ? undefined : cache.first!.key === key ? cache.first : cache.more?.get(key);
  if (seen?.body) return { enc: seen };
  let status: number = Eca.NORMAL;
  let result;
  const one = scalarRead(snap, pv, native, dataType);
  try {
    // count is at most the native count, 1 here; 0 asks for every element, also 1.
    result = one ? { data: one, count: 1 } : readAs(snap, pv.type, dataType, count);
  } catch (e) {
    // Like RSRV: the reply still goes out, with a failure status and a zeroed body.
    status = e instanceof CaStatusError ? e.eca : Eca.GETFAIL;
    logger.debug(`read of "${pv.name}" failed: ${(e as Error).message}`);
  }
  // An empty array read with count 0 has 0 elements, unless the client predates 4.13 and
  // cannot take a zero count in an update: it gets one (zeroed) element.
  const n = result ? Math.max(result.count, atLeastOne ? 1 : 0) : count;
  const size = dbrPayloadSize(dataType, n);
  if (seen) {
    // Second reader of this shape: keep the bytes for everyone after.
    scratch.reset();
    if (result) encodeDbr(scratch, dataType, n, result.data);
    else scratch.zeros(size);
    scratch.padTo(8);
    seen.body = scratch.toBytes();
    return { enc: seen };
  }
  const enc: Encoded = { key, status, count: n, size };
  if (!current) {
    cache.snap = snap;
    cache.first = enc;
    cache.more = undefined;
  } else (cache.more ??= new Map()).set(key, enc);
  return { enc, data: result?.data };
}

/** Server side of one CA virtual circuit. */
export class CaCircuit {
  readonly #provider: PvProvider;
  readonly #transport: CircuitTransport;
  readonly #opts: CircuitOptions;
  readonly #framer: CaFramer;
  #out = new ByteWriter(4096);
  #spare = new ByteWriter(4096);
  #channels = new Map<number, Channel>();
  /**
   * The same channels by sid while sids are small (they count up from 1): an array index
   * instead of a hash lookup on every request (catime's 10,000 channels).
   */
  #bySid: (Channel | undefined)[] = [];
  #nextSid = 1;
  /** Subscriptions with queued updates, in the order they became ready. */
  #ready = new Set<Subscription>();
  #eventsOn = true;
  #flushQueued = false;
  /** Payload bytes of the updates queued in subscriptions and not encoded yet. */
  #queuedBytes = 0;
  #writing = false;
  #closed = false;
  #clientMinor = 0;
  /** -1 until the client's VERSION says. */
  #priority = -1;
  /** Bytes handed to the transport and not yet written. */
  #inFlight = 0;
  /** Requests held back while the client is not reading its replies. */
  #pending: CaMessage[] = [];
  #pendingAt = 0;
  #readyWaiters: (() => void)[] = [];
  #user = "";
  #host = "";
  #ctxCache: PutContext | undefined;

  /**
   * Opens the server side of a circuit and queues the server's VERSION message.
   * @param provider where channel names are looked up
   * @param transport the connection the circuit writes to
   * @param opts limits, peer name and logger
   */
  constructor(provider: PvProvider, transport: CircuitTransport, opts: CircuitOptions) {
    this.#provider = provider;
    this.#transport = transport;
    this.#opts = opts;
    this.#framer = new CaFramer({ maxPayload: opts.maxPayload });
    // Servers since 4.11 announce their version as soon as the circuit opens.
    encodeMessage(this.#out, { command: CaCommand.VERSION, dataCount: CA_MINOR_VERSION });
    this.#scheduleFlush();
  }

  /** User name the client announced (CLIENT_NAME). */
  get user(): string {
    return this.#user;
  }

  /** Host name the client announced (HOST_NAME). */
  get host(): string {
    return this.#host;
  }

  /** Number of open channels. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** Whether the circuit has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Feeds bytes received from the client. A malformed stream closes the circuit with a
   * log line; it never throws.
   */
  receive(chunk: Uint8Array): void {
    if (this.#closed) return;
    let msgs: CaMessage[];
    try {
      msgs = this.#framer.receive(chunk);
    } catch (e) {
      this.#protocolFailure(e);
      return;
    }
    for (let i = 0; i < msgs.length; i++) {
      if (this.#closed) return;
      if (this.#pending.length > this.#pendingAt || this.#backlog() >= this.#highWater()) {
        // The client is not reading its replies: hold the rest (copied, since the caller
        // reuses its buffer) and let the transport stop reading until the backlog drains.
        for (let j = i; j < msgs.length; j++) this.#pending.push(detachedMessage(msgs[j]));
        return;
      }
      if (!this.#dispatchSafely(msgs[i])) return;
    }
  }

  /**
   * False while requests are held back because the client does not read its replies;
   * the transport should then wait for {@link whenReady} before reading more.
   */
  get wantsMore(): boolean {
    return this.#closed ||
      (this.#pending.length === this.#pendingAt && this.#backlog() < this.#highWater());
  }

  /** Resolves when the circuit takes requests again (or has closed). */
  whenReady(): Promise<void> {
    if (this.wantsMore) return Promise.resolve();
    return new Promise((r) => this.#readyWaiters.push(r));
  }

  /** Bytes of replies produced and not yet written to the socket. */
  get backlog(): number {
    return this.#backlog();
  }

  #backlog(): number {
    return this.#out.length + this.#inFlight;
  }

  #highWater(): number {
    return this.#opts.highWater ?? DEFAULT_HIGH_WATER;
  }

  #dispatchSafely(m: CaMessage): boolean {
    try {
      this.#dispatch(m);
      return !this.#closed;
    } catch (e) {
      this.#protocolFailure(e);
      return false;
    }
  }

  /** Runs held-back requests while the backlog allows. */
  #resumePending(): void {
    while (this.#pendingAt < this.#pending.length && this.#backlog() < this.#highWater()) {
      const m = this.#pending[this.#pendingAt++];
      if (!this.#dispatchSafely(m)) return;
    }
    if (this.#pendingAt === this.#pending.length && this.#pendingAt > 0) {
      this.#pending = [];
      this.#pendingAt = 0;
    }
  }

  #wakeReaders(): void {
    if (!this.wantsMore || this.#readyWaiters.length === 0) return;
    const ws = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const w of ws) w();
  }

  /** Closes the circuit and drops its channels and subscriptions. */
  close(): void {
    this.#shutdown(false);
  }

  /**
   * Drops channels and subscriptions and closes the transport; with `flush`, replies
   * already produced (an ERROR explaining why) are written first when no write is busy.
   */
  #shutdown(flush: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    const last = flush && !this.#writing && this.#out.length > 0 ? this.#out.toBytes() : undefined;
    for (const ch of this.#channels.values()) this.#dropChannel(ch);
    this.#channels.clear();
    this.#bySid = [];
    this.#ready.clear();
    this.#pending = [];
    this.#pendingAt = 0;
    this.#wakeReaders();
    const closeTransport = () => {
      try {
        this.#transport.close();
      } catch {
        // Already closed by the peer.
      }
    };
    if (last) {
      // Best effort, bounded: one write of what is pending, then close whatever happens.
      this.#transport.write(last).catch(() => 0).finally(closeTransport);
    } else {
      closeTransport();
    }
    this.#opts.onClose?.();
  }

  /** Tells the client its channel for `pv` is gone (SERVER_DISCONN) and drops it. */
  disconnectPv(name: string): void {
    for (const ch of [...this.#channels.values()]) {
      if (ch.pv.name !== name) continue;
      this.#dropChannel(ch);
      this.#forget(ch);
      encodeMessage(this.#out, { command: CaCommand.SERVER_DISCONN, param1: ch.cid });
    }
    this.#scheduleFlush();
  }

  #protocolFailure(e: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    this.#opts.logger.warn(`CA circuit from ${this.#opts.peer} closed: ${why}`);
    this.#shutdown(true);
  }

  #dispatch(m: CaMessage): void {
    switch (m.command) {
      case CaCommand.VERSION:
        // Also arrives mid-stream as the prefix of name-server searches (data type 1).
        if (m.dataCount < 4 && m.dataCount !== 0) {
          throw new RemoteProtocolError(`client protocol minor version ${m.dataCount} is too old`);
        }
        if (m.dataCount) this.#clientMinor = m.dataCount;
        // The data type field of the circuit's first VERSION carries its priority.
        if (m.dataCount && this.#priority < 0) this.#priority = m.dataType;
        return;
      case CaCommand.CLIENT_NAME:
      case CaCommand.HOST_NAME:
        if (this.#channels.size > 0) {
          // Like RSRV: identity is fixed once channels exist (access rights depend on it).
          this.#error(
            m,
            0xffffffff,
            Eca.INTERNAL,
            "User or host name change ignored after channels were created",
          );
          return;
        }
        if (m.command === CaCommand.CLIENT_NAME) this.#user = cString(m.payload);
        else this.#host = cString(m.payload);
        return;
      case CaCommand.CREATE_CHAN:
        return this.#createChan(m);
      case CaCommand.READ_NOTIFY:
      case CaCommand.READ:
        return this.#read(m);
      case CaCommand.WRITE:
      case CaCommand.WRITE_NOTIFY:
        return this.#write(m);
      case CaCommand.EVENT_ADD:
        return this.#eventAdd(m);
      case CaCommand.EVENT_CANCEL:
        return this.#eventCancel(m);
      case CaCommand.CLEAR_CHANNEL:
        return this.#clearChannel(m);
      case CaCommand.ECHO:
      case CaCommand.READ_SYNC:
        encodeMessage(this.#out, m, m.payload);
        this.#scheduleFlush();
        return;
      case CaCommand.EVENTS_OFF:
        this.#eventsOn = false;
        return;
      case CaCommand.EVENTS_ON:
        this.#eventsOn = true;
        this.#scheduleFlush();
        return;
      case CaCommand.SEARCH:
        return this.#search(m);
      default:
        this.#error(m, 0xffffffff, Eca.INTERNAL, "Invalid (damaged?) request code from TCP");
        throw new RemoteProtocolError(`invalid request code ${m.command}`);
    }
  }

  #search(m: CaMessage): void {
    const name = cString(m.payload);
    if (name && this.#provider.lookup(name)) {
      writeHeader(this.#out, CaCommand.SEARCH, 0, this.#opts.tcpPort, 0, 0xffffffff, m.param1);
    } else if (m.dataType === SearchReply.DO_REPLY) {
      writeHeader(
        this.#out,
        CaCommand.NOT_FOUND,
        0,
        SearchReply.DO_REPLY,
        m.dataCount,
        m.param1,
        m.param2,
      );
    }
    this.#scheduleFlush();
  }

  #createChan(m: CaMessage): void {
    const cid = m.param1;
    if (m.param2) this.#clientMinor = m.param2;
    const name = cString(m.payload);
    const pv = name ? this.#provider.lookup(name) : undefined;
    if (!pv) {
      encodeMessage(this.#out, { command: CaCommand.CREATE_CH_FAIL, param1: cid });
      this.#scheduleFlush();
      return;
    }
    const sid = this.#allocSid();
    const rights = this.#rightsOf(pv);
    const readable = (rights & AccessRight.READ) !== 0;
    const native = caNative(pv.type);
    const ch: Channel = { cid, sid, pv, native, subs: new Map(), readable, rights };
    this.#channels.set(sid, ch);
    if (sid < DENSE_SIDS) this.#bySid[sid] = ch;
    ch.unwatchAccess = pv.watchAccess?.(() => this.#recheckAccess(ch));
    encodeMessage(this.#out, { command: CaCommand.ACCESS_RIGHTS, param1: cid, param2: rights });
    // Old clients cannot take an extended header; they get the largest plain count.
    const count = this.#clientMinor < 9 ? Math.min(native.count, 0xfffe) : native.count;
    writeHeader(this.#out, CaCommand.CREATE_CHAN, 0, native.type, count, cid, sid);
    this.#scheduleFlush();
  }

  #allocSid(): number {
    while (this.#channels.has(this.#nextSid)) this.#nextSid = (this.#nextSid + 1) >>> 0;
    const sid = this.#nextSid;
    this.#nextSid = (this.#nextSid + 1) >>> 0;
    return sid;
  }

  /** Who is asking, for access checks and puts; made again only when a name changes. */
  #ctx(): PutContext {
    const c = this.#ctxCache;
    if (c && c.user === this.#user && c.host === this.#host) return c;
    return this.#ctxCache = { protocol: "ca", user: this.#user, host: this.#host };
  }

  /** Finds the channel a request names, or answers with an error and returns undefined. */
  #channelOf(m: CaMessage): Channel | undefined {
    const sid = m.param1;
    const ch = sid < DENSE_SIDS ? this.#bySid[sid] : this.#channels.get(sid);
    if (!ch) this.#error(m, 0xffffffff, Eca.BADCHID, "Bad resource identifier");
    return ch;
  }

  #rightsOf(pv: ServedPv): number {
    const ctx = this.#ctx();
    return ((pv.canRead?.(ctx) ?? true) ? AccessRight.READ : 0) |
      (pv.canWrite(ctx) ? AccessRight.WRITE : 0);
  }

  /**
   * Asks a channel's PV again for this client's rights and, when they differ from those
   * last sent, sends ACCESS_RIGHTS (RSRV does so from its asLib client callback).
   */
  #recheckAccess(ch: Channel): void {
    if (this.#closed || this.#channels.get(ch.sid) !== ch) return;
    const rights = this.#rightsOf(ch.pv);
    if (rights === ch.rights) return;
    ch.rights = rights;
    ch.readable = (rights & AccessRight.READ) !== 0;
    encodeMessage(this.#out, { command: CaCommand.ACCESS_RIGHTS, param1: ch.cid, param2: rights });
    this.#scheduleFlush();
  }

  /** What casr shows of this circuit. */
  report(): CaCircuitReport {
    return {
      peer: this.#opts.peer,
      user: this.#user,
      host: this.#host,
      minorVersion: this.#clientMinor,
      priority: Math.max(0, this.#priority),
      channels: [...this.#channels.values()].map((ch) => ({
        name: ch.pv.name,
        read: ch.readable,
        write: ch.pv.canWrite(this.#ctx()),
        subscriptions: ch.subs.size,
      })),
      unprocessedBytes: this.#framer.buffered +
        this.#pending.slice(this.#pendingAt).reduce((n, m) => n + 16 + m.payload.length, 0),
      undeliveredBytes: this.#backlog(),
    };
  }

  #readable(type: number): boolean {
    return type >= 0 && type <= LAST_BUFFER_TYPE && type !== Dbr.PUT_ACKT && type !== Dbr.PUT_ACKS;
  }

  /**
   * A request naming a DBR type past the last one comes from a broken client: like RSRV,
   * close the circuit (other circuits are unaffected). READ, WRITE and WRITE_NOTIFY get
   * their ECA_BADTYPE answer first, as RSRV sends them; READ_NOTIFY and EVENT_ADD do not.
   */
  #badType(m: CaMessage, answer?: () => void): never {
    answer?.();
    throw new RemoteProtocolError(`request ${m.command} with invalid DBR type ${m.dataType}`);
  }

  #read(m: CaMessage): void {
    if (m.command === CaCommand.READ_NOTIFY && m.dataType > LAST_BUFFER_TYPE) this.#badType(m);
    const ch = this.#channelOf(m);
    if (!ch) return;
    if (m.dataType > LAST_BUFFER_TYPE) {
      this.#badType(m, () => this.#error(m, ch.cid, Eca.BADTYPE, `Invalid DBR type ${m.dataType}`));
    }
    if (!this.#readable(m.dataType)) {
      this.#error(m, ch.cid, Eca.BADTYPE, `Invalid DBR type ${m.dataType}`);
      return;
    }
    const native = ch.native;
    if (m.dataCount > native.count) {
      this.#error(m, ch.cid, Eca.BADCOUNT, `Element count ${m.dataCount} exceeds ${native.count}`);
      return;
    }
    if (!ch.readable) {
      // RSRV: a READ gets an ERROR message, a READ_NOTIFY a zeroed reply with the status.
      if (m.command === CaCommand.READ) {
        this.#error(m, ch.cid, Eca.NORDACCESS, ch.pv.recordName ?? ch.pv.name);
      } else this.#noReadAccess(m.command, m.dataType, m.dataCount, m.param2);
      this.#scheduleFlush();
      return;
    }
    this.#encodeUpdate(m.command, ch, m.dataType, m.dataCount, m.param2, ch.pv.snapshot(), m);
    this.#scheduleFlush();
  }

  /**
   * A READ_NOTIFY reply or EVENT_ADD update to a client without read access, as RSRV
   * sends it: status ECA_NORDACCESS and a zeroed body of the requested type and count.
   */
  #noReadAccess(command: number, dataType: number, count: number, id: number): void {
    const size = dbrPayloadSize(dataType, Math.max(1, count));
    writeHeader(this.#out, command, padded(size), dataType, count, Eca.NORDACCESS, id);
    this.#out.zeros(padded(size));
  }

  /**
   * Encodes a READ_NOTIFY reply or an EVENT_ADD update for one snapshot. Conversion
   * failures are answered with a failure status and a zeroed body, as RSRV does.
   */
  #encodeUpdate(
    command: number,
    ch: Channel,
    dataType: number,
    count: number,
    id: number,
    snap: PvSnapshot,
    request?: CaMessage,
  ): void {
    // Protocol 4.13 allows zero-element updates; older clients get a single element.
    const atLeastOne = command === CaCommand.EVENT_ADD && this.#clientMinor < 13;
    const { enc, data } = encodedPayload(
      snap,
      ch.pv,
      ch.native,
      dataType,
      count,
      atLeastOne,
      this.#opts.logger,
    );
    const size = enc.size;
    if (this.#clientMinor < 9 && padded(size) >= 0xffff) {
      // Clients before 4.9 cannot take the extended header.
      if (request) {
        this.#error(request, ch.cid, Eca["16KARRAYCLIENT"], "Client too old for large arrays");
      }
      return;
    }
    if (size > this.#opts.maxReplyPayload) {
      if (request) {
        this.#error(request, ch.cid, Eca.TOLARGE, `Reply of ${size} bytes exceeds the array limit`);
      }
      return;
    }
    const p1 = command === CaCommand.READ ? ch.sid : enc.status;
    writeHeader(this.#out, command, padded(size), dataType, enc.count, p1, id);
    if (enc.body) {
      this.#out.bytes(enc.body);
      return;
    }
    const start = this.#out.length;
    if (data) encodeDbr(this.#out, dataType, enc.count, data);
    else this.#out.zeros(size);
    this.#out.padTo(8, start);
  }

  #write(m: CaMessage): void {
    const notify = m.command === CaCommand.WRITE_NOTIFY;
    const ch = this.#channelOf(m);
    if (!ch) {
      if (notify) this.#writeReply(m, Eca.BADCHID);
      return;
    }
    if (m.command === CaCommand.WRITE_NOTIFY && m.dataType > LAST_BUFFER_TYPE) {
      this.#badType(
        m,
        () => this.#writeFailed(m, ch, Eca.BADTYPE, `Invalid DBR type ${m.dataType} for a write`),
      );
    }
    if (!ch.pv.canWrite(this.#ctx())) {
      ch.pv.putRefused?.(undefined, this.#ctx(), `PV "${ch.pv.name}" is read-only`);
      this.#writeFailed(m, ch, Eca.NOWTACCESS, ch.pv.recordName ?? ch.pv.name);
      return;
    }
    // RSRV checks a WRITE's type after its access rights.
    if (m.dataType > LAST_BUFFER_TYPE) {
      this.#badType(
        m,
        () => this.#writeFailed(m, ch, Eca.BADTYPE, `Invalid DBR type ${m.dataType} for a write`),
      );
    }
    if (m.dataType === Dbr.STSACK_STRING || m.dataType === Dbr.CLASS_NAME) {
      this.#writeFailed(m, ch, Eca.BADTYPE, `Invalid DBR type ${m.dataType} for a write`);
      return;
    }
    if (m.dataType === Dbr.PUT_ACKT || m.dataType === Dbr.PUT_ACKS) {
      // Alarm acknowledgement (one u16); PVs without alarms to acknowledge accept it.
      if (m.dataCount < 1 || m.payload.length < 2) {
        this.#writeFailed(
          m,
          ch,
          Eca.BADCOUNT,
          `Element count ${m.dataCount} for an alarm acknowledgement`,
        );
        return;
      }
      const value = (m.payload[0] << 8) | m.payload[1];
      try {
        ch.pv.acknowledgeAlarm?.(m.dataType === Dbr.PUT_ACKT ? "ACKT" : "ACKS", value, this.#ctx());
      } catch (e) {
        this.#opts.logger.debug(`alarm acknowledgement of "${ch.pv.name}" refused: ${e}`);
        this.#writeFailed(m, ch, ecaForPutError(e), ch.pv.recordName ?? ch.pv.name);
        return;
      }
      if (notify) this.#writeReply(m, Eca.NORMAL);
      return;
    }
    const native = ch.native;
    // A zero-count write empties an array (caput -a with no values sends one, and RSRV
    // accepts it); a scalar needs its one element.
    const least = ch.pv.type.kind === "array" ? 0 : 1;
    if (m.dataCount > native.count || m.dataCount < least) {
      this.#writeFailed(
        m,
        ch,
        Eca.BADCOUNT,
        `Element count ${m.dataCount} not in ${least}..${native.count}`,
      );
      return;
    }
    let value: unknown;
    const row = dbrInfo(m.dataType);
    // Where the payload lies: a framed message says so without a view being made for it.
    const framed = m instanceof FramedMessage;
    const src = framed ? m.bytes : m.payload;
    const base = framed ? m.at : 0;
    const size = framed ? m.size : m.payload.length;
    if (
      m.dataCount === 1 && row.valueType !== Dbr.STRING &&
      (row.valueType === native.type || native.type === Dbr.DOUBLE) &&
      ch.pv.type.kind !== "array" && ch.pv.type.scalar !== "int8" &&
      size >= row.metaSize + row.elemSize
    ) {
      // One number of the PV's own CA type (caput of a double to an ao), or of any numeric
      // type to a DOUBLE PV (every one converts to a double exactly): what decodeDbr and
      // putValue would give, read straight from the payload.
      value = readOne(src, base + row.metaSize, row.valueType);
    } else if (
      m.dataType === Dbr.STRING && m.dataCount === 1 && native.type === Dbr.DOUBLE &&
      ch.pv.type.kind !== "array"
    ) {
      // caput of text to an ao: the number putValue would give, without decoding a DBR.
      try {
        const end = Math.min(size, MAX_STRING_SIZE);
        // catime's and most clients' text ("0.000100"): read from the bytes, no string made.
        value = plainDecimalAt(src, base, base + end) ??
          stringToNumber(cString(m.payload.subarray(0, end)), Dbr.DOUBLE, { direction: "put" });
      } catch (e) {
        this.#opts.logger.debug(`put to "${ch.pv.name}" refused: ${(e as Error).message}`);
        ch.pv.putRefused?.(undefined, this.#ctx(), (e as Error).message);
        this.#writeFailed(m, ch, Eca.PUTFAIL, ch.pv.recordName ?? ch.pv.name);
        return;
      }
    } else {
      try {
        value = this.#decodePut(m, ch);
      } catch (e) {
        this.#opts.logger.debug(`put to "${ch.pv.name}" refused: ${(e as Error).message}`);
        ch.pv.putRefused?.(undefined, this.#ctx(), (e as Error).message);
        this.#writeFailed(m, ch, Eca.PUTFAIL, ch.pv.recordName ?? ch.pv.name);
        return;
      }
    }
    const done = ch.pv.put(value, this.#ctx());
    // A plain WRITE that already went through has nothing to answer: no promise reaction
    // (it costs more than the put itself at catime's or a busy client's rates).
    if (done === PUT_DONE && !notify) return;
    done.then(
      () => {
        if (notify && !this.#closed) this.#writeReply(m, Eca.NORMAL);
      },
      (e) => {
        this.#opts.logger.debug(`put to "${ch.pv.name}" refused: ${(e as Error).message}`);
        if (!this.#closed) {
          this.#writeFailed(m, ch, ecaForPutError(e), ch.pv.recordName ?? ch.pv.name);
        }
      },
    );
  }

  /** A refused write: WRITE_NOTIFY gets its reply with the status, a WRITE an ERROR. */
  #writeFailed(m: CaMessage, ch: Channel, eca: number, text: string): void {
    if (m.command === CaCommand.WRITE_NOTIFY) this.#writeReply(m, eca);
    else this.#error(m, ch.cid, eca, text);
  }

  /** The value a WRITE carries, converted for the PV's put. */
  #decodePut(m: CaMessage, ch: Channel): unknown {
    const need = dbrPayloadSize(m.dataType, m.dataCount);
    let payload = m.payload;
    if (payload.length < need) {
      // libca sends a lone DBR_STRING as strlen+1 padded to 8, not 40 bytes.
      const full = new Uint8Array(need);
      full.set(payload);
      payload = full;
    }
    const data = decodeDbr(m.dataType, m.dataCount, payload);
    const value = putValue(data, m.dataType, ch.pv.snapshot(), ch.pv.type);
    // A typed array that is not a view of the receive buffer was made for this put alone:
    // the PV may keep it rather than copy it again.
    if (
      ArrayBuffer.isView(value) && value.buffer !== m.payload.buffer &&
      value.buffer !== payload.buffer
    ) {
      handOverArray(value);
    }
    return value;
  }

  #writeReply(m: CaMessage, eca: number): void {
    writeHeader(this.#out, CaCommand.WRITE_NOTIFY, 0, m.dataType, m.dataCount, eca, m.param2);
    this.#scheduleFlush();
  }

  #eventAdd(m: CaMessage): void {
    if (m.dataType > LAST_BUFFER_TYPE) this.#badType(m);
    const ch = this.#channelOf(m);
    if (!ch) return;
    if (!this.#readable(m.dataType)) {
      this.#error(m, ch.cid, Eca.BADTYPE, `Invalid DBR type ${m.dataType}`);
      return;
    }
    const native = ch.native;
    if (m.dataCount > native.count) {
      this.#error(m, ch.cid, Eca.BADCOUNT, `Element count ${m.dataCount} exceeds ${native.count}`);
      return;
    }
    // Refuse up front what could never be sent (RSRV answers ECA_TOLARGE too).
    const largest = dbrPayloadSize(m.dataType, m.dataCount || native.count);
    if (largest > this.#opts.maxReplyPayload) {
      this.#error(m, ch.cid, Eca.TOLARGE, `Updates of ${largest} bytes exceed the array limit`);
      return;
    }
    if (this.#clientMinor < 9 && padded(largest) >= 0xffff) {
      this.#error(m, ch.cid, Eca["16KARRAYCLIENT"], "Client too old for large arrays");
      return;
    }
    let mask = Dbe.VALUE | Dbe.ALARM;
    if (m.payload.length >= 14) mask = (m.payload[12] << 8) | m.payload[13];
    if (mask === 0) mask = Dbe.VALUE | Dbe.ALARM;
    const old = ch.subs.get(m.param2);
    if (old) old.unsubscribe();
    const bytes = dbrPayloadSize(m.dataType, m.dataCount || native.count);
    const sub: Subscription = {
      subid: m.param2,
      channel: ch,
      dataType: m.dataType,
      count: m.dataCount,
      mask,
      // Like RSRV (dbEvent.c): an array subscription has at most one update waiting, the
      // newest, while its client lags (base queues a reference to the record's field and
      // drops posts until its event task has copied that into the send buffer, which it
      // cannot while the buffer is full), so puts faster than the client reads coalesce;
      // a client that keeps up gets every update. A scalar's updates queue one by one.
      coalesce: native.count > 1,
      maxQueue: this.#opts.queueSize ?? Math.max(2, Math.min(64, Math.floor(QUEUE_BYTES / bytes))),
      entryBytes: bytes,
      queue: [],
      unsubscribe: () => {},
    };
    if (ch.pv.monitor) {
      // The PV filters its own updates, the first one included (IOC channel filters).
      sub.unsubscribe = ch.pv.monitor(mask, (snap) => this.#enqueue(sub, snap));
      ch.subs.set(sub.subid, sub);
      return;
    }
    sub.unsubscribe = ch.pv.subscribe((snap, changes) => {
      if (changes & sub.mask) this.#enqueue(sub, snap);
    });
    ch.subs.set(sub.subid, sub);
    // Every subscription starts with the current value.
    this.#enqueue(sub, ch.pv.snapshot());
  }

  #enqueue(sub: Subscription, snap: PvSnapshot): void {
    if (this.#closed) return;
    // A lagging client keeps the newest value: the last queued entry is replaced. Lagging
    // is unsent replies plus queued updates past LAG_BYTES, not merely a write in flight:
    // a busy circuit nearly always has one, and its arrays would then get one update per
    // write of replies whatever the client's pace.
    const q = sub.queue;
    if (
      q.length > 0 &&
      (q.length >= sub.maxQueue ||
        (sub.coalesce && this.#backlog() + this.#queuedBytes >= LAG_BYTES))
    ) {
      q[q.length - 1] = snap;
    } else {
      q.push(snap);
      this.#queuedBytes += sub.entryBytes;
    }
    this.#ready.add(sub);
    if (this.#eventsOn) this.#scheduleFlush();
  }

  #eventCancel(m: CaMessage): void {
    const ch = this.#channelOf(m);
    if (!ch) return;
    const sub = ch.subs.get(m.param2);
    if (!sub) {
      this.#error(m, ch.cid, Eca.BADMONID, "Bad event subscription (monitor) identifier");
      return;
    }
    this.#dropSub(sub);
    // The confirmation is an EVENT_ADD with no payload (RSRV echoes the original count).
    writeHeader(this.#out, CaCommand.EVENT_ADD, 0, sub.dataType, sub.count, ch.sid, sub.subid);
    this.#scheduleFlush();
  }

  #dropSub(sub: Subscription): void {
    sub.unsubscribe();
    sub.channel.subs.delete(sub.subid);
    this.#queuedBytes -= sub.entryBytes * sub.queue.length;
    sub.queue.length = 0;
    this.#ready.delete(sub);
  }

  #dropChannel(ch: Channel): void {
    for (const sub of [...ch.subs.values()]) this.#dropSub(sub);
    ch.unwatchAccess?.();
    ch.unwatchAccess = undefined;
  }

  #forget(ch: Channel): void {
    this.#channels.delete(ch.sid);
    if (ch.sid < DENSE_SIDS) this.#bySid[ch.sid] = undefined;
  }

  #clearChannel(m: CaMessage): void {
    const ch = this.#channelOf(m);
    if (!ch) return;
    this.#dropChannel(ch);
    this.#forget(ch);
    writeHeader(this.#out, CaCommand.CLEAR_CHANNEL, 0, m.dataType, m.dataCount, m.param1, m.param2);
    this.#scheduleFlush();
  }

  /**
   * ERROR reply: the offending request's header followed by a message.
   * ```text
   * u16 cmd=11 | u16 size | u16 0 | u16 0 | u32 cid | u32 ECA status
   * payload: request header (16 or 24 bytes) + NUL-terminated text, padded to 8
   * ```
   */
  #error(req: CaMessage, cid: number, eca: number, text: string): void {
    const hdr = new ByteWriter(64);
    writeHeader(
      hdr,
      req.command,
      padded(req.payload.length),
      req.dataType,
      req.dataCount,
      req.param1,
      req.param2,
    );
    const body = new TextEncoder().encode(text.slice(0, 400));
    const payload = new Uint8Array(hdr.length + body.length + 1);
    payload.set(hdr.view());
    payload.set(body, hdr.length);
    encodeMessage(this.#out, { command: CaCommand.ERROR, param1: cid, param2: eca }, payload);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushQueued || this.#writing || this.#closed) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      if (!this.#writing) void this.#drain();
    });
  }

  #encodeEvents(): void {
    if (!this.#eventsOn) return;
    for (const sub of this.#ready) {
      // Past the high-water mark the rest wait (their queues keep the newest values), so
      // a client that does not read costs at most about that much output per circuit.
      if (this.#backlog() >= this.#highWater()) return;
      this.#ready.delete(sub);
      for (const snap of sub.queue) {
        if (!sub.channel.readable) {
          this.#noReadAccess(CaCommand.EVENT_ADD, sub.dataType, sub.count, sub.subid);
          continue;
        }
        this.#encodeUpdate(
          CaCommand.EVENT_ADD,
          sub.channel,
          sub.dataType,
          sub.count,
          sub.subid,
          snap,
        );
      }
      this.#queuedBytes -= sub.entryBytes * sub.queue.length;
      sub.queue.length = 0;
    }
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      for (;;) {
        if (this.#closed) return;
        this.#resumePending();
        this.#encodeEvents();
        if (this.#out.length === 0) return;
        const w = this.#out;
        this.#out = this.#spare;
        this.#spare = w;
        const bytes = w.view();
        this.#inFlight = bytes.length;
        let off = 0;
        while (off < bytes.length) {
          off += await this.#transport.write(bytes.subarray(off));
          this.#inFlight = bytes.length - off;
        }
        w.reset();
      }
    } catch (e) {
      if (!this.#closed) {
        this.#opts.logger.debug(
          `CA circuit to ${this.#opts.peer} write failed: ${(e as Error).message}`,
        );
        this.close();
      }
    } finally {
      this.#inFlight = 0;
      this.#writing = false;
      this.#wakeReaders();
    }
  }
}
