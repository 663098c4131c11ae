/**
 * A CA channel: one PV name, searched for, connected over a shared virtual circuit,
 * and reconnected on its own when its server comes and goes. Gets, puts and
 * subscriptions are Promise and callback based.
 * @module
 */

import {
  CaStatusError,
  ChannelNotFoundError,
  DisconnectedError,
  LocalProtocolError,
  TimeoutError,
} from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { Dbe, Eca } from "../proto/constants.ts";
import { dbrInfo, dbrPayloadSize } from "../proto/dbr.ts";
import type { DbrData } from "../proto/dbr_types.ts";
import type { Pending, VirtualCircuit } from "./circuit.ts";
import type { Deadline } from "./deadlines.ts";
import { ecaName } from "./eca_names.ts";
import { preparePut, type PutValue } from "./put_values.ts";

/** Where a channel is in its life. "disconnected": was connected, searching again. */
export type ChannelState = "searching" | "connected" | "disconnected" | "closed";

/** Read/write permission of a channel. */
export interface AccessRights {
  /** The client may read (get, subscribe). */
  read: boolean;
  /** The client may write (put). */
  write: boolean;
}

/** The result of a get, and one monitor update. */
export interface ChannelData {
  /** The DBR type of the data. */
  dbrType: number;
  /** Elements received. */
  count: number;
  /** Value and metadata. */
  data: DbrData;
}

/** A monitor callback's argument: data, or the error status the server sent instead. */
export type MonitorUpdate = ChannelData | { error: CaStatusError };

/** Options of {@link CaChannel.subscribe}. */
export interface SubscribeOptions {
  /** DBR type of the updates (default: the native plain type). */
  dbrType?: number;
  /** Elements per update (default: the native count; 0 = as many as the server has). */
  count?: number;
  /** DBE mask (default DBE_VALUE | DBE_ALARM). */
  mask?: number;
}

/** What a channel needs from its context. */
export interface ChannelHost {
  readonly logger: Logger;
  /** Largest DBR payload accepted, or undefined when unlimited. */
  readonly maxArrayBytes: number | undefined;
  startSearch(ch: CaChannel, delay?: number): void;
  stopSearch(ch: CaChannel): void;
  nextIoid(): number;
  nextSubid(): number;
  channelClosed(ch: CaChannel): void;
  /** Schedules a timeout at `at` ms on the `performance.now()` clock. */
  addDeadline(at: number, onExpire: () => void): Deadline;
  /** Cancels a timeout from {@link addDeadline}. */
  cancelDeadline(d: Deadline): void;
}

const DEFAULT_TIMEOUT = 5;
/** The rights of a channel not connected, shared by all (never changed in place). */
const NO_ACCESS: AccessRights = Object.freeze({ read: false, write: false });

/** A live subscription; survives reconnects until cancelled. */
export class Subscription {
  /** The channel monitored. */
  readonly channel: CaChannel;
  /** DBR type, count and event mask asked for. */
  readonly options: Readonly<SubscribeOptions>;
  readonly #cb: (u: MonitorUpdate) => void;
  readonly #logger: Logger;
  /** Subscription ID on the current circuit. */
  subid: number | undefined;
  #type = 0;
  #count = 0;
  /** Set once {@link Subscription.cancel} ran (or the channel closed); no more callbacks. */
  cancelled = false;

  /**
   * Made by {@link CaChannel.subscribe}; not meant to be created directly.
   * @param channel the channel monitored
   * @param options DBR type, count and mask
   * @param cb called with every update
   * @param logger where callback errors are logged
   */
  constructor(
    channel: CaChannel,
    options: SubscribeOptions,
    cb: (u: MonitorUpdate) => void,
    logger: Logger,
  ) {
    this.channel = channel;
    this.options = options;
    this.#cb = cb;
    this.#logger = logger;
  }

  /** Sends EVENT_ADD on a (new) circuit. @internal */
  _activate(c: VirtualCircuit, subid: number, nativeType: number, nativeCount: number): void {
    this.subid = subid;
    this.#type = this.options.dbrType ?? nativeType;
    let count = this.options.count ?? nativeCount;
    if (count === 0 && c.state.serverMinor < 13) count = nativeCount;
    this.#count = count;
    c.subscriptions.set(subid, this);
    c.state.eventAdd({
      sid: this.channel._sid!,
      subid,
      dataType: this.#type,
      count,
      mask: this.options.mask ?? (Dbe.VALUE | Dbe.ALARM),
    });
    c.flushSoon();
  }

  /** Sends EVENT_CANCEL. @internal */
  _deactivate(c: VirtualCircuit | undefined, sid: number | undefined): void {
    if (this.subid === undefined) return;
    if (c && sid !== undefined && c.subscriptions.get(this.subid) === this) {
      c.subscriptions.delete(this.subid);
      if (c.connected) {
        c.state.eventCancel({ sid, subid: this.subid, dataType: this.#type, count: this.#count });
        c.flushSoon();
      }
    }
    this.subid = undefined;
  }

  /** Hands an update to the callback. @internal */
  _deliver(u: MonitorUpdate): void {
    if (this.cancelled) return;
    try {
      this.#cb(u);
    } catch (e) {
      this.#logger.error(
        `monitor callback for "${this.channel.name}" threw: ${(e as Error).message}`,
      );
    }
  }

  /** Stops the subscription. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.channel._unsubscribe(this);
  }
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
  deadline: Deadline;
}

type ReplyEvent = Parameters<Pending["resolve"]>[0];

/**
 * Many reads answered by one promise: {@link CaContext.getMany}. One object and one
 * deadline for the whole batch instead of a promise, closures and a timeout per read.
 * @internal
 */
export class ReadBatch {
  /** Per channel: the data read, or why it could not be. */
  readonly results: Array<ChannelData | Error>;
  /** Reads in flight, for the batch timeout. */
  readonly ops: Operation[] = [];
  readonly #resolve: (r: Array<ChannelData | Error>) => void;
  #left: number;
  deadline: Deadline | undefined;
  #cancelDeadline: ((d: Deadline) => void) | undefined;

  constructor(size: number, resolve: (r: Array<ChannelData | Error>) => void) {
    this.results = new Array(size);
    this.#left = size;
    this.#resolve = resolve;
  }

  /** Arms the batch timeout, or resolves at once when nothing is outstanding. */
  start(host: ChannelHost, at: number): void {
    if (this.#left === 0) {
      this.#resolve(this.results);
      return;
    }
    this.#cancelDeadline = (d) => host.cancelDeadline(d);
    this.deadline = host.addDeadline(at, () => {
      this.deadline = undefined;
      for (const op of this.ops) if (!op.done) op.expire();
    });
  }

  settle(index: number, value: ChannelData | Error): void {
    this.results[index] = value;
    if (--this.#left > 0) return;
    if (this.deadline) this.#cancelDeadline?.(this.deadline);
    this.deadline = undefined;
    this.#resolve(this.results);
  }
}

/**
 * A wait for many channels to connect ({@link CaContext.waitConnected}): each channel
 * holds a reference and counts down on connecting, no callback per channel. @internal
 */
export class ConnectWait {
  #missing = 0;
  #resolve: ((all: boolean) => void) | undefined;
  readonly #channels: readonly CaChannel[];
  #finish: (() => void) | undefined;

  constructor(channels: readonly CaChannel[], resolve: (all: boolean) => void) {
    this.#channels = channels;
    this.#resolve = resolve;
    for (const ch of channels) if (ch._addConnectWait(this)) this.#missing++;
  }

  /** True once every channel connected or the wait ended. */
  get done(): boolean {
    return this.#resolve === undefined;
  }

  /** Channels still to connect. */
  get missing(): number {
    return this.#missing;
  }

  /** Sets what to do on finishing (clear the timer); resolves now when nothing is missing. */
  start(onFinish: () => void): void {
    this.#finish = onFinish;
    if (this.#missing === 0) this.end();
  }

  /** One of the channels connected. */
  connected(): void {
    if (--this.#missing === 0) this.end();
  }

  /** Ends the wait (all connected, timeout or abort). */
  end(): void {
    const resolve = this.#resolve;
    if (!resolve) return;
    this.#resolve = undefined;
    this.#finish?.();
    if (this.#missing > 0) { for (const ch of this.#channels) ch._dropConnectWait(this); }
    resolve(this.#missing <= 0);
  }
}

/**
 * A READ_NOTIFY or WRITE_NOTIFY waiting for its reply. Its outcome goes to a promise
 * (get, put) or to a slot of a {@link ReadBatch}; its timeout sits in the context's
 * shared deadline queue (or is the batch's).
 */
class Operation implements Pending {
  readonly channel: CaChannel;
  readonly kind: "read" | "write";
  readonly ioid: number;
  readonly #circuit: VirtualCircuit;
  readonly #resolve: ((v: ChannelData | undefined) => void) | undefined;
  readonly #reject: ((e: Error) => void) | undefined;
  readonly #batch: ReadBatch | undefined;
  readonly #index: number;
  readonly #timeoutSec: number;
  deadline: Deadline | undefined;
  done = false;

  constructor(
    channel: CaChannel,
    kind: "read" | "write",
    ioid: number,
    circuit: VirtualCircuit,
    timeoutSec: number,
    resolve: ((v: ChannelData | undefined) => void) | undefined,
    reject: ((e: Error) => void) | undefined,
    batch?: ReadBatch,
    index = 0,
  ) {
    this.channel = channel;
    this.kind = kind;
    this.ioid = ioid;
    this.#circuit = circuit;
    this.#timeoutSec = timeoutSec;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#batch = batch;
    this.#index = index;
  }

  #settle(value: ChannelData | undefined, error: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    this.#circuit.pending.delete(this.ioid);
    this.channel._opDone(this);
    if (this.#batch) this.#batch.settle(this.#index, error ?? value!);
    else if (error) this.#reject!(error);
    else this.#resolve!(value);
  }

  resolve(ev: ReplyEvent): void {
    const name = this.channel.name;
    if (!(ev.eca & 1)) {
      this.#settle(
        undefined,
        new CaStatusError(
          `Cannot ${this.kind === "read" ? "read" : "write"} "${name}": server returned ${
            ecaName(ev.eca)
          }`,
          ev.eca,
        ),
      );
    } else if (ev.kind === "readReply") {
      if (ev.data) {
        this.#settle({ dbrType: ev.dataType, count: ev.count, data: ev.data }, undefined);
      } else {
        this.#settle(
          undefined,
          new CaStatusError(`Cannot read "${name}": server returned ${ecaName(ev.eca)}`, ev.eca),
        );
      }
    } else this.#settle(undefined, undefined);
  }

  reject(e: Error): void {
    this.#settle(undefined, e);
  }

  /** The deadline passed. */
  expire(): void {
    this.deadline = undefined;
    this.#settle(
      undefined,
      new TimeoutError(
        this.kind === "read"
          ? `Cannot read "${this.channel.name}" within ${this.#timeoutSec} s`
          : `Cannot complete put to "${this.channel.name}" within ${this.#timeoutSec} s`,
      ),
    );
  }
}

/**
 * One PV name. Created by {@link CaContext.channel}; searching starts at once.
 * Becomes "connected" when its server answers, "disconnected" when the server goes
 * away (it searches again and reconnects by itself), "closed" after {@link close}.
 */
export class CaChannel {
  /** The PV name. */
  readonly name: string;
  /** Client channel ID (also the search ID). */
  readonly cid: number;
  /** Circuit priority 0..99. */
  readonly priority: number;
  /** Called when a put without completion (WRITE) is refused by the server. */
  onError: ((e: CaStatusError) => void) | undefined;
  readonly #host: ChannelHost;
  #state: ChannelState = "searching";
  #circuit: VirtualCircuit | undefined;
  #sid: number | undefined;
  #nativeType = -1;
  #count = 0;
  #access: AccessRights = NO_ACCESS;
  #hostName = "";
  #serverMinor = 0;
  // Created on first use: most channels of a large batch never need them.
  #connCbs: Set<(connected: boolean) => void> | undefined;
  #accessCbs: Set<(a: AccessRights) => void> | undefined;
  #waiters: Set<Waiter> | undefined;
  #subs: Set<Subscription> | undefined;
  /**
   * Operations in flight, so close and disconnect find them without a scan: the
   * usual single one in a slot, more in a set.
   */
  #op: Operation | undefined;
  #moreOps: Set<Operation> | undefined;
  /** Batch connection waits: the usual single one in a slot, more in a list. */
  #connectWait: ConnectWait | undefined;
  #moreConnectWaits: ConnectWait[] | undefined;

  /** @internal Use {@link CaContext.channel}. */
  constructor(host: ChannelHost, name: string, cid: number, priority: number) {
    this.#host = host;
    this.name = name;
    this.cid = cid;
    this.priority = priority;
  }

  /** Where the channel is in its life. */
  get state(): ChannelState {
    return this.#state;
  }

  /** Native DBR value type 0..6 (-1 before the first connection). */
  get nativeType(): number {
    return this.#nativeType;
  }

  /** Native element count (0 before the first connection). */
  get count(): number {
    return this.#count;
  }

  /** Current access rights (both false while not connected). */
  get access(): AccessRights {
    return { ...this.#access };
  }

  /** "ip:port" of the server ("" before the first connection). */
  get host(): string {
    return this.#hostName;
  }

  /** The server's CA minor protocol version (0 before the first connection). */
  get serverMinor(): number {
    return this.#serverMinor;
  }

  /** The SID on the current circuit. @internal */
  get _sid(): number | undefined {
    return this.#sid;
  }

  /**
   * Waits until the channel is connected.
   * @param timeoutSec seconds to wait (default 5)
   * @returns when connected
   * @throws {ChannelNotFoundError} when no server answered the search in time
   * @throws {TimeoutError} when a server answered but the channel did not connect in time
   * @throws {DisconnectedError} when the channel is closed meanwhile
   */
  connected(timeoutSec = DEFAULT_TIMEOUT): Promise<void> {
    if (this.#state === "connected") return Promise.resolve();
    if (this.#state === "closed") {
      return Promise.reject(new DisconnectedError(`Channel "${this.name}" is closed`));
    }
    return new Promise((resolve, reject) => {
      const waiters = this.#waiters ??= new Set();
      const w: Waiter = {
        resolve,
        reject,
        deadline: this.#host.addDeadline(performance.now() + timeoutSec * 1000, () => {
          waiters.delete(w);
          const cause = new TimeoutError(
            `Cannot connect to "${this.name}" within ${timeoutSec} s`,
          );
          reject(
            this.#circuit ? cause : new ChannelNotFoundError(this.name, { cause }),
          );
        }),
      };
      waiters.add(w);
    });
  }

  /**
   * Registers a connection callback.
   * @param cb called with true on every connect and false on every disconnect
   * @returns a function that removes the callback
   */
  onConnection(cb: (connected: boolean) => void): () => void {
    const cbs = this.#connCbs ??= new Set();
    cbs.add(cb);
    return () => cbs.delete(cb);
  }

  /**
   * Registers an access-rights callback.
   * @param cb called with the rights whenever the server sends them
   * @returns a function that removes the callback
   */
  onAccessRights(cb: (a: AccessRights) => void): () => void {
    const cbs = this.#accessCbs ??= new Set();
    cbs.add(cb);
    return () => cbs.delete(cb);
  }

  async #ready(deadline: number): Promise<VirtualCircuit> {
    if (this.#state !== "connected") {
      await this.connected(Math.max(0, (deadline - performance.now()) / 1000));
    }
    return this.#circuit!;
  }

  #checkSize(dbrType: number, count: number, what: string): void {
    const max = this.#host.maxArrayBytes;
    if (max !== undefined && dbrPayloadSize(dbrType, count) > max) {
      throw new CaStatusError(
        `Cannot ${what} "${this.name}": ${count} elements exceed EPICS_CA_MAX_ARRAY_BYTES (${max})`,
        Eca.TOLARGE,
      );
    }
  }

  /**
   * Joins a batch connection wait.
   * @returns true when the channel is not connected yet (the wait counts it)
   * @internal
   */
  _addConnectWait(w: ConnectWait): boolean {
    if (this.#state === "connected") return false;
    if (!this.#connectWait) this.#connectWait = w;
    else (this.#moreConnectWaits ??= []).push(w);
    return true;
  }

  /** Leaves a batch connection wait that ended. @internal */
  _dropConnectWait(w: ConnectWait): void {
    const more = this.#moreConnectWaits;
    if (this.#connectWait === w) this.#connectWait = more?.shift();
    else if (more) {
      const i = more.indexOf(w);
      if (i >= 0) more.splice(i, 1);
    }
    if (more && !more.length) this.#moreConnectWaits = undefined;
  }

  /** Registers an operation in flight and, without a batch, its own timeout. */
  #track(op: Operation, c: VirtualCircuit, deadline: number | undefined): void {
    if (deadline !== undefined) {
      op.deadline = this.#host.addDeadline(deadline, () => op.expire());
    }
    if (!this.#op) this.#op = op;
    else (this.#moreOps ??= new Set()).add(op);
    c.pending.set(op.ioid, op);
  }

  /** An operation finished (reply, error, timeout or disconnect). @internal */
  _opDone(op: Operation): void {
    if (this.#op === op) this.#op = undefined;
    else this.#moreOps?.delete(op);
    if (op.deadline) {
      this.#host.cancelDeadline(op.deadline);
      op.deadline = undefined;
    }
  }

  /**
   * Fails every operation in flight on this channel.
   * @param error makes the error for each
   * @internal
   */
  _failOps(error: () => Error): void {
    const ops: Operation[] = [];
    if (this.#op) ops.push(this.#op);
    if (this.#moreOps) ops.push(...this.#moreOps);
    for (const op of ops) op.reject(error());
  }

  /**
   * Reads the channel (READ_NOTIFY). Waits for the connection first if needed.
   * @param opts DBR type (default: native plain type), count (default: native count;
   *   0 = as many as the server has) and timeout in seconds (default 5)
   * @returns the DBR type, element count and data received
   * @throws {CaStatusError} when the server answers with an error status
   * @throws {TimeoutError} when no answer came in time
   * @throws {DisconnectedError} when the circuit went away meanwhile
   */
  get(
    opts: { dbrType?: number; count?: number; timeoutSec?: number } = {},
  ): Promise<ChannelData> {
    const timeoutSec = opts.timeoutSec ?? DEFAULT_TIMEOUT;
    const deadline = performance.now() + timeoutSec * 1000;
    if (this.#state !== "connected") {
      return this.#ready(deadline).then((c) =>
        new Promise<ChannelData>((resolve, reject) =>
          this.#read(c, opts, timeoutSec, deadline, resolve, reject)
        )
      );
    }
    const c = this.#circuit!;
    return new Promise<ChannelData>((resolve, reject) =>
      this.#read(c, opts, timeoutSec, deadline, resolve, reject)
    );
  }

  /**
   * Reads into a slot of a batch: the batch's timeout covers it. A channel not yet
   * connected waits for its connection within the same time. @internal
   */
  _readInto(
    batch: ReadBatch,
    index: number,
    opts: { dbrType?: number; count?: number; timeoutSec?: number },
    deadline: number,
  ): void {
    if (this.#state !== "connected") {
      this.get({ ...opts, timeoutSec: Math.max(0, (deadline - performance.now()) / 1000) })
        .then((v) => batch.settle(index, v), (e) => batch.settle(index, e));
      return;
    }
    try {
      this.#read(
        this.#circuit!,
        opts,
        opts.timeoutSec ?? DEFAULT_TIMEOUT,
        undefined,
        undefined,
        undefined,
        batch,
        index,
      );
    } catch (e) {
      batch.settle(index, e as Error);
    }
  }

  /** Sends READ_NOTIFY; throws (before sending) when the read cannot be made. */
  #read(
    c: VirtualCircuit,
    opts: { dbrType?: number; count?: number },
    timeoutSec: number,
    deadline: number | undefined,
    resolve: ((v: ChannelData) => void) | undefined,
    reject: ((e: Error) => void) | undefined,
    batch?: ReadBatch,
    index?: number,
  ): void {
    const dataType = opts.dbrType ?? this.#nativeType;
    dbrInfo(dataType);
    let count = opts.count ?? this.#count;
    if (count === 0 && c.state.serverMinor < 13) count = this.#count;
    if (!this.#access.read) {
      throw new CaStatusError(`Cannot read "${this.name}": no read access`, Eca.NORDACCESS);
    }
    this.#checkSize(dataType, count || this.#count, "read");
    const ioid = this.#host.nextIoid();
    const op = new Operation(
      this,
      "read",
      ioid,
      c,
      timeoutSec,
      resolve as ((v: ChannelData | undefined) => void) | undefined,
      reject,
      batch,
      index,
    );
    this.#track(op, c, deadline);
    batch?.ops.push(op);
    c.state.read({ sid: this.#sid!, ioid, dataType, count });
    c.flushSoon();
  }

  /**
   * Writes the channel. With `wait` it sends WRITE_NOTIFY and resolves when the server
   * reports completion; without, it sends WRITE and resolves once queued (a refusal is
   * reported to {@link onError}, else to the logger).
   * @param value a number, text, an array of either, or typed DBR values
   * @param opts DBR type to send (default: chosen from the value and native type),
   *   wait for completion, timeout in seconds (default 5)
   * @throws {CaStatusError} when the server refuses the put (wait) or access is denied
   * @throws {TimeoutError} when completion did not come in time
   * @throws {DisconnectedError} when the circuit went away meanwhile
   */
  async put(
    value: PutValue,
    opts: { dbrType?: number; wait?: boolean; timeoutSec?: number } = {},
  ): Promise<void> {
    const timeoutSec = opts.timeoutSec ?? DEFAULT_TIMEOUT;
    const deadline = performance.now() + timeoutSec * 1000;
    const c = this.#state === "connected" ? this.#circuit! : await this.#ready(deadline);
    if (!this.#access.write) {
      throw new CaStatusError(`Cannot write "${this.name}": no write access`, Eca.NOWTACCESS);
    }
    const p = preparePut(value, this.#nativeType, this.#count, opts.dbrType);
    if (p.count > this.#count && this.#count > 0 && p.dbrType !== 4) {
      throw new LocalProtocolError(
        `Cannot write ${p.count} elements to "${this.name}": it holds ${this.#count}`,
      );
    }
    this.#checkSize(p.dbrType, p.count, "write");
    const data: DbrData = { value: p.value, meta: { status: 0, severity: 0 } };
    if (!opts.wait) {
      c.state.write({ sid: this.#sid!, cid: this.cid, dataType: p.dbrType, count: p.count, data });
      c.flushSoon();
      return;
    }
    const ioid = this.#host.nextIoid();
    await new Promise<ChannelData | undefined>((resolve, reject) => {
      this.#track(new Operation(this, "write", ioid, c, timeoutSec, resolve, reject), c, deadline);
      c.state.writeNotify({ sid: this.#sid!, ioid, dataType: p.dbrType, count: p.count, data });
      c.flushSoon();
    });
  }

  /**
   * Subscribes to updates (EVENT_ADD). The subscription is re-established by itself
   * after every reconnect, until cancelled or the channel is closed.
   * @param opts DBR type, count and DBE mask
   * @param cb called with each update, or with `{ error }` when the server reports one
   * @returns a handle to cancel the subscription
   */
  subscribe(opts: SubscribeOptions, cb: (u: MonitorUpdate) => void): Subscription {
    if (this.#state === "closed") {
      throw new DisconnectedError(`Cannot subscribe to "${this.name}": the channel is closed`);
    }
    if (opts.dbrType !== undefined) dbrInfo(opts.dbrType);
    const s = new Subscription(this, { ...opts }, cb, this.#host.logger);
    (this.#subs ??= new Set()).add(s);
    if (this.#state === "connected") {
      s._activate(this.#circuit!, this.#host.nextSubid(), this.#nativeType, this.#count);
    }
    return s;
  }

  /** @internal */
  _unsubscribe(s: Subscription): void {
    if (!this.#subs?.delete(s)) return;
    s._deactivate(this.#circuit, this.#sid);
  }

  /** Closes the channel: cancels its subscriptions and releases it on the server. */
  close(): Promise<void> {
    this.#close(true);
    return Promise.resolve();
  }

  /**
   * Closes the channel because its context is closing: the circuits go away with the
   * context, so nothing is sent to the server for it. @internal
   */
  _closeWithContext(): void {
    this.#close(false);
  }

  #close(release: boolean): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    const c = this.#circuit;
    this.#circuit = undefined;
    if (this.#subs) {
      for (const s of this.#subs) {
        s.cancelled = true;
        if (c && s.subid !== undefined && c.subscriptions.get(s.subid) === s) {
          c.subscriptions.delete(s.subid);
        }
      }
      this.#subs.clear();
    }
    this._failOps(() => new DisconnectedError(`Channel "${this.name}" was closed`));
    if (release) {
      this.#host.stopSearch(this);
      c?.removeChannel(this, this.#sid);
    }
    this.#sid = undefined;
    if (this.#waiters?.size) {
      this.#failWaiters(new DisconnectedError(`Channel "${this.name}" was closed`));
    }
    this.#connCbs = undefined;
    this.#accessCbs = undefined;
    if (release) this.#host.channelClosed(this);
  }

  #failWaiters(e: Error): void {
    const waiters = this.#waiters;
    if (!waiters) return;
    this.#waiters = undefined;
    for (const w of waiters) {
      this.#host.cancelDeadline(w.deadline);
      w.reject(e);
    }
  }

  // ---- called by the context and the circuit --------------------------------------

  /** A server answered the search; the channel now waits for CREATE_CHAN. @internal */
  /** "ip:port" of the circuit the channel was assigned to, if any. @internal */
  get _circuitAddress(): string | undefined {
    return this.#circuit && !this.#circuit.closed ? this.#circuit.address : undefined;
  }

  /** @internal */
  _found(c: VirtualCircuit): void {
    if (this.#state === "closed") return;
    this.#circuit = c;
    c.addChannel(this);
  }

  /** @internal */
  _accessRights(rights: number): void {
    const a = { read: (rights & 1) !== 0, write: (rights & 2) !== 0 };
    this.#access = a;
    if (!this.#accessCbs?.size) return;
    for (const cb of [...this.#accessCbs]) this.#call(() => cb({ ...a }));
  }

  /** CREATE_CHAN succeeded. @internal */
  _created(c: VirtualCircuit, sid: number, dataType: number, count: number): void {
    if (this.#state === "closed") return;
    this.#circuit = c;
    this.#sid = sid;
    this.#nativeType = dataType;
    this.#count = count;
    this.#hostName = c.address;
    this.#serverMinor = c.state.serverMinor;
    this.#state = "connected";
    if (this.#subs) {
      for (const s of this.#subs) s._activate(c, this.#host.nextSubid(), dataType, count);
    }
    const waiters = this.#waiters;
    if (waiters) {
      this.#waiters = undefined;
      for (const w of waiters) {
        this.#host.cancelDeadline(w.deadline);
        w.resolve();
      }
    }
    const wait = this.#connectWait;
    if (wait) {
      const more = this.#moreConnectWaits;
      this.#connectWait = this.#moreConnectWaits = undefined;
      wait.connected();
      if (more) { for (const g of more) g.connected(); }
    }
    if (this.#connCbs?.size) {
      for (const cb of [...this.#connCbs]) this.#call(() => cb(true));
    }
  }

  /**
   * The channel lost its server (circuit gone, SERVER_DISCONN, CREATE_CH_FAIL): search
   * again. @internal
   */
  _lost(createFailed: boolean): void {
    if (this.#state === "closed") return;
    const was = this.#state === "connected";
    const c = this.#circuit;
    this.#circuit = undefined;
    this.#sid = undefined;
    if (this.#subs) {
      for (const s of this.#subs) {
        if (c && s.subid !== undefined && c.subscriptions.get(s.subid) === s) {
          c.subscriptions.delete(s.subid);
        }
        s.subid = undefined;
      }
    }
    if (was) {
      this.#state = "disconnected";
      this.#access = NO_ACCESS;
    }
    // A refused create is retried later rather than hammering the server.
    this.#host.startSearch(this, createFailed ? 1 : 0);
    if (was && this.#connCbs?.size) {
      for (const cb of [...this.#connCbs]) this.#call(() => cb(false));
    }
  }

  /** A WRITE was refused. @internal */
  _writeFailed(e: CaStatusError): boolean {
    if (!this.onError) return false;
    this.#call(() => this.onError!(e));
    return true;
  }

  #call(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.#host.logger.error(`callback for "${this.name}" threw: ${(e as Error).message}`);
    }
  }
}
