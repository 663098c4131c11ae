/**
 * Turns calc_golden's JSON lines (stdin) into lib/ioc/calc/testdata/calc_golden.json (stdout):
 * one row per expression, `[expr, args, val, result | errorCode, argsOut | null, inputs, stores]`,
 * numbers as strings (so NaN, infinities and -0 survive), trailing zero arguments left out.
 * @module
 */
const text = new TextDecoder().decode(await new Response(Deno.stdin.readable).arrayBuffer());
const trim = (a: string[]) => {
  const out = [...a];
  while (out.length && out[out.length - 1] === "0") out.pop();
  return out;
};
const rows: string[] = [];
for (const line of text.split("\n")) {
  if (!line) continue;
  const r = JSON.parse(line);
  const row = r.error !== undefined ? [r.expr, trim(r.args), r.val, r.error, null, 0, 0] : [
    r.expr,
    trim(r.args),
    r.val,
    r.status ? -1 : r.result,
    JSON.stringify(r.argsOut) === JSON.stringify(r.args) ? null : trim(r.argsOut),
    r.inputs,
    r.stores,
  ];
  rows.push(JSON.stringify(row));
}
console.log(`{
  "source": "EPICS base R7.0.8.1 libCom postfix() + calcPerform() + calcArgUsage(), linux-x86_64, gcc; produced by tools/calc_golden (see README.md there)",
  "rows": [
${rows.join(",\n")}
  ]
}`);
