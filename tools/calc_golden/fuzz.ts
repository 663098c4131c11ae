/**
 * Random calc expressions through EPICS base's libCom and through ours; prints every
 * difference (compile error codes, results, letters after `:=`, interpreter against generated
 * evaluator). Needs the calc_golden binary (see README.md); `%` is left out (INT_MIN % -1
 * traps in C).
 * Run: deno run -A tools/calc_golden/fuzz.ts /tmp/calc_golden [count] [seed]
 * @module
 */
import { CalcSyntaxError, compileCalc, evaluateCalc } from "../../lib/ioc/calc/mod.ts";

const [tool, countArg, seedArg] = Deno.args;
if (!tool) {
  console.error("usage: fuzz.ts CALC_GOLDEN_BINARY [count] [seed]");
  Deno.exit(2);
}
const count = Number(countArg ?? 20000);
let seed = Number(seedArg ?? 777);
const rnd = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return seed % n;
};
const leaf = ["A", "B", "C", "D", "L", "VAL", "1", "2", "0.5", "0", "3e9", "NaN", "Inf", "PI"];
leaf.push("R2D", "0xFFFFFFFF", "-1");
const bin = ["+", "-", "*", "/", "**", "^", "&", "|", "&&", "||", "<<", ">>", ">>>", "<", "<="];
bin.push("=", "==", "!=", "#", ">", ">=", " AND ", " OR ", " XOR ");
const un = ["-", "!", "~", "NOT ", "ABS", "SQRT", "LN", "LOG", "EXP", "SIN", "COS", "TAN"];
un.push("ATAN", "CEIL", "FLOOR", "NINT", "ISINF", "SINH", "TANH");
const va = ["MAX", "MIN", "ISNAN", "FINITE"];
function gen(d: number): string {
  switch (d > 4 ? 0 : rnd(7)) {
    case 0:
    case 1:
      return leaf[rnd(leaf.length)];
    case 2:
      return `${gen(d + 1)}${bin[rnd(bin.length)]}${gen(d + 1)}`;
    case 3: {
      const u = un[rnd(un.length)];
      return /^[A-Z]+$/.test(u) ? `${u}(${gen(d + 1)})` : `${u}${gen(d + 1)}`;
    }
    case 4: {
      const xs = Array.from({ length: 1 + rnd(4) }, () => gen(d + 1));
      return `${va[rnd(4)]}(${xs.join(",")})`;
    }
    case 5:
      return `(${gen(d + 1)}?${gen(d + 1)}:${gen(d + 1)})`;
    default:
      return `${rnd(2) ? "ATAN2" : "FMOD"}(${gen(d + 1)},${gen(d + 1)})`;
  }
}
const ARGS = "1.5 -2 3e9 -1 0 0 0 0 0 0 0 -7";
const lines: string[] = [];
for (let i = 0; i < count; i++) {
  let e = gen(0);
  if (rnd(4) === 0) e = `${"ABCD"[rnd(4)]}:=${gen(2)};${e}`;
  if (rnd(6) === 0) e = `${e};${"ABCD"[rnd(4)]}:=${gen(2)}`;
  // an unbalanced or garbled variant now and then, for the compile errors
  if (rnd(5) === 0) e = e.slice(0, rnd(e.length + 1)) + [")", "(", ",", "?", ":", ":="][rnd(6)];
  lines.push(`${e}\t${ARGS}\t4`);
}
const run = new Deno.Command(tool, { stdin: "piped", stdout: "piped" }).spawn();
// Write and read at once: the tool answers line by line and pipes are small.
const writing = (async () => {
  const w = run.stdin.getWriter();
  await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  await w.close();
})();
const [, result] = await Promise.all([writing, run.output()]);
const out = new TextDecoder().decode(result.stdout).trim().split("\n");

let exact = 0, ulps = 0, errors = 0, diffs = 0;
const close = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) &&
  Math.abs(a - b) <= 4 * Number.EPSILON * Math.max(Math.abs(a), Math.abs(b));
for (const l of out) {
  const r = JSON.parse(l);
  let p;
  try {
    p = compileCalc(r.expr);
  } catch (e) {
    if (e instanceof CalcSyntaxError && e.code === r.error) errors++;
    else diffs++, console.log(`compile: ${r.expr}: base ${r.error ?? "ok"}, ours ${e}`);
    continue;
  }
  if (r.error !== undefined) {
    diffs++, console.log(`compile: ${r.expr}: base error ${r.error}, ours compiles`);
    continue;
  }
  const a = Float64Array.from(r.args.map(Number));
  const v = evaluateCalc(p, a, Number(r.val));
  const q = compileCalc(r.expr);
  q.jit();
  const b = Float64Array.from(r.args.map(Number));
  const vj = evaluateCalc(q, b, Number(r.val));
  if (!Object.is(v, vj) || !a.every((x, i) => Object.is(x, b[i]))) {
    diffs++, console.log(`jit: ${r.expr}: interpreter ${v}, generated ${vj}`);
  }
  const want = Number(r.result);
  if (Object.is(v, want)) exact++;
  else if (close(v, want)) ulps++;
  else diffs++, console.log(`result: ${r.expr}: base ${r.result}, ours ${v}`);
}
console.log(
  `${out.length} expressions: ${exact} bit-exact, ${ulps} within 4 ulp (libm), ` +
    `${errors} same compile error, ${diffs} differences`,
);
