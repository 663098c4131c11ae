/**
 * The layout EPICS base's QSRV (softIocPVA, pva2pva 7.0.8.1) gives IOC channels, for PVs
 * whose type says `layout: "qsrv"` (lib/ioc's channels and the members of its groups).
 * It differs from pvxs's (scalar.ts, enum.ts), which pvserve keeps:
 *
 * ```text
 * epics:nt/NTScalar:1.0 (NTScalarArray: value is <T>[])
 *   <T> value | alarm_t alarm | structure timeStamp (no id) { long secondsPastEpoch;
 *                                                            int nanoseconds; int userTag }
 *   display { double limitLow; double limitHigh; string description; string units;
 *             int precision; enum_t form }                      (strings too)
 *   control_t control { double limitLow; double limitHigh; double minStep }   (strings too)
 *   valueAlarm_t valueAlarm { boolean active; double lowAlarmLimit; double lowWarningLimit;
 *             double highWarningLimit; double highAlarmLimit; int lowAlarmSeverity;
 *             int lowWarningSeverity; int highWarningSeverity; int highAlarmSeverity;
 *             byte hysteresis }                                 (not for strings)
 * epics:nt/NTEnum:1.0
 *   enum_t value | alarm_t alarm | structure timeStamp          (no display)
 * ```
 *
 * QSRV fills only some of these: value, alarm, the time stamp, and (on DBE_PROPERTY)
 * display limits, description, units, precision, form index, control limits, the four
 * alarm limits and an enum's choices. valueAlarm.active, the severities, hysteresis and
 * minStep keep their zero, and a string's limits, units and precision stay 0 and "".
 * alarm.message is the record's AMSG, or else the condition's name, "NO_ALARM" too
 * (common.ts alarmContent).
 * Pure.
 * @module
 */

import type { PvTypeInfo } from "../../pv/types.ts";
import { type FieldDesc, T, TypeCode } from "../proto/mod.ts";
import { alarmT, enumT, NtId, scalarDesc } from "./common.ts";

/** QSRV's time stamp: `time_t`'s members, but a structure without an id. */
export const qsrvTimeT: FieldDesc = T.struct("", [
  ["secondsPastEpoch", T.long],
  ["nanoseconds", T.int],
  ["userTag", T.int],
]);

/** pvData's standard `control_t`. */
export const controlT: FieldDesc = T.struct("control_t", [
  ["limitLow", T.double],
  ["limitHigh", T.double],
  ["minStep", T.double],
]);

/** pvData's standard `valueAlarm_t` of a double alarm (hysteresis is a byte there). */
export const valueAlarmT: FieldDesc = T.struct("valueAlarm_t", [
  ["active", T.boolean],
  ["lowAlarmLimit", T.double],
  ["lowWarningLimit", T.double],
  ["highWarningLimit", T.double],
  ["highAlarmLimit", T.double],
  ["lowAlarmSeverity", T.int],
  ["lowWarningSeverity", T.int],
  ["highWarningSeverity", T.int],
  ["highAlarmSeverity", T.int],
  ["hysteresis", T.byte],
]);

const displayT: FieldDesc = T.struct("", [
  ["limitLow", T.double],
  ["limitHigh", T.double],
  ["description", T.string],
  ["units", T.string],
  ["precision", T.int],
  ["form", enumT],
]);

/**
 * The fields QSRV fills on a property change (when the type has them): these and the
 * time stamp are what such an update marks.
 */
export const QSRV_PROPERTY_PATHS: readonly string[] = [
  "display.limitHigh",
  "display.limitLow",
  "control.limitHigh",
  "control.limitLow",
  "display.units",
  "display.description",
  "display.precision",
  "display.form.index",
  "valueAlarm.highWarningLimit",
  "valueAlarm.lowWarningLimit",
  "valueAlarm.highAlarmLimit",
  "valueAlarm.lowAlarmLimit",
  "value.choices",
];

/**
 * The structure QSRV serves a channel of this type as: NTEnum for an enum, NTScalar or
 * NTScalarArray otherwise (an enum array would be shorts; IOC channels have none).
 * @param t the PV's type (scalar, array or enum)
 * @returns the structure type
 * @example
 * ```ts
 * import { qsrvType } from "./qsrv.ts";
 * const t = qsrvType({ kind: "scalar", scalar: "int32", maxLength: 1, layout: "qsrv" });
 * if (t.member("control")?.id !== "control_t") throw new Error();
 * if (t.member("display")?.member("limitLow")?.typeName !== "double") throw new Error();
 * ```
 */
export function qsrvType(t: PvTypeInfo): FieldDesc {
  if (t.kind === "enum") {
    return T.struct(NtId.NTEnum, [["value", enumT], ["alarm", alarmT], ["timeStamp", qsrvTimeT]]);
  }
  const el = scalarDesc(t.scalar);
  const members: [string, FieldDesc][] = [
    ["value", t.kind === "array" ? T.array(el) : el],
    ["alarm", alarmT],
    ["timeStamp", qsrvTimeT],
    ["display", displayT],
    ["control", controlT],
  ];
  if (el.code !== TypeCode.STRING) members.push(["valueAlarm", valueAlarmT]);
  return T.struct(t.kind === "array" ? NtId.NTScalarArray : NtId.NTScalar, members);
}
