/**
 * The code of a tsdev link, split once into text and field macros. A field macro is an
 * upper-case field name standing alone (`VAL`, not `dev.VAL`, not `MYVAL`) or written
 * `%VAL%`; where it stands decides what it becomes when the record processes:
 *
 * - in code, a field is a parameter of the compiled function holding the live value,
 *   typed (numbers, strings, arrays for waveform VAL), so the code compiles once;
 * - inside a string literal ('...', "...", `...`), a field is pasted as text, escaped
 *   for that literal, so a value holding a quote cannot end the literal early;
 * - code that is one string field alone (`@VAL` on a stringout) runs the field's text
 *   as code, as PyDevice does (which is why such records need access security).
 *
 * Pure: no I/O.
 * @module
 */

/** One piece of a link's code. */
export type TemplatePart =
  | { readonly kind: "text"; readonly text: string }
  | {
    readonly kind: "field";
    /** The field name. */
    readonly name: string;
    /** The quote of the string literal it sits in, or "" in code. */
    readonly quote: "" | "'" | '"' | "`";
  };

/** A link's code, split. */
export interface CodeTemplate {
  /** The code as written (without the leading `@`). */
  readonly source: string;
  /** Text and field macros in order. */
  readonly parts: readonly TemplatePart[];
  /** The fields used, each once. */
  readonly fields: readonly string[];
  /** Whether `await` appears in code (outside strings and comments). */
  readonly usesAwait: boolean;
}

const WORD_START = /[A-Za-z_$]/;
const WORD_CHAR = /[A-Za-z0-9_$]/;
const FIELD_WORD = /^[A-Z][A-Z0-9]*$/;

/**
 * Splits code into text and field macros.
 * @param source the code
 * @param isField whether an upper-case word names a field of the record
 * @returns the template
 * @example
 * ```ts
 * import { parseTemplate } from "./template.ts";
 * const t = parseTemplate("dev.send('%NAME%', VAL)", (w) => w === "VAL" || w === "NAME");
 * if (t.fields.join() !== "NAME,VAL") throw new Error();
 * ```
 */
export function parseTemplate(source: string, isField: (word: string) => boolean): CodeTemplate {
  const parts: TemplatePart[] = [];
  const fields = new Set<string>();
  let usesAwait = false;
  let text = "";
  const flushText = () => {
    if (text !== "") parts.push({ kind: "text", text });
    text = "";
  };
  const field = (name: string, quote: "" | "'" | '"' | "`") => {
    flushText();
    parts.push({ kind: "field", name, quote });
    fields.add(name);
  };
  // Template literals nest code in `${...}`: a stack of the brace depth at each `${`.
  const templateDepth: number[] = [];
  let braces = 0;
  let i = 0;
  const n = source.length;
  /** Scans string content up to the closing quote, replacing %FIELD% and FIELD words. */
  const scanString = (quote: "'" | '"' | "`"): void => {
    while (i < n) {
      const c = source[i];
      if (c === "\\") {
        text += source.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (c === quote) {
        text += c;
        i++;
        return;
      }
      if (quote === "`" && c === "$" && source[i + 1] === "{") {
        text += "${";
        i += 2;
        templateDepth.push(braces);
        braces++;
        return;
      }
      if (c === "%") {
        const m = /^%([A-Z][A-Z0-9]*)%/.exec(source.slice(i, i + 12));
        if (m && isField(m[1])) {
          field(m[1], quote);
          i += m[0].length;
          continue;
        }
      }
      if (/[A-Z]/.test(c) && !(i > 0 && WORD_CHAR.test(source[i - 1]))) {
        let j = i;
        while (j < n && WORD_CHAR.test(source[j])) j++;
        const w = source.slice(i, j);
        if (FIELD_WORD.test(w) && isField(w)) {
          field(w, quote);
          i = j;
          continue;
        }
        text += w;
        i = j;
        continue;
      }
      text += c;
      i++;
    }
  };
  while (i < n) {
    const c = source[i];
    if (c === "'" || c === '"' || c === "`") {
      text += c;
      i++;
      scanString(c);
      continue;
    }
    if (c === "/" && source[i + 1] === "/") {
      const e = source.indexOf("\n", i);
      const end = e < 0 ? n : e;
      text += source.slice(i, end);
      i = end;
      continue;
    }
    if (c === "/" && source[i + 1] === "*") {
      const e = source.indexOf("*/", i + 2);
      const end = e < 0 ? n : e + 2;
      text += source.slice(i, end);
      i = end;
      continue;
    }
    if (c === "{") braces++;
    if (c === "}") {
      braces--;
      if (templateDepth.length && templateDepth[templateDepth.length - 1] === braces) {
        templateDepth.pop();
        text += c;
        i++;
        scanString("`");
        continue;
      }
    }
    if (c === "%") {
      const m = /^%([A-Z][A-Z0-9]*)%/.exec(source.slice(i, i + 12));
      if (m && isField(m[1])) {
        field(m[1], "");
        i += m[0].length;
        continue;
      }
    }
    if (WORD_START.test(c)) {
      let j = i;
      while (j < n && WORD_CHAR.test(source[j])) j++;
      const w = source.slice(i, j);
      // A member name (`dev.VAL`, `dev?.VAL`) is not a macro.
      let k = i - 1;
      while (k >= 0 && /\s/.test(source[k])) k--;
      const member = k >= 0 && source[k] === "." && source[k - 1] !== ".";
      if (!member && FIELD_WORD.test(w) && isField(w)) field(w, "");
      else {
        if (w === "await" && !member) usesAwait = true;
        text += w;
      }
      i = j;
      continue;
    }
    text += c;
    i++;
  }
  flushText();
  return { source, parts, fields: [...fields], usesAwait };
}

/** Escapes text for the inside of a JS string literal with this quote. */
export function escapeForLiteral(text: string, quote: "'" | '"' | "`"): string {
  let out = "";
  for (const c of text) {
    if (c === "\\" || c === quote) out += "\\" + c;
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (quote === "`" && c === "$") out += "\\$";
    else if (c === "\u2028" || c === "\u2029") out += c === "\u2028" ? "\\u2028" : "\\u2029";
    else out += c;
  }
  return out;
}

/**
 * Whether code is an assignment at its top (`a = 2`, `dev.x += 1`): a statement, whose
 * value an output record does not take as its new VAL.
 */
export function isAssignment(code: string): boolean {
  return /^\s*[A-Za-z_$][\w$]*(\s*(\??\.\s*[A-Za-z_$][\w$]*|\[[^\]]*\]))*\s*(\*\*|<<|>>>?|&&|\|\||\?\?|[-+*/%&|^])?=(?![=>])/
    .test(code);
}
