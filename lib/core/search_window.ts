/**
 * How many search datagrams may be unanswered at once: the window policy the CA and the
 * PVA clients share. A burst of thousands of names (caget of 10,000 PVs, an autosave set)
 * sent at once would overflow a server's UDP receive buffer and the dropped names would
 * wait for their retry; so at most `size` datagrams are out, and answers make room.
 *
 * - Datagrams are numbered in the order sent. An answer either names the datagram it
 *   answers (CA servers echo the sequence number of the VERSION heading a search:
 *   {@link SearchWindow.answeredThrough}, which also covers every earlier datagram) or
 *   just counts as one (PVA replies: {@link SearchWindow.answeredOne}, the oldest).
 * - When nothing was answered for `stall` seconds, what is in flight is taken as lost (or
 *   as holding only names no server has) and stops counting, all at once. While answers
 *   keep coming, nothing is written off: the server is still working through its queue,
 *   and more datagrams would only lengthen it.
 *
 * Sans-I/O: time is passed in as seconds.
 * @example
 * ```ts
 * import { SearchWindow } from "./search_window.ts";
 * const w = new SearchWindow({ size: 2, stall: 0.05 });
 * w.sent(0);
 * w.sent(0);
 * if (w.hasRoom(0.01)) throw new Error("full");
 * w.answeredThrough(0, 0.02);          // the first datagram's answer
 * if (!w.hasRoom(0.02)) throw new Error("one in flight");
 * w.sent(0.02);
 * if (w.hasRoom(0.06)) throw new Error("an answer 40 ms ago: still full");
 * if (!w.hasRoom(0.07)) throw new Error("50 ms without answers: written off");
 * ```
 * @module
 */

/** Options of a {@link SearchWindow}. */
export interface SearchWindowOptions {
  /** Most datagrams unanswered at once (Infinity: no limit). */
  size?: number;
  /** Seconds without any answer after which the datagrams in flight stop counting. */
  stall?: number;
}

/** Counts search datagrams in flight; see the module notes. */
export class SearchWindow {
  /** Most datagrams unanswered at once. */
  size: number;
  /** Seconds without progress before what is in flight is written off. */
  readonly stall: number;
  /** Sequence number of the next datagram (u32, wraps). */
  #next = 0;
  /** Datagrams before this sequence number are answered or written off. */
  #acked = 0;
  /** When the datagrams in flight last made progress (an answer, or the first send). */
  #progressAt = -Infinity;

  /**
   * Creates an empty window.
   * @param opts size (default 64) and stall time (default 0.03 s)
   */
  constructor(opts: SearchWindowOptions = {}) {
    this.size = opts.size ?? 64;
    this.stall = opts.stall ?? 0.03;
  }

  /** Datagrams sent and still counted as unanswered. */
  get inFlight(): number {
    return (this.#next - this.#acked) >>> 0;
  }

  /** Sequence numbers before this one are answered or written off. */
  get acked(): number {
    return this.#acked;
  }

  /** When the datagrams in flight last made progress (-Infinity before any). */
  get progressAt(): number {
    return this.#progressAt;
  }

  /**
   * Writes off what is in flight when nothing was answered for `stall` seconds.
   * @param now the current time
   */
  expire(now: number): void {
    if (this.inFlight > 0 && now >= this.#progressAt + this.stall) this.#acked = this.#next;
  }

  /**
   * Whether one more datagram may go now (after {@link SearchWindow.expire}).
   * @param now the current time
   */
  hasRoom(now: number): boolean {
    this.expire(now);
    return this.inFlight < this.size;
  }

  /**
   * Counts a datagram as sent.
   * @param now the current time
   * @returns its sequence number
   */
  sent(now: number): number {
    if (this.inFlight === 0) this.#progressAt = now;
    const seq = this.#next;
    this.#next = (seq + 1) >>> 0;
    return seq;
  }

  /**
   * An answer echoed a datagram's sequence number: it and every datagram sent before it
   * have been through the server. Numbers from before the last write-off, or not sent
   * yet, are ignored (wrap-around safe).
   * @param sequence the echoed sequence number
   * @param now the current time
   */
  answeredThrough(sequence: number, now: number): void {
    const next = (sequence + 1) >>> 0;
    if (((next - this.#acked) | 0) > 0 && ((this.#next - next) | 0) >= 0) {
      this.#acked = next;
      this.#progressAt = now;
    }
  }

  /**
   * An answer that names no datagram: the oldest one in flight stops counting.
   * @param now the current time
   */
  answeredOne(now: number): void {
    if (this.inFlight > 0) this.#acked = (this.#acked + 1) >>> 0;
    this.#progressAt = now;
  }

  /**
   * Other progress (an answer for a name, without a sequence number): holds off the
   * write-off of what is in flight.
   * @param now the current time
   */
  progress(now: number): void {
    this.#progressAt = now;
  }

  /**
   * When the datagrams in flight are written off if nothing is answered meanwhile, or
   * undefined when none is in flight.
   */
  stallAt(): number | undefined {
    return this.inFlight > 0 ? this.#progressAt + this.stall : undefined;
  }

  /** Forgets every datagram in flight. */
  clear(): void {
    this.#acked = this.#next;
    this.#progressAt = -Infinity;
  }
}
