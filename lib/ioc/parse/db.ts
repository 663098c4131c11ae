/**
 * The EPICS database (.db) language as EPICS base 7.0.8.1's dbLoadRecords reads it: `record` /
 * `grecord`, `field`, `info`, `alias` (inside a record and on its own), `include`, `path`,
 * `addpath`, macros (expanded line by line before lexing, as dbReadDatabase does), comments,
 * bare words, quoted strings with escapes, JSON field values (links such as `{const: 5}`), and
 * the dbd definitions the same grammar accepts (`menu`, `recordtype`, `device`, `driver`,
 * `link`, `registrar`, `function`, `variable`, `breaktable`), returned for the engine to judge.
 *
 * Pure: text in, records and errors out; included files are read through an injected function.
 * @module
 */

import { LETTER_ESCAPES } from "../../core/escapes.ts";
import { utf8Decode, utf8Encode } from "../../core/bytes.ts";
import { expandMacros, type ExpandResult } from "../../core/macros.ts";
import { IocParseError } from "./errors.ts";

/** One `field(NAME, value)` of a record, value with quotes removed and escapes translated. */
export interface DbField {
  /** Field name as written, e.g. `"VAL"`. */
  name: string;
  /** The value as base hands it to dbPutString (JSON values in base's compact form). */
  value: string;
  /** File it was read from. */
  file: string;
  /** 1-based line. */
  line: number;
}

/** One `info(NAME, value)` of a record. */
export interface DbInfo {
  /** Info item name. */
  name: string;
  /** The value, quotes removed and escapes translated (JSON values in compact form). */
  value: string;
  /** File it was read from. */
  file: string;
  /** 1-based line. */
  line: number;
}

/** One `record(type, name) { ... }` block; records of the same name merge in the engine. */
export interface DbRecordDef {
  /** Record type; `"*"` re-opens an existing record. */
  type: string;
  /** Record name. */
  name: string;
  /** Fields in file order. */
  fields: DbField[];
  /** Info items in file order. */
  infos: DbInfo[];
  /** Names given with `alias(NAME)` inside the record. */
  aliases: string[];
  /** True for `grecord` (base's "visible" record; same otherwise). */
  grecord?: boolean;
  /** File it was read from. */
  file: string;
  /** 1-based line of the `record` keyword. */
  line: number;
}

/** A top-level `alias(record, alias)`. */
export interface DbAliasDef {
  /** The record the alias refers to. */
  record: string;
  /** The alias name. */
  alias: string;
  /** File it was read from. */
  file: string;
  /** 1-based line. */
  line: number;
}

/** A dbd definition met in a database file (menu, recordtype, device, driver, ...). */
export interface DbDefinition {
  /** Which statement. */
  kind:
    | "menu"
    | "recordtype"
    | "device"
    | "driver"
    | "link"
    | "registrar"
    | "function"
    | "variable"
    | "breaktable";
  /** The arguments in parentheses, e.g. `["ai", "INST_IO", "devAiX", "X"]` for a device. */
  args: string[];
  /** A menu's `choice(NAME, "text")` pairs. */
  choices?: [string, string][];
  /** A recordtype's fields with their items (`prompt("x")` as `["prompt", "x"]`). */
  fields?: { name: string; type: string; items: [string, string][] }[];
  /** A breaktable's numbers, in order. */
  points?: string[];
  /** File it was read from. */
  file: string;
  /** 1-based line. */
  line: number;
}

/** What {@link parseDatabase} found. */
export interface DbParseResult {
  /** Record blocks in file order (includes expanded in place). */
  records: DbRecordDef[];
  /** Top-level aliases in file order. */
  aliases: DbAliasDef[];
  /** dbd definitions found (the engine decides what to do with them). */
  definitions: DbDefinition[];
  /** Every error found; the load should fail when there is any. */
  errors: IocParseError[];
  /** Things base warns about but accepts (e.g. a record name starting with `-`). */
  warnings: IocParseError[];
}

/** How to parse a database file. */
export interface DbParseOptions {
  /** The file's name, used in every position. */
  file: string;
  /** Macro definitions (dbLoadRecords' second argument, already parsed). */
  macros?: ReadonlyMap<string, string>;
  /** Directories for `include` (dbLoadRecords' path; base's default is `.`). */
  includePath?: readonly string[];
  /** Reads an included file; undefined when it does not exist. Without it, include fails. */
  readFile?: (path: string) => string | undefined;
  /** Environment for `$(VAR)` in include file names (base's macEnvExpand). */
  env?: (name: string) => string | undefined;
}

const MAX_INCLUDE_DEPTH = 64;

const KEYWORDS = new Set([
  "include",
  "path",
  "addpath",
  "menu",
  "choice",
  "recordtype",
  "field",
  "device",
  "driver",
  "link",
  "breaktable",
  "record",
  "grecord",
  "alias",
  "info",
  "registrar",
  "function",
  "variable",
]);

type TokKind = "kw" | "str" | "punct" | "cdefs" | "eof";
interface Tok {
  kind: TokKind;
  text: string;
  line: number;
  column: number;
}

// Character classes of base's lexer.
const charTable = (chars: string) => {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (/[a-zA-Z0-9_]/.test(ch) || chars.includes(ch)) t[c] = 1;
  }
  return t;
};
const BARE = charTable("-+:.[]<>;");
const JSON_BARE = charTable("-+.");
const isBare = (c: string) => BARE[c.charCodeAt(0)] === 1;
const isJsonBare = (c: string) => JSON_BARE[c.charCodeAt(0)] === 1;
const JSON_NUMBER =
  /^(?:[+-]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|[+-]?(?:0|[1-9][0-9]*)\.(?:[eE][+-]?[0-9]+)?|[+-]?\.[0-9]+(?:[eE][+-]?[0-9]+)?|NaN|[+-]?Infinity|[+-]?0[xX][0-9a-fA-F]+)$/;

/** Thrown inside the parser to unwind to the nearest recovery point. */
class Abort extends Error {}

/**
 * Translates backslash escapes as base's dbTranslateEscape does (`\n`, `\t`, `\xHH`, ...; an
 * unknown escape gives the character itself; `\0` ends the string). Base translates into
 * bytes: `\xHH` is one byte, so `\xc2\xb5` is the two bytes of the UTF-8 "µ". The bytes are
 * read back as UTF-8, as every string here is (a byte that starts no valid sequence reads
 * as U+FFFD).
 * @param s the text between the quotes
 * @returns the translated text
 * @example
 * ```ts
 * import { translateEscapes } from "./db.ts";
 * if (translateEscapes("a\\tb\\x41") !== "a\tbA") throw new Error();
 * if (translateEscapes("\\xc2\\xb5m") !== "\u00b5m") throw new Error();
 * ```
 */
export function translateEscapes(s: string): string {
  if (!s.includes("\\")) return s;
  const bytes: number[] = [];
  let run = "";
  const flush = () => {
    if (run !== "") { for (const b of utf8Encode(run)) bytes.push(b); }
    run = "";
  };
  const done = () => {
    flush();
    return utf8Decode(Uint8Array.from(bytes));
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== "\\") {
      run += c;
      continue;
    }
    if (++i >= s.length) break;
    const e = s[i];
    const letter = LETTER_ESCAPES[e];
    if (letter !== undefined) {
      run += letter;
      continue;
    }
    switch (e) {
      case "a":
        run += "\x07";
        break;
      case "0":
        return done(); // a NUL ends the C string
      case "x": {
        const h = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1));
        if (!h) break; // base drops the "\x" and goes on with the next character
        const code = parseInt(h[0], 16);
        if (code === 0) return done();
        flush();
        bytes.push(code);
        i += h[0].length;
        break;
      }
      default:
        run += e;
    }
  }
  return done();
}

class Lexer {
  pos = 0;
  file = "";
  line = 1;
  lineStart = 0;
  constructor(
    readonly src: string,
    readonly report: (reason: string, l: number, c: number) => void,
  ) {}

  col(): number {
    return this.pos - this.lineStart + 1;
  }

  advance(n: number) {
    for (let i = 0; i < n; i++) {
      if (this.src[this.pos] === "\n") {
        this.line++;
        this.lineStart = this.pos + 1;
      }
      this.pos++;
    }
  }

  skipSpace() {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === "\n") {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === " " || c === "\t" || c === "\r") this.pos++;
      else if (c === "#") {
        while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
      } else break;
    }
  }

  error(reason: string, line = this.line, column = this.col()) {
    this.report(reason, line, column);
  }

  /** A quoted string at pos (quote char q); returns raw contents or undefined (error given). */
  quoted(json: boolean): string | undefined {
    const s = this.src;
    const q = s[this.pos];
    const line = this.line;
    const column = this.col();
    let i = this.pos + 1;
    let bad = false;
    while (i < s.length && s[i] !== q && s[i] !== "\n") {
      if (s[i] === "\\") {
        if (json) {
          const n = s[i + 1] ?? "";
          if (/[1-9]/.test(n)) bad = true;
          else if (n === "x" && !/^[0-9a-fA-F]{2}/.test(s.slice(i + 2))) bad = true;
          else if (n === "u" && !/^[0-9a-fA-F]{4}/.test(s.slice(i + 2))) bad = true;
        }
        if (s[i + 1] === "\n" || i + 1 >= s.length) break;
        i += 2;
        continue;
      }
      if (json && s.charCodeAt(i) < 0x20) bad = true;
      i++;
    }
    if (i >= s.length || s[i] !== q) {
      this.error("Newline in string, closing quote missing", line, column);
      this.pos = i;
      return undefined;
    }
    const raw = s.slice(this.pos + 1, i);
    this.pos = i + 1;
    if (bad) {
      this.error("Bad character in JSON string", line, column);
      return undefined;
    }
    return raw;
  }

  /** The next token of the ordinary (dbd) lexer. */
  next(): Tok {
    const s = this.src;
    for (;;) {
      this.skipSpace();
      const line = this.line;
      const column = this.col();
      if (this.pos >= s.length) return { kind: "eof", text: "", line, column };
      const c = s[this.pos];
      if (isBare(c)) {
        let i = this.pos;
        while (i < s.length && isBare(s[i])) i++;
        const text = s.slice(this.pos, i);
        this.pos = i;
        return { kind: KEYWORDS.has(text) ? "kw" : "str", text, line, column };
      }
      if (c === '"') {
        const raw = this.quoted(false);
        if (raw === undefined) continue;
        return { kind: "str", text: raw, line, column };
      }
      if (c === "%") {
        let i = this.pos;
        while (i < s.length && s[i] !== "\n") i++;
        const text = s.slice(this.pos + 1, i);
        this.pos = i;
        return { kind: "cdefs", text, line, column };
      }
      if ("{}(),".includes(c)) {
        this.pos++;
        return { kind: "punct", text: c, line, column };
      }
      this.error(invalidChar(c));
      this.advance(1);
    }
  }
}

const invalidChar = (c: string) => {
  const code = c.charCodeAt(0);
  return code >= 0x20 && code < 0x7f
    ? `Invalid character '${c}'`
    : `Invalid character 0x${code.toString(16).padStart(2, "0")}`;
};

/** One JSON token (base's JSON start state). */
type JTok = {
  kind: "str" | "num" | "bare" | "lit" | "punct" | "eof";
  /** The text; for a string, what is between the quotes. */
  text: string;
  /** For a string, its quote character. */
  quote?: string;
  line: number;
  column: number;
};

class Parser {
  readonly lexers: Lexer[] = [];
  peeked: Tok | undefined;
  quiet = 0;

  constructor(
    readonly out: DbParseResult,
    readonly state: { path: string[]; options: DbParseOptions },
  ) {}

  /** The lexer of the innermost file being read (includes stack up, as in base's lexer). */
  get lex(): Lexer {
    return this.lexers[this.lexers.length - 1];
  }

  get file(): string {
    return this.lex.file;
  }

  /** Starts reading a file (the top-level one or an include) at the current point. */
  pushFile(text: string, file: string) {
    const lx = new Lexer(
      expandLines(text, file, this.out, this.state.options),
      (reason, line, column) => {
        if (this.quiet === 0) this.report(reason, line, column);
      },
    );
    lx.file = file;
    this.lexers.push(lx);
  }

  /** At the end of an included file, goes back to the file that included it. */
  popAtEnd(): boolean {
    if (this.lexers.length <= 1) return false;
    this.lexers.pop();
    return true;
  }

  report(reason: string, line: number, column: number) {
    this.out.errors.push(new IocParseError(reason, { file: this.file, line, column }));
  }

  warn(reason: string, t: Tok) {
    this.out.warnings.push(
      new IocParseError(reason, { file: this.file, line: t.line, column: t.column }),
    );
  }

  fail(reason: string, t: Tok): never {
    this.report(reason, t.line, t.column);
    throw new Abort();
  }

  peek(): Tok {
    if (this.peeked) return this.peeked;
    let t = this.lex.next();
    while (t.kind === "eof" && this.popAtEnd()) t = this.lex.next();
    return this.peeked = t;
  }

  take(): Tok {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  expect(text: string): Tok {
    const t = this.take();
    if (t.kind !== "punct" || t.text !== text) {
      this.fail(`expected "${text}" but found ${describe(t)}`, t);
    }
    return t;
  }

  string(what: string): Tok {
    const t = this.take();
    if (t.kind !== "str") this.fail(`expected ${what} but found ${describe(t)}`, t);
    return t;
  }

  /** `( STRING {, STRING} )` with exactly the given counts allowed. */
  args(counts: number[], what: string): string[] {
    this.expect("(");
    const out = [this.string(what).text];
    for (;;) {
      const t = this.take();
      if (t.kind === "punct" && t.text === ")") break;
      if (t.kind !== "punct" || t.text !== ",") {
        this.fail(`expected "," or ")" but found ${describe(t)}`, t);
      }
      out.push(this.string(what).text);
    }
    if (!counts.includes(out.length)) {
      this.fail(`expected ${counts.join(" or ")} arguments, found ${out.length}`, this.lastTok());
    }
    return out;
  }

  lastTok(): Tok {
    return { kind: "eof", text: "", line: this.lex.line, column: this.lex.col() };
  }

  /** Skips to a point where parsing can go on: a statement keyword outside any braces. */
  recoverTop() {
    this.quiet++;
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t.kind === "eof") break;
      if (depth <= 0 && t.kind === "kw" && TOP.has(t.text)) break;
      this.take();
      if (t.kind === "punct" && t.text === "{") depth++;
      if (t.kind === "punct" && t.text === "}") depth--;
    }
    this.quiet--;
  }

  /** Inside a record body: skips to the next item keyword or the closing brace. */
  recoverBody(): boolean {
    this.quiet++;
    let depth = 0;
    try {
      for (;;) {
        const t = this.peek();
        if (t.kind === "eof") return false;
        if (depth === 0 && t.kind === "kw" && BODY.has(t.text)) return true;
        if (depth === 0 && t.kind === "kw" && TOP.has(t.text)) return false;
        if (depth === 0 && t.kind === "punct" && t.text === "}") return true;
        this.take();
        if (t.kind === "punct" && (t.text === "{" || t.text === "(")) depth++;
        if (t.kind === "punct" && (t.text === "}" || t.text === ")")) {
          depth = Math.max(0, depth - 1);
        }
      }
    } finally {
      this.quiet--;
    }
  }

  parse() {
    for (;;) {
      const t = this.peek();
      if (t.kind === "eof") return;
      try {
        this.statement();
      } catch (e) {
        if (!(e instanceof Abort)) throw e;
        this.recoverTop();
      }
    }
  }

  statement() {
    const t = this.take();
    if (t.kind !== "kw" || !TOP.has(t.text)) {
      this.fail(`expected a record, alias or include statement but found ${describe(t)}`, t);
    }
    switch (t.text) {
      case "include":
        return this.include();
      case "path":
      case "addpath": {
        const dirs = this.string("a directory list").text.split(":").map((d) => d || ".");
        if (t.text === "path") this.state.path = dirs;
        else this.state.path.push(...dirs);
        return;
      }
      case "record":
      case "grecord":
        return this.record(t);
      case "alias": {
        const [record, alias] = this.args([2], "a record name");
        if (this.validName(record, t) && this.validName(alias, t)) {
          this.out.aliases.push({ record, alias, file: this.file, line: t.line });
        }
        return;
      }
      default:
        return this.definition(t);
    }
  }

  include() {
    const nameTok = this.string("a file name");
    const { options } = this.state;
    const name = options.env
      ? expandMacros(nameTok.text, {}, { env: options.env, suppressWarnings: true }).text
      : nameTok.text;
    if (this.lexers.length >= MAX_INCLUDE_DEPTH) {
      this.fail(`Cannot include "${name}": includes nested too deeply`, nameTok);
    }
    const candidates = this.state.path.length === 0 || /[/\\]/.test(name)
      ? [name]
      : this.state.path.map((d) => `${d}/${name}`);
    for (const path of candidates) {
      const text = options.readFile?.(path);
      if (text === undefined) continue;
      this.pushFile(text, path);
      return;
    }
    this.report(`Can't open include file "${name}"`, nameTok.line, nameTok.column);
  }

  validName(name: string, t: Tok): boolean {
    if (name === "") {
      this.report("Record/Alias name can't be empty", t.line, t.column);
      return false;
    }
    if (/^[-+[{]/.test(name)) {
      this.warn(`Record/Alias name '${name}' should not begin with '${name[0]}'`, t);
    }
    const bad = /[ \t"'.$]/.exec(name);
    if (bad) {
      this.report(`Bad character '${bad[0]}' in Record/Alias name "${name}"`, t.line, t.column);
      return false;
    }
    // deno-lint-ignore no-control-regex
    const ctl = /[\x00-\x1f]/.exec(name);
    if (ctl) {
      const hex = ctl[0].charCodeAt(0).toString(16).padStart(2, "0");
      this.warn(`Record/Alias name '${name}' should not contain non-printable 0x${hex}`, t);
    }
    return true;
  }

  record(kw: Tok) {
    this.expect("(");
    const typeTok = this.string("a record type");
    this.expect(",");
    const nameTok = this.string("a record name");
    this.expect(")");
    const valid = this.validName(nameTok.text, nameTok);
    const rec: DbRecordDef = {
      type: typeTok.text,
      name: nameTok.text,
      fields: [],
      infos: [],
      aliases: [],
      file: this.file,
      line: kw.line,
    };
    if (kw.text === "grecord") rec.grecord = true;
    if (valid) this.out.records.push(rec);
    const open = this.peek();
    if (open.kind !== "punct" || open.text !== "{") return; // a record without a body
    this.take();
    for (;;) {
      const t = this.peek();
      if (t.kind === "punct" && t.text === "}") {
        this.take();
        return;
      }
      try {
        this.recordItem(rec);
      } catch (e) {
        if (!(e instanceof Abort)) throw e;
        if (!this.recoverBody()) return;
      }
    }
  }

  recordItem(rec: DbRecordDef) {
    const t = this.take();
    if (t.kind === "kw" && (t.text === "field" || t.text === "info")) {
      this.expect("(");
      const name = this.string(t.text === "field" ? "a field name" : "an info name");
      this.expect(",");
      const value = this.jsonValueTop();
      this.expect(")");
      if (t.text === "field") {
        rec.fields.push({ name: name.text, value, file: this.file, line: t.line });
      } else {
        if (name.text === "") this.fail("Info item name can't be empty", name);
        rec.infos.push({ name: name.text, value, file: this.file, line: t.line });
      }
      return;
    }
    if (t.kind === "kw" && t.text === "alias") {
      const [alias] = this.args([1], "an alias name");
      if (this.validName(alias, t)) rec.aliases.push(alias);
      return;
    }
    if (t.kind === "kw" && t.text === "include") return this.include();
    this.fail(`expected field, info, alias or "}" but found ${describe(t)}`, t);
  }

  // ---- JSON values (base switches its lexer to a JSON start state for field values)

  jnext(): JTok {
    const lx = this.lex;
    const s = lx.src;
    for (;;) {
      lx.skipSpace();
      const line = lx.line;
      const column = lx.col();
      if (lx.pos >= s.length) {
        if (this.popAtEnd()) return this.jnext();
        return { kind: "eof", text: "", line, column };
      }
      const c = s[lx.pos];
      if (c === '"' || c === "'") {
        const raw = lx.quoted(true);
        if (raw === undefined) throw new Abort();
        return { kind: "str", text: raw, quote: c, line, column };
      }
      if (isJsonBare(c)) {
        let i = lx.pos;
        while (i < s.length && isJsonBare(s[i])) i++;
        const text = s.slice(lx.pos, i);
        lx.pos = i;
        if (text === "null" || text === "true" || text === "false") {
          return { kind: "lit", text, line, column };
        }
        return { kind: JSON_NUMBER.test(text) ? "num" : "bare", text, line, column };
      }
      if (":,[]{}".includes(c)) {
        lx.pos++;
        return { kind: "punct", text: c, line, column };
      }
      this.fail(invalidChar(c), { kind: "eof", text: c, line, column });
    }
  }

  /** A field or info value as base passes it on: strings unquoted and unescaped. */
  jsonValueTop(): string {
    if (this.peeked) this.fail(`expected a value`, this.peeked);
    const v = this.jsonValue(this.jnext(), true);
    return v;
  }

  jsonValue(t: JTok, top = false): string {
    if (t.kind === "str") return top ? translateEscapes(t.text) : t.quote + t.text + t.quote;
    if (t.kind === "bare") return top ? t.text : `"${t.text}"`;
    if (t.kind === "num" || t.kind === "lit") return t.text;
    if (t.kind === "punct" && t.text === "[") {
      let out = "[";
      let u = this.jnext();
      if (u.kind === "punct" && u.text === "]") return "[]";
      for (;;) {
        out += this.jsonValue(u);
        const sep = this.jnext();
        if (sep.kind === "punct" && sep.text === "]") return out + "]";
        if (sep.kind !== "punct" || sep.text !== ",") this.jfail(`"," or "]"`, sep);
        out += ",";
        u = this.jnext();
        if (u.kind === "punct" && u.text === "]") return out + "]"; // base keeps the comma
      }
    }
    if (t.kind === "punct" && t.text === "{") {
      let out = "{";
      let u = this.jnext();
      if (u.kind === "punct" && u.text === "}") return "{}";
      for (;;) {
        if (u.kind === "str") out += u.quote + u.text + u.quote;
        else if (u.kind === "bare" || u.kind === "num" || u.kind === "lit") {
          out += /[+\-.]/.test(u.text) ? `"${u.text}"` : u.text;
        } else this.jfail("an object key", u);
        const colon = this.jnext();
        if (colon.kind !== "punct" || colon.text !== ":") this.jfail(`":"`, colon);
        out += ":" + this.jsonValue(this.jnext());
        const sep = this.jnext();
        if (sep.kind === "punct" && sep.text === "}") return out + "}";
        if (sep.kind !== "punct" || sep.text !== ",") this.jfail(`"," or "}"`, sep);
        u = this.jnext();
        if (u.kind === "punct" && u.text === "}") return out + "}"; // base drops the comma
        out += ",";
      }
    }
    return this.jfail("a value", t);
  }

  jfail(what: string, t: JTok): never {
    const found = t.kind === "eof" ? "end of file" : `"${t.text}"`;
    this.fail(`expected ${what} but found ${found}`, {
      kind: "eof",
      text: "",
      line: t.line,
      column: t.column,
    });
  }

  // ---- dbd definitions

  definition(t: Tok) {
    const def: DbDefinition = {
      kind: t.text as DbDefinition["kind"],
      args: [],
      file: this.file,
      line: t.line,
    };
    switch (t.text) {
      case "device":
        def.args = this.args([4], "a name");
        break;
      case "link":
        def.args = this.args([2], "a name");
        break;
      case "variable":
        def.args = this.args([1, 2], "a name");
        break;
      case "driver":
      case "registrar":
      case "function":
        def.args = this.args([1], "a name");
        break;
      case "menu": {
        def.args = this.args([1], "a menu name");
        def.choices = [];
        this.expect("{");
        for (;;) {
          const c = this.take();
          if (c.kind === "punct" && c.text === "}") break;
          if (c.kind === "kw" && c.text === "include") {
            this.include();
            continue;
          }
          if (c.kind !== "kw" || c.text !== "choice") {
            this.fail(`expected choice or "}" but found ${describe(c)}`, c);
          }
          const [name, text] = this.args([2], "a choice");
          def.choices.push([name, text]);
        }
        break;
      }
      case "breaktable": {
        def.args = this.args([1], "a breaktable name");
        def.points = [];
        this.expect("{");
        for (;;) {
          const c = this.take();
          if (c.kind === "punct" && c.text === "}") break;
          if (c.kind === "punct" && c.text === ",") continue;
          if (c.kind !== "str") this.fail(`expected a number but found ${describe(c)}`, c);
          if (!Number.isFinite(Number(c.text))) this.fail("Non-numeric value in breaktable", c);
          def.points.push(c.text);
        }
        break;
      }
      case "recordtype": {
        def.args = this.args([1], "a recordtype name");
        def.fields = [];
        this.expect("{");
        for (;;) {
          const c = this.take();
          if (c.kind === "punct" && c.text === "}") break;
          if (c.kind === "cdefs") continue;
          if (c.kind === "kw" && c.text === "include") {
            this.include();
            continue;
          }
          if (c.kind !== "kw" || c.text !== "field") {
            this.fail(`expected field or "}" but found ${describe(c)}`, c);
          }
          const [name, type] = this.args([2], "a field name");
          const items: [string, string][] = [];
          this.expect("{");
          for (;;) {
            const i = this.take();
            if (i.kind === "punct" && i.text === "}") break;
            if (i.kind !== "str" && !(i.kind === "kw" && i.text === "menu")) {
              this.fail(`expected a field attribute but found ${describe(i)}`, i);
            }
            const [v] = this.args([1], "a value");
            items.push([i.text, v]);
          }
          def.fields.push({ name, type, items });
        }
        break;
      }
    }
    this.out.definitions.push(def);
  }
}

const TOP = new Set([
  "include",
  "path",
  "addpath",
  "menu",
  "recordtype",
  "device",
  "driver",
  "link",
  "registrar",
  "function",
  "variable",
  "breaktable",
  "record",
  "grecord",
  "alias",
]);
const BODY = new Set(["field", "info", "alias", "include"]);

function describe(t: Tok): string {
  if (t.kind === "eof") return "end of file";
  if (t.kind === "cdefs") return `"%${t.text}"`;
  return `"${t.text}"`;
}

const SIMPLE_REF = /\$(?:\(([A-Za-z0-9_]+)\)|\{([A-Za-z0-9_]+)\})/g;
const ANY_REF = /\$[({]/g;

/**
 * The common case, fast: a line whose references are all plain `$(NAME)` / `${NAME}`, with no
 * single quote or backslash (which change what macLib expands). Each name's expansion does not
 * depend on where it stands then, so it is computed once per file. Returns undefined when the
 * line needs the full expander.
 */
function expandFast(
  line: string,
  macros: ReadonlyMap<string, string>,
  memo: Map<string, ExpandResult>,
): ExpandResult | undefined {
  if (line.includes("'") || line.includes("\\")) return undefined;
  const all = line.match(ANY_REF)?.length ?? 0;
  let simple = 0;
  const undefinedNames: string[] = [];
  const recursiveNames: string[] = [];
  const text = line.replace(SIMPLE_REF, (_m, a?: string, b?: string) => {
    simple++;
    const name = (a ?? b)!;
    let r = memo.get(name);
    if (!r) memo.set(name, r = expandMacros(`$(${name})`, macros));
    for (const n of r.undefinedNames) if (!undefinedNames.includes(n)) undefinedNames.push(n);
    for (const n of r.recursiveNames) if (!recursiveNames.includes(n)) recursiveNames.push(n);
    return r.text;
  });
  if (simple !== all) return undefined;
  return { text, undefinedNames, recursiveNames };
}

/** Expands macros line by line, as dbReadDatabase's input routine does; reports bad ones. */
function expandLines(text: string, file: string, out: DbParseResult, options: DbParseOptions) {
  if (!text.includes("$")) return text;
  const macros = options.macros ?? new Map<string, string>();
  const memo = new Map<string, ExpandResult>();
  const parts: string[] = [];
  let copied = 0; // text before this index is in parts already
  let lineNo = 1;
  let counted = 0; // newlines before this index are counted in lineNo
  for (let d = text.indexOf("$"); d >= 0; d = text.indexOf("$", d + 1)) {
    const start = text.lastIndexOf("\n", d) + 1;
    if (start < copied) continue; // this line is done already
    let end = text.indexOf("\n", d);
    if (end < 0) end = text.length;
    for (let k = text.indexOf("\n", counted); k >= 0 && k < start; k = text.indexOf("\n", k + 1)) {
      lineNo++;
    }
    counted = start;
    const line = text.slice(start, end);
    const r = expandFast(line, macros, memo) ?? expandMacros(line, macros);
    const at = (name: string) => {
      const k = Math.max(line.indexOf("$(" + name), line.indexOf("${" + name));
      return { file, line: lineNo, column: k >= 0 ? k + 1 : 1 };
    };
    for (const name of r.undefinedNames) {
      out.errors.push(new IocParseError(`macro "${name}" is undefined`, at(name)));
    }
    for (const name of r.recursiveNames) {
      out.errors.push(new IocParseError(`macro "${name}" refers to itself`, at(name)));
    }
    parts.push(text.slice(copied, start), r.text);
    copied = end;
    d = end;
  }
  parts.push(text.slice(copied));
  return parts.join("");
}

/**
 * Parses a database file as dbLoadRecords does, collecting every error (with file, line and
 * column) instead of stopping at the first. Macros are expanded first; an undefined macro is
 * an error, as base refuses the field value that still holds `$(NAME,undefined)`.
 * @param text the file's contents
 * @param options the file name, macros, include path and file reader
 * @returns records, aliases, dbd definitions, errors and warnings
 * @example
 * ```ts
 * import { parseDatabase } from "./db.ts";
 * const db = parseDatabase('record(ai, "$(P)t") { field(DESC, "x\\ty") field(INP, {const: 5}) }', {
 *   file: "t.db",
 *   macros: new Map([["P", "lab:"]]),
 * });
 * const r = db.records[0];
 * if (r.name !== "lab:t" || r.fields[0].value !== "x\ty" || r.fields[1].value !== "{const:5}") {
 *   throw new Error();
 * }
 * ```
 */
export function parseDatabase(text: string, options: DbParseOptions): DbParseResult {
  const out: DbParseResult = {
    records: [],
    aliases: [],
    definitions: [],
    errors: [],
    warnings: [],
  };
  const parser = new Parser(out, { path: [...(options.includePath ?? ["."])], options });
  parser.pushFile(text, options.file);
  parser.parse();
  return out;
}
