/**
 * How a PV of the shared model looks through Channel Access: its native DBR type and
 * element count, the DBR payload for any requested type, and a put payload turned back
 * into a value for the model. Pure functions.
 * @module
 */

import { CaStatusError, PutRefusedError } from "../../core/errors.ts";
import { Dbr, type DbrValueType, Eca } from "../proto/constants.ts";
import type { DbrData, DbrMeta, DbrValues } from "../proto/dbr_types.ts";
import { dbrInfo } from "../proto/dbr.ts";
import { convertValues } from "../proto/convert.ts";
import type { NumericArray, PvSnapshot, PvTypeInfo, ScalarType } from "../../pv/types.ts";

/** CA's view of a PV's type. */
export interface CaNative {
  /** DBR value type 0..6. */
  type: DbrValueType;
  /** Maximum element count (what CREATE_CHAN reports). */
  count: number;
}

const NATIVE_OF: Record<ScalarType, DbrValueType> = {
  int8: Dbr.CHAR,
  uint8: Dbr.CHAR,
  int16: Dbr.SHORT,
  uint16: Dbr.LONG,
  int32: Dbr.LONG,
  uint32: Dbr.DOUBLE,
  int64: Dbr.DOUBLE,
  uint64: Dbr.DOUBLE,
  float32: Dbr.FLOAT,
  float64: Dbr.DOUBLE,
  string: Dbr.STRING,
  boolean: Dbr.CHAR,
};

/**
 * The CA native type and count of a PV (int64/uint32 become DOUBLE: CA has no 64-bit type).
 * @param t the PV's type
 * @returns native DBR value type and maximum element count
 * @example
 * ```ts
 * import { Dbr } from "../proto/mod.ts";
 * import { caNative } from "./mod.ts";
 * const n = caNative({ kind: "array", scalar: "int64", maxLength: 10 });
 * if (n.type !== Dbr.DOUBLE || n.count !== 10) throw new Error();
 * ```
 */
export function caNative(t: PvTypeInfo): CaNative {
  if (t.kind === "enum") return { type: Dbr.ENUM, count: 1 };
  return { type: NATIVE_OF[t.scalar], count: t.maxLength };
}

function typedFor(type: DbrValueType, n: number): DbrValues {
  switch (type) {
    case Dbr.STRING:
      return new Array<string>(n).fill("");
    case Dbr.SHORT:
      return new Int16Array(n);
    case Dbr.FLOAT:
      return new Float32Array(n);
    case Dbr.ENUM:
      return new Uint16Array(n);
    case Dbr.CHAR:
      return new Uint8Array(n);
    case Dbr.LONG:
      return new Int32Array(n);
    default:
      return new Float64Array(n);
  }
}

/**
 * The snapshot's value as an array of the native DBR type (all current elements).
 * @param snap the PV state
 * @param t the PV's type
 * @returns the elements, typed for the native DBR type
 */
export function nativeValues(snap: PvSnapshot, t: PvTypeInfo): DbrValues {
  const native = caNative(t).type;
  const v = snap.value;
  if (native === Dbr.STRING) {
    if (Array.isArray(v)) return v.map(String);
    return [String(v)];
  }
  if (typeof v === "number" && t.scalar === "int8") {
    return new Int8Array([v]) as unknown as Uint8Array;
  }
  if (typeof v === "number" || typeof v === "boolean") {
    const out = typedFor(native, 1) as Exclude<DbrValues, string[]>;
    out[0] = Number(v);
    return out;
  }
  if (typeof v === "string") return [v];
  // Use the model's array directly when it already has the native element type.
  if (
    (native === Dbr.DOUBLE && v instanceof Float64Array) ||
    (native === Dbr.FLOAT && v instanceof Float32Array) ||
    (native === Dbr.LONG && v instanceof Int32Array) ||
    (native === Dbr.SHORT && v instanceof Int16Array) ||
    (native === Dbr.CHAR && v instanceof Uint8Array)
  ) {
    return v;
  }
  // DBR_CHAR is unsigned on the wire, but a signed int8 PV must still read as -5 when a
  // client asks for a wider type (as DBF_CHAR does in an IOC): keep the sign here.
  if (t.scalar === "int8" && v instanceof Int8Array) return v as unknown as Uint8Array;
  const src = v as ArrayLike<number | bigint | boolean | string>;
  const out = typedFor(native, src.length) as Exclude<DbrValues, string[]>;
  for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
  return out;
}

function metaFor(snap: PvSnapshot): DbrMeta {
  const va = snap.valueAlarm;
  return {
    status: snap.alarm.status,
    severity: snap.alarm.severity,
    stamp: snap.timeStamp,
    units: snap.display.units,
    precision: snap.display.precision,
    upperDispLimit: snap.display.limitHigh,
    lowerDispLimit: snap.display.limitLow,
    upperAlarmLimit: va.highAlarmLimit,
    upperWarningLimit: va.highWarningLimit,
    lowerWarningLimit: va.lowWarningLimit,
    lowerAlarmLimit: va.lowAlarmLimit,
    upperCtrlLimit: snap.control.limitHigh,
    lowerCtrlLimit: snap.control.limitLow,
    enumStrings: snap.choices ? [...snap.choices] : undefined,
    ackt: 0,
    acks: 0,
  };
}

/** The answer to a read: the payload data and how many elements it holds. */
export interface CaReadResult {
  /** The value and metadata to encode. */
  data: DbrData;
  /** Element count for the reply header. */
  count: number;
}

/**
 * Builds the DBR payload data for a read or monitor update.
 * @param snap the PV state
 * @param t the PV's type
 * @param dbrType the requested DBR type (0..34, 37, 38)
 * @param count the requested element count; 0 means "all current elements"
 * @param className what DBR_CLASS_NAME reports
 * @returns data to encode and the element count to put in the reply header
 * @throws Error when the value cannot be converted to the requested type
 * @example
 * ```ts
 * import { SharedPV } from "../../pv/mod.ts";
 * import { Dbr } from "../proto/mod.ts";
 * import { readAs } from "./mod.ts";
 * const pv = new SharedPV("T:ai", { type: "float64", value: 1.25, precision: 1 });
 * const { data, count } = readAs(pv.snapshot(), pv.type, Dbr.STRING, 1);
 * if (count !== 1 || (data.value as string[])[0] !== "1.3") throw new Error();
 * ```
 */
export function readAs(
  snap: PvSnapshot,
  t: PvTypeInfo,
  dbrType: number,
  count: number,
  className = "SharedPV",
): CaReadResult {
  const info = dbrInfo(dbrType);
  const native = caNative(t);
  const meta = metaFor(snap);
  if (dbrType === Dbr.CLASS_NAME) return { data: { value: [className], meta }, count: 1 };
  if (t.link && info.valueType !== Dbr.STRING) return linkRead(meta, info.valueType);
  const nv = nativeValues(snap, t);
  const want = count === 0 ? nv.length : Math.min(count, native.count);
  const enumStrings = snap.choices as string[] | undefined;
  if (t.kind === "enum" && snap.enumText !== undefined && info.valueType === Dbr.STRING) {
    return { data: { value: [snap.enumText], meta }, count: want };
  }
  if (t.kind === "enum" && enumStrings?.length === 0 && info.valueType === Dbr.STRING) {
    // An enum without states (an IOC's DTYP with no device supports) reads as "".
    return { data: { value: [""], meta }, count: want };
  }
  const converted = convertValues(nv, native.type, info.valueType, {
    precision: snap.display.precision,
    enumStrings,
    direction: "get",
  });
  return { data: { value: converted, meta }, count: want };
}

/**
 * A numeric read of an IOC link field (see PvTypeInfo.link): the value is NaN (0 as
 * CHAR), the metadata what the record gives for that field (the provider's snapshot).
 */
function linkRead(meta: DbrMeta, valueType: number): CaReadResult {
  if (valueType !== Dbr.DOUBLE && valueType !== Dbr.CHAR) {
    throw new CaStatusError("A link field reads only as a string, double or char", Eca.GETFAIL);
  }
  const value = valueType === Dbr.DOUBLE ? new Float64Array([NaN]) : new Uint8Array(1);
  return { data: { value, meta }, count: 1 };
}

/**
 * Per DBR value type of a put, the native types (bit per DBR value type) that hold each of
 * its values exactly: SHORT into FLOAT/LONG/DOUBLE, FLOAT into DOUBLE, ENUM (unsigned
 * 16 bits) and CHAR (unsigned 8 bits) into SHORT... LONG into DOUBLE. Never CHAR: char
 * arrays (text, booleans) keep their own conversion.
 */
const LOSSLESS: readonly number[] = [
  0, // STRING
  (1 << Dbr.FLOAT) | (1 << Dbr.LONG) | (1 << Dbr.DOUBLE), // SHORT
  1 << Dbr.DOUBLE, // FLOAT
  (1 << Dbr.FLOAT) | (1 << Dbr.LONG) | (1 << Dbr.DOUBLE), // ENUM
  (1 << Dbr.SHORT) | (1 << Dbr.FLOAT) | (1 << Dbr.LONG) | (1 << Dbr.DOUBLE), // CHAR
  1 << Dbr.DOUBLE, // LONG
  0, // DOUBLE
];

/**
 * Turns the decoded payload of a WRITE/WRITE_NOTIFY into a value for {@link ServedPv.put}.
 * @param data the decoded DBR data
 * @param putType the DBR type it was sent as
 * @param snap the PV state (for enum strings and precision)
 * @param t the PV's type
 * @returns a value the model accepts (scalar for count 1 on scalars, array otherwise)
 * @throws PutRefusedError when the data cannot be converted to the native type
 */
export function putValue(
  data: DbrData,
  putType: number,
  snap: PvSnapshot,
  t: PvTypeInfo,
): unknown {
  const info = dbrInfo(putType);
  const native = caNative(t);
  if (t.parsesText && t.kind === "scalar" && info.valueType === Dbr.STRING) {
    // The PV reads the text as its own rules say ("70000" into a USHORT is refused there).
    const text = data.value as string[];
    if (text.length === 1) return text[0];
  }
  if (t.scalar === "int8" && t.kind !== "enum") return putInt8(data.value, info.valueType, snap, t);
  if (t.text && t.kind === "array" && info.valueType === Dbr.STRING) {
    // A text PV (see PvTypeInfo.text): the string's bytes are the chars.
    return new TextEncoder().encode(String((data.value as string[])[0] ?? ""));
  }
  if (t.kind === "array" && LOSSLESS[info.valueType] & (1 << native.type)) {
    // Numbers that the native type would hold exactly (a DBR_SHORT array put to a uint16
    // PV, whose native type is DBR_LONG): the PV's own conversion takes them as they are,
    // with one range check and at most one copy.
    return data.value;
  }
  let values: DbrValues;
  try {
    values = convertValues(data.value, info.valueType, native.type, {
      precision: snap.display.precision,
      enumStrings: snap.choices as string[] | undefined,
      direction: "put",
    });
  } catch (e) {
    throw new PutRefusedError((e as Error).message, "type", { cause: e });
  }
  if (t.kind === "array") {
    if (native.type === Dbr.CHAR && t.scalar !== "boolean") return values as Uint8Array;
    return values as NumericArray | string[];
  }
  if (values.length < 1) throw new PutRefusedError("Cannot put zero elements", "type");
  return values[0];
}

/**
 * A put to a signed 8-bit PV. DBR_CHAR bytes are taken as signed (a char waveform of text
 * keeps its bytes); anything else is converted to numbers and range-checked by the model.
 */
function putInt8(
  values: DbrValues,
  valueType: DbrValueType,
  snap: PvSnapshot,
  t: PvTypeInfo,
): unknown {
  let out: Int8Array | Float64Array;
  if (valueType === Dbr.CHAR) {
    const u8 = values as Uint8Array;
    out = new Int8Array(u8.length);
    out.set(new Int8Array(u8.buffer, u8.byteOffset, u8.length));
  } else {
    try {
      out = convertValues(values, valueType, Dbr.DOUBLE, {
        precision: snap.display.precision,
        direction: "put",
      }) as Float64Array;
    } catch (e) {
      throw new PutRefusedError((e as Error).message, "type", { cause: e });
    }
  }
  if (t.kind === "array") return out;
  if (out.length < 1) throw new PutRefusedError("Cannot put zero elements", "type");
  return out[0];
}

/**
 * The ECA status a refused put maps to.
 * @param e the error thrown by a put
 * @returns ECA_NOWTACCESS for a read-only PV, ECA_PUTFAIL for every other refusal
 * @example
 * ```ts
 * import { CaStatusError, PutRefusedError } from "../../core/errors.ts";
 * import { Eca } from "../proto/mod.ts";
 * import { ecaForPutError } from "./mod.ts";
 * const e = new PutRefusedError("Cannot write \"T:ai\": read-only", "readonly");
 * if (ecaForPutError(e) !== Eca.NOWTACCESS || ecaForPutError(new Error()) !== Eca.PUTFAIL) {
 *   throw new Error();
 * }
 * ```
 */
export function ecaForPutError(e: unknown): number {
  if (e instanceof PutRefusedError && e.reason === "readonly") return Eca.NOWTACCESS;
  return Eca.PUTFAIL;
}
