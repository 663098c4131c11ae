/**
 * PVA client benchmark: monitor updates per second and MB/s received by our client
 * (PvaClient.monitor) and by pvxs's client (`eatspam`), each from our server and from
 * pvxs's server (`spam`), in one run: a 2 x 2 matrix per workload, with the ratio
 * our client / pvxs client on the same server.
 *
 *   deno run -A tools/bench/pva_client.ts [--seconds 3] [--rounds 2] [--queue 4]
 *     [--elements 100000] [--profile dir]
 *   (internal: --serve <spec> runs our server, --client <spec> runs our client)
 *
 * Workloads
 *
 * - small: one uint32[1] PV posted as fast as the client takes it, one pipelined monitor
 *   (queueSize 4 by default, pvxs's default): updates per second. spam always serves
 *   an NTScalarArray (one element without `-#`), so our server serves the same.
 * - array: one NTScalarArray uint32[--elements] PV (400 kB per update by default)
 *   posted the same way: MB/s of array data received. spam serves uint32 arrays only.
 *
 * Servers post on demand (see _pva_common.ts): spam fills a subscription's queue when
 * it has room; ours posts into each PV's queue the room PvaServerOptions.onDrained
 * reports. Arrays are new per update and handed over without a copy on both sides.
 * spam's updates carry only `value`; ours carry `value`, `alarm` and `timeStamp` (as
 * QSRV's do), which costs every client a little more per update.
 *
 * Clients each run in their own process, as eatspam does:
 *
 * - ours: PvaClient.monitor with `pipeline: true, queueSize: <queue>`; the callback reads
 *   `value` (the typed array's first element for arrays) and checks the sequence, as
 *   eatspam does. Counted for `--seconds` after a one-second warm-up (JIT) once every
 *   monitor had its first update.
 * - pvxs: `eatspam -P -Q <queue>`, stopped with SIGINT; its rate is over its whole run,
 *   connection included.
 *
 * Each server is started once per round and read by our client then eatspam; the best
 * rate of each cell over `--rounds` is kept (other load only ever slows a run down).
 * pvxs's programs are looked up in $PVXS_BIN or on PATH; when absent the pvxs cells
 * print "reference missing". Loopback only, private ports, children stopped by PID.
 * @module
 */

import { reportRows } from "./_results.ts";
import { PvaClient } from "../../lib/pva/client/mod.ts";
import {
  type BenchServer,
  cpuSeconds,
  eatspam,
  findTool,
  numberOption,
  serveOnDemand,
  type ServeSpec,
  sleep,
  SPAM_HINT,
  spawnUntil,
  startOurServer,
  startSpam,
} from "./_pva_common.ts";

const SCRIPT = new URL(import.meta.url).pathname;

/** What our client child measures. */
interface ClientSpec {
  names: string[];
  queue: number;
  warmup: number;
  seconds: number;
}

/** What our client child reports. */
interface ClientResult {
  updates: number;
  seconds: number;
  bytes: number;
  skips: number;
  /** CPU seconds used over the measured window (undefined without /proc). */
  cpu?: number;
}

// ---- our client (child process) -----------------------------------------------------------

async function runClient(spec: ClientSpec): Promise<void> {
  await using c = new PvaClient({ env: Deno.env.toObject() });
  let updates = 0;
  let bytes = 0;
  let skips = 0;
  let pending = spec.names.length;
  let allUp!: () => void;
  const up = new Promise<void>((r) => allUp = r);
  const subs = spec.names.map((name) => {
    let prev = -1;
    return c.monitor(name, (ev) => {
      if (ev.kind !== "data") return;
      const v = ev.value.get("value");
      let x: number;
      if (typeof v === "number") {
        x = v;
      } else {
        const a = v as Uint32Array;
        x = a[0];
        bytes += a.byteLength;
      }
      if (prev < 0) {
        if (--pending === 0) allUp();
      } else if (x !== ((prev + 1) >>> 0)) {
        skips++;
      }
      prev = x;
      updates++;
    }, { pipeline: true, queueSize: spec.queue });
  });
  await up;
  await sleep(spec.warmup * 1000);
  const u0 = updates, b0 = bytes, s0 = skips, t0 = performance.now();
  const c0 = cpuSeconds("self");
  await sleep(spec.seconds * 1000);
  const c1 = cpuSeconds("self");
  const result: ClientResult = {
    cpu: c0 !== undefined && c1 !== undefined ? c1 - c0 : undefined,
    updates: updates - u0,
    bytes: bytes - b0,
    skips: skips - s0,
    seconds: (performance.now() - t0) / 1000,
  };
  for (const s of subs) await s.close();
  console.log(`RESULT ${JSON.stringify(result)}`);
}

/** Runs our client in a child process against `server`; `profile` = --cpu-prof directory. */
async function ourClient(
  server: BenchServer,
  spec: ClientSpec,
  profile: string | undefined,
): Promise<ClientResult> {
  const flags = profile ? [`--cpu-prof`, `--cpu-prof-dir=${profile}`] : [];
  const { child, match } = await spawnUntil(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", ...flags, SCRIPT, "--client", JSON.stringify(spec)],
      env: server.env,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }),
    /RESULT (\{.*\})\n/,
    "our bench client",
    (spec.warmup + spec.seconds + 20) * 1000,
  );
  const t = setTimeout(() => child.kill("SIGKILL"), 10000);
  await child.status;
  clearTimeout(t);
  return JSON.parse(match[1]) as ClientResult;
}

// ---- main ---------------------------------------------------------------------------------

interface Workload {
  name: string;
  serve: ServeSpec;
  /** Bytes of array data per update (0 for the scalar). */
  bytesPer: number;
}

/** One cell: best updates/s, and the client's CPU microseconds per update in that run. */
interface Cell {
  rate: number;
  usPer?: number;
}

/** The four cells: [server][client]; undefined = reference missing. */
type Cells = Record<"ours" | "pvxs", Record<"ours" | "pvxs", Cell | undefined>>;

/** Keeps the faster run. */
function better(a: Cell | undefined, rate: number, cpu: number | undefined, n: number): Cell {
  if (a && a.rate >= rate) return a;
  return { rate, usPer: cpu !== undefined && n > 0 ? cpu / n * 1e6 : undefined };
}

async function main(args: string[]): Promise<void> {
  const seconds = numberOption(args, "--seconds", 3);
  const rounds = numberOption(args, "--rounds", 2);
  const queue = numberOption(args, "--queue", 4);
  const elements = numberOption(args, "--elements", 100000);
  const pi = args.indexOf("--profile");
  const profile = pi >= 0 ? args[pi + 1] : undefined;
  const spamExe = findTool("spam");
  const eatExe = findTool("eatspam");
  const log = (s: string) => console.error(s);
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US");

  const workloads: Workload[] = [
    {
      name: `1 uint32[1] PV, pipelined, queueSize ${queue}`,
      serve: { names: ["bench:spam"], type: "uint32", elements: 1 },
      bytesPer: 0,
    },
    {
      name: `1 uint32[${elements}] PV, pipelined, queueSize ${queue}`,
      serve: { names: ["bench:arr"], type: "uint32", elements },
      bytesPer: elements * 4,
    },
  ];
  const results: { w: Workload; cells: Cells }[] = [];
  for (const w of workloads) {
    const cells: Cells = {
      ours: { ours: undefined, pvxs: undefined },
      pvxs: { ours: undefined, pvxs: undefined },
    };
    const spec: ClientSpec = { names: w.serve.names, queue, warmup: 1, seconds };
    for (let r = 1; r <= rounds; r++) {
      for (const srv of ["ours", "pvxs"] as const) {
        if (srv === "pvxs" && !spamExe) continue;
        const s = srv === "ours"
          ? await startOurServer(SCRIPT, w.serve)
          : await startSpam(spamExe!, w.serve);
        try {
          const got = await ourClient(s, spec, profile);
          const ours = got.updates / got.seconds;
          cells[srv].ours = better(cells[srv].ours, ours, got.cpu, got.updates);
          let line = `${w.name}, round ${r}, ${srv} server: our client ${fmt(ours)} updates/s` +
            (got.skips ? ` (${got.skips} skipped)` : "");
          if (eatExe) {
            const eat = await eatspam(eatExe, s.env, w.serve.names, queue, seconds + 1);
            const n = eat.rate * eat.elapsed;
            cells[srv].pvxs = better(cells[srv].pvxs, eat.rate, eat.cpu, n);
            line += `, eatspam ${fmt(eat.rate)} updates/s`;
          }
          log(line);
        } finally {
          await s.stop();
        }
      }
    }
    results.push({ w, cells });
  }

  const missing = "reference missing";
  console.log(
    `PVA client benchmark: loopback, best of ${rounds} x ${seconds} s per cell, ` +
      `${navigator.hardwareConcurrency} CPUs; pvxs server = spam, pvxs client = eatspam`,
  );
  const cols = [12, 14, 14, 9, 13, 13];
  const row = (...xs: string[]) =>
    "  " + xs.map((x, i) => i === 0 ? x.padEnd(cols[i]) : x.padStart(cols[i])).join("  ");
  const us = (c: Cell | undefined) => c?.usPer === undefined ? "-" : c.usPer.toFixed(1);
  for (const { w, cells } of results) {
    const mb = w.bytesPer > 0;
    const unit = mb ? "MB/s" : "updates/s";
    const show = (c: Cell | undefined) =>
      c === undefined ? missing : mb ? (c.rate * w.bytesPer / 1e6).toFixed(1) : fmt(c.rate);
    console.log(`${w.name}: ${unit}${mb ? ` (${w.bytesPer.toLocaleString("en-US")} B each)` : ""}`);
    console.log(
      row("server", "our client", "pvxs client", "ours/pvxs", "ours CPU/upd", "pvxs CPU/upd"),
    );
    for (const srv of ["ours", "pvxs"] as const) {
      const c = cells[srv];
      const ratio = c.ours && c.pvxs ? (c.ours.rate / c.pvxs.rate).toFixed(2) : "-";
      console.log(
        row(
          srv === "ours" ? "epics-ts" : "pvxs spam",
          show(c.ours),
          show(c.pvxs),
          ratio,
          `${us(c.ours)} us`,
          `${us(c.pvxs)} us`,
        ),
      );
    }
  }
  reportRows(results.flatMap(({ w, cells }) =>
    (["ours", "pvxs"] as const).map((srv) => ({
      bench: "pva_client",
      measurement: `${w.name}, from ${srv === "ours" ? "our server" : "pvxs spam"}`,
      unit: w.bytesPer > 0 ? "MB/s" : "updates/s",
      ours: cells[srv].ours === undefined
        ? undefined
        : cells[srv].ours!.rate * (w.bytesPer > 0 ? w.bytesPer / 1e6 : 1),
      reference: cells[srv].pvxs === undefined
        ? undefined
        : cells[srv].pvxs!.rate * (w.bytesPer > 0 ? w.bytesPer / 1e6 : 1),
      refName: "pvxs eatspam",
      higherIsBetter: true,
    }))
  ));
  if (!spamExe || !eatExe) console.log(`${missing}: ${SPAM_HINT}`);
  console.log(
    "ours/pvxs = our client / pvxs client on the same server. CPU/upd = the client " +
      "process's CPU time (user + system, /proc) per update: ours over the measured " +
      "window, eatspam's over its whole run. eatspam's rate covers its whole run (setup " +
      "included); ours is counted after a 1 s warm-up. spam's updates carry only value, " +
      "ours value+alarm+timeStamp.",
  );
}

if (import.meta.main) {
  const serveAt = Deno.args.indexOf("--serve");
  const clientAt = Deno.args.indexOf("--client");
  if (serveAt >= 0) await serveOnDemand(JSON.parse(Deno.args[serveAt + 1]) as ServeSpec);
  else if (clientAt >= 0) await runClient(JSON.parse(Deno.args[clientAt + 1]) as ClientSpec);
  else await main(Deno.args);
}
