import assert from "node:assert/strict";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { PvChange } from "../pv/types.ts";
import { rec, startIoc } from "./_testing.ts";
import { IocPvSource } from "./autosave.ts";
import type { IocDatabase } from "./database.ts";
import { IocProvider } from "./provider.ts";
import { IocShell } from "./shell.ts";
import type { Subroutine } from "./types.ts";

const opts = { permissions: "none" } as const;

/** The masks posted to a field, collected. */
function posts(db: IocDatabase, name: string, field: string): number[] {
  const got: number[] = [];
  db.watch(db.record(name)!, field, (m) => got.push(m));
  return got;
}

// The values below are what base 7.0.8.1's softIoc gave for the same records and puts
// (tests/fixtures/ioc/parity_more.db, compared field by field in
// tests/softioc_more_records_parity_test.ts).

Deno.test(
  { ...opts, name: "histogram counts SGNL into NELM buckets of [LLIM, ULIM)" },
  async () => {
    using db = startIoc([
      rec("ao", "sig"),
      rec("histogram", "h", { SVL: "sig", NELM: "8", LLIM: "0", ULIM: "8" }),
      rec("histogram", "h2", { SVL: "3", NELM: "4", LLIM: "4", ULIM: "12", MDEL: "2" }),
      rec("histogram", "h3", { LLIM: "5", ULIM: "5" }),
    ]);
    for (const v of [3.7, 0, 7.99, 8, 1]) {
      await db.putField("sig", v);
      await db.putField("h.PROC", 1);
    }
    assert.deepEqual([...db.getField("h") as Uint32Array], [2, 0, 0, 1, 0, 0, 0, 1]);
    assert.equal(db.getField("h.MCNT"), 0);
    // Nothing clears it: still UDF, yet no UDF alarm after processing.
    assert.equal(db.getField("h.UDF"), 1);
    assert.equal(db.getField("h.SEVR"), AlarmSeverity.NO_ALARM);
    // A put to SGNL counts at once, without processing; 3 (the constant SVL) is below LLIM.
    for (const v of [5, 11.9, 6]) await db.putField("h2.SGNL", v);
    assert.deepEqual([...db.getField("h2") as Uint32Array], [2, 0, 0, 1]);
    assert.equal(db.getField("h2.MCNT"), 3);
    await db.putField("h2.PROC", 1);
    assert.equal(db.getField("h2.MCNT"), 0);
    // LLIM >= ULIM: SOFT/INVALID straight into STAT/SEVR, which the alarm reset replaces.
    await db.putField("h3.PROC", 1);
    assert.equal(db.getField("h3.STAT"), AlarmStatus.NO_ALARM);
    // CMD Clear empties the buckets and reads Read again; Stop clears CSTA.
    await db.putField("h.CMD", "Clear");
    assert.deepEqual([...db.getField("h") as Uint32Array], [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(db.getField("h.MCNT"), 1);
    assert.equal(db.getField("h.CMD"), 0);
    await db.putField("h.CMD", "Stop");
    assert.equal(db.getField("h.CSTA"), 0);
    await db.putField("h.PROC", 1);
    assert.deepEqual([...db.getField("h") as Uint32Array], [0, 0, 0, 0, 0, 0, 0, 0]);
    // ULIM/LLIM recompute WDTH and clear.
    await db.putField("h2.ULIM", 16);
    assert.equal(db.getField("h2.WDTH"), 3);
    assert.deepEqual([...db.getField("h2") as Uint32Array], [0, 0, 0, 0]);
  },
);

Deno.test(
  { ...opts, name: "histogram posts VAL past MDEL counts, and from its SDEL watchdog" },
  async () => {
    using db = startIoc([
      rec("histogram", "h", { NELM: "2", LLIM: "0", ULIM: "2", MDEL: "2", SDEL: "0.02" }),
    ]);
    const got = posts(db, "h", "VAL");
    const counted = PvChange.VALUE | PvChange.LOG;
    // A put to SGNL counts; so does each processing (the soft support reads no SVL here).
    await db.putField("h.SGNL", 0.5);
    await db.putField("h.PROC", 1);
    // MCNT 2 is not above MDEL: the alarm change (UDF/INVALID to NO_ALARM) alone.
    assert.deepEqual(got, [PvChange.ALARM]);
    await db.putField("h.PROC", 1);
    assert.deepEqual(got, [PvChange.ALARM, counted]);
    await db.putField("h.SGNL", 1.5);
    await new Promise((r) => setTimeout(r, 80));
    // The watchdog posted the one count in between, once.
    assert.deepEqual(got, [PvChange.ALARM, counted, counted]);
    assert.equal(db.getField("h.MCNT"), 0);
    assert.deepEqual([...db.getField("h") as Uint32Array], [3, 1]);
    // A put to VAL writes buckets and leaves NELM.
    await db.putField("h", [7] as unknown as string);
    assert.deepEqual([...db.getField("h") as Uint32Array], [7, 1]);
    assert.equal(db.getField("h.NELM"), 2);
  },
);

Deno.test(
  { ...opts, name: "permissive and state post VAL (and WFLG) only when they change" },
  async () => {
    using db = startIoc([
      rec("permissive", "p", { WFLG: "1" }),
      rec("state", "s", { VAL: "idle" }),
    ]);
    assert.ok(
      db.warnings[0].startsWith('WARNING: Using deprecated record type "state" for record "s"'),
    );
    const val = posts(db, "p", "VAL");
    const wflg = posts(db, "p", "WFLG");
    await db.putField("p.PROC", 1);
    // VAL 0 = OVAL 0: nothing, though the alarm changed; WFLG 1 != OFLG 0: posted.
    assert.deepEqual(val, []);
    assert.deepEqual(wflg, [PvChange.ALARM | PvChange.VALUE | PvChange.LOG]);
    assert.equal(db.getField("p.OFLG"), 1);
    assert.equal(db.getField("p.UDF"), 0);
    await db.putField("p", 5);
    assert.deepEqual(val, [PvChange.VALUE | PvChange.LOG]);
    assert.equal(db.getField("p.OVAL"), 5);
    const sval = posts(db, "s", "VAL");
    await db.putField("s.PROC", 1);
    await db.putField("s.PROC", 1);
    assert.deepEqual(sval, [PvChange.ALARM | PvChange.VALUE | PvChange.LOG]);
    assert.equal(db.getField("s.OVAL"), "idle");
  },
);

Deno.test(
  { ...opts, name: "aSub: typed array arguments, the subroutine, outputs written on 0" },
  async () => {
    const sum: Subroutine = (r) => {
      const a = r.f.A as Float64Array;
      const out = r.f.VALA as Int16Array;
      let s = 0;
      for (let i = 0; i < (r.f.NEA as number); i++) s += a[i];
      out[0] = s;
      out[1] = (r.f.B as Int32Array)[0];
      r.f.NEVA = 2;
      return s > 100 ? 1 : 0;
    };
    using db = startIoc([
      rec("waveform", "wf", { NELM: "4", FTVL: "DOUBLE" }),
      rec("aSub", "as", {
        SNAM: "sum",
        INPA: "wf",
        FTA: "DOUBLE",
        NOA: "4",
        INPB: "[7, 8]",
        FTB: "LONG",
        NOB: "3",
        FTVA: "SHORT",
        NOVA: "3",
        OUTA: "out PP",
      }),
      rec("waveform", "out", { NELM: "3", FTVL: "SHORT" }),
    ], { subroutines: [["sum", sum]] });
    assert.deepEqual([...db.getField("as.B") as Int32Array], [7, 8, 0]);
    assert.equal(db.getField("as.NEB"), 2);
    await db.putField("wf", [1.5, 2.5, 3] as unknown as string);
    const vala = posts(db, "as", "VALA");
    const neva = posts(db, "as", "NEVA");
    await db.putField("as.PROC", 1);
    assert.equal(db.getField("as.NEA"), 3);
    assert.deepEqual([...db.getField("out") as Int16Array].slice(0, 2), [7, 7]);
    assert.equal(db.getField("out.NORD"), 2);
    assert.equal(db.getField("as"), 0);
    assert.equal(db.getField("as.UDF"), 0);
    // EFLG ON CHANGE: VALA and NEVA posted once; the same result again posts nothing.
    assert.equal(vala.length, 1);
    assert.equal(neva.length, 1);
    await db.putField("as.PROC", 1);
    assert.equal(vala.length, 1);
    // A positive status is VAL, and the outputs are not written.
    await db.putField("wf", [100, 1] as unknown as string);
    await db.putField("as.PROC", 1);
    assert.equal(db.getField("as"), 1);
    assert.deepEqual([...db.getField("out") as Int16Array].slice(0, 2), [7, 7]);
  },
);

Deno.test({
  ...opts,
  name: "aSub: missing subroutines as base; negative results; promises; LFLG READ",
}, async () => {
  let finish = () => {};
  using db = startIoc([
    rec("aSub", "none"),
    rec("aSub", "bad", { SNAM: "noSuchSub" }),
    rec("aSub", "neg", { SNAM: "neg", BRSV: "MAJOR" }),
    rec("aSub", "slow", { SNAM: "slow" }),
    rec("stringin", "name", { VAL: "neg" }),
    rec("aSub", "byLink", { LFLG: "READ", SUBL: "name" }),
  ], {
    subroutines: [
      ["neg", () => -3],
      ["slow", () => new Promise<number>((resolve) => (finish = () => resolve(2)))],
    ],
  });
  assert.deepEqual(db.warnings, [
    "recGblRecordError: aSubRecord::init_record - SNAM subr not found Subroutine not found PV: bad",
  ]);
  await db.putField("none.PROC", 1);
  assert.equal(db.getField("none"), 0);
  assert.equal(db.getField("none.UDF"), 1);
  await db.putField("bad.PROC", 1);
  assert.equal(db.getField("bad"), 33488931);
  assert.equal(db.getField("bad.STAT"), AlarmStatus.BAD_SUB);
  assert.equal(db.getField("bad.SEVR"), AlarmSeverity.INVALID);
  await db.putField("neg.PROC", 1);
  assert.equal(db.getField("neg"), -3);
  assert.equal(db.getField("neg.STAT"), AlarmStatus.SOFT);
  assert.equal(db.getField("neg.SEVR"), AlarmSeverity.MAJOR);
  const put = db.putField("slow.PROC", 1);
  assert.equal(db.getField("slow.PACT"), 1);
  finish();
  await put;
  assert.equal(db.getField("slow.PACT"), 0);
  assert.equal(db.getField("slow"), 2);
  // LFLG READ: SNAM from SUBL at each processing, looked up when it changes.
  await db.putField("byLink.PROC", 1);
  assert.equal(db.getField("byLink.SNAM"), "neg");
  assert.equal(db.getField("byLink.ONAM"), "neg");
  assert.equal(db.getField("byLink"), -3);
  // With LFLG IGNORE a put of an unknown SNAM is refused (and reported), as in base.
  await assert.rejects(db.putField("neg.SNAM", "nowhere"));
  assert.ok(db.warnings.at(-1)!.includes("nowhere"));
  await db.putField("neg.PROC", 1);
  assert.equal(db.getField("neg.STAT"), AlarmStatus.BAD_SUB);
});

Deno.test(
  { ...opts, name: "the new types over the PvProvider, autosave's source and dbl" },
  async () => {
    using db = startIoc([
      rec("histogram", "h", { NELM: "4", LLIM: "0", ULIM: "4", SGNL: "1.5" }),
      rec("aSub", "as", { FTA: "STRING", NOA: "2", FTVA: "SHORT", NOVA: "3", INPA: '["x", "y"]' }),
      rec("permissive", "p", { LABL: "label" }),
      rec("state", "s", { VAL: "idle" }),
    ]);
    const p = new IocProvider(db);
    const type = (name: string) => {
      const t = p.lookup(name)!.type;
      return `${t.kind} ${t.scalar} ${t.maxLength}`;
    };
    // As base's cvt_dbaddr: histogram VAL a ULONG[NELM], aSub's arguments of FTx[NOx].
    assert.deepEqual(
      ["h", "as.A", "as.VALA", "as.NEA", "p", "p.LABL", "s"].map(type),
      [
        "array uint32 4",
        "array string 2",
        "array int16 3",
        "scalar uint32 1",
        "scalar uint16 1",
        "scalar string 1",
        "scalar string 1",
      ],
    );
    assert.equal(p.lookup("as.OVLA"), undefined);
    assert.deepEqual(p.lookup("as.A")!.snapshot().value, ["x", "y"]);
    const src = new IocPvSource(db);
    const [h, a, va] = await src.read(["h", "as.A", "as.VALA"]);
    assert.deepEqual(h.entry, { name: "h", kind: "ulong", value: new Uint32Array(4) });
    assert.deepEqual(a.entry, { name: "as.A", kind: "string", value: ["x", "y"] });
    assert.deepEqual(va.entry, { name: "as.VALA", kind: "short", value: new Int16Array(3) });
    const shell = new IocShell(db, {
      out: () => {},
      err: () => {},
      readFile: () => undefined,
      env: new Map(),
    });
    assert.equal(shell.dbl("aSub", "FTA NOA"), 'as, "STRING", "2"\n');
  },
);

Deno.test(
  {
    ...opts,
    name: "lsi, lso and printf keep LEN 0 and serve VAL$ empty until something writes them",
  },
  async () => {
    // softIocPVA 7.0.8.1 on the same records: LEN and pvget of VAL$ after PINI.
    using db = startIoc([
      rec("lsi", "a", { SIZV: "40", PINI: "YES" }),
      rec("lso", "b", { SIZV: "40", PINI: "YES" }),
      rec("stringin", "s"),
      rec("lsi", "c", { SIZV: "40", INP: "s", PINI: "YES" }),
      rec("lso", "d", { SIZV: "40", DOL: "s", OMSL: "closed_loop", PINI: "YES" }),
      rec("lsi", "e", { SIZV: "40", INP: "a.VAL$", PINI: "YES" }),
      rec("lsi", "f", { SIZV: "40", INP: '{const: ""}' }),
      rec("lso", "g", { SIZV: "40", DOL: '{const: "x"}' }),
      rec("printf", "p", { SIZV: "40", PINI: "YES" }),
      rec("lso", "k", { SIZV: "40", DOL: "abc", OMSL: "closed_loop", PINI: "YES" }),
    ]);
    const p = new IocProvider(db);
    const seen = (
      name: string,
    ) => [db.getField(`${name}.LEN`), [...p.lookup(`${name}.VAL$`)!.snapshot().value as Int8Array]];
    const want: Record<string, [number, number[]]> = {
      a: [0, []],
      b: [0, []],
      c: [1, [0]],
      d: [1, [0]],
      e: [1, [0]],
      f: [1, [0]],
      g: [2, [120, 0]],
      p: [1, [0]],
      k: [0, []],
    };
    for (const [name, w] of Object.entries(want)) assert.deepEqual(seen(name), w, name);
    // A put of "" writes it: LEN 1 from then on, processing or not.
    await db.putField("b.VAL", "");
    assert.deepEqual(seen("b"), [1, [0]]);
    await db.putField("b.PROC", 1);
    assert.deepEqual(seen("b"), [1, [0]]);
  },
);

Deno.test(
  { ...opts, name: "a broken [...] constant loads, prints dbConvertJSON's message at init" },
  () => {
    // softIoc 7.0.8.1 on the same records: its stderr, and VAL, UDF, SEVR, NORD after init.
    using db = startIoc([
      rec("ai", "n1", { INP: "[nan]" }),
      rec("ai", "n2", { INP: "[1, nan]" }),
      rec("ao", "n3", { DOL: "[nan]" }),
      rec("waveform", "w", { INP: "[1, nan]", NELM: "4", FTVL: "DOUBLE" }),
      rec("ai", "ok", { INP: "[]" }),
    ]);
    const at = (n: number, text: string) =>
      `dbConvertJSON: lexical error: invalid string in json text.\n${" ".repeat(n)}${text}\n` +
      "                     (right here) ------^";
    assert.deepEqual(db.warnings, [
      at(38, "[nan]"),
      at(35, "[1, nan]"),
      at(38, "[nan]"),
      `${at(35, "[1, nan]")}\n... while parsing link w.INP`,
    ]);
    for (
      const [name, val, udf] of [["n1", 0, 1], ["n2", 1, 1], ["n3", 0, 1], ["ok", 0, 0]] as const
    ) {
      assert.equal(db.getField(name), val, name);
      assert.equal(db.getField(`${name}.UDF`), udf, name);
      assert.equal(db.getField(`${name}.SEVR`), 3, name);
    }
    assert.equal(db.getField("w.NORD"), 0);
    assert.equal(db.getField("w.UDF"), 1);
  },
);
