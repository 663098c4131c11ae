/**
 * Benchmark of our Channel Access client and `caget` against EPICS base's libca and
 * `caget`, in one run, against one server (our CA server in a child process, serving
 * 10,000 scalar PVs on 127.0.0.1):
 *
 * - connect-and-read of 1,000 and 10,000 PVs with the library in this process
 *   (CaContext: create the channels, wait for all, read all as DBR_TIME_DOUBLE; the
 *   context's close is not in the time), once with the batch calls
 *   (waitConnected/getMany) and once with a get() promise per channel;
 * - the same with libca in a Python process when /usr/bin/python3 can import pyepics
 *   (tools/bench/ca_client_libca.py): once through libca's C calls with Python kept out
 *   of the loop ("libca"), once through pyepics' `epics.ca` functions ("pyepics");
 * - the same through a whole `caget -t <all names>` process: ours and, when it is on the
 *   PATH, EPICS base's (libca doing the same work in its own process);
 * - the wall time of one `caget <pv>` process, ours and EPICS base's.
 *
 * Each measurement runs `--rounds` times (default 3); the best time is kept. Ratios are
 * ours / reference (below 1: we are faster). No socket leaves 127.0.0.1.
 *
 * Usage: deno run -A tools/bench/ca_client.ts [--rounds N]   (internal: --serve N)
 * @module
 */

import { reportRows } from "./_results.ts";
import { epicsConfigFrom } from "../../lib/core/env.ts";
import { CaContext } from "../../lib/ca/client/context.ts";
import { CaRepeater } from "../../lib/ca/repeater.ts";
import { CaServer } from "../../lib/ca/server/server.ts";
import { PvMap } from "../../lib/pv/provider.ts";
import { SharedPV } from "../../lib/pv/shared_pv.ts";
import { waitConnected } from "../../cli/_ca_cli.ts";
import { spawnUntil } from "./_pva_common.ts";

const MAX_PVS = 10_000;
const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

const LOOPBACK: Record<string, string> = {
  EPICS_CA_AUTO_ADDR_LIST: "NO",
  EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
  EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
  EPICS_CAS_BEACON_ADDR_LIST: "",
};

const pvName = (i: number) => `BENCH:pv${i}`;

/** Child mode: serve N PVs until stdin closes. */
async function serve(n: number): Promise<void> {
  const list: SharedPV[] = [];
  for (let i = 0; i < n; i++) list.push(new SharedPV(pvName(i), { type: "float64", value: i }));
  const server = await CaServer.start({
    provider: new PvMap(list),
    config: epicsConfigFrom(LOOPBACK).cas,
    port: 0,
  });
  console.log(`PORT ${server.udpPort}`);
  for await (const _ of Deno.stdin.readable) {
    // wait for the parent to close stdin
  }
  await server.close();
}

function findOnPath(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function startServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  const { child, match } = await spawnUntil(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, "--serve", String(MAX_PVS)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }),
    /PORT (\d+)\n/,
    "The bench server",
  );
  const writer = child.stdin.getWriter();
  return {
    port: Number(match[1]),
    stop: async () => {
      await writer.close();
      await child.status;
    },
  };
}

async function timeMs(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

async function best(rounds: number, f: () => Promise<unknown>): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < rounds; i++) b = Math.min(b, await timeMs(f));
  return b;
}

/**
 * Connect and read `n` PVs in a fresh context; returns the milliseconds taken. `batch`
 * uses CaContext.waitConnected/getMany; otherwise one get() promise per channel, as a
 * script written channel by channel would.
 */
async function libraryRead(
  env: Record<string, string>,
  n: number,
  batch = true,
): Promise<number> {
  await using ctx = new CaContext({ config: epicsConfigFrom(env).ca, repeater: false });
  const t0 = performance.now();
  const chans = Array.from({ length: n }, (_, i) => ctx.channel(pvName(i)));
  if (batch) {
    if (!await ctx.waitConnected(chans, 30)) throw new Error("Not every PV connected");
    const res = await ctx.getMany(chans, { dbrType: 20, timeoutSec: 30 });
    const bad = res.find((r) => r instanceof Error);
    if (bad) throw bad;
  } else {
    if (!await waitConnected(chans, 30)) throw new Error("Not every PV connected");
    await Promise.all(chans.map((c) => c.get({ dbrType: 20, timeoutSec: 30 })));
  }
  return performance.now() - t0;
}

async function bestOf(rounds: number, f: () => Promise<number>): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < rounds; i++) b = Math.min(b, await f());
  return b;
}

const PYTHON = "/usr/bin/python3";

/** True when /usr/bin/python3 can import pyepics (and so find libca). */
async function havePyepics(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import epics.ca; epics.ca.initialize_libca()"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.code === 0;
  } catch {
    return false;
  }
}

interface LibcaTimes {
  libca: Record<string, number>;
  pyepics: Record<string, number>;
}

/** Runs ca_client_libca.py for the counts; best milliseconds per way and count. */
async function libcaRead(
  env: Record<string, string>,
  counts: number[],
  rounds: number,
): Promise<LibcaTimes> {
  const out = await new Deno.Command(PYTHON, {
    args: [
      `${ROOT}tools/bench/ca_client_libca.py`,
      "--prefix",
      "BENCH:pv",
      "--rounds",
      String(rounds),
      ...counts.map(String),
    ],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(`ca_client_libca.py failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text) as LibcaTimes;
}

async function runProcess(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  expectLines: number,
): Promise<void> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const lines = new TextDecoder().decode(out.stdout).split("\n").length - 1;
  if (out.code !== 0 || lines !== expectLines) {
    throw new Error(
      `${cmd} failed (exit ${out.code}, ${lines} lines): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

function fmtMs(x: number | undefined): string {
  return x === undefined ? "-" : `${x.toFixed(1)} ms`;
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "--serve") {
    await serve(Number(args[1]));
    return 0;
  }
  const rounds = option(args, "--rounds", 3);
  const epicsCaget = findOnPath("caget");
  const pyepics = await havePyepics();
  const server = await startServer();
  // Our repeater on a private port, so libca does not spawn a caRepeater that outlives us.
  await using rep = CaRepeater.start(0, { hostname: "127.0.0.1" });
  const repeaterPort = rep.port;
  const env: Record<string, string> = {
    ...LOOPBACK,
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    EPICS_CA_ADDR_LIST: `127.0.0.1:${server.port}`,
    EPICS_CA_REPEATER_PORT: String(repeaterPort),
    EPICS_CA_MAX_ARRAY_BYTES: "100000000",
  };
  const ourCaget = ["run", "-A", `${ROOT}cli/caget.ts`];
  const counts = [1_000, MAX_PVS];
  const rows: Array<[string, number, number | undefined]> = [];
  try {
    // Warm-up: compile caget once and fill the server's caches.
    await runProcess(Deno.execPath(), [...ourCaget, pvName(0)], env, 1);
    await libraryRead(env, 100);
    const ref = pyepics ? await libcaRead(env, counts, rounds) : undefined;
    for (const n of counts) {
      const names = Array.from({ length: n }, (_, i) => pvName(i));
      const lib = await bestOf(rounds, () => libraryRead(env, n));
      const each = await bestOf(rounds, () => libraryRead(env, n, false));
      rows.push([`connect+read ${n} PVs, getMany (vs libca)`, lib, ref?.libca[n]]);
      rows.push([`connect+read ${n} PVs, get() each (vs libca)`, each, ref?.libca[n]]);
      rows.push([`connect+read ${n} PVs, getMany (vs pyepics)`, lib, ref?.pyepics[n]]);
      const ours = await best(
        rounds,
        () => runProcess(Deno.execPath(), [...ourCaget, "-w", "30", "-t", ...names], env, n),
      );
      const base = epicsCaget
        ? await best(rounds, () => runProcess(epicsCaget, ["-w", "30", "-t", ...names], env, n))
        : undefined;
      rows.push([`caget process, ${n} PVs (vs base caget)`, ours, base]);
    }
    const one = await best(
      rounds,
      () => runProcess(Deno.execPath(), [...ourCaget, pvName(1)], env, 1),
    );
    const oneRef = epicsCaget
      ? await best(rounds, () => runProcess(epicsCaget, [pvName(1)], env, 1))
      : undefined;
    rows.push(["caget process, 1 PV (wall time, vs base caget)", one, oneRef]);
  } finally {
    await server.stop();
  }
  const line = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(48)} ${b.padStart(12)} ${c.padStart(12)} ${d.padStart(10)}`;
  console.log(`best of ${rounds} rounds; server: epics-ts CaServer with ${MAX_PVS} PVs`);
  console.log(line("measurement", "epics-ts", "reference", "ours/ref"));
  for (const [label, ours, ref] of rows) {
    console.log(
      line(label, fmtMs(ours), fmtMs(ref), ref === undefined ? "-" : (ours / ref).toFixed(2)),
    );
  }
  if (!epicsCaget) console.log("caget (EPICS base) not found on PATH: reference numbers missing");
  if (!pyepics) console.log(`${PYTHON} cannot import epics (pyepics): libca numbers missing`);
  reportRows(rows.map(([label, ours, ref]) => ({
    bench: "ca_client",
    measurement: label,
    unit: "ms",
    ours,
    reference: ref,
    refName: /pyepics/.test(label) ? "pyepics" : /caget/.test(label) ? "base caget" : "libca",
    higherIsBetter: false,
  })));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
