/**
 * DTYP "tsdev" in the IOC engine: every supported record type, field macros, result
 * conversion, errors as alarms, asynchronous code with put completion, the FIFO limit
 * of concurrent records, iointr, run-time code changes refused, modules in Web Workers,
 * the st.cmd commands, and an ACF that keeps a refused CA client from running code.
 * @module
 */

import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { PvaServer } from "../lib/pva/server/server.ts";
import { PvaClient } from "../lib/pva/client/client.ts";
import { IocDatabase, type RecordDef } from "../lib/ioc/database.ts";
import { IocProvider } from "../lib/ioc/provider.ts";
import { IocShell } from "../lib/ioc/shell.ts";
import { accessFor, parseAcf } from "../lib/ioc/_parse.ts";
import { iointr as modIointr } from "../mod.ts";
import { registerTsdevCommands, TsdevContext } from "../lib/ioc/tsdev/mod.ts";
import { freePort, LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";
import { rec } from "./_helpers/ioc.ts";

type G = Record<string, unknown>;
const g = globalThis as unknown as G;

function setup(records: RecordDef[], workers = 3) {
  const logs: string[] = [];
  const ts = new TsdevContext({ workers, log: (m) => logs.push(m) });
  const db = new IocDatabase({ devices: [ts.device] });
  const errors = db.load(records);
  if (errors.length) throw errors[0];
  db.init();
  return {
    ts,
    db,
    logs,
    [Symbol.dispose]() {
      db.close();
      ts.close();
    },
  };
}

const dev = (code: string, extra: Record<string, string> = {}) => ({
  DTYP: "tsdev",
  ...extra,
  INP: code,
});
const out = (code: string, extra: Record<string, string> = {}) => ({
  DTYP: "tsdev",
  ...extra,
  OUT: code,
});

Deno.test("tsdev: input records of every type take their expression's value, converted", () => {
  g.tsIn = { n: 2.5, s: "state two", arr: [1, 2, 3] };
  using t = setup([
    rec("ai", "ai", dev("@tsIn.n * 2")),
    rec("longin", "li", dev("@'41' - -1")),
    rec("int64in", "i64", dev("@2n ** 40n")),
    rec("bi", "bi", dev("@tsIn.n > 1")),
    rec(
      "mbbi",
      "mbbi",
      dev("@tsIn.s", { ZRST: "state zero", ONST: "state one", TWST: "state two" }),
    ),
    rec("stringin", "si", dev("@`${NAME} is ${DESC}`", { DESC: "a stringin" })),
    rec("lsi", "lsi", dev("@'x'.repeat(SIZV - 1)", { SIZV: "100" })),
    rec("waveform", "wf", dev("@tsIn.arr.map((x) => x * 10)", { NELM: "5", FTVL: "DOUBLE" })),
    rec("aai", "aai", dev("@new Int16Array([7, 8])", { NELM: "4", FTVL: "SHORT" })),
  ]);
  for (const r of t.db.records()) t.db.process(r);
  assert.deepEqual(t.logs, []);
  assert.equal(t.db.getField("ai"), 5);
  assert.equal(t.db.getField("li"), 42);
  assert.equal(t.db.getField("i64"), 2 ** 40);
  assert.equal(t.db.getField("bi"), 1);
  assert.equal(t.db.getField("mbbi"), 2);
  assert.equal(t.db.getField("si"), "si is a stringin");
  assert.equal(t.db.getField("lsi"), "x".repeat(99));
  assert.deepEqual([...(t.db.getField("wf") as Float64Array)], [10, 20, 30, 0, 0]);
  assert.equal(t.db.getField("wf.NORD"), 3);
  assert.deepEqual([...(t.db.getField("aai") as Int16Array)].slice(0, 2), [7, 8]);
  for (const r of t.db.records()) assert.equal(r.f.SEVR, 0, r.name);
});

Deno.test("tsdev: output records see typed field values; an expression's value becomes VAL", async () => {
  const seen: unknown[] = [];
  g.tsSeen = seen;
  using t = setup([
    rec("ao", "ao", out("@Math.abs(%VAL%)", { PREC: "2" })),
    rec("longout", "lo", out("@void tsSeen.push([VAL, HOPR, NAME.length])", { HOPR: "9" })),
    rec("int64out", "i64o", out("@VAL * 2")),
    rec(
      "bo",
      "bo",
      out("@tsSeen.push(['bo', VAL, 'ZNAM/ONAM']) && 0", { ZNAM: "Off", ONAM: "On" }),
    ),
    rec("mbbo", "mbbo", out("@'TWST'.length && 'Two'", { ZRST: "Zero", ONST: "One", TWST: "Two" })),
    rec("stringout", "so", out("@tsSeen.push('VAL') && undefined")),
    rec("lso", "lso", out("@'%VAL%'.toUpperCase()", { SIZV: "64" })),
    rec("aao", "aao", out("@VAL.map((x) => x + 1)", { NELM: "4", FTVL: "LONG" })),
  ]);
  await t.db.putField("ao", -3.3);
  assert.equal(t.db.getField("ao"), 3.3);
  assert.equal(t.db.getField("ao.OVAL"), 3.3);
  await t.db.putField("lo", 5);
  await t.db.putField("i64o", 21);
  await t.db.putField("bo", 1);
  await t.db.putField("mbbo", 0);
  await t.db.putField("so", "it's");
  await t.db.putField("lso", "quiet");
  await t.db.putField("aao", new Int32Array([1, 2, 3]));
  assert.deepEqual(seen, [[5, 9, 2], ["bo", 1, "Off/On"], "it's"]);
  assert.equal(t.db.getField("lo"), 5, "an undefined result leaves VAL");
  assert.equal(t.db.getField("i64o"), 42);
  assert.equal(t.db.getField("bo"), 0);
  assert.equal(t.db.getField("mbbo"), 2);
  assert.equal(t.db.getField("so"), "it's");
  assert.equal(t.db.getField("lso"), "QUIET");
  assert.deepEqual([...(t.db.getField("aao") as Int32Array)].slice(0, 3), [2, 3, 4]);
  assert.deepEqual(t.logs, []);
});

Deno.test("tsdev: statements run; assignments do not set VAL; @VAL runs the written text", async () => {
  using t = setup([
    rec("longout", "assign", out("@tsAssigned = VAL * 3")),
    rec("stringout", "exec", out("@VAL")),
    rec("stringout", "quoted", out("@tsQuoted = 'VAL'")),
  ]);
  await t.db.putField("assign", 2);
  assert.equal(g.tsAssigned, 6);
  assert.equal(t.db.getField("assign"), 2);
  await t.db.putField("exec", "if (true) { tsExec = 'ran' }");
  assert.equal(g.tsExec, "ran");
  // Inside quotes the value is escaped: a quote cannot end the string and run code.
  await t.db.putField("quoted", "x'; tsInjected = 1; '");
  assert.equal(g.tsQuoted, "x'; tsInjected = 1; '");
  assert.equal(g.tsInjected, undefined);
  assert.deepEqual(t.logs, []);
});

Deno.test("tsdev: throws, rejections and unconvertible results raise CALC/INVALID; the IOC carries on", async () => {
  g.tsFlaky = { fail: true };
  using t = setup([
    rec("ai", "throws", dev("@tsFlaky.fail ? tsNoSuchThing.x : 1.5")),
    rec("ao", "rejects", out("@Promise.reject(new RangeError('too far'))")),
    rec("longin", "conv", dev("@'abc'")),
    rec("longin", "undef", dev("@undefined")),
    rec("ai", "syntax", dev("@1 +")),
  ]);
  t.db.process(t.db.record("throws")!);
  assert.equal(t.db.getField("throws.SEVR"), 3);
  assert.equal(t.db.getField("throws.STAT"), 12);
  assert.equal(t.db.getField("throws.AMSG"), "tsNoSuchThing is not defined");
  await assert.rejects(
    t.db.putField("rejects", 1).then(() => Promise.reject(new Error("ok"))),
    /ok/,
  );
  assert.equal(t.db.getField("rejects.SEVR"), 3);
  assert.equal(t.db.getField("rejects.AMSG"), "too far");
  t.db.process(t.db.record("conv")!);
  assert.equal(t.db.getField("conv.SEVR"), 3);
  assert.match(String(t.db.getField("conv.AMSG")), /^Cannot convert "abc" to a number/);
  t.db.process(t.db.record("undef")!);
  assert.equal(t.db.getField("undef.SEVR"), 3);
  t.db.process(t.db.record("syntax")!);
  assert.equal(t.db.getField("syntax.SEVR"), 3);
  assert.equal(t.logs.length, 5);
  assert.match(
    t.logs[0],
    /^tsdev: throws: tsFlaky\.fail \? tsNoSuchThing\.x : 1\.5: ReferenceError: /,
  );
  assert.match(t.logs[1], /^tsdev: rejects: .*RangeError: too far$/);
  assert.match(t.logs[4], /^tsdev: syntax: 1 \+: SyntaxError: ai records need an expression/);
  (g.tsFlaky as { fail: boolean }).fail = false;
  t.db.process(t.db.record("throws")!);
  assert.equal(t.db.getField("throws"), 1.5);
  assert.equal(t.db.getField("throws.SEVR"), 0);
});

Deno.test("tsdev: a promise keeps the record PACT; the put completes when it settles", async () => {
  let release!: (v: number) => void;
  g.tsLater = () => new Promise<number>((r) => release = r);
  using t = setup([rec("ao", "slow", out("@tsLater().then((x) => x + VAL)"))]);
  let done = false;
  const put = t.db.putField("slow", 1).then(() => done = true);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(t.db.getField("slow.PACT"), 1);
  assert.equal(done, false);
  release(10);
  await put;
  assert.equal(t.db.getField("slow.PACT"), 0);
  assert.equal(t.db.getField("slow"), 11);
});

Deno.test("tsdev: at most TSDEV_NUM_WORKERS records run at once; the others wait in FIFO order", async () => {
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  g.tsJob = (name: string) => {
    started.push(name);
    return new Promise<void>((r) => releases.set(name, r));
  };
  const names = ["a", "b", "c", "d", "e"];
  using t = setup(names.map((n) => rec("longout", n, out("@tsJob(NAME)"))), 2);
  const puts = names.map((n) => t.db.putField(n, 1));
  assert.deepEqual(started, ["a", "b"]);
  assert.equal(t.ts.running, 2);
  assert.equal(t.ts.waiting, 3);
  for (const n of names) assert.equal(t.db.getField(`${n}.PACT`), 1, n);
  releases.get("b")!();
  while (started.length < 3) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(started, ["a", "b", "c"]);
  releases.get("a")!();
  while (started.length < 4) await new Promise((r) => setTimeout(r, 1));
  releases.get("c")!();
  while (started.length < 5) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(started, names);
  releases.get("d")!();
  releases.get("e")!();
  await Promise.all(puts);
  assert.equal(t.ts.running, 0);
});

Deno.test("tsdev: iointr(name, value) processes every subscribed record with the value", async () => {
  await new TsdevContext().run("0"); // a context on its own does not disturb others
  using t = setup([
    rec("longout", "num", out("@tsSqrt(VAL)")),
    rec("longin", "int", dev("@iointr('ts_sqrt_int')", { SCAN: "I/O Intr" })),
    rec("ai", "rem", dev("@iointr('ts_sqrt_remain')", { SCAN: "I/O Intr" })),
    rec("ai", "twice", dev("@2 * iointr('ts_sqrt_remain')", { SCAN: "I/O Intr" })),
  ]);
  await t.ts.run(`function tsSqrt(v) {
    const i = Math.floor(Math.sqrt(v));
    iointr('ts_sqrt_int', i);
    iointr('ts_sqrt_remain', v - i * i);
  }`);
  await t.db.putField("num", 10);
  assert.equal(t.db.getField("int"), 3);
  assert.equal(t.db.getField("rem"), 1);
  assert.equal(t.db.getField("twice"), 2);
  // mod.ts's iointr reaches the running IOC too.
  modIointr("ts_sqrt_int", 12);
  assert.equal(t.db.getField("int"), 12);
  assert.deepEqual(t.logs, []);
});

Deno.test("tsdev: mod.ts's iointr does nothing outside an IOC", () => {
  assert.equal(modIointr("nobody_listens", 1), undefined);
});

Deno.test("tsdev: the code cannot be changed at run time", async () => {
  using t = setup([rec("stringout", "so", out("@1"))]);
  await assert.rejects(t.db.putField("so.OUT", "@tsChanged = 1"), /cannot be changed at run time/);
  assert.equal(t.db.getField("so.OUT"), "@1");
});

Deno.test("tsdev: st.cmd commands: tsdev(code), tsdevImport relative to st.cmd, worker modules", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/heavy.ts`,
      `export function tsHeavy(n: number) { let s = 0; for (let i = 1; i <= n; i++) s += i; return s; }\n` +
        `export function tsBoom() { throw new Error("boom"); }\n`,
    );
    await Deno.writeTextFile(`${dir}/light.ts`, `export const tsLight = (x: number) => x + 1;\n`);
    await Deno.writeTextFile(
      `${dir}/st.cmd`,
      [
        'tsdevImport("./light.ts")',
        'tsdevImport("./heavy.ts", "worker")',
        'tsdev("var tsFromStcmd = tsLight(41)")',
      ].join("\n"),
    );
    const err: string[] = [];
    const logs: string[] = [];
    const ts = new TsdevContext({ log: (m) => logs.push(m) });
    const db = new IocDatabase({ devices: [ts.device] });
    const shell = new IocShell(db, {
      readFile: (p) => Deno.readTextFileSync(p),
      out: () => {},
      err: (m) => err.push(m),
      env: new Map(),
    });
    registerTsdevCommands(shell, ts, "/");
    try {
      assert.equal(await shell.runFile(`${dir}/st.cmd`), true);
      assert.deepEqual(err, []);
      assert.equal(g.tsFromStcmd, 42);
      db.load([
        rec("ai", "heavy", dev("@tsHeavy(1000)")),
        rec("ai", "boom", dev("@tsBoom()")),
      ]);
      db.init();
      await db.putField("heavy.PROC", 1);
      assert.equal(db.getField("heavy"), 500500);
      await db.putField("boom.PROC", 1);
      assert.equal(db.getField("boom.SEVR"), 3);
      assert.match(logs.join("\n"), /tsdev: boom: tsBoom\(\): Error: boom$/m);
      await shell.execute("tsdev(\"throw new Error('from the shell')\")");
      assert.match(err.join(""), /tsdev: .*from the shell/);
    } finally {
      db.close();
      ts.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tsdev: with the example ACF, a refused CA client cannot run code; the allowed one can", async () => {
  const acfText = await Deno.readTextFile(`${REPO_ROOT}/examples/tsdev/tsdev.acf`);
  const { acf, errors } = parseAcf(acfText, { file: "tsdev.acf" });
  assert.deepEqual(errors, []);
  using t = setup([
    rec("stringout", "TsDev:Exec", out("@VAL", { ASG: "TSDEV_CODE" })),
    rec("stringout", "TsDev:Open", out("@VAL")),
  ]);
  t.db.setAccess((asg, asl, user, host) => accessFor(acf, asg, asl, user, host));
  const server = await CaServer.start({
    provider: new IocProvider(t.db),
    config: epicsConfigFrom({ ...LOOPBACK_ENV }).cas,
    port: 0,
  });
  const client = (user: string, host: string) =>
    new CaContext({
      repeater: false,
      user,
      host,
      config: epicsConfigFrom({
        ...LOOPBACK_ENV,
        EPICS_CA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
        EPICS_CA_REPEATER_PORT: String(freePort([server.udpPort])),
      }).ca,
    });
  const mallory = client("mallory", "localhost");
  const operator = client("operator", "localhost");
  const elsewhere = client("operator", "other-host");
  try {
    for (const ctx of [mallory, elsewhere]) {
      const ch = ctx.channel("TsDev:Exec");
      await assert.rejects(ch.put("tsPwned = 1", { wait: true }), /no write access/);
      assert.equal(g.tsPwned, undefined);
    }
    // The same record type without the ASG is open to everybody.
    await mallory.channel("TsDev:Open").put("tsOpenRan = 1", { wait: true });
    assert.equal(g.tsOpenRan, 1);
    await operator.channel("TsDev:Exec").put("tsOperatorRan = 'yes'", { wait: true });
    assert.equal(g.tsOperatorRan, "yes");
  } finally {
    await mallory.close();
    await operator.close();
    await elsewhere.close();
    await server.close();
  }
});

Deno.test("tsdev: a PVA put completes when the record's promise settles", async () => {
  let release!: () => void;
  g.tsPvaLater = () => new Promise<void>((r) => release = r);
  using t = setup([rec("ao", "ts:pva", out("@tsPvaLater().then(() => VAL * 10)"))]);
  const pva = await PvaServer.start({
    provider: new IocProvider(t.db),
    config: {
      serverPort: 0,
      broadcastPort: 0,
      intfAddrList: ["127.0.0.1"],
      beaconAddrList: [],
      autoBeaconAddrList: false,
      beaconPeriod: 15,
    },
  });
  const client = new PvaClient({
    env: { ...LOOPBACK_ENV, EPICS_PVA_ADDR_LIST: `127.0.0.1:${pva.udpPort}` },
  });
  try {
    let done = false;
    const put = client.put("ts:pva", 2).then(() => done = true);
    await new Promise<void>((resolve, reject) => {
      const end = Date.now() + 10000;
      const poll = () => {
        if (t.db.getField("ts:pva.PACT") === 1) return resolve();
        if (Date.now() > end) return reject(new Error("the record never went PACT"));
        setTimeout(poll, 5);
      };
      poll();
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done, false, "the put waits for the code");
    release();
    await put;
    assert.equal(t.db.getField("ts:pva"), 20);
  } finally {
    await client.close();
    await pva.close();
  }
});
