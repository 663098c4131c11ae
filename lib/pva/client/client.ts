/**
 * The PVA client transport: one UDP socket for searches, one TCP connection per server,
 * timers for search retries, echoes and the inactivity timeout. Protocol decisions live
 * in {@link ClientConnection} and {@link SearchScheduler}; this file only moves bytes,
 * keeps channel and operation bookkeeping, and turns replies into promises and callbacks.
 * @module
 */

import { broadcastAddresses } from "../../core/net.ts";
import { type EnvMap, epicsConfigFrom, type PvaClientConfig } from "../../core/env.ts";
import {
  ChannelNotFoundError,
  DisconnectedError,
  EpicsError,
  LocalProtocolError,
  TimeoutError,
} from "../../core/errors.ts";
import { PvaCommand, splitDatagram } from "../proto/header.ts";
import {
  addressToString,
  decodeMessage,
  isAnyAddress,
  MonitorSubcmd,
  type OpCommand,
  PvaSubcmd,
  type SearchResponse,
} from "../proto/messages.ts";
import { buildRequest, parseRequest } from "../proto/request.ts";
import { statusError } from "../proto/status.ts";
import { BitSet } from "../proto/bitset.ts";
import type { FieldDesc } from "../proto/typedesc.ts";
import type { PvValue } from "../proto/value.ts";
import { ClientConnection, type ConnEvent } from "./connection.ts";
import { buildSearchDatagram, SEARCH_SEQUENCE_ID, SearchPacer, SearchScheduler } from "./search.ts";
import { assignPut } from "./put_value.ts";

/** Options of a {@link PvaClient}. */
export interface PvaClientOptions {
  /** Environment to read EPICS_PVA_* from (default: the process environment). */
  env?: EnvMap;
  /** A ready configuration (overrides `env`). */
  config?: PvaClientConfig;
  /** Account name sent to servers offering "ca" authentication. */
  user?: string;
  /** Host name sent with "ca" authentication. */
  host?: string;
  /** First channel ID (default {@link FIRST_CID}). */
  firstCid?: number;
  /** First request ID (default {@link FIRST_IOID}). */
  firstIoid?: number;
  /**
   * Called when a second server (another GUID) answers for a channel already found, as
   * pvxs logs "Duplicate PV name": with the name, the "host:port" kept and the one ignored.
   */
  onMultiplyDefined?: (name: string, accepted: string, ignored: string) => void;
}

/** Options shared by one-shot operations. */
export interface OpOptions {
  /** pvRequest string, e.g. `field(value,alarm)` (default: everything). */
  request?: string;
  /** Seconds to wait for connection and reply together (default 5). */
  timeout?: number;
}

/** Options of {@link PvaClient.getMany} and {@link PvaClient.putMany}. */
export interface BatchOptions extends OpOptions {
  /** Called with the number of PVs finished so far (succeeded or failed), as they finish. */
  onProgress?: (done: number) => void;
}

/** What a monitor callback receives. */
export type MonitorEvent =
  | { kind: "connected"; server: string }
  | {
    kind: "data";
    /**
     * The subscription's value with this update merged in; changed marks = the update's.
     * Fields the server never sent hold default content: see `received`.
     */
    value: PvValue;
    /**
     * Every field the server has sent on this subscription since it was (re)established,
     * in the value's bit numbering (live: copy what you keep). `plainObject(value,
     * received)` is the current value without made-up fields.
     */
    received: BitSet;
    /** Whether the server squashed updates before this one. */
    overrun: boolean;
  }
  | { kind: "disconnected" }
  | { kind: "error"; error: Error }
  | { kind: "finished" };

/** Options of {@link PvaClient.monitor}. */
export interface MonitorOptions {
  /** The pvRequest, e.g. `field(value,alarm)` (default: the whole structure). */
  request?: string;
  /** Queue depth asked of the server (`record._options.queueSize`; default: not sent). */
  queueSize?: number;
  /** Flow control: the server sends at most `queueSize` (default 4) unacknowledged updates. */
  pipeline?: boolean;
  /** With pipeline: acknowledge after this many updates (default half the queue). */
  ackAny?: number;
}

/** A running monitor. */
export interface Subscription {
  /** Stops the monitor (sends DESTROY_REQUEST when connected). */
  close(): Promise<void>;
}

/** The type of a PV and where it lives, from {@link PvaClient.info}. */
export interface PvInfo {
  /** The channel name. */
  name: string;
  /** `host:port` of the server. */
  server: string;
  /** The PV's type as the server described it. */
  type: FieldDesc;
}

type ChanState = "searching" | "connecting" | "connected";

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

interface Chan {
  cid: number;
  name: string;
  state: ChanState;
  sid: number;
  server: ServerConn | undefined;
  /** GUID (hex) of the server whose search reply found the channel. */
  guid?: string;
  waiters: Set<Waiter>;
  /** Operations to (re)start whenever the channel connects. */
  persistent: Set<Op>;
}

interface Op {
  ioid: number;
  chan: Chan;
  /** Sends INIT (called with the channel connected). */
  start(srv: ServerConn): void;
  onEvent(srv: ServerConn, ev: ConnEvent): void;
  /** The connection or channel went away. */
  onLost(): void;
}

interface ServerConn {
  key: string;
  hostname: string;
  port: number;
  conn: ClientConnection;
  tcp: Deno.TcpConn | undefined;
  closed: boolean;
  channels: Map<number, Chan>;
  ops: Map<number, Op>;
  writing: Promise<void>;
  flushQueued: boolean;
  lastRx: number;
  /** Bytes arrived since the timer last looked (it stamps lastRx: no clock read per read). */
  rxSeen: boolean;
  timer: ReturnType<typeof setInterval> | undefined;
  loop: Promise<void> | undefined;
  nameServer: boolean;
}

/** What a {@link BatchOp} calls back into (one set of closures per batch, not per PV). */
interface BatchHost {
  /** The channel is connected: send the INIT. */
  begin(op: BatchOp): void;
  /** A reply for the operation. */
  event(op: BatchOp, srv: ServerConn, ev: ConnEvent): void;
  /** The operation is over: a value, an Error, or undefined (a put that succeeded). */
  finish(op: BatchOp, result: unknown): void;
}

/**
 * One PV of {@link PvaClient.getMany} / {@link PvaClient.putMany}: the channel waiter and
 * the operation in one object, methods on the prototype, so a batch of 10,000 PVs makes
 * 10,000 small objects rather than a dozen promises, closures and a timer per PV.
 */
class BatchOp implements Op, Waiter {
  ioid = 0;
  settled = false;
  constructor(
    readonly host: BatchHost,
    readonly index: number,
    readonly chan: Chan,
  ) {}
  /** Waiter: the channel connected. */
  resolve(): void {
    this.host.begin(this);
  }
  /** Waiter: the channel failed or the client closed. */
  reject(e: Error): void {
    this.host.finish(this, e);
  }
  start(): void {
    this.host.begin(this);
  }
  onEvent(srv: ServerConn, ev: ConnEvent): void {
    this.host.event(this, srv, ev);
  }
  onLost(): void {
    this.host.finish(
      this,
      new DisconnectedError(`Cannot complete on "${this.chan.name}": disconnected`),
    );
  }
}

/**
 * First channel and request IDs. Any values work; these are the ones pvxs starts from,
 * so a session recorded with pvxs tools replays against our client unchanged.
 */
export const FIRST_CID = 0x12345678;
/** See {@link FIRST_CID}. */
export const FIRST_IOID = 0x10002000;

function now(): number {
  return performance.now() / 1000;
}

function timeoutPromise<T>(
  p: Promise<T>,
  seconds: number,
  onTimeout: () => Error,
): Promise<T> {
  if (!(seconds > 0) || !Number.isFinite(seconds)) return p;
  let timer: ReturnType<typeof setInterval> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), seconds * 1000);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * A PV Access client: finds channels by UDP search (and TCP name servers), keeps one
 * connection per server, and runs GET, PUT, MONITOR, GET_FIELD and RPC on them.
 * Monitors survive a server restart: the channel is searched again and the monitor
 * re-created. Close it (or `await using`) to release every socket and timer.
 * UDP search needs Deno's unstable net API: run with `--unstable-net` (or
 * `"unstable": ["net"]` in deno.json); without it operations fail with a
 * `LocalProtocolError` that says so (a client with name servers only works without it).
 *
 * @example
 * ```ts ignore
 * import { PvaClient } from "./client.ts";
 * await using c = new PvaClient();
 * const v = await c.get("T:ai");
 * console.log(v.get("value"));
 * ```
 */
export class PvaClient implements AsyncDisposable {
  /** The PVA settings in use (from `opts.config`, else from the environment). */
  readonly config: PvaClientConfig;
  #opts: PvaClientOptions;
  #chans = new Map<string, Chan>();
  #byCid = new Map<number, Chan>();
  #servers = new Map<string, ServerConn>();
  #nameServers: ServerConn[] = [];
  #search = new SearchScheduler();
  /** UDP searches wait here for room in the window (see {@link SearchPacer}). */
  #pacer = new SearchPacer();
  #paceTimer: ReturnType<typeof setTimeout> | undefined;
  #searchTimer: ReturnType<typeof setTimeout> | undefined;
  /** The delay #searchTimer was armed with (0: an immediate send is already queued). */
  #searchTimerAt = -1;
  #udp: Deno.DatagramConn | undefined;
  #udpLoop: Promise<void> | undefined;
  #udpPort = 0;
  #destinations: { hostname: string; port: number; unicast: boolean }[] | undefined;
  #nextCid: number;
  #nextIoid: number;
  #closed = false;
  #subs = new Set<Subscription>();

  /**
   * Creates a client; it opens no socket until the first operation.
   * @param opts settings (`config` or `env`), credentials, first channel and request IDs
   */
  constructor(opts: PvaClientOptions = {}) {
    this.#opts = opts;
    this.config = opts.config ?? epicsConfigFrom(opts.env ?? readEnv()).pva;
    this.#nextCid = opts.firstCid ?? FIRST_CID;
    this.#nextIoid = opts.firstIoid ?? FIRST_IOID;
  }

  // -------------------------------------------------------------------------
  // Public operations

  /**
   * Reads a PV.
   * @param name the channel name
   * @param opts pvRequest and timeout
   * @returns the value; its changed marks say which fields the server sent (the others
   *   hold default content: `plainObject(v)` from ./plain.ts keeps only the sent ones)
   * @throws {ChannelNotFoundError} when no server answers the search in time
   * @throws {TimeoutError} when the server does not reply in time
   * @throws {PvaStatusError} when the server refuses
   * @throws {LocalProtocolError} when Deno runs without `--unstable-net` (every operation)
   */
  get(name: string, opts: OpOptions = {}): Promise<PvValue> {
    const request = this.#request(opts.request ?? "");
    return this.#oneShot<PvValue>(name, opts, (chan, resolve, reject) => ({
      start: (srv, op) => srv.conn.initOp(PvaCommand.GET, chan.sid, op.ioid, request),
      onEvent: (srv, op, ev) => {
        if (ev.kind === "opInit") {
          const err = statusError(ev.status, `Cannot get "${name}"`);
          if (err) return reject(err);
          srv.conn.execOp(PvaCommand.GET, chan.sid, op.ioid, PvaSubcmd.DEFAULT);
        } else if (ev.kind === "opData") {
          const err = ev.status && statusError(ev.status, `Cannot get "${name}"`);
          srv.conn.destroyOp(chan.sid, op.ioid);
          if (err) return reject(err);
          if (!ev.value) return reject(new EpicsError(`Cannot get "${name}": reply had no data`));
          resolve(ev.value);
        }
      },
    }));
  }

  /**
   * Writes a PV. The current value is fetched first (GET-PUT), so enums take a choice
   * name and a field path selects what is written.
   * @param name the channel name
   * @param value content for the `value` field; a plain object assigns fields by name
   *   (`{ "alarm.severity": 1 }` or nested); a function edits the current value directly
   * @param opts pvRequest and timeout
   * @throws {ChannelNotFoundError} | {TimeoutError} | {PvaStatusError} | {LocalProtocolError}
   */
  put(
    name: string,
    value: unknown,
    opts: OpOptions = {},
  ): Promise<void> {
    const request = this.#request(opts.request ?? "");
    return this.#oneShot<void>(name, opts, (chan, resolve, reject) => ({
      start: (srv, op) => srv.conn.initOp(PvaCommand.PUT, chan.sid, op.ioid, request),
      onEvent: (srv, op, ev) => {
        if (ev.kind === "opInit") {
          const err = statusError(ev.status, `Cannot put "${name}"`);
          if (err) return reject(err);
          srv.conn.execOp(PvaCommand.PUT, chan.sid, op.ioid, PvaSubcmd.GET);
        } else if (ev.kind === "opData" && (ev.subcmd & PvaSubcmd.GET)) {
          const err = ev.status && statusError(ev.status, `Cannot put "${name}"`);
          const cur = ev.value ?? srv.conn.opValue(op.ioid);
          if (err || !cur) {
            srv.conn.destroyOp(chan.sid, op.ioid);
            return reject(err ?? new EpicsError(`Cannot put "${name}": no put structure`));
          }
          cur.clearChanged();
          try {
            if (typeof value === "function") (value as (v: PvValue) => void)(cur);
            else assignPut(cur, value);
          } catch (e) {
            srv.conn.destroyOp(chan.sid, op.ioid);
            return reject(e as Error);
          }
          srv.conn.execOp(PvaCommand.PUT, chan.sid, op.ioid, PvaSubcmd.DEFAULT, {
            value: cur,
            changed: cur.changed.clone(),
          });
        } else if (ev.kind === "opData") {
          srv.conn.destroyOp(chan.sid, op.ioid);
          const err = ev.status && statusError(ev.status, `Cannot put "${name}"`);
          if (err) return reject(err);
          resolve();
        }
      },
    }));
  }

  /**
   * Reads many PVs at once: every channel searched and every GET sent together, with one
   * timeout for the whole set (cheaper than one {@link get} per PV for thousands).
   * @param names the channel names
   * @param opts pvRequest, timeout (for connecting and replying, all together), progress
   * @returns per name, in order: its value, or the Error that {@link get} would have
   *   thrown (ChannelNotFoundError, TimeoutError, PvaStatusError...)
   * @throws {LocalProtocolError} when Deno runs without `--unstable-net`, or closed
   */
  getMany(names: readonly string[], opts: BatchOptions = {}): Promise<(PvValue | Error)[]> {
    return this.#many(names, undefined, opts) as Promise<(PvValue | Error)[]>;
  }

  /**
   * Writes many PVs at once, each as {@link put} does (GET-PUT: enums by name, plain
   * objects by field), with one timeout for the whole set.
   * @param names the channel names
   * @param values the value for each name (same length)
   * @param opts pvRequest, timeout, progress
   * @returns per name, in order: undefined when written, else the Error {@link put} would
   *   have thrown
   * @throws {LocalProtocolError} when Deno runs without `--unstable-net`, or closed
   */
  putMany(
    names: readonly string[],
    values: readonly unknown[],
    opts: BatchOptions = {},
  ): Promise<(Error | undefined)[]> {
    if (values.length !== names.length) {
      return Promise.reject(
        new LocalProtocolError(
          `Cannot put: ${names.length} names but ${values.length} values`,
        ),
      );
    }
    return this.#many(names, values, opts) as Promise<(Error | undefined)[]>;
  }

  /**
   * Reads a PV's type (GET_FIELD).
   * @param name the channel name
   * @param opts timeout
   * @returns the type and the server's address
   */
  info(name: string, opts: OpOptions = {}): Promise<PvInfo> {
    return this.#oneShot<PvInfo>(name, opts, (chan, resolve, reject) => ({
      start: (srv, op) => srv.conn.getField(chan.sid, op.ioid, ""),
      onEvent: (srv, _op, ev) => {
        if (ev.kind !== "getField") return;
        const err = statusError(ev.status, `Cannot get the type of "${name}"`);
        if (err) return reject(err);
        if (!ev.type) return reject(new EpicsError(`Cannot get the type of "${name}": none`));
        resolve({ name, server: srv.key, type: ev.type });
      },
    }));
  }

  /**
   * Calls an RPC service.
   * @param name the channel name
   * @param args the argument structure (conventionally an NTURI)
   * @param opts pvRequest and timeout
   * @returns the result, or null when the service returns none
   */
  rpc(name: string, args: PvValue, opts: OpOptions = {}): Promise<PvValue | null> {
    const request = this.#request(opts.request ?? "");
    return this.#oneShot<PvValue | null>(name, opts, (chan, resolve, reject) => ({
      start: (srv, op) => srv.conn.initOp(PvaCommand.RPC, chan.sid, op.ioid, request),
      onEvent: (srv, op, ev) => {
        if (ev.kind === "opInit") {
          const err = statusError(ev.status, `Cannot call "${name}"`);
          if (err) return reject(err);
          srv.conn.execOp(PvaCommand.RPC, chan.sid, op.ioid, PvaSubcmd.DEFAULT, { args });
        } else if (ev.kind === "opData") {
          srv.conn.destroyOp(chan.sid, op.ioid);
          const err = ev.status && statusError(ev.status, `Cannot call "${name}"`);
          if (err) return reject(err);
          resolve(ev.result ?? null);
        }
      },
    }));
  }

  /**
   * Subscribes to a PV. The callback gets the first complete value, then each update
   * (the same value object, updated in place: copy what you keep); "disconnected" once
   * when the server goes away and "connected" again once the monitor is re-established.
   * @param name the channel name
   * @param callback receives {@link MonitorEvent}s
   * @param opts pvRequest, queue size, pipeline
   * @returns the subscription; close it to stop
   * @throws {LocalProtocolError} (at once) when Deno runs without `--unstable-net`
   */
  monitor(
    name: string,
    callback: (ev: MonitorEvent) => void,
    opts: MonitorOptions = {},
  ): Subscription {
    this.#assertOpen();
    let text = opts.request ?? "";
    // Options may come in the request string too (`record[pipeline=true,queueSize=4]`).
    const rec = parseRequest(text).record;
    const pipeline = opts.pipeline ?? /^(true|1)$/i.test(rec.get("pipeline") ?? "");
    const qs = rec.has("queueSize") ? Number(rec.get("queueSize")) : undefined;
    const queueSize = opts.queueSize ??
      (qs !== undefined && qs > 0 ? qs : pipeline ? 4 : undefined);
    const ackText = rec.get("ackAny");
    const extra: string[] = [];
    if (queueSize !== undefined && !/queueSize\s*=/.test(text)) {
      extra.push(`queueSize=${queueSize}`);
    }
    if (pipeline && !/pipeline\s*=/.test(text)) extra.push("pipeline=true");
    if (extra.length) text += `record[${extra.join(",")}]`;
    const request = this.#request(text);
    const window = queueSize ?? 4;
    const ackPercent = ackText?.endsWith("%") ? Number(ackText.slice(0, -1)) : undefined;
    const ackAny = Math.max(
      1,
      opts.ackAny ??
        (ackPercent !== undefined
          ? Math.floor((window * ackPercent) / 100)
          : ackText !== undefined && Number(ackText) > 0
          ? Number(ackText)
          : Math.floor(window / 2)),
    );
    const chan = this.#channel(name);
    let unacked = 0;
    let finished = false;
    // Whether "connected" was reported and not yet followed by "disconnected": a failed
    // reconnection attempt must not report another loss.
    let live = false;
    const received = new BitSet();
    const safe = (ev: MonitorEvent) => {
      try {
        callback(ev);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    };
    const op: Op = {
      ioid: 0,
      chan,
      start: (srv) => {
        op.ioid = this.#nextIoid++;
        srv.ops.set(op.ioid, op);
        unacked = 0;
        // A new operation starts from a new value: what the old one received is gone.
        received.clearAll();
        srv.conn.initOp(
          PvaCommand.MONITOR,
          chan.sid,
          op.ioid,
          request,
          pipeline ? window : undefined,
        );
        this.#flushSoon(srv);
      },
      onEvent: (srv, ev) => {
        if (ev.kind === "opInit") {
          const err = statusError(ev.status, `Cannot monitor "${name}"`);
          if (err) {
            srv.ops.delete(op.ioid);
            return safe({ kind: "error", error: err });
          }
          live = true;
          safe({ kind: "connected", server: srv.key });
          // pvxs clients queue the connection event like an update, so it counts towards
          // the first acknowledgement; we do the same to keep the same ack cadence.
          unacked = 1;
          srv.conn.execOp(PvaCommand.MONITOR, chan.sid, op.ioid, MonitorSubcmd.START);
        } else if (ev.kind === "opData") {
          if (ev.value) {
            received.or(ev.value.changed);
            safe({
              kind: "data",
              value: ev.value,
              received,
              overrun: !!ev.overrun && !ev.overrun.isEmpty,
            });
            if (pipeline && ++unacked >= ackAny) {
              srv.conn.execOp(PvaCommand.MONITOR, chan.sid, op.ioid, MonitorSubcmd.ACK, {
                nfree: unacked,
              });
              unacked = 0;
            }
          }
          if (ev.subcmd & PvaSubcmd.DESTROY) {
            srv.ops.delete(op.ioid);
            chan.persistent.delete(op);
            finished = true;
            const err = ev.status && statusError(ev.status, `Monitor of "${name}" ended`);
            safe(err ? { kind: "error", error: err } : { kind: "finished" });
          }
        }
      },
      onLost: () => {
        if (finished || !live) return;
        live = false;
        safe({ kind: "disconnected" });
      },
    };
    chan.persistent.add(op);
    if (chan.state === "connected" && chan.server) op.start(chan.server);
    const sub: Subscription = {
      close: async () => {
        if (!chan.persistent.delete(op)) return;
        this.#subs.delete(sub);
        const srv = chan.server;
        if (srv && chan.state === "connected" && srv.ops.get(op.ioid) === op) {
          srv.ops.delete(op.ioid);
          srv.conn.destroyOp(chan.sid, op.ioid);
          this.#flushSoon(srv);
          await srv.writing;
        }
      },
    };
    this.#subs.add(sub);
    return sub;
  }

  /** Closes every connection, socket and timer. Pending operations are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#subs]) await s.close();
    clearTimeout(this.#searchTimer);
    this.#searchTimer = undefined;
    clearTimeout(this.#paceTimer);
    this.#paceTimer = undefined;
    this.#pacer.clear();
    for (const t of this.#pendingTimers) clearTimeout(t);
    this.#pendingTimers.clear();
    for (const chan of this.#chans.values()) {
      for (const w of chan.waiters) w.reject(new DisconnectedError(`Client closed`));
      chan.waiters.clear();
    }
    const servers = [...this.#servers.values(), ...this.#nameServers];
    for (const srv of servers) {
      this.#flush(srv);
      await srv.writing.catch(() => {});
      this.#closeServer(srv, new DisconnectedError("Client closed"));
    }
    await Promise.all(servers.map((s) => s.loop?.catch(() => {})));
    if (this.#udp) {
      try {
        this.#udp.close();
      } catch {
        // already closed
      }
      await this.#udpLoop?.catch(() => {});
    }
  }

  /** Same as {@link PvaClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // -------------------------------------------------------------------------
  // One-shot operation plumbing

  #oneShot<R>(
    name: string,
    opts: OpOptions,
    make: (
      chan: Chan,
      resolve: (v: R) => void,
      reject: (e: Error) => void,
    ) => {
      start(srv: ServerConn, op: Op): void;
      onEvent(srv: ServerConn, op: Op, ev: ConnEvent): void;
    },
  ): Promise<R> {
    const timeout = opts.timeout ?? 5;
    let chan: Chan;
    try {
      this.#assertOpen();
      chan = this.#channel(name);
    } catch (e) {
      return Promise.reject(e);
    }
    let op: Op | undefined;
    let waiter: Waiter | undefined;
    const work = (async () => {
      if (chan.state !== "connected") {
        await new Promise<void>((resolve, reject) => {
          waiter = { resolve, reject };
          chan.waiters.add(waiter);
        });
      }
      return await new Promise<R>((resolve, reject) => {
        const h = make(chan, resolve, reject);
        const srv = chan.server!;
        const o: Op = {
          ioid: this.#nextIoid++,
          chan,
          start: (s) => h.start(s, o),
          onEvent: (s, ev) => h.onEvent(s, o, ev),
          onLost: () => reject(new DisconnectedError(`Cannot complete on "${name}": disconnected`)),
        };
        op = o;
        srv.ops.set(o.ioid, o);
        o.start(srv);
        this.#flushSoon(srv);
      });
    })();
    return timeoutPromise(work, timeout, () => {
      if (chan.state === "searching") return new ChannelNotFoundError(name);
      return new TimeoutError(`Cannot complete on "${name}": no reply within ${timeout} s`);
    }).finally(() => {
      const srv = chan.server;
      if (op && srv && srv.ops.get(op.ioid) === op) {
        srv.ops.delete(op.ioid);
        srv.conn.forgetOp(op.ioid);
        this.#flushSoon(srv);
      }
      // Drop the waiter a timeout left behind.
      if (waiter) chan.waiters.delete(waiter);
    });
  }

  #many(
    names: readonly string[],
    values: readonly unknown[] | undefined,
    opts: BatchOptions,
  ): Promise<unknown[]> {
    const timeout = opts.timeout ?? 5;
    const n = names.length;
    const out: unknown[] = new Array(n);
    if (n === 0) return Promise.resolve(out);
    let request: PvValue;
    try {
      this.#assertOpen();
      request = this.#request(opts.request ?? "");
      this.#ensureUdp();
    } catch (e) {
      return Promise.reject(e);
    }
    const isPut = values !== undefined;
    const command = isPut ? PvaCommand.PUT : PvaCommand.GET;
    const verb = isPut ? "put" : "get";
    let left = n;
    let done!: (r: unknown[]) => void;
    const all = new Promise<unknown[]>((resolve) => (done = resolve));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ops: BatchOp[] = new Array(n);
    const finish = (op: BatchOp, result: unknown) => {
      if (op.settled) return;
      op.settled = true;
      const chan = op.chan;
      const srv = chan.server;
      if (op.ioid && srv && srv.ops.get(op.ioid) === op) {
        srv.ops.delete(op.ioid);
        srv.conn.forgetOp(op.ioid);
        this.#flushSoon(srv);
      }
      chan.waiters.delete(op);
      out[op.index] = result;
      opts.onProgress?.(n - left + 1);
      if (--left === 0) {
        clearTimeout(timer);
        done(out);
      }
    };
    const host: BatchHost = {
      begin: (op) => {
        if (op.settled) return;
        const srv = op.chan.server!;
        op.ioid = this.#nextIoid++;
        srv.ops.set(op.ioid, op);
        srv.conn.initOp(command, op.chan.sid, op.ioid, request);
        this.#flushSoon(srv);
      },
      event: (op, srv, ev) => {
        if (op.settled) return;
        const name = op.chan.name;
        const what = `Cannot ${verb} "${name}"`;
        if (ev.kind === "opInit") {
          const err = statusError(ev.status, what);
          if (err) return finish(op, err);
          srv.conn.execOp(command, op.chan.sid, op.ioid, isPut ? PvaSubcmd.GET : PvaSubcmd.DEFAULT);
        } else if (ev.kind !== "opData") {
          return;
        } else if (!isPut) {
          const err = ev.status && statusError(ev.status, what);
          srv.conn.destroyOp(op.chan.sid, op.ioid);
          if (err) return finish(op, err);
          finish(op, ev.value ?? new EpicsError(`${what}: reply had no data`));
        } else if (ev.subcmd & PvaSubcmd.GET) {
          const err = ev.status && statusError(ev.status, what);
          const cur = ev.value ?? srv.conn.opValue(op.ioid);
          if (err || !cur) {
            srv.conn.destroyOp(op.chan.sid, op.ioid);
            return finish(op, err ?? new EpicsError(`${what}: no put structure`));
          }
          cur.clearChanged();
          try {
            const v = values[op.index];
            if (typeof v === "function") (v as (x: PvValue) => void)(cur);
            else assignPut(cur, v);
          } catch (e) {
            srv.conn.destroyOp(op.chan.sid, op.ioid);
            return finish(op, e as Error);
          }
          srv.conn.execOp(PvaCommand.PUT, op.chan.sid, op.ioid, PvaSubcmd.DEFAULT, {
            value: cur,
            changed: cur.changed.clone(),
          });
        } else {
          srv.conn.destroyOp(op.chan.sid, op.ioid);
          const err = ev.status && statusError(ev.status, what);
          finish(op, err || undefined);
        }
      },
      finish,
    };
    for (let i = 0; i < n; i++) {
      const chan = this.#channel(names[i]);
      const op = new BatchOp(host, i, chan);
      ops[i] = op;
      if (chan.state === "connected" && chan.server) host.begin(op);
      else chan.waiters.add(op);
    }
    if (left > 0 && timeout > 0 && Number.isFinite(timeout)) {
      timer = setTimeout(() => {
        for (const op of ops) {
          if (op.settled) continue;
          finish(
            op,
            op.chan.state === "searching"
              ? new ChannelNotFoundError(op.chan.name)
              : new TimeoutError(
                `Cannot complete on "${op.chan.name}": no reply within ${timeout} s`,
              ),
          );
        }
      }, timeout * 1000);
    }
    return all;
  }

  /** pvRequests by their text: many channels read with one request build it once. */
  #requests = new Map<string, PvValue>();

  /** The pvRequest structure for `text` (shared: only ever encoded, never changed). */
  #request(text: string): PvValue {
    let r = this.#requests.get(text);
    if (r) return r;
    r = buildRequest(text);
    if (this.#requests.size >= 64) this.#requests.clear();
    this.#requests.set(text, r);
    return r;
  }

  #assertOpen(): void {
    if (this.#closed) throw new LocalProtocolError("Cannot use a closed PvaClient");
  }

  // -------------------------------------------------------------------------
  // Channels and search

  #channel(name: string): Chan {
    let chan = this.#chans.get(name);
    if (chan) return chan;
    // Before any bookkeeping: a failure here must leave no half-made channel behind.
    this.#ensureUdp();
    chan = {
      cid: this.#nextCid++,
      name,
      state: "searching",
      sid: 0,
      server: undefined,
      waiters: new Set(),
      persistent: new Set(),
    };
    this.#chans.set(name, chan);
    this.#byCid.set(chan.cid, chan);
    this.#startSearch(chan);
    return chan;
  }

  #startSearch(chan: Chan): void {
    chan.state = "searching";
    chan.server = undefined;
    this.#search.add(chan.cid, chan.name, now());
    this.#ensureUdp();
    this.#ensureNameServers();
    // Coalesce the names asked for in this turn into one datagram.
    this.#armSearch(0);
  }

  #armSearch(delaySeconds?: number): void {
    if (this.#closed) return;
    // Many channels asked for in one turn each arm an immediate send: one timer (and
    // one scan of the schedule) serves them all.
    if (delaySeconds === 0 && this.#searchTimer !== undefined && this.#searchTimerAt === 0) return;
    clearTimeout(this.#searchTimer);
    this.#searchTimer = undefined;
    let wait = delaySeconds;
    if (wait === undefined) {
      const next = this.#search.nextDue();
      if (next === undefined) return;
      wait = Math.max(0, next - now());
    } else if (this.#search.size === 0) return;
    this.#searchTimerAt = wait;
    this.#searchTimer = setTimeout(() => {
      this.#searchTimer = undefined;
      this.#sendSearches();
    }, wait * 1000);
  }

  #sendSearches(): void {
    const due = this.#search.due(now());
    if (due.length > 0) {
      if (this.#udp) this.#pacer.enqueue(due);
      for (const ns of this.#nameServers) {
        if (ns.closed) continue;
        ns.conn.search({
          sequenceId: SEARCH_SEQUENCE_ID,
          flags: 0x80,
          responseAddress: new Uint8Array(16),
          responsePort: 0,
          protocols: ["tcp"],
          channels: due,
        });
        this.#flushSoon(ns);
      }
    }
    this.#pumpSearches();
    this.#armSearch();
  }

  /** Sends the queued UDP searches the window has room for; wakes up when it frees. */
  #pumpSearches(): void {
    clearTimeout(this.#paceTimer);
    this.#paceTimer = undefined;
    const udp = this.#udp;
    if (!udp || this.#closed) return;
    const dests = this.#searchDestinations();
    const t = now();
    const wanted = (id: number) => this.#search.has(id);
    for (;;) {
      const batch = this.#pacer.next(t, wanted);
      if (!batch) break;
      for (const e of batch) this.#search.sent(e.id, t);
      const dgs: (Uint8Array | undefined)[] = [undefined, undefined];
      for (const d of dests) {
        const k = d.unicast ? 1 : 0;
        const dg = dgs[k] ??= buildSearchDatagram(batch, {
          responsePort: this.#udpPort,
          unicast: d.unicast,
        });
        udp.send(dg, { transport: "udp", hostname: d.hostname, port: d.port }).catch(() => {});
      }
    }
    const wake = this.#pacer.wakeAt();
    if (wake !== undefined) {
      this.#paceTimer = setTimeout(() => {
        this.#paceTimer = undefined;
        this.#pumpSearches();
      }, Math.max(0, wake - now()) * 1000);
    }
  }

  #searchDestinations(): { hostname: string; port: number; unicast: boolean }[] {
    if (this.#destinations) return this.#destinations;
    const out: { hostname: string; port: number; unicast: boolean }[] = [];
    for (const a of this.config.addrList) {
      out.push({ hostname: a.host, port: a.port, unicast: !a.host.endsWith(".255") });
    }
    if (this.config.autoAddrList) {
      for (const b of broadcastAddresses()) {
        out.push({ hostname: b, port: this.config.broadcastPort, unicast: false });
      }
    }
    this.#destinations = out;
    return out;
  }

  /**
   * Opens the search socket, unless there is nowhere to send UDP searches (name servers
   * only), so such a client also runs without UDP.
   * @throws {LocalProtocolError} when Deno runs without `--unstable-net`
   */
  #ensureUdp(): void {
    if (this.#udp || this.#closed) return;
    if (this.#searchDestinations().length === 0) return;
    // Deno keeps UDP behind its unstable "net" API: say how to turn it on rather than
    // fail with "Deno.listenDatagram is not a function".
    if (typeof Deno.listenDatagram !== "function") {
      throw new LocalProtocolError(
        "Cannot open the PVA search socket: Deno.listenDatagram is unavailable; run with " +
          '--unstable-net (or add "unstable": ["net"] to deno.json)',
      );
    }
    const loopOnly = !this.config.autoAddrList &&
      this.config.addrList.every((a) => a.host.startsWith("127.") || a.host === "localhost");
    const sock = Deno.listenDatagram({
      transport: "udp",
      hostname: loopOnly ? "127.0.0.1" : "0.0.0.0",
      port: 0,
    });
    this.#udp = sock;
    this.#udpPort = (sock.addr as Deno.NetAddr).port;
    this.#udpLoop = this.#udpReceive(sock);
  }

  async #udpReceive(sock: Deno.DatagramConn): Promise<void> {
    try {
      for (;;) {
        const [data, addr] = await sock.receive();
        const from = (addr as Deno.NetAddr).hostname;
        let msgs;
        try {
          msgs = splitDatagram(data);
        } catch {
          continue;
        }
        let replies = 0;
        for (const m of msgs) {
          if (m.command !== PvaCommand.SEARCH_RESPONSE || !m.fromServer) continue;
          replies++;
          try {
            const d = decodeMessage(m);
            if (d.kind === "searchResponse") this.#onSearchResponse(d.msg, from, undefined);
          } catch {
            // A malformed reply from one server must not stop the others.
          }
        }
        if (replies) {
          this.#pacer.answered(now());
          if (this.#pacer.queued) this.#pumpSearches();
        }
      }
    } catch {
      // Socket closed.
    }
  }

  #onSearchResponse(msg: SearchResponse, fromHost: string, via: ServerConn | undefined): void {
    if (!msg.found || msg.protocol !== "tcp") return;
    let host = isAnyAddress(msg.serverAddress) ? fromHost : addressToString(msg.serverAddress);
    let port = msg.serverPort;
    if (via) {
      if (isAnyAddress(msg.serverAddress)) host = via.hostname;
      if (port === 0) port = via.port;
    }
    let guid: string | undefined;
    for (const id of msg.ids) {
      const chan = this.#byCid.get(id);
      if (!chan) continue;
      guid ??= Array.from(msg.guid, (b) => b.toString(16).padStart(2, "0")).join("");
      if (chan.state !== "searching") {
        // Found already: a reply from another server means the name exists twice.
        if (chan.guid !== undefined && chan.guid !== guid && chan.server) {
          this.#opts.onMultiplyDefined?.(chan.name, chan.server.key, `${host}:${port}`);
        }
        continue;
      }
      this.#search.remove(id);
      chan.guid = guid;
      this.#attach(chan, this.#server(host, port));
    }
  }

  #ensureNameServers(): void {
    if (this.#nameServers.length > 0 || this.config.nameServers.length === 0) return;
    for (const a of this.config.nameServers) {
      const srv = this.#newServer(a.host, a.port, true);
      this.#nameServers.push(srv);
    }
  }

  // -------------------------------------------------------------------------
  // Servers

  #server(hostname: string, port: number): ServerConn {
    const key = `${hostname}:${port}`;
    let srv = this.#servers.get(key);
    if (srv && !srv.closed) return srv;
    srv = this.#newServer(hostname, port, false);
    this.#servers.set(key, srv);
    return srv;
  }

  #newServer(hostname: string, port: number, nameServer: boolean): ServerConn {
    const srv: ServerConn = {
      key: `${hostname}:${port}`,
      hostname,
      port,
      conn: new ClientConnection({ user: this.#opts.user, host: this.#opts.host }),
      tcp: undefined,
      closed: false,
      channels: new Map(),
      ops: new Map(),
      writing: Promise.resolve(),
      flushQueued: false,
      lastRx: now(),
      rxSeen: false,
      timer: undefined,
      loop: undefined,
      nameServer,
    };
    srv.loop = this.#run(srv);
    return srv;
  }

  async #run(srv: ServerConn): Promise<void> {
    let error: Error | undefined;
    try {
      const tcp = await Deno.connect({ hostname: srv.hostname, port: srv.port });
      if (srv.closed) {
        tcp.close();
        return;
      }
      tcp.setNoDelay(true);
      srv.tcp = tcp;
      srv.lastRx = now();
      this.#startTimer(srv);
      this.#flush(srv);
      for (;;) {
        // Read straight into the connection's buffer (for a large reply: into the
        // reply's own buffer, so its bytes are copied only once).
        const n = await tcp.read(srv.conn.readSpace());
        if (n === null) break;
        srv.rxSeen = true;
        const events = srv.conn.commit(n);
        for (const ev of events) this.#onEvent(srv, ev);
        this.#flushSoon(srv);
      }
    } catch (e) {
      error = e as Error;
    }
    this.#closeServer(
      srv,
      new DisconnectedError(`Lost connection to ${srv.key}`, error ? { cause: error } : undefined),
    );
  }

  #startTimer(srv: ServerConn): void {
    const tmo = this.config.connTimeout;
    const echoEvery = Math.min(15, Math.max(1, (tmo * 3) / 8));
    const dead = (tmo * 4) / 3;
    srv.timer = setInterval(() => {
      // Traffic is noticed at the next tick, so a silent server is declared dead at most
      // one echo period later than `dead`.
      if (srv.rxSeen) {
        srv.rxSeen = false;
        srv.lastRx = now();
      }
      if (now() - srv.lastRx > dead) {
        this.#closeServer(srv, new TimeoutError(`Connection to ${srv.key} timed out`));
        return;
      }
      srv.conn.echo();
      this.#flushSoon(srv);
    }, echoEvery * 1000);
  }

  #onEvent(srv: ServerConn, ev: ConnEvent): void {
    switch (ev.kind) {
      case "validated":
        if (srv.nameServer) this.#search.poke(now()), this.#armSearch(0);
        return;
      case "channelCreated": {
        const chan = srv.channels.get(ev.cid);
        if (!chan || chan.state !== "connecting") return;
        const err = statusError(ev.status, `Cannot create channel "${chan.name}"`);
        if (err) {
          srv.channels.delete(ev.cid);
          for (const w of chan.waiters) w.reject(err);
          chan.waiters.clear();
          this.#startSearch(chan);
          return;
        }
        chan.sid = ev.sid;
        chan.state = "connected";
        for (const w of chan.waiters) w.resolve();
        chan.waiters.clear();
        for (const op of chan.persistent) op.start(srv);
        return;
      }
      case "channelDestroyed": {
        const chan = srv.channels.get(ev.cid);
        if (!chan || chan.sid !== ev.sid || chan.state !== "connected") return;
        srv.channels.delete(ev.cid);
        this.#lose(srv, chan);
        this.#startSearch(chan);
        return;
      }
      case "searchResponse":
        this.#onSearchResponse(ev.msg, srv.hostname, srv);
        return;
      case "opInit":
      case "opData":
      case "getField": {
        const op = srv.ops.get(ev.ioid);
        if (op) {
          if (ev.kind === "getField") srv.ops.delete(ev.ioid);
          op.onEvent(srv, ev);
        }
        return;
      }
    }
  }

  #attach(chan: Chan, srv: ServerConn): void {
    chan.state = "connecting";
    chan.server = srv;
    srv.channels.set(chan.cid, chan);
    srv.conn.createChannel(chan.cid, chan.name);
    this.#flushSoon(srv);
  }

  /** A channel lost its server: fail its one-shot operations, tell its monitors. */
  #lose(srv: ServerConn, chan: Chan): void {
    for (const [ioid, op] of srv.ops) {
      if (op.chan !== chan) continue;
      srv.ops.delete(ioid);
      srv.conn.forgetOp(ioid);
      // Monitors are told once, below (they were reported "disconnected" twice).
      if (!chan.persistent.has(op)) op.onLost();
    }
    for (const op of chan.persistent) op.onLost();
    chan.server = undefined;
  }

  #closeServer(srv: ServerConn, _reason: Error): void {
    if (srv.closed) return;
    srv.closed = true;
    clearInterval(srv.timer);
    srv.timer = undefined;
    try {
      srv.tcp?.close();
    } catch {
      // already closed
    }
    if (this.#servers.get(srv.key) === srv) this.#servers.delete(srv.key);
    const chans = [...srv.channels.values()];
    srv.channels.clear();
    for (const chan of chans) {
      this.#lose(srv, chan);
      if (!this.#closed) this.#startSearch(chan);
    }
    if (srv.nameServer && !this.#closed) {
      // Reconnect to the name server after a pause.
      const i = this.#nameServers.indexOf(srv);
      if (i >= 0) {
        const t = setTimeout(() => {
          this.#pendingTimers.delete(t);
          if (this.#closed) return;
          this.#nameServers[i] = this.#newServer(srv.hostname, srv.port, true);
        }, 2000);
        this.#pendingTimers.add(t);
      }
    }
    if (!this.#closed) {
      this.#search.poke(now());
      this.#armSearch();
    }
  }

  #pendingTimers = new Set<ReturnType<typeof setTimeout>>();

  #flushSoon(srv: ServerConn): void {
    if (srv.flushQueued || srv.closed) return;
    srv.flushQueued = true;
    queueMicrotask(() => {
      srv.flushQueued = false;
      this.#flush(srv);
    });
  }

  #flush(srv: ServerConn): void {
    const tcp = srv.tcp;
    if (!tcp || srv.closed) return;
    const bytes = srv.conn.takeOutput();
    if (!bytes) return;
    srv.writing = srv.writing.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await tcp.write(bytes.subarray(off));
    }).catch(() => {
      this.#closeServer(srv, new DisconnectedError(`Cannot write to ${srv.key}`));
    });
  }
}

function readEnv(): EnvMap {
  try {
    return Deno.env.toObject();
  } catch {
    return {};
  }
}

/** @internal the command codes a client sends operations with. */
export type { OpCommand };
