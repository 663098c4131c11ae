/**
 * Parsing of ad-hoc PV definitions given on the pvserve command line:
 * `NAME=TYPE[:VALUE]`, e.g. `ival=int32:42`, `aval=int16[5]`, `mode=enum(Off|On):On`,
 * `wave=float64[4]:1,2,3,4`, `text=char[256]:hello`.
 * @module
 */

import { EpicsSyntaxError } from "../core/errors.ts";
import { SCALAR_TYPES, type ScalarType } from "../pv/types.ts";
import type { SharedPVOptions } from "../pv/shared_pv.ts";

/** A parsed PV definition. */
export interface PvSpec {
  /** The PV name. */
  name: string;
  /** How to create the {@link SharedPV}. */
  options: SharedPVOptions;
}

const ALIASES: Record<string, ScalarType> = {
  char: "uint8",
  byte: "int8",
  short: "int16",
  int: "int32",
  long: "int32",
  float: "float32",
  double: "float64",
  bool: "boolean",
};

function fail(text: string, why: string): never {
  throw new EpicsSyntaxError(`Cannot parse PV definition "${text}": ${why}`);
}

function splitValues(v: string): string[] {
  const t = v.trim();
  if (t.startsWith("[")) {
    try {
      const a = JSON.parse(t);
      if (Array.isArray(a)) return a.map(String);
    } catch {
      // fall through to comma splitting
    }
  }
  return t === "" ? [] : t.split(",").map((x) => x.trim());
}

/**
 * Parses one `NAME=TYPE[:VALUE]` definition.
 * @param text the definition
 * @returns the name and the SharedPV options (writable)
 * @throws EpicsSyntaxError naming what is wrong
 * @example
 * ```ts
 * import { parsePvSpec } from "./mod.ts";
 * const spec = parsePvSpec("mode=enum(Off|On):On");
 * if (spec.name !== "mode" || spec.options.type !== "enum") throw new Error();
 * if (spec.options.choices?.join() !== "Off,On") throw new Error();
 * const wave = parsePvSpec("wave=float64[4]:1,2,3,4");
 * if (wave.options.length !== 4) throw new Error();
 * ```
 */
export function parsePvSpec(text: string): PvSpec {
  const eq = text.indexOf("=");
  if (eq <= 0) fail(text, 'expected NAME=TYPE[:VALUE], e.g. "x=float64:1.5"');
  const name = text.slice(0, eq).trim();
  const rest = text.slice(eq + 1);
  const m = /^\s*(enum\(([^)]*)\)|[A-Za-z][A-Za-z0-9]*)\s*(?:\[\s*(\d+)\s*\])?\s*(?::([\s\S]*))?$/
    .exec(
      rest,
    );
  if (!m) fail(text, "expected TYPE[:VALUE] after '='");
  const [, typeWord, choiceText, lenText, valueText] = m;
  if (choiceText !== undefined) {
    const choices = choiceText.split("|").map((c) => c.trim());
    if (choices.length > 16) fail(text, "an enum has at most 16 states");
    if (choices.some((c) => c === "")) fail(text, "empty enum state name");
    if (lenText !== undefined) fail(text, "enum arrays are not supported");
    const options: SharedPVOptions = { type: "enum", choices };
    if (valueText !== undefined) {
      const v = valueText.trim();
      const idx = choices.indexOf(v);
      if (idx >= 0) options.value = idx;
      else if (/^\d+$/.test(v) && Number(v) < choices.length) options.value = Number(v);
      else fail(text, `"${v}" is not one of ${choices.join("|")}`);
    }
    return { name, options };
  }
  const word = typeWord.toLowerCase();
  const scalar = (ALIASES[word] ?? word) as ScalarType;
  if (!(SCALAR_TYPES as readonly string[]).includes(scalar)) {
    fail(text, `unknown type "${typeWord}" (use ${SCALAR_TYPES.join(", ")}, char or enum(A|B))`);
  }
  const options: SharedPVOptions = { type: scalar };
  if (lenText !== undefined) {
    const n = Number(lenText);
    if (n < 1) fail(text, "array length must be at least 1");
    options.length = n;
    if (valueText !== undefined) {
      options.value = scalar === "uint8" && word === "char" ? valueText : splitValues(valueText);
    }
  } else if (valueText !== undefined) {
    options.value = valueText;
  }
  if (scalar !== "string" && scalar !== "boolean" && valueText !== undefined) {
    const vals = Array.isArray(options.value) ? options.value : [options.value];
    if (!(word === "char" && lenText !== undefined)) {
      for (const v of vals) {
        if (String(v).trim() === "" || Number.isNaN(Number(v))) {
          fail(text, `"${v}" is not a number`);
        }
      }
    }
  }
  return { name, options };
}
