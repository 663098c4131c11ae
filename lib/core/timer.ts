/**
 * One-shot timers that do not touch the global `setTimeout` and never keep the process
 * alive. In Deno 2.9 the first read of `globalThis.setTimeout` (or `clearTimeout`) loads
 * the Node-compatible timer module, 5-7 ms of a short-lived process such as `caget`
 * (measured: 5.1-7.1 ms for the read, then 0.5 ms for the first call).
 *
 * Each timer is an `Atomics.waitAsync` on a cell of its own with a timeout: V8 resolves
 * it with "timed-out" after the delay, and {@link cancelTimer} wakes it early
 * (`Atomics.notify`). V8 still keeps a small record (about 2 KB) of a cancelled wait until
 * its original time, so callers re-arm rather than cancel timers they need again soon.
 * Such a wait keeps nothing alive, so a CA context whose timers are still pending lets a
 * script end as soon as its sockets are closed. (`AbortSignal.timeout`, used before, keeps Deno 2.9 running until it fires and
 * cannot be cancelled: a script that closed its CA context still waited out the
 * circuit's 30 s watchdog.) Use these where a socket read or another pending operation
 * keeps the process running while they wait, as in a CA context, which always has its
 * search socket's receive pending.
 * @module
 */

/** Largest delay a runtime timer takes (a signed 32-bit count of milliseconds). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** A pending one-shot timer; see {@link startTimer} and {@link cancelTimer}. */
export interface Timer {
  /** True once it fired or was cancelled. */
  readonly done: boolean;
}

interface TimerState {
  done: boolean;
  /** The cell the timer waits on (notified to cancel it). */
  cell: Int32Array;
}

/** Shortest wait: a zero timeout would answer at once, before any I/O could run. */
const MIN_DELAY_MS = 1;

/**
 * Calls `fn` once after `ms` milliseconds (clamped to 1..2^31-1), unless cancelled first.
 * @param fn the callback
 * @param ms the delay in milliseconds
 * @returns the timer, for {@link cancelTimer}
 * @example
 * ```ts
 * import { cancelTimer, startTimer } from "./timer.ts";
 * let fired = false;
 * const t = startTimer(() => fired = true, 10);
 * cancelTimer(t);
 * if (!t.done || fired) throw new Error();
 * ```
 */
export function startTimer(fn: () => void, ms: number): Timer {
  const delay = ms > MIN_DELAY_MS ? Math.min(Math.ceil(ms), MAX_DELAY_MS) : MIN_DELAY_MS;
  const t: TimerState = { done: false, cell: new Int32Array(new SharedArrayBuffer(4)) };
  const wait = Atomics.waitAsync(t.cell, 0, 0, delay);
  // The cell is never written, so the wait is always asynchronous for a positive delay.
  (wait.value as Promise<string>).then((how) => {
    if (t.done || how !== "timed-out") return;
    t.done = true;
    fn();
  });
  return t;
}

/**
 * Stops a timer before it fires (nothing happens for one that fired, was cancelled, or
 * is undefined).
 * @param t the timer
 */
export function cancelTimer(t: Timer | undefined): void {
  const s = t as TimerState | undefined;
  if (!s || s.done) return;
  s.done = true;
  Atomics.notify(s.cell, 0);
}
