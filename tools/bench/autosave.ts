/**
 * Autosave benchmark: save and restore of N PVs (10,000 by default) served by our server
 * (lib/host serve, in its own process) on loopback, over CA and over PVA, through the
 * commands' own code (autosave-save / autosave-restore main()). Prints PVs/s and the time
 * of each step against the goal (< 1 s each for 10,000 PVs), and, when synApps' asVerify is
 * on PATH (e.g. after `. /opt/epics/env.sh`), the same comparison done by asVerify against
 * the same server, as a ratio to our --verify in the same run.
 *
 *   deno run -A tools/bench/autosave.ts [--pvs 10000] [--rounds 3] [--trace]
 *   (--trace: each step's time on stderr as it finishes)
 *   (internal: --serve N runs the server)
 *
 * The PVs: 40% float64, 20% int32, 20% string, 10% enum, 10% float64[16]. Each step's best
 * time over the rounds is kept (other load only slows a run down). Loopback only, private
 * ports, the server stopped by PID.
 * @module
 */

import { join } from "node:path";
import { epicsConfigFrom } from "../../lib/core/env.ts";
import { benchRepeaterPort, closeBenchRepeater } from "./_repeater.ts";
import { type BenchRow, reportRows } from "./_results.ts";
import { serve } from "../../lib/host/serve.ts";
import { SharedPV } from "../../lib/pv/shared_pv.ts";
import type { CliIO } from "../../cli/_io.ts";
import { main as save } from "../../cli/autosave_save.ts";
import { main as restore } from "../../cli/autosave_restore.ts";

const LOOPBACK: Record<string, string> = {
  EPICS_CA_AUTO_ADDR_LIST: "NO",
  EPICS_CA_ADDR_LIST: "127.0.0.1",
  EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
  EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
  EPICS_CAS_BEACON_ADDR_LIST: "127.0.0.1",
  EPICS_PVA_AUTO_ADDR_LIST: "NO",
  EPICS_PVA_ADDR_LIST: "127.0.0.1",
  EPICS_PVAS_INTF_ADDR_LIST: "127.0.0.1",
  EPICS_PVAS_AUTO_BEACON_ADDR_LIST: "NO",
  EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1",
};

function arg(name: string, def: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : def;
}

function pvName(i: number): string {
  return `bench:as:${i}`;
}

function makePv(i: number): SharedPV {
  const k = i % 10;
  const name = pvName(i);
  if (k < 4) return new SharedPV(name, { type: "float64", value: i / 7 });
  if (k < 6) return new SharedPV(name, { type: "int32", value: i });
  if (k < 8) return new SharedPV(name, { type: "string", value: `text ${i}` });
  if (k < 9) return new SharedPV(name, { type: "enum", choices: ["A", "B", "C"], value: i % 3 });
  return new SharedPV(name, {
    type: "float64",
    length: 16,
    value: Array.from({ length: 16 }, (_, j) => i + j / 4),
  });
}

async function runServer(n: number): Promise<void> {
  const pvs = Array.from({ length: n }, (_, i) => makePv(i));
  const cfg = epicsConfigFrom(LOOPBACK);
  const server = await serve({
    pvs,
    caPort: 0,
    pvaPort: 0,
    config: { ...cfg, pvas: { ...cfg.pvas, broadcastPort: 0 } },
  });
  console.log(`ready ${server.ca!.udpPort} ${server.pva!.udpPort}`);
  // Runs until killed by the benchmark.
  await new Promise(() => {});
}

function findOnPath(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      if (Deno.statSync(join(dir, cmd)).isFile) return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}

type Main = (args: string[], io: CliIO) => Promise<number>;

/** Fails fast, instead of waiting out every timeout, if the server process ends. */
let serverGone: Promise<never> = new Promise(() => {});

async function timed(main: Main, args: string[], env: Record<string, string>) {
  let err = "";
  const t0 = performance.now();
  const code = await Promise.race([
    serverGone,
    main(args, {
      stdout: () => {},
      stderr: (t) => (err += t),
      env,
      signal: new AbortController().signal,
    }),
  ]);
  return { ms: performance.now() - t0, code, err };
}

async function main(): Promise<void> {
  if (Deno.args.includes("--serve")) return await runServer(arg("--serve", 10000));
  const n = arg("--pvs", 10000);
  const rounds = arg("--rounds", 3);
  const trace = Deno.args.includes("--trace");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--serve", String(n)],
    env: LOOPBACK,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited");
    line += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  let stopping = false;
  serverGone = child.status.then((st) => {
    if (stopping) return new Promise<never>(() => {});
    throw new Error(`the server process ended (code ${st.code}, signal ${st.signal})`);
  });
  serverGone.catch(() => {});
  const [, caPort, pvaPort] = line.trim().split(" ");
  const env = {
    ...LOOPBACK,
    EPICS_CA_ADDR_LIST: `127.0.0.1:${caPort}`,
    EPICS_PVA_ADDR_LIST: `127.0.0.1:${pvaPort}`,
    // Served by us: asVerify's libca then starts no caRepeater (port 1 binds as root).
    EPICS_CA_REPEATER_PORT: String(benchRepeaterPort()),
  };
  const dir = await Deno.makeTempDir();
  try {
    const req = join(dir, "bench.req");
    await Deno.writeTextFile(req, Array.from({ length: n }, (_, i) => pvName(i)).join("\n") + "\n");
    const best: Record<string, number> = {};
    const keep = (k: string, ms: number) => (best[k] = Math.min(best[k] ?? Infinity, ms));
    for (let r = 0; r < rounds; r++) {
      for (const p of ["ca", "pva"]) {
        const sav = join(dir, `bench_${p}.sav`);
        const s = await timed(
          save,
          ["-q", "-p", p, "-w", "30", "-I", dir, "-o", sav, "bench.req"],
          env,
        );
        if (s.code !== 0) throw new Error(`save over ${p} failed: ${s.err}`);
        keep(`save ${p}`, s.ms);
        if (trace) console.error(`round ${r} save ${p} ${s.ms.toFixed(0)} ms`);
        const rs = await timed(restore, ["-q", "-p", p, "-w", "30", sav], env);
        if (rs.code !== 0) throw new Error(`restore over ${p} failed: ${rs.err}`);
        keep(`restore ${p}`, rs.ms);
        if (trace) console.error(`round ${r} restore ${p} ${rs.ms.toFixed(0)} ms`);
        const v = await timed(restore, ["-q", "-p", p, "-w", "30", "--verify", sav], env);
        if (v.code !== 0) throw new Error(`verify over ${p} failed: ${v.err}`);
        keep(`verify ${p}`, v.ms);
        if (trace) console.error(`round ${r} verify ${p} ${v.ms.toFixed(0)} ms`);
      }
    }
    const asVerify = findOnPath("asVerify");
    let asMs: number | undefined;
    let asNotConnected = 0;
    if (asVerify) {
      for (let r = 0; r < 1; r++) { // once: asVerify reads one PV at a time (minutes)
        const t0 = performance.now();
        const o = await new Deno.Command(asVerify, {
          args: [join(dir, "bench_ca.sav")],
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const ms = performance.now() - t0;
        const text = new TextDecoder().decode(o.stdout);
        const m = /^(\d+) PVs? differed.*?(\d+) PVs? not connected/m.exec(text);
        if (!m || m[1] !== "0") throw new Error(`asVerify: ${text.slice(-300)}`);
        asNotConnected = Number(m[2]);
        // Which ones, and when (a PV our server hosts should always connect).
        for (const line of text.split("\n")) {
          if (/not connected\./.test(line)) console.log(`  ${line.trim()}`);
        }
        asMs = Math.min(asMs ?? Infinity, ms);
      }
    }
    console.log(`autosave benchmark: ${n} PVs on our server (loopback), best of ${rounds} rounds`);
    for (const [k, ms] of Object.entries(best)) {
      const goal = k.startsWith("verify")
        ? ""
        : ms < 1000
        ? "  (goal < 1 s: met)"
        : "  (goal < 1 s: NOT met)";
      console.log(
        `  ${k.padEnd(12)} ${(ms / 1000).toFixed(3)} s  ${
          Math.round(n / (ms / 1000)).toString().padStart(8)
        } PVs/s${goal}`,
      );
    }
    // save and restore have a goal (under a second) but no reference tool; verify has asVerify.
    reportRows(
      Object.entries(best).map(([k, ms]): BenchRow => ({
        bench: "autosave",
        measurement: `${k}, ${n} PVs`,
        unit: "ms",
        ours: ms,
        reference: k === "verify ca" ? asMs : undefined,
        refName: k === "verify ca" ? "asVerify" : "-",
        higherIsBetter: false,
      })),
    );
    if (asMs !== undefined) {
      console.log(
        `  asVerify (synApps, CA, same file and server) ${(asMs / 1000).toFixed(3)} s  ` +
          `${Math.round(n / (asMs / 1000))} PVs/s; ours (verify ca) is ${
            (asMs / best["verify ca"]).toFixed(1)
          }x faster` +
          (asNotConnected ? ` (asVerify found ${asNotConnected} PVs not connected)` : ""),
      );
    } else console.log("  asVerify: reference missing (not on PATH)");
  } finally {
    stopping = true;
    child.kill("SIGKILL");
    await child.stdout.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
    await closeBenchRepeater();
  }
}

if (import.meta.main) await main();
