/**
 * The tutorial's analysis code: an integer square root that publishes its two results
 * through I/O Intr, and a histogram of the values an ao collects.
 * @module
 */

import { iointr } from "../../mod.ts";

/** Publishes the integer square root and the remainder of `value` (two I/O Intr records). */
export function sqrt(value: number): void {
  const ival = Math.floor(Math.sqrt(value));
  iointr("sqrt_int", ival);
  iointr("sqrt_remain", value - ival * ival);
}

/** Counts `values` into `bins` equal bins over [lo, hi) (values outside are not counted). */
export function histogram(
  values: readonly number[],
  bins: number,
  lo: number,
  hi: number,
): number[] {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (const v of values) {
    const i = Math.floor((v - lo) / width);
    if (i >= 0 && i < bins) counts[i]++;
  }
  return counts;
}

/** A slow computation, for `tsdevImport("./analysis.ts", "worker")`: sums 1..n. */
export function slowSum(n: number): number {
  let s = 0;
  for (let i = 1; i <= n; i++) s += i;
  return s;
}
