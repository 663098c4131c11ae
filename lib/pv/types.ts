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

/** The kinds of value a PV can hold. */
export type PvKind = "scalar" | "array" | "enum";

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

/**
 * A PV's value. Scalars: number (every numeric type, int64 included), string, boolean.
 * Arrays: a typed array for numeric elements, string[] or boolean[] otherwise.
 * Enums: the index (the choices live in {@link PvSnapshot.choices}).
 */
export type PvValue = number | string | boolean | NumericArray | string[] | boolean[];

/** The fixed shape of a PV: what it holds and how much of it. */
export interface PvTypeInfo {
  kind: PvKind;
  /** Element type; "int16"-backed index for enums. */
  scalar: ScalarType;
  /** For arrays, the largest number of elements (CA's native count). 1 for scalars and enums. */
  maxLength: number;
  /**
   * Set to "NTNDArray" for an N-dimensional image (kind "array"): PVA serves it as an
   * NTNDArray with {@link PvSnapshot.ndarray} as its shape; CA sees the flat array.
   */
  nt?: "NTNDArray";
}

/** One attribute of an N-d array (NTAttribute inside NTNDArray). */
export interface PvNdAttribute {
  name: string;
  value: number | string | boolean;
  descriptor?: string;
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
  limitLow: number;
  limitHigh: number;
  description: string;
  units: string;
  precision: number;
}

/** Control metadata (NT control_t): puts outside [limitLow, limitHigh] are refused when limitLow < limitHigh. */
export interface PvControl {
  limitLow: number;
  limitHigh: number;
  minStep: number;
}

/** Alarm limits (NT valueAlarm_t); NaN means "no such limit". */
export interface PvValueAlarm {
  active: boolean;
  lowAlarmLimit: number;
  lowWarningLimit: number;
  highWarningLimit: number;
  highAlarmLimit: number;
  lowAlarmSeverity: number;
  lowWarningSeverity: number;
  highWarningSeverity: number;
  highAlarmSeverity: number;
  hysteresis: number;
}

/** An immutable picture of a PV at one moment. Servers encode from these. */
export interface PvSnapshot {
  readonly value: PvValue;
  readonly alarm: Readonly<PvAlarm>;
  readonly timeStamp: Readonly<EpicsTimeStamp>;
  readonly display: Readonly<PvDisplay>;
  readonly control: Readonly<PvControl>;
  readonly valueAlarm: Readonly<PvValueAlarm>;
  /** Enum state strings (enums only). */
  readonly choices?: readonly string[];
  /** Shape of an N-d array (type.nt "NTNDArray" only). */
  readonly ndarray?: Readonly<PvNdArray>;
}

/** Change classes, with the values of CA's DBE mask bits. */
export const PvChange = { VALUE: 1, LOG: 2, ALARM: 4, PROPERTY: 8 } as const;

/** Who is putting: passed to access checks and put handlers. */
export interface PutContext {
  protocol: "ca" | "pva" | "local";
  user: string;
  host: string;
}

/** Called on each update with the new snapshot and the PvChange bits that changed. */
export type PvListener = (snapshot: PvSnapshot, changes: number) => void;

/** What a server needs from a PV. SharedPV implements it; IOC records will too. */
export interface ServedPv {
  readonly name: string;
  readonly type: PvTypeInfo;
  /** The current state. */
  snapshot(): PvSnapshot;
  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: PvListener): () => void;
  /** Whether `ctx` may write. */
  canWrite(ctx?: PutContext): boolean;
  /**
   * Validates and applies a put. Resolves when the put has completed; rejects with
   * PutRefusedError (lib/core) saying why when it is refused, leaving the value unchanged.
   */
  put(value: unknown, ctx: PutContext): Promise<void>;
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
  lookup(name: string): ServedPv | undefined;
  /** The hosted names (for listings and tests). */
  names(): Iterable<string>;
}
