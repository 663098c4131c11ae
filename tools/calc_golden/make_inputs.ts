/**
 * Writes the calc golden-data input list (tools/calc_golden/inputs.txt): the hand-written
 * cases, then every binary operator and function over a set of awkward values, through the
 * letters A and B so that literals do not hide run-time conversions.
 * Run: deno run --allow-read --allow-write tools/calc_golden/make_inputs.ts
 * @module
 */
const dir = new URL(".", import.meta.url);
const hand = Deno.readTextFileSync(new URL("handwritten.txt", dir)).split("\n").filter((l) => l);
const values = [
  "0",
  "-0",
  "1",
  "-1",
  "2",
  "3",
  "0.5",
  "-0.5",
  "-2.5",
  "7",
  "1e10",
  "-1e10",
  "2147483648",
  "-2147483649",
  "4294967295",
  "1e19",
  "inf",
  "-inf",
  "nan",
];
const binary = [
  "+",
  "-",
  "*",
  "/",
  "%",
  "**",
  "^",
  "&",
  "|",
  "xor",
  "<<",
  ">>",
  ">>>",
  "&&",
  "||",
  "<",
  "<=",
  "=",
  "==",
  "!=",
  "#",
  ">",
  ">=",
];
const fn2 = ["atan2", "fmod", "max", "min", "isnan", "finite"];
const fn1 = [
  "abs",
  "exp",
  "log",
  "ln",
  "loge",
  "sqr",
  "sqrt",
  "sin",
  "cos",
  "tan",
  "asin",
  "acos",
  "atan",
  "sinh",
  "cosh",
  "tanh",
  "ceil",
  "floor",
  "nint",
  "isinf",
  "isnan",
  "finite",
  "-",
  "!",
  "~",
  "not",
];
const lines = [...hand];
for (const op of binary) {
  for (const a of values) {
    for (const b of values) {
      // INT_MIN % -1 traps in C (base's IOC would die): leave it out of the golden run.
      if (op === "%" && b === "-1") continue;
      lines.push(`A ${op} B\t${a} ${b}`);
    }
  }
}
for (const f of fn2) {
  for (const a of values) for (const b of values) lines.push(`${f}(A,B)\t${a} ${b}`);
}
for (const f of fn1) for (const a of values) lines.push(`${f}(A)\t${a}`);
for (const a of values) lines.push(`A ? B : C\t${a} 1 2`);
for (const a of values) lines.push(`VAL + A\t${a}\t${a}`);
Deno.writeTextFileSync(new URL("inputs.txt", dir), lines.join("\n") + "\n");
