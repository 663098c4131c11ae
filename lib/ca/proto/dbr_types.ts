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
  status: number;
  severity: number;
  stamp?: EpicsTimeStamp;
  units?: string;
  precision?: number;
  upperDispLimit?: number;
  lowerDispLimit?: number;
  upperAlarmLimit?: number;
  upperWarningLimit?: number;
  lowerWarningLimit?: number;
  lowerAlarmLimit?: number;
  upperCtrlLimit?: number;
  lowerCtrlLimit?: number;
  /** Enum state strings (GR_ENUM / CTRL_ENUM); `no_str` on the wire is their count. */
  enumStrings?: string[];
  ackt?: number;
  acks?: number;
}

/** A decoded (or to-be-encoded) DBR payload. */
export interface DbrData {
  value: DbrValues;
  meta: DbrMeta;
}
