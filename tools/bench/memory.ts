/**
 * Resident memory per hosted PV: our server (the pvserve layer, CA and PVA, in a child
 * process) against EPICS base's softIoc holding the same records, in one run:
 *
 * - 100,000 scalar PVs (ours: float64 SharedPVs; softIoc: `ai` records);
 * - 10,000 arrays of 1,000 doubles (ours: float64[1000] SharedPVs holding 1,000 values;
 *   softIoc: `waveform` records with NELM 1000, FTVL DOUBLE, whose buffers softIoc
 *   allocates in full at start).
 *
 * Each process's VmRSS (/proc) is read once it serves; the same program serving one PV
 * gives the baseline, so the figure is (RSS(N) - RSS(1)) / (N - 1) bytes per PV. Our
 * child is read twice: after a plain full garbage collection ("after GC"), and after a
 * memory-reducing one ("settled": V8's last-resort collection, which also gives back the
 * young generation that building the PVs grew, as V8's memory reducer does in an idle
 * process; softIoc has no such slack). softIoc is looked up on PATH
 * (see /opt/epics/README.md); without it only our figures are printed. Loopback only,
 * private ports.
 *
 *   deno run -A tools/bench/memory.ts [--scalars 100000] [--arrays 10000]
 *   (internal: --serve <kind> <n>)
 * @module
 */

import { epicsConfigFrom } from "../../lib/core/env.ts";
import { SharedPV } from "../../lib/pv/shared_pv.ts";
import { serve } from "../../lib/host/serve.ts";
import { caLoopbackEnv, findTool, numberOption } from "./_pva_common.ts";
import { closeBenchRepeater } from "./_repeater.ts";
import { type BenchRow, reportRows } from "./_results.ts";

type Kind = "scalar" | "array";
const ELEMENTS = 1000;

type Gc = (opts?: { type: string; execution: string; flavor?: string }) => void;

/**
 * Child: serve `n` PVs of `kind`, collect garbage, print READY; on a line from stdin
 * collect garbage reducing memory and print SETTLED; run until stdin closes.
 */
async function serveMany(kind: Kind, n: number): Promise<void> {
  const pvs: SharedPV[] = [];
  const template = new Float64Array(ELEMENTS);
  for (let i = 0; i < n; i++) {
    pvs.push(
      kind === "scalar"
        ? new SharedPV(`mem:s${i}`, { type: "float64", value: i })
        : new SharedPV(`mem:w${i}`, {
          type: "float64",
          length: ELEMENTS,
          value: template.fill(i), // copied in: each PV owns its own 1,000 values
        }),
    );
  }
  const config = epicsConfigFrom(Deno.env.toObject());
  const server = await serve({ pvs, config, caPort: config.cas.serverPort, pvaPort: 0 });
  const gc = (globalThis as { gc?: Gc }).gc;
  gc?.();
  console.log("READY");
  for await (const _ of Deno.stdin.readable) {
    gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
    console.log("SETTLED");
  }
  await server.close();
}

function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Reads a child's stdout until a word appears (each word once, in order). */
function lineWaiter(child: Deno.ChildProcess, what: string, timeoutMs = 300_000) {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  return {
    async until(word: string): Promise<void> {
      const timer = setTimeout(() => reader.cancel().catch(() => {}), timeoutMs);
      try {
        while (!text.includes(word)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`${what} exited (or timed out) before saying ${word}`);
          text += value;
        }
        text = text.slice(text.indexOf(word) + word.length);
      } finally {
        clearTimeout(timer);
      }
    },
    drain(): void {
      (async () => {
        try {
          while (!(await reader.read()).done) { /* drain */ }
        } catch { /* closed */ }
      })();
    },
  };
}

async function waitReady(child: Deno.ChildProcess, what: string) {
  const r = lineWaiter(child, what);
  await r.until("READY");
  r.drain();
}

/** Our server with `n` PVs: its RSS in bytes after a plain GC and once settled. */
async function oursRss(kind: Kind, n: number): Promise<{ gc: number; settled: number }> {
  const script = new URL(import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", script, "--serve", kind, String(n)],
    env: caLoopbackEnv(),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  try {
    const out = lineWaiter(child, "our server");
    await out.until("READY");
    await new Promise((r) => setTimeout(r, 500)); // let the heap settle after the GC
    const gc = rssBytes(child.pid);
    await stdin.write(new TextEncoder().encode("\n"));
    await out.until("SETTLED");
    await new Promise((r) => setTimeout(r, 500));
    const settled = rssBytes(child.pid);
    out.drain();
    return { gc, settled };
  } finally {
    await stdin.close().catch(() => {});
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await child.status;
    clearTimeout(t);
  }
}

function db(kind: Kind, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      kind === "scalar"
        ? `record(ai, "mem:s${i}") {}`
        : `record(waveform, "mem:w${i}") { field(NELM, "${ELEMENTS}") field(FTVL, "DOUBLE") }`,
    );
  }
  return out.join("\n") + "\n";
}

/** softIoc with `n` records: its RSS in bytes, once iocInit is done. */
async function softIocRss(exe: string, kind: Kind, n: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "mem_bench_" });
  try {
    await Deno.writeTextFile(`${dir}/mem.db`, db(kind, n));
    // The shell runs after iocInit: `echo READY` then says it is up.
    const child = new Deno.Command(exe, {
      args: ["-d", `${dir}/mem.db`],
      cwd: dir,
      // A PATH without the EPICS tools: the IOC must not spawn a caRepeater.
      env: { ...caLoopbackEnv(), PATH: "/usr/bin:/bin" },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const w = child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode("echo READY\n"));
      await waitReady(child, "softIoc");
      return rssBytes(child.pid);
    } finally {
      await w.write(new TextEncoder().encode("exit\n")).catch(() => {});
      await w.close().catch(() => {});
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await child.status;
      clearTimeout(t);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function main(args: string[]): Promise<void> {
  const scalars = numberOption(args, "--scalars", 100_000);
  const arrays = numberOption(args, "--arrays", 10_000);
  const softIoc = findTool("softIoc");
  const rows: BenchRow[] = [];
  for (const [kind, n] of [["scalar", scalars], ["array", arrays]] as const) {
    const base = await oursRss(kind, 1);
    const full = await oursRss(kind, n);
    const ref = softIoc
      ? ((await softIocRss(softIoc, kind, n)) - (await softIocRss(softIoc, kind, 1))) / (n - 1)
      : undefined;
    const what = kind === "scalar"
      ? `${n.toLocaleString("en-US")} scalars`
      : `${n.toLocaleString("en-US")} x double[${ELEMENTS}]`;
    for (const k of ["settled", "gc"] as const) {
      rows.push({
        bench: "memory",
        measurement: `RSS per PV, ${what}${k === "gc" ? " (after GC)" : ""}`,
        unit: "B/PV",
        ours: (full[k] - base[k]) / (n - 1),
        reference: ref,
        refName: "softIoc",
        higherIsBetter: false,
      });
    }
  }
  console.log(
    "Memory benchmark: resident memory per hosted PV, (RSS(N) - RSS(1)) / (N - 1); " +
      "ours = CA+PVA pvserve layer, softIoc = EPICS base (CA only)",
  );
  console.log(
    "ours settled: after V8's memory-reducing GC (young generation given back); " +
      "(after GC): after a plain full GC, with the young generation building the PVs grew",
  );
  const line = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(47)}  ${b.padStart(10)}  ${c.padStart(10)}  ${d.padStart(12)}`;
  console.log(line("measurement", "epics-ts", "softIoc", "ours/softIoc"));
  for (const r of rows) {
    const f = (x?: number) => x === undefined ? "-" : `${Math.round(x).toLocaleString("en-US")} B`;
    const ratio = r.ours !== undefined && r.reference ? (r.ours / r.reference).toFixed(2) : "-";
    console.log(line(r.measurement, f(r.ours), f(r.reference), ratio));
  }
  if (!softIoc) {
    console.log("softIoc not found on PATH (. /opt/epics/env.sh): the reference is missing");
  }
  reportRows(rows);
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--serve");
  if (at >= 0) await serveMany(Deno.args[at + 1] as Kind, Number(Deno.args[at + 2]));
  else {
    await main(Deno.args);
    await closeBenchRepeater();
  }
}
