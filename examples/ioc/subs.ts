/**
 * User subroutines for subs.db: sub and aSub records whose SNAM names a function here
 * (st_subs.cmd imports this module with tsdevImport; `softioc --module subs.ts` works too).
 * Each function gets a view of its record: fields by name, an aSub's arrays as typed arrays.
 * @module
 */

import type { SubroutineView } from "../../lib/ioc/user_subroutine.ts";

/**
 * aSub: statistics of the temperature history (A, up to NOA samples, NEA of them read).
 * Writes the mean, minimum, maximum and standard deviation to VALA..VALD, which OUTA..OUTD
 * send on. Returns 1 (outputs not written) while there are no samples yet.
 */
export function historyStats(r: SubroutineView): number {
  const a = r.A as Float64Array;
  if (a.length === 0) return 1;
  let sum = 0, min = Infinity, max = -Infinity;
  for (const x of a) {
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / a.length;
  let sq = 0;
  for (const x of a) sq += (x - mean) ** 2;
  r.VALA = mean;
  r.VALB = min;
  r.VALC = max;
  r.VALD = Math.sqrt(sq / a.length);
  return 0;
}

/**
 * sub, asynchronous: the "controller" takes a new setpoint (A) after a short handshake.
 * The record stays PACT meanwhile, so `caput -c` returns once the value is accepted. A
 * setpoint above the limit in B is refused with a throw: CALC/INVALID, the reason in AMSG.
 */
export async function acceptSetpoint(r: SubroutineView): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  if (r.A > r.B) throw new Error(`setpoint ${r.A} is above ${r.B}`);
  r.VAL = r.A;
}
