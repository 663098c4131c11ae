/**
 * NTScalar and NTScalarArray: builders with the member layout pvxs uses, and readers
 * that look every member up by name.
 *
 * ```text
 * epics:nt/NTScalar:1.0 (NTScalarArray: value is <T>[])
 *   <T> value | alarm_t alarm | time_t timeStamp
 *   display    { <T> limitLow; <T> limitHigh; string description; string units;
 *                int precision; enum_t form }          (numeric; strings/booleans:
 *                                                       { string description; string units })
 *   control    { <T> limitLow; <T> limitHigh; <T> minStep }                   (numeric)
 *   valueAlarm { boolean active; <T> lowAlarmLimit; <T> lowWarningLimit;
 *                <T> highWarningLimit; <T> highAlarmLimit; int lowAlarmSeverity;
 *                int lowWarningSeverity; int highWarningSeverity; int highAlarmSeverity;
 *                double hysteresis }                                          (numeric)
 * ```
 * @module
 */

import type { EpicsTimeStamp } from "../../core/time.ts";
import type { PvControl, PvDisplay, PvValueAlarm, ScalarType } from "../../pv/types.ts";
import { type FieldDesc, type MemberSpec, type PvValue, T, TypeCode } from "../proto/mod.ts";
import {
  alarmT,
  enumT,
  isStruct,
  type NtAlarm,
  NtId,
  readAlarm,
  readNumber,
  readString,
  readTimeStamp,
  scalarDesc,
  timeT,
} from "./common.ts";

/** Which optional members an NTScalar gets (default: all that suit the value type). */
export interface NtScalarOptions {
  /** Value is an array (NTScalarArray). */
  array?: boolean;
  /** Adds `display` (limits, description, units; default true). */
  display?: boolean;
  /** display.precision and display.form (numeric values; default true). */
  form?: boolean;
  /** Adds `control` (numeric values; default true). */
  control?: boolean;
  /** Adds `valueAlarm` (numeric values; default true). */
  valueAlarm?: boolean;
}

/**
 * Builds an NTScalar or NTScalarArray type in pvxs's member order.
 * @param scalar the element type (PV model name or a PVA scalar type)
 * @param options array-ness and optional members
 * @returns the structure type
 * @example
 * ```ts
 * import { ntScalarType } from "./scalar.ts";
 * const t = ntScalarType("float64");
 * if (t.id !== "epics:nt/NTScalar:1.0" || t.member("value")?.typeName !== "double") throw new Error();
 * ```
 */
export function ntScalarType(
  scalar: ScalarType | FieldDesc,
  options: NtScalarOptions = {},
): FieldDesc {
  const el = typeof scalar === "string" ? scalarDesc(scalar) : T.code(scalar.scalarCode);
  const numeric = el.code !== TypeCode.STRING && el.code !== TypeCode.BOOLEAN;
  const members: [string, FieldDesc][] = [
    ["value", options.array ? T.array(el) : el],
    ["alarm", alarmT],
    ["timeStamp", timeT],
  ];
  if (options.display ?? true) {
    if (numeric) {
      const d: MemberSpec = [
        ["limitLow", el],
        ["limitHigh", el],
        ["description", T.string],
        ["units", T.string],
      ];
      members.push([
        "display",
        T.struct(
          "",
          options.form ?? true ? [...d, ["precision", T.int], ["form", enumT]] : d,
        ),
      ]);
    } else {
      members.push(["display", T.struct("", [["description", T.string], ["units", T.string]])]);
    }
  }
  if (numeric && (options.control ?? true)) {
    members.push([
      "control",
      T.struct("", [["limitLow", el], ["limitHigh", el], ["minStep", el]]),
    ]);
  }
  if (numeric && (options.valueAlarm ?? true)) {
    members.push([
      "valueAlarm",
      T.struct("", [
        ["active", T.boolean],
        ["lowAlarmLimit", el],
        ["lowWarningLimit", el],
        ["highWarningLimit", el],
        ["highAlarmLimit", el],
        ["lowAlarmSeverity", T.int],
        ["lowWarningSeverity", T.int],
        ["highWarningSeverity", T.int],
        ["highAlarmSeverity", T.int],
        ["hysteresis", T.double],
      ]),
    ]);
  }
  return T.struct(options.array ? NtId.NTScalarArray : NtId.NTScalar, members);
}

/** What {@link readNtScalar} finds; optional members are undefined when absent. */
export interface NtScalarData {
  /** The value (scalar or array). */
  value: unknown;
  /** The alarm. */
  alarm: NtAlarm;
  /** The timestamp. */
  timeStamp: EpicsTimeStamp;
  /** Display limits, description, units, precision and form. */
  display?: PvDisplay;
  /** Control limits and step. */
  control?: PvControl;
  /** Alarm limits and severities. */
  valueAlarm?: PvValueAlarm;
}

/**
 * Reads an NTScalar or NTScalarArray (or any structure with a `value`) by member name.
 * @param v the received value
 * @returns the content; members the producer left out are undefined or zero
 * @example
 * ```ts
 * import { PvValue } from "../proto/mod.ts";
 * import { ntScalarType, readNtScalar } from "./mod.ts";
 * const v = PvValue.create(ntScalarType("float64"), {
 *   value: 3.5,
 *   alarm: { severity: 1, status: 1, message: "HIGH" },
 *   display: { units: "V" },
 * });
 * const s = readNtScalar(v);
 * if (s.value !== 3.5 || s.alarm.severity !== 1 || s.display?.units !== "V") throw new Error();
 * ```
 */
export function readNtScalar(v: PvValue): NtScalarData {
  const out: NtScalarData = {
    value: v.tryField("value")?.value,
    alarm: readAlarm(v),
    timeStamp: readTimeStamp(v),
  };
  const d = v.tryField("display");
  if (isStruct(d)) {
    out.display = {
      limitLow: readNumber(d, "limitLow"),
      limitHigh: readNumber(d, "limitHigh"),
      description: readString(d, "description"),
      units: readString(d, "units"),
      precision: readNumber(d, "precision"),
    };
  }
  const c = v.tryField("control");
  if (isStruct(c)) {
    out.control = {
      limitLow: readNumber(c, "limitLow"),
      limitHigh: readNumber(c, "limitHigh"),
      minStep: readNumber(c, "minStep"),
    };
  }
  const a = v.tryField("valueAlarm");
  if (isStruct(a)) {
    out.valueAlarm = {
      active: a.tryField("active")?.value === true,
      lowAlarmLimit: readNumber(a, "lowAlarmLimit", NaN),
      lowWarningLimit: readNumber(a, "lowWarningLimit", NaN),
      highWarningLimit: readNumber(a, "highWarningLimit", NaN),
      highAlarmLimit: readNumber(a, "highAlarmLimit", NaN),
      lowAlarmSeverity: readNumber(a, "lowAlarmSeverity"),
      lowWarningSeverity: readNumber(a, "lowWarningSeverity"),
      highWarningSeverity: readNumber(a, "highWarningSeverity"),
      highAlarmSeverity: readNumber(a, "highAlarmSeverity"),
      hysteresis: readNumber(a, "hysteresis"),
    };
  }
  return out;
}
