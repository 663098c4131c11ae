/**
 * Pieces shared by the PVA benchmarks: loopback environments on private ports, our
 * on-demand server (run in a child process), pvxs's `spam` server and `eatspam` client,
 * and finding pvxs programs. The approach is the one of tools/bench/pva_server.ts:
 * both servers post only when a subscription has room (spam: when its queue drains;
 * ours: {@link PvaServerOptions.onDrained}), so neither spins and no value is squashed.
 * For the CA-driven workload: our server over CA and PVA without posting, pvxs's
 * `softIocPVX` with generated waveform records, and the CA putting client.
 * @module
 */

import { ByteWriter } from "../../lib/core/bytes.ts";
import { epicsConfigFrom } from "../../lib/core/env.ts";
import { benchRepeaterPort } from "./_repeater.ts";
import { CaCommand, Dbr } from "../../lib/ca/proto/constants.ts";
import { encodeEcho, encodeWrite } from "../../lib/ca/proto/messages.ts";
import { serve } from "../../lib/host/serve.ts";
import { PvMap } from "../../lib/pv/provider.ts";
import { SharedPV } from "../../lib/pv/shared_pv.ts";
import type { ServedPv } from "../../lib/pv/types.ts";
import { PvaServer, type PvaServerOptions } from "../../lib/pva/server/mod.ts";
import { RawCaClient } from "../../tests/_ca_raw_client.ts";

export const sleep = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));

/** Element type of the bench PVs: uint32 is all spam serves. */
export type BenchType = "uint32" | "uint16";

/** What a bench server serves: `count` PVs named `prefix0..`, scalars when `elements` is 0. */
export interface ServeSpec {
  names: string[];
  type: BenchType;
  /** 0 = scalar NTScalar; otherwise the array length of every update. */
  elements: number;
  /**
   * Serve over CA and PVA and post nothing: the values come from CA puts (see
   * {@link serveForCaPuts}). Default false: PVA only, posting on demand.
   */
  caPuts?: boolean;
}

/** Bench PV names: one PV is `prefix`, more are `prefix0`, `prefix1`... */
export function benchNames(prefix: string, count: number): string[] {
  return count === 1 ? [prefix] : Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/**
 * Our server, in this process, posting on demand: whenever a write of a connection
 * completes, each PV whose subscription sent updates in it gets as many new values as its queue
 * has room for. Arrays are new per update and handed over without a copy
 * (`transfer: true`), as spam builds a new array and freezes it into each update.
 * Prints `PORT <tcp port>` and serves until stdin closes.
 * @param spec what to serve
 */
export async function serveOnDemand(spec: ServeSpec): Promise<void> {
  if (spec.caPuts) return await serveForCaPuts(spec);
  const pvs = spec.names.map((n) =>
    new SharedPV(
      n,
      spec.elements > 0 ? { type: spec.type, length: spec.elements } : { type: spec.type },
    )
  );
  let n = 0;
  const post = (roomFor: ReadonlyMap<ServedPv, number>) => {
    for (const [pv, room] of roomFor) {
      const spv = pv as SharedPV;
      if (spec.elements === 0) {
        for (let i = 0; i < room; i++) spv.post(++n);
      } else {
        for (let i = 0; i < room; i++) {
          const a = spec.type === "uint32"
            ? new Uint32Array(spec.elements)
            : new Uint16Array(spec.elements);
          spv.post(a.fill(++n), { transfer: true });
        }
      }
    }
  };
  const config = epicsConfigFrom(Deno.env.toObject()).pvas;
  const opts: PvaServerOptions = {
    provider: new PvMap(pvs),
    config,
    onDrained: post,
    // Refill a subscription once its updates are written, as spam posts when a queue has
    // room, not once the whole connection has drained.
    drainedOnEachWrite: true,
  };
  const server = await PvaServer.start(opts);
  console.log(`PORT ${server.tcpPort}`);
  for await (const _ of Deno.stdin.readable) { /* until the parent closes stdin */ }
  await server.close();
}

/**
 * Our server as `pvserve` runs it: the PVs of `spec` as plain SharedPVs served over CA
 * and PVA (lib/host serve()), changed only by clients' puts. Prints
 * `PORT <pva tcp port> CA <ca tcp port>` and serves until stdin closes.
 * @param spec what to serve
 */
export async function serveForCaPuts(spec: ServeSpec): Promise<void> {
  const pvs = spec.names.map((n) =>
    new SharedPV(
      n,
      spec.elements > 0 ? { type: spec.type, length: spec.elements } : { type: spec.type },
    )
  );
  const config = epicsConfigFrom(Deno.env.toObject());
  const server = await serve({ pvs, config, caPort: config.cas.serverPort });
  console.log(`PORT ${server.pva!.tcpPort} CA ${server.ca!.tcpPort}`);
  for await (const _ of Deno.stdin.readable) { /* until the parent closes stdin */ }
  await server.close();
}

function freePort(transport: "tcp" | "udp"): number {
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

/** Loopback-only PVA environment with free private ports, for servers and clients alike. */
export function loopbackEnv(): Record<string, string> {
  const udp = freePort("udp");
  const tcp = freePort("tcp");
  return {
    EPICS_PVA_AUTO_ADDR_LIST: "NO",
    EPICS_PVA_ADDR_LIST: "127.0.0.1",
    EPICS_PVA_BROADCAST_PORT: String(udp),
    EPICS_PVA_SERVER_PORT: String(tcp),
    EPICS_PVAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_PVAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1",
    EPICS_PVAS_BROADCAST_PORT: String(udp),
    EPICS_PVAS_SERVER_PORT: String(tcp),
  };
}

/** A TCP port that is free for UDP as well (CA servers listen on both). */
function freeTcpUdpPort(): number {
  for (;;) {
    const p = freePort("tcp");
    try {
      Deno.listenDatagram({ hostname: "127.0.0.1", port: p, transport: "udp" }).close();
      return p;
    } catch { /* taken for UDP: try another */ }
  }
}

/**
 * {@link loopbackEnv} plus a loopback-only CA environment on free private ports (server,
 * repeater and beacon ports alike), for servers that speak both protocols.
 */
export function caLoopbackEnv(): Record<string, string> {
  const ca = String(freeTcpUdpPort());
  return {
    ...loopbackEnv(),
    EPICS_CA_AUTO_ADDR_LIST: "NO",
    EPICS_CA_ADDR_LIST: "127.0.0.1",
    EPICS_CA_SERVER_PORT: ca,
    EPICS_CAS_SERVER_PORT: ca,
    EPICS_CA_REPEATER_PORT: String(benchRepeaterPort()),
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_CAS_BEACON_ADDR_LIST: `127.0.0.1:${freePort("udp")}`,
  };
}

/** A running bench server (a child process). */
export interface BenchServer {
  /** Its process ID (for its CPU time, see {@link cpuSeconds}). */
  pid: number;
  /** Its PVA TCP port. */
  tcpPort: number;
  /** Its CA TCP port, when it serves CA. */
  caPort?: number;
  /** The environment its clients use (same private ports). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts a process and waits (up to `timeoutMs`) until its stdout matches `ready`. */
export async function spawnUntil(
  cmd: Deno.Command,
  ready: RegExp,
  what: string,
  timeoutMs = 15000,
): Promise<{ child: Deno.ChildProcess; match: RegExpExecArray }> {
  const child = cmd.spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => reader.cancel().catch(() => {}), timeoutMs);
  try {
    for (;;) {
      const m = ready.exec(text);
      if (m) {
        // Keep draining stdout so the child never blocks on a full pipe.
        (async () => {
          try {
            while (!(await reader.read()).done) { /* discard */ }
          } catch { /* closed */ }
        })();
        return { child, match: m };
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`${what} exited before it was ready`);
      text += value;
    }
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts our server in a child process running `script --serve <json spec>`.
 * @param script path of a bench script whose main handles `--serve` with {@link serveOnDemand}
 * With PVA_BENCH_PROF=<dir> in the environment it runs with --cpu-prof and leaves its
 * V8 CPU profile in that folder when it exits.
 * @param spec what to serve
 */
export async function startOurServer(script: string, spec: ServeSpec): Promise<BenchServer> {
  const env = spec.caPuts ? caLoopbackEnv() : loopbackEnv();
  const prof = Deno.env.get("PVA_BENCH_PROF");
  const { child, match } = await spawnUntil(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-net",
        // PVA_BENCH_PROF=<dir>: a V8 CPU profile of our server, written when it exits.
        ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
        script,
        "--serve",
        JSON.stringify(spec),
      ],
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }),
    spec.caPuts ? /PORT (\d+) CA (\d+)/ : /PORT (\d+)/,
    "our bench server",
  );
  return {
    pid: child.pid,
    tcpPort: Number(match[1]),
    caPort: spec.caPuts ? Number(match[2]) : undefined,
    env,
    stop: async () => {
      await child.stdin.close().catch(() => {});
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await child.status;
      clearTimeout(t);
    },
  };
}

/** Waits until a TCP port accepts connections. */
async function waitForPort(port: number, child: Deno.ChildProcess, what: string): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const end = performance.now() + 15000;
  while (performance.now() < end && !exited) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`${what} did not start listening on port ${port}`);
}

/**
 * Starts pvxs's `spam` serving `spec` (uint32 only: spam serves nothing else).
 * @param exe path of spam
 * @param spec names and array length (0 = scalar)
 */
export async function startSpam(exe: string, spec: ServeSpec): Promise<BenchServer> {
  const env = loopbackEnv();
  const args = spec.elements > 0 ? ["-#", String(spec.elements)] : [];
  for (const n of spec.names) args.push("-S", n);
  // spam's stdout is block-buffered into a pipe: readiness is its port accepting.
  const child = new Deno.Command(exe, { args, env, stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
  const tcpPort = Number(env.EPICS_PVAS_SERVER_PORT);
  try {
    await waitForPort(tcpPort, child, "pvxs spam");
  } catch (e) {
    child.kill("SIGKILL");
    await child.status;
    throw e;
  }
  return {
    pid: child.pid,
    tcpPort,
    env,
    stop: async () => {
      child.kill("SIGINT");
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await child.status;
      clearTimeout(t);
    },
  };
}

/** The .db of {@link startSoftIocPvx}: one waveform record per name. */
export function waveformDb(spec: ServeSpec): string {
  const ftvl = spec.type === "uint32" ? "ULONG" : "USHORT";
  return spec.names.map((n) =>
    `record(waveform, "${n}") {\n  field(FTVL, "${ftvl}")\n  field(NELM, "${spec.elements}")\n}\n`
  ).join("");
}

/**
 * Starts pvxs's `softIocPVX` (an IOC serving its records over CA and, through QSRV,
 * PVA) with a generated .db of `waveform` records: `spec.names`, `spec.elements`
 * elements of `spec.type` each. The .db is written to a temporary directory that
 * {@link BenchServer.stop} removes. Ready once both its CA and PVA ports accept.
 * @param exe path of softIocPVX
 * @param spec record names, element type and count
 */
export async function startSoftIocPvx(exe: string, spec: ServeSpec): Promise<BenchServer> {
  const env = caLoopbackEnv();
  const dir = await Deno.makeTempDir({ prefix: "pva_bench_" });
  const db = `${dir}/bench.db`;
  await Deno.writeTextFile(db, waveformDb(spec));
  const child = new Deno.Command(exe, {
    args: ["-d", db],
    cwd: dir,
    // A PATH without the EPICS tools: the IOC must not spawn a caRepeater of its own.
    env: { ...env, PATH: "/usr/bin:/bin" },
    clearEnv: true,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    await child.stdin.close().catch(() => {});
    const t = setTimeout(() => child.kill("SIGKILL"), 3000);
    await child.status;
    clearTimeout(t);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const tcpPort = Number(env.EPICS_PVAS_SERVER_PORT);
  const caPort = Number(env.EPICS_CA_SERVER_PORT);
  try {
    await waitForPort(caPort, child, "softIocPVX (CA)");
    await waitForPort(tcpPort, child, "softIocPVX (PVA)");
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await stop();
    throw e;
  }
  return { pid: child.pid, tcpPort, caPort, env, stop };
}

/** Plain WRITEs per ECHO of {@link caPutLoad}. */
const PUT_BATCH = 16;
/** Batches {@link caPutLoad} keeps in flight. */
const PUT_BATCHES_IN_FLIGHT = 16;

/** What {@link caPutLoad} puts, and where. */
export interface CaPutSpec {
  /** The server's CA TCP port. */
  port: number;
  names: string[];
  /** Elements per put (DBR_SHORT). */
  elements: number;
}

/**
 * The putting client (run in its own process): connects one CA circuit, creates a
 * channel per name and puts new DBR_SHORT arrays round-robin over them as fast as the
 * server takes them: plain WRITEs (no completion, as caput without -c), an ECHO after
 * every {@link PUT_BATCH}, {@link PUT_BATCHES_IN_FLIGHT} batches in flight. A server
 * answers the ECHO after handling the WRITEs before it, so that bounds the data queued
 * anywhere. Each channel's WRITE is encoded once; a put only refills its values (a new
 * value each time) and copies it into the batch, so the client costs little next to the
 * server it drives. Prints `READY` once putting, then, for each line read from stdin,
 * `PUTS <n>` (puts acknowledged so far); stops when stdin closes.
 * @param spec port, names and array length
 */
export async function caPutLoad(spec: CaPutSpec): Promise<void> {
  const c = await RawCaClient.connect(spec.port, { user: "bench-put", timeoutMs: 30000 });
  const chans = await Promise.all(spec.names.map((n) => c.createChannel(n)));
  const w = new ByteWriter(spec.elements * 2 + 64);
  const zeros = new Int16Array(spec.elements);
  // Per channel: its WRITE message and a view of the values in it (16-byte header, and
  // DBR_SHORT data starts the payload, so the view is aligned).
  const puts = chans.map((ch) => {
    w.reset();
    encodeWrite(w, {
      sid: ch.sid,
      cid: ch.cid,
      dataType: Dbr.SHORT,
      count: spec.elements,
      data: { value: zeros, meta: { status: 0, severity: 0 } },
    });
    const msg = w.toBytes();
    return { msg, values: new Int16Array(msg.buffer, 16, spec.elements) };
  });
  w.reset();
  encodeEcho(w);
  const echo = w.toBytes();
  const batch = new Uint8Array(PUT_BATCH * puts[0].msg.length + echo.length);
  let next = 0;
  let value = 0;
  let acked = 0;
  let running = true;
  const sendBatch = () => {
    let at = 0;
    for (let i = 0; i < PUT_BATCH; i++) {
      const p = puts[next];
      next = (next + 1) % puts.length;
      value = (value + 1) & 0x7fff; // DBR_SHORT is signed: stay in uint16's lower half
      // CA data is big-endian.
      p.values.fill(((value & 0xff) << 8) | (value >> 8));
      batch.set(p.msg, at);
      at += p.msg.length;
    }
    batch.set(echo, at);
    // send() copies the bytes before it returns: the batch is reused at once.
    c.send(batch.subarray(0, at + echo.length)).catch(() => running = false);
  };
  c.tap((m) => {
    if (m.command !== CaCommand.ECHO || !running) return;
    acked += PUT_BATCH;
    sendBatch();
  });
  for (let i = 0; i < PUT_BATCHES_IN_FLIGHT; i++) sendBatch();
  console.log("READY");
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  for await (const chunk of lines) {
    for (const _ of chunk.matchAll(/\n/g)) console.log(`PUTS ${acked}`);
  }
  running = false;
  await c.close().catch(() => {});
}

/** A running {@link caPutLoad} process. */
export interface CaPutter {
  /** Its process ID. */
  pid: number;
  /** Puts the server has acknowledged so far. */
  count(): Promise<number>;
  /** Stops the process (SIGKILL by its PID if it does not exit within 3 s). */
  stop(): Promise<void>;
}

/**
 * Starts {@link caPutLoad} in a child process running `script --ca-put <json spec>`.
 * @param script path of a bench script whose main handles `--ca-put`
 * @param spec port, names and array length
 */
export async function startCaPutter(script: string, spec: CaPutSpec): Promise<CaPutter> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", script, "--ca-put", JSON.stringify(spec)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const stop = async () => {
    await stdin.close().catch(() => {});
    const t = setTimeout(() => child.kill("SIGKILL"), 3000);
    await reader.cancel().catch(() => {});
    await child.status;
    clearTimeout(t);
  };
  /** The next line of its stdout. */
  const line = async (): Promise<string> => {
    for (;;) {
      const nl = text.indexOf("\n");
      if (nl >= 0) {
        const l = text.slice(0, nl);
        text = text.slice(nl + 1);
        return l;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the CA put client exited");
      text += value;
    }
  };
  const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
  try {
    if ((await line()) !== "READY") throw new Error("the CA put client did not start");
  } catch (e) {
    await stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    pid: child.pid,
    count: async () => {
      await stdin.write(new TextEncoder().encode("\n"));
      const m = /^PUTS (\d+)$/.exec(await line());
      if (!m) throw new Error("odd answer from the CA put client");
      return Number(m[1]);
    },
    stop,
  };
}

/**
 * CPU time (user + system) a process has used so far, from /proc (Linux; its clock
 * ticks are USER_HZ = 100 per second).
 * @param pid a process ID, or "self"
 * @returns seconds, or undefined where /proc is not readable
 */
export function cpuSeconds(pid: number | "self"): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

/** What one eatspam run measured. */
export interface EatspamResult {
  /** Updates per second summed over the PVs, as eatspam reports them. */
  rate: number;
  /** CPU seconds eatspam used over its whole run (undefined without /proc). */
  cpu?: number;
  /** Seconds it ran. */
  elapsed: number;
}

/**
 * pvxs's eatspam (`-P -Q <queue>`) for `seconds`, then SIGINT. eatspam 1.5.2 now and
 * then aborts while setting up many subscriptions (against either server): such a run
 * is repeated.
 * @param opts.cpus run it on these CPUs only (a taskset list, see {@link oneCpu})
 * @returns its rate (over its whole run, connection included) and CPU time
 */
export async function eatspam(
  exe: string,
  env: Record<string, string>,
  names: string[],
  queueSize: number,
  seconds: number,
  opts: { cpus?: string } = {},
): Promise<EatspamResult> {
  let why = "";
  const args = ["-P", "-Q", String(queueSize), ...names];
  for (let attempt = 0; attempt < 3; attempt++) {
    // taskset execs eatspam: the child's PID is eatspam's.
    const child = new Deno.Command(opts.cpus ? "taskset" : exe, {
      args: opts.cpus ? ["-c", opts.cpus, exe, ...args] : args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const out = new Response(child.stdout).text();
    const t0 = performance.now();
    const status = await Promise.race([child.status, sleep(seconds * 1000)]);
    const cpu = status ? undefined : cpuSeconds(child.pid);
    const elapsed = (performance.now() - t0) / 1000;
    if (!status) {
      child.kill("SIGINT");
      const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
      await child.status;
      clearTimeout(kill);
    }
    const text = await out;
    let sum = 0;
    let seen = 0;
    for (const m of text.matchAll(/^(\S+) [\d.e+-]+ wakes\/s ([\d.e+-]+) update\/s/gm)) {
      sum += Number(m[2]);
      seen++;
    }
    if (seen === names.length) return { rate: sum, cpu, elapsed };
    why = status
      ? `eatspam exited early (${status.signal ?? status.code})`
      : `eatspam reported ${seen} of ${names.length} PVs`;
    console.error(`${why}; running it again`);
  }
  throw new Error(why);
}

/** The CPUs this process may run on, as a taskset list ("0-1"), from /proc (Linux). */
export function allowedCpus(): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * One CPU to pin a server and its client to, for the rows that take cross-CPU wake-ups
 * out of a round trip: the first this process may use, when it may use more than one
 * and `taskset` (util-linux) is on PATH.
 * @returns a taskset CPU list of one CPU, or undefined where pinning is not possible
 */
export function oneCpu(): string | undefined {
  const list = allowedCpus();
  const first = list ? /^\d+/.exec(list)?.[0] : undefined;
  if (!list || first === undefined || list === first) return undefined;
  return findOnPath("taskset") ? first : undefined;
}

/**
 * Restricts every thread of process `pid` to `cpus` (`taskset -a -p -c`).
 * @param pid a process ID
 * @param cpus a taskset CPU list ("0", "0-1")
 * @throws Error when taskset fails
 */
export function pinProcess(pid: number, cpus: string): void {
  const r = new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", cpus, String(pid)],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!r.success) {
    throw new Error(
      `Cannot pin process ${pid} to CPU ${cpus}: ${new TextDecoder().decode(r.stderr).trim()}`,
    );
  }
}

function findOnPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/** Finds a pvxs program in $PVXS_BIN or on PATH. */
export function findTool(name: string): string | undefined {
  const path = (Deno.env.get("PATH") ?? "").split(":");
  const dirs = [Deno.env.get("PVXS_BIN") ?? "", ...path];
  // pvxs's test programs (spam, eatspam) are built in <pvxs>/test/O.<arch>/ and not
  // installed: look there too, beside a pvxs whose bin/<arch> is on PATH.
  for (const dir of path) {
    const m = /^(.*)\/bin\/([^/]+)\/?$/.exec(dir);
    if (m) dirs.push(`${m[1]}/test/O.${m[2]}`);
  }
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * How to get pvxs's `spam` and `eatspam` when they are missing: they are pvxs test
 * programs, built by pvxs's `make` in test/O.<arch>/ but never installed to bin/.
 */
export const SPAM_HINT = "pvxs's spam/eatspam not found: they are pvxs test programs, built " +
  "by `make` in pvxs (test/O.<arch>/spam, test/O.<arch>/eatspam) but not installed; put " +
  "pvxs's bin/<arch> on PATH (its test/O.<arch> is searched) or set PVXS_BIN to that folder; " +
  "our figures are printed alone";

/** A positive number option `--name <n>`, or `fallback`. */
export function numberOption(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
