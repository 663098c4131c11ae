/**
 * The text conventions of synApps autosave files: C's `%.<P>g` of a double (autosave writes
 * doubles with `%.14g` and floats with `%.7g`), and the C escapes of EPICS base's
 * epicsStrPrintEscaped (writer) and epicsStrnRawFromEscaped (reader).
 *
 * Pure: no I/O.
 * @module
 */

import { escapeText, unescapeText } from "../core/escapes.ts";

/**
 * C's `%.<precision>g` of a double, as glibc prints it (`nan`, `inf`, `-inf`, `-0`).
 * @param x the value
 * @param precision significant digits (`%.14g`: 14)
 * @returns the text
 * @example
 * ```ts
 * import { formatG } from "./text.ts";
 * if (formatG(0.1 + 0.2, 14) !== "0.3" || formatG(1e20, 14) !== "1e+20") throw new Error();
 * if (formatG(1.2345678, 7) !== "1.234568" || formatG(-0.0000123, 14) !== "-1.23e-05") throw new Error();
 * ```
 */
export function formatG(x: number, precision: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const p = precision <= 0 ? 1 : Math.min(precision, 100);
  // Integers that fit are exact and common (counts, limits, enum-like doubles).
  if (Number.isInteger(x) && Math.abs(x) < 10 ** p && Math.abs(x) < 2 ** 53) return String(x);
  // JS rounds a decimal tie up, C (glibc) to even: where the digit after the last one kept
  // is a 5, decide from the exact decimal value.
  const more = x.toExponential(Math.min(p, 100));
  const [digits, exp] = more.charCodeAt(more.indexOf("e") - 1) === 53
    ? roundExact(Math.abs(x), p)
    : splitExp(x.toExponential(p - 1));
  const sign = x < 0 ? "-" : "";
  if (exp >= -4 && exp < p) {
    let s: string;
    if (exp >= 0) {
      s = digits.slice(0, exp + 1) + (digits.length > exp + 1 ? "." + digits.slice(exp + 1) : "");
    } else s = "0." + "0".repeat(-exp - 1) + digits;
    return sign + stripZeros(s);
  }
  const mant = stripZeros(digits[0] + (digits.length > 1 ? "." + digits.slice(1) : ""));
  const ax = Math.abs(exp);
  return `${sign}${mant}e${exp < 0 ? "-" : "+"}${ax < 10 ? "0" : ""}${ax}`;
}

/** The digits (no sign, no point) and decimal exponent of a toExponential text. */
function splitExp(e: string): [string, number] {
  const at = e.indexOf("e");
  const m = e.charCodeAt(0) === 45 ? e.slice(1, at) : e.slice(0, at);
  return [m.replace(".", ""), Number(e.slice(at + 1))];
}

const view = new DataView(new ArrayBuffer(8));

/** `p` significant digits of x > 0, rounded half to even from its exact decimal value. */
function roundExact(x: number, p: number): [string, number] {
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  let be = Number((bits >> 52n) & 0x7ffn);
  let m = bits & 0xfffffffffffffn;
  if (be === 0) be = 1;
  else m |= 1n << 52n;
  const k = be - 1075; // x = m * 2^k exactly
  let all: string;
  let point: number; // digits before the decimal point
  if (k >= 0) {
    all = (m << BigInt(k)).toString();
    point = all.length;
  } else {
    all = (m * 5n ** BigInt(-k)).toString(); // x = all / 10^-k
    point = all.length + k;
  }
  let exp = point - 1;
  let kept = all.slice(0, p).padEnd(p, "0");
  const rest = all.slice(p);
  const first = rest.charCodeAt(0) - 48;
  const tail = rest.slice(1).replace(/0+$/, "");
  const up = first > 5 ||
    (first === 5 && (tail.length > 0 || (kept.charCodeAt(p - 1) - 48) % 2 === 1));
  if (up) {
    const n = (BigInt(kept) + 1n).toString();
    if (n.length > p) {
      exp++;
      kept = n.slice(0, p);
    } else kept = n;
  }
  return [kept, exp];
}

function stripZeros(s: string): string {
  if (s.indexOf(".") < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}

/**
 * Escapes a value as EPICS base's epicsStrPrintEscaped does: `\a \b \f \n \r \t \v \\ \' \"`,
 * and every other byte that is not printable ASCII as `\xNN` (text is taken as UTF-8 bytes).
 * A NUL ends the value, as in C.
 * @param s the raw value
 * @returns the escaped text
 * @example
 * ```ts
 * import { escapeValue } from "./text.ts";
 * if (escapeValue('tab\tand "q"\\') !== 'tab\\tand \\"q\\"\\\\') throw new Error();
 * if (escapeValue("é") !== "\\xc3\\xa9") throw new Error();
 * ```
 */
export function escapeValue(s: string): string {
  return escapeText(s, "ends");
}

/**
 * Undoes C escapes as EPICS base's epicsStrnRawFromEscaped does: the escapes of
 * {@link escapeValue}, `\xN`/`\xNN`, `\0` (which ends the value) and `\c` for any other c
 * (gives c). Bytes are decoded as UTF-8.
 * @param s the escaped text
 * @returns the raw value
 * @example
 * ```ts
 * import { unescapeValue } from "./text.ts";
 * if (unescapeValue("a\\tb\\x41\\q") !== "a\tbAq" || unescapeValue("\\xc3\\xa9") !== "é") throw new Error();
 * ```
 */
export function unescapeValue(s: string): string {
  return unescapeText(s);
}
