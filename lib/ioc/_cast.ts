/**
 * A number stored into an integer field as EPICS base stores a double there: dbConvert's
 * plain C casts, which on the x86-64 hosts softIoc runs on compile to cvttsd2si. Pure.
 * @module
 */

/** The integer DBF types. */
export type IntegerDbf =
  | "CHAR"
  | "UCHAR"
  | "SHORT"
  | "USHORT"
  | "LONG"
  | "ULONG"
  | "INT64"
  | "UINT64";

const TWO_31 = 2 ** 31;
const TWO_32 = 2 ** 32;
const TWO_63 = 2 ** 63;

/** cvttsd2si to 32 bits: the truncation, or INT_MIN for NaN and anything out of range. */
function int32Of(v: number): number {
  return v > -TWO_31 - 1 && v < TWO_31 ? Math.trunc(v) : -TWO_31;
}

/** cvttsd2si to 64 bits: the truncation, or INT64_MIN for NaN and anything out of range. */
function int64Of(v: number): number {
  return v >= -TWO_63 && v < TWO_63 ? Math.trunc(v) : -TWO_63;
}

/**
 * A double as a field of type `dbf` receives it (measured against softIoc 7.0.8.1):
 * types up to 32 bits signed go through a 32-bit conversion and keep its low bits (1e12
 * to LONG is -2147483648, to SHORT and USHORT 0; 70000 to USHORT 4464; -1 to USHORT
 * 65535); ULONG keeps the low 32 bits of a 64-bit conversion (1e12 is 3567587328, NaN 0);
 * INT64 is INT64_MIN out of range; UINT64 as gcc converts (2^63 and up by an offset).
 * @param v the number
 * @param dbf the field type
 * @returns the integer (as a number)
 * @example
 * ```ts
 * import { castDouble } from "./_cast.ts";
 * if (castDouble(1e12, "LONG") !== -2147483648 || castDouble(-2.7, "USHORT") !== 65534) {
 *   throw new Error();
 * }
 * ```
 */
export function castDouble(v: number, dbf: IntegerDbf): number {
  switch (dbf) {
    case "CHAR":
      return (int32Of(v) << 24) >> 24;
    case "UCHAR":
      return int32Of(v) & 0xff;
    case "SHORT":
      return (int32Of(v) << 16) >> 16;
    case "USHORT":
      return int32Of(v) & 0xffff;
    case "LONG":
      return int32Of(v);
    case "ULONG": {
      const r = int64Of(v) % TWO_32;
      return r < 0 ? r + TWO_32 : r + 0;
    }
    case "INT64":
      return int64Of(v);
    case "UINT64": {
      if (Number.isNaN(v)) return TWO_63;
      if (v >= TWO_63) return v - TWO_63 < TWO_63 ? Math.trunc(v) : 0;
      const t = int64Of(v);
      return t < 0 ? t + 2 ** 64 : t;
    }
  }
}

/** The integer DBF type of an integer typed array's elements (undefined for others). */
export function integerDbfOf(a: unknown): IntegerDbf | undefined {
  if (a instanceof Int8Array) return "CHAR";
  if (a instanceof Uint8Array) return "UCHAR";
  if (a instanceof Int16Array) return "SHORT";
  if (a instanceof Uint16Array) return "USHORT";
  if (a instanceof Int32Array) return "LONG";
  if (a instanceof Uint32Array) return "ULONG";
  if (a instanceof BigInt64Array) return "INT64";
  if (a instanceof BigUint64Array) return "UINT64";
  return undefined;
}
