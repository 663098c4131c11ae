/**
 * Benchmark of our Channel Access server against EPICS base's softIoc (RSRV), both in
 * their own process on loopback, driven by the same load clients:
 *
 * - READ_NOTIFY of a DBR_TIME_DOUBLE, pipelined: `--clients` circuits (default 2), each
 *   keeping `--in-flight` requests (default 100) outstanding;
 * - monitor updates per second of a scalar and of a 1000-element array while another
 *   circuit puts to the same PV as fast as the server takes the puts (plain WRITEs in
 *   batches of 16, each batch followed by an ECHO, 4 batches in flight), with
 *   `--subscribers` subscribing circuits (default 1; the rate is their sum).
 *
 * Every circuit is its own Worker (tools/bench/_ca_load_worker.ts) so the clients run in
 * parallel; they write pre-encoded requests in coalesced writes and only count replies by
 * their headers, so the server, not the client, is what is measured. Each round line
 * shows the server's CPU use and this process's (the clients'), from /proc: a server
 * near 100% is saturated (ours is single-threaded; softIoc has threads per circuit).
 *
 * softIoc is looked up on PATH; without it only our numbers are printed. Every socket
 * is on 127.0.0.1 and every port is a free one.
 *
 * Each measurement runs `--rounds` times (default 2) for `--seconds` (default 2) after a
 * half-second warm-up, alternating the servers; the best rate of each is kept.
 *
 * Usage: deno task bench [--seconds N] [--rounds N] [--only reads,scalar,array]
 *   [--clients N] [--in-flight N] [--subscribers N]
 * (internal: --serve runs our server). With CA_BENCH_PROF=<dir> in the environment our
 * server runs with --cpu-prof and leaves its V8 CPU profile in that folder.
 * @module
 */

import { reportRows } from "./_results.ts";
import type { LoadDone, LoadJob } from "./_ca_load_worker.ts";
import { epicsConfigFrom } from "../../lib/core/env.ts";
import { benchRepeaterPort } from "./_repeater.ts";
import { CaServer } from "../../lib/ca/server/server.ts";
import { CaRepeater } from "../../lib/ca/repeater.ts";
import { PvMap } from "../../lib/pv/provider.ts";
import { SharedPV } from "../../lib/pv/shared_pv.ts";
import { udpSearch } from "../../tests/_ca_raw_client.ts";
import { spawnUntil } from "./_pva_common.ts";

const SCALAR = "BENCH:ao";
const ARRAY = "BENCH:wave";
const ARRAY_LEN = 1000;
const READS_IN_FLIGHT = 100;
const PUT_BATCH = 16;
const PUT_BATCHES_IN_FLIGHT = 4;
const WARMUP_MS = 500;
/** Reading circuits, each in a worker of its own: enough to keep one server core busy. */
const DEFAULT_CLIENTS = 2;

const DB = `record(ao, "${SCALAR}") {
  field(PREC, "3")
}
record(waveform, "${ARRAY}") {
  field(FTVL, "DOUBLE")
  field(NELM, "${ARRAY_LEN}")
}
`;

function freePort(transport: "tcp" | "udp" = "tcp"): number {
  if (transport === "udp") {
    const u = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const p = (u.addr as Deno.NetAddr).port;
    u.close();
    return p;
  }
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = l.addr.port;
  l.close();
  return p;
}

/** Loopback-only EPICS environment, with every port a free one. */
function loopbackEnv(caPort: number): Record<string, string> {
  return {
    EPICS_CA_AUTO_ADDR_LIST: "NO",
    EPICS_CA_ADDR_LIST: "127.0.0.1",
    EPICS_CA_SERVER_PORT: String(caPort),
    EPICS_CA_REPEATER_PORT: String(benchRepeaterPort()),
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_CAS_BEACON_ADDR_LIST: `127.0.0.1:${freePort("udp")}`,
    EPICS_PVA_AUTO_ADDR_LIST: "NO",
    EPICS_PVA_ADDR_LIST: "127.0.0.1",
    EPICS_PVAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_PVAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1",
    EPICS_PVA_SERVER_PORT: String(freePort()),
    EPICS_PVA_BROADCAST_PORT: String(freePort("udp")),
  };
}

// ---- our server, in a child process (--serve) ---------------------------------------------

async function serve(): Promise<void> {
  const config = epicsConfigFrom(Deno.env.toObject()).cas;
  const pvs = new PvMap([
    new SharedPV(SCALAR, { type: "float64", value: 0, precision: 3 }),
    new SharedPV(ARRAY, { type: "float64", length: ARRAY_LEN }),
  ]);
  await using server = await CaServer.start({ provider: pvs, config, port: config.serverPort });
  console.log(`PORT ${server.tcpPort}`);
  // Run until the parent closes our stdin.
  for await (const _ of Deno.stdin.readable) { /* ignore input */ }
}

// ---- targets ------------------------------------------------------------------------------

interface Target {
  name: string;
  tcpPort: number;
  /** The server's process, for its CPU time. */
  pid: number;
  /** The port its searches go to. */
  udpPort: number;
  stop(): Promise<void>;
}

/** Finds the server's TCP port by searching its UDP port until it answers. */
async function waitForServer(udpPort: number, what: string, timeoutMs = 15000): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const found = await udpSearch(udpPort, [SCALAR, ARRAY], 300);
    if (found.length === 2) return found[0].port;
  }
  throw new Error(`${what} did not answer searches on UDP port ${udpPort}`);
}

async function stopChild(child: Deno.ChildProcess, stdin: WritableStreamDefaultWriter) {
  try {
    await stdin.close();
  } catch {
    // already gone
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    child.status.then(() => true),
    new Promise<boolean>((r) => timer = setTimeout(() => r(false), 3000)),
  ]);
  clearTimeout(timer);
  if (!exited) {
    child.kill("SIGTERM");
    await child.status;
  }
}

async function startOurs(): Promise<Target> {
  const port = freePort();
  const profDir = Deno.env.get("CA_BENCH_PROF");
  const { child } = await spawnUntil(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-net",
        // CA_BENCH_PROF=<dir>: write a V8 CPU profile of our server there when it exits.
        ...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []),
        new URL(import.meta.url).pathname,
        "--serve",
      ],
      env: loopbackEnv(port),
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }),
    /PORT \d+/,
    "our server",
  );
  const stdin = child.stdin.getWriter();
  const tcpPort = await waitForServer(port, "our server");
  return {
    name: "epics-ts",
    tcpPort,
    udpPort: port,
    pid: child.pid,
    stop: () => stopChild(child, stdin),
  };
}

function findOnPath(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const p = `${dir}/${cmd}`;
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not there
    }
  }
  return undefined;
}

async function startSoftIoc(exe: string): Promise<Target> {
  const dir = await Deno.makeTempDir({ prefix: "ca_bench_" });
  const db = `${dir}/bench.db`;
  await Deno.writeTextFile(db, DB);
  const port = freePort();
  const child = new Deno.Command(exe, {
    args: ["-d", db],
    cwd: dir,
    // A PATH without the EPICS tools: the IOC must not spawn a caRepeater of its own.
    env: { ...loopbackEnv(port), PATH: "/usr/bin:/bin" },
    clearEnv: true,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stdin = child.stdin.getWriter();
  try {
    const tcpPort = await waitForServer(port, "softIoc");
    return {
      name: "softIoc",
      pid: child.pid,
      udpPort: port,
      tcpPort,
      stop: async () => {
        await stopChild(child, stdin);
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (e) {
    await stopChild(child, stdin);
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}

// ---- measurements -------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A load worker (tools/bench/_ca_load_worker.ts) and the answers it posts, in order. */
class LoadWorker {
  readonly #worker: Worker;
  readonly #answers: unknown[] = [];
  #waiting: ((m: unknown) => void) | undefined;

  constructor() {
    this.#worker = new Worker(new URL("./_ca_load_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (e) => {
      if (this.#waiting) {
        const w = this.#waiting;
        this.#waiting = undefined;
        w(e.data);
      } else this.#answers.push(e.data);
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      const msg = { error: e.message };
      if (this.#waiting) this.#waiting(msg);
      else this.#answers.push(msg);
    };
  }

  /** Posts a message and waits for the worker's answer. */
  async ask<T>(msg: unknown, what: string): Promise<T> {
    this.#worker.postMessage(msg);
    const m = this.#answers.length
      ? this.#answers.shift()
      : await new Promise<unknown>((r) => this.#waiting = r);
    const err = (m as { error?: string }).error;
    if (err) throw new Error(`bench client (${what}): ${err}`);
    return m as T;
  }

  /** Starts a message without waiting (its answer is read by the next {@link ask}). */
  post(msg: unknown): void {
    this.#worker.postMessage(msg);
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

type JobSpec = Omit<LoadJob, "counters" | "slot">;

/**
 * CPU seconds (user + system) a process has used so far, from /proc; NaN where there is
 * no /proc. Linux reports them in clock ticks of 1/100 s.
 */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces) in parentheses.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** What {@link runLoad} measured. */
interface LoadResult {
  /** Each job's rate: replies, acknowledged puts or updates per second. */
  rates: number[];
  /** What each worker reported when it stopped. */
  done: LoadDone[];
  /** The server's CPU use over the timed window, in cores (1 = one core busy). */
  serverCpu: number;
  /** This process's (the clients') CPU use over the timed window, in cores. */
  clientCpu: number;
}

/**
 * Runs the jobs, each in a worker of its own, for `seconds` after a warm-up and returns
 * each job's rate (replies, acknowledged puts or updates per second). Jobs are stopped in
 * order, so the puts stop before the subscribers that count their updates.
 */
async function runLoad(
  specs: JobSpec[],
  seconds: number,
  serverPid: number,
): Promise<LoadResult> {
  const counters = new SharedArrayBuffer(4 * specs.length);
  const view = new Int32Array(counters);
  const workers = specs.map(() => new LoadWorker());
  try {
    await Promise.all(
      workers.map((w, slot) => w.ask({ ...specs[slot], counters, slot }, specs[slot].kind)),
    );
    // Subscribers first (they only listen), then the load, all at once.
    for (const w of workers) w.post("go");
    await sleep(WARMUP_MS);
    const c0 = Array.from(view);
    const cpu0 = cpuSeconds(serverPid);
    const own0 = cpuSeconds(Deno.pid);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const c1 = Array.from(view);
    const cpu1 = cpuSeconds(serverPid);
    const own1 = cpuSeconds(Deno.pid);
    const t1 = performance.now();
    const done: LoadDone[] = [];
    for (let i = 0; i < workers.length; i++) {
      done.push(await workers[i].ask<LoadDone>("stop", specs[i].kind));
    }
    const s = (t1 - t0) / 1000;
    return {
      rates: c1.map((c, i) => (c - c0[i]) / s),
      done,
      serverCpu: (cpu1 - cpu0) / s,
      clientCpu: (own1 - own0) / s,
    };
  } finally {
    for (const w of workers) w.terminate();
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function readRate(
  t: Target,
  seconds: number,
  clients: number,
  inFlight: number,
): Promise<{ rate: number; cpu: number; clientCpu: number }> {
  const specs: JobSpec[] = Array.from({ length: clients }, (_, i) => ({
    kind: "reads",
    port: t.tcpPort,
    pv: SCALAR,
    count: 1,
    inFlight,
    batch: 0,
    user: `bench-read-${i}`,
  }));
  const res = await runLoad(specs, seconds, t.pid);
  if (res.done.some((d) => d.errors > 0)) throw new Error(`${t.name}: ERROR replies to reads`);
  return { rate: sum(res.rates), cpu: res.serverCpu, clientCpu: res.clientCpu };
}

async function monitorRate(
  t: Target,
  pv: string,
  count: number,
  seconds: number,
  subscribers: number,
): Promise<{ updates: number; puts: number; cpu: number }> {
  const base = { port: t.tcpPort, pv, count, inFlight: 0, batch: 0 };
  const specs: JobSpec[] = [
    // Plain WRITEs (as caput sends them), paced by an ECHO after each batch: RSRV answers
    // the ECHO after it has processed the writes before it, so at most
    // PUT_BATCHES_IN_FLIGHT batches are queued anywhere.
    { ...base, kind: "puts", inFlight: PUT_BATCHES_IN_FLIGHT, batch: PUT_BATCH, user: "bench-put" },
    ...Array.from(
      { length: subscribers },
      (_, i): JobSpec => ({ ...base, kind: "sub", user: `bench-sub-${i}` }),
    ),
  ];
  const res = await runLoad(specs, seconds, t.pid);
  if (res.done.some((d) => d.errors > 0)) throw new Error(`${t.name}: ERROR replies during puts`);
  for (const d of res.done.slice(1)) {
    if (d.total < 1 || d.lastUpdateCount !== count) {
      throw new Error(`${t.name}: odd monitor updates for ${pv} (${d.lastUpdateCount} elements)`);
    }
  }
  return { updates: sum(res.rates.slice(1)), puts: res.rates[0], cpu: res.serverCpu };
}

/** Channels catime makes (all to the scalar PV). */
const CATIME_CHANNELS = 10_000;

/**
 * One run of EPICS base's `catime` against a target: libca's own timing of 10,000
 * asynchronous gets and puts (ca_array_get_callback, ca_array_put) of DBR_FLOAT, DOUBLE,
 * STRING and INT. Returns the mean over the four types of its "Per Op" microseconds.
 */
async function catimeRun(
  exe: string,
  t: Target,
  repeaterPort: number,
): Promise<{ get: number; put: number; gets: number[]; puts: number[] }> {
  const out = await new Deno.Command(exe, {
    args: [SCALAR, String(CATIME_CHANNELS)],
    env: {
      EPICS_CA_AUTO_ADDR_LIST: "NO",
      EPICS_CA_ADDR_LIST: "127.0.0.1",
      EPICS_CA_SERVER_PORT: String(t.udpPort),
      // Our repeater runs there, so libca does not start a caRepeater of its own.
      EPICS_CA_REPEATER_PORT: String(repeaterPort),
      PATH: "/usr/bin:/bin",
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const per = (test: string) => {
    const re = new RegExp(`### ${test} test ###\\s*\\nPer Op,\\s*([0-9.]+) uS`, "g");
    const xs = [...text.matchAll(re)].map((m) => Number(m[1]));
    if (out.code !== 0 || xs.length !== 4) {
      throw new Error(`catime against ${t.name} failed (exit ${out.code}): ${text.slice(-400)}`);
    }
    return xs;
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const get = per("async get");
  const put = per("async put");
  return { get: mean(get), put: mean(put), gets: get, puts: put };
}

// ---- main ---------------------------------------------------------------------------------

interface Row {
  label: string;
  values: Map<string, number>;
  /** Times (catime's microseconds per operation) rather than rates. */
  lowerIsBetter?: boolean;
}

function fmtRate(x: number | undefined): string {
  if (x === undefined) return "-";
  return Math.round(x).toLocaleString("en-US");
}

/** CPU use in cores, as a percentage of one core. */
function fmtCpu(cores: number): string {
  return Number.isFinite(cores) ? `${Math.round(cores * 100)}%` : "?";
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

async function main(args: string[]): Promise<number> {
  const seconds = option(args, "--seconds", 2);
  const rounds = option(args, "--rounds", 2);
  const clients = option(args, "--clients", DEFAULT_CLIENTS);
  const subscribers = option(args, "--subscribers", 1);
  const inFlight = option(args, "--in-flight", READS_IN_FLIGHT);
  const onlyAt = args.indexOf("--only");
  const only = new Set(onlyAt >= 0 ? (args[onlyAt + 1] ?? "").split(",") : []);
  const runs = (what: string) => only.size === 0 || only.has(what);
  const targets: Target[] = [];
  const softIoc = findOnPath("softIoc");
  const rows: Row[] = [
    {
      label: `READ_NOTIFY DBR_TIME_DOUBLE, ${clients} circuits x ${inFlight} in flight (gets/s)`,
      values: new Map(),
    },
    {
      label: `monitor updates, scalar, ${subscribers} subscriber(s) (updates/s)`,
      values: new Map(),
    },
    { label: "  puts driving it, WRITE x16 + ECHO, x4 (puts/s)", values: new Map() },
    {
      label: `monitor updates, ${ARRAY_LEN} doubles, ${subscribers} subscriber(s) (updates/s)`,
      values: new Map(),
    },
    { label: "  puts driving it, WRITE x16 + ECHO, x4 (puts/s)", values: new Map() },
    {
      label: `catime async get, ${CATIME_CHANNELS} channels, 4 DBR types (us/op, lower better)`,
      values: new Map(),
      lowerIsBetter: true,
    },
    {
      label: `catime async put, ${CATIME_CHANNELS} channels, 4 DBR types (us/op, lower better)`,
      values: new Map(),
      lowerIsBetter: true,
    },
  ];
  /** Keeps the best of the rounds: other load on the machine only ever slows a run down. */
  const keep = (row: Row, name: string, v: number) =>
    row.values.set(
      name,
      row.lowerIsBetter
        ? Math.min(v, row.values.get(name) ?? Infinity)
        : Math.max(v, row.values.get(name) ?? 0),
    );
  const catime = runs("catime") ? findOnPath("catime") : undefined;
  // libca (catime) registers with a repeater: ours, on a free port, for the run.
  await using repeater = catime
    ? CaRepeater.start(freePort("udp"), { hostname: "127.0.0.1" })
    : undefined;
  try {
    targets.push(await startOurs());
    if (softIoc) targets.push(await startSoftIoc(softIoc));
    // Targets alternate within each round so that both see the same machine load.
    for (let r = 0; r < rounds; r++) {
      for (const t of runs("reads") ? targets : []) {
        const reads = await readRate(t, seconds, clients, inFlight);
        keep(rows[0], t.name, reads.rate);
        console.error(
          `round ${r + 1} ${t.name}: reads ${fmtRate(reads.rate)}/s (server CPU ${
            fmtCpu(reads.cpu)
          }, clients ${fmtCpu(reads.clientCpu)})`,
        );
      }
      for (const t of runs("scalar") ? targets : []) {
        const m = await monitorRate(t, SCALAR, 1, seconds, subscribers);
        keep(rows[1], t.name, m.updates);
        keep(rows[2], t.name, m.puts);
        console.error(
          `round ${r + 1} ${t.name}: scalar monitor ${fmtRate(m.updates)}/s ` +
            `(${fmtRate(m.puts)} puts/s, server CPU ${fmtCpu(m.cpu)})`,
        );
      }
      for (const t of runs("array") ? targets : []) {
        const m = await monitorRate(t, ARRAY, ARRAY_LEN, seconds, subscribers);
        keep(rows[3], t.name, m.updates);
        keep(rows[4], t.name, m.puts);
        console.error(
          `round ${r + 1} ${t.name}: array monitor ${fmtRate(m.updates)}/s ` +
            `(${fmtRate(m.puts)} puts/s, server CPU ${fmtCpu(m.cpu)})`,
        );
      }
      for (const t of catime ? targets : []) {
        const c = await catimeRun(catime!, t, repeater!.port);
        keep(rows[5], t.name, c.get);
        keep(rows[6], t.name, c.put);
        console.error(
          `round ${r + 1} ${t.name}: catime async get ${c.get.toFixed(3)} us/op, ` +
            `put ${c.put.toFixed(3)} us/op (FLOAT, DOUBLE, STRING, INT: gets ` +
            `${c.gets.map((x) => x.toFixed(2)).join(" ")}, puts ` +
            `${c.puts.map((x) => x.toFixed(2)).join(" ")})`,
        );
      }
    }
  } finally {
    for (const t of targets.reverse()) await t.stop();
  }

  const w0 = Math.max(...rows.map((r) => r.label.length));
  const line = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(w0)}  ${b.padStart(12)}  ${c.padStart(12)}  ${d.padStart(13)}`;
  console.log(
    `CA server benchmark: loopback, best of ${rounds} x ${seconds} s per measurement, ` +
      `${clients} reading clients (workers), ` +
      `${navigator.hardwareConcurrency} CPUs`,
  );
  console.log(line("measurement", "epics-ts", "softIoc", "ours/softIoc"));
  for (const r of rows) {
    const ours = r.values.get("epics-ts");
    const ref = r.values.get("softIoc");
    const ratio = ours !== undefined && ref ? (ours / ref).toFixed(2) : "-";
    const fmt = r.lowerIsBetter ? (x?: number) => x?.toFixed(3) ?? "-" : fmtRate;
    console.log(line(r.label, fmt(ours), fmt(ref), ratio));
  }
  if (runs("catime") && !catime) console.log("catime not found on PATH: its rows are missing");
  if (!softIoc) console.log("softIoc not found on PATH: the reference numbers are missing");
  reportRows(rows.map((r) => ({
    bench: "ca_server",
    measurement: r.label,
    unit: r.lowerIsBetter ? "us/op" : "/s",
    ours: r.values.get("epics-ts"),
    reference: r.values.get("softIoc"),
    refName: "softIoc",
    higherIsBetter: !r.lowerIsBetter,
  })));
  return 0;
}

if (import.meta.main) {
  if (Deno.args.includes("--serve")) await serve();
  else Deno.exit(await main(Deno.args));
}
