/**
 * Conversion of what tsdev code returns into a record's value type, and of record fields
 * into the JS values the code sees. A value that does not fit throws
 * {@link TsdevConversionError} with the reason (the record then goes INVALID). Pure.
 * @module
 */

/** What a record type's VAL is, as far as code results go. */
export type ValueKind =
  | "double"
  | "long"
  | "int64"
  | "binary"
  | "mbb"
  | "string"
  | "longString"
  | "array";

/** The value kind of each record type tsdev supports. */
export const VALUE_KIND: Readonly<Record<string, ValueKind>> = {
  ai: "double",
  ao: "double",
  longin: "long",
  longout: "long",
  int64in: "int64",
  int64out: "int64",
  bi: "binary",
  bo: "binary",
  mbbi: "mbb",
  mbbo: "mbb",
  stringin: "string",
  stringout: "string",
  lsi: "longString",
  lso: "longString",
  waveform: "array",
  aai: "array",
  aao: "array",
};

/** A code result that does not fit the record. */
export class TsdevConversionError extends TypeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TsdevConversionError";
  }
}

/** A short description of a value for messages. */
export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v);
  if (typeof v === "bigint") return `${v}n`;
  if (v === null || v === undefined || typeof v !== "object") return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
}

/** Converts a result to a number (numbers, booleans, bigints and numeric strings). */
export function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string") {
    const t = v.trim();
    if (t !== "") {
      const x = Number(t);
      if (!Number.isNaN(x) || t === "NaN") return x;
    }
  }
  throw new TsdevConversionError(`Cannot convert ${describe(v)} to a number`);
}

function toInteger(v: unknown, lo: number, hi: number, what: string): number {
  const x = toNumber(v);
  if (!Number.isFinite(x)) {
    throw new TsdevConversionError(`Cannot convert ${describe(v)} to ${what}`);
  }
  const t = Math.trunc(x);
  if (t < lo || t > hi) {
    throw new TsdevConversionError(`${describe(v)} is out of range for ${what} (${lo}..${hi})`);
  }
  return t;
}

/** Converts a result to text (strings, numbers, bigints, booleans). */
export function toText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  throw new TsdevConversionError(`Cannot convert ${describe(v)} to a string`);
}

/** Options of {@link convertResult}. */
export interface ConvertOptions {
  /** mbbi/mbbo state strings (ZRST..FFST), so code may return a state name. */
  states?: readonly string[];
  /** Whether array elements are strings (FTVL STRING). */
  stringElements?: boolean;
}

/**
 * Converts a code result to the record's value.
 * @param kind the record's value kind
 * @param v what the code returned
 * @param options state strings, element type
 * @returns a number, a string, or an array of numbers / strings
 * @throws TsdevConversionError when it does not fit
 * @example
 * ```ts
 * import { convertResult } from "./convert.ts";
 * if (convertResult("long", "42") !== 42) throw new Error();
 * if (convertResult("mbb", "Two", { states: ["Zero", "One", "Two"] }) !== 2) throw new Error();
 * ```
 */
export function convertResult(
  kind: ValueKind,
  v: unknown,
  options: ConvertOptions = {},
): number | string | (number | string)[] {
  switch (kind) {
    case "double":
      return toNumber(v);
    case "long":
      return toInteger(v, -2147483648, 2147483647, "a 32-bit integer");
    case "int64": {
      if (typeof v === "bigint") {
        if (v < -(2n ** 63n) || v >= 2n ** 63n) {
          throw new TsdevConversionError(`${describe(v)} is out of range for a 64-bit integer`);
        }
        return Number(v);
      }
      return toInteger(v, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, "a 64-bit integer");
    }
    case "binary":
      return toNumber(v) !== 0 ? 1 : 0;
    case "mbb": {
      if (typeof v === "string" && options.states) {
        const i = options.states.indexOf(v);
        if (i >= 0 && v !== "") return i;
      }
      return toInteger(v, 0, 65535, "a state index");
    }
    case "string":
    case "longString":
      return toText(v);
    case "array": {
      if (typeof v === "string" || v === null || typeof v !== "object") {
        throw new TsdevConversionError(`Cannot convert ${describe(v)} to an array`);
      }
      const src = ArrayBuffer.isView(v) || Array.isArray(v)
        ? v as ArrayLike<unknown>
        : Symbol.iterator in (v as object)
        ? [...(v as Iterable<unknown>)]
        : undefined;
      if (!src || typeof (src as { length?: unknown }).length !== "number") {
        throw new TsdevConversionError(`Cannot convert ${describe(v)} to an array`);
      }
      const out: (number | string)[] = new Array(src.length);
      for (let i = 0; i < src.length; i++) {
        try {
          out[i] = options.stringElements ? toText(src[i]) : toNumber(src[i]);
        } catch (e) {
          throw new TsdevConversionError(`Element ${i}: ${(e as Error).message}`);
        }
      }
      return out;
    }
  }
}
