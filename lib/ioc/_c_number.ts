/**
 * Numbers read from text the way EPICS base reads them: C's strtol/strtoul/strtod as glibc
 * implements them, wrapped as libCom's epicsParse* functions wrap them (blanks around the
 * number, "units" after it allowed or not, ERANGE reported as overflow or underflow).
 * Pure functions; integers come back as bigint so that no 64-bit value is rounded here.
 * @module
 */

/** Why a number could not be read (libCom's S_stdlib_* statuses). */
export type ParseFailure = "noConversion" | "overflow" | "underflow" | "extraneous";

/** A number read from the start of a text. */
export interface Scanned<T> {
  /** The number. */
  readonly value: T;
  /** Index just past the number and the blanks after it (where "units" would start). */
  readonly end: number;
}

const SIGN_VIEW = new DataView(new ArrayBuffer(8));

/**
 * C's signbit: whether the sign bit of a double is set, NaN included (glibc's printf shows
 * such a NaN as "-nan"; x86's 0/0 and strtod("-nan") make one, as V8's arithmetic does).
 * @param v the number
 * @returns true when the sign bit is set
 */
export function signBit(v: number): boolean {
  SIGN_VIEW.setFloat64(0, v);
  return (SIGN_VIEW.getUint8(0) & 0x80) !== 0;
}

/** C's `%g`/`%f` text of a NaN: glibc prints its sign. */
export function nanText(v: number): string {
  return signBit(v) ? "-nan" : "nan";
}

const TWO_64 = 1n << 64n;
const INT64_MAX = (1n << 63n) - 1n;

/** C's isspace in the "C" locale. */
function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s[i])) i++;
  return i;
}

function digitValue(c: string | undefined): number {
  if (c === undefined) return 99;
  const k = c.charCodeAt(0);
  if (k >= 48 && k <= 57) return k - 48;
  if (k >= 97 && k <= 102) return k - 87;
  if (k >= 65 && k <= 70) return k - 55;
  return 99;
}

/** The sign and digits of an integer at `at` (base 0: 0x hex, leading-0 octal, decimal). */
function scanDigits(
  s: string,
  at: number,
  base: 0 | 10,
): { neg: boolean; mag: bigint; end: number } | undefined {
  let i = skipSpace(s, at);
  let neg = false;
  if (s[i] === "+" || s[i] === "-") neg = s[i++] === "-";
  let radix = 10;
  if (base === 0) {
    if (s[i] === "0" && (s[i + 1] === "x" || s[i + 1] === "X") && digitValue(s[i + 2]) < 16) {
      radix = 16;
      i += 2;
    } else if (s[i] === "0") radix = 8;
  }
  const start = i;
  let mag = 0n;
  const r = BigInt(radix);
  while (digitValue(s[i]) < radix) mag = mag * r + BigInt(digitValue(s[i++]));
  return i === start ? undefined : { neg, mag, end: i };
}

/**
 * strtol (signed) or strtoul (unsigned) with base 0 (0x hex, leading-0 octal, decimal) or
 * 10. strtoul takes a sign too and negates modulo 2^64, as C does ("-1" is 2^64-1).
 */
function scanInteger(
  s: string,
  base: 0 | 10,
  unsigned: boolean,
): { value: bigint; end: number } | "noConversion" | "overflow" {
  const d = scanDigits(s, 0, base);
  if (!d) return "noConversion";
  const { neg, mag, end } = d;
  if (unsigned) {
    if (mag >= TWO_64) return "overflow";
    return { value: neg ? (TWO_64 - mag) % TWO_64 : mag, end };
  }
  if (mag > (neg ? INT64_MAX + 1n : INT64_MAX)) return "overflow";
  return { value: neg ? -mag : mag, end };
}

/**
 * strtol(s + at, &end, 0) on a 64-bit long (LONG_MAX or LONG_MIN on overflow, as glibc), its
 * result stored into an epicsInt32 (the low 32 bits), as dbChannel's array ranges and
 * epicsParseInt32 with units read one.
 * @param s the text
 * @param at where to start
 * @returns the number and where reading stopped (`at` itself when no digits were read)
 */
export function strtolInt32(s: string, at = 0): { value: number; end: number } {
  const d = scanDigits(s, at, 0);
  if (!d) return { value: 0, end: at };
  const long = d.neg
    ? (d.mag > INT64_MAX + 1n ? -(INT64_MAX + 1n) : -d.mag)
    : (d.mag > INT64_MAX ? INT64_MAX : d.mag);
  return { value: Number(BigInt.asIntN(32, long)), end: d.end };
}

/**
 * epicsParseLong/ULong/LLong/ULLong: an integer with blanks around it; without `units`
 * nothing else may follow.
 * @param text the text
 * @param options base 0 or 10, strtoul rather than strtol, whether text may follow
 * @returns the number and where the rest starts, or why there is none
 */
export function parseCInteger(
  text: string,
  options: { base: 0 | 10; unsigned: boolean; units: boolean },
): Scanned<bigint> | ParseFailure {
  const r = scanInteger(text, options.base, options.unsigned);
  if (typeof r === "string") return r;
  const end = skipSpace(text, r.end);
  if (end < text.length && !options.units) return "extraneous";
  return { value: r.value, end };
}

const DBL_MIN = 2.2250738585072014e-308;

/** Hex digits with an optional point, then an optional binary exponent (glibc's hex floats). */
function scanHexFloat(s: string, i: number): { value: number; end: number } | undefined {
  let mant = 0n;
  let digits = 0;
  let fracDigits = 0;
  let j = i;
  while (digitValue(s[j]) < 16) {
    mant = mant * 16n + BigInt(digitValue(s[j++]));
    digits++;
  }
  if (s[j] === ".") {
    let k = j + 1;
    while (digitValue(s[k]) < 16) {
      mant = mant * 16n + BigInt(digitValue(s[k++]));
      digits++;
      fracDigits++;
    }
    if (digits > 0) j = k;
  }
  if (digits === 0) return undefined;
  let exp = 0;
  if (s[j] === "p" || s[j] === "P") {
    let k = j + 1;
    let eneg = false;
    if (s[k] === "+" || s[k] === "-") eneg = s[k++] === "-";
    const e0 = k;
    while (digitValue(s[k]) < 10) k++;
    if (k > e0) {
      exp = (eneg ? -1 : 1) * Math.min(Number(s.slice(e0, k)), 1e6);
      j = k;
    }
  }
  return { value: Number(mant) * 2 ** (exp - 4 * fracDigits), end: j };
}

/**
 * strtod: decimal or hex floats, inf/infinity, nan and nan(...). `range` tells of glibc's
 * ERANGE: a finite text too large (overflow), or too small to be a normal double.
 */
function scanDouble(
  s: string,
): { value: number; end: number; range?: boolean } | "noConversion" {
  let i = skipSpace(s, 0);
  let neg = false;
  if (s[i] === "+" || s[i] === "-") neg = s[i++] === "-";
  const sign = neg ? -1 : 1;
  const word = s.slice(i, i + 8).toLowerCase();
  if (word.startsWith("infinity")) return { value: sign * Infinity, end: i + 8 };
  if (word.startsWith("inf")) return { value: sign * Infinity, end: i + 3 };
  if (word.startsWith("nan")) {
    let end = i + 3;
    if (s[end] === "(") {
      const close = s.indexOf(")", end);
      if (close > 0 && /^[0-9A-Za-z_]*$/.test(s.slice(end + 1, close))) end = close + 1;
    }
    // glibc keeps the sign: strtod("-nan") has its sign bit set.
    return { value: neg ? -NaN : NaN, end };
  }
  let value: number;
  let end: number;
  let zeroDigits = false;
  const hex = s[i] === "0" && (s[i + 1] === "x" || s[i + 1] === "X")
    ? scanHexFloat(s, i + 2)
    : undefined;
  if (hex) {
    value = hex.value;
    end = hex.end;
    zeroDigits = !/[1-9a-f]/i.test(s.slice(i + 2, end).replace(/p.*$/i, ""));
  } else {
    const m = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(s.slice(i));
    if (!m) return "noConversion";
    value = Number(m[0]);
    end = i + m[0].length;
    zeroDigits = !/[1-9]/.test(m[1]);
  }
  const a = Math.abs(value);
  const range = a === Infinity || (a < DBL_MIN && !zeroDigits);
  return { value: sign * value, end, range };
}

/**
 * epicsParseDouble: a double with blanks around it; glibc's ERANGE is an error (underflow
 * when the result is zero, overflow otherwise, subnormal results included).
 * @param text the text
 * @param options whether text may follow the number
 * @returns the number and where the rest starts, or why there is none
 */
export function parseCDouble(
  text: string,
  options: { units: boolean },
): Scanned<number> | ParseFailure {
  const r = scanDouble(text);
  if (typeof r === "string") return r;
  if (r.range) return r.value === 0 ? "underflow" : "overflow";
  const end = skipSpace(text, r.end);
  if (end < text.length && !options.units) return "extraneous";
  return { value: r.value, end };
}

const FLT_MIN = 1.1754943508222875e-38;
const FLT_MAX = 3.4028234663852886e38;

/**
 * epicsParseFloat: epicsParseDouble, then the float's range (base checks positive values
 * for underflow only, and refuses finite values from FLT_MAX up).
 * @param text the text
 * @param options whether text may follow the number
 * @returns the number (rounded to a float) and where the rest starts, or why there is none
 */
export function parseCFloat(
  text: string,
  options: { units: boolean },
): Scanned<number> | ParseFailure {
  const r = parseCDouble(text, options);
  if (typeof r === "string") return r;
  const a = Math.abs(r.value);
  if (r.value > 0 && a <= FLT_MIN) return "underflow";
  if (Number.isFinite(r.value) && a >= FLT_MAX) return "overflow";
  return { value: Math.fround(r.value), end: r.end };
}
