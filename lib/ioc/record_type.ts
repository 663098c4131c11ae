/**
 * Record types at run time: the .dbd field rows of one type (common fields first) with
 * an index by name, menu choices resolved and a prototype of initial values that every
 * record of the type inherits (a record stores only the fields set on it).
 * @module
 */

import { COMMON_FIELDS, DEVICES, MENUS, RECORD_FIELDS } from "./dbd/_tables.ts";
import type { DbdField, DbfType } from "./dbd/types.ts";
import type { ScalarType } from "../pv/types.ts";

/** A field value as a record holds it. Menus, enums and DTYP are choice indexes; links are text. */
export type FieldValue =
  | number
  | string
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array
  | string[];

/** One field of a record type, ready for use. */
export interface FieldSpec extends DbdField {
  /** Position in the type's field list (common fields first). */
  readonly index: number;
  /** Choice strings of a MENU field, or the DTYP choices of the DEVICE field. */
  readonly choices?: readonly string[];
  /** Whether the field is a link (INLINK, OUTLINK, FWDLINK). */
  readonly isLink: boolean;
}

/** A record type: its fields and the initial value of each. */
export interface RecordTypeInfo {
  /** Type name (ai, calcout, ...). */
  readonly name: string;
  /** Every field, in .dbd order, common fields first. */
  readonly fields: readonly FieldSpec[];
  /** Fields by name. */
  readonly byName: ReadonlyMap<string, FieldSpec>;
  /** Initial values: the prototype of every record's field object. */
  readonly defaults: Readonly<Record<string, FieldValue>>;
  /** The link fields, in order. */
  readonly linkFields: readonly FieldSpec[];
  /** A new field object inheriting {@link defaults}. */
  newFields(): Record<string, FieldValue>;
}

const LINK_TYPES: ReadonlySet<DbfType> = new Set(["INLINK", "OUTLINK", "FWDLINK"]);

/** The element type a DBF type is served as (menus and enums are served as enums). */
export const SCALAR_OF_DBF: Readonly<Record<DbfType, ScalarType>> = {
  STRING: "string",
  CHAR: "int8",
  UCHAR: "uint8",
  SHORT: "int16",
  USHORT: "uint16",
  LONG: "int32",
  ULONG: "uint32",
  INT64: "int64",
  UINT64: "uint64",
  FLOAT: "float32",
  DOUBLE: "float64",
  ENUM: "uint16",
  MENU: "uint16",
  DEVICE: "uint16",
  INLINK: "string",
  OUTLINK: "string",
  FWDLINK: "string",
  NOACCESS: "string",
};

/** Integer ranges of the integer DBF types. */
export const INT_RANGE: Readonly<Partial<Record<DbfType, readonly [number, number]>>> = {
  CHAR: [-128, 127],
  UCHAR: [0, 255],
  SHORT: [-32768, 32767],
  USHORT: [0, 65535],
  LONG: [-2147483648, 2147483647],
  ULONG: [0, 4294967295],
  // Fields hold numbers: the 64-bit types reach as far as a double inside their range does.
  INT64: [-(2 ** 63), 2 ** 63 - 1024],
  UINT64: [0, 2 ** 64 - 2048],
  ENUM: [0, 65535],
};

function initialOf(f: DbdField, choices: readonly string[] | undefined): FieldValue {
  const t = f.type;
  const init = f.initial;
  if (t === "STRING" || LINK_TYPES.has(t)) return init ?? "";
  if (t === "NOACCESS") return "";
  if (t === "MENU" || t === "DEVICE") {
    if (init === undefined) return 0;
    const i = choices?.indexOf(init) ?? -1;
    return i >= 0 ? i : Number(init) || 0;
  }
  return init === undefined ? 0 : Number(init);
}

const cache = new Map<string, RecordTypeInfo>();
const menuCache = new Map<string, string[]>();

/**
 * The choice strings of a menu, one shared array per menu (menuScan grows when a record
 * asks for a period the menu does not list, such as "3 second").
 * @param menu the menu name
 * @returns its choices
 */
export function menuChoices(menu: string): string[] {
  let c = menuCache.get(menu);
  if (!c) {
    c = (MENUS[menu] ?? []).map((x) => x[1]);
    menuCache.set(menu, c);
  }
  return c;
}

/** Seconds between scans of a menuScan choice ("1 second", ".5 second", "3 second"), or undefined. */
export function scanPeriod(choice: string): number | undefined {
  const m = /^\s*(\d*\.?\d+(?:[eE][+-]?\d+)?)\s*(second|seconds|s)?\s*$/.exec(choice);
  if (!m) return undefined;
  const v = Number(m[1]);
  return v > 0 ? v : undefined;
}

/**
 * The menuScan index of a periodic scan text, adding "N second" to the menu when it is new.
 * @param text the SCAN text
 * @returns the index, or undefined when the text is no period
 */
export function scanChoiceFor(text: string): number | undefined {
  const choices = menuChoices("menuScan");
  const i = choices.indexOf(text);
  if (i >= 0) return i;
  const p = scanPeriod(text);
  if (p === undefined) return undefined;
  const name = `${text.trim().split(/\s+/)[0]} second`;
  const j = choices.indexOf(name);
  if (j >= 0) return j;
  choices.push(name);
  return choices.length - 1;
}

/** The record type names the IOC knows, in the order `dbl`-style listings use. */
export function recordTypeNames(): string[] {
  return Object.keys(RECORD_FIELDS);
}

/**
 * The run-time description of a record type.
 * @param name the type name
 * @returns the type, or undefined when EPICS base has no such type here
 * @example
 * ```ts
 * import { recordType } from "./record_type.ts";
 * const ai = recordType("ai")!;
 * if (ai.byName.get("SCAN")?.choices?.[0] !== "Passive" || ai.defaults.DISV !== 1) throw new Error();
 * ```
 */
export function recordType(name: string): RecordTypeInfo | undefined {
  const hit = cache.get(name);
  if (hit) return hit;
  const own = RECORD_FIELDS[name];
  if (!own) return undefined;
  const fields: FieldSpec[] = [];
  const byName = new Map<string, FieldSpec>();
  const defaults: Record<string, FieldValue> = {};
  const devices = (DEVICES[name] ?? []).map((d) => d[0]);
  for (const f of [...COMMON_FIELDS, ...own]) {
    // A record type may repeat a common field name; the first declaration wins.
    if (byName.has(f.name)) continue;
    let choices: readonly string[] | undefined;
    if (f.type === "MENU" && f.menu) choices = menuChoices(f.menu);
    if (f.type === "DEVICE") choices = devices;
    const spec: FieldSpec = { ...f, index: fields.length, choices, isLink: LINK_TYPES.has(f.type) };
    fields.push(spec);
    byName.set(f.name, spec);
    defaults[f.name] = initialOf(f, choices);
  }
  defaults.RTYP = name;
  const linkFields = fields.filter((f) => f.isLink);
  // A constructor with the defaults as prototype makes field objects faster than Object.create.
  const Fields = function () {} as unknown as new () => Record<string, FieldValue>;
  Fields.prototype = defaults;
  const info: RecordTypeInfo = {
    name,
    fields,
    byName,
    defaults,
    linkFields,
    newFields: () => new Fields(),
  };
  cache.set(name, info);
  return info;
}
