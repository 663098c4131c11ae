/**
 * Name-search scheduling, sans-I/O. Channels waiting for a server are packed many to a
 * datagram and retried with exponential back-off, the way libca paces its searches;
 * a beacon from a new or restarted server resets the back-off so channels find it
 * quickly. Time comes in as seconds on the caller's clock.
 *
 * ```text
 * search datagram = VERSION(type=1, count=13, p1=sequence) + SEARCH(cid, name)...
 * (at most maxDatagram bytes, libca: 1024)
 * ```
 * @module
 */

import { ByteWriter, utf8Encode } from "../../core/bytes.ts";
import { CA_MINOR_VERSION, CaCommand, SearchReply } from "../proto/constants.ts";
import { padded, writeHeader } from "../proto/header.ts";
import { encodeUdpVersion } from "../proto/messages.ts";
import { SearchWindow } from "../../core/search_window.ts";

/**
 * A PV name as a CA string payload (UTF-8, NUL, zeros to a multiple of 8), the body
 * of both SEARCH and CREATE_CHAN.
 * @param name the PV name
 * @returns the padded payload
 */
export function namePayload(name: string): Uint8Array {
  const w = new ByteWriter(16);
  writeNamePayload(w, name);
  return w.toBytes();
}

/**
 * Size of {@link namePayload} for a name, or -1 when the name is not plain ASCII.
 * @param name the PV name
 */
export function asciiPayloadSize(name: string): number {
  const n = name.length;
  for (let i = 0; i < n; i++) if (name.charCodeAt(i) > 0x7f) return -1;
  return padded(n + 1);
}

/**
 * Appends a name as a padded string payload straight into a writer: plain ASCII names,
 * the usual case, need neither the text encoder nor an array of their own.
 * @param w the writer
 * @param name the PV name
 * @param size its {@link asciiPayloadSize}, when already known
 */
export function writeNamePayload(w: ByteWriter, name: string, size = asciiPayloadSize(name)): void {
  if (size < 0) {
    const b = utf8Encode(name);
    w.bytes(b);
    w.zeros(padded(b.length + 1) - b.length);
    return;
  }
  w.ensure(size);
  const dv = w.dataView;
  const at = w.length;
  const n = name.length;
  for (let i = 0; i < n; i++) dv.setUint8(at + i, name.charCodeAt(i));
  for (let i = n; i < size; i++) dv.setUint8(at + i, 0);
  w.length = at + size;
}

/** Options of {@link SearchScheduler}. */
export interface SearchSchedulerOptions {
  /** First retry interval in seconds (default 0.03). */
  minPeriod?: number;
  /** Largest retry interval in seconds (EPICS_CA_MAX_SEARCH_PERIOD, default 300). */
  maxPeriod?: number;
  /** Largest datagram in bytes (default 1024, libca's MAX_UDP_SEND). */
  maxDatagram?: number;
  /** Most datagrams per {@link SearchScheduler.poll}; the rest wait one pacing step. */
  maxDatagramsPerPoll?: number;
  /** Seconds between paced bursts when a poll hit its datagram budget (default 0.005). */
  pacing?: number;
  /**
   * Most datagrams the servers have not answered yet (by the sequence number they echo)
   * before more are sent (default 64: what a server's default UDP receive buffer holds).
   * Infinity turns the window off (for searches that are answered without sequence
   * numbers, such as name servers over TCP).
   */
  window?: number;
}

interface Entry {
  cid: number;
  name: string;
  /** Size of the name's padded payload; -1: not ASCII (see {@link asciiPayloadSize}). */
  ascii: number;
  /** Encoded size of its SEARCH message. */
  size: number;
  period: number;
  dueAt: number;
  /** Times sent so far. */
  tries: number;
  /** Sequence number of the datagram it was last sent in. */
  seq: number;
  /** Removed (found or closed) while still in the queue of first searches. */
  gone: boolean;
}

/** What one poll produced. */
export interface SearchPoll {
  /** Datagrams to send to every search destination. */
  datagrams: Uint8Array[];
  /** When to poll next, or undefined when nothing is waiting. */
  nextAt: number | undefined;
}

/**
 * Decides which names to search for and when.
 * @example
 * ```ts
 * import { SearchScheduler } from "./search.ts";
 * const s = new SearchScheduler();
 * s.add(1, "T:ai", 0);
 * s.add(2, "T:ao", 0);
 * const p = s.poll(0);
 * if (p.datagrams.length !== 1 || p.nextAt !== 0.03) throw new Error();
 * ```
 */
export class SearchScheduler {
  readonly #minPeriod: number;
  readonly #maxPeriod: number;
  /** See {@link SearchSchedulerOptions.maxDatagram}. */
  maxDatagram: number;
  readonly #maxPerPoll: number;
  readonly #pacing: number;
  readonly #entries = new Map<number, Entry>();
  /**
   * Names never sent and due at once, in the order added: a poll takes them from here
   * without walking the names already sent (10,000 at once from caget).
   */
  #fresh: Entry[] = [];
  #freshHead = 0;
  /** The other names: sent at least once, or first due later. */
  readonly #timed = new Map<number, Entry>();
  readonly #w = new ByteWriter(2048);
  /** When the last reply came (any name): retries wait while replies still flow. */
  #lastReplyAt = -Infinity;
  /** Datagrams in flight, counted by the sequence numbers servers echo. */
  readonly #win: SearchWindow;
  /** A poll stopped because the window was full. */
  #blocked = false;

  constructor(opts: SearchSchedulerOptions = {}) {
    this.#minPeriod = opts.minPeriod ?? 0.03;
    this.#maxPeriod = Math.max(this.#minPeriod, opts.maxPeriod ?? 300);
    this.maxDatagram = opts.maxDatagram ?? 1024;
    this.#maxPerPoll = opts.maxDatagramsPerPoll ?? 64;
    this.#pacing = opts.pacing ?? 0.005;
    // Nothing answered for a whole shortest retry period: what is in flight was lost.
    this.#win = new SearchWindow({ size: opts.window ?? 64, stall: this.#minPeriod });
  }

  /** See {@link SearchSchedulerOptions.window}. */
  get window(): number {
    return this.#win.size;
  }

  set window(n: number) {
    this.#win.size = n;
  }

  /** Datagrams sent and not answered yet. */
  get inFlight(): number {
    return this.#win.inFlight;
  }

  /**
   * Records a reply datagram's echoed sequence number: that datagram, and every one sent
   * before it, has been through the server.
   * @param sequence the sequence number of the VERSION heading a reply
   * @param now the current time
   * @returns true when a poll was held back by the window and now has room: poll again
   */
  sequenceAnswered(sequence: number, now: number): boolean {
    this.#win.answeredThrough(sequence, now);
    return this.#blocked && this.inFlight <= this.window / 2;
  }

  /** Number of names being searched for. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Starts searching for a name (due at once, or after `delay` seconds).
   * @param cid the search ID (the channel's CID)
   * @param name the PV name
   * @param now the current time
   * @param delay seconds before the first search (default 0)
   */
  add(cid: number, name: string, now: number, delay = 0): void {
    const ascii = asciiPayloadSize(name);
    const e: Entry = {
      cid,
      name,
      ascii,
      size: 16 + (ascii >= 0 ? ascii : padded(utf8Encode(name).length + 1)),
      period: this.#minPeriod,
      dueAt: now + delay,
      tries: 0,
      seq: 0,
      gone: false,
    };
    this.#drop(cid);
    this.#entries.set(cid, e);
    if (delay > 0) this.#timed.set(cid, e);
    else this.#fresh.push(e);
  }

  #drop(cid: number): boolean {
    const e = this.#entries.get(cid);
    if (!e) return false;
    e.gone = true;
    this.#entries.delete(cid);
    this.#timed.delete(cid);
    return true;
  }

  /**
   * Stops searching for a name (it was found or the channel closed).
   * @param cid the search ID
   * @returns whether it was being searched for
   */
  remove(cid: number): boolean {
    return this.#drop(cid);
  }

  /**
   * Stops searching for a name because a server answered for it. Answers also hold
   * back retries: while replies keep arriving (a big batch being worked through), a
   * name sent once is not sent again until the replies pause for the shortest retry
   * interval, or until it is overdue by a whole interval of its own.
   * @param cid the search ID
   * @param now the current time
   * @returns whether it was being searched for (false: a duplicate or late reply)
   */
  answered(cid: number, now: number): boolean {
    this.#lastReplyAt = now;
    this.#win.progress(now);
    return this.#drop(cid);
  }

  /**
   * True when the name with this search ID is being searched for.
   * @param cid the search ID
   */
  has(cid: number): boolean {
    return this.#entries.has(cid);
  }

  /**
   * Makes every pending search due now with the shortest back-off: a new server
   * appeared (beacon anomaly), so names not found so far may now be found.
   * @param now the current time
   */
  reset(now: number): void {
    for (const e of this.#entries.values()) {
      e.period = this.#minPeriod;
      e.dueAt = Math.min(e.dueAt, now);
    }
  }

  /**
   * Builds the datagrams due at `now`. Each name sent has its interval doubled (up to
   * the maximum) and is due again after it.
   * @param now the current time
   * @returns the datagrams and the next poll time
   */
  poll(now: number): SearchPoll {
    const datagrams: Uint8Array[] = [];
    const w = this.#w;
    w.reset();
    let inDatagram = 0;
    let budgetHit = false;
    let windowFull = false;
    this.#blocked = false;
    // Nothing answered for a whole shortest period: what is in flight was lost (or holds
    // only names nobody has); stop waiting for it.
    const win = this.#win;
    win.expire(now);
    // Replies still flowing: hold retries back (first searches always go out).
    const holdUntil = this.#lastReplyAt + this.#minPeriod;
    const holding = now < holdUntil;
    let held = Infinity;
    const flush = () => {
      if (inDatagram > 0) datagrams.push(w.toBytes());
      w.reset();
      inDatagram = 0;
    };
    let seq = 0;
    // Sends one name; false when the budget or the window stops the poll.
    const send = (e: Entry): boolean => {
      const size = e.size;
      if (inDatagram > 0 && w.length + size > this.maxDatagram) {
        flush();
        if (datagrams.length >= this.#maxPerPoll) {
          budgetHit = true;
          return false;
        }
      }
      if (inDatagram === 0) {
        if (!win.hasRoom(now)) {
          windowFull = true;
          return false;
        }
        seq = win.sent(now);
        encodeUdpVersion(w, { sequence: seq });
      }
      writeHeader(
        w,
        CaCommand.SEARCH,
        size - 16,
        SearchReply.DONT_REPLY,
        CA_MINOR_VERSION,
        e.cid,
        e.cid,
      );
      writeNamePayload(w, e.name, e.ascii);
      inDatagram++;
      e.tries++;
      e.seq = seq;
      e.dueAt = now + e.period;
      e.period = Math.min(e.period * 2, this.#maxPeriod);
      return true;
    };
    let stopped = false;
    // Retries first (their names have waited longest), then first searches.
    for (const e of this.#timed.values()) {
      if (e.dueAt > now) continue;
      if (e.tries > 0 && ((e.seq - win.acked) | 0) >= 0 && now < e.dueAt + e.period) {
        // Its datagram still waits in a server's queue (no later one was answered either):
        // a copy would only lengthen the queue. Held for at most one interval more.
        held = Math.min(held, win.progressAt + win.stall, e.dueAt + e.period);
        continue;
      }
      if (holding && e.tries > 0 && now < e.dueAt + e.period / 2) {
        held = Math.min(held, holdUntil, e.dueAt + e.period / 2);
        continue;
      }
      if (!send(e)) {
        stopped = true;
        break;
      }
    }
    if (!stopped) {
      const fresh = this.#fresh;
      let i = this.#freshHead;
      for (; i < fresh.length; i++) {
        const e = fresh[i];
        if (e.gone) continue;
        if (!send(e)) break;
        this.#timed.set(e.cid, e);
      }
      if (i >= fresh.length) {
        this.#fresh = [];
        this.#freshHead = 0;
      } else this.#freshHead = i;
    }
    flush();
    let nextAt: number | undefined = budgetHit ? now + this.#pacing : undefined;
    if (windowFull) {
      // Answers reopen the window (see sequenceAnswered); without them, give up waiting
      // after the shortest period.
      this.#blocked = true;
      nextAt = win.progressAt + win.stall;
    } else if (!budgetHit) {
      for (const e of this.#timed.values()) {
        const at = e.dueAt > now ? e.dueAt : held;
        if (nextAt === undefined || at < nextAt) nextAt = at;
      }
    }
    return { datagrams, nextAt };
  }
}

/**
 * Watches server beacons and reports anomalies: a server not seen before, or one whose
 * beacon counter went backwards or jumped (it restarted). libca resets its search
 * back-off on these.
 */
export class BeaconTracker {
  readonly #last = new Map<string, number>();

  /**
   * Records a beacon.
   * @param server "ip:port" of the server's TCP endpoint
   * @param beaconId the beacon counter
   * @returns true when the beacon is an anomaly (new or restarted server)
   */
  beacon(server: string, beaconId: number): boolean {
    const prev = this.#last.get(server);
    this.#last.set(server, beaconId);
    if (prev === undefined) return true;
    if (beaconId === prev) return false; // duplicate route
    return beaconId !== ((prev + 1) >>> 0);
  }

  /**
   * Forgets a server (its circuit went away), so its next beacon counts as new.
   * @param server "ip:port"
   */
  forget(server: string): void {
    this.#last.delete(server);
  }
}
