/**
 * One iocsh (st.cmd) line, split into words as EPICS base 7.0.8.1's iocsh does: `#` comment
 * lines, macro expansion from the environment, both the `name(a, "b")` and the `name a b`
 * forms (space, tab, `(`, `)` and `,` all separate words), quotes, backslash escapes, and
 * I/O redirection (`< file`, `> file`, `>> file`, `2> file`).
 *
 * Pure: the environment comes in as a function.
 * @module
 */

import { expandMacros } from "../../core/macros.ts";
import { IocParseError } from "./errors.ts";

/** One I/O redirection of a command line. */
export interface ShellRedirect {
  /** 0 for `<`, 1 for `>`, N for `N>`. */
  fd: number;
  /** "r" for `<`, "w" for `>`, "a" for `>>`. */
  mode: "r" | "w" | "a";
  /** The file name. */
  path: string;
}

/** A command line split into its command name and arguments. */
export interface ShellCommand {
  /** The command (first word); empty for a line that is only `< file` (see `include`). */
  name: string;
  /** The other words, quotes removed. Words after a `#` are arguments too, as in iocsh. */
  args: string[];
  /** Redirections on the line, in order. */
  redirects: ShellRedirect[];
  /** Set for a line that is only `< file`: iocsh runs that file as a script. */
  include?: string;
  /** The script's name. */
  file: string;
  /** 1-based line in the script. */
  line: number;
}

/** How to read one shell line. */
export interface ShellLineOptions {
  /** The script's name, for errors. */
  file: string;
  /** 1-based line number, for errors. */
  line: number;
  /** Environment variables for `$(VAR)` and `${VAR}`. */
  env: (name: string) => string | undefined;
  /** Macros given to the script (iocsh's `iocsh file "A=1"`), looked up before the environment. */
  macros?: ReadonlyMap<string, string>;
}

const SEPARATORS = " \t(),\r";
const isSpace = (c: string) => c === " " || (c >= "\t" && c <= "\r");

/**
 * Splits one iocsh line into a command and its arguments.
 * Comment lines (first non-blank character `#`) and blank lines give null; iocsh echoes a
 * script's comment lines unless they start with `#-`, which is the caller's business.
 * @param line the raw line, without its newline
 * @param options script name and line number, environment, macros
 * @returns the command, or null for a blank or comment line
 * @throws IocParseError on an undefined macro, an unbalanced quote, a trailing backslash or a
 *   redirection without a file name (iocsh's errors)
 * @example
 * ```ts
 * import { parseShellLine } from "./shell.ts";
 * const env = (n: string) => n === "TOP" ? "/ioc" : undefined;
 * const c = parseShellLine('dbLoadRecords("$(TOP)/db/x.db", "P=a:,R=b")', { file: "st.cmd", line: 3, env });
 * if (c?.name !== "dbLoadRecords" || c.args[0] !== "/ioc/db/x.db" || c.args[1] !== "P=a:,R=b") {
 *   throw new Error();
 * }
 * ```
 */
export function parseShellLine(line: string, options: ShellLineOptions): ShellCommand | null {
  const where = (column: number) => ({ file: options.file, line: options.line, column });
  let start = 0;
  while (start < line.length && isSpace(line[start])) start++;
  if (start >= line.length || line[start] === "#") return null;

  const expanded = expandMacros(line, options.macros ? [options.macros] : [], {
    env: options.env,
  });
  if (expanded.undefinedNames.length > 0 || expanded.recursiveNames.length > 0) {
    const name = expanded.undefinedNames[0] ?? expanded.recursiveNames[0];
    const k = Math.max(line.indexOf("$(" + name), line.indexOf("${" + name));
    const what = expanded.undefinedNames.length > 0 ? "is undefined" : "refers to itself";
    throw new IocParseError(`macro "${name}" ${what}`, where(k >= 0 ? k + 1 : 1));
  }
  const text = expanded.text;
  let i = 0;
  while (i < text.length && isSpace(text[i])) i++;
  if (i >= text.length || text[i] === "#") return null;

  const words: string[] = [];
  const redirects: ShellRedirect[] = [];
  let pending: { fd: number; mode: "r" | "w" | "a"; column: number } | undefined;
  let word: string | undefined; // the word being built, or undefined between words
  let target: "arg" | ShellRedirect = "arg";
  let quote = "";
  let quoteColumn = 0;
  let backslash = false;
  const close = () => {
    if (word === undefined) return;
    if (target === "arg") words.push(word);
    else target.path = word;
    word = undefined;
  };

  scan: for (; i < text.length; i++) {
    let c = text[i];
    let sep = !quote && !backslash && SEPARATORS.includes(c);
    if (!quote && !backslash) {
      let fd = 1;
      if (c === "\\") {
        backslash = true;
        continue;
      }
      if (c === "<") {
        if (pending) break scan; // iocsh stops reading the line here
        pending = { fd: 0, mode: "r", column: i + 1 };
        sep = true;
      }
      if (c >= "1" && c <= "9" && text[i + 1] === ">") {
        fd = c.charCodeAt(0) - 48;
        c = ">";
        i++;
      }
      if (c === ">") {
        if (pending) break scan;
        pending = { fd, mode: "w", column: i + 1 };
        sep = true;
        if (text[i + 1] === ">") {
          i++;
          pending.mode = "a";
        }
      }
    }
    if (word !== undefined) {
      if (quote && c === quote) quote = "";
      else if (!quote && !backslash) {
        if (sep) close();
        else if (c === '"' || c === "'") {
          quote = c;
          quoteColumn = i + 1;
        } else word += c;
      } else word += c;
    } else if (!sep) {
      if ((c === '"' || c === "'") && !backslash) {
        quote = c;
        quoteColumn = i + 1;
      }
      if (pending) {
        const r: ShellRedirect = { fd: pending.fd, mode: pending.mode, path: "" };
        const old = redirects.findIndex((x) => x.fd === r.fd);
        if (old >= 0) redirects.splice(old, 1);
        redirects.push(r);
        target = r;
        pending = undefined;
      } else target = "arg";
      word = quote ? "" : c;
    }
    backslash = false;
  }
  close();

  if (pending) throw new IocParseError("Illegal redirection", where(pending.column));
  if (quote) throw new IocParseError("Unbalanced quote", where(quoteColumn));
  if (backslash) throw new IocParseError("Trailing backslash", where(text.length));

  const cmd: ShellCommand = {
    name: words[0] ?? "",
    args: words.slice(1),
    redirects,
    file: options.file,
    line: options.line,
  };
  if (words.length === 0) {
    const input = redirects.find((r) => r.fd === 0);
    if (!input) return null; // only separators: nothing to run
    cmd.include = input.path;
  }
  return cmd;
}
