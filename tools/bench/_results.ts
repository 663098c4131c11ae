/**
 * Results every benchmark hands to `deno task bench:all` (tools/bench/all.ts): one JSON
 * line per measurement, appended to the file named by $BENCH_RESULTS when it is set.
 * @module
 */

/** One measurement of one benchmark, ours beside the reference of the same run. */
export interface BenchRow {
  /** The benchmark script, e.g. "ca_server". */
  bench: string;
  /** What was measured, as the benchmark's own table labels it. */
  measurement: string;
  /** Unit of `ours` and `reference` (e.g. "updates/s", "ms", "B/PV"). */
  unit: string;
  /** Our figure (undefined when it could not be measured). */
  ours?: number;
  /** The reference's figure (undefined when the reference tool is absent). */
  reference?: number;
  /** The reference, e.g. "softIoc", "pvxs spam", "base caget". */
  refName: string;
  /** Whether a higher figure is better (rates) or a lower one (times, memory). */
  higherIsBetter: boolean;
}

/**
 * Appends rows to $BENCH_RESULTS (nothing when it is unset).
 * @param rows the benchmark's measurements
 */
export function reportRows(rows: readonly BenchRow[]): void {
  const path = Deno.env.get("BENCH_RESULTS");
  if (!path || rows.length === 0) return;
  Deno.writeTextFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n", {
    append: true,
  });
}
