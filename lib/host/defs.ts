/**
 * PV definitions: the shape a YAML file, a device module or a script gives for each PV
 * (name, description, initial value and extras, as epicsdev's definition lists), checked
 * all at once and turned into {@link SharedPV}s.
 * @module
 */

import { ALARM_SEVERITY_NAMES, AlarmSeverity } from "../core/alarm.ts";
import type { PutContext, PvTableColumn, PvValue, ScalarType } from "../pv/types.ts";
import { SCALAR_TYPES } from "../pv/types.ts";
import { SharedPV, type SharedPVOptions } from "../pv/shared_pv.ts";

/**
 * Called on each put to a writable defined PV, after the limit check and before the value
 * is applied. It may return a replacement value, throw (or reject) to refuse the put, or be
 * async; a setter that throws raises no crash: the put is refused with its message.
 */
export type Setter = (
  value: PvValue,
  pv: SharedPV,
  ctx: PutContext,
) => void | PvValue | Promise<void | PvValue>;

/** Alarm limits of a definition: lolo/low/high/hihi and the severities they raise. */
export interface ValueAlarmDefinition {
  /** LOLO limit: at or below it, loloSeverity (default MAJOR). */
  lolo?: number;
  /** LOW limit: at or below it, lowSeverity (default MINOR). */
  low?: number;
  /** HIGH limit: at or above it, highSeverity (default MINOR). */
  high?: number;
  /** HIHI limit: at or above it, hihiSeverity (default MAJOR). */
  hihi?: number;
  /** Severity below lolo: NO_ALARM, MINOR, MAJOR, INVALID or 0..3. */
  loloSeverity?: string | number;
  /** Severity below low. */
  lowSeverity?: string | number;
  /** Severity above high. */
  highSeverity?: string | number;
  /** Severity above hihi. */
  hihiSeverity?: string | number;
  /** Deadband the value must cross back before a limit alarm clears. */
  hysteresis?: number;
}

/** One table column of a definition. */
export interface ColumnDefinition {
  /** Member name. */
  name: string;
  /** Element type (default float64). */
  type?: string;
  /** Heading (default: the name). */
  label?: string;
}

/**
 * One PV, as a YAML file or a device module defines it.
 * @example
 * ```ts
 * import { createPvs, type PvDefinition } from "./mod.ts";
 * const defs: PvDefinition[] = [
 *   { name: "setpoint", desc: "Heater setpoint", value: 25.0, features: "W", units: "C",
 *     limitLow: 0, limitHigh: 100 },
 *   { name: "mode", value: ["Off", "On", "Auto"], features: "WD" },
 * ];
 * const pvs = createPvs(defs, "lab1:");
 * if (pvs[0].name !== "lab1:setpoint" || pvs[1].type.kind !== "enum") throw new Error();
 * ```
 */
export interface PvDefinition {
  /** The name, without the prefix. */
  name: string;
  /** What the PV is (NT display.description). */
  desc?: string;
  /** Initial value; its kind gives the type when `type` is absent. */
  value?: unknown;
  /** Letters: W writable, D discrete (enum), R read-only (the default). */
  features?: string;
  /** int8..uint64, float32, float64, string, boolean, char (epicsdev codes s8..f64, str too). */
  type?: string;
  /** Engineering units. */
  units?: string;
  /** Digits after the decimal point. */
  precision?: number;
  /** Lowest value a put may set (also the display's low end unless displayLow is given). */
  limitLow?: number;
  /** Highest value a put may set. */
  limitHigh?: number;
  /** Low end of the display range. */
  displayLow?: number;
  /** High end of the display range. */
  displayHigh?: number;
  /** Alarm limits and severities. */
  valueAlarm?: ValueAlarmDefinition;
  /** Enum state names (with `value` the initial state, text or index). */
  choices?: string[];
  /** Makes the PV an array of at most this many elements. */
  length?: number;
  /** Makes the PV an image (NTNDArray): sizes slowest first, as [rows, cols]. */
  shape?: number[];
  /** Makes the PV a table (NTTable): its columns. */
  columns?: ColumnDefinition[];
  /** Called on each put (module definitions only). */
  setter?: Setter;
}

/** One thing wrong with a definition: which one, which key, and what. */
export interface DefinitionProblem {
  /** Index of the definition in its list. */
  index: number;
  /** The key at fault (undefined: the definition as a whole). */
  key?: string;
  /** What is wrong, as a sentence without a final period. */
  message: string;
}

/** Definitions that cannot be served, with every problem found. */
export class PvDefinitionError extends Error {
  /** Every problem found, in order. */
  readonly problems: readonly DefinitionProblem[];
  /**
   * Creates the error.
   * @param problems the problems found
   */
  constructor(problems: DefinitionProblem[]) {
    super(
      `Cannot use the PV definitions: ${
        problems.map((p) => `#${p.index + 1}${p.key ? ` ${p.key}` : ""}: ${p.message}`).join("; ")
      }`,
    );
    this.name = "PvDefinitionError";
    this.problems = problems;
  }
}

const TYPE_ALIASES: Record<string, string> = {
  s8: "int8",
  u8: "uint8",
  s16: "int16",
  u16: "uint16",
  i32: "int32",
  u32: "uint32",
  i64: "int64",
  u64: "uint64",
  f32: "float32",
  f64: "float64",
  str: "string",
  s: "string",
  int: "int32",
  long: "int32",
  short: "int16",
  byte: "int8",
  float: "float32",
  double: "float64",
  bool: "boolean",
};

const KEYS = new Set([
  "name",
  "desc",
  "description",
  "value",
  "features",
  "type",
  "units",
  "precision",
  "limitLow",
  "limitHigh",
  "displayLow",
  "displayHigh",
  "valueAlarm",
  "choices",
  "length",
  "shape",
  "columns",
  "setter",
]);

const ALARM_KEYS: Record<string, keyof ValueAlarmDefinition> = {
  lolo: "lolo",
  low: "low",
  high: "high",
  hihi: "hihi",
  loloSeverity: "loloSeverity",
  lowSeverity: "lowSeverity",
  highSeverity: "highSeverity",
  hihiSeverity: "hihiSeverity",
  hysteresis: "hysteresis",
  // NT valueAlarm_t names, as epicsdev users write them.
  lowAlarmLimit: "lolo",
  lowWarningLimit: "low",
  highWarningLimit: "high",
  highAlarmLimit: "hihi",
  lowAlarmSeverity: "loloSeverity",
  lowWarningSeverity: "lowSeverity",
  highWarningSeverity: "highSeverity",
  highAlarmSeverity: "hihiSeverity",
};

const NAME = /^[A-Za-z0-9_:.\-\[\]<>;{}$]+$/;

/** Canonical element type name, or "char", or undefined when unknown. */
function canonicalType(t: string): ScalarType | "char" | undefined {
  const w = TYPE_ALIASES[t] ?? t;
  if (w === "char") return "char";
  return (SCALAR_TYPES as readonly string[]).includes(w) ? w as ScalarType : undefined;
}

function isNum(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

function severity(x: string | number | undefined): number | undefined {
  if (x === undefined) return undefined;
  if (typeof x === "number") return x;
  const i = ALARM_SEVERITY_NAMES.indexOf(x.toUpperCase());
  return i;
}

/** The element type a JS value suggests (numbers: int32 when integral, else float64). */
function inferScalar(v: unknown): ScalarType | undefined {
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "string") return "string";
  if (typeof v === "bigint") return "int64";
  if (typeof v === "number") return Number.isInteger(v) ? "int32" : "float64";
  return undefined;
}

/** A definition checked and turned into SharedPV options (or its problems). */
interface Built {
  options?: SharedPVOptions;
  problems: DefinitionProblem[];
}

function build(def: unknown, index: number): Built {
  const problems: DefinitionProblem[] = [];
  const bad = (key: string | undefined, message: string) => problems.push({ index, key, message });
  if (def === null || typeof def !== "object" || Array.isArray(def)) {
    bad(undefined, "a PV definition must be a mapping with at least a name");
    return { problems };
  }
  const d = def as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!KEYS.has(k)) bad(k, `unknown key "${k}" (known: ${[...KEYS].join(", ")})`);
  }
  if (typeof d.name !== "string" || d.name === "") bad("name", "a PV needs a name (text)");
  else if (!NAME.test(d.name)) bad("name", `"${d.name}" is not a valid PV name`);
  const features = d.features ?? "";
  if (typeof features !== "string") bad("features", "features must be letters such as W or WD");
  else {
    for (const c of features) {
      if (!"WRDA".includes(c)) bad("features", `unknown feature letter "${c}" (use W, D, R)`);
    }
  }
  const feat = typeof features === "string" ? features : "";
  const writable = feat.includes("W");
  const discrete = feat.includes("D");
  for (const k of ["units", "desc", "description"] as const) {
    if (d[k] !== undefined && typeof d[k] !== "string") bad(k, `${k} must be text`);
  }
  for (const k of ["precision", "limitLow", "limitHigh", "displayLow", "displayHigh"] as const) {
    if (d[k] !== undefined && !isNum(d[k])) bad(k, `${k} must be a number`);
  }
  if (d.precision !== undefined && isNum(d.precision)) {
    if (!Number.isInteger(d.precision) || d.precision < 0 || d.precision > 17) {
      bad("precision", "precision must be an integer from 0 to 17");
    }
  }
  if (isNum(d.limitLow) && isNum(d.limitHigh) && d.limitLow > d.limitHigh) {
    bad("limitHigh", `limitHigh ${d.limitHigh} is below limitLow ${d.limitLow}`);
  }
  if (d.setter !== undefined && typeof d.setter !== "function") {
    bad("setter", "setter must be a function (only device modules can give one)");
  }
  if (d.length !== undefined && !(Number.isInteger(d.length) && (d.length as number) >= 1)) {
    bad("length", "length must be a positive integer");
  }
  let type: ScalarType | "char" | undefined;
  if (d.type !== undefined) {
    if (typeof d.type !== "string" || !(type = canonicalType(d.type))) {
      bad(
        "type",
        `unknown type ${JSON.stringify(d.type)} (use ${SCALAR_TYPES.join(", ")} or char)`,
      );
    }
  }
  const alarm = checkAlarm(d.valueAlarm, bad);
  const options: SharedPVOptions = { type: "float64", writable };
  const desc = d.desc ?? d.description;
  if (typeof desc === "string") options.description = desc;
  if (typeof d.units === "string") options.units = d.units;
  if (isNum(d.precision)) options.precision = d.precision;
  if (isNum(d.limitLow) || isNum(d.limitHigh)) {
    const low = isNum(d.limitLow) ? d.limitLow : -Number.MAX_VALUE;
    const high = isNum(d.limitHigh) ? d.limitHigh : Number.MAX_VALUE;
    options.control = { low, high };
    options.display = { low, high };
  }
  if (isNum(d.displayLow) || isNum(d.displayHigh)) {
    options.display = {
      low: isNum(d.displayLow) ? d.displayLow : options.display?.low ?? 0,
      high: isNum(d.displayHigh) ? d.displayHigh : options.display?.high ?? 0,
    };
  }
  if (alarm) options.alarm = alarm;
  if (typeof d.setter === "function") {
    const setter = d.setter as Setter;
    options.onPut = (v, ctx, pv) => setter(v, pv, ctx);
  }
  const value = d.value;

  if (d.columns !== undefined) {
    // A table.
    if (!Array.isArray(d.columns) || d.columns.length === 0) {
      bad("columns", "columns must be a list of {name, type}");
      return { problems };
    }
    const columns: PvTableColumn[] = [];
    d.columns.forEach((c, i) => {
      if (c === null || typeof c !== "object" || typeof (c as ColumnDefinition).name !== "string") {
        bad("columns", `column ${i + 1} needs a name`);
        return;
      }
      const col = c as ColumnDefinition;
      const ct = col.type === undefined ? "float64" : canonicalType(String(col.type));
      if (!ct || ct === "char") {
        bad("columns", `column "${col.name}" has an unknown type ${JSON.stringify(col.type)}`);
        return;
      }
      columns.push({ name: col.name, type: ct, label: col.label });
    });
    options.type = "table";
    options.table = { columns, maxRows: d.length as number | undefined };
    if (value !== undefined) options.value = value;
    return finish(options, problems, index);
  }

  if (discrete || d.choices !== undefined) {
    // An enum: the choices are the value list (epicsdev) or `choices` with value the state.
    let choices: unknown = d.choices;
    let initial: unknown = undefined;
    if (choices === undefined) {
      choices = value;
    } else initial = value;
    if (!Array.isArray(choices) || choices.length === 0) {
      bad(d.choices !== undefined ? "choices" : "value", "an enum needs a list of state names");
      return { problems };
    }
    if (choices.some((c) => typeof c !== "string" && typeof c !== "number")) {
      bad(d.choices !== undefined ? "choices" : "value", "enum state names must be text");
      return { problems };
    }
    const names = choices.map(String);
    if (names.length > 16) {
      bad(d.choices !== undefined ? "choices" : "value", "an enum has at most 16 states");
    }
    if (new Set(names).size !== names.length) {
      bad(d.choices !== undefined ? "choices" : "value", "enum state names repeat");
    }
    options.type = "enum";
    options.choices = names;
    if (initial !== undefined) {
      if (typeof initial === "string" && names.includes(initial)) {
        options.value = names.indexOf(initial);
      } else if (
        Number.isInteger(initial) && (initial as number) >= 0 && (initial as number) < names.length
      ) {
        options.value = initial;
      } else bad("value", `${JSON.stringify(initial)} is not one of ${names.join(", ")}`);
    }
    if (d.type !== undefined) bad("type", "an enum takes no type");
    return finish(options, problems, index);
  }

  if (d.shape !== undefined) {
    // An image: shape is [rows, cols] (slowest first, like numpy); NTNDArray dimensions
    // are fastest first.
    const shape = d.shape;
    if (
      !Array.isArray(shape) || shape.length < 1 || shape.length > 3 ||
      !shape.every((n) => Number.isInteger(n) && n >= 1)
    ) {
      bad("shape", "shape must be a list of 1 to 3 positive integers, e.g. [480, 640]");
      return { problems };
    }
    const t = type ?? "uint16";
    if (t === "string" || t === "boolean" || t === "char") {
      bad("type", `an image needs a numeric type, not ${t}`);
      return { problems };
    }
    options.type = t;
    options.ndarray = { dimension: [...shape].reverse() as number[] };
    if (value !== undefined) options.value = value;
    return finish(options, problems, index);
  }

  if (type === "char") {
    // A char waveform, usually holding text.
    options.type = "uint8";
    const len = d.length as number | undefined ??
      (typeof value === "string" ? Math.max(256, new TextEncoder().encode(value).length + 1) : 256);
    options.length = len;
    if (value !== undefined) options.value = value;
    return finish(options, problems, index);
  }

  if (Array.isArray(value) || d.length !== undefined) {
    const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
    const elem = (type as ScalarType | undefined) ??
      (list.length > 0 ? inferScalar(list[0]) : undefined);
    if (!elem) {
      bad("value", "cannot tell the element type: give a type or a non-empty list");
      return { problems };
    }
    options.type = elem;
    options.length = (d.length as number | undefined) ?? Math.max(list.length, 1);
    if (list.length > options.length) {
      bad("value", `${list.length} initial elements exceed length ${options.length}`);
    }
    options.value = list;
    return finish(options, problems, index);
  }

  if (value === undefined && type === undefined) {
    bad("value", "give an initial value or a type");
    return { problems };
  }
  const scalar = (type as ScalarType | undefined) ?? inferScalar(value);
  if (!scalar) {
    bad("value", `cannot serve ${JSON.stringify(value)}: use a number, text, boolean or list`);
    return { problems };
  }
  options.type = scalar;
  if (value !== undefined) options.value = value;
  return finish(options, problems, index);
}

function checkAlarm(
  va: unknown,
  bad: (key: string, message: string) => void,
): SharedPVOptions["alarm"] | undefined {
  if (va === undefined) return undefined;
  if (va === null || typeof va !== "object" || Array.isArray(va)) {
    bad("valueAlarm", "valueAlarm must be a mapping such as {high: 80, hihi: 95}");
    return undefined;
  }
  const out: ValueAlarmDefinition = {};
  for (const [k, v] of Object.entries(va as Record<string, unknown>)) {
    const key = ALARM_KEYS[k];
    if (!key) {
      if (k === "active") continue;
      bad("valueAlarm", `unknown valueAlarm key "${k}" (use lolo, low, high, hihi, *Severity)`);
      continue;
    }
    if (key.endsWith("Severity")) {
      const s = severity(v as string | number);
      if (typeof v !== "string" && typeof v !== "number" || s === undefined || s < 0 || s > 3) {
        bad("valueAlarm", `${k} must be NO_ALARM, MINOR, MAJOR or INVALID`);
        continue;
      }
      (out as Record<string, number>)[key] = s;
    } else {
      if (!isNum(v)) {
        bad("valueAlarm", `${k} must be a number`);
        continue;
      }
      (out as Record<string, number>)[key] = v;
    }
  }
  const o = out as Record<string, number | undefined>;
  return {
    lolo: o.lolo,
    low: o.low,
    high: o.high,
    hihi: o.hihi,
    loloSeverity: o.loloSeverity ?? AlarmSeverity.MAJOR,
    lowSeverity: o.lowSeverity ?? AlarmSeverity.MINOR,
    highSeverity: o.highSeverity ?? AlarmSeverity.MINOR,
    hihiSeverity: o.hihiSeverity ?? AlarmSeverity.MAJOR,
    hysteresis: o.hysteresis,
  };
}

/** Tries the options on a throwaway PV so a bad initial value is found now. */
function finish(options: SharedPVOptions, problems: DefinitionProblem[], index: number): Built {
  if (problems.length > 0) return { problems };
  const c = options.control;
  const v0 = options.value;
  if (c && (typeof v0 === "number" || Array.isArray(v0))) {
    const out = (Array.isArray(v0) ? v0 : [v0]).find((x) =>
      typeof x === "number" && (x < c.low || x > c.high)
    );
    if (out !== undefined) {
      problems.push({
        index,
        key: "value",
        message: `initial value ${out} is outside the limits [${c.low}, ${c.high}]`,
      });
      return { problems };
    }
  }
  try {
    new SharedPV("check", options);
  } catch (e) {
    const m = (e as Error).message.replace(/^Cannot create PV "check": /, "");
    problems.push({ index, key: options.value !== undefined ? "value" : undefined, message: m });
    return { problems };
  }
  return { options, problems };
}

/**
 * Checks definitions and lists every problem (an empty list: all can be served).
 * @param defs the definitions (of unknown shape, e.g. straight from YAML)
 * @returns the problems, in order; names repeated across the list are problems too
 * @example
 * ```ts
 * import { checkDefinitions } from "./mod.ts";
 * const problems = checkDefinitions([{ name: "a", value: 1, type: "int99" }, { value: 2 }]);
 * if (problems.length !== 2 || problems[0].key !== "type") throw new Error();
 * ```
 */
export function checkDefinitions(defs: readonly unknown[]): DefinitionProblem[] {
  const out: DefinitionProblem[] = [];
  const seen = new Map<string, number>();
  defs.forEach((d, i) => {
    out.push(...build(d, i).problems);
    const name = (d as { name?: unknown } | null)?.name;
    if (typeof name === "string") {
      const first = seen.get(name);
      if (first !== undefined) {
        out.push({
          index: i,
          key: "name",
          message: `"${name}" is already defined (#${first + 1})`,
        });
      } else seen.set(name, i);
    }
  });
  return out;
}

/**
 * Turns one checked definition into SharedPV options.
 * @param def the definition
 * @returns the options (writable per its features)
 * @throws PvDefinitionError listing what is wrong
 */
export function definitionOptions(def: PvDefinition): SharedPVOptions {
  const b = build(def, 0);
  if (!b.options) throw new PvDefinitionError(b.problems);
  return b.options;
}

/**
 * Creates the PVs of a list of definitions, all or none.
 * @param defs the definitions
 * @param prefix put before every name (default "")
 * @returns the PVs, in order
 * @throws PvDefinitionError listing every problem found
 */
export function createPvs(defs: readonly PvDefinition[], prefix = ""): SharedPV[] {
  const problems = checkDefinitions(defs);
  if (problems.length > 0) throw new PvDefinitionError(problems);
  return defs.map((d) => new SharedPV(prefix + d.name, build(d, 0).options!));
}
