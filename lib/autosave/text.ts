/**
 * The text conventions of synApps autosave files: C's `%.<P>g` of a double (autosave writes
 * doubles with `%.14g` and floats with `%.7g`), and the C escapes of EPICS base's
 * epicsStrPrintEscaped (writer) and epicsStrnRawFromEscaped (reader).
 *
 * Pure: no I/O.
 * @module
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

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

const ESC: Record<number, string> = {
  0x07: "\\a",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x0b: "\\v",
  0x5c: "\\\\",
  0x27: "\\'",
  0x22: '\\"',
};

const HEX = "0123456789abcdef";

/** True when the text needs no escaping (plain printable ASCII without `\ ' "`). */
function isPlain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x5c || c === 0x27 || c === 0x22) return false;
  }
  return true;
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
  const nul = s.indexOf("\0");
  if (nul >= 0) s = s.slice(0, nul);
  if (isPlain(s)) return s;
  const bytes = enc.encode(s);
  let out = "";
  for (const b of bytes) {
    const e = ESC[b];
    if (e !== undefined) out += e;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += "\\x" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

const UNESC: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  "\\": 0x5c,
  "'": 0x27,
  '"': 0x22,
};

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
  if (s.indexOf("\\") < 0) return s;
  const src = enc.encode(s);
  const out = new Uint8Array(src.length);
  let n = 0;
  let i = 0;
  while (i < src.length) {
    const c = src[i++];
    if (c === 0) break;
    if (c !== 0x5c) {
      out[n++] = c;
      continue;
    }
    if (i >= src.length) break;
    const d = src[i++];
    if (d === 0x30) break; // "\0": the C string ends here
    if (d === 0x78) { // \x with one or two hex digits; without any, the next char stays
      const h1 = i < src.length ? hexVal(src[i]) : -1;
      if (h1 < 0) continue;
      i++;
      const h2 = i < src.length ? hexVal(src[i]) : -1;
      if (h2 < 0) out[n++] = h1;
      else {
        out[n++] = h1 * 16 + h2;
        i++;
      }
      continue;
    }
    const u = UNESC[String.fromCharCode(d)];
    out[n++] = u ?? d;
  }
  return dec.decode(out.subarray(0, n));
}
