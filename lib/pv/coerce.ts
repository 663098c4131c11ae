/**
 * Turning whatever a caller or a protocol hands us into a PV's exact value type, and
 * saying why when that cannot be done. Pure functions.
 * @module
 */

import { textToChars } from "../core/bytes.ts";
import { PutRefusedError } from "../core/errors.ts";
import type {
  NumericArray,
  PvTableColumn,
  PvTableValue,
  PvTypeInfo,
  PvValue,
  ScalarType,
} from "./types.ts";

/** Integer ranges of the integer element types. */
const INT_RANGE: Partial<Record<ScalarType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** Whether an element type holds numbers. */
export function isNumericType(t: ScalarType): boolean {
  return t !== "string" && t !== "boolean";
}

/** Whether an element type holds integers. */
export function isIntegerType(t: ScalarType): boolean {
  return t in INT_RANGE;
}

/** A typed array class of a numeric element type. */
export interface NumericArrayClass {
  /** A view of `length` elements of `buffer` from `byteOffset`. */
  new (buffer: ArrayBuffer, byteOffset: number, length: number): NumericArray;
  /** Bytes of one element. */
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * The typed array class of each numeric element type (64-bit integers: BigInt arrays);
 * no entry for string and boolean.
 * @example
 * ```ts
 * import { NUMERIC_ARRAYS } from "./coerce.ts";
 * if (NUMERIC_ARRAYS.uint16 !== Uint16Array || NUMERIC_ARRAYS.string) throw new Error();
 * ```
 */
export const NUMERIC_ARRAYS: Readonly<Partial<Record<ScalarType, NumericArrayClass>>> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** Arrays whose producer gave them up (see {@link handOverArray}), not yet taken. */
const HANDED = new WeakSet<object>();

/**
 * Marks a freshly made typed array as given up by its producer: the next
 * {@link coerceValue} that would copy it into a new array of the same class keeps it
 * instead. A server that decodes a put into a new array hands it over, so the array is
 * copied once (from the wire) rather than twice. The producer must not touch it after.
 * @param a an array no one else holds
 * @returns `a`
 * @example
 * ```ts
 * import { coerceValue, handOverArray } from "./coerce.ts";
 * const a = handOverArray(new Float64Array([1, 2]));
 * if (coerceValue(a, { kind: "array", scalar: "float64", maxLength: 4 }) !== a) throw new Error();
 * ```
 */
export function handOverArray<T extends ArrayBufferView>(a: T): T {
  HANDED.add(a);
  return a;
}

/**
 * Allocates an empty typed array for a numeric element type.
 * @param t the element type (not string/boolean)
 * @param n the length
 * @returns the zeroed array
 */
export function newNumericArray(t: ScalarType, n: number): NumericArray {
  switch (t) {
    case "int8":
      return new Int8Array(n);
    case "uint8":
      return new Uint8Array(n);
    case "int16":
      return new Int16Array(n);
    case "uint16":
      return new Uint16Array(n);
    case "int32":
      return new Int32Array(n);
    case "uint32":
      return new Uint32Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "uint64":
      return new BigUint64Array(n);
    case "float32":
      return new Float32Array(n);
    default:
      return new Float64Array(n);
  }
}

function toNumber(v: unknown, what: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string") {
    const t = v.trim();
    // Accept decimal, exponent and 0x hex like strtod/strtol would.
    const n = /^[-+]?0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : Number(t);
    if (t !== "" && !Number.isNaN(n)) return n;
    if (/^[-+]?(nan|inf(inity)?)$/i.test(t)) {
      return /nan/i.test(t) ? NaN : (t.startsWith("-") ? -Infinity : Infinity);
    }
  }
  throw new PutRefusedError(`Cannot convert ${describe(v)} to ${what}`, "type");
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return "an array";
  return String(v);
}

/**
 * Converts one element to a numeric type, refusing values an integer type cannot hold.
 * @param v the input element
 * @param t the target element type
 * @returns the number
 * @throws PutRefusedError when the input is not a number or is out of the type's range
 */
export function coerceNumber(v: unknown, t: ScalarType): number {
  const n = toNumber(v, t);
  const range = INT_RANGE[t];
  if (range) {
    if (!Number.isFinite(n)) throw new PutRefusedError(`Cannot store ${n} in ${t}`, "type");
    const r = Math.round(n);
    if (r < range[0] || r > range[1]) {
      throw new PutRefusedError(`Value ${n} is outside the range of ${t}`, "limits");
    }
    return r;
  }
  return t === "float32" ? Math.fround(n) : n;
}

function coerceElement(v: unknown, t: ScalarType): number | string | boolean {
  if (t === "string") {
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
    throw new PutRefusedError(`Cannot convert ${describe(v)} to string`, "type");
  }
  if (t === "boolean") {
    if (typeof v === "boolean") return v;
    if (typeof v === "string" && /^(true|false)$/i.test(v.trim())) {
      return v.trim().toLowerCase() === "true";
    }
    return toNumber(v, t) !== 0;
  }
  return coerceNumber(v, t);
}

function elements(v: unknown): ArrayLike<unknown> {
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return v as unknown as ArrayLike<unknown>;
  return [v];
}

/**
 * Resolves an enum put: an index, or a choice name, or a number written as text.
 * @param v the input
 * @param choices the enum's state strings
 * @returns the index
 * @throws PutRefusedError when the name is unknown or the index out of range
 */
export function coerceEnum(v: unknown, choices: readonly string[]): number {
  let x = v;
  if ((Array.isArray(x) || ArrayBuffer.isView(x)) && (x as ArrayLike<unknown>).length >= 1) {
    x = (x as ArrayLike<unknown>)[0];
  }
  if (typeof x === "string") {
    const i = choices.indexOf(x);
    if (i >= 0) return i;
    const t = x.trim();
    if (!/^\d+$/.test(t)) {
      throw new PutRefusedError(`"${x}" is not one of the states ${choices.join("|")}`, "type");
    }
    x = Number(t);
  }
  const n = toNumber(x, "enum index");
  if (!Number.isInteger(n) || n < 0 || n >= Math.max(choices.length, 1)) {
    throw new PutRefusedError(
      `Enum index ${n} is out of range 0..${Math.max(choices.length - 1, 0)}`,
      "limits",
    );
  }
  return n;
}

/** Integer typed arrays whose whole range a (non-64-bit) target type holds. */
const WIDENS: Partial<Record<ScalarType, readonly unknown[]>> = {
  int16: [Int8Array, Uint8Array],
  uint16: [Uint8Array],
  int32: [Int8Array, Uint8Array, Int16Array, Uint16Array],
  uint32: [Uint8Array, Uint16Array],
  float32: [Int8Array, Uint8Array, Int16Array, Uint16Array],
  float64: [Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array],
};

/**
 * The index of the first element outside [lo, hi], or -1. One loop per array type, so
 * that each loop sees a single element kind (a shared loop over several typed-array
 * types runs several times slower).
 */
function firstOutside(a: ArrayLike<number>, lo: number, hi: number): number {
  if (a instanceof Int32Array) return outsideI32(a, lo, hi);
  if (a instanceof Int16Array) return outsideI16(a, lo, hi);
  if (a instanceof Uint16Array) return outsideU16(a, lo, hi);
  if (a instanceof Uint32Array) return outsideU32(a, lo, hi);
  return outsideAny(a, lo, hi);
}

function outsideI32(a: Int32Array, lo: number, hi: number): number {
  for (let i = 0; i < a.length; i++) if (a[i] < lo || a[i] > hi) return i;
  return -1;
}

function outsideI16(a: Int16Array, lo: number, hi: number): number {
  for (let i = 0; i < a.length; i++) if (a[i] < lo || a[i] > hi) return i;
  return -1;
}

function outsideU16(a: Uint16Array, lo: number, hi: number): number {
  for (let i = 0; i < a.length; i++) if (a[i] < lo || a[i] > hi) return i;
  return -1;
}

function outsideU32(a: Uint32Array, lo: number, hi: number): number {
  for (let i = 0; i < a.length; i++) if (a[i] < lo || a[i] > hi) return i;
  return -1;
}

function outsideAny(a: ArrayLike<number>, lo: number, hi: number): number {
  for (let i = 0; i < a.length; i++) if (a[i] < lo || a[i] > hi) return i;
  return -1;
}

/** Typed arrays of integers of at most 32 bits (exact as numbers). */
function isSmallIntArray(v: unknown): v is ArrayLike<number> & Uint8Array {
  return v instanceof Int32Array || v instanceof Int16Array || v instanceof Uint16Array ||
    v instanceof Uint32Array || v instanceof Int8Array || v instanceof Uint8Array ||
    v instanceof Uint8ClampedArray;
}

function fitsIn(src: ArrayLike<unknown>, t: ScalarType): boolean {
  return WIDENS[t]?.includes(src.constructor) ?? false;
}

/**
 * Converts an input to a PV's value type. Arrays longer than the PV's maximum are refused.
 * Char (int8/uint8) arrays also accept a string, stored as its UTF-8 bytes plus a NUL.
 * @param v the input value
 * @param type the PV's type
 * @param choices enum choices (enums only)
 * @param alloc where a numeric array result is allocated (default {@link newNumericArray})
 * @returns a new value of the exact type (never the caller's array)
 * @throws PutRefusedError with reason "type" or "limits"
 * @example
 * ```ts
 * import { coerceValue } from "./coerce.ts";
 * const arr = coerceValue([1, "2", 3.7], { kind: "array", scalar: "int16", maxLength: 8 });
 * if (!(arr instanceof Int16Array) || arr.join() !== "1,2,4") throw new Error(); // 3.7 rounds
 * const e = coerceValue("On", { kind: "enum", scalar: "uint16", maxLength: 1 }, ["Off", "On"]);
 * if (e !== 1) throw new Error();
 * let refused = false;
 * try {
 *   coerceValue([1, 2, 3], { kind: "array", scalar: "float64", maxLength: 2 });
 * } catch {
 *   refused = true; // longer than maxLength
 * }
 * if (!refused) throw new Error();
 * ```
 */
export function coerceValue(
  v: unknown,
  type: PvTypeInfo,
  choices: readonly string[] = [],
  alloc: (t: ScalarType, n: number) => NumericArray = newNumericArray,
): PvValue {
  if (type.kind === "enum") return coerceEnum(v, choices);
  if (type.kind === "table") return coerceTable(v, type.columns ?? [], type.maxLength);
  if (type.kind === "scalar") {
    // A plain number (every scalar put over CA): no one-element array to wrap it in.
    if (typeof v === "number") return coerceElement(v, type.scalar);
    const e = elements(v);
    if (e.length !== 1 && (Array.isArray(v) || ArrayBuffer.isView(v))) {
      if (e.length === 0) {
        throw new PutRefusedError("Cannot put an empty array to a scalar", "type");
      }
    }
    return coerceElement(e[0], type.scalar);
  }
  let src: ArrayLike<unknown>;
  if (typeof v === "string" && (type.scalar === "int8" || type.scalar === "uint8")) {
    src = textToChars(v, type.maxLength);
  } else {
    src = elements(v);
  }
  if (src.length > type.maxLength) {
    throw new PutRefusedError(
      `Array of ${src.length} elements exceeds the maximum of ${type.maxLength}`,
      "limits",
    );
  }
  if (type.scalar === "string") return Array.from(src, (x) => coerceElement(x, "string") as string);
  if (type.scalar === "boolean") {
    return Array.from(src, (x) => coerceElement(x, "boolean") as boolean);
  }
  if (
    alloc === newNumericArray && ArrayBuffer.isView(src) &&
    src.constructor === NUMERIC_ARRAYS[type.scalar] && HANDED.delete(src)
  ) {
    // Given up by its producer (a decoded put): already the right class, keep it.
    return src as unknown as NumericArray;
  }
  if (
    ArrayBuffer.isView(src) &&
    (src.constructor === NUMERIC_ARRAYS[type.scalar] || fitsIn(src, type.scalar))
  ) {
    // Same element type, or an integer type whose every value fits: one block copy.
    const out = alloc(type.scalar, src.length);
    (out as Uint8Array).set(src as unknown as Uint8Array);
    return out;
  }
  if (
    isSmallIntArray(src) && isIntegerType(type.scalar) &&
    type.scalar !== "int64" && type.scalar !== "uint64"
  ) {
    // Integers into a narrower integer type (a CA DBR_LONG put to a uint16 PV): check the
    // range, then one block copy instead of a conversion per element.
    const [lo, hi] = INT_RANGE[type.scalar]!;
    const bad = firstOutside(src, lo, hi);
    if (bad >= 0) coerceNumber(src[bad], type.scalar); // throws the range error
    const C = NUMERIC_ARRAYS[type.scalar]!;
    if (
      alloc === newNumericArray && src.BYTES_PER_ELEMENT === C.BYTES_PER_ELEMENT &&
      HANDED.delete(src)
    ) {
      // Given up by its producer, and every value in range: the same bytes read as the
      // target type (an int16 put to a uint16 PV) are the values; no copy.
      return new C(src.buffer as ArrayBuffer, src.byteOffset, src.length);
    }
    const out = alloc(type.scalar, src.length) as Uint8Array;
    out.set(src);
    return out;
  }
  const out = alloc(type.scalar, src.length);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < src.length; i++) out[i] = BigInt(coerceNumber(src[i], type.scalar));
  } else if (ArrayBuffer.isView(src) && !isIntegerType(type.scalar)) {
    out.set(src as unknown as ArrayLike<number>);
  } else {
    for (let i = 0; i < src.length; i++) out[i] = coerceNumber(src[i], type.scalar);
  }
  return out;
}

/**
 * Converts a table: an object with an array for every column (and nothing else), all of
 * the same length, each converted to its column's element type.
 * @param v the input: column name -> elements
 * @param columns the table's columns
 * @param maxRows the largest number of rows
 * @returns a new table value
 * @throws PutRefusedError with reason "type" (shape) or "limits" (too many rows)
 * @example
 * ```ts
 * import { coerceTable } from "./coerce.ts";
 * const t = coerceTable({ x: [1, 2], tag: ["a", "b"] }, [
 *   { name: "x", type: "float64" },
 *   { name: "tag", type: "string" },
 * ], 10);
 * if (!(t.x instanceof Float64Array) || t.tag[1] !== "b") throw new Error();
 * ```
 */
export function coerceTable(
  v: unknown,
  columns: readonly PvTableColumn[],
  maxRows: number,
): PvTableValue {
  if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new PutRefusedError("A table value must be an object of column arrays", "type");
  }
  const given = v as Record<string, unknown>;
  const known = new Set(columns.map((c) => c.name));
  for (const k of Object.keys(given)) {
    if (!known.has(k)) throw new PutRefusedError(`The table has no column "${k}"`, "type");
  }
  const out: Record<string, NumericArray | string[] | boolean[]> = {};
  let rows = -1;
  let first = "";
  for (const c of columns) {
    const x = given[c.name];
    if (x === undefined) throw new PutRefusedError(`Column "${c.name}" is missing`, "type");
    if (!Array.isArray(x) && !ArrayBuffer.isView(x)) {
      throw new PutRefusedError(`Column "${c.name}" must be an array`, "type");
    }
    const col = coerceValue(x, { kind: "array", scalar: c.type, maxLength: maxRows }) as
      | NumericArray
      | string[]
      | boolean[];
    if (rows < 0) {
      rows = col.length;
      first = c.name;
    } else if (col.length !== rows) {
      throw new PutRefusedError(
        `Column "${c.name}" has ${col.length} rows, but column "${first}" has ${rows}`,
        "type",
      );
    }
    out[c.name] = col;
  }
  return out;
}

/**
 * Whether two values are equal element by element.
 * @param a one value
 * @param b the other
 * @returns true when equal
 */
export function valuesEqual(a: PvValue, b: PvValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object") return Object.is(a, b);
  const aTable = !Array.isArray(a) && !ArrayBuffer.isView(a);
  const bTable = !Array.isArray(b) && !ArrayBuffer.isView(b);
  if (aTable || bTable) {
    if (!aTable || !bTable) return false;
    const ta = a as PvTableValue;
    const tb = b as PvTableValue;
    const keys = Object.keys(ta);
    if (keys.length !== Object.keys(tb).length) return false;
    return keys.every((k) => tb[k] !== undefined && valuesEqual(ta[k], tb[k]));
  }
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
