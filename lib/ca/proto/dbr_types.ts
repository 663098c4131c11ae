/**
 * The shapes of decoded DBR payloads: one value array plus the metadata the DBR family
 * carries. Shared by the codec (dbr.ts), the server, the client and the formatters.
 * @module
 */

import type { EpicsTimeStamp } from "../../core/time.ts";

/**
 * The value elements of a DBR payload, typed by the payload's value type:
 * STRING: string[]; SHORT: Int16Array; FLOAT: Float32Array; ENUM: Uint16Array;
 * CHAR: Uint8Array; LONG: Int32Array; DOUBLE: Float64Array.
 * (PUT_ACKT/PUT_ACKS carry a Uint16Array; STSACK_STRING and CLASS_NAME a string[].)
 */
export type DbrValues =
  | string[]
  | Int16Array
  | Float32Array
  | Uint16Array
  | Uint8Array
  | Int32Array
  | Float64Array;

/**
 * Metadata of a DBR payload. Which fields are present depends on the family:
 * STS: status, severity. TIME: + stamp. GR: + units, precision (FLOAT/DOUBLE only),
 * the six display/alarm limits, or enumStrings for ENUM. CTRL: + the two control limits.
 * STSACK_STRING: + ackt, acks. Plain types have none (status/severity read as 0).
 */
export interface DbrMeta {
  /** Alarm status code ({@link AlarmStatus}); 0 for plain types. */
  status: number;
  /** Alarm severity code ({@link AlarmSeverity}); 0 for plain types. */
  severity: number;
  /** Timestamp (TIME family). */
  stamp?: EpicsTimeStamp;
  /** Engineering units, at most 7 bytes on the wire (GR/CTRL). */
  units?: string;
  /** Display precision (GR/CTRL of FLOAT and DOUBLE). */
  precision?: number;
  /** Upper display limit (GR/CTRL). */
  upperDispLimit?: number;
  /** Lower display limit (GR/CTRL). */
  lowerDispLimit?: number;
  /** Upper alarm limit, the HIHI threshold (GR/CTRL). */
  upperAlarmLimit?: number;
  /** Upper warning limit, the HIGH threshold (GR/CTRL). */
  upperWarningLimit?: number;
  /** Lower warning limit, the LOW threshold (GR/CTRL). */
  lowerWarningLimit?: number;
  /** Lower alarm limit, the LOLO threshold (GR/CTRL). */
  lowerAlarmLimit?: number;
  /** Upper control limit, the highest value a put may set (CTRL). */
  upperCtrlLimit?: number;
  /** Lower control limit, the lowest value a put may set (CTRL). */
  lowerCtrlLimit?: number;
  /** Enum state strings (GR_ENUM / CTRL_ENUM); `no_str` on the wire is their count. */
  enumStrings?: string[];
  /** Acknowledge-transient flag (STSACK_STRING). */
  ackt?: number;
  /** Highest unacknowledged alarm severity (STSACK_STRING). */
  acks?: number;
}

/** A decoded (or to-be-encoded) DBR payload. */
export interface DbrData {
  /** The value elements. */
  value: DbrValues;
  /** The metadata of the payload's family. */
  meta: DbrMeta;
}
