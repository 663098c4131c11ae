/**
 * NTURI, the conventional argument structure of a PVA RPC call, built from plain query
 * arguments (as pvxs' `pvxcall name a=1 b=x` builds it from the command line).
 *
 * ```text
 * epics:nt/NTURI:1.0
 *   string scheme ("pva") | string path (the channel name)
 *   structure query { <member>... }   one member per argument, in order
 * ```
 * @module
 */

import { LocalProtocolError } from "../../core/errors.ts";
import { type FieldDesc, T } from "../proto/typedesc.ts";
import { PvValue } from "../proto/value.ts";

/** The type id of NTURI. */
export const NTURI_ID = "epics:nt/NTURI:1.0";

/** A query argument: member type follows the JS type. */
export type QueryArg = string | number | bigint | boolean;

function argType(name: string, v: unknown): FieldDesc {
  switch (typeof v) {
    case "string":
      return T.string;
    case "number":
      return T.double;
    case "bigint":
      return T.long;
    case "boolean":
      return T.boolean;
  }
  throw new LocalProtocolError(
    `Cannot build an NTURI query: argument "${name}" is ${v === null ? "null" : typeof v}, ` +
      "not a string, number, bigint or boolean",
  );
}

/**
 * Builds NTURI arguments for an RPC call: strings stay strings, numbers become double,
 * bigints long, booleans boolean.
 * @param path the channel (service) name
 * @param query the arguments by name
 * @returns the NTURI value, marked changed as a whole (bit 0)
 * @throws {LocalProtocolError} for an argument of another type
 * @example
 * ```ts
 * import { ntUri } from "./nturi.ts";
 * const v = ntUri("calc:add", { a: 1, b: "2" });
 * if (v.type.id !== "epics:nt/NTURI:1.0" || v.get("query.b") !== "2") throw new Error();
 * ```
 */
export function ntUri(path: string, query: Record<string, QueryArg> = {}): PvValue {
  const members = Object.entries(query).map(([k, v]) => [k, argType(k, v)] as [string, FieldDesc]);
  const type = T.struct(NTURI_ID, [
    ["scheme", T.string],
    ["path", T.string],
    ["query", T.struct("", members)],
  ]);
  return PvValue.create(type, { scheme: "pva", path, query }).clearChanged().markChanged("");
}
