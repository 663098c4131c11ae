import assert from "node:assert/strict";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { rec, startIoc } from "./_testing.ts";
import { IocDatabase } from "./database.ts";
import { environDevice } from "./devices.ts";
import { IocProvider } from "./provider.ts";
import type { DeviceSupport, Subroutine } from "./types.ts";

const opts = { permissions: "none" } as const;

const start = (
  defs: Parameters<typeof startIoc>[0],
  subroutines: [string, Subroutine][] = [],
  devices: DeviceSupport[] = [],
) => startIoc(defs, { subroutines, devices });

Deno.test(
  { ...opts, name: "sub calls SNAM with A..L fetched; INAM runs once at init" },
  async () => {
    let inits = 0;
    using db = start([
      rec("ao", "x", { VAL: "4" }),
      rec("sub", "s", {
        INPA: "x",
        INPB: "3",
        SNAM: "sum",
        INAM: "setup",
        HIGH: "6",
        HSV: "MINOR",
      }),
    ], [
      ["sum", (r) => {
        r.f.VAL = (r.f.A as number) + (r.f.B as number);
      }],
      ["setup", () => void inits++],
    ]);
    assert.equal(inits, 1);
    await db.putField("s.PROC", 1);
    assert.equal(db.getField("s"), 7);
    assert.equal(db.getField("s.LA"), 4);
    assert.equal(db.getField("s.UDF"), 0);
    assert.equal(db.getField("s.STAT"), AlarmStatus.HIGH);
  },
);

Deno.test(
  { ...opts, name: "sub: a negative result raises SOFT with BRSV; unknown SNAM BAD_SUB" },
  async () => {
    using db = start([
      // A defined VAL (else UDF/INVALID would outrank the BRSV alarm, as in base).
      rec("sub", "neg", { SNAM: "fail", BRSV: "MAJOR", VAL: "1" }),
      rec("sub", "bad", { SNAM: "nowhere" }),
    ], [["fail", () => -1]]);
    await db.putField("neg.PROC", 1);
    assert.equal(db.getField("neg.STAT"), AlarmStatus.SOFT);
    assert.equal(db.getField("neg.SEVR"), AlarmSeverity.MAJOR);
    await db.putField("bad.PROC", 1);
    assert.equal(db.getField("bad.STAT"), AlarmStatus.BAD_SUB);
    assert.equal(db.getField("bad.SEVR"), AlarmSeverity.INVALID);
    // softIoc 7.0.8.1's line (recGblRecordError with S_db_BadSub's text).
    assert.deepEqual(db.warnings, [
      "recGblRecordError: Proc subroutine (SNAM) Subroutine not found PV: bad",
    ]);
  },
);

Deno.test(
  { ...opts, name: "sub: a promise makes the record asynchronous; no SNAM keeps PACT" },
  async () => {
    let finish: (v: number) => void = () => {};
    using db = start([rec("sub", "a", { SNAM: "slow" }), rec("sub", "none")], [
      ["slow", (r) =>
        new Promise<number>((resolve) => {
          finish = (v) => {
            r.f.VAL = v;
            resolve(0);
          };
        })],
    ]);
    const put = db.putField("a.PROC", 1);
    assert.equal(db.getField("a.PACT"), 1);
    finish(42);
    await put;
    assert.equal(db.getField("a.PACT"), 0);
    assert.equal(db.getField("a"), 42);
    assert.equal(db.getField("none.PACT"), 1);
    assert.ok(db.warnings.includes("none.SNAM is empty"));
  },
);

Deno.test(
  { ...opts, name: "getenv device: stringin reads @NAME; an unset one is UDF" },
  async () => {
    const env = new Map([["EPICS_VERSION_FULL", "7.0.8.1"]]);
    using db = start(
      [
        rec("stringin", "v", { DTYP: "getenv", INP: "@EPICS_VERSION_FULL" }),
        rec("stringin", "u", { DTYP: "getenv", INP: "@NOT_SET" }),
      ],
      [],
      [environDevice((n) => env.get(n))],
    );
    await db.putField("v.PROC", 1);
    assert.equal(db.getField("v"), "7.0.8.1");
    await db.putField("u.PROC", 1);
    assert.equal(db.getField("u.STAT"), AlarmStatus.UDF);
    assert.equal(db.getField("u.AMSG"), "No such ENV");
  },
);

Deno.test({ ...opts, name: "calc inputs show the metadata of their DB link's target" }, () => {
  using db = start([
    rec("ao", "src", {
      EGU: "degC",
      PREC: "4",
      HOPR: "50",
      LOPR: "-50",
      HIHI: "45",
      HHSV: "MAJOR",
    }),
    rec("calc", "c", { INPA: "src", INPB: "2", PREC: "2", EGU: "sum" }),
    rec("sub", "s", { INPA: "c.A" }),
  ]);
  const p = new IocProvider(db);
  const a = p.lookup("c.A")!.snapshot();
  assert.equal(a.display.units, "degC");
  assert.equal(a.display.precision, 4);
  assert.deepEqual([a.display.limitLow, a.display.limitHigh], [-50, 50]);
  assert.equal(a.valueAlarm.highAlarmLimit, 45);
  // The control limits stay the field type's range.
  assert.deepEqual([a.control.limitLow, a.control.limitHigh], [-1e300, 1e300]);
  // A constant link: no units, the record's PREC, no display limits.
  const b = p.lookup("c.LB")!.snapshot();
  assert.equal(b.display.units, "");
  assert.equal(b.display.precision, 2);
  assert.deepEqual([b.display.limitLow, b.display.limitHigh], [0, 0]);
  // Through two links: s.A reads c.A, which describes itself by src.
  assert.equal(p.lookup("s.A")!.snapshot().display.units, "degC");
});

Deno.test(
  { ...opts, name: "a link read that does not convert raises LINK 'field INPx'" },
  async () => {
    using db = start([
      rec("stringin", "t", { VAL: "text" }),
      rec("stringin", "n", { VAL: "12 mA" }),
      rec("calc", "c", { INPA: "n", INPB: "t", CALC: "A" }),
      rec("calc", "ok", { INPA: "n", CALC: "A" }),
    ]);
    await db.putField("c.PROC", 1);
    assert.equal(db.getField("c.A"), 12);
    assert.equal(db.getField("c.STAT"), AlarmStatus.LINK);
    assert.equal(db.getField("c.AMSG"), "field INPB");
    // The expression does not run when an input failed.
    assert.equal(db.getField("c.UDF"), 1);
    await db.putField("ok.PROC", 1);
    assert.equal(db.getField("ok"), 12);
  },
);

Deno.test(
  { ...opts, name: "an input's metadata follows a change of its link's target" },
  async () => {
    using db = start([rec("ao", "src", { EGU: "V" }), rec("calc", "c", { INPA: "src" })]);
    const p = new IocProvider(db);
    const ch = p.lookup("c.A")!;
    assert.equal(ch.snapshot().display.units, "V");
    await db.putField("src.EGU", "mV");
    assert.equal(ch.snapshot().display.units, "mV");
  },
);

Deno.test({ ...opts, name: "a .db with an expression that does not compile fails to load" }, () => {
  const db = new IocDatabase();
  const errors = db.load([rec("calc", "c", { CALC: "A+" }), rec("calcout", "o", { OCAL: "(A" })]);
  assert.equal(errors.length, 2);
  assert.match(errors[0].message, /t\.db.*line 1.*CALC.*"A\+" is not a valid expression/);
  db.close();
});
