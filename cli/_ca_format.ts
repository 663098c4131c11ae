/**
 * Text formatting shared by our catools (`caget`, `caput`, `camonitor`, `cainfo`).
 *
 * Everything here is pure: decoded DBR payloads plus options in, the exact text the
 * EPICS base tools print out. The rules come from the cli-formats digest (B1-B5) and
 * were checked against recorded runs of the real tools (../shared/vectors/ca) and
 * EPICS base 7.0.8.1 run locally. Each formatter returns complete lines, each ending
 * with "\n", so the caller writes the result unchanged.
 *
 * The module also carries a small C `printf` (numbers must print exactly as glibc
 * prints them: `1e-05`, `1.23457e+08`, `nan`, round-half-even on the exact binary
 * value) and the escape/unescape pair catools use for strings.
 * @module
 */

import { escapeBytes, escapeText } from "../lib/core/escapes.ts";
import { DBF_NAMES, MAX_ENUM_STATES } from "../lib/ca/proto/constants.ts";
import { dbrInfo, dbrName, isValidDbrType } from "../lib/ca/proto/dbr.ts";
import type { DbrFamily, DbrTypeInfo } from "../lib/ca/proto/dbr.ts";
import type { DbrData, DbrMeta } from "../lib/ca/proto/dbr_types.ts";
import type { EpicsTimeStamp } from "../lib/core/time.ts";
import { POSIX_TIME_AT_EPICS_EPOCH } from "../lib/core/time.ts";

// ---------------------------------------------------------------------------------
// C printf
// ---------------------------------------------------------------------------------

/** One parsed printf conversion (`%-08.3f` → flags "-0", width 8, precision 3, "f"). */
interface ConvSpec {
  flags: string;
  width: number;
  precision: number | undefined;
  conv: string;
}

const SPEC_RE = /%([-+ #0]*)(\d+|\*)?(?:\.(\d*|\*))?(?:hh|h|ll|l|L|q|j|z|t)?([diouxXeEfFgGcs%])/g;

/**
 * Formats like C's `sprintf` for the conversions catools use: `d i u o x X e E f F g G
 * c s %`, with flags `- + space # 0`, width, precision and `*`. Length modifiers
 * (`l`, `h`, ...) are accepted and ignored. Doubles round half-even on their exact
 * binary value, as glibc does.
 * @param fmt the format string
 * @param args the arguments, one per conversion (two or three with `*`)
 * @returns the formatted text
 * @example
 * ```ts
 * import { sprintf } from "./_ca_format.ts";
 * if (sprintf("%g|%-5d|%X", 1e-5, 42, 255) !== "1e-05|42   |FF") throw new Error();
 * ```
 */
export function sprintf(fmt: string, ...args: unknown[]): string {
  let i = 0;
  return fmt.replace(SPEC_RE, (_m, flags: string, w?: string, p?: string, conv?: string) => {
    if (conv === "%") return "%";
    let fl = flags;
    let width = 0;
    if (w === "*") {
      width = Number(args[i++]);
      if (width < 0) {
        fl += "-";
        width = -width;
      }
    } else if (w) width = Number(w);
    let precision: number | undefined;
    if (p === "*") {
      const v = Number(args[i++]);
      precision = v >= 0 ? v : undefined;
    } else if (p !== undefined) precision = p === "" ? 0 : Number(p);
    return formatOne({ flags: fl, width, precision, conv: conv! }, args[i++]);
  });
}

const G_SPEC: ConvSpec = { flags: "", width: 0, precision: undefined, conv: "g" };

/**
 * C's `%g` of one double (the catools default float format).
 * @param x the value
 * @returns the text, e.g. "3.14159", "1e-05", "1.23457e+08", "nan", "-inf"
 */
export function formatG(x: number): string {
  return shortG(x) ?? formatDouble(G_SPEC, x);
}

/**
 * `%g` without digit work when it is JS's own shortest text: for 1e-4 <= |x| < 1e6 the
 * shortest round-trip text is plain notation, and with at most 6 significant digits it
 * lies on %g's 6-digit grid a hair's breadth from x, so %g rounds to it exactly (and
 * strips the same trailing zeros). Undefined when the full formatter must decide.
 */
function shortG(x: number): string | undefined {
  const ax = x < 0 ? -x : x;
  if (!(ax >= 1e-4 && ax < 1e6)) return x === 0 && !Object.is(x, -0) ? "0" : undefined;
  const s = String(x);
  let digits = 0;
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    if (c !== 48) started = true;
    if (started && ++digits > 6) return undefined;
  }
  return s;
}

function formatOne(spec: ConvSpec, arg: unknown): string {
  switch (spec.conv) {
    case "d":
    case "i":
    case "u":
    case "o":
    case "x":
    case "X":
      return formatInteger(spec, arg);
    case "c": {
      const s = typeof arg === "number"
        ? String.fromCharCode(arg & 0xff)
        : String(arg ?? "")[0] ?? "";
      return pad(s, spec.width, spec.flags.includes("-"));
    }
    case "s": {
      let s = String(arg ?? "(null)");
      if (spec.precision !== undefined) s = s.slice(0, spec.precision);
      return pad(s, spec.width, spec.flags.includes("-"));
    }
    default:
      return formatDouble(spec, Number(arg));
  }
}

function pad(s: string, width: number, left: boolean): string {
  if (s.length >= width) return s;
  return left ? s + " ".repeat(width - s.length) : " ".repeat(width - s.length) + s;
}

/** Applies sign, width, `-` and `0` to a formatted magnitude. */
function finish(spec: ConvSpec, negative: boolean, body: string, zeroOk: boolean): string {
  const sign = negative
    ? "-"
    : spec.flags.includes("+")
    ? "+"
    : spec.flags.includes(" ")
    ? " "
    : "";
  const left = spec.flags.includes("-");
  const len = sign.length + body.length;
  if (len >= spec.width) return sign + body;
  if (!left && zeroOk && spec.flags.includes("0")) {
    return sign + "0".repeat(spec.width - len) + body;
  }
  return pad(sign + body, spec.width, left);
}

function formatInteger(spec: ConvSpec, arg: unknown): string {
  let v: bigint;
  if (typeof arg === "bigint") v = arg;
  else {
    const n = Number(arg);
    v = Number.isFinite(n) ? BigInt(Math.trunc(n)) : 0n;
  }
  const conv = spec.conv;
  let negative = false;
  if (conv === "d" || conv === "i") {
    if (v < 0n) {
      negative = true;
      v = -v;
    }
  } else if (v < 0n) {
    // C reinterprets a negative int as unsigned; ints are 32-bit, longs 64-bit.
    v = v >= -(1n << 31n) ? BigInt.asUintN(32, v) : BigInt.asUintN(64, v);
  }
  const radix = conv === "o" ? 8 : conv === "x" || conv === "X" ? 16 : 10;
  let digits = v.toString(radix);
  if (conv === "X") digits = digits.toUpperCase();
  if (spec.precision !== undefined) {
    if (spec.precision === 0 && v === 0n) digits = "";
    else if (digits.length < spec.precision) {
      digits = "0".repeat(spec.precision - digits.length) + digits;
    }
  }
  if (spec.flags.includes("#")) {
    if (conv === "o" && !digits.startsWith("0")) digits = "0" + digits;
    if ((conv === "x" || conv === "X") && v !== 0n) digits = (conv === "x" ? "0x" : "0X") + digits;
  }
  if (conv !== "d" && conv !== "i") spec = { ...spec, flags: spec.flags.replace(/[+ ]/g, "") };
  return finish(spec, negative, digits, spec.precision === undefined);
}

/** Decimal digits of a finite non-negative double: value = 0.DIGITS × 10^exp. */
interface Digits {
  /** Significant digits, no leading zeros ("" for zero). */
  d: string;
  /** Decimal exponent: the value is 0.d × 10^exp. */
  exp: number;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The exact decimal expansion of |x| (a finite double), trailing zeros stripped. */
function exactDigits(x: number): Digits {
  f64[0] = Math.abs(x);
  const hi = u32[LITTLE ? 1 : 0];
  const lo = u32[LITTLE ? 0 : 1];
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (bexp === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = bexp - 1075;
  }
  if (mant === 0n) return { d: "", exp: 0 };
  let s: string;
  let exp: number;
  if (e2 >= 0) {
    s = (mant << BigInt(e2)).toString();
    exp = s.length;
  } else {
    s = (mant * 5n ** BigInt(-e2)).toString();
    exp = s.length + e2;
  }
  return { d: s.replace(/0+$/, ""), exp };
}

/** Shortest round-trip digits of |x| (finite, non-zero), from JavaScript's own printer. */
function shortestDigits(x: number): Digits {
  return parseExponential(Math.abs(x).toExponential());
}

/** Digits of JavaScript's "d.ddde±n" form, trailing zeros stripped. */
function parseExponential(t: string): Digits {
  const at = t.indexOf("e");
  const d = t.slice(0, at).replace(".", "").replace(/0+$/, "");
  return { d, exp: Number(t.slice(at + 1)) + 1 };
}

/**
 * Rounds |x| to `keep` significant digits, half-even on the exact value. `keep` may be
 * 0 or negative (everything lies below the rounding position) when fixed notation
 * asks for fewer fraction digits than the value's magnitude needs.
 */
/** Smallest normal double: below it the ulp is no longer relative, so no fast path. */
const MIN_NORMAL = 2.2250738585072014e-308;

function roundedDigits(x: number, keep: (exp: number) => number): Digits {
  if (x === 0) return { d: "", exp: 0 };
  // Fast path: when the shortest round-trip form has no more digits than we keep (and
  // we keep at most 15, well above a double's half-ulp), it is the correctly rounded
  // result; no BigInt needed. This is the common case for values typed by people.
  if (x >= MIN_NORMAL) {
    const sh = shortestDigits(x);
    const k0 = keep(sh.exp);
    if (k0 <= 15 && sh.d.length <= k0) return sh;
    // JavaScript's toExponential rounds correctly except on an exact tie, which it breaks
    // upward where C breaks to even. An exact tie needs a value whose exact expansion
    // has k+1 digits ending in 5; with k <= 16 that expansion is its own shortest form,
    // so a shortest form of any other shape proves there is no tie.
    if (k0 >= 1 && k0 <= 16 && !(sh.d.length === k0 + 1 && sh.d.endsWith("5"))) {
      return parseExponential(x.toExponential(k0 - 1));
    }
  }
  const ex = exactDigits(x);
  const k = keep(ex.exp);
  return roundDigitString(ex, k);
}

function roundDigitString(ex: Digits, k: number): Digits {
  const { d, exp } = ex;
  if (d.length <= k) return ex;
  if (k < 0) return { d: "", exp: 0 };
  // Decide the direction from the first dropped digit and whatever follows it.
  const first = d.charCodeAt(k) - 48;
  let up: boolean;
  if (first > 5) up = true;
  else if (first < 5) up = false;
  else if (d.length > k + 1) up = true; // trailing zeros were stripped: rest is non-zero
  else up = k > 0 && (d.charCodeAt(k - 1) - 48) % 2 === 1; // exact tie: to even
  let kept = d.slice(0, k);
  if (!up) {
    kept = kept.replace(/0+$/, "");
    return kept === "" ? { d: "", exp: 0 } : { d: kept, exp };
  }
  // Increment the kept digits.
  const arr = kept.split("");
  let j = arr.length - 1;
  while (j >= 0 && arr[j] === "9") {
    arr[j] = "0";
    j--;
  }
  if (j < 0) return { d: "1", exp: exp + 1 };
  arr[j] = String.fromCharCode(arr[j].charCodeAt(0) + 1);
  return { d: arr.join("").replace(/0+$/, ""), exp };
}

function digitAt(r: Digits, i: number): string {
  return i >= 0 && i < r.d.length ? r.d[i] : "0";
}

/** Fixed notation of rounded digits with `prec` fraction digits. */
function fixedBody(r: Digits, prec: number, alt: boolean): string {
  let int = "";
  if (r.d === "" || r.exp <= 0) int = "0";
  else for (let i = 0; i < r.exp; i++) int += digitAt(r, i);
  let frac = "";
  for (let i = 0; i < prec; i++) frac += r.d === "" ? "0" : digitAt(r, r.exp + i);
  return prec > 0 || alt ? `${int}.${frac}` : int;
}

/** Exponent notation of rounded digits with `prec` fraction digits. */
function expBody(r: Digits, prec: number, alt: boolean, upper: boolean): string {
  const e = r.d === "" ? 0 : r.exp - 1;
  let frac = "";
  for (let i = 1; i <= prec; i++) frac += digitAt(r, i);
  const mant = prec > 0 || alt ? `${digitAt(r, 0)}.${frac}` : digitAt(r, 0);
  const ae = Math.abs(e);
  return `${mant}${upper ? "E" : "e"}${e < 0 ? "-" : "+"}${ae < 10 ? "0" : ""}${ae}`;
}

function formatDouble(spec: ConvSpec, x: number): string {
  const conv = spec.conv;
  const upper = conv === "E" || conv === "F" || conv === "G";
  const alt = spec.flags.includes("#");
  // glibc prints the sign of negative zero (and of infinities).
  const negative = x < 0 || Object.is(x, -0);
  if (Number.isNaN(x)) return finish(spec, false, upper ? "NAN" : "nan", false);
  if (!Number.isFinite(x)) return finish(spec, negative, upper ? "INF" : "inf", false);
  const ax = Math.abs(x);
  let body: string;
  if (conv === "f" || conv === "F") {
    const prec = spec.precision ?? 6;
    body = fixedBody(roundedDigits(ax, (exp) => exp + prec), prec, alt);
  } else if (conv === "e" || conv === "E") {
    const prec = spec.precision ?? 6;
    body = expBody(roundedDigits(ax, () => prec + 1), prec, alt, upper);
  } else {
    let p = spec.precision ?? 6;
    if (p === 0) p = 1;
    const r = roundedDigits(ax, () => p);
    const xExp = r.d === "" ? 0 : r.exp - 1;
    if (xExp < p && xExp >= -4) body = fixedBody(r, p - 1 - xExp, alt);
    else body = expBody(r, p - 1, alt, upper);
    if (!alt) {
      // Strip trailing fraction zeros (and a bare point) from the mantissa only.
      const e = body.search(/[eE]/);
      const mant = e < 0 ? body : body.slice(0, e);
      if (mant.includes(".")) {
        body = mant.replace(/\.?0+$/, "") + (e < 0 ? "" : body.slice(e));
      }
    }
  }
  return finish(spec, negative, body, true);
}

// ---------------------------------------------------------------------------------
// Options and their parsing
// ---------------------------------------------------------------------------------

/** How `-l` (floats) or `-0` (integers) shows numbers: decimal, or rounded int in a radix. */
export type RadixMode = "dec" | "hex" | "oct" | "bin";

/** Output mode of caget: plain, `-t` terse, `-a` wide (time + alarm), `-d` detail. */
export type CaOutputMode = "plain" | "terse" | "wide" | "detail";

/** The catools flags that change how values print. */
export interface CaFormatOptions {
  /** Output mode (`-t`, `-a`, `-d`); default "plain". */
  mode: CaOutputMode;
  /** Field separator `-F` (its first character only); default " ". */
  separator: string;
  /** printf format for FLOAT/DOUBLE values: "%g" or `"%-.N{e|f|g}"` from `-e/-f/-g`. */
  floatFormat: string;
  /** `-l x|o|b`: FLOAT/DOUBLE values rounded to an int and shown in that radix. */
  floatRadix: RadixMode;
  /** `-0 x|o|b`: SHORT/LONG values shown in that radix. */
  intRadix: RadixMode;
  /** `-n`: enums as their index, even in GR/CTRL payloads. */
  enumAsNumber: boolean;
  /** `-s`: floats (and enums) are requested as strings from the server. */
  stringFromServer: boolean;
  /** `-S`: a CHAR array prints as an escaped string. */
  charArrayAsString: boolean;
  /** `-#` count (0: not given). Any non-zero count makes the count prefix print. */
  requestCount: number;
}

/** The catools defaults: plain mode, space separator, `%g`, decimal numbers. */
export const DEFAULT_CA_FORMAT: Readonly<CaFormatOptions> = Object.freeze({
  mode: "plain",
  separator: " ",
  floatFormat: "%g",
  floatRadix: "dec",
  intRadix: "dec",
  enumAsNumber: false,
  stringFromServer: false,
  charArrayAsString: false,
  requestCount: 0,
});

/**
 * Fills in the defaults for unspecified options.
 * @param o the options given
 * @returns complete options
 */
export function caFormatOptions(o: Partial<CaFormatOptions> = {}): CaFormatOptions {
  // Formatters call this per line: options it already completed pass straight through.
  if (completed.has(o)) return o as CaFormatOptions;
  const out: CaFormatOptions = { ...DEFAULT_CA_FORMAT };
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  }
  out.separator = out.separator === "" ? " " : out.separator[0];
  completed.add(out);
  return out;
}

/** Option objects made by {@link caFormatOptions} (callers must not mutate them). */
const completed = new WeakSet<object>();

/** Outcome of parsing a formatting option's argument: the value, or the tool's warning. */
export interface OptionParse<T> {
  /** The accepted value; undefined when the argument was rejected. */
  value?: T;
  /** The exact warning line (no newline) the real tool writes to stderr on rejection. */
  warning?: string;
}

/** The largest precision `-e/-f/-g` accept (EPICS `VALID_DOUBLE_DIGITS`). */
export const MAX_PRECISION = 18;

/**
 * Reads a leading integer as C's `sscanf("%d")` does: optional blanks, an optional
 * sign, digits; anything after is ignored.
 */
function scanInt(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) : undefined;
}

/**
 * Parses the argument of `-e`, `-f` or `-g` into a float format.
 * @param arg the option's argument
 * @param opt the option letter ("e", "f" or "g")
 * @returns `{ value: "%-.Nf" }` or the warning the real tool prints
 * @example
 * ```ts
 * import { parsePrecision } from "./_ca_format.ts";
 * if (parsePrecision("3", "f").value !== "%-.3f") throw new Error();
 * if (parsePrecision("19", "e").warning !== "Precision 19 for option '-e' out of range - ignored.") {
 *   throw new Error();
 * }
 * ```
 */
export function parsePrecision(arg: string, opt: string): OptionParse<string> {
  const n = scanInt(arg);
  if (n === undefined) {
    return { warning: `Invalid precision argument '${arg}' for option '-${opt}' - ignored.` };
  }
  if (n < 0 || n > MAX_PRECISION) {
    return { warning: `Precision ${n} for option '-${opt}' out of range - ignored.` };
  }
  return { value: `%-.${n}${opt}` };
}

/**
 * Parses the argument of `-l` or `-0` (`x`, `o` or `b`; only the first character counts).
 * @param arg the option's argument
 * @param opt the option letter ("l" or "0")
 * @returns the radix or the warning the real tool prints
 */
export function parseRadix(arg: string, opt: string): OptionParse<RadixMode> {
  switch (arg[0]) {
    case "x":
      return { value: "hex" };
    case "o":
      return { value: "oct" };
    case "b":
      return { value: "bin" };
  }
  return { warning: `Invalid argument '${arg}' for option '-${opt}' - ignored.` };
}

/**
 * Parses the argument of `-#`.
 * @param arg the option's argument
 * @param tool the tool name for the help hint ("caget", "camonitor")
 * @returns the count, or the warning the real tool prints
 */
export function parseCount(arg: string, tool: string): OptionParse<number> {
  const n = scanInt(arg);
  if (n === undefined) {
    return {
      warning: `'${arg}' is not a valid array element count - ignored. ('${tool} -h' for help.)`,
    };
  }
  return { value: n < 0 ? 0 : n };
}

/**
 * Picks the DBR type caget and camonitor request for a channel (outside `-d` mode):
 * DBR_TIME_<native>, except enums (DBR_TIME_STRING, or DBR_TIME_SHORT with `-n`) and,
 * with `-s`, floats (DBR_TIME_STRING).
 * @param nativeType the channel's native type 0..6
 * @param opts the options
 * @returns the DBR type code to request
 */
export function cagetRequestType(
  nativeType: number,
  opts: Pick<CaFormatOptions, "enumAsNumber" | "stringFromServer">,
): number {
  const TIME = 14;
  if (nativeType === 3) return opts.enumAsNumber ? TIME + 1 : TIME;
  if ((nativeType === 2 || nativeType === 6) && opts.stringFromServer) return TIME;
  return TIME + nativeType;
}

// ---------------------------------------------------------------------------------
// Timestamps, alarms, names
// ---------------------------------------------------------------------------------

/** The local-time offset (minutes east of UTC) at a POSIX time, from the JS runtime. */
export function localUtcOffset(posixMs: number): number {
  return -new Date(posixMs).getTimezoneOffset();
}

/**
 * Formats an EPICS timestamp as catools do (`%Y-%m-%d %H:%M:%S.%06f`): microseconds,
 * rounded; the zero stamp prints `<undefined>`.
 * @param stamp the timestamp
 * @param utcOffset minutes east of UTC, or a function of the POSIX time in ms giving it
 *   (default: the runtime's local zone)
 * @returns the text
 * @example
 * ```ts
 * import { formatTimestamp } from "./_ca_format.ts";
 * const t = formatTimestamp({ secPastEpoch: 1163676846, nsec: 897176123 }, 0);
 * if (t !== "2026-11-16 11:34:06.897176") throw new Error(t);
 * ```
 */
export function formatTimestamp(
  stamp: EpicsTimeStamp,
  utcOffset: number | ((posixMs: number) => number) = localUtcOffset,
): string {
  if (stamp.secPastEpoch === 0 && stamp.nsec === 0) return "<undefined>";
  const posixSec = stamp.secPastEpoch + POSIX_TIME_AT_EPICS_EPOCH;
  const off = typeof utcOffset === "number" ? utcOffset : utcOffset(posixSec * 1000);
  const d = new Date((posixSec + off * 60) * 1000);
  const p2 = (n: number) => String(n).padStart(2, "0");
  // Rounded half up to the microsecond, as EPICS strftime does (the recorded runs show
  // it); like EPICS, a carry past 999999 is clamped so the seconds never change.
  const micro = String(Math.min(Math.round(stamp.nsec / 1000), 999999)).padStart(6, "0");
  return `${String(d.getUTCFullYear()).padStart(4, "0")}-${p2(d.getUTCMonth() + 1)}-` +
    `${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:` +
    `${p2(d.getUTCSeconds())}.${micro}`;
}

const STATUS_NAMES = [
  "NO_ALARM",
  "READ",
  "WRITE",
  "HIHI",
  "HIGH",
  "LOLO",
  "LOW",
  "STATE",
  "COS",
  "COMM",
  "TIMEOUT",
  "HWLIMIT",
  "CALC",
  "SCAN",
  "LINK",
  "SOFT",
  "BAD_SUB",
  "UDF",
  "DISABLE",
  "SIMM",
  "READ_ACCESS",
  "WRITE_ACCESS",
];
const SEVERITY_NAMES = ["NO_ALARM", "MINOR", "MAJOR", "INVALID"];

/**
 * The alarm status name catools print (`??` when out of range).
 * @param code the status code
 * @returns the name
 */
export function alarmStatusText(code: number): string {
  return STATUS_NAMES[code] ?? "??";
}

/**
 * The alarm severity name catools print (`??` when out of range).
 * @param code the severity code
 * @returns the name
 */
export function alarmSeverityText(code: number): string {
  return SEVERITY_NAMES[code] ?? "??";
}

/**
 * The name column: `%-30s` when the element count is at most 1 and the separator is a
 * space, the bare name otherwise (never truncated).
 * @param name the PV name
 * @param count the element count that decides the padding
 * @param separator the field separator
 * @returns the column text (without the separator)
 */
export function nameColumn(name: string, count: number, separator: string): string {
  return count <= 1 && separator === " " ? name.padEnd(30) : name;
}

// ---------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------

/** What a formatter needs besides the payload. */
export interface CaFormatContext {
  /** The DBR type of the payload. */
  dbrType: number;
  /** The channel's native type 0..6 (DBF_*); used by `-d` mode. */
  nativeType?: number;
  /** The options (defaults filled in by {@link caFormatOptions}). */
  options?: Partial<CaFormatOptions>;
  /**
   * The element count that decides the name padding and the count prefix; default
   * the payload's length. caput passes its request count here.
   */
  count?: number;
}

/** Binary text without leading zeros; 0 prints "0". */
function binary(v: number): string {
  return (v >>> 0).toString(2);
}

function radixText(v: number, mode: RadixMode): string {
  switch (mode) {
    case "hex":
      return "0x" + (v >>> 0).toString(16).toUpperCase();
    case "oct":
      return "0o" + (v >>> 0).toString(8);
    case "bin":
      return binary(v);
  }
  return String(v);
}

/** C's `(epicsInt32)(v > 0 ? v + 0.5 : v - 0.5)`; out of range gives INT32_MIN (x86). */
function roundToInt32(v: number): number {
  const r = Math.trunc(v > 0 ? v + 0.5 : v - 0.5);
  if (!(r >= -2147483648 && r <= 2147483647)) return -2147483648;
  return r;
}

function signedChar(v: number): number {
  return v > 127 ? v - 256 : v;
}

function familyOf(dbrType: number): DbrFamily {
  return dbrInfo(dbrType).family;
}

/**
 * Formats element `i` of a payload as catools do (`val2str`).
 * @param data the decoded payload
 * @param i the element index
 * @param ctx the DBR type and options
 * @returns the element's text
 */
export function formatElement(data: DbrData, i: number, ctx: CaFormatContext): string {
  return elementText(data, i, dbrInfo(ctx.dbrType), caFormatOptions(ctx.options));
}

function elementText(data: DbrData, i: number, info: DbrTypeInfo, o: CaFormatOptions): string {
  const v = data.value[i];
  if (typeof v === "string") return escapeText(v, "escaped");
  const n = v as number;
  switch (info.valueType) {
    case 1:
    case 5:
      return o.intRadix === "dec" ? String(n) : radixText(n, o.intRadix);
    case 2:
    case 6:
      if (o.floatRadix !== "dec") return radixText(roundToInt32(n), o.floatRadix);
      return o.floatFormat === "%g" ? formatG(n) : sprintf(o.floatFormat, n);
    case 3: {
      const rich = info.family === "gr" || info.family === "ctrl";
      if (!rich || o.enumAsNumber) return String(n);
      const strs = data.meta.enumStrings ?? [];
      if (n >= MAX_ENUM_STATES) return `Illegal Value (${n})`;
      if (n >= strs.length) return `Enum Index Overflow (${n})`;
      return strs[n];
    }
    case 4:
      return String(signedChar(n));
  }
  return String(n);
}

/**
 * The value fields of a line: with `-S` on a CHAR payload the escaped string up to the
 * first NUL; otherwise the elements joined by the separator, preceded by the count when
 * `withCount` is set and the count is above 1 or `-#` was given.
 * @param data the decoded payload
 * @param ctx the DBR type and options
 * @param withCount whether a count prefix may print (not in `-d` mode)
 * @returns the text
 */
export function formatValues(data: DbrData, ctx: CaFormatContext, withCount = true): string {
  const o = caFormatOptions(ctx.options);
  const info = dbrInfo(ctx.dbrType);
  const n = data.value.length;
  if (o.charArrayAsString && info.valueType === 4) {
    return escapeBytes(data.value as Uint8Array, "ends");
  }
  const counted = withCount && (o.requestCount > 0 || n > 1);
  if (n === 1 && !counted) return elementText(data, 0, info, o);
  const parts: string[] = [];
  if (counted) parts.push(String(n));
  for (let i = 0; i < n; i++) parts.push(elementText(data, i, info, o));
  return parts.join(o.separator);
}

// ---------------------------------------------------------------------------------
// caget, caput, camonitor lines
// ---------------------------------------------------------------------------------

/** Per-PV failures catools print in place of a value. */
export type CaPvError =
  | { kind: "not-connected" }
  | { kind: "no-read-access" }
  | { kind: "no-data" }
  | { kind: "ca-error"; message: string };

function errorText(e: CaPvError): string {
  switch (e.kind) {
    case "not-connected":
      return "*** not connected";
    case "no-read-access":
      return "*** no read access";
    case "no-data":
      return "*** no data available (timeout)";
    case "ca-error":
      return `*** CA error ${e.message}`;
  }
}

function countOf(data: DbrData, ctx: CaFormatContext): number {
  return ctx.count ?? data.value.length;
}

/** " STAT SEVR" (with separators) when in alarm, two separators otherwise. */
function alarmTail(meta: DbrMeta, sep: string): string {
  return meta.severity !== 0
    ? `${sep}${alarmStatusText(meta.status)}${sep}${alarmSeverityText(meta.severity)}`
    : sep + sep;
}

/**
 * One caget line in plain, terse (`-t`) or wide (`-a`) mode; `-d` mode delegates to
 * {@link formatCagetDetail}.
 * @param name the PV name
 * @param data the decoded payload
 * @param ctx the DBR type, options, and optionally the count and time zone
 * @returns the line(s), ending with "\n"
 * @example
 * ```ts
 * import { formatCagetLine } from "./_ca_format.ts";
 * const data = { value: new Float64Array([21.5]), meta: { status: 0, severity: 0 } };
 * const line = formatCagetLine("ai:temp", data, { dbrType: 20 });
 * if (line !== "ai:temp                        21.5\n") throw new Error();
 * ```
 */
export function formatCagetLine(
  name: string,
  data: DbrData,
  ctx: CaFormatContext & { utcOffset?: number | ((posixMs: number) => number) },
): string {
  const o = caFormatOptions(ctx.options);
  const sep = o.separator;
  switch (o.mode) {
    case "detail":
      return formatCagetDetail(name, data, ctx);
    case "terse":
      return formatValues(data, ctx) + "\n";
    case "wide": {
      const stamp = data.meta.stamp ?? { secPastEpoch: 0, nsec: 0 };
      return nameColumn(name, countOf(data, ctx), sep) + sep +
        formatTimestamp(stamp, ctx.utcOffset) + sep + formatValues(data, ctx) +
        alarmTail(data.meta, sep) + "\n";
    }
    default:
      return nameColumn(name, countOf(data, ctx), sep) + sep + formatValues(data, ctx) + "\n";
  }
}

/**
 * The line caget prints for a PV that failed in place of its value (plain and wide:
 * name column, separator, message; terse: the message; detail: name line and the
 * indented message).
 * @param name the PV name
 * @param error what went wrong
 * @param options the options (mode and separator matter)
 * @returns the line(s), ending with "\n"
 */
export function formatCagetError(
  name: string,
  error: CaPvError,
  options: Partial<CaFormatOptions> = {},
): string {
  const o = caFormatOptions(options);
  const text = errorText(error);
  switch (o.mode) {
    case "detail":
      return `${name}\n    ${text}\n`;
    case "terse":
      return text + "\n";
    default:
      return nameColumn(name, 1, o.separator) + o.separator + text + "\n";
  }
}

function detailLine(label: string, value: string): string {
  return `    ${label.padEnd(18)}${value}\n`;
}

const LIMITS: ReadonlyArray<[string, keyof DbrMeta]> = [
  ["Lo disp limit:", "lowerDispLimit"],
  ["Hi disp limit:", "upperDispLimit"],
  ["Lo alarm limit:", "lowerAlarmLimit"],
  ["Lo warn limit:", "lowerWarningLimit"],
  ["Hi warn limit:", "upperWarningLimit"],
  ["Hi alarm limit:", "upperAlarmLimit"],
];
const CTRL_LIMITS: ReadonlyArray<[string, keyof DbrMeta]> = [
  ["Lo ctrl limit:", "lowerCtrlLimit"],
  ["Hi ctrl limit:", "upperCtrlLimit"],
];

/**
 * The caget `-d` block: the name, then native type, request type, element count and
 * value, then the fields of the DBR family (timestamp; status and severity; units,
 * precision and limits; enum strings; ack fields; class name).
 * @param name the PV name
 * @param data the decoded payload
 * @param ctx the DBR type, the native type (required) and options
 * @returns the block, each line ending with "\n"
 */
export function formatCagetDetail(
  name: string,
  data: DbrData,
  ctx: CaFormatContext & { utcOffset?: number | ((posixMs: number) => number) },
): string {
  const info = dbrInfo(ctx.dbrType);
  const m = data.meta;
  let out = `${name}\n`;
  out += detailLine("Native data type:", dbfName(ctx.nativeType));
  out += detailLine("Request type:", info.name);
  if (ctx.dbrType === 38) {
    return out + detailLine("Class Name:", String(data.value[0] ?? ""));
  }
  out += detailLine("Element count:", String(countOf(data, ctx)));
  out += detailLine("Value:", formatValues(data, ctx, false));
  const fam = info.family;
  if (fam === "plain") return out;
  if (fam === "time") {
    out += detailLine(
      "Timestamp:",
      formatTimestamp(m.stamp ?? { secPastEpoch: 0, nsec: 0 }, ctx.utcOffset),
    );
  }
  out += detailLine("Status:", alarmStatusText(m.status));
  out += detailLine("Severity:", alarmSeverityText(m.severity));
  if (ctx.dbrType === 37) {
    out += detailLine("Ack transient?:", m.ackt ? "YES" : "NO");
    out += detailLine("Ack severity:", alarmSeverityText(m.acks ?? 0));
    return out;
  }
  if (fam !== "gr" && fam !== "ctrl") return out;
  const vt = info.valueType;
  if (vt === 0) return out;
  if (vt === 3) {
    const strs = m.enumStrings ?? [];
    out += detailLine("Enums:", sprintf("(%2d)", strs.length));
    strs.forEach((s, i) => out += " ".repeat(22) + sprintf("[%2d] %s", i, s) + "\n");
    return out;
  }
  out += detailLine("Units:", m.units ?? "");
  const isFloat = vt === 2 || vt === 6;
  if (isFloat) out += detailLine("Precision:", String(m.precision ?? 0));
  const lim = (v: number | undefined) =>
    isFloat ? sprintf("%g", v ?? 0) : sprintf("%8d", vt === 4 ? signedChar(v ?? 0) : v ?? 0);
  for (const [label, key] of LIMITS) out += detailLine(label, lim(m[key] as number));
  if (fam === "ctrl") {
    for (const [label, key] of CTRL_LIMITS) out += detailLine(label, lim(m[key] as number));
  }
  return out;
}

/**
 * The DBF name of a native type, "TYPENOTCONN" when unknown.
 * @param nativeType the channel's native type
 * @returns e.g. "DBF_DOUBLE"
 */
export function dbfName(nativeType: number | undefined): string {
  return nativeType === undefined ? "TYPENOTCONN" : DBF_NAMES[nativeType] ?? "TYPENOTCONN";
}

/**
 * The DBR type name catools print (`DBR_TIME_DOUBLE`).
 * @param dbrType the type code
 * @returns its name
 */
export function dbrTypeText(dbrType: number): string {
  return isValidDbrType(dbrType) ? dbrName(dbrType) : "DBR_invalid";
}

/**
 * One caput report line: `Old : ` / `New : ` followed by a plain caget line, or a wide
 * one when the mode is "wide" (caput `-l`). In terse mode (`-t`) only the New line
 * prints, as the bare value; the Old line is then empty.
 * @param label "Old" or "New"
 * @param name the PV name
 * @param data the payload read back
 * @param ctx the DBR type, options, and the request count (decides the padding)
 * @returns the line ending with "\n", or "" for a terse Old line
 */
export function formatCaputLine(
  label: "Old" | "New",
  name: string,
  data: DbrData,
  ctx: CaFormatContext & { utcOffset?: number | ((posixMs: number) => number) },
): string {
  const o = caFormatOptions(ctx.options);
  if (o.mode === "terse") return label === "New" ? formatValues(data, ctx) + "\n" : "";
  const mode = o.mode === "wide" ? "wide" : "plain";
  return `${label} : ` + formatCagetLine(name, data, { ...ctx, options: { ...o, mode } });
}

/** A time field of a camonitor line: an absolute stamp, or seconds relative to an earlier one. */
export type CamonitorTime =
  | { kind: "absolute"; stamp: EpicsTimeStamp }
  | { kind: "relative"; seconds: number };

/** The time part of a camonitor line (`-t`): server time, client time, either, both or none. */
export interface CamonitorTimes {
  /** Server time (`s`, the default: the payload's stamp); null hides it. */
  server?: CamonitorTime | null;
  /** Client time (`c`), shown in parentheses; absent by default. */
  client?: CamonitorTime | null;
  /** Time zone for absolute stamps (minutes east of UTC or a function); default local. */
  utcOffset?: number | ((posixMs: number) => number);
}

/**
 * The time text camonitor prints between the name and the value: the server time
 * (absolute, or `%+12.6f` seconds after 14 spaces) followed directly by the client time
 * in parentheses (`(abs)` or 14 spaces and `(%+12.6f)`); empty for `-t n`.
 * @param times which times to show
 * @returns the text
 */
export function formatCamonitorTime(times: CamonitorTimes): string {
  const one = (t: CamonitorTime, paren: boolean): string => {
    if (t.kind === "absolute") {
      const s = formatTimestamp(t.stamp, times.utcOffset);
      return paren ? `(${s})` : s;
    }
    const r = sprintf("%+12.6f", t.seconds);
    return " ".repeat(14) + (paren ? `(${r})` : r);
  };
  let out = "";
  if (times.server) out += one(times.server, false);
  if (times.client) out += one(times.client, true);
  return out;
}

/**
 * One camonitor update line: name column, separator, time text, separator, values, then
 * ` STAT SEVR` when in alarm or two separators otherwise.
 * @param name the PV name
 * @param data the update's payload
 * @param ctx the DBR type, options, and which times to show (default: the server stamp)
 * @returns the line ending with "\n"
 * @example
 * ```ts
 * import { formatCamonitorLine } from "./_ca_format.ts";
 * const data = {
 *   value: new Float64Array([3, 4, 5]),
 *   meta: { status: 0, severity: 0, stamp: { secPastEpoch: 1163676846, nsec: 0 } },
 * };
 * const line = formatCamonitorLine("wf", data, { dbrType: 20, times: { utcOffset: 0 } });
 * if (line !== "wf 2026-11-16 11:34:06.000000 3 3 4 5  \n") throw new Error(line);
 * ```
 */
export function formatCamonitorLine(
  name: string,
  data: DbrData,
  ctx: CaFormatContext & { times?: CamonitorTimes },
): string {
  const o = caFormatOptions(ctx.options);
  const sep = o.separator;
  const times: CamonitorTimes = {
    server: ctx.times?.server === undefined
      ? { kind: "absolute", stamp: data.meta.stamp ?? { secPastEpoch: 0, nsec: 0 } }
      : ctx.times.server,
    client: ctx.times?.client,
    utcOffset: ctx.times?.utcOffset,
  };
  return nameColumn(name, countOf(data, ctx), sep) + sep + formatCamonitorTime(times) + sep +
    formatValues(data, ctx) + alarmTail(data.meta, sep) + "\n";
}

/** Events camonitor reports instead of a value. */
export type CamonitorEvent =
  | { kind: "never-connected" }
  | { kind: "disconnected" }
  | { kind: "no-read-access" }
  | { kind: "no-data" }
  | { kind: "ca-error"; message: string };

/**
 * A camonitor line for a PV without a value: `*** Not connected (PV not found)` (no
 * time), or the time text followed by ` *** disconnected`, ` *** no read access`,
 * ` *** CA error <msg>` or ` *** no data available (timeout)`. A disconnect carries the
 * client's time: pass it as `times.server`.
 * @param name the PV name
 * @param event what happened
 * @param options the options (the separator matters)
 * @param times the time text to print (ignored for never-connected)
 * @returns the line ending with "\n"
 */
export function formatCamonitorEvent(
  name: string,
  event: CamonitorEvent,
  options: Partial<CaFormatOptions> = {},
  times: CamonitorTimes = {},
): string {
  const o = caFormatOptions(options);
  const head = nameColumn(name, 1, o.separator) + o.separator;
  if (event.kind === "never-connected") return head + "*** Not connected (PV not found)\n";
  const t = formatCamonitorTime(times);
  const what = event.kind === "disconnected"
    ? "*** disconnected"
    : event.kind === "ca-error"
    ? `*** CA error ${event.message}`
    : errorText(event);
  return `${head}${t} ${what}\n`;
}

// ---------------------------------------------------------------------------------
// cainfo
// ---------------------------------------------------------------------------------

/** What cainfo shows about a channel. */
export interface CainfoData {
  name: string;
  /** Channel state: "never connected", "previously connected", "connected" or "closed". */
  state: "never connected" | "previously connected" | "connected" | "closed";
  /** `host:port` of the server (ca_host_name). */
  host: string;
  read: boolean;
  write: boolean;
  /** Native type 0..6; undefined when not connected (prints TYPENOTCONN). */
  nativeType?: number;
  /** Native element count. */
  count: number;
}

/**
 * The cainfo block for one channel.
 * @param info the channel's facts
 * @returns the block, each line ending with "\n"
 * @example
 * ```ts
 * import { formatCainfo } from "./_ca_format.ts";
 * const t = formatCainfo({
 *   name: "T:ro", state: "connected", host: "localhost:5064",
 *   read: true, write: false, nativeType: 6, count: 1,
 * });
 * if (!t.includes("    Access:           read, no write\n")) throw new Error();
 * ```
 */
export function formatCainfo(info: CainfoData): string {
  const req = info.nativeType === undefined || DBF_NAMES[info.nativeType] === undefined
    ? "TYPENOTCONN"
    : dbrName(info.nativeType);
  return `${info.name}\n` +
    detailLine("State:", info.state) +
    detailLine("Host:", info.host) +
    detailLine("Access:", `${info.read ? "" : "no "}read, ${info.write ? "" : "no "}write`) +
    detailLine("Native data type:", dbfName(info.nativeType)) +
    detailLine("Request type:", req) +
    detailLine("Element count:", String(info.count));
}

/** Family of a DBR type, re-exported for callers choosing what to request. */
export { familyOf as dbrFamilyOf };
