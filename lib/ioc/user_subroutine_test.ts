import assert from "node:assert/strict";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { rec, startIoc } from "./_testing.ts";
import type { Subroutine } from "./types.ts";
import { type SubroutineView, userSubroutine } from "./user_subroutine.ts";
import { TsdevContext } from "./tsdev/tsdev.ts";

const opts = { permissions: "none" } as const;

const subs = (fns: Record<string, (r: SubroutineView) => unknown>): [string, Subroutine][] =>
  Object.entries(fns).map(([k, fn]) => [k, userSubroutine(fn)]);

// The first tests use the subroutines of tests/fixtures/ioc/usersub.c and usersub.ts, with
// the values softIoc 7.0.8.1 gave for them (loaded with dlload, see that file).

Deno.test({ ...opts, name: "user sub: A..L in, VAL out, INAM at init; statuses as base" }, () => {
  using db = startIoc([
    rec("ao", "x", { VAL: "2" }),
    rec("sub", "add", { INPA: "x", INPB: "3", SNAM: "addAB", INAM: "initSub" }),
    rec("sub", "neg", { INPA: "4", SNAM: "negStatus", BRSV: "MAJOR" }),
    rec("sub", "neg2", { INPA: "4", SNAM: "negStatus", BRSV: "MAJOR", VAL: "1" }),
    rec("sub", "pos", { SNAM: "posStatus" }),
  ], {
    subroutines: subs({
      addAB: (r) => void (r.VAL = r.A + r.B),
      negStatus: (r) => {
        r.VAL = r.A * 2;
        return -1;
      },
      posStatus: (r) => {
        r.VAL = 5;
        return 3;
      },
      initSub: (r) => void (r.C = 11),
    }),
  });
  // softIoc: VAL 0 and UDF 1 (nothing processed yet), C 11 from INAM.
  assert.deepEqual([db.getField("add"), db.getField("add.C"), db.getField("add.UDF")], [0, 11, 1]);
  db.process(db.record("add")!);
  assert.deepEqual([db.getField("add"), db.getField("add.SEVR"), db.getField("add.UDF")], [
    5,
    0,
    0,
  ]);
  // A negative status leaves VAL undefined: UDF/INVALID outranks SOFT/MAJOR (softIoc: 8, UDF).
  db.process(db.record("neg")!);
  assert.deepEqual([db.getField("neg"), db.getField("neg.STAT"), db.getField("neg.UDF")], [
    8,
    AlarmStatus.UDF,
    1,
  ]);
  db.process(db.record("neg2")!);
  assert.equal(db.getField("neg2.STAT"), AlarmStatus.SOFT);
  assert.equal(db.getField("neg2.SEVR"), AlarmSeverity.MAJOR);
  // A positive status is no alarm and defines VAL.
  db.process(db.record("pos")!);
  assert.deepEqual([db.getField("pos"), db.getField("pos.SEVR"), db.getField("pos.UDF")], [
    5,
    0,
    0,
  ]);
});

Deno.test(
  { ...opts, name: "user aSub: arrays and scalars by NOx, outputs by status" },
  async () => {
    using db = startIoc([
      rec("waveform", "wf", { FTVL: "DOUBLE", NELM: "4" }),
      rec("aSub", "sum", {
        SNAM: "asubSum",
        INAM: "asubInit",
        INPA: "wf",
        FTA: "DOUBLE",
        NOA: "4",
        FTVA: "DOUBLE",
        FTVB: "LONG",
        NOVB: "4",
        FTVC: "STRING",
        OUTA: "total PP",
        OUTB: "tens PP",
      }),
      rec("ai", "total"),
      rec("waveform", "tens", { FTVL: "LONG", NELM: "4" }),
      rec("ao", "code", { FLNK: "st" }),
      rec("aSub", "st", {
        SNAM: "asubStatus",
        INPA: "code",
        FTA: "DOUBLE",
        FTVA: "DOUBLE",
        OUTA: "stout PP",
        BRSV: "MINOR",
      }),
      rec("ai", "stout"),
    ], {
      subroutines: subs({
        asubSum: (r) => {
          const a = r.A as Float64Array;
          assert.ok(a instanceof Float64Array);
          r.VALA = a.reduce((s, x) => s + x, 0);
          r.VALB = a.map((x) => x * 10);
        },
        asubStatus: (r) => {
          assert.equal(typeof r.A, "number");
          r.VALA = r.A + 100;
          return r.A;
        },
        asubInit: (r) => void (r.VALC = "init"),
      }),
    });
    assert.deepEqual(db.getField("sum.VALC"), ["init"]);
    await db.putField("wf", [1, 2, 3] as unknown as string);
    await db.putField("sum.PROC", 1);
    // softIoc: VAL 0, total 6, NEVA 1, NEVB 3, NEA 3, tens [10, 20, 30].
    assert.equal(db.getField("sum"), 0);
    assert.equal(db.getField("total"), 6);
    assert.deepEqual([db.getField("sum.NEVA"), db.getField("sum.NEVB"), db.getField("sum.NEA")], [
      1,
      3,
      3,
    ]);
    assert.deepEqual([...(db.getField("tens") as Int32Array)].slice(0, 3), [10, 20, 30]);
    assert.equal(db.getField("tens.NORD"), 3);
    const vala = () => (db.getField("st.VALA") as Float64Array)[0];
    // Status 0 writes the outputs, 2 does not (VAL 2, no alarm), -1 raises SOFT/BRSV.
    await db.putField("code", 0);
    assert.deepEqual([db.getField("st"), db.getField("stout"), vala()], [0, 100, 100]);
    await db.putField("code", 2);
    assert.deepEqual([db.getField("st"), db.getField("stout"), vala()], [2, 100, 102]);
    assert.equal(db.getField("st.SEVR"), 0);
    await db.putField("code", -1);
    assert.deepEqual([db.getField("st"), db.getField("stout"), vala()], [-1, 100, 99]);
    assert.equal(db.getField("st.STAT"), AlarmStatus.SOFT);
    assert.equal(db.getField("st.SEVR"), AlarmSeverity.MINOR);
  },
);

Deno.test({ ...opts, name: "user subroutines: the view's fields, writes and refusals" }, () => {
  const seen: unknown[] = [];
  using db = startIoc([
    rec("sub", "s", { EGU: "mm", SNAM: "look", SCAN: "1 second", INPA: "1.5" }),
    rec("sub", "w", { SNAM: "bad" }),
    rec("aSub", "a", {
      SNAM: "args",
      FTA: "STRING",
      FTB: "STRING",
      NOB: "3",
      INPB: '["x", "y"]',
      FTC: "INT64",
      INPC: "7",
      FTVA: "SHORT",
      NOVA: "3",
      FTVB: "STRING",
    }),
  ], {
    subroutines: subs({
      look: (r) => {
        seen.push(r.NAME, r.EGU, r.SCAN, r.A, "A" in r, "nope" in r, r.nope);
        r.EGU = "cm";
        r.PREC = 2.7;
        r.B = "4.25";
      },
      bad: (r) => void (r.INPA = "x"),
      args: (r) => {
        seen.push(r.A, r.B, r.C);
        r.VALA = [70000, 2, 3, 4];
        r.VALB = 12;
        r.NEVA = 99;
      },
    }),
  });
  db.process(db.record("s")!);
  // Menus as choice indexes (SCAN "1 second" is 6); unknown names read undefined.
  assert.deepEqual(seen, ["s", "mm", 6, 1.5, true, false, undefined]);
  assert.deepEqual([db.getField("s.EGU"), db.getField("s.PREC"), db.getField("s.B")], [
    "cm",
    2,
    4.25,
  ]);
  // A link cannot be written: the throw raises CALC/INVALID with the message in AMSG.
  db.process(db.record("w")!);
  assert.equal(db.getField("w.STAT"), AlarmStatus.CALC);
  assert.equal(db.getField("w.SEVR"), AlarmSeverity.INVALID);
  assert.equal(db.getField("w.AMSG"), "A subroutine cannot write w.INPA");
  assert.equal(db.warnings.at(-1), "sub: w: bad: TypeError: A subroutine cannot write w.INPA");
  seen.length = 0;
  db.process(db.record("a")!);
  // STRING with NOA 1: a string; NOB 3: the NEB (2) elements in use; INT64: a bigint.
  assert.deepEqual(seen, ["", ["x", "y"], 7n]);
  // Cast to SHORT, cut at NOVA; NEVA set to the count, then clamped at NOVA.
  assert.deepEqual([...(db.getField("a.VALA") as Int16Array)], [4464, 2, 3]);
  assert.equal(db.getField("a.NEVA"), 3);
  assert.deepEqual(db.getField("a.VALB"), ["12"]);
  assert.equal(db.getField("a.NEVB"), 1);
});

Deno.test({ ...opts, name: "user subroutines: throws and bad results alarm, IOC goes on" }, () => {
  using db = startIoc([
    rec("sub", "t", { SNAM: "boom", VAL: "3" }),
    rec("sub", "r", { SNAM: "text" }),
    rec("aSub", "a", { SNAM: "boom", FTVA: "LONG", OUTA: "out PP" }),
    rec("longin", "out", { VAL: "5" }),
    rec("sub", "i", { INAM: "boom", SNAM: "text" }),
  ], {
    subroutines: subs({
      boom: (r) => {
        if (r.RTYP === "aSub") r.VALA = 9;
        throw new RangeError("the device is not answering at all, really not");
      },
      text: () => "3",
    }),
  });
  // INAM's throw is reported; iocInit went on.
  assert.deepEqual(db.warnings, [
    "sub: i: boom: RangeError: the device is not answering at all, really not",
  ]);
  db.process(db.record("t")!);
  assert.equal(db.getField("t.STAT"), AlarmStatus.CALC);
  assert.equal(db.getField("t.AMSG"), "the device is not answering at all, rea");
  assert.equal(db.getField("t"), 3);
  db.process(db.record("r")!);
  assert.equal(db.getField("r.STAT"), AlarmStatus.CALC);
  assert.match(String(db.getField("r.AMSG")), /^The subroutine returned the string "3"/);
  // aSub: a throw is status -1 (VAL), no outputs, CALC/INVALID rather than SOFT/BRSV.
  db.process(db.record("a")!);
  assert.deepEqual([db.getField("a"), db.getField("a.STAT"), db.getField("out")], [
    -1,
    AlarmStatus.CALC,
    5,
  ]);
  assert.equal(db.warnings.length, 4);
});

Deno.test(
  { ...opts, name: "user subroutines: a promise keeps PACT; its value is the status" },
  async () => {
    const pending: { done: (v?: unknown) => void; fail: (e: unknown) => void }[] = [];
    const calls: string[] = [];
    using db = startIoc([
      rec("sub", "s", { SNAM: "later", INPA: "2", VAL: "1", BRSV: "MAJOR" }),
      rec("aSub", "a", { SNAM: "later", FTVA: "LONG", OUTA: "out PP" }),
      rec("longin", "out"),
    ], {
      subroutines: subs({
        later: (r) => {
          calls.push(String(r.NAME));
          return new Promise((resolve, reject) => {
            pending.push({
              done: (v) => {
                r.VAL = 42;
                if (r.RTYP === "aSub") r.VALA = 7;
                resolve(v);
              },
              fail: reject,
            });
          });
        },
      }),
    });
    const p = db.putField("s.PROC", 1);
    assert.equal(db.getField("s.PACT"), 1);
    pending.shift()!.done(-5);
    await p;
    // Called once (base calls again on completion; ours applies the settled status).
    assert.deepEqual(calls, ["s"]);
    assert.deepEqual([db.getField("s"), db.getField("s.PACT"), db.getField("s.STAT")], [
      42,
      0,
      AlarmStatus.SOFT,
    ]);
    const q = db.putField("s.PROC", 1);
    pending.shift()!.fail(new Error("timeout"));
    await q;
    assert.deepEqual([db.getField("s.STAT"), db.getField("s.AMSG")], [AlarmStatus.CALC, "timeout"]);
    const a = db.putField("a.PROC", 1);
    assert.equal(db.getField("a.PACT"), 1);
    pending.shift()!.done();
    await a;
    assert.deepEqual([db.getField("a"), db.getField("out"), db.getField("a.PACT")], [0, 7, 0]);
  },
);

Deno.test({
  ...opts,
  name: "tsdev context: SNAM/INAM resolve to the user's globals, at init and on put",
}, async () => {
  const ts = new TsdevContext();
  try {
    await ts.run("function userSubDouble(r) { r.VAL = 2 * r.A }");
    using db = startIoc([
      rec("sub", "s", { INPA: "4", SNAM: "userSubDouble" }),
      rec("sub", "f", { SNAM: "fetch" }),
      rec("sub", "later", { INPA: "5", SNAM: "userSubLater" }),
    ], { findSubroutine: (n) => ts.subroutine(n) });
    db.process(db.record("s")!);
    assert.equal(db.getField("s"), 8);
    // A built-in is no subroutine; a function defined after iocInit is found once SNAM is put.
    assert.deepEqual(db.warnings, [
      "recGblRecordError: Proc subroutine (SNAM) Subroutine not found PV: f",
      "recGblRecordError: Proc subroutine (SNAM) Subroutine not found PV: later",
    ]);
    await ts.run("var userSubLater = (r) => { r.VAL = r.A + 1 }");
    db.process(db.record("later")!);
    assert.equal(db.getField("later.STAT"), AlarmStatus.BAD_SUB);
    await db.putField("later.SNAM", "userSubLater");
    db.process(db.record("later")!);
    assert.deepEqual([db.getField("later"), db.getField("later.SEVR")], [6, 0]);
    // An unknown name put at run time: base's line, the put refused, BAD_SUB after.
    await assert.rejects(db.putField("later.SNAM", "noSuchFunction"));
    assert.equal(
      db.warnings.at(-1),
      "recGblRecordError: subRecord(special) registryFunctionFind failed Subroutine not found PV: later",
    );
    assert.equal(db.getField("later.SNAM"), "noSuchFunction");
    db.process(db.record("later")!);
    assert.equal(db.getField("later.STAT"), AlarmStatus.BAD_SUB);
    assert.equal(ts.subroutine("fetch"), undefined);
    assert.equal(ts.subroutine("userSubDouble"), ts.subroutine("userSubDouble"));
  } finally {
    ts.close();
    // Globals made by `function`/`var` in eval'd code may not be deletable.
    Reflect.deleteProperty(globalThis, "userSubDouble");
    Reflect.deleteProperty(globalThis, "userSubLater");
  }
});
