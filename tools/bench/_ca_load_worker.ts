/**
 * One load-generating CA client of the server benchmark (tools/bench/ca_server.ts), run
 * in a Worker so that several clients run in parallel, each on its own thread and with
 * its own circuit. The client is built to cost the server's peer as little as possible:
 * requests are encoded once up front and written in large coalesced writes, and replies
 * are only counted by walking their headers ({@link CaHeaderScanner}), never decoded.
 *
 * Kinds of load:
 * - "reads": READ_NOTIFY of DBR_TIME_DOUBLE, `inFlight` requests outstanding; every
 *   reply seen is replaced by a new request;
 * - "puts": plain WRITEs of DBR_DOUBLE in batches of `batch`, each batch followed by an
 *   ECHO, `inFlight` batches outstanding (RSRV answers the ECHO once it has processed
 *   the writes before it); every value differs from the one before;
 * - "sub": one EVENT_ADD subscription of DBR_TIME_DOUBLE, counting the updates.
 *
 * Protocol with the parent: it posts a {@link LoadJob}; the worker connects, sets up and
 * answers `{ ready: true }` (or `{ error }`); on "go" it starts the load, and on "stop" it
 * stops, waits for the server to answer an ECHO and answers {@link LoadDone}. While
 * running it keeps its count in `counters[slot]` (an Int32Array over a SharedArrayBuffer).
 * @module
 */

import { ByteWriter } from "../../lib/core/bytes.ts";
import { CaCommand, Dbe, Dbr } from "../../lib/ca/proto/constants.ts";
import { decodeDbr } from "../../lib/ca/proto/dbr.ts";
import { CaFramer, detachedMessage } from "../../lib/ca/proto/framer.ts";
import type { CaMessage } from "../../lib/ca/proto/header.ts";
import {
  encodeClientName,
  encodeCreateChanRequest,
  encodeEcho,
  encodeEventAdd,
  encodeHostName,
  encodeReadNotify,
  encodeVersion,
  encodeWrite,
  encodeWriteNotify,
} from "../../lib/ca/proto/messages.ts";
import { CaHeaderScanner } from "./_ca_scan.ts";

/** What one worker is asked to do. */
export interface LoadJob {
  kind: "reads" | "puts" | "sub";
  /** The server's TCP port on 127.0.0.1. */
  port: number;
  /** The PV (a DOUBLE of `count` elements). */
  pv: string;
  /** Elements of the PV. */
  count: number;
  /** Requests (reads) or batches (puts) kept outstanding. */
  inFlight: number;
  /** WRITEs per ECHO (puts). */
  batch: number;
  /** Shared counters, one Int32 slot per worker. */
  counters: SharedArrayBuffer;
  slot: number;
  /** CLIENT_NAME of the circuit. */
  user: string;
}

/** What a worker reports when it has stopped. */
export interface LoadDone {
  done: true;
  /** The count at the end (replies, puts acknowledged or updates). */
  total: number;
  /** ERROR messages received while loaded (should be 0). */
  errors: number;
  /** Element count of the last update (sub). */
  lastUpdateCount: number;
}

const SUBID = 7;
const READ_BUF = 256 * 1024;

/** A circuit for the setup steps: full framing, waiting for one message at a time. */
class Setup {
  readonly conn: Deno.TcpConn;
  readonly framer = new CaFramer();
  readonly buf = new Uint8Array(READ_BUF);
  #queue: CaMessage[] = [];

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  async send(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  async next(match: (m: CaMessage) => boolean, what: string): Promise<CaMessage> {
    for (;;) {
      while (this.#queue.length) {
        const m = this.#queue.shift()!;
        if (m.command === CaCommand.ERROR) {
          throw new Error(`server error while waiting for ${what}`);
        }
        if (match(m)) return m;
      }
      const n = await this.conn.read(this.buf);
      if (n === null) throw new Error(`server closed the circuit while waiting for ${what}`);
      for (const m of this.framer.receive(this.buf.subarray(0, n))) {
        this.#queue.push(detachedMessage(m));
      }
    }
  }

  /** True when nothing is buffered: the stream is at a message boundary. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.framer.buffered === 0;
  }
}

interface Channel {
  sid: number;
  cid: number;
}

async function open(job: LoadJob): Promise<{ s: Setup; ch: Channel }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: job.port });
  conn.setNoDelay(true);
  const s = new Setup(conn);
  const w = new ByteWriter();
  encodeVersion(w);
  encodeClientName(w, job.user);
  encodeHostName(w, "localhost");
  encodeCreateChanRequest(w, { cid: 1, name: job.pv });
  await s.send(w.toBytes());
  const created = await s.next((m) => m.command === CaCommand.CREATE_CHAN, "CREATE_CHAN");
  return { s, ch: { sid: created.param2, cid: 1 } };
}

/** Sends an ECHO and waits for its answer with the scanner (the load phase's framing). */
async function drain(conn: Deno.TcpConn, scanner: CaHeaderScanner, buf: Uint8Array) {
  const w = new ByteWriter(16);
  encodeEcho(w);
  const want = scanner.counts[CaCommand.ECHO] + 1;
  await conn.write(w.toBytes());
  while (scanner.counts[CaCommand.ECHO] < want) {
    const n = await conn.read(buf);
    if (n === null) return;
    scanner.scan(buf.subarray(0, n));
  }
}

/**
 * Runs the load: `replies(scanner)` says how many units of work came back so far, and
 * `unitBytes`-sized units are taken from `ring` (which wraps) to replace them.
 */
class Pump {
  readonly #conn: Deno.TcpConn;
  readonly #ring: Uint8Array;
  readonly #unit: number;
  readonly #units: number;
  #at = 0;
  #owed = 0;
  #writing = false;
  stopped = false;

  constructor(conn: Deno.TcpConn, ring: Uint8Array, unitBytes: number) {
    this.#conn = conn;
    this.#ring = ring;
    this.#unit = unitBytes;
    this.#units = ring.length / unitBytes;
  }

  /** Owes `n` more units; writes them (coalesced) unless a write is already busy. */
  owe(n: number): void {
    this.#owed += n;
    if (!this.#writing && !this.stopped) void this.#write();
  }

  async #write(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#owed > 0 && !this.stopped) {
        // Contiguous units from the ring, up to its end.
        const k = Math.min(this.#owed, this.#units - this.#at);
        this.#owed -= k;
        const bytes = this.#ring.subarray(this.#at * this.#unit, (this.#at + k) * this.#unit);
        this.#at = (this.#at + k) % this.#units;
        let off = 0;
        while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
      }
    } catch {
      this.stopped = true;
    } finally {
      this.#writing = false;
    }
  }

  /** Resolves once no write is busy. */
  async idle(): Promise<void> {
    while (this.#writing) await new Promise((r) => setTimeout(r, 1));
  }
}

interface Running {
  stop(): Promise<LoadDone>;
}

function ringOfReads(ch: Channel, n: number): Uint8Array {
  const w = new ByteWriter(16 * n);
  // The same IOID every time: a server answers each request and neither peer checks.
  for (let i = 0; i < n; i++) {
    encodeReadNotify(w, { sid: ch.sid, ioid: 1, dataType: Dbr.TIME_DOUBLE, count: 1 });
  }
  return w.toBytes();
}

function ringOfPuts(ch: Channel, job: LoadJob, batches: number): Uint8Array {
  const w = new ByteWriter();
  const values = new Float64Array(job.count);
  let next = 1;
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < job.batch; i++) {
      // Each value differs from the one before, also where the ring wraps.
      values[0] = next++;
      if (job.count > 1) values[job.count - 1] = next;
      encodeWrite(w, {
        sid: ch.sid,
        cid: ch.cid,
        dataType: Dbr.DOUBLE,
        count: job.count,
        data: { value: values, meta: { status: 0, severity: 0 } },
      });
    }
    encodeEcho(w);
  }
  return w.toBytes();
}

/** Reads the load phase's replies, counting with the scanner, until stopped. */
function readLoop(
  conn: Deno.TcpConn,
  scanner: CaHeaderScanner,
  onChunk: () => void,
  until: () => boolean,
): Promise<void> {
  const buf = new Uint8Array(READ_BUF);
  return (async () => {
    while (!until()) {
      const n = await conn.read(buf);
      if (n === null) return;
      scanner.scan(buf.subarray(0, n));
      onChunk();
    }
  })();
}

async function start(job: LoadJob, counters: Int32Array): Promise<() => Running> {
  const { s, ch } = await open(job);
  const conn = s.conn;
  const scanner = new CaHeaderScanner();
  const w = new ByteWriter();
  if (job.kind === "reads") {
    // Set a value and read it back once in full, to know the server answers sensibly.
    encodeWriteNotify(w, {
      sid: ch.sid,
      ioid: 2,
      dataType: Dbr.DOUBLE,
      count: 1,
      data: { value: new Float64Array([42.5]), meta: { status: 0, severity: 0 } },
    });
    await s.send(w.toBytes());
    await s.next((m) => m.command === CaCommand.WRITE_NOTIFY, "WRITE_NOTIFY");
    w.reset();
    encodeReadNotify(w, { sid: ch.sid, ioid: 3, dataType: Dbr.TIME_DOUBLE, count: 1 });
    await s.send(w.toBytes());
    const r = await s.next((m) => m.command === CaCommand.READ_NOTIFY, "READ_NOTIFY");
    const v = decodeDbr(r.dataType, r.dataCount, r.payload).value as Float64Array;
    if (v[0] !== 42.5) throw new Error(`read back ${v[0]} instead of 42.5`);
  } else if (job.kind === "sub") {
    encodeEventAdd(w, {
      sid: ch.sid,
      subid: SUBID,
      dataType: Dbr.TIME_DOUBLE,
      count: job.count,
      mask: Dbe.VALUE,
    });
    await s.send(w.toBytes());
    const first = await s.next(
      (m) => m.command === CaCommand.EVENT_ADD && m.param2 === SUBID,
      "the first update",
    );
    if (first.dataCount !== job.count) throw new Error(`update of ${first.dataCount} elements`);
  } else {
    encodeEcho(w);
    await s.send(w.toBytes());
    await s.next((m) => m.command === CaCommand.ECHO, "ECHO");
  }
  if (!s.idle) throw new Error("unexpected messages after the setup");

  return () => {
    let stopping = false;
    let loop: Promise<void>;
    let pump: Pump | undefined;
    const done = (total: number): LoadDone => ({
      done: true,
      total,
      errors: scanner.counts[CaCommand.ERROR],
      lastUpdateCount: scanner.lastUpdateCount,
    });
    if (job.kind === "reads") {
      const ringLen = Math.max(job.inFlight * 4, 256);
      pump = new Pump(conn, ringOfReads(ch, ringLen), 16);
      let seen = 0;
      loop = readLoop(conn, scanner, () => {
        const got = scanner.counts[CaCommand.READ_NOTIFY];
        Atomics.store(counters, job.slot, got);
        pump!.owe(got - seen);
        seen = got;
      }, () => stopping);
      pump.owe(job.inFlight);
    } else if (job.kind === "puts") {
      const ring = ringOfPuts(ch, job, Math.max(job.inFlight * 2, 8));
      pump = new Pump(conn, ring, ring.length / Math.max(job.inFlight * 2, 8));
      let seen = scanner.counts[CaCommand.ECHO];
      loop = readLoop(conn, scanner, () => {
        const got = scanner.counts[CaCommand.ECHO];
        Atomics.store(counters, job.slot, got * job.batch);
        pump!.owe(got - seen);
        seen = got;
      }, () => stopping);
      pump.owe(job.inFlight);
    } else {
      loop = readLoop(conn, scanner, () => {
        Atomics.store(counters, job.slot, scanner.counts[CaCommand.EVENT_ADD]);
      }, () => stopping);
    }
    return {
      async stop() {
        const total = Atomics.load(counters, job.slot);
        if (pump) pump.stopped = true;
        stopping = true;
        await pump?.idle();
        // The read loop ends after its next chunk; the ECHO guarantees one arrives.
        const w = new ByteWriter(16);
        encodeEcho(w);
        await conn.write(w.toBytes());
        await loop;
        await drain(conn, scanner, new Uint8Array(READ_BUF));
        conn.close();
        return done(total);
      },
    };
  };
}

interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(m: unknown): void;
  close(): void;
}

if (import.meta.main) {
  const scope = globalThis as unknown as WorkerScope;
  let go: (() => Running) | undefined;
  let running: Running | undefined;
  scope.onmessage = async (e: MessageEvent) => {
    const msg = e.data;
    try {
      if (msg === "go") {
        running = go!();
      } else if (msg === "stop") {
        scope.postMessage(await running!.stop());
      } else {
        const job = msg as LoadJob;
        go = await start(job, new Int32Array(job.counters));
        scope.postMessage({ ready: true });
      }
    } catch (err) {
      scope.postMessage({ error: `${(err as Error).message}` });
    }
  };
}
