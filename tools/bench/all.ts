/**
 * `deno task bench:all`: runs every benchmark in tools/bench, one after the other (each
 * prints its own table to stderr here), then one table of every measurement, ours beside
 * the reference measured in the same run. "lead" is oriented so that above 1 we are
 * better (faster, more per second, less memory), below 1 we trail.
 *
 *   deno task bench:all [--quick] [--only ca_server,memory,...]
 *
 * --quick passes short durations and fewer rounds / PVs to each benchmark. Put EPICS base
 * and pvxs on PATH (`. /opt/epics/env.sh`) for the references; without them the rows show
 * our figures alone.
 * @module
 */

import type { BenchRow } from "./_results.ts";

const HERE = new URL(".", import.meta.url);

/** Each benchmark: its script and the arguments of a normal and of a quick run. */
const BENCHES: Array<{ name: string; normal: string[]; quick: string[] }> = [
  { name: "ca_server", normal: [], quick: ["--seconds", "1", "--rounds", "1"] },
  { name: "ca_client", normal: [], quick: ["--rounds", "1"] },
  { name: "pva_server", normal: [], quick: ["--seconds", "1", "--rounds", "1"] },
  { name: "pva_client", normal: [], quick: ["--seconds", "1", "--rounds", "1"] },
  { name: "memory", normal: [], quick: ["--scalars", "20000", "--arrays", "2000"] },
  {
    name: "softioc",
    normal: [],
    quick: ["--records", "20000", "--seconds", "1", "--rounds", "1"],
  },
  { name: "tsdev", normal: [], quick: ["--rounds", "1"] },
  { name: "autosave", normal: [], quick: ["--pvs", "1000", "--rounds", "1"] },
];

function fmt(x: number | undefined, unit: string): string {
  if (x === undefined) return "-";
  if (unit === "MB/s") return `${x.toFixed(1)} ${unit}`;
  if (unit === "ms") return `${x.toFixed(1)} ms`;
  // Per-operation times of a few microseconds: whole numbers would round them to 0 or 1.
  if (unit === "us/op" && x < 100) return `${x.toFixed(3)} ${unit}`;
  return `${Math.round(x).toLocaleString("en-US")} ${unit}`;
}

async function main(args: string[]): Promise<number> {
  const quick = args.includes("--quick");
  const at = args.indexOf("--only");
  const only = at >= 0 ? new Set(args[at + 1].split(",")) : undefined;
  const results = await Deno.makeTempFile({ prefix: "bench_all_", suffix: ".jsonl" });
  const failed: string[] = [];
  try {
    for (const b of BENCHES) {
      if (only && !only.has(b.name)) continue;
      console.error(`--- ${b.name}`);
      const status = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL(`${b.name}.ts`, HERE).pathname,
          ...(quick ? b.quick : b.normal),
        ],
        env: { BENCH_RESULTS: results },
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn().status;
      if (!status.success) failed.push(`${b.name} (exit ${status.code})`);
    }
    const text = await Deno.readTextFile(results);
    const rows = text.split("\n").filter((l) => l).map((l) => JSON.parse(l) as BenchRow);
    const w = Math.max(11, ...rows.map((r) => r.measurement.length));
    const line = (...c: string[]) =>
      `${c[0].padEnd(10)}  ${c[1].padEnd(w)}  ${c[2].padStart(16)}  ${c[3].padStart(16)}  ` +
      `${c[4].padEnd(12)}  ${c[5].padStart(6)}`;
    console.log("");
    console.log(
      `All benchmarks, ${navigator.hardwareConcurrency} CPUs${quick ? " (quick)" : ""}: ` +
        "lead = ours/ref for rates, ref/ours for times and memory (above 1: we lead)",
    );
    console.log(line("bench", "measurement", "epics-ts", "reference", "ref", "lead"));
    for (const r of rows) {
      const lead = r.ours !== undefined && r.reference !== undefined && r.ours > 0 &&
          r.reference > 0
        ? (r.higherIsBetter ? r.ours / r.reference : r.reference / r.ours).toFixed(2)
        : "-";
      console.log(
        line(
          r.bench,
          r.measurement,
          fmt(r.ours, r.unit),
          fmt(r.reference, r.unit),
          r.refName,
          lead,
        ),
      );
    }
    const leads = rows.filter((r) => r.ours !== undefined && r.reference !== undefined);
    const ahead = leads.filter((r) =>
      r.higherIsBetter ? r.ours! >= r.reference! : r.ours! <= r.reference!
    ).length;
    console.log(`we lead in ${ahead} of ${leads.length} measurements with a reference`);
    if (failed.length) console.log(`failed: ${failed.join(", ")}`);
  } finally {
    await Deno.remove(results).catch(() => {});
  }
  return failed.length ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
