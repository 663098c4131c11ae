/**
 * Turning what a user wants to write into marks on a put structure: `5` for the value
 * field, `"On"` or `1` for an enum, `"[1,2]"` or `[1, 2]` for arrays,
 * `{ "alarm.severity": 1 }` for other fields. Pure: no I/O.
 * @module
 */

import { LocalProtocolError } from "../../core/errors.ts";
import { TypeCode } from "../proto/typedesc.ts";
import type { PvValue } from "../proto/value.ts";

/**
 * Whether a node is an `enum_t` (`{int index; string[] choices}`).
 * @param node any field of a value
 * @returns true when it has an int `index` and a string array `choices`
 * @example
 * ```ts
 * import { PvValue, T } from "../proto/mod.ts";
 * import { isEnumNode } from "./put_value.ts";
 * const e = T.struct("enum_t", [["index", T.int], ["choices", T.array(T.string)]]);
 * const v = PvValue.create(T.struct("", [["value", e], ["x", T.double]]));
 * if (!isEnumNode(v.field("value")) || isEnumNode(v.field("x"))) throw new Error();
 * ```
 */
export function isEnumNode(node: PvValue): boolean {
  const t = node.type;
  return t.code === TypeCode.STRUCTURE && t.member("index")?.code === TypeCode.INT &&
    t.member("choices")?.code === TypeCode.STRING_ARRAY;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v) &&
    Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * Writes user content into a put structure and marks what it wrote.
 * @param root the put structure (usually the current value from GET-PUT)
 * @param content a plain object assigns fields by (dotted) name; anything else goes to
 *   the `value` field
 * @throws {LocalProtocolError} when a field is missing or the content does not fit
 * @example
 * ```ts
 * import { PvValue, T } from "../proto/mod.ts";
 * import { assignPut } from "./put_value.ts";
 * const e = T.struct("enum_t", [["index", T.int], ["choices", T.array(T.string)]]);
 * const v = PvValue.create(T.struct("epics:nt/NTEnum:1.0", [["value", e]]));
 * v.set("value.choices", ["Off", "On"]).clearChanged();
 * assignPut(v, "On");
 * if (v.get("value.index") !== 1 || v.changed.toString() !== "{2}") throw new Error();
 * ```
 */
export function assignPut(root: PvValue, content: unknown): void {
  if (isPlainObject(content)) {
    for (const [k, x] of Object.entries(content)) assignField(root, k, x);
    return;
  }
  if (!root.has("value")) {
    throw new LocalProtocolError(`Cannot put to ${root.type.typeId}: it has no "value" field`);
  }
  assignField(root, "value", content);
}

/**
 * Writes content to the field at `path` (see {@link assignPut}).
 * @param root the put structure
 * @param path dotted field path
 * @param content what to write
 * @throws {LocalProtocolError} when the field is missing or the content does not fit
 * @example
 * ```ts
 * import { PvValue, T } from "../proto/mod.ts";
 * import { assignField } from "./put_value.ts";
 * const alarm = T.struct("", [["severity", T.int]]);
 * const v = PvValue.create(T.struct("", [["value", T.double], ["alarm", alarm]]));
 * assignField(v, "alarm.severity", 2);
 * if (v.get("alarm.severity") !== 2 || v.changedPaths().join() !== "alarm.severity") {
 *   throw new Error();
 * }
 * ```
 */
export function assignField(root: PvValue, path: string, content: unknown): void {
  const node = root.tryField(path);
  if (!node) throw new LocalProtocolError(`Cannot put field "${path}": no such field`);
  const t = node.type;
  if (isEnumNode(node)) {
    if (isPlainObject(content)) {
      for (const [k, x] of Object.entries(content)) assignField(root, `${path}.${k}`, x);
      return;
    }
    node.set("index", enumIndex(node, content, path));
    return;
  }
  if (t.code === TypeCode.STRUCTURE) {
    if (typeof content === "string") content = parseJson(content, path);
    if (!isPlainObject(content)) {
      throw new LocalProtocolError(`Cannot put field "${path}": a structure needs an object`);
    }
    for (const [k, x] of Object.entries(content)) assignField(root, `${path}.${k}`, x);
    return;
  }
  if (t.kind === "scalarArray" && typeof content === "string") {
    content = parseArrayText(content, path);
  }
  if (t.code === TypeCode.BOOLEAN && typeof content === "string" && /^\s*-?\d+\s*$/.test(content)) {
    content = Number(content) !== 0;
  }
  node.assign(content);
}

function enumIndex(node: PvValue, content: unknown, path: string): number {
  const choices = node.get("choices") as string[];
  if (typeof content === "number" && Number.isInteger(content)) return content;
  if (typeof content === "string") {
    const i = choices.indexOf(content);
    if (i >= 0) return i;
    if (/^\s*\d+\s*$/.test(content)) return Number(content);
  }
  throw new LocalProtocolError(
    `Cannot put ${JSON.stringify(content)} to enum "${path}": not one of ${
      choices.map((c) => JSON.stringify(c)).join(", ")
    } nor an index`,
  );
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new LocalProtocolError(`Cannot put field "${path}": "${text}" is not JSON`);
  }
}

/** Array text: JSON (`[1,2]`), or values separated by commas or spaces. */
function parseArrayText(text: string, path: string): unknown[] {
  const s = text.trim();
  if (s.startsWith("[")) {
    const v = parseJson(s, path);
    if (!Array.isArray(v)) throw new LocalProtocolError(`Cannot put field "${path}": not an array`);
    return v;
  }
  if (s === "") return [];
  return s.split(/\s*,\s*|\s+/);
}

const FIELD_ARG = /^([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)=([\s\S]*)$/;

/**
 * Applies pvput's command-line value forms to a put structure:
 * `VALUE`, `field=value ...`, a JSON object (`{"value":1}`), a JSON array (`[1,2]`),
 * or `N v1 v2 ...` for an array field (N is ignored, as pvAccessCPP's pvput does).
 * @param root the put structure (the current value)
 * @param args the arguments after the PV name
 * @throws {LocalProtocolError} when nothing is given or a value does not fit
 * @example
 * ```ts
 * import { PvValue, T } from "../proto/mod.ts";
 * import { applyPutArgs } from "./put_value.ts";
 * const v = PvValue.create(T.struct("", [["value", T.array(T.double)]]));
 * applyPutArgs(v, ["3", "1", "2", "3"]);
 * if (String(v.get("value")) !== "1,2,3") throw new Error();
 * ```
 */
export function applyPutArgs(root: PvValue, args: readonly string[]): void {
  if (args.length === 0) throw new LocalProtocolError("Cannot put: no value given");
  if (
    args.every((a) => FIELD_ARG.test(a)) && !(args.length === 1 && !root.has(args[0].split("=")[0]))
  ) {
    for (const a of args) {
      const m = FIELD_ARG.exec(a)!;
      assignField(root, m[1], m[2]);
    }
    return;
  }
  if (args.length === 1) {
    const a = args[0].trim();
    if (a.startsWith("{")) {
      const obj = parseJson(a, "");
      if (!isPlainObject(obj)) throw new LocalProtocolError(`Cannot put: "${a}" is not an object`);
      assignPut(root, obj);
      return;
    }
    assignPut(root, args[0]);
    return;
  }
  const node = root.tryField("value");
  if (node && node.type.kind === "scalarArray") {
    const rest = /^\d+$/.test(args[0]) ? args.slice(1) : args;
    node.assign([...rest]);
    return;
  }
  assignPut(root, args.join(" "));
}
