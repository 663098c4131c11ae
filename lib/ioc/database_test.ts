import assert from "node:assert/strict";

const assertEquals = (a: unknown, b: unknown) => assert.deepStrictEqual(a, b);
const assertRejects = (f: () => Promise<unknown>) => assert.rejects(f);
function assertThrows<E extends Error>(f: () => unknown, cls: new (...a: never[]) => E): E {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof cls, String(e));
    return e as E;
  }
  throw new Error("expected an exception");
}
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { PvChange } from "../pv/types.ts";
import { IocDatabase, IocInitError, type RecordDef } from "./database.ts";
import type { DeviceSupport } from "./types.ts";
import { rec } from "./_testing.ts";

function start(defs: RecordDef[], devices: DeviceSupport[] = []): IocDatabase {
  const db = new IocDatabase({ devices, clock: () => 1e12 });
  const errors = db.load(defs);
  if (errors.length) throw errors[0];
  db.init();
  return db;
}

const opts = { permissions: "none" } as const;

Deno.test(
  { ...opts, name: "ao FLNK ai: a put processes the chain and reads through the link" },
  async () => {
    using db = disposable(start([rec("ao", "x", { FLNK: "y" }), rec("ai", "y", { INP: "x" })]));
    await db.putField("x", 4.5);
    assertEquals(db.getField("y"), 4.5);
    assertEquals(db.getField("y.UDF"), 0);
    assertEquals(db.getField("y.SEVR"), 0);
  },
);

Deno.test({ ...opts, name: "ai alarm limits with hysteresis" }, async () => {
  using db = disposable(start([
    rec("ai", "t", { HIHI: "10", HIGH: "5", HHSV: "MAJOR", HSV: "MINOR", HYST: "1" }),
  ]));
  const set = async (v: number) => {
    await db.putField("t", v);
    return [db.getField("t.SEVR"), db.getField("t.STAT")];
  };
  // VAL is pp(TRUE): a put processes the soft ai (constant INP keeps the put value).
  assertEquals(await set(3), [0, 0]);
  assertEquals(await set(6), [AlarmSeverity.MINOR, AlarmStatus.HIGH]);
  assertEquals(await set(11), [AlarmSeverity.MAJOR, AlarmStatus.HIHI]);
  assertEquals(await set(9.5), [AlarmSeverity.MAJOR, AlarmStatus.HIHI]); // within HYST
  assertEquals(await set(8.5), [AlarmSeverity.MINOR, AlarmStatus.HIGH]);
  assertEquals(await set(1), [0, 0]);
});

Deno.test(
  { ...opts, name: "Raw Soft Channel ai converts RVAL with ASLO/AOFF and LINR SLOPE" },
  () => {
    using db = disposable(start([
      rec("longout", "raw", { VAL: "100" }),
      rec("ai", "conv", {
        DTYP: "Raw Soft Channel",
        INP: "raw",
        ASLO: "2",
        AOFF: "1",
        LINR: "SLOPE",
        ESLO: "0.5",
        EOFF: "-3",
      }),
    ]));
    db.process(db.record("conv")!);
    // ((100 + 0) * 2 + 1) * 0.5 - 3
    assertEquals(db.getField("conv"), 97.5);
  },
);

Deno.test(
  { ...opts, name: "MDEL/ADEL decide DBE_VALUE and DBE_LOG; alarm changes add DBE_ALARM" },
  async () => {
    using db = disposable(
      start([rec("ai", "m", { MDEL: "1", ADEL: "5", HIGH: "20", HSV: "MINOR" })]),
    );
    const masks: number[] = [];
    const r = db.record("m")!;
    db.watch(r, "VAL", (m) => masks.push(m));
    for (const v of [0.5, 1.6, 2.0, 7, 25]) await db.putField("m", v);
    const V = PvChange.VALUE, L = PvChange.LOG, A = PvChange.ALARM;
    // The first processing clears the UDF alarm.
    assertEquals(masks, [A, V, V | L, V | L | A]);
  },
);

Deno.test(
  { ...opts, name: "PP input link processes a passive source; MS carries its severity" },
  () => {
    let n = 0;
    const counter: DeviceSupport = {
      dtyp: "counter",
      io(rec) {
        rec.f.VAL = ++n;
        rec.f.UDF = 0;
        return "noConvert";
      },
    };
    using db = disposable(start([
      rec("ai", "src", { DTYP: "counter", HIGH: "2", HSV: "MINOR" }),
      rec("ai", "pp", { INP: "src PP MS" }),
      rec("ai", "npp", { INP: "src NPP NMS" }),
    ], [counter]));
    db.process(db.record("pp")!);
    assertEquals(db.getField("pp"), 1);
    db.process(db.record("npp")!);
    assertEquals(db.getField("npp"), 1);
    db.process(db.record("pp")!);
    assertEquals(db.getField("pp"), 2);
    assertEquals([db.getField("pp.SEVR"), db.getField("pp.STAT")], [1, AlarmStatus.LINK]);
    db.process(db.record("npp")!);
    assertEquals(db.getField("npp.SEVR"), 0);
  },
);

Deno.test({
  ...opts,
  name: "asynchronous device: PACT is set and the put resolves when the chain is done",
}, async () => {
  const waiting: (() => void)[] = [];
  const slow: DeviceSupport = {
    dtyp: "slow",
    io: () => new Promise<void>((r) => waiting.push(r)),
  };
  using db = disposable(start([
    rec("ao", "a", { DTYP: "slow", FLNK: "b" }),
    rec("ao", "b", { DTYP: "slow", OMSL: "closed_loop", DOL: "a" }),
  ], [slow]));
  let done = false;
  const put = db.putField("a", 3).then(() => (done = true));
  assertEquals(db.getField("a.PACT"), 1);
  await Promise.resolve();
  assert(!done);
  waiting.shift()!();
  // a completes, its FLNK starts b, which goes asynchronous too.
  while (waiting.length === 0) await new Promise((r) => setTimeout(r, 0));
  assertEquals(db.getField("a.PACT"), 0);
  assertEquals(db.getField("b.PACT"), 1);
  assert(!done);
  waiting.shift()!();
  await put;
  assertEquals(db.getField("b"), 3);
});

Deno.test({ ...opts, name: "load errors name file and line; iocInit lists every problem" }, () => {
  const db = new IocDatabase();
  const errors = db.load([
    rec("ai", "a", { NOPE: "1" }, 3),
    rec("ai", "b", { SCAN: "sometimes" }, 7),
    rec("nosuch", "c", {}, 9),
    rec("ai", "d", { INP: "a.XYZ" }, 11),
  ]);
  assertEquals(errors.map((e) => e.line), [3, 7, 9]);
  assert(errors[0].message.includes('"t.db" at line 3'), errors[0].message);
  assert(errors[0].message.includes("NOPE"));
  const e = assertThrows(() => db.init(), IocInitError);
  assertEquals(e.errors.length, 4);
  assert(e.message.includes("XYZ"));
});

Deno.test({ ...opts, name: "re-opened records merge; aliases resolve" }, () => {
  const db = new IocDatabase();
  db.load([rec("ai", "a", { EGU: "mm" }), { ...rec("*", "a", { PREC: "3" }), aliases: ["b"] }]);
  db.init();
  assertEquals(db.getField("b.EGU"), "mm");
  assertEquals(db.getField("a.PREC"), 3);
  const bad = db.load([rec("ai", "x")]);
  assertEquals(bad.length, 1);
  db.close();
});

Deno.test({ ...opts, name: "bi/mbbi state alarms and COS; bo IVOA" }, async () => {
  using db = disposable(start([
    rec("bi", "b", { ZNAM: "Off", ONAM: "On", OSV: "MAJOR", COSV: "MINOR" }),
    rec("mbbi", "m", { ZRST: "a", ONST: "b", TWST: "c", TWSV: "MINOR", UNSV: "INVALID" }),
  ]));
  await db.putField("b", 1);
  assertEquals([db.getField("b.SEVR"), db.getField("b.STAT")], [2, AlarmStatus.STATE]);
  await db.putField("b", 0);
  assertEquals([db.getField("b.SEVR"), db.getField("b.STAT")], [1, AlarmStatus.COS]);
  await db.putField("m", "c");
  assertEquals([db.getField("m"), db.getField("m.SEVR")], [2, 1]);
  assertEquals(db.fieldText(db.record("m")!, "VAL"), "c");
  await assertRejects(() => db.putField("m", "zz"));
});

Deno.test({ ...opts, name: "fanout, dfanout, seq and sel" }, async () => {
  using db = disposable(start([
    rec("dfanout", "df", { OUTA: "o1 PP", OUTB: "o2" }),
    rec("ao", "o1"),
    rec("ao", "o2"),
    rec("fanout", "fo", { LNK0: "c1", LNK1: "c2" }),
    rec("longin", "c1", { INP: "5" }),
    rec("longin", "c2", { INP: "6" }),
    rec("seq", "sq", { DOL0: "7", LNK0: "o2 PP", DOL1: "c2", LNK1: "o1" }),
    rec("sel", "se", { SELM: "High Signal", INPA: "1", INPB: "4", INPC: "2" }),
  ]));
  await db.putField("df", 2.5);
  assertEquals([db.getField("o1"), db.getField("o2")], [2.5, 2.5]);
  db.process(db.record("fo")!);
  assertEquals([db.getField("c1.UDF"), db.getField("c2.UDF")], [0, 0]);
  db.process(db.record("sq")!);
  assertEquals([db.getField("o2"), db.getField("o1")], [7, 6]);
  db.process(db.record("se")!);
  assertEquals(db.getField("se"), 4);
});

Deno.test(
  { ...opts, name: "waveform from a constant array; subArray picks elements" },
  async () => {
    using db = disposable(start([
      rec("waveform", "w", { FTVL: "LONG", NELM: "5", INP: "[1,2,3]" }),
      rec("subArray", "s", { FTVL: "DOUBLE", MALM: "5", NELM: "2", INDX: "1", INP: "w" }),
    ]));
    assertEquals(db.getField("w.NORD"), 3);
    assertEquals(Array.from(db.getField("w") as Int32Array), [1, 2, 3, 0, 0]);
    db.process(db.record("s")!);
    assertEquals(Array.from((db.getField("s") as Float64Array).slice(0, 2)), [2, 3]);
    await db.putField("w", new Int32Array([9, 8]));
    assertEquals(db.getField("w.NORD"), 2);
  },
);

Deno.test(
  { ...opts, name: "CP input link processes the record when the source changes" },
  async () => {
    using db = disposable(start([rec("ao", "src"), rec("ai", "dst", { INP: "src CP" })]));
    await db.putField("src", 12);
    await new Promise((r) => setTimeout(r, 0));
    assertEquals(db.getField("dst"), 12);
  },
);

Deno.test(
  { ...opts, name: "disable: DISA == DISV puts the record in DISABLE with DISS" },
  async () => {
    using db = disposable(start([rec("ai", "d", { DISV: "1", DISS: "MINOR" })]));
    await db.putField("d.DISA", 1);
    db.process(db.record("d")!);
    assertEquals([db.getField("d.STAT"), db.getField("d.SEVR")], [AlarmStatus.DISABLE, 1]);
  },
);

Deno.test({ ...opts, name: "printf, stringout and lso" }, async () => {
  using db = disposable(start([
    rec("printf", "p", { FMT: "v=%.1f s=%s", INP0: "a", INP1: "so" }),
    rec("ao", "a", { VAL: "2.3" }),
    rec("stringout", "so", { VAL: "hi" }),
    rec("lso", "l", { SIZV: "100" }),
  ]));
  db.process(db.record("p")!);
  assertEquals(db.getField("p"), "v=2.3 s=hi");
  const long = "x".repeat(80);
  await db.putField("l", long);
  assertEquals([db.getField("l"), db.getField("l.LEN")], [long, 81]);
  // Too long for the field: cut, as softIoc's dbpf cuts it.
  await db.putField("l", "y".repeat(105));
  assertEquals([db.getField("l"), db.getField("l.LEN")], ["y".repeat(99), 100]);
  await db.putField("so", "z".repeat(43));
  assertEquals(db.getField("so"), "z".repeat(39));
});

Deno.test(
  { ...opts, name: "SPC_NOMOD fields refuse puts; menus accept strings and indexes" },
  async () => {
    using db = disposable(start([rec("ai", "a")]));
    await assertRejects(() => db.putField("a.SEVR", 1));
    await db.putField("a.SCAN", "Event");
    assertEquals(db.getField("a.SCAN"), 1);
    await db.putField("a.SCAN", 0);
    assertEquals(db.getField("a.SCAN"), 0);
    await assertRejects(() => db.putField("a.SCAN", 99));
  },
);

function disposable(db: IocDatabase): IocDatabase & Disposable {
  return Object.assign(db, { [Symbol.dispose]: () => db.close() });
}

Deno.test(
  { ...opts, name: "calc chain: inputs A..L, CALC result, bad expressions refused" },
  async () => {
    using db = disposable(start([
      rec("ao", "in"),
      rec("calc", "c", { INPA: "in CP", INPB: "3", CALC: "A*B+1", FLNK: "co" }),
      rec("calcout", "co", {
        INPA: "c",
        CALC: "A>10",
        OOPT: "Transition To Non-zero",
        DOPT: "Use OCAL",
        OCAL: "A/2",
        OUT: "out PP",
      }),
      rec("ao", "out"),
    ]));
    await db.putField("in", 2);
    await new Promise((r) => setTimeout(r, 0));
    assertEquals(db.getField("c"), 7);
    assertEquals(db.getField("out"), 0);
    await db.putField("in", 5);
    await new Promise((r) => setTimeout(r, 0));
    assertEquals([db.getField("c"), db.getField("co"), db.getField("out")], [16, 1, 8]);
    await assertRejects(() => db.putField("c.CALC", "A+"));
    assertEquals(db.getField("c.CALC"), "A+");
  },
);

Deno.test({ ...opts, name: "calcout ODLY delays the output asynchronously" }, async () => {
  using db = disposable(start([
    rec("calcout", "d", { CALC: "A+1", INPA: "41", ODLY: "0.01", OUT: "o" }),
    rec("ao", "o"),
  ]));
  db.process(db.record("d")!);
  assertEquals([db.getField("d.PACT"), db.getField("d.DLYA")], [1, 1]);
  await db.putField("d.PROC", 1);
  assertEquals(db.getField("o"), 42);
  assertEquals(db.getField("d.PACT"), 0);
});

Deno.test({ ...opts, name: "TSEL takes another record's time stamp" }, () => {
  let now = 1e12;
  const db = new IocDatabase({ clock: () => now });
  db.load([rec("ai", "src"), rec("ai", "t", { TSEL: "src.TIME" })]);
  db.init();
  db.process(db.record("src")!);
  now += 5000;
  db.process(db.record("t")!);
  assertEquals(db.record("t")!.time, db.record("src")!.time);
  db.close();
});

Deno.test(
  { ...opts, name: "alarm fields are posted before VAL; disabling posts STAT, SEVR, VAL" },
  async () => {
    using db = disposable(start([
      rec("ai", "O:ai", { HIHI: "10", HHSV: "MAJOR", VAL: "1" }),
      rec("bo", "O:dis"),
      rec("ai", "O:d", { SDIS: "O:dis", DISV: "1", DISS: "MINOR" }),
    ]));
    await db.putField("O:ai.PROC", 1);
    const seen: string[] = [];
    const watch = (name: string, field: string) =>
      db.watch(db.record(name)!, field, (m) => seen.push(`${field} ${m}`));
    for (const f of ["VAL", "SEVR", "STAT", "AMSG", "ACKS"]) watch("O:ai", f);
    const V = PvChange.VALUE, L = PvChange.LOG, A = PvChange.ALARM;
    // The order softIoc 7.0.8.1's camonitor shows them in (one circuit), with base's masks.
    await db.putField("O:ai", 20);
    assertEquals(seen, [
      `SEVR ${V}`,
      `STAT ${A | V}`,
      `AMSG ${A | V}`,
      `ACKS ${V}`,
      `VAL ${V | L | A}`,
    ]);
    seen.length = 0;
    for (const f of ["VAL", "SEVR", "STAT"]) watch("O:d", f);
    await db.putField("O:dis", 1);
    await db.putField("O:d.PROC", 1);
    assertEquals(seen, [`STAT ${V}`, `SEVR ${V}`, `VAL ${V | A}`]);
  },
);

Deno.test({
  ...opts,
  name: "TPRO prints base's trace lines for the record and what it processes, naming who",
}, async () => {
  const lines: string[] = [];
  const db = new IocDatabase({ clock: () => 1e12, print: (t) => lines.push(t) });
  db.load([
    rec("ao", "t:ev", { SCAN: "Event", EVNT: "5", TPRO: "1", FLNK: "t:b" }),
    rec("calc", "t:b", { CALC: "1" }),
    rec("ao", "t:put", { TPRO: "1", OUT: "t:b PP" }),
    rec("ao", "t:dis", { TPRO: "1", DISV: "0" }),
    rec("ao", "t:quiet", { FLNK: "t:b" }),
  ]);
  db.init();
  // What softIoc 7.0.8.1 printed for the same records (postEvent, dbpf, a caput).
  db.postEvent("5");
  await db.putField("t:put", 1);
  await db.putField("t:dis", 1);
  await db.putField("t:put", 3, { protocol: "ca", user: "root", host: "vm" });
  await db.putField("t:quiet", 1);
  assertEquals(lines, [
    "cbLow: dbProcess of 't:ev'\n",
    "cbLow: dbProcess of 't:b'\n",
    "_main_: dbProcess of 't:put'\n",
    "_main_: dbProcess of 't:b'\n",
    "_main_: dbProcess of Disabled 't:dis'\n",
    "ca:root@vm: dbProcess of 't:put'\n",
    "ca:root@vm: dbProcess of 't:b'\n",
  ]);
  db.close();
});

Deno.test(
  {
    ...opts,
    name: "calcout ODLY: DLYA posted as the delay starts and ends, VAL after it, PACT never",
  },
  async () => {
    let now = 1e12;
    const db = new IocDatabase({ clock: () => now });
    db.load([
      rec("calcout", "co", { CALC: "A+1", ODLY: "0.02", OUT: "tgt PP", FLNK: "fl" }),
      rec("ao", "tgt"),
      rec("calc", "fl", { CALC: "VAL+1" }),
    ]);
    db.init();
    using _ = disposable(db);
    const co = db.record("co")!;
    const seen: string[] = [];
    for (const f of ["DLYA", "PACT", "VAL", "PVAL"]) {
      db.watch(co, f, (m) => seen.push(`${f}=${co.f[f]} ${m} @${co.time.secPastEpoch}`));
    }
    const t0 = co.time.secPastEpoch;
    // What base's camonitor of co, co.PACT, co.DLYA, co.PVAL showed (softIoc 7.0.8.1):
    // DLYA 1 at once, stamped; then DLYA 0, tgt, VAL, fl after ODLY, stamped anew.
    let done = false;
    const put = db.putField("co.PROC", 1).then(() => (done = true));
    const t1 = co.time.secPastEpoch;
    assert.notEqual(t1, t0);
    assertEquals(seen, [`DLYA=1 ${PvChange.VALUE} @${t1}`]);
    assertEquals([co.f.PACT, db.getField("tgt"), db.getField("fl"), co.f.VAL], [1, 0, 0, 1]);
    now += 2000;
    await new Promise((r) => setTimeout(r, 5));
    assertEquals(done, false);
    await put;
    const t2 = co.time.secPastEpoch;
    assertEquals(t2, t1 + 2);
    const V = PvChange.VALUE, L = PvChange.LOG, A = PvChange.ALARM;
    assertEquals(seen, [
      `DLYA=1 ${V} @${t1}`,
      `DLYA=0 ${V} @${t2}`,
      `VAL=1 ${V | L | A} @${t2}`,
    ]);
    assertEquals([co.f.PACT, db.getField("tgt"), db.getField("fl")], [0, 1, 1]);
  },
);

Deno.test(
  { ...opts, name: "an active record processed again: LCNT, then SCAN/INVALID at the 11th" },
  () => {
    using db = disposable(start([
      rec("sub", "sb", { VAL: "1" }),
      rec("calc", "drv", { FLNK: "sb" }),
    ]));
    const sb = db.record("sb")!;
    const seen: string[] = [];
    for (const f of ["VAL", "SEVR", "STAT", "AMSG", "LCNT"]) {
      db.watch(sb, f, (m) => seen.push(`${f}=${sb.f[f]} ${m}`));
    }
    // A sub without SNAM stays active (PACT) from iocInit on. softIoc 7.0.8.1: LCNT read
    // 1..11 after each of 12 processings of drv, then stays; the alarm came at the 11th.
    const lcnt: number[] = [];
    for (let i = 0; i < 12; i++) {
      db.process(db.record("drv")!);
      lcnt.push(sb.f.LCNT as number);
    }
    assertEquals(lcnt, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11]);
    const V = PvChange.VALUE, L = PvChange.LOG, A = PvChange.ALARM;
    assertEquals(seen, [
      `SEVR=3 ${V}`,
      `STAT=${AlarmStatus.SCAN} ${A | V}`,
      `AMSG=Async in progress ${A | V}`,
      `VAL=1 ${V | L | A}`,
    ]);
  },
);

Deno.test(
  { ...opts, name: "monitors: only the fields base's record supports post (softIoc 7.0.8.1)" },
  async () => {
    using db = disposable(start([
      rec("ao", "ao1", { OUT: "ai1 PP", LINR: "SLOPE", ESLO: "2", DTYP: "Raw Soft Channel" }),
      rec("ai", "ai1", { DTYP: "Raw Soft Channel", INP: "ao1.RVAL", LINR: "SLOPE", ESLO: "0.5" }),
      rec("waveform", "wf1", { NELM: "4", FTVL: "DOUBLE", INP: "src CP" }),
      rec("aai", "aai1", { NELM: "4", FTVL: "DOUBLE", INP: "src CP" }),
      rec("waveform", "src", { NELM: "4", FTVL: "DOUBLE" }),
      rec("subArray", "sa1", { MALM: "4", NELM: "2", FTVL: "DOUBLE", INP: "src CP" }),
      rec("mbbiDirect", "mbd1", { INP: "ao1 CP" }),
      rec("sel", "sel1", { INPA: "ao1 CP", SELM: "High Signal" }),
      rec("longin", "li1", { INP: "ao1 CP" }),
    ]));
    const watched: Record<string, string[]> = {
      ao1: ["VAL", "MLST", "ALST", "LALM", "ORAW", "RVAL", "OVAL", "PVAL"],
      ai1: ["VAL", "RVAL", "ORAW", "MLST"],
      wf1: ["VAL", "NORD"],
      aai1: ["NORD"],
      sa1: ["VAL", "NORD"],
      mbd1: ["VAL", "B0", "B1", "MLST"],
      sel1: ["A", "SELN", "LA"],
      li1: ["MLST", "ALST"],
    };
    const settle = () => new Promise((r) => setTimeout(r, 0));
    // The CP links' first updates (which softIoc had done before camonitor connected).
    await settle();
    const seen: Record<string, string[]> = {};
    for (const [name, fields] of Object.entries(watched)) {
      const r = db.record(name)!;
      seen[name] = [];
      for (const f of fields) {
        db.watch(r, f, () => {
          const v = r.f[f];
          seen[name].push(
            `${f}=${typeof v === "object" ? `[${Array.from(v as ArrayLike<number>)}]` : v}`,
          );
        });
      }
    }
    await db.putField("ao1", 3);
    await settle();
    await db.putField("src", new Float64Array([1, 2, 3]));
    await settle();
    await db.putField("ao1", 3);
    await settle();
    await db.putField("ao1", 6);
    await settle();
    // What camonitor of the same fields showed from softIoc for the same puts.
    assertEquals(seen, {
      ao1: ["VAL=3", "OVAL=3", "RVAL=2", "VAL=6", "OVAL=6", "RVAL=3"],
      ai1: ["VAL=1", "RVAL=2", "VAL=1.5", "RVAL=3"],
      wf1: ["NORD=3", "NORD=3", "VAL=[1,2,3,0]"],
      aai1: ["NORD=3"],
      sa1: ["NORD=2", "VAL=[1,2,0,0]"],
      mbd1: ["B0=1", "B1=1", "VAL=3", "B0=0", "VAL=6"],
      sel1: ["A=3", "A=6"],
      li1: [],
    });
  },
);

Deno.test(
  { ...opts, name: "monitors: RVAL, bits, SELN, DOn, NUSE, LEN, A..L and OVAL as base posts" },
  async () => {
    using db = disposable(start([
      rec("ao", "d"),
      rec("bo", "bo1", { DOL: "d CP", OMSL: "closed_loop", ZNAM: "z", ONAM: "o", MASK: "4" }),
      rec("mbbo", "mbo1", {
        DOL: "d CP",
        OMSL: "closed_loop",
        ZRVL: "5",
        ONVL: "7",
        TWVL: "9",
        ZRST: "a",
      }),
      rec("mbboDirect", "mbod1", { DOL: "d CP", OMSL: "closed_loop" }),
      rec("seq", "seq1", { SELM: "All", DOL1: "d", LNK1: "x PP", SELL: "d CP" }),
      rec("ao", "x"),
      rec("fanout", "fo1", { SELM: "Specified", SELL: "d CP" }),
      rec("compress", "cmp1", { INP: "d CP", NSAM: "3", ALG: "Circular Buffer" }),
      rec("lsi", "lsi1", { INP: "so1 CP", SIZV: "40" }),
      rec("stringout", "so1"),
      rec("printf", "pf1", { FMT: "v=%d", INP0: "d CP" }),
      rec("calcout", "co2", { INPA: "d CP", CALC: "A", DOPT: "Use OCAL", OCAL: "A*10" }),
      rec("sel", "sl1", { INPA: "d CP", INPB: "d CP", NVL: "d", SELM: "Specified" }),
    ]));
    const watched: Record<string, string[]> = {
      bo1: ["VAL", "RVAL", "ORAW", "MLST"],
      mbo1: ["VAL", "RVAL"],
      mbod1: ["VAL", "B0", "B1", "B2", "RVAL", "OBIT"],
      seq1: ["VAL", "DO1", "SELN", "OLDN"],
      fo1: ["VAL", "SELN"],
      cmp1: ["VAL", "NUSE", "OUSE"],
      lsi1: ["VAL", "LEN", "OLEN"],
      pf1: ["VAL", "LEN"],
      co2: ["VAL", "OVAL", "POVL", "A", "LA"],
      sl1: ["VAL", "SELN", "NLST", "A", "B"],
    };
    const settle = () => new Promise((r) => setTimeout(r, 0));
    await settle();
    const seen: Record<string, string[]> = {};
    for (const [name, fields] of Object.entries(watched)) {
      const r = db.record(name)!;
      seen[name] = [];
      for (const f of fields) {
        db.watch(r, f, () => {
          const v = r.f[f];
          seen[name].push(typeof v === "object" ? f : `${f}=${v}`);
        });
      }
    }
    for (const v of [1, 1, 2, 0]) {
      await db.putField("d", v);
      await settle();
    }
    for (const v of ["hello", "hi"]) {
      await db.putField("so1", v);
      await settle();
    }
    // camonitor of the same fields on softIoc 7.0.8.1, for the same puts.
    assertEquals(seen, {
      bo1: ["VAL=1", "RVAL=4", "VAL=2", "VAL=0", "RVAL=0"],
      mbo1: ["VAL=1", "RVAL=7", "VAL=2", "RVAL=9", "VAL=0", "RVAL=5"],
      mbod1: [
        ...["VAL=1", "B0=1", "RVAL=1"],
        ...["VAL=2", "B0=0", "B1=1", "RVAL=2"],
        ...["VAL=0", "B1=0", "RVAL=0"],
      ],
      seq1: ["DO1=1", "DO1=2", "DO1=0"],
      fo1: ["SELN=1", "SELN=2", "SELN=0"],
      cmp1: ["NUSE=2", "VAL", "NUSE=3", "VAL", "VAL"],
      lsi1: ["LEN=6", "VAL=hello", "LEN=3", "VAL=hi"],
      pf1: ["VAL=v=1", "LEN=4", "VAL=v=2", "LEN=4", "VAL=v=0", "LEN=4"],
      co2: [
        ...["VAL=1", "A=1", "OVAL=10"],
        ...["VAL=2", "A=2", "OVAL=20"],
        ...["VAL=0", "A=0", "OVAL=0"],
      ],
      sl1: ["VAL=1", "SELN=1", "B=1", "VAL=NaN", "SELN=2", "VAL=0", "SELN=0"],
    });
  },
);

Deno.test(
  { ...opts, name: "output links cast out-of-range doubles into integer fields as base does" },
  async () => {
    using db = disposable(start([
      rec("ao", "a", { OUT: "lo PP" }),
      rec("longout", "lo"),
      rec("ao", "a2", { OUT: "uc.SHFT" }),
      rec("mbbiDirect", "uc"),
      rec("ao", "a3", { OUT: "i64 PP" }),
      rec("int64out", "i64"),
    ]));
    // caget of lo, uc.SHFT (USHORT), i64 and the writers' STAT on softIoc 7.0.8.1.
    const rows: [number, number, number, number][] = [
      [1e10, -2147483648, 0, 1e10],
      [3e9, -2147483648, 0, 3e9],
      [-5.7, -5, 65531, -5],
      [NaN, -2147483648, 0, -(2 ** 63)],
      [-1, -1, 65535, -1],
      [1e30, -2147483648, 0, -(2 ** 63)],
    ];
    for (const [v, lo, shft, i64] of rows) {
      for (const w of ["a", "a2", "a3"]) await db.putField(w, v);
      assertEquals(
        [db.getField("lo"), db.getField("uc.SHFT"), db.getField("i64")],
        [lo, shft, i64],
      );
      const stat = Number.isNaN(v) ? AlarmStatus.UDF : AlarmStatus.NO_ALARM;
      assertEquals(["a", "a2", "a3"].map((w) => db.getField(`${w}.STAT`)), [stat, stat, stat]);
    }
  },
);

Deno.test(
  { ...opts, name: "a put to the VAL of a scanned record neither processes nor posts it" },
  async () => {
    using db = disposable(start([
      rec("ao", "s", { SCAN: "Event", EVNT: "77" }),
      rec("stringout", "t", { SCAN: "Event", EVNT: "77" }),
    ]));
    const seen: string[] = [];
    for (const n of ["s", "t"]) {
      db.watch(db.record(n)!, "VAL", () => seen.push(n));
      db.watch(db.record(n)!, "UDF", () => seen.push(`${n}.UDF`));
    }
    // softIoc 7.0.8.1: camonitor s t s.UDF shows nothing after caput s 5 / caput t hi; the
    // values are there (caget), the records still in their UDF alarm (not processed).
    await db.putField("s", 5);
    await db.putField("t", "hi");
    assertEquals(seen.join(), "");
    assert.deepStrictEqual([db.getField("s"), db.getField("s.UDF"), db.getField("t")], [
      5,
      0,
      "hi",
    ]);
    assertEquals(db.getField("s.SEVR"), AlarmSeverity.INVALID);
    // The record's next processing posts the value.
    db.postEvent("77");
    assert.ok(seen.includes("s") && seen.includes("t"), String(seen));
  },
);
