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
import { SearchWindow } from "../../core/search_window.ts";
import { ANY_ADDRESS, encodeSearchRequest, SearchFlag } from "../proto/messages.ts";

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

  /**
   * Records that `id` actually went out at `now` (it may wait in a {@link SearchPacer}
   * after {@link due} handed it out): its next retry counts from the send.
   */
  sent(id: number, now: number): void {
    const p = this.#pending.get(id);
    if (p) p.next = now + p.delay;
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

/** Bytes `text` takes in UTF-8, without encoding it. */
function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      n += 2; // a surrogate pair: 4 bytes for 2 UTF-16 units
      i++;
    } else n += 2;
  }
  return n;
}

// Fixed part of a SEARCH payload: seq 4 + flags 4 + addr 16 + port 2 + protocols 5 + count 2.
const SEARCH_FIXED = 33;

/**
 * Where the datagram that starts at `entries[start]` ends: as many entries as fit in
 * `maxPayload` (at least one, at most 65535).
 * @param entries the names to search
 * @param start the first entry of the datagram
 * @param maxPayload the payload limit (default {@link MAX_SEARCH_PAYLOAD})
 * @returns the index after the datagram's last entry
 */
export function searchBatchEnd(
  entries: readonly SearchEntry[],
  start: number,
  maxPayload = MAX_SEARCH_PAYLOAD,
): number {
  let size = SEARCH_FIXED;
  let i = start;
  for (; i < entries.length && i - start < 0xffff; i++) {
    const n = utf8Length(entries[i].name);
    const len = 4 + (n < 254 ? 1 : 5) + n;
    if (i > start && size + len > maxPayload) break;
    size += len;
  }
  return i;
}

/**
 * Encodes one SEARCH datagram for `entries` (they must fit: see {@link searchBatchEnd}).
 * @param entries the names
 * @param opts reply port and unicast flag
 * @returns the datagram (big-endian)
 */
export function buildSearchDatagram(
  entries: SearchEntry[],
  opts: { responsePort: number; unicast: boolean },
): Uint8Array {
  const w = new ByteWriter(MAX_SEARCH_PAYLOAD + 64, false);
  encodeSearchRequest(w, {
    sequenceId: SEARCH_SEQUENCE_ID,
    flags: opts.unicast ? SearchFlag.UNICAST : 0,
    responseAddress: ANY_ADDRESS,
    responsePort: opts.responsePort,
    protocols: ["tcp"],
    channels: entries,
  });
  return w.toBytes();
}

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
  const out: Uint8Array[] = [];
  for (let i = 0; i < entries.length;) {
    const end = searchBatchEnd(entries, i, opts.maxPayload);
    out.push(buildSearchDatagram(entries.slice(i, end), opts));
    i = end;
  }
  return out;
}

/** Options of a {@link SearchPacer}. */
export interface SearchPacerOptions {
  /** Datagrams sent and not yet answered, at most (default 16). */
  window?: number;
  /**
   * Seconds without any reply after which the datagrams in flight stop counting
   * (default 0.05).
   */
  stall?: number;
}

/**
 * Paces UDP searches: a burst of thousands of names (a save set) would overflow the
 * server's receive buffer (about 90 full datagrams on Linux by default) and the lost
 * names would wait for their retry. So at most `window` datagrams are out at a time; each
 * search reply lets one more go, and when no reply came for `stall` seconds the datagrams
 * in flight (lost, or naming only names no server has) stop counting: the window policy of
 * lib/core/search_window.ts, which the CA client uses too. Names queued twice are sent
 * once; time is passed in.
 *
 * @example
 * ```ts
 * import { SearchPacer } from "./search.ts";
 * const p = new SearchPacer({ window: 1, stall: 0.05 });
 * p.enqueue([{ id: 1, name: "a" }, { id: 2, name: "b" }]);
 * const first = p.next(0, () => true, 1);   // one name per datagram here
 * if (first?.[0].id !== 1 || p.next(0, () => true, 1) !== undefined) throw new Error();
 * p.answered(0.005);
 * if (p.next(0.01, () => true, 1)?.[0].id !== 2) throw new Error();
 * ```
 */
export class SearchPacer {
  /** The datagrams in flight: the window policy shared with the CA client. */
  #win: SearchWindow;
  #queue: SearchEntry[] = [];
  #head = 0;
  #queued = new Set<number>();

  /**
   * Creates an empty pacer.
   * @param opts window and stall time
   */
  constructor(opts: SearchPacerOptions = {}) {
    this.#win = new SearchWindow({ size: opts.window ?? 16, stall: opts.stall ?? 0.05 });
  }

  /** Names waiting to be sent. */
  get queued(): number {
    return this.#queued.size;
  }

  /** Adds names to send (one already waiting is not added again). */
  enqueue(entries: readonly SearchEntry[]): void {
    for (const e of entries) {
      if (this.#queued.has(e.id)) continue;
      this.#queued.add(e.id);
      this.#queue.push(e);
    }
  }

  /**
   * The names of the next datagram, if the window has room; they count as sent at `now`.
   * @param now the current time, seconds
   * @param wanted whether a queued name is still searched for (found ones are dropped)
   * @param maxPayload the datagram payload limit
   * @returns the entries, or undefined when nothing may or can go now
   */
  next(
    now: number,
    wanted: (id: number) => boolean,
    maxPayload = MAX_SEARCH_PAYLOAD,
  ): SearchEntry[] | undefined {
    if (!this.#win.hasRoom(now)) return undefined;
    const q = this.#queue;
    // Drop names found meanwhile, then take one datagram's worth.
    let i = this.#head;
    const batch: SearchEntry[] = [];
    while (i < q.length) {
      const end = searchBatchEnd(q, i, maxPayload);
      for (let k = i; k < end; k++) {
        this.#queued.delete(q[k].id);
        if (wanted(q[k].id)) batch.push(q[k]);
      }
      i = end;
      if (batch.length) break;
    }
    // Compact now and then, so the queue does not grow without bound.
    if (i === q.length) {
      q.length = 0;
      this.#head = 0;
    } else if (i > 4096 && i * 2 > q.length) {
      q.splice(0, i);
      this.#head = 0;
    } else this.#head = i;
    if (!batch.length) return undefined;
    this.#win.sent(now);
    return batch;
  }

  /**
   * A search reply arrived: one datagram fewer counts as unanswered (PVA replies name no
   * datagram), and the ones in flight are not written off while replies keep coming.
   * @param now the current time, seconds
   */
  answered(now: number): void {
    this.#win.answeredOne(now);
  }

  /**
   * When the window frees up at the latest (the oldest datagram's stall time), if names
   * are waiting and the window is full; undefined otherwise.
   */
  wakeAt(): number | undefined {
    if (this.#queued.size === 0 || this.#win.inFlight < this.#win.size) return undefined;
    return this.#win.stallAt();
  }

  /** Forgets every queued name and counted datagram. */
  clear(): void {
    this.#queue = [];
    this.#head = 0;
    this.#queued.clear();
    this.#win.clear();
  }
}
