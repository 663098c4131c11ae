/**
 * SharedPV: a PV whose value lives in this process. Scripts create one, `post()` new
 * values, and hand it to `serve()`; both protocol servers read and write it.
 * @module
 */

import { stampNow } from "../core/clock.ts";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { LocalProtocolError, PutRefusedError } from "../core/errors.ts";
import { epicsTimeFromMillis, type EpicsTimeStamp } from "../core/time.ts";
import { coerceValue, isNumericType, newNumericArray } from "./coerce.ts";
import { packedArray } from "./_slab.ts";
import {
  EMPTY_ALARM,
  EMPTY_CONTROL,
  EMPTY_DISPLAY,
  EMPTY_VALUE_ALARM,
  PUT_DONE,
  type PutContext,
  PvChange,
  type PvListener,
  type PvNdArray,
  type PvNdAttribute,
  type PvSnapshot,
  type PvTableColumn,
  type PvTableValue,
  type PvTypeInfo,
  type PvValue,
  SCALAR_TYPES,
  type ScalarType,
  type ServedPv,
} from "./types.ts";

/** Alarm limits with the severities they raise (like an ai record's HIHI/HHSV...). */
export interface AlarmLimits {
  /** LOLO limit. */
  lolo?: number;
  /** LOW limit. */
  low?: number;
  /** HIGH limit. */
  high?: number;
  /** HIHI limit. */
  hihi?: number;
  /** Severity when below lolo (default MAJOR). */
  loloSeverity?: number;
  /** Severity when below low (default MINOR). */
  lowSeverity?: number;
  /** Severity when above high (default MINOR). */
  highSeverity?: number;
  /** Severity when above hihi (default MAJOR). */
  hihiSeverity?: number;
  /** Deadband the value must cross back before a limit alarm clears. */
  hysteresis?: number;
}

/** Handler called for each accepted put before the value is applied. */
export type PutHandler = (
  value: PvValue,
  ctx: PutContext,
  pv: SharedPV,
) => void | PvValue | Promise<void | PvValue>;

/** Handler of a PVA RPC call to a {@link SharedPV}: plain arguments in, plain result out. */
export type RpcHandler = (args: unknown, ctx: PutContext, pv: SharedPV) => unknown;

/** How to create a {@link SharedPV}. */
export interface SharedPVOptions {
  /** Element type: int8..float64, string, boolean, "enum", or "table" (with `table`). */
  type: ScalarType | "enum" | "table";
  /** Initial value (default 0, "", or an all-zero array). */
  value?: unknown;
  /** Makes the PV an array of at most this many elements. */
  length?: number;
  /** Engineering units (CA sends at most 7 characters). */
  units?: string;
  /** Digits after the decimal point for display. */
  precision?: number;
  /** Description (NT display.description). */
  description?: string;
  /** Display range. */
  display?: { low: number; high: number };
  /** Control range: puts outside it are refused. */
  control?: { low: number; high: number; minStep?: number };
  /** Alarm limits that set the alarm as values are posted. */
  alarm?: AlarmLimits;
  /** Enum state names (type "enum"). */
  choices?: string[];
  /** Whether clients may put (default true). */
  writable?: boolean;
  /** Called for each accepted put; may return a replacement value or throw to refuse. */
  onPut?: PutHandler;
  /** Makes the PV answer PVA RPC calls. */
  onRpc?: RpcHandler;
  /**
   * Makes a numeric array PV an N-d image (PVA NTNDArray): the dimension sizes, fastest
   * varying first (width, height). `length` defaults to their product.
   */
  ndarray?: { dimension: number[]; attributes?: PvNdAttribute[] };
  /**
   * Makes the PV a table (type "table"; PVA NTTable, not served over CA): its columns,
   * in order, and the largest number of rows (default 65536). The value is an object of
   * column arrays of equal length (default: no rows). A put may carry some columns
   * only: the others keep their elements, and every column must end up the same length.
   */
  table?: { columns: PvTableColumn[]; maxRows?: number };
  /** Clock in milliseconds since 1970 (tests inject one). */
  clock?: () => number;
}

/** Options for one {@link SharedPV.post}. */
export interface PostOptions {
  /** Time of the value (default: now). */
  timeStamp?: EpicsTimeStamp;
  /** Explicit alarm; otherwise computed from the alarm limits (or kept). */
  alarm?: { severity: number; status: number; message?: string };
  /** N-d arrays: new dimension sizes (default: unchanged). */
  dimension?: number[];
  /** N-d arrays: the array's id (default: the previous one plus 1). */
  uniqueId?: number;
  /** N-d arrays: new attributes (default: unchanged). */
  attributes?: PvNdAttribute[];
  /**
   * The caller hands the value over: a typed array of the PV's exact element type is
   * kept as it is instead of being copied, and must not be modified afterwards (other
   * values are converted as usual).
   */
  transfer?: boolean;
}

const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function tableInfo(opts: SharedPVOptions): PvTypeInfo {
  const t = opts.table;
  if (!t || t.columns.length === 0) {
    throw new LocalProtocolError('A "table" PV needs table.columns (at least one)');
  }
  const seen = new Set<string>();
  const columns = t.columns.map((c) => {
    if (!COLUMN_NAME.test(c.name)) {
      throw new LocalProtocolError(`Table column name "${c.name}" is not an identifier`);
    }
    if (seen.has(c.name)) throw new LocalProtocolError(`Table column "${c.name}" is repeated`);
    seen.add(c.name);
    if (!(SCALAR_TYPES as readonly string[]).includes(c.type)) {
      throw new LocalProtocolError(`Unknown type "${c.type}" of table column "${c.name}"`);
    }
    return { ...c };
  });
  const rows = t.maxRows ?? 65536;
  if (!Number.isInteger(rows) || rows < 1) {
    throw new LocalProtocolError(`Table maxRows must be a positive integer, got ${rows}`);
  }
  return { kind: "table", scalar: "string", maxLength: rows, columns };
}

/**
 * Plain scalar and array types, one object per distinct shape: a PV's type is never
 * modified, and thousands of PVs of one shape need not each hold a copy.
 */
const plainTypes = new Map<string, PvTypeInfo>();

function plainType(kind: "scalar" | "array", scalar: ScalarType, maxLength: number): PvTypeInfo {
  const key = `${kind} ${scalar} ${maxLength}`;
  let t = plainTypes.get(key);
  if (!t) {
    t = Object.freeze({ kind, scalar, maxLength });
    // Bounded in practice (a few element types and lengths); cleared if a program makes
    // many shapes, so the cache never grows with them.
    if (plainTypes.size >= 4096) plainTypes.clear();
    plainTypes.set(key, t);
  }
  return t;
}

function displayOf(options: SharedPVOptions): PvSnapshot["display"] {
  if (
    options.display === undefined && options.description === undefined &&
    options.units === undefined && options.precision === undefined
  ) return EMPTY_DISPLAY;
  return {
    limitLow: options.display?.low ?? 0,
    limitHigh: options.display?.high ?? 0,
    description: options.description ?? "",
    units: options.units ?? "",
    precision: options.precision ?? 0,
  };
}

function controlOf(options: SharedPVOptions): PvSnapshot["control"] {
  if (options.control === undefined) return EMPTY_CONTROL;
  return {
    limitLow: options.control.low,
    limitHigh: options.control.high,
    minStep: options.control.minStep ?? 0,
  };
}

function valueAlarmOf(options: SharedPVOptions, numeric: boolean): PvSnapshot["valueAlarm"] {
  if (options.alarm === undefined) return EMPTY_VALUE_ALARM;
  const a = options.alarm;
  return {
    active: numeric,
    lowAlarmLimit: a.lolo ?? NaN,
    lowWarningLimit: a.low ?? NaN,
    highWarningLimit: a.high ?? NaN,
    highAlarmLimit: a.hihi ?? NaN,
    lowAlarmSeverity: a.lolo === undefined ? 0 : a.loloSeverity ?? AlarmSeverity.MAJOR,
    lowWarningSeverity: a.low === undefined ? 0 : a.lowSeverity ?? AlarmSeverity.MINOR,
    highWarningSeverity: a.high === undefined ? 0 : a.highSeverity ?? AlarmSeverity.MINOR,
    highAlarmSeverity: a.hihi === undefined ? 0 : a.hihiSeverity ?? AlarmSeverity.MAJOR,
    hysteresis: a.hysteresis ?? 0,
  };
}

function typeInfo(opts: SharedPVOptions): PvTypeInfo {
  if (opts.type === "enum") return { kind: "enum", scalar: "uint16", maxLength: 1 };
  if (opts.type === "table" || opts.table) {
    if (opts.type !== "table") {
      throw new LocalProtocolError(`The table option needs type "table", not "${opts.type}"`);
    }
    return tableInfo(opts);
  }
  if (!(SCALAR_TYPES as readonly string[]).includes(opts.type)) {
    throw new LocalProtocolError(`Unknown PV type "${opts.type}"`);
  }
  if (opts.ndarray) {
    if (opts.type === "string" || opts.type === "boolean") {
      throw new LocalProtocolError(`An N-d array needs a numeric type, not "${opts.type}"`);
    }
    const n = opts.length ?? opts.ndarray.dimension.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(n) || n < 1) {
      throw new LocalProtocolError(`Array length must be a positive integer, got ${n}`);
    }
    return { kind: "array", scalar: opts.type, maxLength: n, nt: "NTNDArray" };
  }
  if (opts.length !== undefined) {
    if (!Number.isInteger(opts.length) || opts.length < 1) {
      throw new LocalProtocolError(`Array length must be a positive integer, got ${opts.length}`);
    }
    return plainType("array", opts.type, opts.length);
  }
  return plainType("scalar", opts.type, 1);
}

function defaultValue(t: PvTypeInfo): PvValue {
  if (t.kind === "table") {
    return Object.fromEntries(
      (t.columns ?? []).map((c) => [
        c.name,
        isNumericType(c.type) ? newNumericArray(c.type, 0) : [],
      ]),
    );
  }
  if (t.kind === "array") {
    if (t.scalar === "string") return [];
    if (t.scalar === "boolean") return [];
    return newNumericArray(t.scalar, 0);
  }
  if (t.scalar === "string") return "";
  if (t.scalar === "boolean") return false;
  return 0;
}

/**
 * A PV hosted by this process. Hand it to a {@link PvMap} (or `serve()`) to publish it
 * over CA and PVA; `post()` publishes new values, `subscribe()` watches them, and
 * client puts arrive through `put()` (checked against `writable`, the control range and
 * `onPut`).
 *
 * @example
 * ```ts
 * import { PvChange, SharedPV } from "./mod.ts";
 * const pv = new SharedPV("demo:temp", { type: "float64", units: "C", precision: 1 });
 * const seen: number[] = [];
 * const stop = pv.subscribe((snap, changes) => {
 *   if (changes & PvChange.VALUE) seen.push(snap.value as number);
 * });
 * pv.post(21.5);
 * await pv.put("22", { protocol: "local", user: "me", host: "here" }); // converted to 22
 * stop();
 * pv.post(23);
 * if (seen.join() !== "21.5,22" || pv.value !== 23) throw new Error();
 * ```
 */
export class SharedPV implements ServedPv {
  /** The name clients use. */
  readonly name: string;
  /** The PV's fixed type. */
  readonly type: PvTypeInfo;
  #snap: PvSnapshot;
  /** Made on the first subscription (most hosted PVs never have one). */
  #listeners: Set<PvListener> | undefined;
  #writable: boolean;
  #onPut: PutHandler | undefined;
  #onRpc: RpcHandler | undefined;
  #clock: () => number;
  #limits: AlarmLimits | undefined;
  #arrayType: unknown;

  /**
   * Creates a PV.
   * @param name the PV name clients use
   * @param options type, initial value and metadata
   * @throws LocalProtocolError for an unknown type or a bad initial value
   */
  constructor(name: string, options: SharedPVOptions) {
    if (!name) throw new LocalProtocolError("A PV needs a name");
    this.name = name;
    this.type = typeInfo(options);
    this.#writable = options.writable ?? true;
    this.#onPut = options.onPut;
    this.#onRpc = options.onRpc;
    if (this.#onRpc) this.rpc = (args, ctx) => this.#rpc(args, ctx);
    this.#clock = options.clock ?? stampNow;
    this.#limits = options.alarm;
    const choices = options.type === "enum" ? [...(options.choices ?? [])] : undefined;
    if (choices && choices.length === 0) choices.push("");
    let value: PvValue;
    try {
      // An initial array is packed with other PVs' (lib/pv/_slab.ts): it is allocated
      // once, as an IOC allocates a record's buffer, and later values replace it.
      value = options.value === undefined
        ? (this.type.kind === "enum" ? 0 : defaultValue(this.type))
        : coerceValue(options.value, this.type, choices, packedArray);
    } catch (e) {
      throw new LocalProtocolError(`Cannot create PV "${name}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    const numeric = isNumericType(this.type.scalar) && this.type.kind !== "enum";
    // Metadata left unset is one shared object for all PVs (snapshots are never modified;
    // setMetadata makes new ones).
    const valueAlarm = valueAlarmOf(options, numeric);
    this.#snap = {
      value,
      alarm: this.#limitAlarm(value, EMPTY_ALARM, valueAlarm),
      timeStamp: epicsTimeFromMillis(this.#clock()),
      display: displayOf(options),
      control: controlOf(options),
      valueAlarm,
      choices,
      ndarray: options.ndarray
        ? {
          dimension: [...options.ndarray.dimension],
          uniqueId: 0,
          attributes: [...(options.ndarray.attributes ?? [])],
        }
        : undefined,
    };
  }

  /** Answers a PVA RPC call (present only when the PV was created with `onRpc`). */
  rpc?: (args: unknown, ctx: PutContext) => Promise<unknown>;

  async #rpc(args: unknown, ctx: PutContext): Promise<unknown> {
    return await this.#onRpc!(args, ctx, this);
  }

  /** The current value. */
  get value(): PvValue {
    return this.#snap.value;
  }

  /** The current state. */
  snapshot(): PvSnapshot {
    return this.#snap;
  }

  /** Registers a listener called on every update; returns the function that removes it. */
  subscribe(listener: PvListener): () => void {
    const set = this.#listeners ??= new Set();
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Number of active listeners (servers' subscriptions). */
  get listenerCount(): number {
    return this.#listeners?.size ?? 0;
  }

  /** Whether clients may write. */
  canWrite(_ctx?: PutContext): boolean {
    return this.#writable;
  }

  /**
   * Publishes a new value to every subscriber.
   * @param value the new value, converted to the PV's type
   * @param options timestamp and alarm
   * @throws PutRefusedError when the value cannot be converted
   */
  post(value: unknown, options: PostOptions = {}): void {
    const v = options.transfer && this.#ownable(value)
      ? value
      : coerceValue(value, this.type, this.#snap.choices);
    this.#apply(v, options);
  }

  /** Whether a value can be kept without conversion: an array of the exact type. */
  #ownable(value: unknown): value is PvValue {
    if (this.type.kind !== "array" || !ArrayBuffer.isView(value)) return false;
    if (!isNumericType(this.type.scalar)) return false;
    this.#arrayType ??= newNumericArray(this.type.scalar, 0).constructor;
    return value.constructor === this.#arrayType &&
      (value as unknown as ArrayLike<number>).length <= this.type.maxLength;
  }

  /**
   * Changes metadata (units, limits, choices...) and notifies with the PROPERTY change.
   * @param meta the fields to change
   */
  setMetadata(
    meta: Partial<
      Pick<
        SharedPVOptions,
        "units" | "precision" | "description" | "display" | "control" | "choices"
      >
    >,
  ): void {
    const s = this.#snap;
    const display = { ...s.display };
    if (meta.units !== undefined) display.units = meta.units;
    if (meta.precision !== undefined) display.precision = meta.precision;
    if (meta.description !== undefined) display.description = meta.description;
    if (meta.display) {
      display.limitLow = meta.display.low;
      display.limitHigh = meta.display.high;
    }
    const control = meta.control
      ? {
        limitLow: meta.control.low,
        limitHigh: meta.control.high,
        minStep: meta.control.minStep ?? s.control.minStep,
      }
      : s.control;
    const choices = meta.choices && s.choices ? [...meta.choices] : s.choices;
    this.#snap = { ...s, display, control, choices };
    this.#notify(PvChange.PROPERTY);
  }

  /** Validates and applies a client's put (see {@link ServedPv.put}). */
  put(value: unknown, ctx: PutContext): Promise<void> {
    // Everything that can happen synchronously does, so a request that follows a put on
    // the same connection (caput's read-back) sees the new value, as with an IOC record.
    // Only a handler that returns a promise defers the update.
    try {
      if (!this.canWrite(ctx)) {
        throw new PutRefusedError(`PV "${this.name}" is read-only`, "readonly");
      }
      const v = coerceValue(this.#merged(value), this.type, this.#snap.choices);
      this.#checkControl(v);
      if (!this.#onPut) {
        this.#apply(v, {});
        return PUT_DONE;
      }
      const result = this.#onPut(v, ctx, this);
      if (result instanceof Promise) {
        return result.then((r) => this.#finishPut(v, r), (e) => this.#refuse(e));
      }
      this.#finishPut(v, result);
      return PUT_DONE;
    } catch (e) {
      try {
        this.#refuse(e);
      } catch (refusal) {
        return Promise.reject(refusal);
      }
      return Promise.resolve();
    }
  }

  /** A table put may carry some columns: the others keep their current elements. */
  #merged(value: unknown): unknown {
    if (this.type.kind !== "table" || value === null || typeof value !== "object") return value;
    if (Array.isArray(value) || ArrayBuffer.isView(value)) return value;
    return { ...(this.#snap.value as PvTableValue), ...(value as Record<string, unknown>) };
  }

  #finishPut(v: PvValue, replaced: void | PvValue): void {
    const next = replaced === undefined ? v : coerceValue(replaced, this.type, this.#snap.choices);
    this.#apply(next, {});
  }

  /** Rethrows a put failure as a PutRefusedError saying why. */
  #refuse(e: unknown): never {
    if (e instanceof PutRefusedError) throw e;
    throw new PutRefusedError(`Put to "${this.name}" refused: ${(e as Error).message}`, "handler", {
      cause: e,
    });
  }

  #checkControl(v: PvValue): void {
    const { limitLow, limitHigh } = this.#snap.control;
    if (!(limitLow < limitHigh) || this.type.kind === "enum") return;
    if (!isNumericType(this.type.scalar)) return;
    const check = (x: number) => {
      if (x < limitLow || x > limitHigh) {
        throw new PutRefusedError(
          `Value ${x} is outside the control limits [${limitLow}, ${limitHigh}] of "${this.name}"`,
          "limits",
        );
      }
    };
    if (typeof v === "number") check(v);
    else if (ArrayBuffer.isView(v)) {
      const a = v as ArrayLike<number | bigint>;
      for (let i = 0; i < a.length; i++) check(Number(a[i]));
    }
  }

  #limitAlarm(
    v: PvValue,
    prev: PvSnapshot["alarm"],
    va: PvSnapshot["valueAlarm"] = this.#snap.valueAlarm,
  ): PvSnapshot["alarm"] {
    if (!this.#limits || typeof v !== "number") {
      return prev.status >= AlarmStatus.HIHI && prev.status <= AlarmStatus.LOW ? EMPTY_ALARM : prev;
    }
    const l = this.#limits;
    const hyst = l.hysteresis ?? 0;
    // A limit alarm raised before stays until the value is back by more than the hysteresis.
    const was = (status: number) => prev.status === status ? hyst : 0;
    let severity = 0;
    let status: number = AlarmStatus.NO_ALARM;
    const raise = (s: number, st: number) => {
      if (s > severity) {
        severity = s;
        status = st;
      }
    };
    if (l.hihi !== undefined && v >= l.hihi - was(AlarmStatus.HIHI)) {
      raise(va.highAlarmSeverity, AlarmStatus.HIHI);
    }
    if (l.lolo !== undefined && v <= l.lolo + was(AlarmStatus.LOLO)) {
      raise(va.lowAlarmSeverity, AlarmStatus.LOLO);
    }
    if (l.high !== undefined && v >= l.high - was(AlarmStatus.HIGH)) {
      raise(va.highWarningSeverity, AlarmStatus.HIGH);
    }
    if (l.low !== undefined && v <= l.low + was(AlarmStatus.LOW)) {
      raise(va.lowWarningSeverity, AlarmStatus.LOW);
    }
    if (severity === 0) return EMPTY_ALARM;
    return { severity, status, message: "" };
  }

  #apply(v: PvValue, options: PostOptions): void {
    const s = this.#snap;
    const alarm = options.alarm
      ? {
        severity: options.alarm.severity,
        status: options.alarm.status,
        message: options.alarm.message ?? "",
      }
      : this.#limitAlarm(v, s.alarm);
    let changes: number = PvChange.VALUE | PvChange.LOG;
    if (alarm.severity !== s.alarm.severity || alarm.status !== s.alarm.status) {
      changes |= PvChange.ALARM;
    }
    let ndarray: PvNdArray | undefined = s.ndarray;
    if (ndarray) {
      ndarray = {
        dimension: options.dimension ? [...options.dimension] : ndarray.dimension,
        uniqueId: options.uniqueId ?? ((ndarray.uniqueId + 1) | 0),
        attributes: options.attributes ? [...options.attributes] : ndarray.attributes,
      };
    }
    // Every field named, in the constructor's order: one object shape for all snapshots
    // (a spread re-derives it on each post, the hot path of array producers).
    this.#snap = {
      value: v,
      alarm,
      timeStamp: options.timeStamp ?? epicsTimeFromMillis(this.#clock()),
      display: s.display,
      control: s.control,
      valueAlarm: s.valueAlarm,
      choices: s.choices,
      ndarray,
    };
    this.#notify(changes);
  }

  #notify(changes: number): void {
    const snap = this.#snap;
    const listeners = this.#listeners;
    if (!listeners) return;
    for (const l of listeners) {
      try {
        l(snap, changes);
      } catch {
        // A failing listener must not stop the others; servers handle their own errors.
      }
    }
  }
}
