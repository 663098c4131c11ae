/**
 * Pieces every Normative Type shares: `alarm_t`, `time_t`, `enum_t`, the scalar type
 * table between the PV model and PVA type codes, and tolerant by-name readers.
 *
 * ```text
 * alarm_t { int severity; int status; string message }
 * time_t  { long secondsPastEpoch; int nanoseconds; int userTag }   (POSIX epoch)
 * enum_t  { int index; string[] choices }
 * ```
 * @module
 */

import { AlarmStatus, statusName } from "../../core/alarm.ts";
import { LocalProtocolError } from "../../core/errors.ts";
import { type EpicsTimeStamp, posixToEpics } from "../../core/time.ts";
import type { ScalarType } from "../../pv/types.ts";
import { type FieldDesc, type PvValue, T, TypeCode } from "../proto/mod.ts";

/** The NT type IDs this module builds and reads. */
export const NtId = {
  NTScalar: "epics:nt/NTScalar:1.0",
  NTScalarArray: "epics:nt/NTScalarArray:1.0",
  NTEnum: "epics:nt/NTEnum:1.0",
  NTNDArray: "epics:nt/NTNDArray:1.0",
  NTTable: "epics:nt/NTTable:1.0",
  NTAttribute: "epics:nt/NTAttribute:1.0",
  NTURI: "epics:nt/NTURI:1.0",
} as const;

/**
 * The name part of an NT type ID ("epics:nt/NTScalar:1.0" gives "NTScalar"); any 1.x
 * version matches. Returns "" for other IDs.
 * @param id a structure type ID
 * @returns the NT name, or ""
 * @example
 * ```ts
 * import { ntName } from "./mod.ts";
 * if (ntName("epics:nt/NTScalar:1.2") !== "NTScalar" || ntName("my_t") !== "") throw new Error();
 * ```
 */
export function ntName(id: string): string {
  const m = /^epics:nt\/(NT[A-Za-z]+):1(\.\d+)?$/.exec(id);
  return m ? m[1] : "";
}

/** `alarm_t`. */
export const alarmT: FieldDesc = T.struct("alarm_t", [
  ["severity", T.int],
  ["status", T.int],
  ["message", T.string],
]);

/** `time_t`. */
export const timeT: FieldDesc = T.struct("time_t", [
  ["secondsPastEpoch", T.long],
  ["nanoseconds", T.int],
  ["userTag", T.int],
]);

/** `enum_t`. */
export const enumT: FieldDesc = T.struct("enum_t", [
  ["index", T.int],
  ["choices", T.array(T.string)],
]);

/** The display.form choices pvxs offers. */
export const FORM_CHOICES: readonly string[] = [
  "Default",
  "String",
  "Binary",
  "Decimal",
  "Hex",
  "Exponential",
  "Engineering",
];

const CODE_OF: Record<ScalarType, number> = {
  int8: TypeCode.BYTE,
  uint8: TypeCode.UBYTE,
  int16: TypeCode.SHORT,
  uint16: TypeCode.USHORT,
  int32: TypeCode.INT,
  uint32: TypeCode.UINT,
  int64: TypeCode.LONG,
  uint64: TypeCode.ULONG,
  float32: TypeCode.FLOAT,
  float64: TypeCode.DOUBLE,
  string: TypeCode.STRING,
  boolean: TypeCode.BOOLEAN,
};

/**
 * The PVA scalar type of a PV element type.
 * @param t the element type
 */
export function scalarDesc(t: ScalarType): FieldDesc {
  return T.code(CODE_OF[t]);
}

/**
 * The PV element type of a PVA scalar (or scalar array) type.
 * @param d a scalar or scalar-array type
 * @throws {LocalProtocolError} for structures, unions and the like
 */
export function scalarTypeOf(d: FieldDesc): ScalarType {
  const code = d.scalarCode;
  for (const [k, v] of Object.entries(CODE_OF)) if (v === code) return k as ScalarType;
  throw new LocalProtocolError(`Cannot map type ${d.typeName} to a PV element type`);
}

/**
 * PVA `alarm.status` for a CA alarm condition, as QSRV maps it: DEVICE for the
 * limit and state conditions, DRIVER for communication, RECORD for processing, DB for
 * access and simulation, UNDEFINED otherwise.
 * @param caStatus a CA alarm condition (lib/core AlarmStatus)
 * @returns the PVA status code (0 none, 1 device, 2 driver, 3 record, 4 db, 6 undefined)
 * @example
 * ```ts
 * import { AlarmStatus } from "../../core/alarm.ts";
 * import { pvaAlarmStatus } from "./mod.ts";
 * if (pvaAlarmStatus(AlarmStatus.HIHI) !== 1 || pvaAlarmStatus(AlarmStatus.COMM) !== 2) {
 *   throw new Error();
 * }
 * ```
 */
export function pvaAlarmStatus(caStatus: number): number {
  const A = AlarmStatus;
  switch (caStatus) {
    case A.NO_ALARM:
      return 0;
    case A.READ:
    case A.WRITE:
    case A.HIHI:
    case A.HIGH:
    case A.LOLO:
    case A.LOW:
    case A.STATE:
    case A.COS:
    case A.HWLIMIT:
      return 1;
    case A.COMM:
    case A.TIMEOUT:
    case A.UDF:
      return 2;
    case A.CALC:
    case A.SCAN:
    case A.LINK:
    case A.SOFT:
    case A.BAD_SUB:
      return 3;
    case A.DISABLE:
    case A.SIMM:
    case A.READ_ACCESS:
    case A.WRITE_ACCESS:
      return 4;
  }
  return 6;
}

/**
 * The `alarm_t` content for a PV alarm: the message defaults to the condition name (but
 * for NO_ALARM, which QSRV's layout names too).
 * @param a severity, CA condition and message
 * @param layout the PV's layout (PvTypeInfo.layout)
 * @returns severity, PVA status code and message
 * @example
 * ```ts
 * import { alarmContent } from "./common.ts";
 * const ok = { severity: 0, status: 0, message: "" };
 * if (alarmContent(ok).message !== "" || alarmContent(ok, "qsrv").message !== "NO_ALARM") {
 *   throw new Error();
 * }
 * ```
 */
export function alarmContent(
  a: { severity: number; status: number; message: string },
  layout?: "qsrv",
): { severity: number; status: number; message: string } {
  const message = a.message !== ""
    ? a.message
    : a.status === 0 && layout !== "qsrv"
    ? ""
    : statusName(a.status);
  return { severity: a.severity, status: pvaAlarmStatus(a.status), message };
}

/** An alarm as read back from `alarm_t` (status is the PVA status code). */
export interface NtAlarm {
  /** Alarm severity code (0 NO_ALARM .. 3 INVALID). */
  severity: number;
  /** PVA alarm status code (0 none, 1 device, 2 driver, 3 record, ...). */
  status: number;
  /** Alarm message ("" when none). */
  message: string;
}

function num(v: unknown, fallback = 0): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return fallback;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * Reads the number at `path` of a value, tolerating a missing field.
 * @returns the number, or `fallback`
 */
export function readNumber(v: PvValue, path: string, fallback = 0): number {
  const f = v.tryField(path);
  return f ? num(f.value, fallback) : fallback;
}

/** Reads the string at `path`, "" when missing. */
export function readString(v: PvValue, path: string): string {
  const f = v.tryField(path);
  return f ? str(f.value) : "";
}

/**
 * Reads `alarm` (by member names) from an NT value.
 * @param v the NT structure (or any structure with an `alarm` member)
 * @returns the alarm, zeros when absent
 */
export function readAlarm(v: PvValue, path = "alarm"): NtAlarm {
  return {
    severity: readNumber(v, `${path}.severity`),
    status: readNumber(v, `${path}.status`),
    message: readString(v, `${path}.message`),
  };
}

/**
 * Reads a `time_t` member as an EPICS timestamp (POSIX seconds converted to the 1990
 * epoch).
 * @param v the NT structure
 * @param path the member, default "timeStamp"
 */
export function readTimeStamp(v: PvValue, path = "timeStamp"): EpicsTimeStamp {
  return posixToEpics(
    readNumber(v, `${path}.secondsPastEpoch`),
    readNumber(v, `${path}.nanoseconds`),
  );
}

/** Whether a node is a structure. */
export function isStruct(v: PvValue | undefined): v is PvValue {
  return v !== undefined && v.type.code === TypeCode.STRUCTURE;
}
