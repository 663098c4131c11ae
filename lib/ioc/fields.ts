/**
 * Field values from text and back, per DBF type, as `field(NAME, "text")` in a .db file,
 * `dbpf` and a DBR_STRING put turn text into a value, and `dbgf`/`dbpr` and a
 * DBR_STRING get turn it back. Pure functions.
 * @module
 */

import type { FieldSpec, FieldValue } from "./record_type.ts";
import { INT_RANGE, scanChoiceFor } from "./record_type.ts";

/** A value that does not fit its field; the message says why (no file position). */
export class FieldValueError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "FieldValueError";
  }
}

/**
 * The DBF type name of an array field's element type (`arrayShape().scalar`), as
 * dbgf and dbFldTypeInfo name it.
 */
export const DBF_OF_SCALAR: Readonly<Record<string, string>> = {
  string: "STRING",
  int8: "CHAR",
  uint8: "UCHAR",
  int16: "SHORT",
  uint16: "USHORT",
  int32: "LONG",
  uint32: "ULONG",
  int64: "INT64",
  uint64: "UINT64",
  float32: "FLOAT",
  float64: "DOUBLE",
};

/** Bytes of a string in UTF-8, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n++;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const INT_TEXT = /^[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)$/;
const FLOAT_TEXT = /^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|inf(inity)?|nan)$/i;

/**
 * Reads a number as EPICS base's string conversions do: decimal or 0x hex integers, floats,
 * NaN and Inf; surrounding blanks are ignored and an empty text is 0.
 * @param text the text
 * @returns the number, or undefined when the text is not a number
 */
export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === "") return 0;
  if (INT_TEXT.test(t)) {
    const neg = t.startsWith("-");
    const body = t.replace(/^[+-]/, "");
    const n = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : parseInt(body, 10);
    return neg ? -n : n;
  }
  if (FLOAT_TEXT.test(t)) {
    const l = t.toLowerCase().replace(/^\+/, "");
    if (l.endsWith("nan")) return NaN;
    if (l.includes("inf")) return l.startsWith("-") ? -Infinity : Infinity;
    return Number(t);
  }
  return undefined;
}

/**
 * Converts text to a field's value.
 * @param spec the field
 * @param text the text (a .db field value, a dbpf argument, a DBR_STRING put)
 * @returns the value to store
 * @throws FieldValueError when the text does not fit the field
 */
export function parseFieldText(spec: FieldSpec, text: string): FieldValue {
  const t = spec.type;
  switch (t) {
    case "STRING": {
      const max = (spec.size ?? 40) - 1;
      if (text.length * 3 > max && utf8Length(text) > max) {
        throw new FieldValueError(`String "${text}" is longer than ${max} characters`);
      }
      return text;
    }
    case "INLINK":
    case "OUTLINK":
    case "FWDLINK":
      return text.trim();
    case "MENU":
    case "DEVICE": {
      const choices = spec.choices ?? [];
      const i = choices.indexOf(text);
      if (i >= 0) return i;
      if (spec.menu === "menuScan") {
        const s = scanChoiceFor(text);
        if (s !== undefined) return s;
      }
      const n = INT_TEXT.test(text.trim()) ? parseNumber(text) : undefined;
      if (t === "MENU" && n !== undefined && n >= 0 && n < choices.length) return n;
      if (t === "DEVICE") {
        throw new FieldValueError(`Device support "${text}" is not known for this record type`);
      }
      throw new FieldValueError(`"${text}" is not a choice of menu ${spec.menu}`);
    }
    case "NOACCESS":
      throw new FieldValueError(`Field ${spec.name} cannot be set`);
    case "FLOAT":
    case "DOUBLE": {
      const n = parseNumber(text);
      if (n === undefined) throw new FieldValueError(`"${text}" is not a number`);
      return t === "FLOAT" ? Math.fround(n) : n;
    }
    default: {
      const n = parseNumber(text);
      if (n === undefined) throw new FieldValueError(`"${text}" is not a number`);
      return integerFor(spec, n, text);
    }
  }
}

/**
 * Converts a number to an integer field's value: truncation toward zero, range checked.
 * @param spec the field
 * @param n the number
 * @param shown how to show the value in an error
 * @returns the integer
 * @throws FieldValueError when out of the field type's range
 */
export function integerFor(spec: FieldSpec, n: number, shown: string = String(n)): number {
  const range = INT_RANGE[spec.type];
  if (!range) return n;
  if (Number.isNaN(n)) throw new FieldValueError(`"${shown}" is not a number`);
  const v = Math.trunc(n);
  if (v < range[0] || v > range[1]) {
    throw new FieldValueError(`${shown} is out of range for DBF_${spec.type}`);
  }
  return v;
}

/**
 * Formats a double the way EPICS base's `%g`-style conversions do with a given precision
 * (cvtDoubleToString): fixed notation within 1e-4..1e15 (trailing digits as precision
 * says), exponent notation outside.
 * @param v the number
 * @param precision digits after the decimal point
 * @returns the text
 */
export function formatDouble(v: number, precision: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  const p = Math.max(0, Math.min(17, precision));
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e15)) {
    const s = v.toExponential(p);
    return s.replace(/e([+-])(\d)$/, "e$10$2");
  }
  return v.toFixed(p);
}

/**
 * Formats a double as `%g` with 17 significant digits trimmed, as dbpr/dbgf show doubles.
 * @param v the number
 * @returns the shortest text that reads back as the same double
 */
export function formatG(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e17) {
    const s = String(v);
    if (!s.includes("e")) return s;
  }
  const [m, e] = v.toExponential().split("e");
  const exp = Number(e);
  return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/**
 * Text of a field value, as a DBR_STRING get of the field reads it.
 * @param spec the field
 * @param value its value
 * @param precision digits for doubles (a record's PREC); undefined = shortest form
 * @returns the text
 */
export function formatFieldValue(spec: FieldSpec, value: FieldValue, precision?: number): string {
  switch (spec.type) {
    case "MENU":
    case "DEVICE":
      return spec.choices?.[value as number] ?? String(value);
    case "FLOAT":
    case "DOUBLE":
      return precision === undefined
        ? formatG(value as number)
        : formatDouble(value as number, precision);
    default:
      if (typeof value === "string") return value;
      if (typeof value === "number") return String(value);
      return Array.from(value as ArrayLike<unknown>, String).join(" ");
  }
}
