import assert from "node:assert/strict";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { IocDatabase, type RecordDef } from "./database.ts";

function rec(type: string, name: string, fields: Record<string, string> = {}, line = 1): RecordDef {
  return {
    type,
    name,
    fields: Object.entries(fields).map(([n, v]) => ({ name: n, value: v, file: "j.db", line })),
    infos: [],
    aliases: [],
    file: "j.db",
    line,
  };
}

function start(defs: RecordDef[], printed: string[] = []): IocDatabase {
  const db = new IocDatabase({ clock: () => 1e12, print: (t) => printed.push(t) });
  const errors = db.load(defs);
  if (errors.length) throw errors[0];
  db.init();
  return db;
}

const opts = { permissions: "none" } as const;

Deno.test({
  ...opts,
  name: "database: records read calc and state links, write state and calc-out links",
  async fn() {
    const db = start([
      rec("ai", "c", { INP: "{calc: {expr: 'A+B', args: [1.5, {state: 'lvl'}]}}" }),
      rec("ai", "m", { INP: "{calc: {expr: 'A', major: 'A>5', args: [{const: 7}]}}" }),
      rec("bi", "s", { INP: "{state: '!beam'}" }),
      rec("bo", "o", { OUT: "{state: 'beam'}" }),
      rec("ao", "k", { OUT: "{calc: {expr: 'VAL*2', out: {state: 'twice'}}}" }),
    ]);
    try {
      db.process(db.record("c")!);
      assert.equal(db.getField("c"), 1.5);
      db.dbStateFind("lvl")!.value = true;
      db.process(db.record("c")!);
      assert.equal(db.getField("c"), 2.5);
      assert.equal(db.getField("c.SEVR"), AlarmSeverity.NO_ALARM);
      db.process(db.record("m")!);
      assert.equal(db.getField("m"), 7);
      assert.equal(db.getField("m.SEVR"), AlarmSeverity.MAJOR);
      assert.equal(db.getField("m.STAT"), AlarmStatus.LINK);
      assert.equal(db.getField("m.AMSG"), "post_major error");
      db.process(db.record("s")!);
      assert.equal(db.getField("s"), 1, "beam is clear: the inverted flag reads 1");
      await db.putField("o", 1);
      assert.equal(db.dbStateFind("beam")!.value, true);
      db.process(db.record("s")!);
      assert.equal(db.getField("s"), 0);
      await db.putField("k", 0);
      assert.equal(db.dbStateFind("twice")!.value, false);
      await db.putField("k", 3);
      assert.equal(db.dbStateFind("twice")!.value, true);
      // The field reads back as the text it was given.
      assert.equal(db.linkText(db.record("o")!, "OUT"), "{state: 'beam'}");
    } finally {
      db.close();
    }
  },
});

Deno.test({
  ...opts,
  name: "database: a JSON link written at run time replaces the old one; bad ones are refused",
  async fn() {
    const printed: string[] = [];
    const db = start([rec("ai", "r", { INP: "{calc: {expr: '1'}}" })], printed);
    try {
      db.process(db.record("r")!);
      assert.equal(db.getField("r"), 1);
      await db.putField("r.INP", "{trace: {calc: {expr: '2'}}}");
      db.process(db.record("r")!);
      assert.equal(db.getField("r"), 2);
      assert.ok(printed.some((l) => l.startsWith("Link trace: Calling calc::getValue(")));
      await assert.rejects(() => db.putField("r.INP", "{pva: 'x'}"), /Link type 'pva' not found/);
      await db.putField("r.INP", "{}");
      assert.equal(db.record("r")!.links.INP, undefined);
    } finally {
      db.close();
    }
  },
});

Deno.test({
  ...opts,
  name: "database: JSON links base refuses fail the load with file:line and the link type",
  fn() {
    const db = new IocDatabase();
    const errors = db.load([
      rec("ai", "a", { INP: "{pva: {pv: 'x'}}" }, 4),
      rec("ai", "b", { INP: "{db: 'x'}" }, 9),
      rec("bo", "c", { FLNK: "{calc: {expr: 'A'}}" }, 12),
    ]);
    assert.deepEqual(errors.map((e) => e.message), [
      `Error in "j.db" at line 4: Record "a" field INP: dbJLinkInit: Link type 'pva' not found`,
      `Error in "j.db" at line 9: Record "b" field INP: dbJLinkInit: Link type 'db' not found`,
      `Error in "j.db" at line 12: Record "c" field FLNK: lnkCalc: No support for forward links`,
    ]);
  },
});

Deno.test({
  ...opts,
  name: "database: calcout shows a calc link as Ext PV OK and a state link as Local PV",
  fn() {
    const db = start([
      rec("calcout", "co", {
        INPA: "{calc: {expr: '3'}}",
        INPB: "{state: 'x'}",
        INPC: "{const: 4}",
        CALC: "A+B+C",
      }),
    ]);
    try {
      db.process(db.record("co")!);
      assert.equal(db.getField("co"), 7);
      assert.equal(db.getField("co.INAV"), 1);
      assert.equal(db.getField("co.INBV"), 2);
      assert.equal(db.getField("co.INCV"), 3);
    } finally {
      db.close();
    }
  },
});
