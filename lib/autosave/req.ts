/**
 * synApps autosave request (`.req`) files, read as save_restore's readReqFile reads them:
 *
 * - each line is macro-expanded (EPICS macLib rules, lib/core/macros.ts) when macros are
 *   defined, then only its first white-space-delimited token counts;
 * - `#...` is a comment; `file NAME MACROS` / `file "NAME" P=a,M=b` includes another request
 *   file (quotes dropped, white space taken as a comma, macro strings shorter than 3
 *   characters dropped, no comment allowed after it);
 * - a token starting with a PV-name character or `$` is a PV name (a trailing `$` asks for
 *   the field as a long string), the rest of the line is ignored;
 * - lines longer than synApps' 199-character buffer are cut at the last `,` or space.
 *
 * Differences from synApps, on purpose: an undefined macro is an error naming file:line
 * (synApps saves a PV named `$(P,undefined)...` and warns; `allowUndefined` keeps that); an
 * include that cannot be found and an include cycle are errors (synApps warns, or recurses
 * until it runs out of file handles); an included file also sees the macros of the file that
 * includes it (synApps passes only those on the `file` line).
 *
 * Pure: files come in through a read function.
 * @module
 */

import { isAbsolute, join, normalize } from "node:path";
import { EpicsSyntaxError } from "../core/errors.ts";
import { expandMacros, macroMap } from "../core/macros.ts";

/** One PV of a request set. */
export interface ReqEntry {
  /** The PV name as written (a trailing `$` marks a long string). */
  readonly name: string;
  /** The request file it came from (the path it was read at). */
  readonly file: string;
  /** 1-based line in that file. */
  readonly line: number;
}

/** A request file with its includes resolved. */
export interface ReqSet {
  /** Every PV, in file order, includes expanded in place (duplicates kept, as synApps does). */
  readonly entries: ReqEntry[];
  /** Every request file read, in the order first read. */
  readonly files: string[];
  /** What synApps would warn about (undefined macros with allowUndefined, long lines...). */
  readonly warnings: string[];
  /** The top-level macros (synApps reads SAVEPATHPV, SAVENAMEPV, CONFIG... from them). */
  readonly macros: Map<string, string>;
}

/** Options of {@link parseReq}. */
export interface ParseReqOptions {
  /**
   * Reads a file: its text, or undefined when there is no such file (other errors may be
   * thrown and are reported with the file's name).
   */
  readonly readFile: (path: string) => string | undefined;
  /** Macros of the set, as a definition string `P=xxx:,M=m1` or a map. */
  readonly macros?: string | ReadonlyMap<string, string>;
  /** Folders searched in order for relative names (set_requestfile_path; default `["."]`). */
  readonly searchPath?: readonly string[];
  /** Keep undefined macros as text with a warning, as synApps does, instead of failing. */
  readonly allowUndefined?: boolean;
}

/** A request file that cannot be used: the message names the file and line. */
export class ReqFileError extends EpicsSyntaxError {
  /** For an include cycle, the chain of files (`a.req:3`, `b.req:1`, `a.req`). */
  readonly chain: string[] | undefined;
  /** Creates the error. */
  constructor(message: string, where: { file?: string; line?: number } = {}, chain?: string[]) {
    super(message, where);
    this.name = "ReqFileError";
    this.chain = chain;
  }
}

/** synApps' isValid1stPVChar, plus `$` (a name that starts with a macro left as text). */
function isPvStart(c: string): boolean {
  return /[A-Za-z0-9_\-+:[\]<>;$]/.test(c);
}

/** BUF_SIZE of save_restore: fgets reads at most 199 characters of a line. */
const LINE_MAX = 199;

/** The macro string of a `file` line, cleaned as readReqFile does. */
function includeMacros(rest: string): string {
  let out = "";
  for (const ch of rest) {
    if (/\s/.test(ch) || ch === ",") {
      if (out.length >= 3 && !out.endsWith(",")) out += ",";
    } else if (ch !== '"') out += ch;
  }
  if (out.endsWith(",")) out = out.slice(0, -1);
  return out.length < 3 ? "" : out;
}

/** Splits a `file` line (already expanded) into the file name and its macro string. */
export function parseIncludeLine(line: string): { file: string; macros: string } {
  let t = line.slice(4);
  t = t.replace(/^\s*/, "");
  if (t[0] === '"') t = t.slice(1);
  t = t.replace(/^\s*/, "");
  const m = /^[^\s"#]*/.exec(t)!;
  return { file: m[0], macros: includeMacros(t.slice(m[0].length)) };
}

/**
 * Reads a request file and every file it includes.
 * @param file the request file's name (searched in `searchPath` unless absolute)
 * @param options how to read files, macros, search path, undefined-macro policy
 * @returns the PVs and the files read
 * @throws ReqFileError naming file and line: file not found, undefined macro, include cycle
 * @example
 * ```ts
 * import { parseReq } from "./req.ts";
 * const files: Record<string, string> = {
 *   "./top.req": "# settings\n$(P)ao.VAL\nfile motor.req M=m1\n$(P)calc.CALC$ extra text\n",
 *   "./motor.req": "$(P)$(M).VELO\n",
 * };
 * const set = parseReq("top.req", { readFile: (p) => files[p], macros: "P=x:" });
 * const names = set.entries.map((e) => e.name).join(" ");
 * if (names !== "x:ao.VAL x:m1.VELO x:calc.CALC$") throw new Error(names);
 * ```
 */
export function parseReq(file: string, options: ParseReqOptions): ReqSet {
  const searchPath = options.searchPath?.length ? options.searchPath : ["."];
  const top = typeof options.macros === "string"
    ? macroMap(options.macros)
    : new Map(options.macros ?? []);
  const entries: ReqEntry[] = [];
  const files: string[] = [];
  const warnings: string[] = [];

  const locate = (name: string): { path: string; text: string } | undefined => {
    const candidates = isAbsolute(name) ? [name] : searchPath.map((d) => join(d, name));
    for (const c of candidates) {
      const p = c.startsWith("/") || c.startsWith("./") || c.startsWith("../") ? c : "./" + c;
      let text: string | undefined;
      try {
        text = options.readFile(p);
      } catch (e) {
        throw new ReqFileError(`Cannot read request file "${p}": ${(e as Error).message}`, {
          file: p,
        });
      }
      if (text !== undefined) return { path: p, text };
    }
    return undefined;
  };

  const visit = (
    path: string,
    text: string,
    macros: Map<string, string>,
    stack: { path: string; line: number }[],
  ) => {
    if (!files.includes(path)) files.push(path);
    const lines = text.split("\n");
    if (lines.length && lines[lines.length - 1] === "") lines.pop();
    for (let li = 0; li < lines.length; li++) {
      const lineNo = li + 1;
      let line = lines[li];
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.length >= LINE_MAX) {
        // fgets got part of the line: synApps cuts it at the last separator before that.
        let c = LINE_MAX - 1;
        while (c > 0 && line[c] !== "," && !/\s/.test(line[c])) c--;
        line = line.slice(0, c);
        warnings.push(`${path}:${lineNo}: line longer than ${LINE_MAX} characters, cut`);
      }
      let eline = line;
      if (macros.size > 0 || /\$[({]/.test(line)) {
        const r = expandMacros(line, macros, { suppressWarnings: macros.size === 0 });
        const bad = [...r.undefinedNames, ...r.recursiveNames];
        if (bad.length && !line.trimStart().startsWith("#")) {
          const what = r.recursiveNames.length
            ? `recursive macro $(${r.recursiveNames[0]})`
            : `undefined macro $(${r.undefinedNames[0]})`;
          if (!options.allowUndefined) {
            throw new ReqFileError(`Cannot read "${path}" at line ${lineNo}: ${what}`, {
              file: path,
              line: lineNo,
            });
          }
          warnings.push(`${path}:${lineNo}: ${what} left as text`);
        }
        // Without macros synApps does not expand at all: the text stays as written.
        eline = macros.size > 0 ? r.text : line;
      }
      const name = /^\s*(\S*)/.exec(eline)![1];
      if (name === "" || name[0] === "#") continue;
      if (eline.startsWith("file") && (eline.length === 4 || /[\s"]/.test(eline[4]))) {
        const inc = parseIncludeLine(eline);
        if (!inc.file) {
          throw new ReqFileError(`Cannot read "${path}" at line ${lineNo}: "file" without a name`, {
            file: path,
            line: lineNo,
          });
        }
        const found = locate(inc.file);
        if (!found) {
          throw new ReqFileError(
            `Cannot read "${path}" at line ${lineNo}: request file "${inc.file}" not found in ${
              searchPath.join(", ")
            }`,
            { file: path, line: lineNo },
          );
        }
        const here = [...stack, { path, line: lineNo }];
        const key = normalize(found.path);
        if (here.some((s) => normalize(s.path) === key)) {
          const chain = [...here.map((s) => `${s.path}:${s.line}`), found.path];
          throw new ReqFileError(
            `Cannot read "${path}" at line ${lineNo}: include cycle ${chain.join(" -> ")}`,
            { file: path, line: lineNo },
            chain,
          );
        }
        visit(found.path, found.text, macroMap(inc.macros, macros), here);
        continue;
      }
      if (isPvStart(name[0])) entries.push({ name, file: path, line: lineNo });
      else warnings.push(`${path}:${lineNo}: "${name}" is not a PV name, ignored`);
    }
  };

  const found = locate(file);
  if (!found) {
    throw new ReqFileError(
      `Cannot read request file "${file}": not found in ${searchPath.join(", ")}`,
      { file },
    );
  }
  visit(found.path, found.text, top, []);
  return { entries, files, warnings, macros: top };
}
