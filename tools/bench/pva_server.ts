/**
 * PVA server benchmark: our server against pvxs's own, each in its own process on
 * loopback, under the same load and read by the same clients.
 *
 *   deno task bench:pva [--seconds 3] [--rounds 2] [--queue 4] [--only spam,spam1cpu,u32,u16]
 *   (internal: --serve <JSON ServeSpec> runs our server, --ca-put <JSON CaPutSpec> the
 *   CA putting client; see _pva_common.ts)
 *   PVA_BENCH_PROF=<dir> in the environment: our server writes a V8 CPU profile there
 *
 * Workloads
 *
 * - spam: one uint32 PV posted as fast as clients take it, one pipelined monitor
 *   (queueSize 4 by default, pvxs' default): monitor updates per second. This is the
 *   workload of pvxs's `spam` server and `eatspam` client. `spam` always serves an
 *   array, here uint32[1] (an NTScalarArray of one element); ours serves an NTScalar
 *   uint32 (tools/bench/pva_client.ts uses uint32[1] on both). `spam` posts into a
 *   subscription until its queue is full whenever the queue has room; ours posts as
 *   many values as there is room to each PV whose subscription sent updates, each time
 *   a write of the connection completes (PvaServerOptions.onDrained with
 *   drainedOnEachWrite). Both servers
 *   produce on demand instead of spinning.
 * - spam1cpu: the same, with the server and its client pinned to one CPU (`taskset -a -p`
 *   on the server process, `taskset -c` for eatspam, this process pinned for the raw
 *   client's run); skipped without taskset or with one usable CPU. The free row's round
 *   trips are mostly cross-CPU wake-ups (see below), which the scheduler hands out
 *   differently from run to run; on one CPU a round trip costs context switches and the
 *   work of both ends, so the rate shows what each server spends per update.
 * - arrays: 1,000 array PVs of 1,000 elements posted the same way, one pipelined monitor
 *   each: MB/s of array data received (updates x element bytes x 1,000). `spam -# 1000`
 *   is pvxs' side; it only serves uint32 arrays, so this is 1,000 x uint32[1000].
 *   Both sides build a new array per update and hand it over without a copy (spam
 *   freezes a shared_array; ours posts with `transfer: true`).
 * - CA-driven arrays: 1,000 x uint16[1000], the values coming from CA puts instead of
 *   the server itself. pvxs' side is `softIocPVX` with a generated .db of 1,000
 *   `waveform` records (FTVL USHORT, NELM 1000); ours is plain SharedPVs served over CA
 *   and PVA as `pvserve` serves them. One CA client process (this script with
 *   `--ca-put`, see caPutLoad in _pva_common.ts) puts new DBR_SHORT[1000] arrays
 *   round-robin over the PVs as fast as the server takes them (WRITE x16 + ECHO, 16
 *   batches in flight), while the raw client monitors all 1,000 over PVA: MB/s of array
 *   data received and puts/s. Both numbers include the server's CA put handling.
 *
 * The updates differ in content: spam's carry only `value`; ours carry `value`,
 * `alarm` and `timeStamp` as QSRV's do (a scalar update is ~46 bytes against ~20),
 * which costs the client more per update.
 *
 * Clients
 *
 * - eatspam: pvxs's counting client (`eatspam -P -Q <queue>`), stopped with SIGINT; it
 *   reports updates per second per PV over its whole run (connection included).
 * - raw: a Deno client in this process that frames MONITOR updates without decoding
 *   them and acknowledges at half the window, as pvxs clients do.
 *
 * pvxs's `spam` and `eatspam` (built in pvxs' test/ directory, not installed by default)
 * and `softIocPVX` are looked up on PATH or in $PVXS_BIN; when absent the reference is
 * reported missing. Every server gets private ports (CA ones too where it serves CA).
 * Every measurement also reads the server process's CPU time (/proc) over the client's
 * run: CPU microseconds per update (per put for the CA-driven workload, which pays for
 * the CA put and the PVA update), the least of the rounds. Rates depend on the other
 * load on the machine and on the client; the CPU an update costs the server much less.
 * Each measurement runs after a one-second warm-up of the same server; the servers are
 * measured alternately, `--rounds` times (default 2), and the best rate of each is kept
 * (other load on the machine only ever slows a run down).
 *
 * What limits the rows (profiles with PVA_BENCH_PROF, late 2026): the one-PV rows are
 * round-trip bound (our server sits about 75% idle; each client acknowledgement of 2
 * updates lets 2 more out), so they measure latency of both ends more than server CPU.
 * Traces of the eatspam row (tcpdump on lo, strace, Dec 2026): eatspam asks for
 * `record[pipeline=true,queueSize=4]` with nfree 4 and acknowledges 4 at a time (its ack
 * is sent by its network thread after the user thread has popped the whole queue), so the
 * window is empty for the client's whole turn. Ours answers an ack with one 184-byte
 * write of 4 updates (epoll_wait, recvfrom, sendto per round trip) about 17 us after
 * it; spam with 4 writev of 21 bytes (about 11 system calls) about 40 us after. The other
 * ~150 us of a round trip are eatspam's two threads handing the updates and the ack
 * between them (about 140 us of CPU per round trip, mostly system time) and wake-ups
 * across the two CPUs: with server and eatspam on one CPU the same code does 60,000
 * (spam) and 86,000 (ours) updates/s, on two different CPUs both 29,000. Writing 2
 * updates at a time (the client's ackAt) was tried and is slower. With queueSize 64 ours
 * does 1.4x spam's rate (eatspam) and 2-3x (raw): there the server's work shows.
 * In the CA-driven row our server's one thread is saturated and over half of it is the
 * CA put (decode and conversion in lib/ca, coercion and a new array per put in lib/pv),
 * about 15% the PVA side; updates are coalesced there because pipeline windows run
 * out while the thread is busy with puts, not because a write is pending.
 * @module
 */

import { reportRows } from "./_results.ts";
import { ByteWriter } from "../../lib/core/bytes.ts";
import {
  buildRequest,
  encodeCreateChannelRequest,
  encodeOpRequest,
  encodeValidationResponse,
  PvaCommand,
  PvaFramer,
} from "../../lib/pva/proto/mod.ts";
import {
  allowedCpus,
  type BenchServer as Server,
  caPutLoad,
  type CaPutSpec,
  cpuSeconds,
  eatspam as runEatspam,
  findTool,
  numberOption as option,
  oneCpu,
  pinProcess,
  serveOnDemand,
  type ServeSpec,
  SPAM_HINT,
  startCaPutter,
  startOurServer,
  startSoftIocPvx,
  startSpam as startSpamServer,
} from "./_pva_common.ts";
import { closeBenchRepeater } from "./_repeater.ts";

type ServeMode = "spam" | "u32";
const N_ARRAYS = 1000;
const ARRAY_LEN = 1000;
const SPAM_PV = "bench:spam";
const arrayNames = Array.from({ length: N_ARRAYS }, (_, i) => `bench:arr${i}`);

/** What our server serves for the on-demand workloads (scalar for spam, arrays otherwise). */
function specOf(mode: ServeMode): ServeSpec {
  return mode === "spam"
    ? { names: [SPAM_PV], type: "uint32", elements: 0 }
    : { names: arrayNames, type: "uint32", elements: ARRAY_LEN };
}

// ---- servers ------------------------------------------------------------------------------

/** Our server in a child process (this script with `--serve <spec>`), posting on demand. */
function startOurs(mode: ServeMode): Promise<Server> {
  return startOurServer(new URL(import.meta.url).pathname, specOf(mode));
}

/** The uint16 arrays of the CA-put workload: served over CA and PVA, changed by puts only. */
const u16Spec: ServeSpec = { names: arrayNames, type: "uint16", elements: ARRAY_LEN, caPuts: true };

/** pvxs's spam serving `names`; `nelem` > 1 makes them arrays of that many elements. */
function startSpam(exe: string, names: string[], nelem: number): Promise<Server> {
  return startSpamServer(exe, { names, type: "uint32", elements: nelem > 1 ? nelem : 0 });
}

// ---- clients ------------------------------------------------------------------------------

/**
 * Our raw client: connects, monitors `names` pipelined and counts MONITOR updates for
 * `seconds` from the first update after every channel is up.
 * @param onStart called when the counting starts
 * @returns updates per second (all PVs together)
 */
export async function rawClient(
  port: number,
  names: string[],
  queueSize: number,
  seconds: number,
  onStart?: () => void,
): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const w = new ByteWriter(1 << 16, true);
  const framer = new PvaFramer();
  const ackAt = Math.max(1, queueSize >> 1);
  const unacked = new Map<number, number>();
  const sids = new Map<number, number>();
  let updates = 0;
  let t0 = 0;
  let started = false;
  const buf = new Uint8Array(1 << 20);
  const request = buildRequest(`record[queueSize=${queueSize},pipeline=true]`);
  const timer = setTimeout(() => conn.close(), (seconds + 20) * 1000);
  try {
    while (!started || performance.now() - t0 < seconds * 1000) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("server closed the connection");
      for (const m of framer.receive(buf.subarray(0, n))) {
        if (m.control) {
          w.littleEndian = m.littleEndian;
          continue;
        }
        const p = m.payload;
        const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
        switch (m.command) {
          case PvaCommand.CONNECTION_VALIDATION:
            encodeValidationResponse(w, {
              bufferSize: 0x10000,
              registrySize: 0x7fff,
              qos: 0,
              authMethod: "anonymous",
              authData: null,
            });
            break;
          case PvaCommand.CONNECTION_VALIDATED:
            names.forEach((name, i) =>
              encodeCreateChannelRequest(w, { channels: [{ cid: i + 1, name }] })
            );
            break;
          case PvaCommand.CREATE_CHANNEL: {
            const cid = dv.getUint32(0, m.littleEndian), sid = dv.getUint32(4, m.littleEndian);
            sids.set(cid, sid);
            encodeOpRequest(w, {
              command: PvaCommand.MONITOR,
              sid,
              ioid: cid,
              subcmd: 0x88,
              pvRequest: request,
              nfree: queueSize,
            });
            break;
          }
          case PvaCommand.MONITOR: {
            const ioid = dv.getUint32(0, m.littleEndian), sub = p[4];
            if (sub & 0x08) {
              // INIT done (pvxs refuses a start before it): start the subscription.
              encodeOpRequest(w, {
                command: PvaCommand.MONITOR,
                sid: sids.get(ioid)!,
                ioid,
                subcmd: 0x44,
              });
            }
            if (sub !== 0) break;
            if (!started && sids.size === names.length) {
              started = true;
              t0 = performance.now();
              onStart?.();
            }
            if (started) updates++;
            const u = (unacked.get(ioid) ?? 0) + 1;
            if (u >= ackAt) {
              encodeOpRequest(w, {
                command: PvaCommand.MONITOR,
                sid: sids.get(ioid)!,
                ioid,
                subcmd: 0x80,
                nfree: u,
              });
              unacked.set(ioid, 0);
            } else {
              unacked.set(ioid, u);
            }
            break;
          }
        }
      }
      if (w.length) {
        await conn.write(w.toBytes());
        w.reset();
      }
    }
    return updates / ((performance.now() - t0) / 1000);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/**
 * pvxs's eatspam for `seconds` (see {@link runEatspam}), on the CPUs `cpus` when given.
 * @returns updates per second summed over the PVs, as eatspam reports them
 */
async function eatspam(
  exe: string,
  env: Record<string, string>,
  names: string[],
  queueSize: number,
  seconds: number,
  cpus?: string,
): Promise<number> {
  return (await runEatspam(exe, env, names, queueSize, seconds, { cpus })).rate;
}

/**
 * One measurement of the CA-put workload on one server: starts it and the CA putting
 * client (a child process), warms up for a second, then counts the raw client's monitor
 * updates over all PVs for `seconds`, and the puts acknowledged over the same time.
 * @returns updates and puts per second
 */
async function measureCaPuts(
  start: () => Promise<Server>,
  queueSize: number,
  seconds: number,
): Promise<{ updates: number; puts: number; cpuPerPut?: number }> {
  const s = await start();
  let putter: Awaited<ReturnType<typeof startCaPutter>> | undefined;
  try {
    putter = await startCaPutter(new URL(import.meta.url).pathname, {
      port: s.caPort!,
      names: arrayNames,
      elements: ARRAY_LEN,
    });
    const p = putter;
    await rawClient(s.tcpPort, arrayNames, queueSize, 1);
    // Puts are counted between the putter's answers to two queries, one when the
    // counting of updates starts and one when it ends.
    const counted = async () => {
      const n = await p.count();
      return { n, at: performance.now() };
    };
    let p0: Promise<{ n: number; at: number }> | undefined;
    const c0 = cpuSeconds(s.pid);
    const t0 = performance.now();
    const updates = await rawClient(
      s.tcpPort,
      arrayNames,
      queueSize,
      seconds,
      () => p0 = counted(),
    );
    const p1 = await counted();
    const c1 = cpuSeconds(s.pid);
    const wall = (performance.now() - t0) / 1000;
    const { n, at } = await p0!;
    const puts = (p1.n - n) / ((p1.at - at) / 1000);
    // All the server's work (CA puts and PVA updates) per put.
    const cpuPerPut = c0 !== undefined && c1 !== undefined && puts > 0
      ? (c1 - c0) * 1e6 / (puts * wall)
      : undefined;
    return { updates, puts, cpuPerPut };
  } finally {
    await putter?.stop();
    await s.stop();
  }
}

// ---- main ---------------------------------------------------------------------------------

interface Row {
  workload: string;
  client: string;
  unit: string;
  /** Converts updates/s to the unit. */
  scale: number;
  ours?: number;
  pvxs?: number;
  note?: string;
  /** A cost (CPU per update): the ratio is still ours/pvxs, lower is better. */
  lowerIsBetter?: boolean;
}

type Client = (s: Server, names: string[], secs: number) => Promise<number>;

/** One client's measurement: updates per second, and the server's CPU per update. */
interface Measured {
  rate: number;
  /** Server CPU microseconds per update over the client's run (undefined without /proc). */
  cpuPerUpdate?: number;
}

/**
 * Runs every client against one server: warm-up, then one measurement per client, with
 * the server process's CPU time over each client's run divided by the updates it got
 * (what an update costs the server, which other load on the machine disturbs less than
 * the rate; setup is included, for both servers alike).
 */
async function measureServer(
  start: () => Promise<Server>,
  names: string[],
  clients: Client[],
  seconds: number,
): Promise<Measured[]> {
  const s = await start();
  try {
    await clients[0](s, names, 1);
    const out: Measured[] = [];
    for (const c of clients) {
      const c0 = cpuSeconds(s.pid);
      const t0 = performance.now();
      const rate = await c(s, names, seconds);
      const wall = (performance.now() - t0) / 1000;
      const c1 = cpuSeconds(s.pid);
      const cpuPerUpdate = c0 !== undefined && c1 !== undefined && rate > 0
        ? (c1 - c0) * 1e6 / (rate * wall)
        : undefined;
      out.push({ rate, cpuPerUpdate });
    }
    return out;
  } finally {
    await s.stop();
  }
}

async function main(args: string[]): Promise<void> {
  const seconds = option(args, "--seconds", 3);
  const rounds = option(args, "--rounds", 2);
  const queue = option(args, "--queue", 4);
  const onlyAt = args.indexOf("--only");
  const only = new Set(
    onlyAt >= 0 ? args[onlyAt + 1].split(",") : ["spam", "spam1cpu", "u32", "u16"],
  );
  const spamExe = findTool("spam");
  const eatExe = findTool("eatspam");
  const raw: Client = (s, names, secs) => rawClient(s.tcpPort, names, queue, secs);
  const eat: Client = (s, names, secs) => eatspam(eatExe!, s.env, names, queue, secs);
  const clients: [string, Client][] = eatExe ? [["eatspam", eat], ["raw", raw]] : [["raw", raw]];
  const missing = `reference missing: ${SPAM_HINT}`;
  const rows: Row[] = [];
  const log = (s: string) => console.error(s);
  const fmtRate = (x: number) => Math.round(x).toLocaleString("en-US");

  /** Best of the rounds for each client, ours and pvxs alternating. */
  const compare = async (
    what: string,
    names: string[],
    ours: () => Promise<Server>,
    ref: (() => Promise<Server>) | undefined,
    cs: [string, Client][],
  ) => {
    const best = { ours: cs.map(() => 0), pvxs: cs.map(() => 0) };
    const cpu = { ours: cs.map(() => Infinity), pvxs: cs.map(() => Infinity) };
    for (let r = 1; r <= rounds; r++) {
      for (const [who, start] of [["ours", ours], ["pvxs", ref]] as const) {
        if (!start) continue;
        const got = await measureServer(start, names, cs.map((c) => c[1]), seconds);
        got.forEach((v, i) => {
          best[who][i] = Math.max(best[who][i], v.rate);
          cpu[who][i] = Math.min(cpu[who][i], v.cpuPerUpdate ?? Infinity);
        });
        log(
          `${what}, round ${r}, ${who}: ${got.map((v) => fmtRate(v.rate)).join(" / ")} ` +
            `updates/s, server CPU ${
              got.map((v) => v.cpuPerUpdate?.toFixed(2) ?? "-").join(" / ")
            } us/update`,
        );
      }
    }
    const fin = (a: number[]) => a.map((x) => Number.isFinite(x) ? x : undefined);
    return {
      ours: best.ours,
      pvxs: ref ? best.pvxs : undefined,
      cpuOurs: fin(cpu.ours),
      cpuPvxs: ref ? fin(cpu.pvxs) : undefined,
    };
  };

  /** A spam comparison's rows per client: the rate, then the server's CPU per update. */
  const pushSpamRows = (
    got: Awaited<ReturnType<typeof compare>>,
    workload: string,
    unit: string,
    scale: number,
    cpuOf: string,
  ) =>
    clients.forEach(([name], i) =>
      rows.push({
        workload,
        client: name,
        unit,
        scale,
        ours: got.ours[i],
        pvxs: got.pvxs?.[i],
        note: spamExe ? undefined : missing,
      }, {
        workload: `  server CPU per update (${cpuOf})`,
        client: name,
        unit: "us",
        scale: 1,
        ours: got.cpuOurs[i],
        pvxs: got.cpuPvxs?.[i],
        lowerIsBetter: true,
      })
    );

  if (only.has("spam")) {
    const spam = await compare(
      "1 PV",
      [SPAM_PV],
      () => startOurs("spam"),
      spamExe ? () => startSpam(spamExe, [SPAM_PV], 1) : undefined,
      clients,
    );
    pushSpamRows(spam, `1 uint32 PV, pipelined, queueSize ${queue}`, "updates/s", 1, "1 PV");
  }

  if (only.has("spam1cpu")) {
    // The row above, with each server and its client pinned to one CPU: a round trip then
    // costs context switches instead of cross-CPU wake-ups (tens of microseconds each on a
    // VM, most of that row's time, and a lottery of where the scheduler puts the
    // processes), and the rate shows what both ends spend per update.
    const cpu = oneCpu();
    const all = allowedCpus();
    if (cpu === undefined || all === undefined) {
      log("one-CPU rows skipped: needs taskset on PATH and more than one usable CPU");
    } else {
      const pinned = (start: () => Promise<Server>) => async () => {
        const s = await start();
        try {
          pinProcess(s.pid, cpu);
        } catch (e) {
          await s.stop();
          throw e;
        }
        return s;
      };
      // The raw client runs in this process: pin it for the run, then give the CPUs back.
      const raw1: Client = async (s, names, secs) => {
        pinProcess(Deno.pid, cpu);
        try {
          return await rawClient(s.tcpPort, names, queue, secs);
        } finally {
          pinProcess(Deno.pid, all);
        }
      };
      const eat1: Client = (s, names, secs) => eatspam(eatExe!, s.env, names, queue, secs, cpu);
      const pinnedClients: [string, Client][] = eatExe
        ? [["eatspam", eat1], ["raw", raw1]]
        : [["raw", raw1]];
      const spam1 = await compare(
        "1 PV, one CPU",
        [SPAM_PV],
        pinned(() => startOurs("spam")),
        spamExe ? pinned(() => startSpam(spamExe, [SPAM_PV], 1)) : undefined,
        pinnedClients,
      );
      pushSpamRows(
        spam1,
        `1 uint32 PV, pipelined, queueSize ${queue}, one CPU`,
        "updates/s",
        1,
        "1 PV, one CPU",
      );
    }
  }

  if (only.has("u32")) {
    const u32 = await compare(
      "1,000 x uint32[1000]",
      arrayNames,
      () => startOurs("u32"),
      spamExe ? () => startSpam(spamExe, arrayNames, ARRAY_LEN) : undefined,
      clients,
    );
    pushSpamRows(u32, "1,000 x uint32[1000]", "MB/s", ARRAY_LEN * 4 / 1e6, "arrays");
  }

  if (only.has("u16")) {
    // spam serves uint32 only: for uint16 the reference is softIocPVX (waveform records),
    // and both servers are driven by the same CA put client.
    const iocExe = findTool("softIocPVX");
    const u16 = {
      ours: { updates: 0, puts: 0, cpu: Infinity },
      pvxs: { updates: 0, puts: 0, cpu: Infinity },
    };
    for (let r = 1; r <= rounds; r++) {
      const servers = [
        ["ours", () => startOurServer(new URL(import.meta.url).pathname, u16Spec)],
        ["pvxs", iocExe ? () => startSoftIocPvx(iocExe, u16Spec) : undefined],
      ] as const;
      for (const [who, start] of servers) {
        if (!start) continue;
        const got = await measureCaPuts(start, queue, seconds);
        u16[who].updates = Math.max(u16[who].updates, got.updates);
        u16[who].puts = Math.max(u16[who].puts, got.puts);
        u16[who].cpu = Math.min(u16[who].cpu, got.cpuPerPut ?? Infinity);
        log(
          `1,000 x uint16[1000] (CA puts), round ${r}, ${who}: ${fmtRate(got.updates)} ` +
            `updates/s, ${fmtRate(got.puts)} puts/s, server CPU ${
              got.cpuPerPut?.toFixed(2) ?? "-"
            } us/put`,
        );
      }
    }
    const u16Note = iocExe
      ? "uint16 rows: pvxs = softIocPVX (1,000 waveform records, FTVL USHORT, NELM 1000); " +
        "both servers are driven by one CA client process putting DBR_SHORT[1000] round-robin " +
        "(WRITE x16 + ECHO, x16 in flight), so these rows include CA put handling"
      : "uint16 rows: reference missing (pvxs softIocPVX not on PATH or in $PVXS_BIN); " +
        "driven by one CA client process putting DBR_SHORT[1000] round-robin " +
        "(WRITE x16 + ECHO, x16 in flight), so they include CA put handling";
    rows.push({
      workload: "1,000 x uint16[1000], driven by CA puts",
      client: "raw",
      unit: "MB/s",
      scale: ARRAY_LEN * 2 / 1e6,
      ours: u16.ours.updates,
      pvxs: iocExe ? u16.pvxs.updates : undefined,
      note: u16Note,
    }, {
      workload: "  CA puts driving it",
      client: "CA",
      unit: "puts/s",
      scale: 1,
      ours: u16.ours.puts,
      pvxs: iocExe ? u16.pvxs.puts : undefined,
      note: u16Note,
    }, {
      workload: "  server CPU per put (CA put + PVA update)",
      client: "CA",
      unit: "us",
      scale: 1,
      ours: Number.isFinite(u16.ours.cpu) ? u16.ours.cpu : undefined,
      pvxs: iocExe && Number.isFinite(u16.pvxs.cpu) ? u16.pvxs.cpu : undefined,
      note: u16Note,
      lowerIsBetter: true,
    });
  }

  const fmt = (r: Row, x: number | undefined) =>
    x === undefined
      ? "-"
      : r.unit === "us"
      ? x.toFixed(2)
      : r.unit === "MB/s"
      ? (x * r.scale).toFixed(1)
      : Math.round(x).toLocaleString("en-US");
  const wl = Math.max(...rows.map((r) => r.workload.length));
  const line = (a: string, b: string, c: string, d: string, e: string, f: string) =>
    `${a.padEnd(wl)}  ${b.padEnd(8)}  ${c.padEnd(9)}  ${d.padStart(9)}  ${e.padStart(9)}  ${
      f.padStart(9)
    }`;
  console.log(
    `PVA server benchmark: loopback, best of ${rounds} x ${seconds} s per measurement ` +
      `(after a 1 s warm-up), ${navigator.hardwareConcurrency} CPUs; pvxs = pvxs's spam, ` +
      "or softIocPVX for the uint16 rows",
  );
  console.log(line("workload", "client", "unit", "epics-ts", "pvxs", "ours/pvxs"));
  for (const r of rows) {
    const ratio = r.ours !== undefined && r.pvxs ? (r.ours / r.pvxs).toFixed(2) : "-";
    console.log(line(r.workload, r.client, r.unit, fmt(r, r.ours), fmt(r, r.pvxs), ratio));
  }
  for (const note of new Set(rows.map((r) => r.note).filter((n) => n))) console.log(note);
  reportRows(rows.map((r) => ({
    bench: "pva_server",
    measurement: `${r.workload} (${r.client} client)`,
    unit: r.unit,
    ours: r.ours === undefined ? undefined : r.ours * r.scale,
    reference: r.pvxs === undefined ? undefined : r.pvxs * r.scale,
    refName: /uint16|CA put/.test(r.workload) ? "softIocPVX" : "pvxs spam",
    higherIsBetter: !r.lowerIsBetter,
  })));
  if (!eatExe) console.log("eatspam not found: raw client only");
  console.log(
    "clients: eatspam = pvxs's eatspam -P -Q <queue> (rate over its whole run, setup " +
      "included); raw = Deno client framing updates without decoding them",
  );
  console.log(
    "uint32 rows: servers post on demand (spam: when a queue has room; ours: PvaServerOptions." +
      "onDrained); spam's updates carry only value, ours value+alarm+timeStamp (as QSRV)",
  );
}

if (import.meta.main) {
  const serveAt = Deno.args.indexOf("--serve");
  const putAt = Deno.args.indexOf("--ca-put");
  if (serveAt >= 0) await serveOnDemand(JSON.parse(Deno.args[serveAt + 1]) as ServeSpec);
  else if (putAt >= 0) await caPutLoad(JSON.parse(Deno.args[putAt + 1]) as CaPutSpec);
  else {
    await main(Deno.args);
    await closeBenchRepeater();
  }
}
