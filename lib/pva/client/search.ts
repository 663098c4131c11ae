/**
 * Search scheduling without I/O: which channel names to (re)send when, with a per-name
 * back-off, and how to pack many names into few datagrams. Time is passed in (seconds,
 * any monotonic origin), so the schedule is tested without timers.
 *
 * ```text
 * SEARCH datagram (we send big-endian, like pvxs):
 * header | u32 seq "find" | u8 flags (0x80 unicast) | 3 x 0 | 16 B reply addr (any)
 * u16 reply port | ["tcp"] | u16 count | count x (u32 searchInstanceID | String name)
 * ```
 * @module
 */

import { ByteWriter } from "../../core/bytes.ts";
import { ANY_ADDRESS, encodeSearchRequest, SearchFlag } from "../proto/messages.ts";
import { utf8Encode } from "../../core/bytes.ts";

/** A name to search for and the ID that search responses will carry. */
export interface SearchEntry {
  /** The search ID (the channel's client ID). */
  id: number;
  /** The channel name. */
  name: string;
}

/** Options of a {@link SearchScheduler}. */
export interface SearchScheduleOptions {
  /** Delay before the first retry, seconds (default 0.2). */
  firstRetry?: number;
  /** Longest delay between two searches of one name, seconds (default 30). */
  maxDelay?: number;
}

interface Pending {
  name: string;
  next: number;
  delay: number;
}

/**
 * The search schedule: a new name goes out at once, then after `firstRetry`, and each
 * later retry waits twice as long, up to `maxDelay`. `poke()` (a new server appeared, a
 * connection was lost) restarts every name's back-off.
 *
 * @example
 * ```ts
 * import { SearchScheduler } from "./search.ts";
 * const s = new SearchScheduler();
 * s.add(1, "pv:x", 0);
 * if (s.due(0).length !== 1 || s.due(0.1).length !== 0 || s.due(0.2).length !== 1) throw new Error();
 * ```
 */
export class SearchScheduler {
  #pending = new Map<number, Pending>();
  #first: number;
  #max: number;

  /**
   * Creates an empty schedule.
   * @param opts first retry delay and longest delay, seconds
   */
  constructor(opts: SearchScheduleOptions = {}) {
    this.#first = opts.firstRetry ?? 0.2;
    this.#max = opts.maxDelay ?? 30;
  }

  /** Number of names still searched for. */
  get size(): number {
    return this.#pending.size;
  }

  /** Starts searching for `name` (due at `now`). */
  add(id: number, name: string, now: number): void {
    this.#pending.set(id, { name, next: now, delay: 0 });
  }

  /** Stops searching for `id` (found, or given up). */
  remove(id: number): void {
    this.#pending.delete(id);
  }

  /** Whether `id` is being searched for. */
  has(id: number): boolean {
    return this.#pending.has(id);
  }

  /**
   * The names due at `now`; each is rescheduled with its next back-off step.
   * @param now the current time, seconds
   */
  due(now: number): SearchEntry[] {
    const out: SearchEntry[] = [];
    for (const [id, p] of this.#pending) {
      if (p.next > now) continue;
      out.push({ id, name: p.name });
      p.delay = p.delay === 0 ? this.#first : Math.min(this.#max, p.delay * 2);
      p.next = now + p.delay;
    }
    return out;
  }

  /** The earliest time something is due, or undefined when nothing is pending. */
  nextDue(): number | undefined {
    let t: number | undefined;
    for (const p of this.#pending.values()) if (t === undefined || p.next < t) t = p.next;
    return t;
  }

  /** Restarts every back-off: all names are due at `now`. */
  poke(now: number): void {
    for (const p of this.#pending.values()) {
      p.next = now;
      p.delay = 0;
    }
  }
}

/** The search sequence ID pvxs uses ("find"); replies are matched by instance IDs. */
export const SEARCH_SEQUENCE_ID = 0x66696e64;
/** Largest SEARCH payload we put in one datagram (pvxs' limit). */
export const MAX_SEARCH_PAYLOAD = 1400;

/**
 * Packs search entries into as few SEARCH datagrams as fit in `maxPayload` each.
 * @param entries the names to search
 * @param opts reply port, unicast flag, optional size limit
 * @returns the datagrams (big-endian)
 */
export function buildSearchDatagrams(
  entries: readonly SearchEntry[],
  opts: { responsePort: number; unicast: boolean; maxPayload?: number },
): Uint8Array[] {
  const max = opts.maxPayload ?? MAX_SEARCH_PAYLOAD;
  // Fixed part: seq 4 + flags 4 + addr 16 + port 2 + protocols 5 + count 2.
  const fixed = 33;
  const out: Uint8Array[] = [];
  let batch: SearchEntry[] = [];
  let size = fixed;
  const flush = () => {
    if (batch.length === 0) return;
    const w = new ByteWriter(size + 16, false);
    encodeSearchRequest(w, {
      sequenceId: SEARCH_SEQUENCE_ID,
      flags: opts.unicast ? SearchFlag.UNICAST : 0,
      responseAddress: ANY_ADDRESS,
      responsePort: opts.responsePort,
      protocols: ["tcp"],
      channels: batch,
    });
    out.push(w.toBytes());
    batch = [];
    size = fixed;
  };
  for (const e of entries) {
    const n = utf8Encode(e.name).length;
    const len = 4 + (n < 254 ? 1 : 5) + n;
    if (batch.length > 0 && (size + len > max || batch.length === 0xffff)) flush();
    batch.push(e);
    size += len;
  }
  flush();
  return out;
}
