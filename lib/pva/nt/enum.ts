/**
 * NTEnum: builder in pvxs's layout and a by-name reader.
 *
 * ```text
 * epics:nt/NTEnum:1.0
 *   enum_t value { int index; string[] choices } | alarm_t alarm | time_t timeStamp
 *   display { string description }
 * ```
 * @module
 */

import type { EpicsTimeStamp } from "../../core/time.ts";
import { type FieldDesc, type PvValue, T } from "../proto/mod.ts";
import {
  alarmT,
  enumT,
  type NtAlarm,
  NtId,
  readAlarm,
  readNumber,
  readString,
  readTimeStamp,
  timeT,
} from "./common.ts";

/**
 * Builds the NTEnum type.
 * @param options whether to include `display` (default true)
 * @returns the structure type
 * @example
 * ```ts
 * import { ntEnumType } from "./enum.ts";
 * if (ntEnumType().member("value")?.id !== "enum_t") throw new Error();
 * ```
 */
export function ntEnumType(options: { display?: boolean } = {}): FieldDesc {
  const members: [string, FieldDesc][] = [
    ["value", enumT],
    ["alarm", alarmT],
    ["timeStamp", timeT],
  ];
  if (options.display ?? true) {
    members.push(["display", T.struct("", [["description", T.string]])]);
  }
  return T.struct(NtId.NTEnum, members);
}

/** What {@link readNtEnum} finds. */
export interface NtEnumData {
  /** The selected state's index. */
  index: number;
  /** The state names. */
  choices: string[];
  /** The alarm. */
  alarm: NtAlarm;
  /** The timestamp. */
  timeStamp: EpicsTimeStamp;
  /** `display.description` ("" when absent). */
  description: string;
}

/**
 * Reads an NTEnum by member name.
 * @param v the received value
 * @returns index, choices, alarm, timestamp and description
 * @example
 * ```ts
 * import { PvValue } from "../proto/mod.ts";
 * import { ntEnumType, readNtEnum } from "./mod.ts";
 * const v = PvValue.create(ntEnumType(), { value: { index: 1, choices: ["Off", "On"] } });
 * const e = readNtEnum(v);
 * if (e.choices[e.index] !== "On") throw new Error();
 * ```
 */
export function readNtEnum(v: PvValue): NtEnumData {
  const choices = v.tryField("value.choices")?.value;
  return {
    index: readNumber(v, "value.index"),
    choices: Array.isArray(choices) ? choices.map(String) : [],
    alarm: readAlarm(v),
    timeStamp: readTimeStamp(v),
    description: readString(v, "display.description"),
  };
}
