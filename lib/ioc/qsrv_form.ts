/**
 * `info(Q:form, "...")`: the display.form hint QSRV serves for a record's PVA channels.
 * Pure.
 * @module
 */

/** The display.form choices, in index order (the names `Q:form` accepts). */
export const DISPLAY_FORMS: readonly string[] = [
  "Default",
  "String",
  "Binary",
  "Decimal",
  "Hex",
  "Exponential",
  "Engineering",
];

/**
 * The display.form index an `info(Q:form, text)` asks for: a choice name (exact case) or an
 * integer (decimal, or hexadecimal with 0x, as QSRV converts text to an int32; it keeps a
 * number outside the choices).
 * @param text the info value
 * @returns the index
 * @throws {RangeError} when the text is neither a choice nor an integer
 * @example
 * ```ts
 * import { formIndex } from "./qsrv_form.ts";
 * if (formIndex("Hex") !== 4 || formIndex("7") !== 7) throw new Error();
 * ```
 */
export function formIndex(text: string): number {
  const i = DISPLAY_FORMS.indexOf(text);
  if (i >= 0) return i;
  const t = text.trim();
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/.exec(t);
  if (!m) throw new RangeError(t === "" || !/[0-9]/.test(t) ? "no digits" : "not an integer");
  const n = Number(m[1] === "-" ? -Number(m[2]) : Number(m[2]));
  if (n > 2147483647 || n < -2147483648) throw new RangeError("out of range for int32");
  return n;
}
