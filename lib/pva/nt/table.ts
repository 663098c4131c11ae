/**
 * NTTable: builder, filler and by-name reader.
 *
 * ```text
 * epics:nt/NTTable:1.0
 *   string[] labels | structure value { <T>[] <column>... }
 *   string descriptor | alarm_t alarm | time_t timeStamp
 * ```
 * @module
 */

import { LocalProtocolError } from "../../core/errors.ts";
import type { EpicsTimeStamp } from "../../core/time.ts";
import type { ScalarType } from "../../pv/types.ts";
import { type FieldDesc, PvValue, T, TypeCode } from "../proto/mod.ts";
import {
  alarmT,
  isStruct,
  type NtAlarm,
  NtId,
  readAlarm,
  readString,
  readTimeStamp,
  scalarDesc,
  timeT,
} from "./common.ts";

/** One column of a table: member name, element type, and heading. */
export interface NtTableColumn {
  /** Member name of the column in `value`. */
  name: string;
  /** Element type of the column. */
  type: ScalarType;
  /** Heading shown by clients (default: the name). */
  label?: string;
}

/**
 * Builds an NTTable type.
 * @param columns the columns, in order
 * @returns the structure type
 * @example
 * ```ts
 * import { ntTableType } from "./table.ts";
 * const t = ntTableType([{ name: "x", type: "float64" }, { name: "tag", type: "string" }]);
 * if (t.member("value")?.member("tag")?.typeName !== "string[]") throw new Error();
 * ```
 */
export function ntTableType(columns: readonly NtTableColumn[]): FieldDesc {
  return T.struct(NtId.NTTable, [
    ["labels", T.array(T.string)],
    ["value", T.struct("", columns.map((c) => [c.name, T.array(scalarDesc(c.type))]))],
    ["descriptor", T.string],
    ["alarm", alarmT],
    ["timeStamp", timeT],
  ]);
}

/**
 * Builds an NTTable value from columns of data.
 * @param columns the column definitions
 * @param data column name -> values (all columns the same length)
 * @returns the value, every field marked changed
 * @throws {LocalProtocolError} when the columns differ in length
 * @example
 * ```ts
 * import { ntTableValue, readNtTable } from "./mod.ts";
 * const columns = [{ name: "x", type: "float64" as const }, { name: "tag", type: "string" as const }];
 * const v = ntTableValue(columns, { x: [1, 2], tag: ["a", "b"] });
 * const t = readNtTable(v);
 * if (t.names.join() !== "x,tag" || t.columns.tag[1] !== "b" || t.labels[0] !== "x") {
 *   throw new Error();
 * }
 * ```
 */
export function ntTableValue(
  columns: readonly NtTableColumn[],
  data: Record<string, ArrayLike<unknown>>,
): PvValue {
  const v = PvValue.create(ntTableType(columns));
  let len = -1;
  for (const c of columns) {
    const col = data[c.name] ?? [];
    if (len >= 0 && col.length !== len) {
      throw new LocalProtocolError(
        `Cannot build NTTable: column "${c.name}" has ${col.length} rows, not ${len}`,
      );
    }
    len = col.length;
    v.set(`value.${c.name}`, Array.from(col));
  }
  v.set("labels", columns.map((c) => c.label ?? c.name));
  return v.markChanged("");
}

/** What {@link readNtTable} finds. */
export interface NtTableData {
  /** Column headings. */
  labels: string[];
  /** Column member names, in the order of the value structure. */
  names: string[];
  /** Column name -> its array. */
  columns: Record<string, unknown[] | ArrayLike<number | bigint>>;
  /** `descriptor` text. */
  descriptor: string;
  /** The alarm. */
  alarm: NtAlarm;
  /** The timestamp. */
  timeStamp: EpicsTimeStamp;
}

/**
 * Reads an NTTable by member name.
 * @param v the received value
 * @returns labels, column names and data, descriptor, alarm and timestamp
 */
export function readNtTable(v: PvValue): NtTableData {
  const labels = v.tryField("labels")?.value;
  const value = v.tryField("value");
  const names: string[] = [];
  const columns: NtTableData["columns"] = {};
  if (isStruct(value)) {
    for (const [name, node] of value.members()) {
      if ((node.type.code & 0x18) === 0 || node.type.code >= TypeCode.STRUCTURE) continue;
      names.push(name);
      columns[name] = node.value as unknown[];
    }
  }
  return {
    labels: Array.isArray(labels) ? labels.map(String) : names,
    names,
    columns,
    descriptor: readString(v, "descriptor"),
    alarm: readAlarm(v),
    timeStamp: readTimeStamp(v),
  };
}
