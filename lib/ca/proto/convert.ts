/**
 * Value conversions between the seven CA element types, as an IOC server performs them
 * when a client asks for (or writes) a type other than the channel's native one.
 * Behaviour follows RSRV / the IOC database as recorded in the vectors:
 *
 * - floating point to integer truncates toward zero (a C cast); out-of-range values,
 *   which C leaves undefined, are clipped to the target range and NaN becomes 0;
 * - integer to integer wraps like a C cast (a SHORT -1 read as ENUM is 65535, as CHAR 255);
 * - numbers to DBR_STRING use the channel's precision with round-half-away-from-zero
 *   ("%.Nf"-like, 3.14159 at PREC 3 is "3.142", 1.5 at PREC 0 is "2"), and an
 *   exponent form beyond 1e16 (1e7 for FLOAT);
 * - ENUM to STRING is the state text; STRING to ENUM looks the state up, then accepts
 *   a state number;
 * - STRING to a number reads the number at the start of the text as the IOC's dbConvert
 *   does (strtod for FLOAT/DOUBLE, base-10 strtol/strtoul for the integer types, with
 *   what follows ignored as units: "7.0.8.1" is 7, "12 mm" 12, "1.5" as LONG 1, "0x10"
 *   as LONG 0 but as DOUBLE 16; "" is 0); text that does not start with a number, or a
 *   number out of the type's range, is refused with ECA_PUTFAIL on a put (what RSRV
 *   answers `caput T:ao abc` with) or ECA_GETFAIL on a get.
 * @module
 */

import { CaStatusError } from "../../core/errors.ts";
import { DBF_NAMES, type DbrValueType, Eca, MAX_STRING_SIZE } from "./constants.ts";
import type { DbrValues } from "./dbr_types.ts";

/** Options of {@link convertValues}. */
export interface ConvertOptions {
  /** Display precision for number-to-string (the record's PREC). Undefined: shortest form. */
  precision?: number;
  /** Enum state strings for ENUM <-> STRING. */
  enumStrings?: readonly string[];
  /** Which way the data flows, to pick the ECA code of a failure (default "put"). */
  direction?: "get" | "put";
}

const RANGES: Record<number, [number, number]> = {
  1: [-32768, 32767],
  3: [0, 65535],
  4: [0, 255],
  5: [-2147483648, 2147483647],
};

type NumArrayCtor =
  | Int16ArrayConstructor
  | Float32ArrayConstructor
  | Uint16ArrayConstructor
  | Uint8ArrayConstructor
  | Int32ArrayConstructor
  | Float64ArrayConstructor;
const CTORS: (NumArrayCtor | null)[] = [
  null,
  Int16Array,
  Float32Array,
  Uint16Array,
  Uint8Array,
  Int32Array,
  Float64Array,
];

function isFloat(t: DbrValueType): boolean {
  return t === 2 || t === 6;
}

/**
 * Converts a value array from one element type to another.
 * @param values the source values (string[] for STRING, the typed array of the type otherwise)
 * @param fromType the source element type 0..6
 * @param toType the target element type 0..6
 * @param opts precision, enum strings and direction
 * @returns the converted values (the same array when the types are equal)
 * @throws {CaStatusError} ECA_PUTFAIL (put) / ECA_GETFAIL (get) for text that is not a
 *   number or not a state name
 * @example
 * ```ts
 * import { convertValues } from "./convert.ts";
 * const s = convertValues(new Float64Array([3.14159]), 6, 0, { precision: 4 });
 * if ((s as string[])[0] !== "3.1416") throw new Error();
 * ```
 */
export function convertValues(
  values: DbrValues,
  fromType: DbrValueType,
  toType: DbrValueType,
  opts: ConvertOptions = {},
): DbrValues {
  if (fromType === toType) return values;
  const n = values.length;
  if (toType === 0) {
    const out = new Array<string>(n);
    const nums = values as ArrayLike<number>;
    for (let i = 0; i < n; i++) out[i] = numberToString(nums[i], fromType, opts);
    return out;
  }
  const C = CTORS[toType]!;
  const out = new C(n);
  if (fromType === 0) {
    const strs = values as string[];
    for (let i = 0; i < n; i++) out[i] = stringToNumber(strs[i], toType, opts);
    return out;
  }
  const nums = values as ArrayLike<number>;
  if (isFloat(fromType) && !isFloat(toType)) {
    const [lo, hi] = RANGES[toType];
    for (let i = 0; i < n; i++) out[i] = clipInt(nums[i], lo, hi);
  } else {
    // Integer targets wrap like C casts; float targets round to nearest (typed-array store).
    for (let i = 0; i < n; i++) out[i] = nums[i];
  }
  return out;
}

function clipInt(v: number, lo: number, hi: number): number {
  if (Number.isNaN(v)) return 0;
  const t = Math.trunc(v);
  return t < lo ? lo : t > hi ? hi : t;
}

function numberToString(v: number, fromType: DbrValueType, opts: ConvertOptions): string {
  if (fromType === 3) {
    const strs = opts.enumStrings;
    if (strs && v < strs.length) return strs[v];
    return String(v);
  }
  if (isFloat(fromType)) {
    return opts.precision === undefined
      ? formatShortest(v)
      : fromType === 2
      ? cvtFloatToString(v, opts.precision)
      : cvtDoubleToString(v, opts.precision);
  }
  return String(v);
}

/**
 * A double as base's cvtDoubleToString writes it (dbGet of a DOUBLE field as DBR_STRING,
 * with the record's precision): fixed with `precision` decimals, rounded half up, for
 * magnitudes up to 1e7 and precisions up to 8; from there to 1e16 at most 3 decimals
 * ("%.3f"); beyond that, or for more than 8 decimals, "%*.*e" padded to precision + 7
 * characters (17 decimals at most). The precision is taken as C's unsigned short takes
 * it, so -1 is 65535 (and so 17).
 * @param v the number
 * @param precision digits after the decimal point
 * @returns the text
 * @example
 * ```ts
 * import { cvtDoubleToString } from "./mod.ts";
 * if (cvtDoubleToString(1.23456789, 3) !== "1.235" || cvtDoubleToString(2.5, 0) !== "3") {
 *   throw new Error();
 * }
 * ```
 */
export function cvtDoubleToString(v: number, precision: number): string {
  let p = precision & 0xffff;
  if (Number.isNaN(v) || p > 8 || v > 1e7 || v < -1e7) {
    if (p > 8 || v > 1e16 || v < -1e16) {
      p = Math.min(p, 17);
      return cExp(v, p).padStart(p + 7);
    }
    return Number.isNaN(v) ? "nan" : v.toFixed(Math.min(p, 3));
  }
  return cvtFastFixed(v, p, false);
}

/**
 * A FLOAT as base's cvtFloatToString writes it (DBR_STRING of a DBF_FLOAT value): like
 * {@link cvtDoubleToString} with float arithmetic, "%.*f" (at most 3 decimals) from 1e7 to
 * below 1e8, and "%*.*e" padded to precision + 6 characters (12 decimals at most) beyond
 * that or for more than 8 decimals.
 * @param v the number (a float32 value)
 * @param precision digits after the decimal point
 * @returns the text
 */
export function cvtFloatToString(v: number, precision: number): string {
  let p = precision & 0xffff;
  if (Number.isNaN(v) || p > 8 || v > 1e7 || v < -1e7) {
    if (p > 8 || v >= 1e8 || v <= -1e8) {
      p = Math.min(p, 12);
      return cExp(v, p).padStart(p + 6);
    }
    return Number.isNaN(v) ? "nan" : v.toFixed(Math.min(p, 3));
  }
  return cvtFastFixed(v, p, true);
}

/**
 * The fast path of cvtFast.c's conversions: the whole part, then the fraction scaled by
 * 10^(p+1), its last digit rounding it (which can carry into the whole part).
 * @param single compute the fraction in single precision, as cvtFloatToString's float
 *   variables do
 */
function cvtFastFixed(v: number, p: number, single: boolean): string {
  const f = Math.fround;
  const a = Math.abs(v);
  let whole = Math.trunc(a);
  const scale = 10 ** p;
  const scaled = single ? f(f(f(a - whole) * scale) * 10) : (a - whole) * scale * 10;
  let fraction = Math.trunc((Math.trunc(scaled) + 5) / 10);
  if (fraction >= scale) {
    whole++;
    fraction -= scale;
  }
  const sign = v < 0 ? "-" : "";
  return p === 0 ? `${sign}${whole}` : `${sign}${whole}.${String(fraction).padStart(p, "0")}`;
}

/** C's "%.*e": the exponent has at least two digits. */
function cExp(v: number, p: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  return cExponent(v.toExponential(p));
}

/**
 * Formats a number for display with a precision (the CA client's PV text): fixed
 * notation rounded half away from zero; exponent notation ("%.Ne") for magnitudes
 * above 1e16 (1e7 for FLOAT) or a precision above 17 (8 for FLOAT); "nan", "inf".
 * @param v the value
 * @param precision digits after the decimal point (negative counts as 0)
 * @param isFloat32 true for a FLOAT source (lower thresholds)
 * @returns the text (at most 39 characters)
 * @example
 * ```ts
 * import { formatFixed } from "./mod.ts";
 * if (formatFixed(2.5, 0) !== "3" || formatFixed(1 / 3, 3) !== "0.333") throw new Error();
 * ```
 */
export function formatFixed(v: number, precision: number, isFloat32 = false): string {
  let p = Math.max(0, Math.trunc(precision));
  const maxP = isFloat32 ? 8 : 17;
  const maxV = isFloat32 ? 1e7 : 1e16;
  if (Number.isNaN(v)) return "nan";
  if (p > maxP || v > maxV || v < -maxV) {
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    p = Math.min(p, maxP);
    return cExponent(v.toExponential(p));
  }
  const neg = v < 0;
  const a = Math.abs(v);
  let whole = Math.trunc(a);
  let text: string;
  if (p === 0) {
    if (a - whole >= 0.5) whole += 1;
    text = String(whole);
  } else {
    const scale = 10 ** p;
    let frac = Math.trunc((a - whole) * scale + 0.5);
    if (frac >= scale) {
      whole += 1;
      frac -= scale;
    }
    text = `${whole}.${String(frac).padStart(p, "0")}`;
  }
  const s = neg ? `-${text}` : text;
  return s.length >= MAX_STRING_SIZE ? s.slice(0, MAX_STRING_SIZE - 1) : s;
}

/** Turns JS exponent text ("1.5e+20", "1e-7") into C's ("1.5e+20", "1e-07"). */
function cExponent(js: string): string {
  return js.replace(/e([+-])(\d)$/, "e$10$2");
}

/**
 * The shortest text that reads back as the same number, in C "%g" style for large and
 * small magnitudes ("1e+20", "1.5e-07").
 * @param v the value
 * @returns the text
 * @example
 * ```ts
 * import { formatShortest } from "./mod.ts";
 * if (formatShortest(1e20) !== "1e+20" || formatShortest(0.1) !== "0.1") throw new Error();
 * ```
 */
export function formatShortest(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e16 || a < 1e-4)) return cExponent(v.toExponential());
  return String(v);
}

const FLOAT_PREFIX =
  /^[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)/i;
const INT_PREFIX = /^[+-]?\d+/;
const PLAIN_DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SHORT_INT = /^-?\d{1,9}$/;
const FLT_MIN = 1.1754943508222875e-38;
const FLT_MAX = 3.4028234663852886e38;
const TWO_64 = 18446744073709551616n;

function refuse(text: string, toType: DbrValueType, opts: ConvertOptions, why?: string): never {
  const get = opts.direction === "get";
  throw new CaStatusError(
    `Cannot convert "${text}" to ${DBF_NAMES[toType]}: ${
      why ?? `not a ${toType === 3 ? "state name or index" : "number"}`
    }`,
    get ? Eca.GETFAIL : Eca.PUTFAIL,
  );
}

/** The value of a hexadecimal floating-point literal (strtod's "0x1.8p3"), sign included. */
function hexFloat(t: string): number {
  const neg = t.startsWith("-");
  const body = t.replace(/^[+-]?0[xX]/, "");
  const [mant, exp] = body.split(/[pP]/);
  const [whole, frac = ""] = mant.split(".");
  let v = 0;
  for (const c of whole + frac) v = v * 16 + parseInt(c, 16);
  v = v * 2 ** (Number(exp ?? 0) - 4 * frac.length);
  return neg ? -v : v;
}

/**
 * The number at the start of `text` as C's strtod reads it (leading white space skipped,
 * anything after the number ignored, as the IOC's epicsParseFloat64 with a units pointer).
 */
function parseFloatPrefix(text: string, toType: DbrValueType, opts: ConvertOptions): number {
  // Fast path for the usual plain decimal text ("1.5", "-2e3"): Number() reads it as
  // strtod does. Left to the full reader: what Number() refuses or reads otherwise
  // (units after the number, "inf", 0b/0o prefixes, overflow, underflow, FLOAT range).
  if (PLAIN_DECIMAL.test(text)) {
    const v = Number(text);
    if (Number.isFinite(v) && (v !== 0 || !/[1-9]/.test(text))) {
      if (toType !== 2) return v;
      const a = Math.abs(v);
      if (a === 0 || (a > FLT_MIN && a < FLT_MAX)) return v;
    }
  }
  const t = text.replace(/^\s+/, "");
  const m = FLOAT_PREFIX.exec(t);
  if (!m) refuse(text, toType, opts);
  const lit = m[0];
  const l = lit.toLowerCase();
  let v: number;
  if (l.includes("nan")) v = NaN;
  else if (l.includes("inf")) v = l.startsWith("-") ? -Infinity : Infinity;
  else v = /^[+-]?0x/.test(l) ? hexFloat(lit) : Number(lit);
  if (Number.isNaN(v) || l.includes("inf")) return v;
  const nonZero = /[1-9a-f]/.test(l.replace(/^[+-]?0x/, "").replace(/[ep][+-]?\d+$/, ""));
  const a = Math.abs(v);
  if (!Number.isFinite(v)) refuse(text, toType, opts, "out of range");
  if (v === 0 && nonZero) refuse(text, toType, opts, "out of range (underflow)");
  if (toType === 2 && a > 0 && a <= FLT_MIN) refuse(text, toType, opts, "out of range (underflow)");
  if (toType === 2 && a >= FLT_MAX) refuse(text, toType, opts, "out of range");
  return v;
}

/**
 * The integer at the start of `text` as the IOC reads it for an integer type (strtol /
 * strtoul in base 10; "1.5" is 1, "0x10" is 0, "12 mm" is 12; an unsigned type takes "-1"
 * as its largest value, as strtoul wraps it) with the type's range check.
 */
function parseIntPrefix(text: string, toType: DbrValueType, opts: ConvertOptions): number {
  // Fast path: plain decimal digits of at most 9 (no BigInt needed), in range.
  if (SHORT_INT.test(text)) {
    const v = Number(text);
    const [lo, hi] = RANGES[toType];
    if (v >= lo && v <= hi) return v;
  }
  const t = text.replace(/^\s+/, "");
  const m = INT_PREFIX.exec(t);
  if (!m) refuse(text, toType, opts);
  const [lo, hi] = RANGES[toType];
  if (m[0].length <= 10) {
    // Up to 9 digits and a sign: exact as a double, no BigInt needed.
    const v = Number(m[0]);
    if (v >= lo && v <= hi) return v;
    if (lo < 0 || v > hi) refuse(text, toType, opts, "out of range");
    // A small negative number for an unsigned type: strtoul's wrap (below).
  }
  const n = BigInt(m[0]);
  if (lo < 0) {
    if (n < BigInt(lo) || n > BigInt(hi)) refuse(text, toType, opts, "out of range");
    return Number(n);
  }
  // strtoul: a negative number wraps modulo 2^64; values past 2^64 - 1 overflow.
  const u = n < 0n ? TWO_64 + n : n;
  const width = BigInt(hi) + 1n;
  if (u >= TWO_64 || (u > BigInt(hi) && u <= TWO_64 - 1n - BigInt(hi))) {
    refuse(text, toType, opts, "out of range");
  }
  return Number(u % width);
}

/** The powers of ten a double holds exactly (10^0 .. 10^22). */
const EXACT_TENS = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * A plain decimal (`[+-]digits[.digits][e[+-]digits]`) read straight from the bytes of a
 * C string field, or undefined for any other text (white space, units, "inf", hex, more
 * than 15 significant digits, an exponent beyond 10^±22 after the digits), which the
 * caller reads as text. The text ends at the first NUL or at `end`. Within those bounds
 * the digits form an integer below 2^53 and the power of ten is exact, so one
 * multiplication or division rounds once, correctly: the double strtod returns.
 * @param b the bytes
 * @param start where the field starts
 * @param end where it ends at the latest
 * @returns the number, or undefined when the text is not that simple
 * @example
 * ```ts
 * import { plainDecimalAt } from "./convert.ts";
 * const b = new TextEncoder().encode("0.000100\0");
 * if (plainDecimalAt(b, 0, b.length) !== 0.0001) throw new Error();
 * if (plainDecimalAt(b, 0, 3) !== 0) throw new Error(); // "0.0"
 * if (plainDecimalAt(new TextEncoder().encode("1.5 mm"), 0, 6) !== undefined) throw new Error();
 * ```
 */
export function plainDecimalAt(b: Uint8Array, start: number, end: number): number | undefined {
  let i = start;
  let neg = false;
  if (i < end && (b[i] === 0x2d || b[i] === 0x2b)) neg = b[i++] === 0x2d;
  let mant = 0;
  let sig = 0;
  let digits = 0;
  let scale = 0;
  let point = false;
  for (; i < end; i++) {
    const c = b[i];
    if (c === 0x2e && !point) {
      point = true;
      continue;
    }
    if (c < 0x30 || c > 0x39) break;
    digits++;
    // Leading zeros are not significant; every digit after the point scales by 10^-1.
    if (sig > 0 || c !== 0x30) {
      mant = mant * 10 + (c - 0x30);
      sig++;
    }
    if (point) scale--;
  }
  if (digits === 0 || sig > 15) return undefined;
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    let eneg = false;
    if (i < end && (b[i] === 0x2d || b[i] === 0x2b)) eneg = b[i++] === 0x2d;
    let e = 0;
    let edigits = 0;
    for (; i < end && b[i] >= 0x30 && b[i] <= 0x39 && edigits < 4; i++, edigits++) {
      e = e * 10 + (b[i] - 0x30);
    }
    if (edigits === 0) return undefined;
    scale += eneg ? -e : e;
  }
  if (i < end && b[i] !== 0) return undefined;
  if (mant === 0) return neg ? -0 : 0;
  if (scale < -22 || scale > 22) return undefined;
  const v = scale >= 0 ? mant * EXACT_TENS[scale] : mant / EXACT_TENS[-scale];
  return neg ? -v : v;
}

/**
 * One string as a number of a numeric DBR type, as {@link convertValues} converts each
 * element of a DBR_STRING array (strtod-like text; enum state names for DBR_ENUM).
 * @param text the string
 * @param toType the numeric DBR value type (1..6)
 * @param opts enum strings, and whether this is a get or a put (for the error status)
 * @returns the number
 * @throws {CaStatusError} ECA_PUTFAIL (put) or ECA_GETFAIL (get) for text that is no number
 * @example
 * ```ts
 * import { stringToNumber } from "./convert.ts";
 * if (stringToNumber(" 2.5e1", 6, { direction: "put" }) !== 25) throw new Error();
 * ```
 */
export function stringToNumber(text: string, toType: DbrValueType, opts: ConvertOptions): number {
  if (toType === 3 && opts.enumStrings) {
    const i = opts.enumStrings.indexOf(text);
    if (i >= 0) return i;
    const t = text.trim();
    if (/^\d+$/.test(t) && Number(t) < opts.enumStrings.length) return Number(t);
    refuse(text, toType, opts);
  }
  // The IOC reads an empty string as 0.
  if (text === "") return 0;
  return isFloat(toType)
    ? parseFloatPrefix(text, toType, opts)
    : parseIntPrefix(text, toType, opts);
}
