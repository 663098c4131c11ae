import assert from "node:assert/strict";
import { checkDefinitions, createPvs, PvDefinitionError } from "./defs.ts";
import { parseDefinitionsYaml } from "./yaml_defs.ts";
import { DefinitionFileError } from "./yaml_defs.ts";
import { putLogEntry } from "./putlog.ts";
import { formatUptime, parseMeminfo, parseProcStat } from "./proc_stats.ts";
import { SharedPV } from "../pv/shared_pv.ts";

const opts = { permissions: "none" } as const;
const who = { protocol: "local" as const, user: "", host: "" };

Deno.test("definitions: types inferred from the initial value, as the issue lists", opts, () => {
  const [i, f, s, b, arr, en, img, chr, tbl, u64] = createPvs([
    { name: "i", value: 3 },
    { name: "f", value: 2.5 },
    { name: "s", value: "text" },
    { name: "b", value: true },
    { name: "arr", value: [1.5, 2] },
    { name: "en", value: ["Off", "On"], features: "WD" },
    { name: "img", type: "uint16", shape: [4, 6] },
    { name: "chr", type: "char", value: "hello" },
    { name: "tbl", columns: [{ name: "x" }, { name: "n", type: "int32" }] },
    { name: "u64", value: 0, type: "u64" },
  ], "p:");
  assert.deepEqual([i.type.kind, i.type.scalar], ["scalar", "int32"]);
  assert.deepEqual([f.type.kind, f.type.scalar], ["scalar", "float64"]);
  assert.equal(s.type.scalar, "string");
  assert.equal(b.type.scalar, "boolean");
  assert.deepEqual([arr.type.kind, arr.type.scalar, arr.type.maxLength], ["array", "float64", 2]);
  assert.deepEqual([en.type.kind, en.snapshot().choices, en.value], ["enum", ["Off", "On"], 0]);
  assert.equal(en.canWrite(), true);
  assert.equal(i.canWrite(), false);
  assert.deepEqual(img.snapshot().ndarray?.dimension, [6, 4]);
  assert.equal(img.type.maxLength, 24);
  assert.deepEqual([chr.type.scalar, chr.type.kind], ["uint8", "array"]);
  assert.equal(tbl.type.kind, "table");
  assert.equal(u64.type.scalar, "uint64");
  assert.equal(i.name, "p:i");
});

Deno.test(
  "definitions: limits refuse puts, valueAlarm severities by name, setters replace or refuse",
  opts,
  async () => {
    const [sp, g] = createPvs([
      {
        name: "sp",
        value: 25.0,
        type: "float64",
        features: "W",
        limitLow: 0,
        limitHigh: 100,
        valueAlarm: { high: 80, hihi: 95, highSeverity: "MINOR", hihiSeverity: "MAJOR" },
      },
      {
        name: "g",
        value: 1,
        features: "W",
        setter: (v) => {
          if ((v as number) === 13) throw new Error("unlucky");
          return (v as number) * 2;
        },
      },
    ]);
    await sp.put(90, who);
    assert.equal(sp.snapshot().alarm.severity, 1);
    await sp.put(99, who);
    assert.equal(sp.snapshot().alarm.severity, 2);
    await assert.rejects(sp.put(101, who), /outside the control limits \[0, 100\]/);
    assert.deepEqual([sp.snapshot().display.limitLow, sp.snapshot().display.limitHigh], [0, 100]);
    await g.put(4, who);
    assert.equal(g.value, 8);
    await assert.rejects(g.put(13, who), /unlucky/);
    assert.equal(g.value, 8);
  },
);

Deno.test("definitions: every problem is listed, not only the first", opts, () => {
  const problems = checkDefinitions([
    { name: "a", value: 1, type: "int99" },
    { value: 2 },
    { name: "c", value: [], features: "Q" },
    { name: "a", value: 5 },
    "nonsense",
  ]);
  assert.deepEqual(problems.map((p) => [p.index, p.key]), [
    [0, "type"],
    [1, "name"],
    [2, "features"],
    [2, "value"],
    [3, "name"],
    [4, undefined],
  ]);
  assert.throws(() => createPvs([{ name: "x" }]), PvDefinitionError);
});

// The yaml package looks at two debugging variables; nothing else is allowed.
const yamlOpts: Deno.TestDefinition["permissions"] extends infer P ? { permissions: P } : never = {
  permissions: { env: ["LOG_TOKENS", "LOG_STREAM"] },
};

Deno.test(
  "YAML: file:line:column of each problem; syntax errors too; 25.0 means float64",
  yamlOpts,
  () => {
    const f = parseDefinitionsYaml(
      'prefix: "lab1:"\npvs:\n  - { name: t, value: 25.0 }\n  - { name: n, value: 3 }\n',
      "ok.yaml",
    );
    assert.equal(f.prefix, "lab1:");
    assert.equal(f.pvs[0].type, "float64");
    assert.equal(f.pvs[1].type, undefined);
    const bad = "pvs:\n  - { name: a, value: 1, type: nope }\n  - name: b\n    colour: red\n";
    try {
      parseDefinitionsYaml(bad, "bad.yaml");
      assert.fail("not refused");
    } catch (e) {
      assert.ok(e instanceof DefinitionFileError);
      assert.deepEqual(e.problems.map((p) => [p.line, p.column]), [[2, 32], [3, 5], [4, 5]]);
      assert.match(e.problems[1].message, /give an initial value or a type/);
      assert.match(e.message, /^bad\.yaml:2:32: /);
    }
    assert.throws(() => parseDefinitionsYaml("pvs: [\n", "s.yaml"), /s\.yaml:\d+:\d+/);
    assert.throws(() => parseDefinitionsYaml("other: 1\n", "s.yaml"), /unknown key "other"/);
  },
);

Deno.test("put log entry: epicsdev's keys, enums as text, refusals marked", opts, () => {
  const pv = new SharedPV("m", { type: "enum", choices: ["Off", "On"] });
  const ms = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
  const e = putLogEntry(pv, { protocol: "ca", user: "ann", host: "pc1" }, pv.snapshot(), 1, ms);
  assert.deepEqual(e, {
    date: "2026-01-02",
    time: "03:04:05.006",
    host: "pc1",
    user: "ann",
    pv: "m",
    new: "On",
    old: "Off",
  });
  const r = putLogEntry(pv, { protocol: "pva", user: "", host: "h" }, pv.snapshot(), 7, ms, "no");
  assert.deepEqual([r.refused, r.reason], [true, "no"]);
  const big = putLogEntry(
    pv,
    { protocol: "pva", user: "", host: "h" },
    {
      ...pv.snapshot(),
      choices: undefined,
    },
    new Float64Array(500),
    ms,
  );
  assert.equal((big.new as unknown[]).length, 101);
});

Deno.test("proc parsers and uptime text", opts, () => {
  assert.deepEqual(parseProcStat("cpu  1 2 3 4 5 6 7 8 9 10\n"), { busy: 27, total: 36 });
  assert.equal(parseProcStat("intr 5\n"), undefined);
  assert.deepEqual(parseMeminfo("MemTotal: 2 kB\nMemFree: 1 kB\n"), { total: 2048, free: 1024 });
  assert.equal(formatUptime(59), "00:00:59");
  assert.equal(formatUptime(86400 + 3600), "1 day, 01:00:00");
});
