/**
 * parseDatabase against EPICS base's dbLoadRecords in the same run: N records (default
 * 100,000) with macros, quoted values and links. softIoc's load time is its run time with the
 * file minus its run time without it (no iocInit in either). Prints the ratio (base / ours;
 * above 1: we parse faster than base loads).
 * Run: deno run -A tools/bench/ioc_parse.ts [records]
 * @module
 */
import { parseDatabase } from "../../lib/ioc/parse/mod.ts";

const n = Number(Deno.args[0] ?? 100_000);
let text = "";
for (let i = 0; i < n; i++) {
  text += `record(ai, "$(P)rec${i}") {\n  field(DESC, "Record number ${i}")\n` +
    `  field(SCAN, "1 second")\n  field(INP, "$(P)rec${i + 1} NPP")\n  field(PREC, 3)\n` +
    `  field(EGU, "mm")\n  field(HOPR, 100)\n}\n`;
}
const macros = new Map([["P", "bench:"]]);
let ours = Infinity;
for (let k = 0; k < 3; k++) {
  const t0 = performance.now();
  const r = parseDatabase(text, { file: "bench.db", macros });
  ours = Math.min(ours, performance.now() - t0);
  if (r.records.length !== n || r.errors.length) throw new Error("bench file did not parse");
}
console.log(`parseDatabase ${n} records: ${ours.toFixed(0)} ms`);

const softIoc = ["/opt/epics/base/bin/linux-x86_64/softIoc", "softIoc"].find((p) => {
  try {
    new Deno.Command(p, { args: ["-h"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
});
if (!softIoc) {
  console.log("softIoc not found: no reference");
} else {
  const dir = Deno.makeTempDirSync({ prefix: "ioc_parse_bench_" });
  try {
    Deno.writeTextFileSync(`${dir}/bench.db`, text);
    Deno.writeTextFileSync(`${dir}/load.cmd`, 'dbLoadRecords("bench.db", "P=bench:")\n');
    Deno.writeTextFileSync(`${dir}/empty.cmd`, "\n");
    const time = (cmd: string) => {
      let best = Infinity;
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        new Deno.Command(softIoc, { args: [cmd], cwd: dir, stdin: "null", stdout: "null" })
          .outputSync();
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const base = time("load.cmd") - time("empty.cmd");
    console.log(`softIoc dbLoadRecords ${n} records: ${base.toFixed(0)} ms`);
    console.log(`ratio ${(base / ours).toFixed(2)} (base time / our time)`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
