/**
 * Calc engine speed against EPICS base's calcPerform in the same run.
 * Build the reference first (outside the repository, see tools/calc_golden/README.md):
 *   gcc -O2 -o /tmp/calc_bench tools/calc_golden/calc_bench.c ...same flags as calc_golden...
 * Run: deno run -A tools/bench/calc.ts [/tmp/calc_bench]
 * Prints ns per evaluation for both and the ratio (base time / our time; > 1: we are faster).
 * @module
 */
import { compileCalc, evaluateCalc } from "../../lib/ioc/calc/mod.ts";

const EXPRESSIONS = [
  "A+B",
  "A*B+C/D-E",
  "A<360 ? A+1 : 0",
  "sin(A*D2R)*B + sqrt(C**2+D**2)",
  "max(A,B,C,D,E,F) & 255 | (G<<2)",
  "i:=i+1; A*sin(i*D2R)",
];
const N = 1_000_000;
const ROUNDS = 5; // the best of several rounds, alternating, on a shared machine

function ours(expr: string): number {
  const p = compileCalc(expr);
  const args = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  let sum = 0;
  for (let i = 0; i < 20_000; i++) sum += evaluateCalc(p, args); // warm up
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    args[0] = i;
    sum += evaluateCalc(p, args);
  }
  const ns = (performance.now() - t0) * 1e6 / N;
  if (Number.isNaN(sum)) console.log("(NaN sum)");
  return ns;
}

const ref = Deno.args[0];
const best = (m: Map<string, number>, e: string, ns: number) =>
  m.set(e, Math.min(m.get(e) ?? Infinity, ns));
const base = new Map<string, number>();
const mine = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  if (ref) {
    const out = new Deno.Command(ref, { args: [String(N), ...EXPRESSIONS] }).outputSync();
    for (const l of new TextDecoder().decode(out.stdout).trim().split("\n")) {
      const [e, ns] = l.split("\t");
      best(base, e, Number(ns));
    }
  }
  for (const e of EXPRESSIONS) best(mine, e, ours(e));
}
for (const e of EXPRESSIONS) {
  const o = mine.get(e)!;
  const b = base.get(e);
  const ratio = b === undefined ? "(no reference)" : `ratio ${(b / o).toFixed(2)}`;
  console.log(`${e.padEnd(34)} ours ${o.toFixed(1)} ns  base ${b?.toFixed(1) ?? "-"} ns  ${ratio}`);
}
