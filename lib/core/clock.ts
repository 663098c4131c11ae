/**
 * The clock the servers stamp values with: milliseconds since 1970 with sub-millisecond
 * resolution (as an IOC's epicsTimeGetCurrent), strictly increasing within the process.
 *
 * Reading a clock costs 50-130 ns on the machines we measured (a system call where the
 * virtual machine has no fast clock), a good part of what a whole scalar put costs. So the
 * servers handle what one socket read brought inside {@link stampBatch}: there the clock is
 * read at the first stamp and again every {@link STAMPS_PER_READING} stamps, and the stamps
 * in between advance by {@link STAMP_STEP_MS} each. Puts that arrived together thus carry
 * their arrival time and stay distinct and in order; a put takes about as long as a step,
 * so a stamp is never more than a few microseconds off. Outside a batch every stamp reads
 * the clock. Either way a stamp is at least one step after the last one, so stamps asked
 * for faster than one per step (a tight loop of nothing but stamps) run ahead of the clock
 * until the calls slow down.
 *
 * A double holding milliseconds since 1970 resolves 2^-12 ms (244 ns) until 2039, so that
 * is the step: the smallest that still makes a different number.
 * @module
 */

/** How far apart stamps from one reading are, in milliseconds (2^-12 ms, 244 ns). */
export const STAMP_STEP_MS = 2 ** -12;
/** Inside a batch, the clock is read again after this many stamps. */
export const STAMPS_PER_READING = 32;

/** Wall-clock milliseconds minus the monotonic clock, as last measured. */
let wallOffset = 0;
/** Monotonic time of that measurement (-Infinity: never). */
let wallSyncedAt = -Infinity;
/** The last stamp handed out. */
let last = -Infinity;
/** How deep in stampBatch calls we are. */
let depth = 0;
/** Stamps left before the clock is read again (inside a batch). */
let left = 0;

function readClock(): number {
  // The monotonic clock (microseconds, like an IOC's timestamps) placed on the wall clock,
  // whose offset is measured again every 100 ms so that clock adjustments are followed soon.
  const p = performance.now();
  if (p - wallSyncedAt >= 100) {
    // Date.now() truncates to the millisecond, so a measured offset is up to 1 ms low:
    // keep the largest of nearby measurements (no jitter), take a real adjustment as is.
    const off = Date.now() - p;
    wallOffset = Math.abs(off - wallOffset) < 1 ? Math.max(off, wallOffset) : off;
    wallSyncedAt = p;
  }
  return p + wallOffset;
}

/**
 * The current time for a time stamp, in milliseconds since 1970.
 * @returns a time later than every earlier stamp of this process
 * @example
 * ```ts
 * import { stampNow } from "./clock.ts";
 * const a = stampNow(), b = stampNow();
 * if (!(b > a) || Math.abs(a - Date.now()) > 1000) throw new Error();
 * ```
 */
export function stampNow(): number {
  if (depth > 0 && left > 0) {
    left--;
    return (last += STAMP_STEP_MS);
  }
  left = STAMPS_PER_READING - 1;
  const t = readClock();
  // A wall-clock step backwards (or steps handed out ahead) never makes a stamp repeat.
  last = t > last ? t : last + STAMP_STEP_MS;
  return last;
}

/**
 * Runs `f`, which handles what arrived together (one read of a socket), with the clock
 * read once per {@link STAMPS_PER_READING} stamps rather than per stamp.
 * @param f the work; it must be synchronous (what it starts to run later stamps as usual)
 * @returns what `f` returns
 * @example
 * ```ts
 * import { stampBatch, stampNow } from "./clock.ts";
 * const [a, b] = stampBatch(() => [stampNow(), stampNow()]);
 * if (!(b > a)) throw new Error();
 * ```
 */
export function stampBatch<T>(f: () => T): T {
  // Outside a batch every stamp sets `left`: a batch starts with a reading of its own.
  if (depth++ === 0) left = 0;
  try {
    return f();
  } finally {
    depth--;
  }
}
