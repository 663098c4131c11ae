/**
 * How EPICS base's static database shows a DBF_DOUBLE or DBF_FLOAT field as text
 * (dbGetString: what `dbpr`, `dbl` with fields and `dbtr` print). Not `%g`: whole numbers
 * (to within a relative 1e-15, 1e-6 for floats) print as integers; otherwise 14 significant
 * digits for doubles and 6 for floats, as fixed-point for magnitudes from 0.001 to below
 * 10^7 and as `d.ddde+XX` outside, then trailing zeros are dropped and a tail of 8s and 9s
 * past the significant digits is rounded away (0.29999999999999998 shows as 0.3).
 * @example
 * ```ts
 * import { realText } from "./real_text.ts";
 * if (realText(Math.PI, true) !== "3.14159265358979") throw new Error();
 * if (realText(1 / 3, true) !== "0.33333333333333") throw new Error();
 * if (realText(2, true) !== "2" || realText(1e20, true) !== "1.0e+20") throw new Error();
 * ```
 * @module
 */

import { nanText } from "./_c_number.ts";

/** Digits and integer tolerance of doubles and floats. */
const DOUBLE = { digits: 14, tolerance: 1e-15 };
const FLOAT = { digits: 6, tolerance: 1e-6 };
/** dbGetString only tries the integer form below this (C's INT_MAX). */
const INT_MAX = 2147483647;

/**
 * The text of a floating-point field value as dbGetString gives it.
 * @param value the value
 * @param isDouble true for DBF_DOUBLE, false for DBF_FLOAT
 * @returns the text
 */
export function realText(value: number, isDouble: boolean): string {
  if (value === 0) return "0";
  if (Number.isNaN(value)) return nanText(value);
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const { digits, tolerance } = isDouble ? DOUBLE : FLOAT;
  const mag = Math.abs(value);
  if (mag < INT_MAX) {
    const whole = Math.trunc(value);
    if (Math.abs(value - whole) < mag * tolerance) return String(whole);
  }
  const sign = value < 0 ? "-" : "";
  // The decimal exponent as C's (int)log10(x) gives it: truncated toward zero.
  const exp10 = Math.trunc(Math.log10(mag));
  let body: string;
  let exponent = "";
  let decimals: number;
  if (exp10 > 6 || exp10 < -2) {
    decimals = digits;
    const s = mag.toExponential(digits);
    const e = s.indexOf("e");
    body = s.slice(0, e);
    // C writes at least two exponent digits.
    const ex = s.slice(e + 1);
    const exSign = ex[0] === "-" ? "-" : "+";
    exponent = exSign + ex.replace(/^[+-]/, "").padStart(2, "0");
  } else {
    decimals = Math.max(0, digits - exp10);
    body = mag.toFixed(decimals);
  }
  if (decimals > 0) body = trimTail(body, digits);
  if (exponent === "") return sign + body;
  return `${sign}${body.includes(".") ? body : `${body}.0`}e${exponent}`;
}

/**
 * Drops trailing zeros (and a bare point) and rounds away a tail of 8s and 9s that lies
 * at or past position `digits` of the text.
 */
function trimTail(text: string, digits: number): string {
  const t = text.split("");
  let end = t.length - 1;
  let roundUp = false;
  while (end > 0) {
    const c = t[end];
    if (c === ".") {
      end--;
      break;
    }
    if (c === "0") {
      end--;
      continue;
    }
    if (!roundUp && (end < digits || c < "8")) break;
    if (t[end - 1] === ".") {
      if (roundUp) end -= 2;
      break;
    }
    if (t[end - 1] !== "9") break;
    roundUp = true;
    end--;
  }
  t.length = end + 1;
  let lead = "";
  while (roundUp) {
    if (t[end] !== "." && t[end] < "9") {
      t[end] = String.fromCharCode(t[end].charCodeAt(0) + 1);
      break;
    }
    if (end === 0) {
      lead = "1";
      t[end] = "0";
      break;
    }
    t[end--] = "0";
  }
  return lead + t.join("");
}
