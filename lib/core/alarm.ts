/**
 * Alarm severities and statuses, numbered as menuAlarmSevr and menuAlarmStat in the IOC.
 * @module
 */

/** Alarm severity codes. */
export const AlarmSeverity = {
  NO_ALARM: 0,
  MINOR: 1,
  MAJOR: 2,
  INVALID: 3,
} as const;
/** One alarm severity code. */
export type AlarmSeverity = typeof AlarmSeverity[keyof typeof AlarmSeverity];

/** Severity names indexed by code, as catools print them. */
export const ALARM_SEVERITY_NAMES: readonly string[] = ["NO_ALARM", "MINOR", "MAJOR", "INVALID"];

/** Alarm status (condition) codes. */
export const AlarmStatus = {
  NO_ALARM: 0,
  READ: 1,
  WRITE: 2,
  HIHI: 3,
  HIGH: 4,
  LOLO: 5,
  LOW: 6,
  STATE: 7,
  COS: 8,
  COMM: 9,
  TIMEOUT: 10,
  HWLIMIT: 11,
  CALC: 12,
  SCAN: 13,
  LINK: 14,
  SOFT: 15,
  BAD_SUB: 16,
  UDF: 17,
  DISABLE: 18,
  SIMM: 19,
  READ_ACCESS: 20,
  WRITE_ACCESS: 21,
} as const;
/** One alarm status code. */
export type AlarmStatus = typeof AlarmStatus[keyof typeof AlarmStatus];

/** Status names indexed by code, as catools print them. */
export const ALARM_STATUS_NAMES: readonly string[] = Object.keys(AlarmStatus);

/**
 * Names a severity code, tolerating codes outside the table.
 * @param code the severity code
 * @returns its name, or the number as text when unknown
 * @example
 * ```ts
 * import { AlarmSeverity, severityName } from "./mod.ts";
 * if (severityName(AlarmSeverity.MAJOR) !== "MAJOR") throw new Error();
 * ```
 */
export function severityName(code: number): string {
  return ALARM_SEVERITY_NAMES[code] ?? String(code);
}

/**
 * Names a status code, tolerating codes outside the table.
 * @param code the status code
 * @returns its name, or the number as text when unknown
 * @example
 * ```ts
 * import { AlarmStatus, statusName } from "./mod.ts";
 * if (statusName(AlarmStatus.HIHI) !== "HIHI") throw new Error();
 * ```
 */
export function statusName(code: number): string {
  return ALARM_STATUS_NAMES[code] ?? String(code);
}
