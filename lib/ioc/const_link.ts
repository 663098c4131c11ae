/**
 * A constant link loaded into a field, as base's dbConstLink (dbConstLoadScalar behind
 * recGblInitConstantLink) does it: the link's text is read for the type the record support
 * asks for, integers by epicsParse* with base 0 and "units" allowed (so "1e3" is 1, "0x10"
 * 16, "010" 8, "1.5" 1), unsigned types taking negatives modulo their size, ULONG through
 * a double when a fraction or exponent follows, floats by strtod (nan, inf, hex floats),
 * strings as the text itself. Pure.
 * @module
 */

import { cutUtf8 } from "../core/bytes.ts";
import { parseCDouble, parseCFloat, parseCInteger } from "./_c_number.ts";
import { castDouble } from "./_cast.ts";
import type { LinkSpec } from "./links.ts";
import { INT_RANGE } from "./record_type.ts";

/** The types a constant loads as (dbConstLoadScalar loads menus and enums as USHORT). */
export type ConstantDbf =
  | "STRING"
  | "CHAR"
  | "UCHAR"
  | "SHORT"
  | "USHORT"
  | "LONG"
  | "ULONG"
  | "INT64"
  | "UINT64"
  | "FLOAT"
  | "DOUBLE";

/** A loaded constant: a number (a bigint for 64-bit integers) or a string. */
export type ConstantValue = number | bigint | string;

/**
 * What base's load did: undefined when it refused (the field keeps its value, the record
 * support sees a failure); `{ value }` when it wrote; `{}` when it reported success without
 * writing anything (a ULONG loaded from "nan", "inf" or a negative fraction that strtoul
 * cannot read: the double it falls back to is out of range, yet the status is 0).
 */
export type ConstantLoad =
  | {
    readonly value?: ConstantValue;
    /**
     * The load failed after it wrote `value` (if any): a `[...]` text base's JSON parser
     * stops in (see LinkSpec's `error`, which the caller prints); the field is not defined.
     */
    readonly failed?: boolean;
  }
  | undefined;

const INTEGER: Readonly<Partial<Record<ConstantDbf, readonly [number, boolean]>>> = {
  CHAR: [8, false],
  UCHAR: [8, true],
  SHORT: [16, false],
  USHORT: [16, true],
  LONG: [32, false],
  ULONG: [32, true],
  INT64: [64, false],
  UINT64: [64, true],
};

const TWO_64 = 1n << 64n;

/** epicsParseInt8..UInt64 with units: the range check of each width, then its cast. */
function parseInteger(
  text: string,
  bits: number,
  unsigned: boolean,
  base: 0 | 10,
): bigint | undefined {
  const r = parseCInteger(text, { base, unsigned, units: true });
  if (typeof r === "string") return undefined;
  const v = r.value;
  if (bits === 64) return v;
  const max = 1n << BigInt(unsigned ? bits : bits - 1);
  if (unsigned) {
    // strtoul's value: too large unless it is a small negative taken modulo 2^64.
    if (v >= max && v <= TWO_64 - max) return undefined;
    return BigInt.asUintN(bits, v);
  }
  return v < -max || v >= max ? undefined : v;
}

/**
 * cvt_st_UInt32: epicsParseUInt32, and through epicsParseFloat64 when that read nothing or
 * stopped at ".", "e" or "E". The double is stored only when it is from 0 to ULONG_MAX
 * (2^64 - 1 on x86-64 Linux), converted as gcc converts a double to a 32-bit unsigned.
 */
function parseUlong(text: string, base: 0 | 10): ConstantLoad {
  const r = parseCInteger(text, { base, unsigned: true, units: true });
  let written: number | undefined;
  if (typeof r !== "string") {
    const v = parseInteger(text, 32, true, base);
    if (v === undefined) return undefined;
    written = Number(v);
    if (!/^[.eE]/.test(text.slice(r.end))) return { value: written };
  } else if (r !== "noConversion") return undefined;
  const d = parseCDouble(text, { units: true });
  if (typeof d === "string") return undefined;
  if (d.value >= 0 && d.value <= 2 ** 64) return { value: castDouble(d.value, "ULONG") };
  return written === undefined ? {} : { value: written };
}

/**
 * Reads a constant link's text as base's dbConstLoadScalar does for `dbf`.
 * @param text the link's text (blanks around it already removed)
 * @param dbf the type the record support loads it as
 * @param json true for a string inside JSON (`{const: "..."}`): base converts it as a put
 * of a string does (dbFastLinkConv), integers in decimal but UINT64 with base 0, and ""
 * as 0
 * @returns what the load wrote (see {@link ConstantLoad})
 * @example
 * ```ts
 * import { loadConstantText } from "./const_link.ts";
 * if (loadConstantText("1e3", "LONG")?.value !== 1) throw new Error();
 * if (loadConstantText("1e3", "ULONG")?.value !== 1000) throw new Error();
 * if (loadConstantText("nan", "LONG") !== undefined) throw new Error();
 * ```
 */
export function loadConstantText(text: string, dbf: ConstantDbf, json = false): ConstantLoad {
  if (dbf === "STRING") return text === "" && !json ? undefined : { value: cutUtf8(text, 39) };
  if (text === "") {
    return json ? { value: dbf === "INT64" || dbf === "UINT64" ? 0n : 0 } : undefined;
  }
  if (dbf === "DOUBLE" || dbf === "FLOAT") {
    const r = dbf === "FLOAT"
      ? parseCFloat(text, { units: true })
      : parseCDouble(text, { units: true });
    return typeof r === "string" ? undefined : { value: r.value };
  }
  const base = json && dbf !== "UINT64" ? 10 : 0;
  if (dbf === "ULONG") return parseUlong(text, base);
  const [bits, unsigned] = INTEGER[dbf]!;
  const v = parseInteger(text, bits, unsigned, base);
  return v === undefined ? undefined : { value: bits === 64 ? v : Number(v) };
}

/** A number of a JSON constant stored as `dbf`: C's conversion, truncating. */
function fromNumber(v: number, dbf: ConstantDbf): ConstantValue {
  if (dbf === "STRING") return String(v);
  if (dbf === "DOUBLE") return v;
  if (dbf === "FLOAT") return Math.fround(v);
  if (!Number.isFinite(v)) return 0;
  const [bits, unsigned] = INTEGER[dbf]!;
  const t = BigInt(Math.trunc(v));
  const w = unsigned ? BigInt.asUintN(bits, t) : BigInt.asIntN(bits, t);
  return bits === 64 ? w : Number(w);
}

/**
 * recGblInitConstantLink of a link holding a constant: its text read as `dbf`; a JSON
 * array gives its first element, a `{const: ...}` link its value; a bare JSON string is
 * not loaded.
 * @param l the link
 * @param dbf the type the record support loads it as
 * @returns what the load wrote (undefined also when the link holds no constant)
 */
export function loadConstant(l: LinkSpec | undefined, dbf: ConstantDbf): ConstantLoad {
  if (l?.kind !== "constant") return undefined;
  if (l.error !== undefined) {
    // dbPutConvertJSON wrote the first element before it stopped, when there was one.
    const first = (l.value as readonly (number | string)[])[0];
    if (typeof first === "number") return { value: fromNumber(first, dbf), failed: true };
    return { failed: true };
  }
  // "[]": dbPutConvertJSON reads no element and succeeds, so the load defines the field.
  if (!l.json && Array.isArray(l.value) && l.value.length === 0) return {};
  if (!l.json && !Array.isArray(l.value)) {
    return typeof l.value === "string" ? undefined : loadConstantText(l.text, dbf);
  }
  const v = Array.isArray(l.value) ? l.value[0] : l.value;
  if (typeof v === "number") return { value: fromNumber(v, dbf) };
  return typeof v === "string" ? loadConstantText(v, dbf, true) : undefined;
}

/**
 * The type base loads a field of type `fieldType` as, when a record support passes the
 * field's own type (menus, enums and device choices as USHORT).
 * @param fieldType the DBF type, without "DBF_"
 * @returns the load type, or undefined for a field no scalar constant loads into
 */
export function constantDbfOf(fieldType: string): ConstantDbf | undefined {
  if (fieldType === "MENU" || fieldType === "ENUM" || fieldType === "DEVICE") return "USHORT";
  return fieldType === "STRING" || fieldType in INTEGER || fieldType === "DOUBLE" ||
      fieldType === "FLOAT"
    ? fieldType as ConstantDbf
    : undefined;
}

/**
 * A loaded value as a field of type `fieldType` holds it: the load type's bits in the
 * field's width (a ULONG loaded into mbbiDirect's LONG VAL: 3000000000 is -1294967296),
 * 64-bit integers as the nearest double inside their range.
 * @param v the loaded value
 * @param fieldType the field's DBF type, without "DBF_"
 * @returns the value to store
 */
export function constantForField(v: ConstantValue, fieldType: string): number | string {
  if (typeof v === "string") return v;
  const t = fieldType === "MENU" || fieldType === "ENUM" || fieldType === "DEVICE"
    ? "USHORT"
    : fieldType;
  const spec = INTEGER[t as ConstantDbf];
  if (typeof v === "bigint") {
    if (!spec || spec[0] < 64) {
      const w = spec ? (spec[1] ? BigInt.asUintN(spec[0], v) : BigInt.asIntN(spec[0], v)) : v;
      return Number(w);
    }
    const n = Number(spec[1] ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v));
    const [lo, hi] = INT_RANGE[t as "INT64" | "UINT64"]!;
    return Math.max(lo, Math.min(n, hi));
  }
  if (!spec || !Number.isInteger(v)) return v;
  const w = BigInt(v);
  return Number(spec[1] ? BigInt.asUintN(spec[0], w) : BigInt.asIntN(spec[0], w));
}
