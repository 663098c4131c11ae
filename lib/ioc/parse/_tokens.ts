/**
 * The line-oriented tokeniser shared by the ACF and substitution-file parsers: both of
 * base's lexers skip blanks and `#` comments, read quoted strings that must close on their
 * line (a backslash escapes the next character), runs of bare-word characters, and single
 * punctuation characters. What differs between them (quote characters, the bare-word set,
 * the punctuation, the wording of errors) is passed in. Pure.
 * @module
 */

/** How to split a file into tokens. */
export interface TokenRules {
  /** Characters that open (and close) a quoted string. */
  quotes: string;
  /** Whether a character belongs to a bare word. */
  isBare: (c: string) => boolean;
  /** Characters that are tokens on their own. */
  punct: string;
  /** The error for a string whose closing quote is missing on its line. */
  unclosed: string;
  /** The error for a character that starts no token. */
  invalidChar: (c: string) => string;
}

/** One token: a quoted string (quotes removed), a bare word, a punctuation mark or the end. */
export interface RawToken {
  kind: "quoted" | "bare" | "punct" | "eof";
  text: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/**
 * Splits text into tokens, reporting each bad spot and going on after it.
 * @param text the file's contents
 * @param rules what the file's lexer accepts
 * @param report called with the reason, line and column of each error
 * @returns the tokens, ending with one "eof"
 * @example
 * ```ts
 * import { tokenize } from "./_tokens.ts";
 * const toks = tokenize('a "b c" {', {
 *   quotes: '"', isBare: (c) => /\w/.test(c), punct: "{}", unclosed: "x", invalidChar: (c) => c,
 * }, () => {});
 * if (toks.map((t) => t.kind).join() !== "bare,quoted,punct,eof" || toks[1].text !== "b c") throw new Error();
 * ```
 */
export function tokenize(
  text: string,
  rules: TokenRules,
  report: (reason: string, line: number, column: number) => void,
): RawToken[] {
  const out: RawToken[] = [];
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length;) {
    const c = text[i];
    const column = i - lineStart + 1;
    if (c === "\n") {
      line++;
      lineStart = ++i;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (rules.quotes.includes(c)) {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      if (j >= text.length || text[j] !== c) {
        report(rules.unclosed, line, column);
        i = j;
        continue;
      }
      out.push({ kind: "quoted", text: text.slice(i + 1, j), line, column });
      i = j + 1;
    } else if (rules.isBare(c)) {
      let j = i;
      while (j < text.length && rules.isBare(text[j])) j++;
      out.push({ kind: "bare", text: text.slice(i, j), line, column });
      i = j;
    } else if (rules.punct.includes(c)) {
      out.push({ kind: "punct", text: c, line, column });
      i++;
    } else {
      report(rules.invalidChar(c), line, column);
      i++;
    }
  }
  out.push({ kind: "eof", text: "", line, column: text.length - lineStart + 1 });
  return out;
}
