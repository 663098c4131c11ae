/**
 * One-shot timers that do not touch the global `setTimeout`. In Deno 2.9 the first read
 * of `globalThis.setTimeout` (or `clearTimeout`) loads the Node-compatible timer module,
 * about 6-7 ms of a short-lived process such as `caget` (measured: 7.1 ms for the read,
 * then 0.5 ms for the first call). `AbortSignal.timeout` reaches the runtime's timers
 * without that load (0.3-0.5 ms for the first one).
 *
 * Unlike `setTimeout`, these timers do not keep the process alive on their own
 * (`AbortSignal.timeout` timers are not referenced): use them where a socket read or
 * another pending operation keeps the process running while they wait, as in a CA
 * context, which always has its search socket's receive pending.
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
}

/**
 * Calls `fn` once after `ms` milliseconds (clamped to 0..2^31-1), unless cancelled first.
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
  const t: TimerState = { done: false };
  const delay = ms > 0 ? Math.min(Math.ceil(ms), MAX_DELAY_MS) : 0;
  AbortSignal.timeout(delay).addEventListener("abort", () => {
    if (t.done) return;
    t.done = true;
    fn();
  }, { once: true });
  return t;
}

/**
 * Stops a timer before it fires (nothing happens for one that fired, was cancelled, or
 * is undefined).
 * @param t the timer
 */
export function cancelTimer(t: Timer | undefined): void {
  if (t) (t as TimerState).done = true;
}

/**
 * Resolves after `ms` milliseconds (see the module notes: it does not keep the process
 * alive by itself).
 * @param ms the delay in milliseconds
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => startTimer(resolve, ms));
}
