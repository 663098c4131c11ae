/**
 * Access security configuration files (ACF) as EPICS base 7.0.8.1's asLib reads them: `UAG`
 * (user groups), `HAG` (host groups), `ASG` (access security groups) with `INPA`..`INPL`
 * and `RULE(level, NONE|READ|WRITE[, TRAPWRITE|NOTRAPWRITE]) { UAG(..) HAG(..) CALC("..") }`,
 * and a pure evaluation of the access a client gets, following asLib's rule loop.
 *
 * Host names are compared in lower case, as asLib stores them (without asCheckClientIP);
 * user names exactly.
 * @module
 */

import { CALC_NARGS, CalcSyntaxError, compileCalc } from "../calc/mod.ts";
import type { CalcProgram } from "../calc/mod.ts";
import { expandMacros } from "../../core/macros.ts";
import { IocParseError } from "./errors.ts";
import { tokenize, type TokenRules } from "./_tokens.ts";

/** Access rights, weakest first. */
export type AcfAccess = "NONE" | "READ" | "WRITE";

/** One `RULE` of an access security group. */
export interface AcfRule {
  /** The level: the rule applies to fields whose access security level is at most this. */
  level: number;
  /** The access the rule grants. */
  access: AcfAccess;
  /** True for `TRAPWRITE`: writes granted by this rule are to be trapped (logged). */
  trapWrite: boolean;
  /** User groups the client must be in (any of them); empty: anyone. */
  uags: string[];
  /** Host groups the client's host must be in (any of them); empty: any host. */
  hags: string[];
  /** The CALC condition's text, if any. */
  calc?: string;
  /** The compiled CALC condition. */
  program?: CalcProgram;
  /** 1-based line of the rule. */
  line: number;
}

/** One `ASG(name) { ... }`. */
export interface AcfGroup {
  /** The group's name (records name it in their ASG field). */
  name: string;
  /** `INPA`..`INPL`: the PV each input letter reads, by index (A = 0). */
  inputs: (string | undefined)[];
  /** The rules, in file order. */
  rules: AcfRule[];
}

/** A parsed access security configuration. */
export interface Acf {
  /** User access groups: name to user names. */
  uags: Map<string, Set<string>>;
  /** Host access groups: name to host names (lower case). */
  hags: Map<string, Set<string>>;
  /** Access security groups by name; `DEFAULT` always exists (with no rules unless given). */
  asgs: Map<string, AcfGroup>;
}

type Kind = "str" | "int" | "kw" | "inp" | "punct" | "eof";
interface Tok {
  kind: Kind;
  text: string;
  line: number;
  column: number;
}

const KEYWORDS = new Set(["UAG", "HAG", "ASG", "RULE", "CALC"]);
const isName = (c: string) => /[a-zA-Z0-9_\-+:.[\]<>;]/.test(c);

const RULES: TokenRules = {
  quotes: '"',
  isBare: isName,
  punct: "(){},",
  unclosed: "Newline in quoted string, closing quote missing",
  invalidChar: (c) => {
    const code = c.charCodeAt(0);
    return code >= 0x20 && code < 0x7f
      ? `Invalid character '${c}'`
      : `Invalid character 0x${code.toString(16).padStart(2, "0")}`;
  },
};

function lex(text: string, report: (reason: string, line: number, column: number) => void): Tok[] {
  return tokenize(text, RULES, report).map((t): Tok => {
    if (t.kind === "quoted") return { ...t, kind: "str" };
    if (t.kind !== "bare") return { ...t, kind: t.kind };
    const kind: Kind = KEYWORDS.has(t.text)
      ? "kw"
      : /^INP[A-L]$/.test(t.text)
      ? "inp"
      : /^[0-9]+$/.test(t.text)
      ? "int"
      : "str";
    return { ...t, kind };
  });
}

class Abort extends Error {}

/**
 * Parses an ACF file as asLib does, collecting every error.
 * @param text the file's contents
 * @param options the file name, for positions; macros (asSetSubstitutions) to expand first
 * @returns the configuration and the errors (base refuses a file with any)
 * @example
 * ```ts
 * import { accessFor, parseAcf } from "./acf.ts";
 * const { acf, errors } = parseAcf(`
 *   UAG(ops) { alice, bob }
 *   HAG(ctrl) { Console1 }
 *   ASG(DEFAULT) { RULE(1, READ) RULE(1, WRITE) { UAG(ops) HAG(ctrl) } }
 * `, { file: "x.acf" });
 * if (errors.length || accessFor(acf, "DEFAULT", 1, "alice", "console1") !== "WRITE") throw new Error();
 * if (accessFor(acf, "DEFAULT", 1, "eve", "console1") !== "READ") throw new Error();
 * ```
 */
export function parseAcf(
  text: string,
  options: { file: string; macros?: ReadonlyMap<string, string> },
): { acf: Acf; errors: IocParseError[] } {
  const file = options.file;
  const errors: IocParseError[] = [];
  const err = (reason: string, line: number, column: number) =>
    errors.push(new IocParseError(reason, { file, line, column }));
  if (options.macros) {
    // asSetSubstitutions: the file is macro-expanded line by line before it is parsed.
    const macros = options.macros;
    text = text.split("\n").map((line, i) => {
      if (!line.includes("$")) return line;
      const r = expandMacros(line, macros);
      for (const n of r.undefinedNames) err(`macro "${n}" is undefined`, i + 1, 1);
      return r.text;
    }).join("\n");
  }
  const toks = lex(text, err);
  const acf: Acf = {
    uags: new Map(),
    hags: new Map(),
    asgs: new Map([["DEFAULT", { name: "DEFAULT", inputs: [], rules: [] }]]),
  };
  let p = 0;
  const peek = () => toks[p];
  const take = () => toks[p < toks.length - 1 ? p++ : p];
  const describe = (t: Tok) => t.kind === "eof" ? "end of file" : `"${t.text}"`;
  const fail = (what: string, t: Tok): never => {
    err(`expected ${what} but found ${describe(t)}`, t.line, t.column);
    throw new Abort();
  };
  const punct = (c: string) => {
    const t = take();
    if (t.kind !== "punct" || t.text !== c) fail(`"${c}"`, t);
    return t;
  };
  const isPunct = (t: Tok, c: string) => t.kind === "punct" && t.text === c;
  const name = (what: string) => {
    const t = take();
    if (t.kind !== "str") fail(what, t);
    return t;
  };
  const head = (what: string) => {
    punct("(");
    const t = name(what);
    punct(")");
    return t;
  };
  /** `{ a, b, c }` (at least one name). */
  const list = (what: string): Tok[] => {
    punct("{");
    const out = [name(what)];
    for (;;) {
      const t = take();
      if (isPunct(t, "}")) return out;
      if (!isPunct(t, ",")) fail('"," or "}"', t);
      out.push(name(what));
    }
  };

  const group = (kw: Tok) => {
    const n = head(`a ${kw.text} name`);
    const body = isPunct(peek(), "{")
      ? list(kw.text === "UAG" ? "a user name" : "a host name")
      : [];
    const map = kw.text === "UAG" ? acf.uags : acf.hags;
    if (map.has(n.text)) {
      const what = kw.text === "UAG" ? "User" : "Host";
      err(`Duplicate ${what} Access Group named '${n.text}'`, n.line, n.column);
      return;
    }
    map.set(
      n.text,
      new Set(body.map((t) => kw.text === "HAG" ? t.text.toLowerCase() : t.text)),
    );
  };

  const rule = (asg: AcfGroup, kw: Tok) => {
    punct("(");
    const level = take();
    if (level.kind !== "int") fail("a level number", level);
    punct(",");
    const acc = name("NONE, READ or WRITE");
    const r: AcfRule = {
      level: Number(level.text),
      access: "NONE",
      trapWrite: false,
      uags: [],
      hags: [],
      line: kw.line,
    };
    if (acc.text === "NONE" || acc.text === "READ" || acc.text === "WRITE") r.access = acc.text;
    else err("Access rights must be NONE, READ or WRITE", acc.line, acc.column);
    const t = take();
    if (isPunct(t, ",")) {
      const opt = name("TRAPWRITE or NOTRAPWRITE");
      if (opt.text === "TRAPWRITE") r.trapWrite = true;
      else if (opt.text !== "NOTRAPWRITE") {
        err("Log options must be TRAPWRITE or NOTRAPWRITE", opt.line, opt.column);
      }
      punct(")");
    } else if (!isPunct(t, ")")) fail('"," or ")"', t);
    asg.rules.push(r);
    if (!isPunct(peek(), "{")) return;
    take();
    let items = 0;
    for (;;) {
      const i = take();
      if (isPunct(i, "}")) {
        if (items === 0) fail("UAG, HAG or CALC", i);
        return;
      }
      items++;
      if (i.kind === "kw" && (i.text === "UAG" || i.text === "HAG")) {
        punct("(");
        for (;;) {
          const g = name(`a ${i.text} name`);
          const known = i.text === "UAG" ? acf.uags.has(g.text) : acf.hags.has(g.text);
          if (!known) {
            const what = i.text === "UAG" ? "User" : "Host";
            err(`No ${what} Access Group named '${g.text}' defined`, g.line, g.column);
          } else (i.text === "UAG" ? r.uags : r.hags).push(g.text);
          const sep = take();
          if (isPunct(sep, ")")) break;
          if (!isPunct(sep, ",")) fail('"," or ")"', sep);
        }
      } else if (i.kind === "kw" && i.text === "CALC") {
        punct("(");
        const c = name("a quoted expression");
        punct(")");
        try {
          const program = compileCalc(c.text);
          if (program.argsWritten) {
            err(`Assignment operator used in CALC expression '${c.text}'`, c.line, c.column);
          } else {
            r.calc = c.text;
            r.program = program;
          }
        } catch (e) {
          if (!(e instanceof CalcSyntaxError)) throw e;
          err(`${e.reason} in CALC expression '${c.text}'`, c.line, c.column + 1 + e.position);
        }
      } else fail("UAG, HAG or CALC", i);
    }
  };

  const asg = () => {
    const n = head("an ASG name");
    let g = acf.asgs.get(n.text);
    if (g && !(n.text === "DEFAULT" && g.rules.length === 0 && g.inputs.length === 0)) {
      err(`Duplicate Access Security Group named '${n.text}'`, n.line, n.column);
      g = { name: n.text, inputs: [], rules: [] }; // parsed, then dropped
    } else if (!g) {
      g = { name: n.text, inputs: [], rules: [] };
      acf.asgs.set(n.text, g);
    }
    if (!isPunct(peek(), "{")) return;
    take();
    let items = 0;
    for (;;) {
      const t = take();
      if (isPunct(t, "}")) {
        if (items === 0) fail("INPx or RULE", t);
        return;
      }
      items++;
      if (t.kind === "inp") {
        punct("(");
        const pv = name("a PV name");
        punct(")");
        g.inputs[t.text.charCodeAt(3) - 65] = pv.text;
      } else if (t.kind === "kw" && t.text === "RULE") rule(g, t);
      else fail("INPx or RULE", t);
    }
  };

  // Brace depth before each token, to resume after an error at a top-level keyword.
  const depth: number[] = [];
  let d = 0;
  for (const t of toks) {
    depth.push(d);
    if (isPunct(t, "{")) d++;
    if (isPunct(t, "}")) d = Math.max(0, d - 1);
  }
  const topKeyword = (i: number) =>
    depth[i] === 0 && toks[i].kind === "kw" && /^(UAG|HAG|ASG)$/.test(toks[i].text);

  while (peek().kind !== "eof") {
    const t = take();
    try {
      if (t.kind === "kw" && (t.text === "UAG" || t.text === "HAG")) group(t);
      else if (t.kind === "kw" && t.text === "ASG") asg();
      else fail("UAG, HAG or ASG", t);
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      while (peek().kind !== "eof" && !topKeyword(p)) take();
    }
  }
  return { acf, errors };
}

const RANK: Record<AcfAccess, number> = { NONE: 0, READ: 1, WRITE: 2 };
const scratch = new Float64Array(CALC_NARGS);

/** The access and the trap-write flag a client gets; see {@link evaluateAccess}. */
export interface AcfDecision {
  /** The access granted. */
  access: AcfAccess;
  /** True when the rule that granted it says TRAPWRITE. */
  trapWrite: boolean;
}

/**
 * Computes what asLib's asComputePvt grants: the rules of the group in order, each one
 * considered only if it gives more than granted so far, if the field's level `asl` is at most
 * the rule's level, the user is in one of its UAGs and the host in one of its HAGs (when it
 * lists any), and its CALC (if any) gives 1 (between 0.99 and 1.01) with no input it reads
 * missing. An unknown group name falls back to `DEFAULT`, as asAddMember does.
 * @param acf from {@link parseAcf}
 * @param asg the record's ASG field
 * @param asl the field's access security level (0 or 1)
 * @param user the client's user name
 * @param host the client's host name (compared in lower case)
 * @param inputs values of INPA..INPL; `undefined` (or missing) marks an input as bad
 * @returns the access and trap-write flag
 * @example
 * ```ts
 * import { evaluateAccess, parseAcf } from "./acf.ts";
 * const { acf } = parseAcf('ASG(BEAM) { INPA("beam:on") RULE(1, WRITE, TRAPWRITE) { CALC("A=0") } }', { file: "a.acf" });
 * if (evaluateAccess(acf, "BEAM", 1, "u", "h", [0]).access !== "WRITE") throw new Error();
 * if (evaluateAccess(acf, "BEAM", 1, "u", "h", [1]).access !== "NONE") throw new Error();
 * ```
 */
export function evaluateAccess(
  acf: Acf,
  asg: string,
  asl: number,
  user: string,
  host: string,
  inputs: ReadonlyArray<number | undefined> = [],
): AcfDecision {
  const group = acf.asgs.get(asg) ?? acf.asgs.get("DEFAULT");
  let access: AcfAccess = "NONE";
  let trapWrite = false;
  if (!group) return { access, trapWrite };
  const lowerHost = host.toLowerCase();
  for (const r of group.rules) {
    if (access === "WRITE") break;
    if (RANK[access] >= RANK[r.access]) continue;
    if (asl > r.level) continue;
    if (r.uags.length > 0 && !r.uags.some((g) => acf.uags.get(g)?.has(user))) continue;
    if (r.hags.length > 0 && !r.hags.some((g) => acf.hags.get(g)?.has(lowerHost))) continue;
    if (r.program) {
      let bad = false;
      for (let i = 0; i < CALC_NARGS; i++) {
        const v = inputs[i];
        if ((r.program.argsRead >> i) & 1 && v === undefined) bad = true;
        scratch[i] = v ?? 0;
      }
      if (bad) continue;
      let result: number;
      try {
        result = r.program.evaluate(scratch, 0);
      } catch {
        continue;
      }
      if (!(result > 0.99 && result < 1.01)) continue;
    }
    access = r.access;
    trapWrite = r.trapWrite;
  }
  return { access, trapWrite };
}

/**
 * The access a client gets to a field; {@link evaluateAccess} without the trap-write flag.
 * @param acf from {@link parseAcf}
 * @param asg the record's ASG field
 * @param asl the field's access security level (0 or 1)
 * @param user the client's user name
 * @param host the client's host name
 * @param inputs values of INPA..INPL; `undefined` marks an input as bad
 * @returns "NONE", "READ" or "WRITE"
 * @example
 * ```ts
 * import { accessFor, parseAcf } from "./acf.ts";
 * const { acf } = parseAcf("ASG(DEFAULT) { RULE(1, READ) }", { file: "a.acf" });
 * if (accessFor(acf, "ANY", 1, "u", "h") !== "READ") throw new Error();
 * ```
 */
export function accessFor(
  acf: Acf,
  asg: string,
  asl: number,
  user: string,
  host: string,
  inputs?: ReadonlyArray<number | undefined>,
): AcfAccess {
  return evaluateAccess(acf, asg, asl, user, host, inputs).access;
}
