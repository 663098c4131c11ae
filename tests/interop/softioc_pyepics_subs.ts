/**
 * The subroutine of softioc_pyepics.db's aSub, loaded with `softioc --module`.
 * @module
 */

import type { SubroutineView } from "../../lib/ioc/user_subroutine.ts";

/**
 * VALA = A * B element by element, VALB = the sum of A, VALC = how many elements A had.
 * Returns 1 (outputs not written) when A is empty.
 * @param r the aSub record
 * @returns the status
 */
export function scaleSpectrum(r: SubroutineView): number {
  const a = r.A as Float64Array;
  if (a.length === 0) return 1;
  r.VALA = a.map((x) => x * r.B);
  r.VALB = a.reduce((s, x) => s + x, 0);
  r.VALC = a.length;
  return 0;
}
