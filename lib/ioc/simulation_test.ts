import assert from "node:assert/strict";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { rec, startIoc } from "./_testing.ts";
import { menuChoices } from "./record_type.ts";
import type { DeviceSupport } from "./types.ts";

const opts = { permissions: "none" } as const;
const scan = (name: string) => menuChoices("menuScan").indexOf(name);

Deno.test(
  { ...opts, name: "ai in simulation reads SIOL into VAL with a SIMM alarm of SIMS" },
  async () => {
    using db = startIoc([
      rec("ao", "src", { VAL: "12.5" }),
      rec("ai", "a", { SIMM: "YES", SIOL: "src", SIMS: "MINOR", INP: "other" }),
      rec("ao", "other", { VAL: "99" }),
    ]);
    await db.putField("a.PROC", 1);
    assert.equal(db.getField("a"), 12.5);
    assert.equal(db.getField("a.SVAL"), 12.5);
    assert.equal(db.getField("a.STAT"), AlarmStatus.SIMM);
    assert.equal(db.getField("a.SEVR"), AlarmSeverity.MINOR);
    // Back to the device: INP is read again and the alarm goes.
    await db.putField("a.SIMM", 0);
    await db.putField("a.PROC", 1);
    assert.equal(db.getField("a"), 99);
    assert.equal(db.getField("a.SEVR"), 0);
  },
);

Deno.test({ ...opts, name: "SIMM RAW reads SIOL into RVAL and converts it" }, async () => {
  using db = startIoc([
    rec("longin", "raw", { VAL: "37" }),
    rec("ai", "a", { SIMM: "RAW", SIOL: "raw", ASLO: "2", AOFF: "1" }),
  ]);
  await db.putField("a.PROC", 1);
  assert.equal(db.getField("a.RVAL"), 37);
  assert.equal(db.getField("a"), 75);
  assert.equal(db.getField("a.ORAW"), 37);
});

Deno.test(
  { ...opts, name: "SIML is read into SIMM; a constant SIOL reads its constant" },
  async () => {
    using db = startIoc([
      rec("bo", "mode", { VAL: "1" }),
      rec("ai", "a", { SIML: "mode", SIOL: "7.5" }),
    ]);
    assert.equal(db.getField("a.SVAL"), 7.5);
    await db.putField("a.PROC", 1);
    assert.equal(db.getField("a.SIMM"), 1);
    assert.equal(db.getField("a"), 7.5);
    await db.putField("mode", 0);
    await db.putField("a.PROC", 1);
    assert.equal(db.getField("a.SIMM"), 0);
  },
);

Deno.test(
  { ...opts, name: "a change of SIMM swaps SCAN and SSCN (put and constant SIML)" },
  async () => {
    using db = startIoc([
      rec("ai", "a", { SSCN: "Event" }),
      rec("ai", "b", { SIML: "1", SSCN: "Event" }),
      rec("ai", "c"),
    ]);
    // A constant SIML sets SIMM at init, which swaps the scans there.
    assert.equal(db.getField("b.SIMM"), 1);
    assert.equal(db.getField("b.SCAN"), scan("Event"));
    assert.equal(db.getField("b.SSCN"), scan("Passive"));
    await db.putField("a.SIMM", 1);
    assert.equal(db.getField("a.SCAN"), scan("Event"));
    assert.equal(db.getField("a.SSCN"), scan("Passive"));
    assert.equal(db.getField("a.OLDSIMM"), 0);
    await db.putField("a.SIMM", 0);
    assert.equal(db.getField("a.SCAN"), scan("Passive"));
    // Without SSCN (65535) nothing moves.
    await db.putField("c.SIMM", 1);
    assert.equal(db.getField("c.SCAN"), scan("Passive"));
    assert.equal(db.getField("c.SSCN"), 65535);
  },
);

Deno.test({ ...opts, name: "SDLY makes the simulated read asynchronous" }, async () => {
  using db = startIoc([
    rec("ao", "src", { VAL: "3" }),
    rec("ai", "a", { SIMM: "YES", SIOL: "src", SDLY: "0.01" }),
  ]);
  // The put completes when the record does.
  await db.putField("a.PROC", 1);
  assert.equal(db.getField("a.PACT"), 0);
  assert.equal(db.getField("a"), 3);
});

Deno.test(
  { ...opts, name: "outputs in simulation write SIOL, not OUT; longout ignores OOPT" },
  async () => {
    using db = startIoc([
      rec("ao", "ao", { SIMM: "YES", SIOL: "tgt PP", OUT: "out PP", SIMS: "MAJOR" }),
      rec("ao", "tgt"),
      rec("ao", "out"),
      rec("bo", "bo", { SIMM: "RAW", SIOL: "raw", MASK: "4" }),
      rec("longout", "raw"),
      rec("longout", "lo", { SIMM: "YES", SIOL: "lt", OOPT: "When Zero" }),
      rec("longout", "lt"),
      rec("stringout", "so", { SIMM: "YES", SIOL: "st" }),
      rec("stringout", "st"),
    ]);
    await db.putField("ao", 5);
    assert.equal(db.getField("tgt"), 5);
    assert.equal(db.getField("out"), 0);
    assert.equal(db.getField("ao.STAT"), AlarmStatus.SIMM);
    await db.putField("bo", 1);
    assert.equal(db.getField("raw"), 4);
    await db.putField("lo", 8);
    assert.equal(db.getField("lt"), 8);
    await db.putField("so", "simulated");
    assert.equal(db.getField("st"), "simulated");
  },
);

Deno.test(
  { ...opts, name: "a SIMM value the record type has no mode for raises SOFT/INVALID" },
  async () => {
    using db = startIoc([rec("longin", "two", { VAL: "2" }), rec("longin", "l", { SIML: "two" })]);
    await db.putField("l.PROC", 1);
    assert.equal(db.getField("l.SIMM"), 2);
    assert.equal(db.getField("l.STAT"), AlarmStatus.SOFT);
    assert.equal(db.getField("l.SEVR"), AlarmSeverity.INVALID);
  },
);

Deno.test(
  { ...opts, name: "waveform in simulation: SIOL array, a constant SIOL gives NORD 0" },
  async () => {
    using db = startIoc([
      rec("aai", "src", { INP: "[4, 5, 6]", FTVL: "LONG", NELM: "4" }),
      rec("waveform", "w", { SIMM: "YES", SIOL: "src", FTVL: "DOUBLE", NELM: "5" }),
      rec("waveform", "c", { SIMM: "YES", FTVL: "LONG", NELM: "3" }),
    ]);
    await db.putField("w.PROC", 1);
    assert.equal(db.getField("w.NORD"), 3);
    assert.deepEqual(Array.from(db.getField("w") as Float64Array).slice(0, 3), [4, 5, 6]);
    await db.putField("c.PROC", 1);
    assert.equal(db.getField("c.NORD"), 0);
    assert.equal(db.getField("c.UDF"), 0);
  },
);

Deno.test({ ...opts, name: "ai/ao init: EOFF = EGUL unless LINR SLOPE with a device init" }, () => {
  using db = startIoc([
    rec("ai", "lin", { LINR: "LINEAR", EGUF: "10", EGUL: "2" }),
    rec("ai", "slope", { LINR: "SLOPE", EGUL: "5" }),
    rec("ao", "aoslope", { LINR: "SLOPE", EGUL: "4" }),
    rec("ao", "aorawslope", { DTYP: "Raw Soft Channel", LINR: "SLOPE", EGUL: "4" }),
  ]);
  assert.equal(db.getField("lin.EOFF"), 2);
  assert.equal(db.getField("slope.EOFF"), 0);
  assert.equal(db.getField("aoslope.EOFF"), 0);
  // devAoSoftRaw has no init_record: nothing restores EOFF for SLOPE.
  assert.equal(db.getField("aorawslope.EOFF"), 4);
});

Deno.test(
  { ...opts, name: "LINR LINEAR: a device's linconv sets ESLO/EOFF on EGUF/EGUL puts" },
  async () => {
    // A device with a 12-bit raw range 0..4095.
    const adc: DeviceSupport = {
      dtyp: "adc",
      recordTypes: ["ai"],
      io: () => undefined,
      linconv(r) {
        r.f.ESLO = ((r.f.EGUF as number) - (r.f.EGUL as number)) / 4095;
      },
    };
    using db = startIoc([rec("ai", "a", { DTYP: "adc", LINR: "LINEAR", EGUF: "10", EGUL: "0" })], {
      devices: [adc],
    });
    await db.putField("a.EGUF", 4095 * 2);
    assert.equal(db.getField("a.ESLO"), 2);
    await db.putField("a.EGUL", 5);
    assert.equal(db.getField("a.EOFF"), 5);
    assert.equal(db.getField("a.RVAL"), 0);
    assert.equal(db.getField("a"), 5);
  },
);

Deno.test(
  { ...opts, name: "TSE -2 in simulation: the time of what SIOL reads, else now" },
  async () => {
    let now = 1e12;
    using db = startIoc([
      rec("ao", "src", { VAL: "1" }),
      rec("ai", "a", { SIMM: "YES", SIOL: "src", TSE: "-2" }),
      rec("ai", "c", { SIMM: "YES", SIOL: "3", TSE: "-2" }),
    ], { clock: () => now });
    await db.putField("src.PROC", 1);
    const t = db.record("src")!.time;
    now += 5000;
    await db.putField("a.PROC", 1);
    assert.deepEqual(db.record("a")!.time, t);
    await db.putField("c.PROC", 1);
    assert.equal(db.record("c")!.time.secPastEpoch, db.record("src")!.time.secPastEpoch + 5);
  },
);

Deno.test(
  { ...opts, name: "SIML through an unconnected link: STAT LINK, no severity" },
  async () => {
    using db = startIoc([rec("ai", "a", { SIML: "elsewhere:pv", VAL: "1" })]);
    await db.putField("a.PROC", 1);
    assert.equal(db.getField("a.STAT"), AlarmStatus.LINK);
    assert.equal(db.getField("a.SEVR"), 0);
    assert.equal(db.getField("a.SIMM"), 0);
  },
);
