/**
 * Substitution files (`.substitutions`, `.template` sets) as EPICS base 7.0.8.1's
 * dbLoadTemplate reads them: `file NAME { ... }` blocks in the pattern form
 * (`pattern {A B} {1 2}`) or the definition form (`{A=1, B=2}`), `global { ... }` definitions
 * anywhere between sets, quoted or bare file names and values, `#` comments.
 *
 * Each set's macros are built the way dbLoadTemplate builds its definition string: the
 * caller's macros, then the globals seen so far, then the set's own (later ones win); values
 * keep their quotes, as macLib keeps them, and are expanded when the template is loaded.
 *
 * Pure: no I/O.
 * @module
 */

import { expandMacros, macroMap } from "../../core/macros.ts";
import { IocParseError } from "./errors.ts";
import { tokenize, type TokenRules } from "./_tokens.ts";

/** One `dbLoadRecords(template, macros)` that the substitution file asks for. */
export interface SubstitutionSet {
  /** The template (database) file name, as written (environment-expanded when `env` is given). */
  template: string;
  /** The macros for this load; values as macLib stores them (quotes kept). */
  macros: Map<string, string>;
  /** The substitution file. */
  file: string;
  /** 1-based line of the set's `{`. */
  line: number;
}

/** How to read a substitution file. */
export interface SubstitutionOptions {
  /** The file's name, for positions. */
  file: string;
  /** dbLoadTemplate's second argument: macros applied to every set (sets override them). */
  macros?: ReadonlyMap<string, string>;
  /** Environment for `$(VAR)` in template names (dbLoadRecords expands file names so). */
  env?: (name: string) => string | undefined;
}

/** What {@link parseSubstitutions} found. */
export interface SubstitutionResult {
  /** The loads, in file order. */
  sets: SubstitutionSet[];
  /** Syntax errors; the caller should refuse the file when there is any. */
  errors: IocParseError[];
  /** What base warns about but accepts (too many values, the deprecated word before `{`). */
  warnings: IocParseError[];
}

type Kind = "word" | "quote" | "{" | "}" | "=" | "," | "eof";
interface Tok {
  kind: Kind;
  text: string;
  /** `file`, `pattern` and `global` are keywords wherever they stand, as in base's lexer. */
  keyword?: boolean;
  line: number;
  column: number;
}

const isBare = (c: string) => /[a-zA-Z0-9_\-+:./\\[\]<>;]/.test(c);

const RULES: TokenRules = {
  quotes: "\"'",
  isBare,
  punct: "{}=,",
  unclosed: "Newline in string, closing quote missing",
  invalidChar: (c) => `invalid character '${c}'`,
};

function lex(text: string, report: (reason: string, line: number, column: number) => void): Tok[] {
  return tokenize(text, RULES, report).map((t): Tok => {
    if (t.kind === "quoted") return { ...t, kind: "quote" };
    if (t.kind === "punct") return { ...t, kind: t.text as Kind };
    if (t.kind === "eof") return { ...t, kind: "eof" };
    const tok: Tok = { ...t, kind: "word" };
    if (t.text === "file" || t.text === "pattern" || t.text === "global") tok.keyword = true;
    return tok;
  });
}

class Abort extends Error {}

/**
 * Parses a substitution file as dbLoadTemplate does, collecting every error.
 * @param text the file's contents
 * @param options file name, the caller's macros, environment for template names
 * @returns the loads to perform, errors and warnings
 * @example
 * ```ts
 * import { parseSubstitutions } from "./substitutions.ts";
 * const { sets } = parseSubstitutions(
 *   'global { S=lab }\nfile "ai.db" { pattern {N, D} {1, "first"} {2, "second"} }\nfile b.db { {N=3} }',
 *   { file: "x.substitutions" },
 * );
 * if (sets.length !== 3 || sets[1].macros.get("D") !== '"second"' || sets[2].macros.get("S") !== "lab") {
 *   throw new Error();
 * }
 * ```
 */
export function parseSubstitutions(text: string, options: SubstitutionOptions): SubstitutionResult {
  const out: SubstitutionResult = { sets: [], errors: [], warnings: [] };
  const file = options.file;
  const err = (reason: string, line: number, column: number) =>
    out.errors.push(new IocParseError(reason, { file, line, column }));
  const warn = (reason: string, t: Tok) =>
    out.warnings.push(new IocParseError(reason, { file, line: t.line, column: t.column }));
  const toks = lex(text, err);
  let p = 0;
  const peek = () => toks[p];
  const take = () => toks[p < toks.length - 1 ? p++ : p];
  const describe = (t: Tok) => t.kind === "eof" ? "end of file" : `"${t.text}"`;
  const fail = (what: string, t: Tok): never => {
    err(`expected ${what} but found ${describe(t)}`, t.line, t.column);
    throw new Abort();
  };
  const expect = (kind: Kind, what: string) => {
    const t = take();
    if (t.kind !== kind) fail(what, t);
    return t;
  };

  let globals = ""; // definition string, as dbLoadTemplate accumulates it
  const quoteValue = (t: Tok) => t.kind === "quote" ? `"${t.text}"` : t.text;

  /** `{ A=1, B="x" }`: returns the definition string. */
  const definitions = (): string => {
    let defs = "";
    for (;;) {
      const t = take();
      if (t.kind === "}") return defs;
      if (t.kind === ",") continue;
      if (t.kind !== "word" || t.keyword) fail('a macro name or "}"', t);
      expect("=", '"="');
      const v = take();
      if ((v.kind !== "word" && v.kind !== "quote") || v.keyword) fail("a value", v);
      defs += `,${t.text}=${quoteValue(v)}`;
    }
  };

  const global = () => {
    expect("{", '"{"');
    globals += definitions();
  };

  const emit = (template: string, locals: string, t: Tok) => {
    const base = new Map(options.macros ?? []);
    out.sets.push({
      template,
      macros: macroMap(globals + locals, base),
      file,
      line: t.line,
    });
  };

  const fileBlock = () => {
    const nameTok = take();
    if ((nameTok.kind !== "word" && nameTok.kind !== "quote") || nameTok.keyword) {
      fail("a template file name", nameTok);
    }
    const template = options.env
      ? expandMacros(nameTok.text, {}, { env: options.env, suppressWarnings: true }).text
      : nameTok.text;
    expect("{", '"{"');
    const first = peek();
    if (first.kind === "}") {
      take();
      return;
    }
    if (first.kind === "word" && first.text === "pattern") {
      take();
      expect("{", '"{"');
      const names: string[] = [];
      for (;;) {
        const t = take();
        if (t.kind === "}") break;
        if (t.kind === ",") continue;
        if (t.kind !== "word" || t.keyword) fail('a macro name or "}"', t);
        names.push(t.text);
      }
      for (;;) {
        const t = take();
        if (t.kind === "}") return;
        if (t.kind === "word" && t.text === "global") {
          global();
          continue;
        }
        let open = t;
        if (t.kind === "word" && !t.keyword && peek().kind === "{") {
          warn(`the string '${t.text}' before "{" is extraneous (deprecated syntax)`, t);
          open = take();
        } else if (t.kind !== "{") fail('"{" or "}"', t);
        let locals = "";
        let n = 0;
        for (;;) {
          const v = take();
          if (v.kind === "}") break;
          if (v.kind === ",") continue;
          if ((v.kind !== "word" && v.kind !== "quote") || v.keyword) fail('a value or "}"', v);
          if (n < names.length) locals += `,${names[n++]}=${quoteValue(v)}`;
          else warn("Too many values given", v);
        }
        emit(template, locals, open);
      }
    }
    for (;;) {
      const t = take();
      if (t.kind === "}") return;
      if (t.kind === "word" && t.text === "global") {
        global();
        continue;
      }
      let open = t;
      if (t.kind === "word" && !t.keyword && peek().kind === "{") {
        warn(`the string '${t.text}' before "{" is extraneous (deprecated syntax)`, t);
        open = take();
      } else if (t.kind !== "{") fail('"{" or "}"', t);
      emit(template, definitions(), open);
    }
  };

  while (peek().kind !== "eof") {
    const t = take();
    try {
      if (t.kind === "word" && t.text === "file") fileBlock();
      else if (t.kind === "word" && t.text === "global") global();
      else fail('"file" or "global"', t);
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      // Go on at the next "file" or "global" word.
      while (
        peek().kind !== "eof" && !(peek().kind === "word" && /^(file|global)$/.test(peek().text))
      ) {
        take();
      }
    }
  }
  return out;
}
