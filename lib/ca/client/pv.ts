/**
 * A pyepics-style PV object over a {@link CaChannel}: connects by itself, keeps the
 * latest value through an automatic monitor, knows its control metadata, and gives
 * values as numbers, arrays or text (enum state names, char waveforms as strings).
 * @module
 */

import { epicsTimeToMillis } from "../../core/time.ts";
import { Dbe, DBF_NAMES, type DbrValueType } from "../proto/constants.ts";
import { charsToText } from "../../core/bytes.ts";
import { formatFixed, formatShortest } from "../proto/convert.ts";
import { dbrPlainType } from "../proto/dbr.ts";
import type { DbrData, DbrMeta, DbrValues } from "../proto/dbr_types.ts";
import type { CaChannel, ChannelData, Subscription } from "./channel.ts";
import type { CaContext } from "./context.ts";
import { defaultContext } from "./default_context.ts";
import type { PutValue } from "./put_values.ts";

/** A PV value as the PV object hands it out: scalars unwrapped, arrays as received. */
export type PvValueOut = number | string | DbrValues;

/** One update passed to PV callbacks. */
export interface PvUpdate {
  /** The PV name. */
  pvname: string;
  /** The new value: a number or string for one element, else the array. */
  value: PvValueOut;
  /** The value as text (enum state name, formatted with the precision, char array text). */
  charValue: string;
  /** Number of elements received. */
  count: number;
  /** Alarm status (0: no alarm). */
  status: number;
  /** Alarm severity (0 NO_ALARM, 1 MINOR, 2 MAJOR, 3 INVALID). */
  severity: number;
  /** Seconds since 1970 (POSIX), or undefined without a time stamp. */
  timestamp: number | undefined;
}

/** A PV value callback. */
export type PvCallback = (u: PvUpdate) => void;

/** How to create a {@link PV}. */
export interface PVOptions {
  /** The context to use (default: the shared default context). */
  context?: CaContext;
  /** Keep a monitor running and cache the latest value (default true). */
  autoMonitor?: boolean;
  /** DBE mask of the automatic monitor (default DBE_VALUE | DBE_ALARM). */
  mask?: number;
  /** Elements to read and monitor (default: native count). */
  count?: number;
  /** Called with every new value. */
  callback?: PvCallback;
  /** Called on every connect (true) and disconnect (false). */
  connectionCallback?: (pvname: string, connected: boolean) => void;
}

/** Everything {@link PV.info} reports. */
export interface PvInfo {
  /** The PV name. */
  pvname: string;
  /** Whether the channel is connected now. */
  connected: boolean;
  /** `host:port` of the server. */
  host: string;
  /** "DBF_DOUBLE"... */
  nativeType: string;
  /** Native element count. */
  count: number;
  /** "read/write", "read-only", "write-only" or "none". */
  access: string;
  /** The latest value, if one was read. */
  value: PvValueOut | undefined;
  /** The latest value as text. */
  charValue: string | undefined;
  /** Alarm status of the latest value. */
  status: number | undefined;
  /** Alarm severity of the latest value. */
  severity: number | undefined;
  /** Time stamp of the latest value, seconds since 1970 (POSIX). */
  timestamp: number | undefined;
  /** Control metadata (units, limits, precision, enum strings), if read. */
  meta: DbrMeta | undefined;
}

function isCharString(ch: CaChannel): boolean {
  return ch.nativeType === 4 && ch.count > 1;
}

/**
 * Formats a value as text the way the PV's metadata suggests.
 * @param value the value array
 * @param valueType its element type 0..6
 * @param meta metadata with precision and enum strings, if known
 * @param charString treat a CHAR array as text
 * @returns the text; elements of an array are joined with spaces
 * @example
 * ```ts
 * import { valueToString } from "./pv.ts";
 * const meta = { status: 0, severity: 0, precision: 2 };
 * if (valueToString(new Float64Array([3.14159]), 6, meta, false) !== "3.14") throw new Error();
 * const states = { status: 0, severity: 0, enumStrings: ["Off", "On"] };
 * if (valueToString(new Uint16Array([1]), 3, states, false) !== "On") throw new Error();
 * if (valueToString(new Int32Array([1, 2, 3]), 5, undefined, false) !== "1 2 3") throw new Error();
 * ```
 */
export function valueToString(
  value: DbrValues,
  valueType: number,
  meta: DbrMeta | undefined,
  charString: boolean,
): string {
  if (valueType === 4 && charString) return charsToText(value as Uint8Array);
  const one = (i: number): string => {
    const v = value[i];
    if (typeof v === "string") return v;
    if (valueType === 3 && meta?.enumStrings && v < meta.enumStrings.length) {
      return meta.enumStrings[v];
    }
    if (valueType === 2 || valueType === 6) {
      return meta?.precision !== undefined && meta.precision >= 0
        ? formatFixed(v, meta.precision, valueType === 2)
        : formatShortest(v);
    }
    return String(v);
  };
  if (value.length === 1) return one(0);
  const parts: string[] = [];
  for (let i = 0; i < value.length; i++) parts.push(one(i));
  return parts.join(" ");
}

/**
 * A process variable, pyepics style.
 * @example
 * ```ts ignore
 * import { PV } from "./pv.ts";
 * const pv = new PV("T:ai", { callback: (u) => console.log(u.value) });
 * await pv.waitForConnection();
 * console.log(pv.value, pv.units, await pv.get({ asString: true }));
 * await pv.close();
 * ```
 */
export class PV implements AsyncDisposable {
  /** The PV name. */
  readonly pvname: string;
  /** The underlying channel. */
  readonly channel: CaChannel;
  readonly #opts: PVOptions;
  readonly #callbacks = new Map<number, PvCallback>();
  #nextCb = 1;
  #sub: Subscription | undefined;
  #data: ChannelData | undefined;
  #meta: DbrMeta | undefined;
  #metaPromise: Promise<void> | undefined;
  #offConn: () => void;
  #closed = false;

  /**
   * Creates the PV and starts connecting.
   * @param name the PV name
   * @param opts context (default: the shared default context), monitor, callbacks
   */
  constructor(name: string, opts: PVOptions = {}) {
    this.pvname = name;
    this.#opts = opts;
    this.channel = (opts.context ?? defaultContext()).channel(name);
    if (opts.callback) this.addCallback(opts.callback);
    this.#offConn = this.channel.onConnection((c) => {
      if (c) this.#onConnect();
      else this.#metaPromise = undefined;
      if (opts.connectionCallback) opts.connectionCallback(name, c);
    });
  }

  #onConnect(): void {
    // Read the control metadata first: its reply comes before the first monitor update
    // (one circuit, in order), so the first callback already knows precision and states.
    this.#metaPromise = this.#fetchMeta().catch(() => {});
    // The monitor uses the TIME form of the native type, known only once connected; it
    // then survives reconnects by itself.
    if (!this.#sub && (this.#opts.autoMonitor ?? true)) {
      this.#sub = this.channel.subscribe(
        {
          dbrType: dbrPlainType(this.channel.nativeType as DbrValueType, "time"),
          mask: this.#opts.mask ?? (Dbe.VALUE | Dbe.ALARM),
          count: this.#opts.count,
        },
        (u) => {
          if (!("error" in u)) this.#update(u);
        },
      );
    }
  }

  async #fetchMeta(): Promise<void> {
    const vt = this.channel.nativeType as DbrValueType;
    const r = await this.channel.get({ dbrType: dbrPlainType(vt, "ctrl"), count: 1 });
    this.#meta = r.data.meta;
  }

  #update(u: ChannelData): void {
    this.#data = u;
    if (this.#callbacks.size === 0) return;
    if (!this.#meta && this.#metaPromise) {
      // Hold the first updates until the metadata is in (in order: same promise).
      void this.#metaPromise.then(() => this.#emit(u));
      return;
    }
    this.#emit(u);
  }

  #emit(u: ChannelData): void {
    if (this.#closed) return;
    const upd = this.#makeUpdate(u);
    for (const cb of [...this.#callbacks.values()]) {
      try {
        cb(upd);
      } catch {
        // A failing user callback must not stop the others.
      }
    }
  }

  #makeUpdate(u: ChannelData): PvUpdate {
    return {
      pvname: this.pvname,
      value: this.#out(u.data),
      charValue: this.#text(u.data),
      count: u.count,
      status: u.data.meta.status,
      severity: u.data.meta.severity,
      timestamp: u.data.meta.stamp ? epicsTimeToMillis(u.data.meta.stamp) / 1000 : undefined,
    };
  }

  #out(d: DbrData): PvValueOut {
    const v = d.value;
    if (v.length === 1 && !isCharString(this.channel)) return v[0];
    return v;
  }

  #text(d: DbrData): string {
    return valueToString(d.value, this.channel.nativeType, this.#meta, isCharString(this.channel));
  }

  /** The latest value as a callback would receive it (undefined before the first one). */
  get update(): PvUpdate | undefined {
    return this.#data ? this.#makeUpdate(this.#data) : undefined;
  }

  /** True while connected. */
  get connected(): boolean {
    return this.channel.state === "connected";
  }

  /**
   * Waits for the connection (and the control metadata).
   * @param timeoutSec seconds to wait (default 5)
   * @returns true when connected, false on timeout
   */
  async waitForConnection(timeoutSec = 5): Promise<boolean> {
    try {
      await this.channel.connected(timeoutSec);
      await this.#metaPromise;
      return true;
    } catch {
      return false;
    }
  }

  /** The latest value from the monitor (undefined before the first one). */
  get value(): PvValueOut | undefined {
    return this.#data ? this.#out(this.#data.data) : undefined;
  }

  /** The latest value as text. */
  get charValue(): string | undefined {
    return this.#data ? this.#text(this.#data.data) : undefined;
  }

  /** Alarm status of the latest value. */
  get status(): number | undefined {
    return this.#data?.data.meta.status;
  }

  /** Alarm severity of the latest value. */
  get severity(): number | undefined {
    return this.#data?.data.meta.severity;
  }

  /** Time stamp of the latest value in POSIX seconds. */
  get timestamp(): number | undefined {
    const s = this.#data?.data.meta.stamp;
    return s ? epicsTimeToMillis(s) / 1000 : undefined;
  }

  /** Engineering units (from the control metadata). */
  get units(): string | undefined {
    return this.#meta?.units;
  }

  /** Display precision. */
  get precision(): number | undefined {
    return this.#meta?.precision;
  }

  /** Enum state names. */
  get enumStrs(): string[] | undefined {
    return this.#meta?.enumStrings;
  }

  /** Control metadata (limits, units, precision, enum strings) from the last connect. */
  get ctrlVars(): DbrMeta | undefined {
    return this.#meta;
  }

  /** Native element count. */
  get count(): number {
    return this.channel.count;
  }

  /** Native type name, "DBF_DOUBLE"... ("" before connecting). */
  get type(): string {
    return DBF_NAMES[this.channel.nativeType] ?? "";
  }

  /** "ip:port" of the server. */
  get host(): string {
    return this.channel.host;
  }

  /** Read access. */
  get readAccess(): boolean {
    return this.channel.access.read;
  }

  /** Write access. */
  get writeAccess(): boolean {
    return this.channel.access.write;
  }

  /**
   * Reads the value: the monitored one when available, else from the server.
   * @param opts as text, count, timeout (default 5 s), and whether a cached
   *   monitor value may be used (default true)
   * @returns the value (a scalar for one element)
   * @throws {ChannelNotFoundError} / {TimeoutError} / {CaStatusError} as CaChannel.get
   */
  async get(
    opts: { asString?: boolean; count?: number; timeoutSec?: number; useMonitor?: boolean } = {},
  ): Promise<PvValueOut> {
    const timeoutSec = opts.timeoutSec ?? 5;
    let d: ChannelData | undefined = opts.useMonitor !== false && opts.count === undefined &&
        this.connected
      ? this.#data
      : undefined;
    if (!d) {
      await this.channel.connected(timeoutSec);
      const vt = this.channel.nativeType as DbrValueType;
      d = await this.channel.get({
        dbrType: dbrPlainType(vt, "time"),
        count: opts.count ?? this.#opts.count,
        timeoutSec,
      });
      if (opts.count === undefined) this.#data = d;
    }
    if (opts.asString) {
      if (this.channel.nativeType === 3 && !this.#meta) await this.#metaPromise;
      return this.#text(d.data);
    }
    return this.#out(d.data);
  }

  /**
   * Writes a value.
   * @param value number, text (enum state names too), array or typed values
   * @param opts wait for completion, timeout in seconds (default 5; 60 with wait)
   * @throws {CaStatusError} / {TimeoutError} as CaChannel.put
   */
  async put(value: PutValue, opts: { wait?: boolean; timeoutSec?: number } = {}): Promise<void> {
    await this.channel.put(value, {
      wait: opts.wait,
      timeoutSec: opts.timeoutSec ?? (opts.wait ? 60 : 5),
    });
  }

  /**
   * Reads the control metadata again from the server.
   * @param timeoutSec seconds to wait (default 5)
   * @returns units, precision, limits, enum strings
   */
  async getCtrlVars(timeoutSec = 5): Promise<DbrMeta> {
    await this.channel.connected(timeoutSec);
    this.#metaPromise = this.#fetchMeta();
    await this.#metaPromise;
    return this.#meta!;
  }

  /**
   * Adds a value callback.
   * @param cb called with every update
   * @returns an index for {@link removeCallback}
   */
  addCallback(cb: PvCallback): number {
    const i = this.#nextCb++;
    this.#callbacks.set(i, cb);
    return i;
  }

  /**
   * Removes a value callback.
   * @param index what addCallback returned
   */
  removeCallback(index: number): void {
    this.#callbacks.delete(index);
  }

  /** Removes every value callback. */
  clearCallbacks(): void {
    this.#callbacks.clear();
  }

  /**
   * Registers a connection callback.
   * @param cb called with true/false on connect/disconnect
   * @returns a function that removes it
   */
  onConnection(cb: (connected: boolean) => void): () => void {
    return this.channel.onConnection(cb);
  }

  /**
   * Everything known about the PV (connects and reads first).
   * @param timeoutSec seconds to wait (default 5)
   * @returns the description
   */
  async info(timeoutSec = 5): Promise<PvInfo> {
    const ok = await this.waitForConnection(timeoutSec);
    let value: PvValueOut | undefined;
    if (ok) {
      await this.getCtrlVars(timeoutSec).catch(() => {});
      value = await this.get({ timeoutSec, useMonitor: false }).catch(() => undefined);
    }
    const a = this.channel.access;
    return {
      pvname: this.pvname,
      connected: ok,
      host: this.host,
      nativeType: this.type,
      count: this.count,
      access: a.read ? (a.write ? "read/write" : "read-only") : (a.write ? "write-only" : "none"),
      value,
      charValue: value === undefined ? undefined : this.charValue,
      status: this.status,
      severity: this.severity,
      timestamp: this.timestamp,
      meta: this.#meta,
    };
  }

  /** Stops the monitor and closes the channel. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#offConn();
    this.#sub?.cancel();
    this.#callbacks.clear();
    await this.channel.close();
  }

  /** Same as {@link PV.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
