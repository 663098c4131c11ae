/**
 * The IOC engine served over CA and PVA on loopback: our caget/caput/pvget in-process and
 * pyepics over the real libca against records, fields, metadata and processing chains.
 * @module
 */

import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { IocDatabase } from "../lib/ioc/database.ts";
import { caLinkFactory } from "../lib/ioc/ca_link.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { main as caget } from "../cli/caget.ts";
import { main as caput } from "../cli/caput.ts";
import { main as pvget } from "../cli/pvget.ts";
import { main as pvput } from "../cli/pvput.ts";
import { captureIO } from "./_helpers/ca_cli_io.ts";
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";
import { rec, serveIoc } from "./_helpers/ioc.ts";
import { PYEPICS_IGNORED, pyepicsTestName, runPyepics } from "./_helpers/pyepics.ts";

const RECORDS = [
  rec("ao", "t:ao", { DRVH: "5", DRVL: "-5", EGU: "V", PREC: "3", FLNK: "t:ai" }),
  rec("ai", "t:ai", {
    INP: "t:ao",
    EGU: "mm",
    PREC: "2",
    HOPR: "10",
    LOPR: "-10",
    HIHI: "4",
    HHSV: "MAJOR",
    DESC: "position",
  }),
  rec("bi", "t:bi", { ZNAM: "Off", ONAM: "On", VAL: "1" }),
  rec("stringin", "t:si", { VAL: "hello" }),
  rec("waveform", "t:wf", { FTVL: "DOUBLE", NELM: "8", INP: "[1.5,2.5,3.5]" }),
  rec("lso", "t:long", { SIZV: "200" }),
  rec("lsi", "t:lsi", { SIZV: "40" }),
  rec("ai", "t:utf", { DESC: "\u00c3\u00a9x" }),
  rec("longout", "t:lo", {}),
  rec("mbboDirect", "t:md", {}),
];

async function startIoc() {
  const db = new IocDatabase();
  const errors = db.load(RECORDS);
  if (errors.length) throw errors[0];
  db.init();
  return await serveIoc(db);
}

async function run(
  main: (a: string[], io: ReturnType<typeof captureIO>["io"]) => Promise<number>,
  port: number,
  args: string[],
  extra: Record<string, string> = {},
) {
  await using c = captureIO(port, extra);
  // A generous connection timeout: the tools' default of 1 s was once not enough in CI,
  // with the IOC in this process and both CPUs busy with other test files.
  const code = await main(["-w", "10", ...args], c.io);
  return { code, ...c.out };
}

Deno.test("caget of records and fields: types, menus as enums, links as strings, metadata", async () => {
  await using ioc = await startIoc();
  const r = await run(caget, ioc.ca.udpPort, [
    "t:ai",
    "t:ai.EGU",
    "t:ai.SCAN",
    "t:ai.INP",
    "t:bi",
    "t:si",
    "t:wf",
    "t:ai.HIHI",
    "t:ai.PREC",
  ]);
  assert.equal(r.stderr, "");
  assert.equal(
    r.stdout,
    [
      "t:ai                           0",
      "t:ai.EGU                       mm",
      "t:ai.SCAN                      Passive",
      "t:ai.INP                       t:ao NPP NMS",
      "t:bi                           On",
      "t:si                           hello",
      "t:wf 8 1.5 2.5 3.5 0 0 0 0 0",
      "t:ai.HIHI                      4",
      "t:ai.PREC                      2",
      "",
    ].join("\n"),
  );
  const g = await run(caget, ioc.ca.udpPort, ["-d", "DBR_CTRL_DOUBLE", "t:ai"]);
  assert.match(g.stdout, /Units:\s+mm/);
  assert.match(g.stdout, /Precision:\s+2/);
  assert.match(g.stdout, /Hi disp limit:\s+10/);
  assert.match(g.stdout, /Hi alarm limit:\s+4/);
});

Deno.test("caput -c on an ao completes after its FLNK chain; DRVH clamps; the ai alarms", async () => {
  await using ioc = await startIoc();
  const p = await run(caput, ioc.ca.udpPort, ["-c", "t:ao", "3"]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(ioc.db.getField("t:ai"), 3);
  await run(caput, ioc.ca.udpPort, ["-c", "t:ao", "7"]);
  assert.equal(ioc.db.getField("t:ao"), 5);
  assert.equal(ioc.db.getField("t:ai"), 5);
  const g = await run(caget, ioc.ca.udpPort, ["-a", "t:ai"]);
  assert.match(g.stdout, /t:ai\s+\S+ \S+\s+5 HIHI MAJOR/);
  // A menu field written by its string, and refused when not a choice.
  assert.equal((await run(caput, ioc.ca.udpPort, ["t:ai.SCAN", "Event"])).code, 0);
  assert.equal(ioc.db.getField("t:ai.SCAN"), 1);
  // A read-only field refuses.
  const bad = await run(caput, ioc.ca.udpPort, ["t:ai.SEVR", "1"]);
  assert.notEqual(bad.code, 0);
});

Deno.test("caput text to number fields reads as base's dbPut, out of range refused", async () => {
  await using ioc = await startIoc();
  // What softIoc 7.0.8.1 did with the same caput (DBR_STRING) lines: "70000" into a USHORT
  // and 99999999999 into a LONG are refused (the client's error names the record), "-1" is
  // 65535, "1e3" a LONG of 1 (the number, then units), "0x10" 0, " 7 " 7.
  for (
    const [name, text, after] of [
      ["t:md.SHFT", "70000", 0],
      ["t:md.SHFT", "-1", 65535],
      ["t:lo", "99999999999", 0],
      ["t:lo", "1e3", 1],
      ["t:lo", "0x10", 0],
      ["t:lo", " 7 ", 7],
    ] as const
  ) {
    const p = await run(caput, ioc.ca.udpPort, ["-t", name, text]);
    const refused = text === "70000" || text === "99999999999";
    assert.equal(p.code !== 0 || /write request failed/.test(p.stderr), refused, `${name} ${text}`);
    if (refused) assert.match(p.stderr, new RegExp(`"${name.split(".")[0]}"`), p.stderr);
    assert.equal(ioc.db.getField(name), after, `${name} ${text}`);
  }
});

Deno.test("REC.FIELD$ reads and writes long strings as char arrays", async () => {
  await using ioc = await startIoc();
  const long = "x".repeat(120);
  const p = await run(caput, ioc.ca.udpPort, ["-S", "t:long.VAL$", long]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(ioc.db.getField("t:long"), long);
  const g = await run(caget, ioc.ca.udpPort, ["-S", "t:long.VAL$", "t:ai.INP$"]);
  assert.equal(g.stdout, `t:long.VAL$ ${long}\nt:ai.INP$ t:ao NPP NMS\n`);
});

Deno.test("REC.FIELD$ chars are signed DBF_CHAR over CA and int8[] over PVA, as in softIocPVA", async () => {
  await using ioc = await startIoc();
  // DESC "Ã©x" in UTF-8 is c3 83 c2 a9 78; softIoc 7.0.8.1 reads them through DBR_DOUBLE as
  // -61 -125 -62 and softIocPVA serves byte[] [-61,-125,-62,-87,120,0].
  const d = await run(caget, ioc.ca.udpPort, ["-d", "DBR_DOUBLE", "-#", "3", "t:utf.DESC$"]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /Native data type: DBF_CHAR\n/);
  assert.match(d.stdout, /Value: +-61 -125 -62\n/);
  const s = await run(caget, ioc.ca.udpPort, ["-S", "t:utf.DESC$"]);
  assert.equal(s.stdout, "t:utf.DESC$ \\xc3\\x83\\xc2\\xa9x\n");
  const env = { EPICS_PVA_ADDR_LIST: `127.0.0.1:${ioc.pva.udpPort}` };
  const g = await run(pvget, 0, ["-v", "t:utf.DESC$"], env);
  assert.equal(g.code, 0, g.stderr);
  assert.match(g.stdout, /value int8_t\[\] = \{6\}\[-61, -125, -62, -87, 120, 0\]\n/);
  // Text puts still write the bytes: the signed chars are the same UTF-8.
  const p = await run(caput, ioc.ca.udpPort, ["-S", "t:utf.DESC$", "\u00b5A"]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(ioc.db.getField("t:utf.DESC"), "\u00b5A");
  const q = await run(pvput, 0, ["t:utf.DESC$", "[65,-61,-87,0]"], env);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(ioc.db.getField("t:utf.DESC"), "A\u00e9");
});

Deno.test("an lsi never written serves VAL$ over PVA with no elements, as softIocPVA", async () => {
  await using ioc = await startIoc();
  const env = { EPICS_PVA_ADDR_LIST: `127.0.0.1:${ioc.pva.udpPort}` };
  const g = await run(pvget, 0, ["-M", "json", "t:lsi.VAL$"], env);
  assert.equal(g.code, 0, g.stderr);
  assert.match(g.stdout, /^t:lsi\.VAL\$ \{value:\[\],/);
  // Over CA the channel still has SIZV elements, all NUL (softIoc: 40 0 0 ...).
  const c = await run(caget, ioc.ca.udpPort, ["-#", "0", "t:lsi.VAL$"]);
  assert.equal(c.stdout, `t:lsi.VAL$ 40${" 0".repeat(40)}\n`);
});

Deno.test("pvget over PVA sees the record as NTScalar with display and valueAlarm", async () => {
  await using ioc = await startIoc();
  await ioc.db.putField("t:ao", 2);
  const r = await run(pvget, 0, ["-v", "t:ai"], {
    EPICS_PVA_ADDR_LIST: `127.0.0.1:${ioc.pva.udpPort}`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /value double = 2\n/);
  assert.match(r.stdout, /display.units string = "mm"/);
  assert.match(r.stdout, /display.description string = "position"/);
  assert.match(r.stdout, /valueAlarm.highAlarmLimit double = 4\n/);
  // QSRV's layout: the severities and hysteresis are never filled (softIocPVA shows 0).
  assert.match(r.stdout, /valueAlarm.highAlarmSeverity int32_t = 0\n/);
  assert.match(r.stdout, /valueAlarm.hysteresis int8_t = 0\n/);
  assert.match(r.stdout, /alarm.message string = "NO_ALARM"\n/);
  const env = { EPICS_PVA_ADDR_LIST: `127.0.0.1:${ioc.pva.udpPort}` };
  const e = await run(pvget, 0, ["t:bi"], env);
  assert.match(e.stdout, /t:bi .*\(1\) On/);
  // A PVA put processes the record and its FLNK chain, as QSRV's puts do.
  const p = await run(pvput, 0, ["t:ao", "4.5"], env);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(ioc.db.getField("t:ai"), 4.5);
  assert.equal(ioc.db.getField("t:ai.SEVR"), 2);
});

const PY_SCRIPT = `
import json, sys, time, epics
out = {}
out["ai"] = epics.caget("t:ai", timeout=5)
out["egu"] = epics.caget("t:ai.EGU", timeout=5)
out["scan"] = epics.caget("t:ai.SCAN", as_string=True, timeout=5)
out["bi"] = epics.caget("t:bi", as_string=True, timeout=5)
out["wf"] = list(epics.caget("t:wf", timeout=5))
seen = []
pv = epics.PV("t:ai", auto_monitor=True)
pv.wait_for_connection(5)
pv.add_callback(lambda value=None, **kw: seen.append(value))
epics.caput("t:ao", 1.25, wait=True, timeout=5)
t0 = time.time()
while 1.25 not in seen and time.time() - t0 < 10:
    time.sleep(0.05)
out["seen"] = seen
out["ctrl"] = epics.ca.get_ctrlvars(pv.chid)["units"]
out["after"] = epics.caget("t:ai", timeout=5)
print("RESULT " + json.dumps(out))
`;

Deno.test({
  name: pyepicsTestName(
    "pyepics (real libca) reads fields, puts with callback and monitors a chain",
  ),
  ignore: PYEPICS_IGNORED,
  async fn() {
    await using ioc = await startIoc();
    const r = await runPyepics(PY_SCRIPT, ioc.caEnv) as { seen: number[]; [k: string]: unknown };
    assert.equal(r.ai, 0);
    assert.equal(r.egu, "mm");
    assert.equal(r.scan, "Passive");
    assert.equal(r.bi, "On");
    assert.deepEqual(r.wf, [1.5, 2.5, 3.5]);
    assert.ok(r.seen.includes(1.25), JSON.stringify(r.seen));
    assert.equal(r.ctrl, "mm");
    assert.equal(r.after, 1.25);
  },
});

Deno.test("CA links to another IOC: CP input follows it, outputs and FLNK write to it", async () => {
  await using ioc = await startIoc();
  await using ctx = new CaContext({
    config:
      epicsConfigFrom({ ...LOOPBACK_ENV, EPICS_CA_ADDR_LIST: `127.0.0.1:${ioc.ca.udpPort}` }).ca,
    repeater: false,
  });
  const db = new IocDatabase({ remoteLinks: caLinkFactory(ctx) });
  db.load([
    rec("ai", "r:in", { INP: "t:ai CP MS" }),
    rec("ao", "r:out", { OUT: "t:ao PP" }),
    rec("stringin", "r:s", { INP: "t:si CA" }),
  ]);
  db.init();
  try {
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(f());
    };
    await until(() => db.remoteConnected(db.record("r:out")!, "OUT"));
    await db.putField("r:out", 4.5);
    // t:ao's FLNK processes t:ai, whose monitor processes r:in (CP) with MS: HIHI 4 -> MAJOR.
    await until(() => db.getField("r:in") === 4.5);
    assert.equal(db.getField("r:in.SEVR"), 2);
    await until(() => db.remoteConnected(db.record("r:s")!, "INP"));
    db.process(db.record("r:s")!);
    await until(() => {
      db.process(db.record("r:s")!);
      return db.getField("r:s") === "hello";
    });
  } finally {
    db.close();
  }
});

Deno.test("ACF access security: writes allowed per user, refused for others, over CA", async () => {
  const { parseAcf, accessFor } = await import("../lib/ioc/parse/mod.ts");
  const { acf, errors } = parseAcf(
    "UAG(ops) { alice }\nASG(DEFAULT) { RULE(1, READ) }\nASG(OPS) { RULE(1, WRITE) { UAG(ops) } }\n",
    { file: "t.acf" },
  );
  assert.deepEqual(errors, []);
  const db = new IocDatabase({
    access: (asg, asl, user, host) => accessFor(acf, asg, asl, user, host),
  });
  db.load([rec("ao", "s:ops", { ASG: "OPS" }), rec("ao", "s:any")]);
  db.init();
  await using ioc = await serveIoc(db);
  {
    const config = epicsConfigFrom(ioc.caEnv).ca;
    for (const [user, opsOk] of [["alice", true], ["bob", false]] as const) {
      await using ctx = new CaContext({ config, user, host: "localhost", repeater: false });
      const ops = ctx.channel("s:ops");
      const any = ctx.channel("s:any");
      await ops.connected(5);
      await any.connected(5);
      assert.equal(ops.access.write, opsOk, user);
      assert.equal(any.access.write, false, user);
      if (opsOk) {
        await ops.put(3, { wait: true });
        assert.equal(db.getField("s:ops"), 3);
      } else await assert.rejects(() => ops.put(4, { wait: true }));
    }
    assert.equal(db.getField("s:ops"), 3);
  }
});

/** The first element a CA get returned, as a number. */
function first(r: { data: { value: unknown } }): number {
  const v = r.data.value;
  return Number(typeof v === "object" && v !== null ? (v as ArrayLike<number>)[0] : v);
}

Deno.test("ACF NONE refuses reads over CA and PVA; READ reads but cannot write", async () => {
  const { parseAcf, accessFor } = await import("../lib/ioc/parse/mod.ts");
  const { PvaClient } = await import("../lib/pva/client/client.ts");
  const { acf, errors } = parseAcf(
    "UAG(ops) { alice }\nUAG(staff) { alice, bob }\nUAG(out) { eve }\n" +
      "ASG(DEFAULT) { RULE(1, WRITE) }\n" +
      "ASG(SEC) { RULE(1, READ) { UAG(staff) }\n RULE(1, WRITE) { UAG(ops) }\n" +
      " RULE(1, NONE) { UAG(out) } }\n",
    { file: "t.acf" },
  );
  assert.deepEqual(errors, []);
  // Rules only grant: eve, matching the NONE rule and no other, gets no access at all.
  const db = new IocDatabase({
    access: (asg, asl, user, host) => accessFor(acf, asg, asl, user, host),
  });
  db.load([rec("ao", "s:sec", { ASG: "SEC", VAL: "1.5" }), rec("ao", "s:open", { VAL: "2" })]);
  db.init();
  await using ioc = await serveIoc(db);
  {
    const config = epicsConfigFrom(ioc.caEnv).ca;
    const pvaEnv = ioc.pvaEnv;
    const cases = [
      ["eve", false, false],
      ["bob", true, false],
      ["alice", true, true],
    ] as const;
    for (const [user, read, write] of cases) {
      await using ctx = new CaContext({ config, user, host: "localhost", repeater: false });
      const sec = ctx.channel("s:sec");
      const open = ctx.channel("s:open");
      await sec.connected(5);
      await open.connected(5);
      assert.deepEqual(sec.access, { read, write }, user);
      // The default group is unchanged: everyone reads and writes.
      assert.deepEqual(open.access, { read: true, write: true }, user);
      if (read) assert.equal(first(await sec.get()), 1.5, user);
      else await assert.rejects(() => sec.get(), /no read access/, user);
      assert.equal(first(await open.get()), 2, user);

      await using pc = new PvaClient({ env: pvaEnv, user, host: "localhost" });
      if (read) {
        const v = await pc.get("s:sec", { timeout: 5 });
        assert.equal(v.get("value"), 1.5, user);
      } else {
        await assert.rejects(() => pc.get("s:sec", { timeout: 5 }), /No read access/, user);
        const failed = Promise.withResolvers<Error>();
        const sub = pc.monitor("s:sec", (ev) => {
          if (ev.kind === "error") failed.resolve(ev.error);
          if (ev.kind === "data") failed.reject(new Error("monitor got data"));
        });
        assert.match((await failed.promise).message, /No read access/);
        await sub.close();
      }
      if (!write) {
        await assert.rejects(() => pc.put("s:sec", 9, { timeout: 5 }), Error, user);
      }
    }
    assert.equal(db.getField("s:sec"), 1.5);
  }
});

Deno.test("CA DBR_PUT_ACKT / DBR_PUT_ACKS acknowledge a record's alarm and post DBE_ALARM", async () => {
  const { Dbr, Dbe } = await import("../lib/ca/proto/constants.ts");
  const db = new IocDatabase();
  db.load([rec("ao", "k:ao", { HIHI: "5", HHSV: "MAJOR" })]);
  db.init();
  await using ioc = await serveIoc(db);
  {
    const config = epicsConfigFrom(ioc.caEnv).ca;
    await using ctx = new CaContext({ config, user: "u", host: "localhost", repeater: false });
    const ch = ctx.channel("k:ao");
    await ch.connected(5);
    await ch.put(7, { wait: true });
    assert.equal(db.getField("k:ao.SEVR"), 2);
    assert.equal(db.getField("k:ao.ACKS"), 2);
    assert.equal(db.getField("k:ao.ACKT"), 1);
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 500 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(f());
    };
    let alarms = 0;
    const sub = ch.subscribe({ mask: Dbe.ALARM }, () => alarms++);
    await until(() => alarms === 1);
    // A lower severity does not acknowledge; the alarm's own severity does.
    await ch.put(1, { dbrType: Dbr.PUT_ACKS, wait: true });
    assert.equal(db.getField("k:ao.ACKS"), 2);
    await ch.put(2, { dbrType: Dbr.PUT_ACKS, wait: true });
    assert.equal(db.getField("k:ao.ACKS"), 0);
    await until(() => alarms === 2);
    // Back in alarm: ACKS rises again; ACKT off lowers ACKS to the current severity.
    await ch.put(0, { wait: true });
    await ch.put(8, { wait: true });
    await ch.put(0, { wait: true });
    assert.equal(db.getField("k:ao.ACKS"), 2);
    assert.equal(db.getField("k:ao.SEVR"), 0);
    await ch.put(0, { dbrType: Dbr.PUT_ACKT, wait: true });
    assert.equal(db.getField("k:ao.ACKT"), 0);
    assert.equal(db.getField("k:ao.ACKS"), 0);
    sub.cancel();
  }
});
