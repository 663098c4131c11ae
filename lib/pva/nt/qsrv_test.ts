/**
 * QSRV's layout, as softIocPVA 7.0.8.1 serves it (recorded with pvxinfo / pvxget -v /
 * pvxmonitor -v against it), beside pvxs's, which PVs without `layout` keep.
 */
import assert from "node:assert/strict";
import type { PvSnapshot, PvTypeInfo } from "../../pv/types.ts";
import { PvChange } from "../../pv/types.ts";
import { bitOf, bitPaths, type FieldDesc } from "../proto/mod.ts";
import { NtSnapshotWriter, ntTypeForPv } from "./pv_map.ts";

const opts = { permissions: "none" } as const;

/** `name type` per leaf and `name "id"` per structure ("structure": none, pvxinfo's `struct {`). */
function layout(t: FieldDesc, pad = ""): string[] {
  const out: string[] = [];
  for (const m of t.members) {
    if (m.type.members.length) {
      out.push(`${pad}${m.name} "${m.type.typeId}"`);
      out.push(...layout(m.type, pad + "  "));
    } else out.push(`${pad}${m.name} ${m.type.typeName}`);
  }
  return out;
}

const q = (kind: PvTypeInfo["kind"], scalar: PvTypeInfo["scalar"]): PvTypeInfo => ({
  kind,
  scalar,
  maxLength: kind === "array" ? 8 : 1,
  layout: "qsrv",
});

function snap(over: Partial<PvSnapshot> = {}): PvSnapshot {
  return {
    value: 7,
    alarm: { severity: 0, status: 0, message: "" },
    timeStamp: { secPastEpoch: 1000, nsec: 5 },
    display: { limitLow: 0, limitHigh: 100, description: "d", units: "cnt", precision: 0 },
    control: { limitLow: -5, limitHigh: 1000, minStep: 0 },
    valueAlarm: {
      active: true,
      lowAlarmLimit: NaN,
      lowWarningLimit: NaN,
      highWarningLimit: 50,
      highAlarmLimit: NaN,
      lowAlarmSeverity: 0,
      lowWarningSeverity: 0,
      highWarningSeverity: 1,
      highAlarmSeverity: 0,
      hysteresis: 0.5,
    },
    ...over,
  };
}

Deno.test({ ...opts, name: "qsrv layout: a longin's NTScalar (pvxinfo t:li)" }, () => {
  assert.deepEqual(layout(ntTypeForPv(q("scalar", "int32"))), [
    "value int",
    'alarm "alarm_t"',
    "  severity int",
    "  status int",
    "  message string",
    'timeStamp "structure"',
    "  secondsPastEpoch long",
    "  nanoseconds int",
    "  userTag int",
    'display "structure"',
    "  limitLow double",
    "  limitHigh double",
    "  description string",
    "  units string",
    "  precision int",
    '  form "enum_t"',
    "    index int",
    "    choices string[]",
    'control "control_t"',
    "  limitLow double",
    "  limitHigh double",
    "  minStep double",
    'valueAlarm "valueAlarm_t"',
    "  active boolean",
    "  lowAlarmLimit double",
    "  lowWarningLimit double",
    "  highWarningLimit double",
    "  highAlarmLimit double",
    "  lowAlarmSeverity int",
    "  lowWarningSeverity int",
    "  highWarningSeverity int",
    "  highAlarmSeverity int",
    "  hysteresis byte",
  ]);
  // pvxs's layout for the same PV without `layout` is unchanged: time_t, integer limits.
  const pvxs = ntTypeForPv({ kind: "scalar", scalar: "int32", maxLength: 1 });
  assert.equal(pvxs.member("timeStamp")?.typeId, "time_t");
  assert.equal(pvxs.member("control")?.member("limitLow")?.typeName, "int");
  assert.equal(pvxs.member("valueAlarm")?.member("hysteresis")?.typeName, "double");
});

Deno.test({ ...opts, name: "qsrv layout: strings have display and control, enums neither" }, () => {
  const s = layout(ntTypeForPv(q("scalar", "string")));
  assert.ok(s.includes('display "structure"') && s.includes('control "control_t"'));
  assert.ok(!s.some((l) => l.startsWith("valueAlarm")));
  const e = ntTypeForPv(q("enum", "uint16"));
  assert.equal(e.typeId, "epics:nt/NTEnum:1.0");
  assert.deepEqual(e.members.map((m) => m.name), ["value", "alarm", "timeStamp"]);
  const a = ntTypeForPv(q("array", "float64"));
  assert.equal(a.typeId, "epics:nt/NTScalarArray:1.0");
  assert.equal(a.member("value")?.typeName, "double[]");
});

Deno.test({ ...opts, name: "qsrv layout: values as pvxget -v t:li shows them" }, () => {
  const w = new NtSnapshotWriter(q("scalar", "int32"));
  const v = w.write(snap());
  assert.equal(v.get("alarm.message"), "NO_ALARM");
  assert.ok(Number.isNaN(v.get("valueAlarm.lowAlarmLimit") as number));
  assert.equal(v.get("valueAlarm.highWarningLimit"), 50);
  // Never filled by QSRV: active, the severities, hysteresis, minStep.
  assert.equal(v.get("valueAlarm.active"), false);
  assert.equal(v.get("valueAlarm.highWarningSeverity"), 0);
  assert.equal(v.get("valueAlarm.hysteresis"), 0);
  assert.equal(v.get("control.minStep"), 0);
  assert.equal(v.get("control.limitLow"), -5);
  assert.equal(v.get("display.units"), "cnt");
  // A string: description and form only.
  const sw = new NtSnapshotWriter(q("scalar", "string"));
  const sv = sw.write(snap({ value: "hello", alarm: { severity: 0, status: 0, message: "m" } }));
  assert.equal(sv.get("display.description"), "d");
  assert.equal(sv.get("display.units"), "");
  assert.equal(sv.get("display.limitHigh"), 0);
  assert.equal(sv.get("control.limitHigh"), 0);
  assert.equal(sv.get("alarm.message"), "m");
});

Deno.test({ ...opts, name: "qsrv layout: the fields an update marks (pvxmonitor -v)" }, () => {
  const paths = (t: FieldDesc, bits: { forEach(f: (b: number) => void): void }) => {
    const all = bitPaths(t);
    const out: string[] = [];
    bits.forEach((b) => out.push(all[b]));
    return out;
  };
  const w = new NtSnapshotWriter(q("scalar", "float64"));
  assert.deepEqual(paths(w.type, w.changeBits(0)), [""]);
  assert.ok(w.marksWhole);
  const value = [
    "value",
    "alarm.severity",
    "alarm.status",
    "alarm.message",
    "timeStamp.secondsPastEpoch",
    "timeStamp.nanoseconds",
    "timeStamp.userTag",
  ];
  assert.deepEqual(paths(w.type, w.changeBits(PvChange.VALUE)), value);
  assert.deepEqual(paths(w.type, w.changeBits(PvChange.ALARM)), value);
  assert.deepEqual(paths(w.type, w.changeBits(PvChange.PROPERTY)), [
    "timeStamp.secondsPastEpoch",
    "timeStamp.nanoseconds",
    "timeStamp.userTag",
    "display.limitLow",
    "display.limitHigh",
    "display.description",
    "display.units",
    "display.precision",
    "display.form.index",
    "control.limitLow",
    "control.limitHigh",
    "valueAlarm.lowAlarmLimit",
    "valueAlarm.lowWarningLimit",
    "valueAlarm.highWarningLimit",
    "valueAlarm.highAlarmLimit",
  ]);
  // An enum: the index on a value change, the choices on a property change.
  const e = new NtSnapshotWriter(q("enum", "uint16"));
  assert.deepEqual(paths(e.type, e.changeBits(PvChange.VALUE)).slice(0, 2), [
    "value.index",
    "alarm.severity",
  ]);
  assert.deepEqual(paths(e.type, e.changeBits(PvChange.PROPERTY)), [
    "value.choices",
    "timeStamp.secondsPastEpoch",
    "timeStamp.nanoseconds",
    "timeStamp.userTag",
  ]);
  // pvxs's layout keeps marking top-level members.
  const p = new NtSnapshotWriter({ kind: "scalar", scalar: "float64", maxLength: 1 });
  assert.ok(!p.marksWhole);
  assert.ok(p.changeBits(PvChange.PROPERTY).get(bitOf(p.type, "display")));
});
