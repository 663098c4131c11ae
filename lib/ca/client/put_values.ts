/**
 * Turns what a user passes to `put` (a number, text, an array, typed values) into a
 * DBR type and value array to send. Pure.
 * @module
 */

import { LocalProtocolError } from "../../core/errors.ts";
import type { DbrValueType } from "../proto/constants.ts";
import { dbrInfo, newDbrValues } from "../proto/dbr.ts";
import type { DbrValues } from "../proto/dbr_types.ts";
import { textToChars } from "../../core/bytes.ts";

/** Anything `put` accepts. */
export type PutValue = DbrValues | number | string | boolean | ArrayLike<number | string | boolean>;

/** A value ready for WRITE / WRITE_NOTIFY. */
export interface PreparedPut {
  /** The DBR type to send (a plain value type 0..6 unless one was asked for). */
  dbrType: number;
  /** Number of elements. */
  count: number;
  /** The elements, as the array type of `dbrType`. */
  value: DbrValues;
}

function typedArrayType(v: unknown): DbrValueType | undefined {
  if (v instanceof Float64Array) return 6;
  if (v instanceof Float32Array) return 2;
  if (v instanceof Int32Array) return 5;
  if (v instanceof Int16Array) return 1;
  if (v instanceof Uint16Array) return 3;
  if (v instanceof Uint8Array) return 4;
  return undefined;
}

function fill(vt: DbrValueType, items: ArrayLike<number | string | boolean>): DbrValues {
  const n = items.length;
  if (vt === 0) {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = String(items[i]);
    return out;
  }
  const out = newDbrValues(vt, n) as Exclude<DbrValues, string[]>;
  for (let i = 0; i < n; i++) {
    const x = items[i];
    const num = typeof x === "boolean" ? (x ? 1 : 0) : Number(x);
    if (typeof x === "string" && Number.isNaN(num) && x.trim().toLowerCase() !== "nan") {
      throw new LocalProtocolError(`Cannot put "${x}" as a number`);
    }
    out[i] = vt === 6 || vt === 2 ? num : Math.trunc(num);
  }
  return out;
}

/**
 * Chooses the DBR type and builds the value array for a put.
 *
 * - with `dbrType`: the value is converted to that type's element type;
 * - a typed array of a CA element type goes as that type (Float64Array as DOUBLE...);
 * - text to a CHAR array channel (count > 1) goes as a NUL-terminated char array;
 * - other text goes as DBR_STRING and the server converts it (enum state names, numbers);
 * - numbers go as the channel's native type (as DOUBLE when an integer channel would
 *   cut a fraction, so the server converts); to a STRING channel they go as text.
 * @param value what the user passed
 * @param nativeType the channel's native value type 0..6
 * @param nativeCount the channel's element count
 * @param dbrType the DBR type asked for, if any
 * @returns type, count and values
 * @throws {LocalProtocolError} for an empty array or text that is not a number for a numeric type
 * @example
 * ```ts
 * import { preparePut } from "./put_values.ts";
 * // 2.5 to a LONG (5) channel goes as DOUBLE (6): the server does the conversion.
 * const p = preparePut(2.5, 5, 1);
 * if (p.dbrType !== 6 || p.count !== 1 || p.value[0] !== 2.5) throw new Error();
 * // Text to a 40-element CHAR (4) array goes as NUL-terminated chars.
 * const t = preparePut("hi", 4, 40);
 * if (t.dbrType !== 4 || t.value[0] !== 0x68 || t.value[2] !== 0) throw new Error();
 * // Other text goes as DBR_STRING (0), e.g. an enum state name.
 * if (preparePut("Two", 3, 1).dbrType !== 0) throw new Error();
 * ```
 */
export function preparePut(
  value: PutValue,
  nativeType: number,
  nativeCount: number,
  dbrType?: number,
): PreparedPut {
  let items: ArrayLike<number | string | boolean>;
  if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") {
    if (
      typeof value === "string" && dbrType === undefined && nativeType === 4 && nativeCount > 1
    ) {
      const chars = textToChars(value, nativeCount);
      return { dbrType: 4, count: chars.length, value: chars };
    }
    items = [value];
  } else {
    items = value;
  }
  if (items.length === 0 && dbrType === undefined) {
    throw new LocalProtocolError("Cannot put an empty array");
  }
  if (dbrType !== undefined) {
    const vt = dbrInfo(dbrType).valueType;
    const ta = typedArrayType(items);
    const v = ta === vt ? (items as DbrValues) : fill(vt, items);
    return { dbrType, count: v.length, value: v };
  }
  const ta = typedArrayType(items);
  if (ta !== undefined) return { dbrType: ta, count: items.length, value: items as DbrValues };
  let anyString = false;
  for (let i = 0; i < items.length; i++) {
    if (typeof items[i] === "string") {
      anyString = true;
      break;
    }
  }
  if (anyString || nativeType === 0) {
    const v = fill(0, items);
    return { dbrType: 0, count: v.length, value: v };
  }
  const vt = (nativeType >= 1 && nativeType <= 6 ? nativeType : 6) as DbrValueType;
  // Non-integral numbers to an integer channel go as DOUBLE so the server converts them.
  let useDouble = false;
  if (vt !== 6 && vt !== 2) {
    for (let i = 0; i < items.length; i++) {
      const x = Number(items[i]);
      if (!Number.isInteger(x)) {
        useDouble = true;
        break;
      }
    }
  }
  const t = useDouble ? 6 : vt;
  const v = fill(t, items);
  return { dbrType: t, count: v.length, value: v };
}
