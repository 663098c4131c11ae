/**
 * Initial values of array PVs packed into shared buffers. Every ArrayBuffer costs several
 * hundred bytes besides its data (the buffer objects, the allocator's bookkeeping of the
 * block, and the holes left in memory by the temporaries of whoever built it), which for
 * thousands of waveform-sized PVs is a large part of their memory: an IOC allocates
 * each record's buffer once at start, and so do we, for many PVs at a time.
 *
 * A packed value is an ordinary typed array (a view with its own `byteOffset` into a
 * larger buffer); it is replaced, not modified, when the PV changes, as every value is.
 * A block stays alive while any of its PVs still holds its first value, which never
 * keeps more than the memory those first values took together.
 * @module
 */

import { newNumericArray, NUMERIC_ARRAYS } from "./coerce.ts";
import type { NumericArray, ScalarType } from "./types.ts";

/** Bytes of one shared block. */
export const SLAB_BYTES = 1 << 20;
/** Larger values get a buffer of their own (a block should hold many values). */
export const SLAB_MAX_VALUE = SLAB_BYTES >> 4;

let block: ArrayBuffer | undefined;
let used = 0;

/**
 * A zeroed numeric array of `n` elements, packed into a shared block when it is small
 * enough (8-byte aligned, so every element type can view it).
 * @param t the element type (not string/boolean)
 * @param n the length
 * @returns the zeroed array
 * @example
 * ```ts
 * import { packedArray } from "./_slab.ts";
 * const a = packedArray("float64", 1000);
 * const b = packedArray("uint16", 3);
 * if (!(a instanceof Float64Array) || a.length !== 1000 || b.length !== 3) throw new Error();
 * b[0] = 7;
 * if (a.some((x) => x !== 0)) throw new Error(); // neighbours never overlap
 * ```
 */
export function packedArray(t: ScalarType, n: number): NumericArray {
  const C = NUMERIC_ARRAYS[t];
  const bytes = C ? n * C.BYTES_PER_ELEMENT : 0;
  if (!C || bytes === 0 || bytes > SLAB_MAX_VALUE) return newNumericArray(t, n);
  let at = (used + 7) & ~7;
  if (!block || at + bytes > SLAB_BYTES) {
    block = new ArrayBuffer(SLAB_BYTES);
    at = 0;
  }
  used = at + bytes;
  return new C(block, at, n);
}
