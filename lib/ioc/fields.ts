/**
 * Field values from text and back, per DBF type, as `field(NAME, "text")` in a .db file,
 * `dbpf` and a DBR_STRING put turn text into a value, and `dbgf`/`dbpr` and a
 * DBR_STRING get turn it back. Pure functions.
 * @module
 */

import { cutUtf8 } from "../core/bytes.ts";
import type { FieldSpec, FieldValue } from "./record_type.ts";
import { INT_RANGE, scanChoiceFor } from "./record_type.ts";
import {
  parseCDouble,
  parseCFloat,
  parseCInteger,
  type ParseFailure,
  type Scanned,
} from "./_c_number.ts";
import { cvtDoubleToString } from "../ca/proto/convert.ts";

const TWO_64 = 1n << 64n;

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

/** Bits of the integer DBF types, and whether they are unsigned. */
const INT_BITS: Readonly<Partial<Record<string, readonly [number, boolean]>>> = {
  CHAR: [8, false],
  UCHAR: [8, true],
  SHORT: [16, false],
  USHORT: [16, true],
  ENUM: [16, true],
  LONG: [32, false],
  ULONG: [32, true],
  INT64: [64, false],
  UINT64: [64, true],
};

const FAILURE_TEXT: Readonly<Record<ParseFailure, string>> = {
  noConversion: "is not a number",
  overflow: "is out of range",
  underflow: "is too small",
  extraneous: "has characters after the number",
};

function failed(spec: FieldSpec, text: string, why: ParseFailure): FieldValueError {
  return new FieldValueError(`"${text}" ${FAILURE_TEXT[why]} for DBF_${spec.type}`);
}

/**
 * A 64-bit integer as the double a field holds: the nearest double, kept inside the type's
 * range (2^63 - 1 rounds to 2^63, which an int64 cannot hold, so it becomes 2^63 - 1024).
 */
function int64Number(v: bigint, unsigned: boolean): number {
  const n = Number(v);
  const range = INT_RANGE[unsigned ? "UINT64" : "INT64"]!;
  return Math.min(range[1], Math.max(range[0], n));
}

/** An integer cut to a field's width, as a C cast does. */
function wrapInteger(v: bigint, bits: number, unsigned: boolean): number {
  const w = unsigned ? BigInt.asUintN(bits, v) : BigInt.asIntN(bits, v);
  return bits === 64 ? int64Number(w, unsigned) : Number(w);
}

function parseFloatText(spec: FieldSpec, text: string, units: boolean): number {
  const r = spec.type === "FLOAT" ? parseCFloat(text, { units }) : parseCDouble(text, { units });
  if (typeof r === "string") throw failed(spec, text, r);
  return r.value;
}

/**
 * The menu index of "N second", a period menuScan lacks, added to the menu (our stand-in
 * for a site .dbd that declares more periods; base's own menuScan has no such choice).
 */
function extraScanChoice(spec: FieldSpec, text: string): number | undefined {
  if (spec.menu !== "menuScan" || !/^(\d+\.?\d*|\.\d+) second$/.test(text)) return undefined;
  return scanChoiceFor(text);
}

/**
 * Converts text to a field's value as a .db file sets it (base's dbPutString): blanks
 * around a number are ignored and "" is 0; integers are decimal, 0x hex or 0-octal, and are
 * cut to the field's width (4294967295 is -1 in a DBF_LONG) but must fit 64 bits; nothing
 * may follow a number; doubles out of range (1e400, subnormals) are refused; a menu or DTYP
 * takes a choice string or its index.
 * @param spec the field
 * @param text the field's text
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
      const extra = extraScanChoice(spec, text);
      if (extra !== undefined) return extra;
      // "" is index 0: an empty $(DTYP=) or $(SCAN=) in a template means the default.
      const r = parseCInteger(text === "" ? "0" : text, { base: 0, unsigned: true, units: false });
      if (typeof r === "string" || (r.value > 0xffffn && r.value <= TWO_64 - 0x10000n)) {
        if (t === "DEVICE") {
          throw new FieldValueError(`Device support "${text}" is not known for this record type`);
        }
        throw new FieldValueError(`"${text}" is not a choice of menu ${spec.menu}`);
      }
      const n = Number(BigInt.asUintN(16, r.value));
      // Base takes an index one past the last choice (and 65535) too; such a record is
      // never scanned. A DTYP index with no device support behind it is refused here.
      const limit = t === "DEVICE" ? choices.length - 1 : choices.length;
      if (n > limit && n !== 0xffff) {
        throw new FieldValueError(`${n} is not an index of ${spec.menu ?? "DTYP"}`);
      }
      return n;
    }
    case "NOACCESS":
      throw new FieldValueError(`Field ${spec.name} cannot be set`);
    case "FLOAT":
    case "DOUBLE":
      return text === "" ? 0 : parseFloatText(spec, text, false);
    default: {
      const [bits, unsigned] = INT_BITS[t] ?? [64, false];
      const r = parseCInteger(text === "" ? "0" : text, { base: 0, unsigned, units: false });
      if (typeof r === "string") throw failed(spec, text, r);
      return wrapInteger(r.value, bits, unsigned);
    }
  }
}

/**
 * Converts text to a field's value as a DBR_STRING put does (base's dbPut, as dbpf, CA
 * clients and links write): a number may be followed by anything ("12abc" is 12, "1.7"
 * in a DBF_LONG is 1); integers are decimal (0x and 0-octal only for DBF_UINT64) and out of
 * the field's range is refused (unsigned fields take small negative numbers modulo their
 * width, as strtoul does); a DBF_ULONG reads "1e3" through a double; menus take a choice
 * or a decimal index; strings are cut to the field's size.
 * @param spec the field
 * @param text the text put
 * @returns the value to store
 * @throws FieldValueError when the text does not fit the field
 */
export function convertPutText(spec: FieldSpec, text: string): FieldValue {
  const t = spec.type;
  switch (t) {
    case "STRING":
      // dbPut cuts what does not fit (strncpy); we cut before a character that would not fit.
      return cutUtf8(text, (spec.size ?? 40) - 1);
    case "INLINK":
    case "OUTLINK":
    case "FWDLINK":
      return text.trim();
    case "MENU":
    case "DEVICE": {
      const choices = spec.choices ?? [];
      const i = choices.indexOf(text);
      if (i >= 0) return i;
      const r = parseCInteger(text, { base: 10, unsigned: true, units: false });
      if (typeof r !== "string" && r.value < BigInt(choices.length)) return Number(r.value);
      if (t === "DEVICE") {
        throw new FieldValueError(`Device support "${text}" is not known for this record type`);
      }
      throw new FieldValueError(`"${text}" is not a choice of menu ${spec.menu}`);
    }
    case "NOACCESS":
      throw new FieldValueError(`Field ${spec.name} cannot be set`);
    case "FLOAT":
    case "DOUBLE":
      return text === "" ? 0 : parseFloatText(spec, text, true);
    default: {
      if (text === "") return 0;
      const [bits, unsigned] = INT_BITS[t] ?? [64, false];
      const base = t === "UINT64" ? 0 : 10;
      const r = parseCInteger(text, { base, unsigned, units: true });
      if (t === "ULONG") return ulongFromText(spec, text, r);
      if (typeof r === "string") throw failed(spec, text, r);
      if (bits < 64) {
        const v = r.value;
        if (unsigned) {
          const max = (1n << BigInt(bits)) - 1n;
          if (v > max && v <= TWO_64 - 1n - max) throw failed(spec, text, "overflow");
        } else if (v !== BigInt.asIntN(bits, v)) throw failed(spec, text, "overflow");
      }
      return wrapInteger(r.value, bits, unsigned);
    }
  }
}

/**
 * A DBF_ULONG from text: strtoul, or through a double when that reads nothing or stops at
 * ".", "e" or "E" (base's way of taking "1e3"). A double from 0 up to 2^64 is cut as
 * x86-64 converts one to 32 bits (low bits of the 64-bit integer; 0 from 2^63 up).
 */
function ulongFromText(
  spec: FieldSpec,
  text: string,
  r: Scanned<bigint> | ParseFailure,
): number {
  let v: number | undefined;
  if (typeof r !== "string") {
    if (r.value > 0xffffffffn && r.value <= TWO_64 - 1n - 0xffffffffn) {
      throw failed(spec, text, "overflow");
    }
    v = Number(BigInt.asUintN(32, r.value));
  }
  const next = typeof r === "string" ? "" : text[r.end];
  if (r === "noConversion" || next === "." || next === "e" || next === "E") {
    const d = parseCDouble(text, { units: true });
    if (typeof d === "string") throw failed(spec, text, d);
    if (d.value >= 0 && d.value <= 2 ** 64) {
      v = d.value < 2 ** 63 ? Number(BigInt.asUintN(32, BigInt(Math.trunc(d.value)))) : 0;
    }
  }
  if (v === undefined) throw failed(spec, text, typeof r === "string" ? r : "overflow");
  return v;
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

/** cvtDoubleToString, where the CA server also finds it. */
export { cvtDoubleToString };

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
        : cvtDoubleToString(value as number, precision);
    case "INT64":
    case "UINT64":
      // String() would show 2^63 - 1024 as 9223372036854775000.
      if (typeof value === "number" && Number.isInteger(value)) return BigInt(value).toString();
      return String(value);
    default:
      if (typeof value === "string") return value;
      if (typeof value === "number") return String(value);
      return Array.from(value as ArrayLike<unknown>, String).join(" ");
  }
}
