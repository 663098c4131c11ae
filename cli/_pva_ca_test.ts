/**
 * The ca provider mapping against what pvAccessCPP's `pvget -p ca` / `pvinfo -p ca`
 * printed for softIocPVX records (test.db in ../shared/vectors/ioc, TZ=UTC); the DBR
 * data is what those records send over CA.
 */
import assert from "node:assert/strict";
import { Dbr } from "../lib/ca/proto/constants.ts";
import type { DbrData } from "../lib/ca/proto/dbr_types.ts";
import { caPlan, caPutValue, caValue, markDifferences } from "./_pva_ca.ts";
import { buildPut } from "./_pva_put.ts";
import { formatJson, formatNt, formatRaw, formatTypeTreeCpp } from "./_pva_format.ts";

const UTC = { timeZone: "UTC" };

// T:ai: ai, VAL 3.14159, EGU mm, PREC 3, HOPR/LOPR 10/-10, HIHI/HIGH/LOW/LOLO 8/5/-5/-8.
const AI_CTRL: DbrData = {
  value: new Float64Array([3.14159]),
  meta: {
    status: 0,
    severity: 0,
    units: "mm",
    precision: 3,
    upperDispLimit: 10,
    lowerDispLimit: -10,
    upperAlarmLimit: 8,
    upperWarningLimit: 5,
    lowerWarningLimit: -5,
    lowerAlarmLimit: -8,
    upperCtrlLimit: 10,
    lowerCtrlLimit: -10,
  },
};

const AI_RAW = `T:ai structure 
    double value 3.14159
    alarm_t alarm 
        int severity 0
        int status 0
        string message 
    display_t display
        double limitLow -10
        double limitHigh 10
        string description 
        string format F9.3
        string units mm
    control_t control
        double limitLow -10
        double limitHigh 10
        double minStep 0
    valueAlarm_t valueAlarm
        boolean active false
        double lowAlarmLimit -8
        double lowWarningLimit -5
        double highWarningLimit 5
        double highAlarmLimit 8
        int lowAlarmSeverity 0
        int lowWarningSeverity 0
        int highWarningSeverity 0
        int highAlarmSeverity 0
        byte hysteresis 0
`;

Deno.test({
  name: "ca provider: a numeric scalar is read as DBR_CTRL (no time stamp)",
  permissions: "none",
  fn() {
    const plan = caPlan(Dbr.DOUBLE, 1);
    assert.equal(plan.dbrType, Dbr.CTRL_DOUBLE);
    const v = caValue(plan, Dbr.DOUBLE, AI_CTRL);
    assert.equal(formatRaw("T:ai", v, UTC), AI_RAW);
    assert.equal(`T:ai ${formatNt(v, UTC)}`, "T:ai 3.14159 \n");
    // pvinfo -p ca T:ai prints "T:ai\nServer: \nType:\n" and this tree.
    assert.equal(
      formatTypeTreeCpp(v.type),
      "    structure\n        double value\n" +
        "        alarm_t alarm\n            int severity\n            int status\n" +
        "            string message\n" +
        "        display_t display\n            double limitLow\n            double limitHigh\n" +
        "            string description\n            string format\n            string units\n" +
        "        control_t control\n            double limitLow\n            double limitHigh\n" +
        "            double minStep\n" +
        "        valueAlarm_t valueAlarm\n            boolean active\n" +
        "            double lowAlarmLimit\n            double lowWarningLimit\n" +
        "            double highWarningLimit\n            double highAlarmLimit\n" +
        "            int lowAlarmSeverity\n            int lowWarningSeverity\n" +
        "            int highWarningSeverity\n            int highAlarmSeverity\n" +
        "            byte hysteresis\n",
    );
  },
});

Deno.test({
  name: "ca provider: requests, alarms, enums, strings and arrays",
  permissions: "none",
  fn() {
    // -r field(value,timeStamp): read as DBR_TIME, only those members.
    const timed = caPlan(Dbr.DOUBLE, 1, "field(value,timeStamp)");
    assert.equal(timed.dbrType, Dbr.TIME_DOUBLE);
    const stamp = { secPastEpoch: 1795267265 - 631152000, nsec: 354737156 };
    const t = caValue(timed, Dbr.DOUBLE, {
      value: new Float64Array([3.14159]),
      meta: { status: 0, severity: 0, stamp },
    });
    assert.equal(
      formatRaw("T:ai", t, UTC),
      "T:ai structure \n    double value 3.14159\n" +
        "    time_t timeStamp 2026-11-21 13:21:05.355  \n" +
        "        long secondsPastEpoch 1795267265\n        int nanoseconds 354737156\n" +
        "        int userTag 0\n",
    );
    // T:alarm (VAL 9 above HIHI 8, MAJOR): CA status HIHI shows as a DEVICE alarm.
    const alarm = caValue(caPlan(Dbr.DOUBLE, 1), Dbr.DOUBLE, {
      value: new Float64Array([9]),
      meta: { ...AI_CTRL.meta, status: 3, severity: 2 },
    });
    assert.equal(`T:alarm ${formatNt(alarm, UTC)}`, "T:alarm 9 MAJOR DEVICE HIHI \n");
    // T:mbbo, never processed: UDF, undefined time, choices from DBR_CTRL_ENUM.
    const en = caPlan(Dbr.ENUM, 1);
    assert.deepEqual([en.dbrType, en.choicesDbr], [Dbr.TIME_ENUM, Dbr.CTRL_ENUM]);
    const mbbo = caValue(en, Dbr.ENUM, {
      value: new Uint16Array([0]),
      meta: { status: 17, severity: 3, stamp: { secPastEpoch: 0, nsec: 0 } },
    }, {
      value: new Uint16Array([0]),
      meta: { status: 0, severity: 0, enumStrings: ["Zero", "One", "Two"] },
    });
    assert.equal(
      formatRaw("T:mbbo", mbbo, UTC),
      "T:mbbo epics:nt/NTEnum:1.0 \n    enum_t value (0) Zero\n        int index 0\n" +
        "        string[] choices [Zero, One, Two]\n" +
        "    alarm_t alarm INVALID UNDEFINED UDF \n        int severity 3\n" +
        "        int status 6\n        string message UDF\n" +
        "    time_t timeStamp <undefined>              \n" +
        "        long secondsPastEpoch 0\n        int nanoseconds 0\n        int userTag 0\n",
    );
    assert.equal(
      `T:mbbo ${formatNt(mbbo, UTC)}`,
      "T:mbbo <undefined>              INVALID UNDEFINED UDF (0) Zero\n",
    );
    // T:str: DBR_TIME_STRING.
    const str = caPlan(Dbr.STRING, 1);
    assert.equal(str.dbrType, Dbr.TIME_STRING);
    const s = caValue(str, Dbr.STRING, {
      value: ["hello world"],
      meta: { status: 0, severity: 0, stamp },
    });
    assert.equal(`T:str ${formatNt(s, UTC)}`, 'T:str 2026-11-21 13:21:05.355  "hello world" \n');
    assert.equal(
      formatJson(s),
      '{value:"hello world",alarm:{severity:0,status:0,message:""},' +
        "timeStamp:{secondsPastEpoch:1795267265,nanoseconds:354737156,userTag:0}}\n",
    );
    // T:short (waveform SHORT, NELM 4, empty): value, alarm and display only.
    const arr = caPlan(Dbr.SHORT, 4);
    assert.equal(arr.dbrType, Dbr.CTRL_SHORT);
    const sh = caValue(arr, Dbr.SHORT, {
      value: new Int16Array(0),
      meta: { status: 17, severity: 3, units: "", upperDispLimit: 0, lowerDispLimit: 0 },
    });
    assert.equal(
      formatRaw("T:short", sh, UTC),
      "T:short structure \n    short[] value []\n" +
        "    alarm_t alarm INVALID UNDEFINED UDF \n        int severity 3\n" +
        "        int status 6\n        string message UDF\n" +
        "    display_t display\n        double limitLow 0\n        double limitHigh 0\n" +
        "        string description \n        string format I6\n        string units \n",
    );
    assert.equal(`T:short ${formatNt(sh, UTC)}`, "T:short INVALID UNDEFINED UDF []\n");
  },
});

// T:calc (calc, SCAN .1 second, no limits set): DBR_CTRL_DOUBLE with NaN alarm limits.
function calcCtrl(value: number): DbrData {
  return {
    value: new Float64Array([value]),
    meta: {
      status: 0,
      severity: 0,
      units: "",
      precision: 0,
      upperDispLimit: 0,
      lowerDispLimit: 0,
      upperAlarmLimit: NaN,
      upperWarningLimit: NaN,
      lowerWarningLimit: NaN,
      lowerAlarmLimit: NaN,
      upperCtrlLimit: 0,
      lowerCtrlLimit: 0,
    },
  };
}

const NAN_LIMITS = "    valueAlarm_t valueAlarm\n        double lowAlarmLimit nan\n" +
  "        double lowWarningLimit nan\n        double highWarningLimit nan\n" +
  "        double highAlarmLimit nan\n";

Deno.test({
  name: "ca provider monitor: later updates mark what differs (NaN always does)",
  permissions: "none",
  fn() {
    // pvmonitor -p ca -M raw T:calc and -M json against softIocPVX.
    const plan = caPlan(Dbr.DOUBLE, 1);
    const first = markDifferences(undefined, caValue(plan, Dbr.DOUBLE, calcCtrl(167)));
    const second = markDifferences(first, caValue(plan, Dbr.DOUBLE, calcCtrl(168)));
    assert.equal(
      formatRaw("T:calc", first, UTC),
      "T:calc structure \n    double value 167\n    alarm_t alarm \n" +
        "        int severity 0\n        int status 0\n        string message \n" +
        "    display_t display\n        double limitLow 0\n        double limitHigh 0\n" +
        "        string description \n        string format F6.0\n        string units \n" +
        "    control_t control\n        double limitLow 0\n        double limitHigh 0\n" +
        "        double minStep 0\n    valueAlarm_t valueAlarm\n        boolean active false\n" +
        "        double lowAlarmLimit nan\n        double lowWarningLimit nan\n" +
        "        double highWarningLimit nan\n        double highAlarmLimit nan\n" +
        "        int lowAlarmSeverity 0\n        int lowWarningSeverity 0\n" +
        "        int highWarningSeverity 0\n        int highAlarmSeverity 0\n" +
        "        byte hysteresis 0\n",
    );
    assert.equal(
      formatRaw("T:calc", second, UTC),
      "T:calc structure \n    double value 168\n" + NAN_LIMITS,
    );
    assert.equal(
      formatJson(second),
      "{value:168.0,valueAlarm:{lowAlarmLimit:NaN,lowWarningLimit:NaN," +
        "highWarningLimit:NaN,highAlarmLimit:NaN}}\n",
    );
    assert.equal(`T:calc ${formatNt(second, UTC)}`, "T:calc 168 \n");

    // -r field(value,alarm,timeStamp): DBR_TIME_DOUBLE; only the changed stamp parts.
    const timed = caPlan(Dbr.DOUBLE, 1, "field(value,alarm,timeStamp)");
    const at = (value: number, sec: number, nsec: number) =>
      caValue(timed, Dbr.DOUBLE, {
        value: new Float64Array([value]),
        meta: { status: 0, severity: 0, stamp: { secPastEpoch: sec - 631152000, nsec } },
      });
    const a = markDifferences(undefined, at(274, 1795269285, 589631986));
    const b = markDifferences(a, at(275, 1795269285, 689560083));
    assert.equal(
      formatJson(a),
      '{value:274.0,alarm:{severity:0,status:0,message:""},' +
        "timeStamp:{secondsPastEpoch:1795269285,nanoseconds:589631986,userTag:0}}\n",
    );
    assert.equal(formatJson(b), "{value:275.0,timeStamp:{nanoseconds:689560083}}\n");
    assert.equal(
      formatRaw("T:calc", b, UTC),
      "T:calc structure \n    double value 275\n" +
        "    time_t timeStamp 2026-11-21 13:54:45.690  \n        int nanoseconds 689560083\n",
    );
  },
});

Deno.test({
  name: "ca provider put: the value written for scalars, enums, strings and arrays",
  permissions: "none",
  fn() {
    const put = (nativeType: number, count: number, data: DbrData, args: string[]) => {
      const plan = caPlan(nativeType, count, "field(value)");
      const choices = nativeType === Dbr.ENUM
        ? {
          value: new Uint16Array([0]),
          meta: { status: 0, severity: 0, enumStrings: ["Zero", "One", "Two"] },
        }
        : undefined;
      const cur = caValue(plan, nativeType, data, choices);
      return caPutValue(buildPut(cur, args, () => {}));
    };
    const meta = { status: 0, severity: 0 };
    assert.equal(put(Dbr.DOUBLE, 1, { value: new Float64Array([1.5]), meta }, ["2.5"]), 2.5);
    assert.equal(put(Dbr.DOUBLE, 1, { value: new Float64Array([1.5]), meta }, ["value=3.5"]), 3.5);
    assert.equal(put(Dbr.LONG, 1, { value: new Int32Array([42]), meta }, ["0x10"]), 16);
    assert.equal(put(Dbr.ENUM, 1, { value: new Uint16Array([0]), meta }, ["Two"]), 2);
    assert.equal(put(Dbr.ENUM, 1, { value: new Uint16Array([0]), meta }, ["1"]), 1);
    assert.equal(put(Dbr.STRING, 1, { value: ["x"], meta }, ["a=b"]), "a=b");
    assert.deepEqual(
      put(Dbr.DOUBLE, 10, { value: new Float64Array(0), meta }, ["3", "1", "2", "3"]),
      [1, 2, 3],
    );
    assert.deepEqual(put(Dbr.DOUBLE, 10, { value: new Float64Array(0), meta }, ["[4,5]"]), [4, 5]);
    // pvput -p ca T:ao display.units=x: the put structure has the value alone.
    assert.throws(
      () => put(Dbr.DOUBLE, 1, { value: new Float64Array([1.5]), meta }, ["display.units=x"]),
      /No valid value\(s\) specified/,
    );
  },
});
