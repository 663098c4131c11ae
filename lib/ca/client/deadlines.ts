/**
 * Operation timeouts, sans-I/O: one queue of deadlines that the context drives with a
 * single timer, instead of one `setTimeout` per get, put or connection wait. With
 * 10,000 reads in flight that is one timer rather than 10,000 armed and cleared.
 *
 * Entries sit in a binary min-heap keyed on their deadline. Cancelling only marks an
 * entry; marked entries are dropped when they reach the top, or all at once when they
 * outnumber the live ones (so a stream of quickly answered operations with long
 * timeouts does not grow the heap without bound). Times are milliseconds on the
 * caller's clock.
 * @module
 */

/** A scheduled deadline; hand it back to {@link Deadlines.cancel}. */
export class Deadline {
  /** When it expires. */
  readonly at: number;
  /** Called once when it expires (not after a cancel). */
  readonly onExpire: () => void;
  /** True once expired or cancelled. */
  done = false;

  constructor(at: number, onExpire: () => void) {
    this.at = at;
    this.onExpire = onExpire;
  }
}

/**
 * A queue of deadlines.
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 * const q = new Deadlines();
 * let fired = 0;
 * q.add(10, () => fired++);
 * const d = q.add(5, () => fired += 100);
 * q.cancel(d);
 * if (q.nextAt !== 10) throw new Error();
 * q.expire(10);
 * if (fired !== 1 || q.size !== 0) throw new Error();
 * ```
 */
export class Deadlines {
  #heap: Deadline[] = [];
  #live = 0;

  /** Number of deadlines neither expired nor cancelled. */
  get size(): number {
    return this.#live;
  }

  /** The earliest live deadline, or undefined when there is none. */
  get nextAt(): number | undefined {
    this.#dropCancelled();
    return this.#heap.length ? this.#heap[0].at : undefined;
  }

  /**
   * Schedules a deadline.
   * @param at when it expires
   * @param onExpire what to do then
   * @returns the handle to cancel it
   */
  add(at: number, onExpire: () => void): Deadline {
    const d = new Deadline(at, onExpire);
    const h = this.#heap;
    h.push(d);
    this.#up(h.length - 1);
    this.#live++;
    return d;
  }

  /**
   * Cancels a deadline (no effect when it already expired or was cancelled).
   * @param d the handle from {@link add}
   */
  cancel(d: Deadline): void {
    if (d.done) return;
    d.done = true;
    this.#live--;
    // Many cancelled entries and few live ones: rebuild rather than carry them.
    const h = this.#heap;
    if (h.length > 64 && this.#live * 2 < h.length) {
      this.#heap = h.filter((e) => !e.done);
      for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
    }
  }

  /**
   * Expires every deadline at or before `now`, earliest first. A callback may add or
   * cancel deadlines; one that throws does not stop the others (its error is rethrown
   * after all ran).
   * @param now the current time
   */
  expire(now: number): void {
    let error: unknown;
    let failed = false;
    for (;;) {
      this.#dropCancelled();
      const h = this.#heap;
      if (!h.length || h[0].at > now) break;
      const d = this.#pop();
      d.done = true;
      this.#live--;
      try {
        d.onExpire();
      } catch (e) {
        if (!failed) error = e;
        failed = true;
      }
    }
    if (failed) throw error;
  }

  /** Forgets every deadline without calling them. */
  clear(): void {
    for (const d of this.#heap) d.done = true;
    this.#heap = [];
    this.#live = 0;
  }

  #dropCancelled(): void {
    const h = this.#heap;
    while (h.length && h[0].done) this.#pop();
  }

  #pop(): Deadline {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      this.#down(0);
    }
    return top;
  }

  #up(i: number): void {
    const h = this.#heap;
    const d = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= d.at) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = d;
  }

  #down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const d = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1].at < h[c].at) c++;
      if (h[c].at >= d.at) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = d;
  }
}
