/**
 * EPICS macro substitution, with the rules of EPICS base's macLib: `$(NAME)` and `${NAME}`
 * references, defaults `$(NAME=default)`, scoped definitions `$(NAME,A=1,B=2)`, references
 * inside names and defaults, quotes and escapes, and the `$(NAME,undefined)` /
 * `$(NAME,recursive)` marks that dbLoadRecords, msi and autosave leave in the text.
 *
 * Pure: no I/O. The environment, where it is a fallback (iocsh), comes in as a function.
 * @module
 */

import { EpicsSyntaxError } from "./errors.ts";

/** One `NAME=value` of a definition string; `value` is undefined for a bare `NAME` (undefine). */
export interface MacroDefinition {
  /** The macro name, quotes and escapes removed. */
  readonly name: string;
  /** The raw value, quotes and escapes kept (they are removed when the value is expanded). */
  readonly value: string | undefined;
}

/** Macro tables to look names up in; with a list, later tables hide earlier ones. */
export type MacroSource =
  | ReadonlyMap<string, string>
  | Readonly<Record<string, string>>
  | readonly (ReadonlyMap<string, string> | Readonly<Record<string, string>>)[];

/** How {@link expandMacros} treats names it cannot find. */
export interface ExpandOptions {
  /** Looked up when no table defines a name (iocsh and msi use the environment this way). */
  readonly env?: (name: string) => string | undefined;
  /**
   * Leave a bad reference as `$(NAME)` instead of `$(NAME,undefined)` or
   * `$(NAME,recursive)` (macLib's suppressed-warnings form).
   */
  readonly suppressWarnings?: boolean;
}

/** The expanded text and the references that could not be expanded. */
export interface ExpandResult {
  /** The text after substitution. */
  readonly text: string;
  /** Names referenced without a definition or default, in order of first use. */
  readonly undefinedNames: string[];
  /** Names whose expansion referred back to themselves. */
  readonly recursiveNames: string[];
}

/** A definition string that cannot be parsed. */
export class MacroSyntaxError extends EpicsSyntaxError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "MacroSyntaxError";
  }
}

const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f";

/**
 * Parses a definition string such as `P=a:,M=m1` as macLib's macParseDefns does: white space
 * around names, `=` and `,` is ignored, quotes and backslash escapes protect `=` and `,`, quotes
 * and escapes are removed from names but kept in values, and a name without `=` undefines it.
 * @param text the definitions
 * @returns the definitions in order
 * @throws MacroSyntaxError on a quote that is never closed
 * @example
 * ```ts
 * import { parseMacroDefinitions } from "./macros.ts";
 * const defs = parseMacroDefinitions(' P = a: , M="x,y", Q');
 * if (defs.length !== 3 || defs[1].value !== '"x,y"' || defs[2].value !== undefined) throw new Error();
 * ```
 */
export function parseMacroDefinitions(text: string): MacroDefinition[] {
  type State = "preName" | "inName" | "preValue" | "inValue";
  const out: MacroDefinition[] = [];
  let state: State = "preName";
  let quote = "";
  let start = 0;
  let name = "";
  const finishName = (end: number) => {
    let e = end;
    while (e > start && isSpace(text[e - 1])) e--;
    name = cleanName(text.slice(start, e));
  };
  const finishValue = (end: number) => {
    let e = end;
    while (e > start && isSpace(text[e - 1])) e--;
    out.push({ name, value: text.slice(start, e) });
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    const escape = c === "\\" && i + 1 < text.length;
    const plain = !quote && !escape;
    if (state === "preName") {
      if (plain && (isSpace(c) || c === ",")) {
        if (escape) i++;
        continue;
      }
      start = i;
      state = "inName";
    }
    if (state === "inName") {
      if (!plain || (c !== "=" && c !== ",")) {
        if (escape) i++;
        continue;
      }
      finishName(i);
      if (c === ",") {
        out.push({ name, value: undefined });
        state = "preName";
        continue;
      }
      state = "preValue";
      continue;
    }
    if (state === "preValue") {
      if (plain && isSpace(c)) continue;
      start = i;
      state = "inValue";
    }
    if (state === "inValue") {
      if (plain && c === ",") {
        finishValue(i);
        state = "preName";
        continue;
      }
      if (escape) i++;
    }
  }
  if (quote) {
    throw new MacroSyntaxError(`Cannot parse macro definitions "${text}": unclosed ${quote}`);
  }
  if (state === "inName") {
    finishName(text.length);
    out.push({ name, value: undefined });
  } else if (state === "preValue") {
    out.push({ name, value: "" });
  } else if (state === "inValue") {
    finishValue(text.length);
  }
  return out;
}

/** Removes quotes and escapes from a macro name, as macParseDefns does. */
function cleanName(raw: string): string {
  let out = "";
  let quote = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (quote) {
      if (c === quote) {
        quote = "";
        continue;
      }
    } else if (c === "'" || c === '"') {
      quote = c;
      continue;
    }
    if (c === "\\" && i + 1 < raw.length) i++;
    out += raw[i];
  }
  return out;
}

/**
 * Parses a definition string into a map: later definitions replace earlier ones and a bare
 * name removes the name.
 * @param text the definitions, e.g. `P=a:,M=m1`
 * @param base definitions to start from (copied, not changed)
 * @returns the resulting table
 * @throws MacroSyntaxError on a quote that is never closed
 * @example
 * ```ts
 * import { macroMap } from "./macros.ts";
 * const m = macroMap("P=a:,M=m1,P=b:");
 * if (m.get("P") !== "b:" || m.size !== 2) throw new Error();
 * ```
 */
export function macroMap(text: string, base?: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map(base ?? []);
  for (const d of parseMacroDefinitions(text)) {
    if (d.value === undefined) out.delete(d.name);
    else out.set(d.name, d.value);
  }
  return out;
}

/** The state of one expansion: scoped tables, names being expanded, problems found. */
class Expander {
  readonly scopes: Map<string, string>[] = [];
  readonly visiting = new Set<string>();
  readonly undefinedNames: string[] = [];
  readonly recursiveNames: string[] = [];
  /** Depth inside defaults and scoped definitions, where macLib reports nothing. */
  nested = 0;

  constructor(
    readonly tables: (ReadonlyMap<string, string> | Readonly<Record<string, string>>)[],
    readonly options: ExpandOptions,
  ) {}

  mark(name: string, kind: "undefined" | "recursive"): string {
    const list = kind === "undefined" ? this.undefinedNames : this.recursiveNames;
    if (this.nested === 0 && !list.includes(name)) list.push(name);
    return this.nested > 0 || this.options.suppressWarnings ? `$(${name})` : `$(${name},${kind})`;
  }

  lookup(name: string): string | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const v = this.scopes[i].get(name);
      if (v !== undefined) return v;
    }
    for (let i = this.tables.length - 1; i >= 0; i--) {
      const t = this.tables[i];
      const v = t instanceof Map
        ? t.get(name)
        : Object.hasOwn(t, name)
        ? (t as Record<string, string>)[name]
        : undefined;
      if (v !== undefined) return v;
    }
    return name ? this.options.env?.(name) : undefined;
  }

  /**
   * Copies `raw` from `pos` until a character of `term` (or the end), expanding references.
   * At level 0 quotes and escapes are the user's and are kept; deeper they are removed.
   * Returns the output and the index of the terminator.
   */
  trans(raw: string, pos: number, level: number, term: string): [string, number] {
    const discard = level > 0;
    let quote = "";
    let out = "";
    let r = pos;
    // Plain characters are copied in runs (one slice each), not one by one.
    let run = r;
    for (; r < raw.length && !term.includes(raw[r]); r++) {
      const c = raw[r];
      if (quote) {
        if (c === quote) {
          quote = "";
          if (discard) {
            out += raw.slice(run, r);
            run = r + 1;
            continue;
          }
        }
      } else if (c === '"' || c === "'") {
        quote = c;
        if (discard) {
          out += raw.slice(run, r);
          run = r + 1;
          continue;
        }
      }
      const ref = c === "$" && (raw[r + 1] === "(" || raw[r + 1] === "{");
      if (ref && quote !== "'") {
        out += raw.slice(run, r);
        const [text, end] = this.refer(raw, r, level);
        out += text;
        r = end;
        run = r + 1;
      } else if (c === "\\" && r + 1 < raw.length) {
        out += raw.slice(run, r);
        if (!discard) out += "\\";
        out += raw[++r];
        run = r + 1;
      }
    }
    if (r > run) out += raw.slice(run, r);
    return [out, r];
  }

  /** Expands the reference starting at `raw[pos] === "$"`; returns text and the index of its `)`. */
  refer(raw: string, pos: number, level: number): [string, number] {
    const close = raw[pos + 1] === "(" ? ")" : "}";
    const nameEnd = "=," + close;
    const [name, afterName] = this.trans(raw, pos + 2, level + 1, nameEnd);
    let r = afterName;
    let defaultAt = -1;
    if (raw[r] === "=") {
      defaultAt = r + 1;
      this.nested++;
      r = this.trans(raw, defaultAt, level + 1, "," + close)[1];
      this.nested--;
    }
    let scoped = false;
    if (raw[r] === ",") {
      this.nested++;
      scoped = true;
      const scope = new Map<string, string>();
      this.scopes.push(scope);
      while (raw[r] === ",") {
        const [sub, afterName] = this.trans(raw, r + 1, level + 1, nameEnd);
        r = afterName;
        if (raw[r] === "=") {
          const [value, afterValue] = this.trans(raw, r + 1, level + 1, "," + close);
          r = afterValue;
          scope.set(sub, value);
        }
      }
      this.nested--;
    }
    let text: string;
    try {
      const value = this.lookup(name);
      if (value !== undefined && !this.visiting.has(name)) {
        this.visiting.add(name);
        text = this.trans(value, 0, level + 1, "")[0];
        this.visiting.delete(name);
      } else if (value !== undefined) {
        text = this.mark(name, "recursive");
      } else if (defaultAt >= 0) {
        text = this.trans(raw, defaultAt, level + 1, "," + close)[0];
      } else {
        text = this.mark(name, "undefined");
      }
    } finally {
      if (scoped) this.scopes.pop();
    }
    // An unterminated reference ends at the end of the text.
    return [text, r < raw.length ? r : raw.length - 1];
  }
}

/**
 * Expands every macro reference in `text` as macLib's macExpandString does: quotes and escapes
 * in `text` are kept, nothing is expanded inside single quotes, macro values are expanded in
 * turn (with their own quotes and escapes removed), `$(NAME=default)` uses the default when
 * NAME is undefined, and a reference that cannot be expanded is left as `$(NAME,undefined)`
 * (or `$(NAME,recursive)`) and reported.
 * @param text the text to expand
 * @param macros the definitions (a list: later tables win)
 * @param options environment fallback and the suppressed-warnings form
 * @returns the text and the names that could not be expanded
 * @example
 * ```ts
 * import { expandMacros } from "./macros.ts";
 * const r = expandMacros("$(P)ai$(N=1) ${Q}", { P: "lab:" });
 * if (r.text !== "lab:ai1 $(Q,undefined)" || r.undefinedNames[0] !== "Q") throw new Error();
 * ```
 */
export function expandMacros(
  text: string,
  macros: MacroSource = {},
  options: ExpandOptions = {},
): ExpandResult {
  const tables = Array.isArray(macros)
    ? [...(macros as (ReadonlyMap<string, string> | Readonly<Record<string, string>>)[])]
    : [macros as ReadonlyMap<string, string> | Readonly<Record<string, string>>];
  const e = new Expander(tables, options);
  const [out] = e.trans(text, 0, 0, "");
  return { text: out, undefinedNames: e.undefinedNames, recursiveNames: e.recursiveNames };
}
