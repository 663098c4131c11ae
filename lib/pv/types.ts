/**
 * The in-memory PV model every server serves. It is Normative-Type first: a PV's state
 * is a value plus alarm, timeStamp, display, control and valueAlarm, exactly the NT
 * fields; Channel Access sees a projection of it.
 * @module
 */

import type { EpicsTimeStamp } from "../core/time.ts";

/** Element types a PV value can have. */
export const SCALAR_TYPES = [
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "float32",
  "float64",
  "string",
  "boolean",
] as const;
/** One element type. */
export type ScalarType = typeof SCALAR_TYPES[number];

/**
 * The kinds of value a PV can hold. A "table" (PVA NTTable) has named columns, each an
 * array of one element type, all of the same length; Channel Access does not serve it.
 */
export type PvKind = "scalar" | "array" | "enum" | "table" | "structure";

/**
 * What one member of a structure PV holds (PVA serves it as a field of the top structure):
 * - `value`: a bare scalar or array;
 * - `any`: a variant union holding a scalar or an array;
 * - `pv`: a whole PV of `type`, served as that protocol serves such a PV (PVA: its NTScalar,
 *   NTEnum or NTScalarArray); its value is that PV's {@link PvSnapshot};
 * - `alarm`, `timeStamp`: a PV's alarm or time alone (its value is the PV's snapshot);
 * - `structure`: a sub-structure of further members.
 */
export type PvMemberType =
  | { readonly kind: "value"; readonly scalar: ScalarType; readonly array: boolean }
  | { readonly kind: "any" }
  | { readonly kind: "pv"; readonly type: PvTypeInfo }
  | { readonly kind: "alarm" }
  | { readonly kind: "timeStamp" }
  | { readonly kind: "structure"; readonly id?: string; readonly members: readonly PvMember[] };

/** One named member of a structure PV. */
export interface PvMember {
  /** Member name (a PVA field name). */
  readonly name: string;
  /** What it holds. */
  readonly type: PvMemberType;
}

/** The content of an `any` member: a scalar or an array of one element type, or null. */
export type PvAnyValue = {
  readonly scalar: ScalarType;
  readonly array: boolean;
  readonly value: number | string | boolean | NumericArray | string[];
} | null;

/**
 * A structure PV's value: member name -> content (`value` members their scalar or array,
 * `any` a {@link PvAnyValue}, `pv`/`alarm`/`timeStamp` a {@link PvSnapshot}, `structure`
 * a nested object of the same form).
 */
export type PvStructValue = { readonly [member: string]: unknown };

/** One column of a table PV. */
export interface PvTableColumn {
  /** Member name (NTTable `value.<name>`): a letter or "_", then letters, digits, "_". */
  name: string;
  /** Element type of the column. */
  type: ScalarType;
  /** Heading (NTTable `labels`; default: the name). */
  label?: string;
}

/** Numeric arrays are typed arrays; strings and booleans are plain arrays. */
export type NumericArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** A table's value: column name -> its elements, every column the same length. */
export type PvTableValue = Readonly<Record<string, NumericArray | string[] | boolean[]>>;

/**
 * A PV's value. Scalars: number (every numeric type, int64 included), string, boolean.
 * Arrays: a typed array for numeric elements, string[] or boolean[] otherwise.
 * Enums: the index (the choices live in {@link PvSnapshot.choices}).
 * Tables: an object of column arrays ({@link PvTableValue}).
 */
export type PvValue =
  | number
  | string
  | boolean
  | NumericArray
  | string[]
  | boolean[]
  | PvTableValue
  | PvStructValue;

/** The fixed shape of a PV: what it holds and how much of it. */
export interface PvTypeInfo {
  /** What the value is: one element, an array, an enum or a table. */
  kind: PvKind;
  /** Element type; "int16"-backed index for enums; "string" (unused) for tables. */
  scalar: ScalarType;
  /**
   * For arrays, the largest number of elements (CA's native count); for tables, the
   * largest number of rows. 1 for scalars and enums.
   */
  maxLength: number;
  /** The members of a structure PV (kind "structure" only), in order. */
  members?: readonly PvMember[];
  /** A structure PV's type ID (kind "structure"; PVA's structure id, "" for none). */
  id?: string;
  /** The columns of a table (kind "table" only), in order. */
  columns?: readonly PvTableColumn[];
  /**
   * Set to "NTNDArray" for an N-dimensional image (kind "array"): PVA serves it as an
   * NTNDArray with {@link PvSnapshot.ndarray} as its shape; CA sees the flat array.
   */
  nt?: "NTNDArray";
  /**
   * A uint8 array that holds text (a long-string char waveform): a CA DBR_STRING write
   * carries the text itself, as `caput` without `-S` sends it, instead of a number.
   */
  text?: boolean;
  /**
   * An IOC link field served as its text: CA reads it as DBR_DOUBLE as NaN (with NaN alarm
   * limits), as DBR_CHAR as 0, and refuses the other numeric types, as EPICS base's IOC does.
   */
  link?: boolean;
  /**
   * The PV reads a number from text itself (an IOC field: base's dbPut rules, range checks
   * included): a CA DBR_STRING write to one element of a numeric scalar reaches `put` as
   * the string, not as a number the CA server parsed.
   */
  parsesText?: boolean;
  /**
   * How PVA lays the PV out: "qsrv" as EPICS base's QSRV (softIocPVA) serves IOC channels
   * (double limits, `control_t` and `valueAlarm_t` ids, no display on NTEnum, alarm.message
   * "NO_ALARM", whole-structure initial updates...; lib/pva/nt/qsrv.ts). Absent: pvxs's
   * layout (lib/pva/nt/scalar.ts). CA ignores it.
   */
  layout?: "qsrv";
}

/** One attribute of an N-d array (NTAttribute inside NTNDArray). */
export interface PvNdAttribute {
  /** Attribute name (NTAttribute name), e.g. "ColorMode". */
  name: string;
  /** Attribute value. */
  value: number | string | boolean;
  /** What the attribute means. */
  descriptor?: string;
  /** Where the attribute came from. */
  source?: string;
}

/** The shape and bookkeeping of an N-d array value (NTNDArray fields besides value). */
export interface PvNdArray {
  /** Size of each dimension, fastest varying first (width, height, ...). */
  dimension: readonly number[];
  /** Counter that changes with each new array. */
  uniqueId: number;
  /** Time the data was taken (default: the PV's timeStamp). */
  dataTimeStamp?: Readonly<EpicsTimeStamp>;
  /** Attributes sent along with the array. */
  attributes: readonly PvNdAttribute[];
}

/** Alarm state, as NT alarm_t holds it (severity and CA-style condition code). */
export interface PvAlarm {
  /** 0 NO_ALARM, 1 MINOR, 2 MAJOR, 3 INVALID. */
  severity: number;
  /** CA alarm condition code (lib/core AlarmStatus): HIHI, LOW, UDF, ... */
  status: number;
  /** Free text; defaults to the condition name when empty. */
  message: string;
}

/** Display metadata (NT display_t). */
export interface PvDisplay {
  /** Lowest value a display should show. */
  limitLow: number;
  /** Highest value a display should show. */
  limitHigh: number;
  /** What the PV is (the record's DESC). */
  description: string;
  /** Engineering units (CA sends at most 7 characters). */
  units: string;
  /** Digits after the decimal point. */
  precision: number;
  /**
   * How a display should format the value: an index into PVA's display.form choices
   * (0 Default, 1 String, 2 Binary, 3 Decimal, 4 Hex, 5 Exponential, 6 Engineering), as an
   * IOC's `info(Q:form, ...)` sets it. Absent: 0.
   */
  form?: number;
}

/** Control metadata (NT control_t): puts outside [limitLow, limitHigh] are refused when limitLow < limitHigh. */
export interface PvControl {
  /** Lowest value a put may set. */
  limitLow: number;
  /** Highest value a put may set (no limits when not above limitLow). */
  limitHigh: number;
  /** Smallest step a control should make. */
  minStep: number;
}

/** Alarm limits (NT valueAlarm_t); NaN means "no such limit". */
export interface PvValueAlarm {
  /** Whether the limits below set the alarm. */
  active: boolean;
  /** LOLO: at or below it, lowAlarmSeverity. */
  lowAlarmLimit: number;
  /** LOW: at or below it, lowWarningSeverity. */
  lowWarningLimit: number;
  /** HIGH: at or above it, highWarningSeverity. */
  highWarningLimit: number;
  /** HIHI: at or above it, highAlarmSeverity. */
  highAlarmLimit: number;
  /** Severity below LOLO (MAJOR by default). */
  lowAlarmSeverity: number;
  /** Severity below LOW (MINOR by default). */
  lowWarningSeverity: number;
  /** Severity above HIGH (MINOR by default). */
  highWarningSeverity: number;
  /** Severity above HIHI (MAJOR by default). */
  highAlarmSeverity: number;
  /** Deadband the value must cross back before a limit alarm clears. */
  hysteresis: number;
}

/** An immutable picture of a PV at one moment. Servers encode from these. */
export interface PvSnapshot {
  /** The value. */
  readonly value: PvValue;
  /** Alarm severity, condition and message. */
  readonly alarm: Readonly<PvAlarm>;
  /** When the value was taken (EPICS epoch). */
  readonly timeStamp: Readonly<EpicsTimeStamp>;
  /** Display metadata. */
  readonly display: Readonly<PvDisplay>;
  /** Control limits. */
  readonly control: Readonly<PvControl>;
  /** Alarm limits. */
  readonly valueAlarm: Readonly<PvValueAlarm>;
  /** Enum state strings (enums only). */
  readonly choices?: readonly string[];
  /**
   * An enum's value as text, where the server says it otherwise than `choices[index]` (an
   * IOC's get_enum_str: "Illegal Value" past the states, "" for a state with no string);
   * what CA's DBR_STRING reads. Absent: the choice, or the index as a number.
   */
  readonly enumText?: string;
  /** Shape of an N-d array (type.nt "NTNDArray" only). */
  readonly ndarray?: Readonly<PvNdArray>;
  /**
   * Structure PVs: what an update marks, as member path ("a.b") -> the PvChange bits of
   * that member (VALUE: its value, alarm and time; ALARM; PROPERTY: its metadata). Absent:
   * everything (a get, an initial update).
   */
  readonly changed?: ReadonlyMap<string, number>;
}

/** Change classes, with the values of CA's DBE mask bits. */
export const PvChange = { VALUE: 1, LOG: 2, ALARM: 4, PROPERTY: 8 } as const;

/**
 * What {@link ServedPv.put} may return when the put has already completed (the usual
 * case): a server that has nothing to answer on success (a CA WRITE) sees it is done and
 * skips waiting for the promise, which at 100,000s of puts a second is most of its cost.
 */
export const PUT_DONE: Promise<void> = Promise.resolve();

/** Who is putting: passed to access checks and put handlers. */
export interface PutContext {
  /** The protocol the request came in by. */
  protocol: "ca" | "pva" | "local";
  /** The client's user name (CA CLIENT_NAME, PVA "ca" authentication). */
  user: string;
  /** The client's host name. */
  host: string;
}

/** Called on each update with the new snapshot and the PvChange bits that changed. */
export type PvListener = (snapshot: PvSnapshot, changes: number) => void;

/** What a server needs from a PV. SharedPV implements it; IOC records will too. */
export interface ServedPv {
  /** The name clients use. */
  readonly name: string;
  /** The PV's fixed type. */
  readonly type: PvTypeInfo;
  /**
   * Optional: the record a channel is a field of (IOC channels). CA error replies name it,
   * as RSRV names the record, not the channel; others name the PV.
   */
  readonly recordName?: string;
  /** The current state. */
  snapshot(): PvSnapshot;
  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: PvListener): () => void;
  /**
   * Optional: opens a monitor whose updates the PV chooses itself (an IOC channel with
   * filters: deadbands, decimation). The listener hears the first update (the current
   * state, or nothing when the PV drops it) before this returns, then each update within
   * `mask` (PvChange bits) the PV passes, with the bits it passes it with. Servers use it,
   * where present, instead of {@link ServedPv.subscribe} plus a snapshot. Returns the
   * function that closes the monitor.
   */
  monitor?(mask: number, listener: PvListener): () => void;
  /** Whether `ctx` may write. */
  canWrite(ctx?: PutContext): boolean;
  /**
   * Optional: whether `ctx` may read (get, monitor). Absent means everyone may read.
   * Servers ask once per channel, when it is created.
   */
  canRead?(ctx?: PutContext): boolean;
  /**
   * Optional: registers a listener told when this PV's access rights may have changed at run
   * time (an access security input changed, rules were reloaded, the record's ASG was
   * written). Servers then ask {@link ServedPv.canRead} and {@link ServedPv.canWrite} again
   * and tell each client whose rights changed (CA: a new ACCESS_RIGHTS message). Returns the
   * function that removes the listener.
   */
  watchAccess?(listener: () => void): () => void;
  /**
   * Validates and applies a put. Resolves when the put has completed; rejects with
   * PutRefusedError (lib/core) saying why when it is refused, leaving the value unchanged.
   * A put that completed before returning may return {@link PUT_DONE}.
   */
  put(value: unknown, ctx: PutContext): Promise<void>;
  /**
   * Optional: told of a put the server refused before calling {@link ServedPv.put} (no
   * write access, data that cannot be converted), so put logs see every refusal.
   */
  putRefused?(value: unknown, ctx: PutContext, reason: string): void;
  /**
   * Optional alarm acknowledgement (CA DBR_PUT_ACKT / DBR_PUT_ACKS): "ACKT" sets whether
   * transient alarms need acknowledging, "ACKS" acknowledges severities up to `value`.
   * Throws PutRefusedError (lib/core) when refused. PVs without it accept and ignore both.
   */
  acknowledgeAlarm?(what: "ACKT" | "ACKS", value: number, ctx: PutContext): void;
  /**
   * Optional remote procedure call (PVA RPC). `args` is the caller's argument structure
   * as plain content (NTURI arguments keep their `query` member); the result is plain
   * content (objects become structures) or a value the protocol already understands.
   * Rejecting refuses the call with the error's message.
   */
  rpc?(args: unknown, ctx: PutContext): Promise<unknown>;
}

/** Name lookup shared by the CA and PVA servers. */
export interface PvProvider {
  /** Finds a hosted PV by name. */
  lookup(name: string): ServedPv | undefined;
  /** The hosted names (for listings and tests). */
  names(): Iterable<string>;
}

/** The alarm of a PV that is not in alarm (frozen and shared: snapshots are never modified). */
export const EMPTY_ALARM: PvSnapshot["alarm"] = Object.freeze({
  severity: 0,
  status: 0,
  message: "",
});
/** Metadata of a PV that has none (frozen, shared by all such PVs). */
export const EMPTY_CONTROL: PvSnapshot["control"] = Object.freeze({
  limitLow: 0,
  limitHigh: 0,
  minStep: 0,
});
/** Alarm limits of a PV that has none. */
export const EMPTY_VALUE_ALARM: PvSnapshot["valueAlarm"] = Object.freeze({
  active: false,
  lowAlarmLimit: NaN,
  lowWarningLimit: NaN,
  highWarningLimit: NaN,
  highAlarmLimit: NaN,
  lowAlarmSeverity: 0,
  lowWarningSeverity: 0,
  highWarningSeverity: 0,
  highAlarmSeverity: 0,
  hysteresis: 0,
});
/** Display metadata of a PV that has none. */
export const EMPTY_DISPLAY: PvSnapshot["display"] = Object.freeze({
  limitLow: 0,
  limitHigh: 0,
  description: "",
  units: "",
  precision: 0,
});
