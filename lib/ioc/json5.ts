/**
 * JSON5 text to a value tree, as base 7.0.8.1's yajl (with its JSON5 extensions) reads link
 * addresses: unquoted identifier keys, single- or double-quoted strings with JSON5 escapes
 * and line continuations, `//` and `/* *\/` comments, trailing commas, hexadecimal numbers,
 * leading or trailing decimal points, a leading `+`, `Infinity` and `NaN`. Integers and
 * doubles stay apart, as yajl hands them to link support through different callbacks. Pure.
 * @module
 */

import { LETTER_ESCAPES } from "../core/escapes.ts";

/** One JSON5 value. */
export type Json5Node =
  | { readonly t: "null" }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "int"; readonly v: number }
  | { readonly t: "double"; readonly v: number }
  | { readonly t: "string"; readonly v: string }
  | { readonly t: "map"; readonly entries: readonly (readonly [string, Json5Node])[] }
  | { readonly t: "array"; readonly items: readonly Json5Node[] };

/** A JSON5 syntax error; `offset` is the 0-based position in the text. */
export class Json5Error extends SyntaxError {
  /** Where in the text the error is. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = "Json5Error";
    this.offset = offset;
  }
}

const ID_START = /[A-Za-z_$]/;
const ID_PART = /[A-Za-z0-9_$]/;
const NUMBER =
  /^[+-]?(?:Infinity|NaN|0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)/;

class Reader {
  pos = 0;
  constructor(readonly s: string) {}

  fail(what: string, at = this.pos): never {
    const found = at >= this.s.length ? "end of text" : `'${this.s[at]}'`;
    throw new Json5Error(`${what} but found ${found} at offset ${at}`, at);
  }

  skip(): void {
    const s = this.s;
    for (;;) {
      const c = s[this.pos];
      if (c === undefined) return;
      if (/\s|\uFEFF/.test(c)) this.pos++;
      else if (c === "/" && s[this.pos + 1] === "/") {
        while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
      } else if (c === "/" && s[this.pos + 1] === "*") {
        const end = s.indexOf("*/", this.pos + 2);
        if (end < 0) this.fail("Unterminated comment: expected '*/'", s.length);
        this.pos = end + 2;
      } else return;
    }
  }

  value(): Json5Node {
    this.skip();
    const s = this.s;
    const c = s[this.pos];
    if (c === "{") return this.map();
    if (c === "[") return this.array();
    if (c === '"' || c === "'") return { t: "string", v: this.string() };
    const word = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(s.slice(this.pos))?.[0];
    if (word === "null") {
      this.pos += 4;
      return { t: "null" };
    }
    if (word === "true" || word === "false") {
      this.pos += word.length;
      return { t: "bool", v: word === "true" };
    }
    const m = NUMBER.exec(s.slice(this.pos));
    if (m && m[0] !== "+" && m[0] !== "-" && m[0] !== ".") {
      const text = m[0];
      const next = s[this.pos + text.length];
      if (next !== undefined && ID_PART.test(next)) {
        this.fail("Expected a number", this.pos + text.length);
      }
      this.pos += text.length;
      const body = text.replace(/^[+-]/, "");
      const sign = text.startsWith("-") ? -1 : 1;
      if (/^0[xX]/.test(body)) return { t: "int", v: sign * parseInt(body.slice(2), 16) };
      if (body === "Infinity") return { t: "double", v: sign * Infinity };
      if (body === "NaN") return { t: "double", v: NaN };
      const v = sign * Number(body.endsWith(".") ? body.slice(0, -1) : body);
      return /[.eE]/.test(body) ? { t: "double", v } : { t: "int", v };
    }
    return this.fail("Expected a value");
  }

  string(): string {
    const s = this.s;
    const q = s[this.pos++];
    let out = "";
    for (;;) {
      const c = s[this.pos];
      if (c === undefined) this.fail(`Unterminated string: expected ${q}`);
      if (c === q) {
        this.pos++;
        return out;
      }
      if (c === "\n" || c === "\r") this.fail("Unescaped line break in string");
      if (c !== "\\") {
        out += c;
        this.pos++;
        continue;
      }
      const e = s[this.pos + 1];
      this.pos += 2;
      const letter = e === undefined ? undefined : LETTER_ESCAPES[e];
      if (letter !== undefined) {
        out += letter;
        continue;
      }
      switch (e) {
        case "0":
          out += "\0";
          break;
        case "x":
        case "u": {
          const n = e === "x" ? 2 : 4;
          const hex = s.slice(this.pos, this.pos + n);
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail("Bad escape in string");
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += n;
          break;
        }
        case "\r":
          if (s[this.pos] === "\n") this.pos++;
          break;
        case "\n":
        case "\u2028":
        case "\u2029":
          break; // a line continuation
        case undefined:
          this.fail(`Unterminated string: expected ${q}`);
          break;
        default:
          out += e;
      }
    }
  }

  key(): string {
    this.skip();
    const c = this.s[this.pos];
    if (c === '"' || c === "'") return this.string();
    if (c !== undefined && ID_START.test(c)) {
      const start = this.pos;
      while (this.pos < this.s.length && ID_PART.test(this.s[this.pos])) this.pos++;
      return this.s.slice(start, this.pos);
    }
    return this.fail("Expected an object key");
  }

  map(): Json5Node {
    this.pos++;
    const entries: [string, Json5Node][] = [];
    for (;;) {
      this.skip();
      if (this.s[this.pos] === "}") {
        this.pos++;
        return { t: "map", entries };
      }
      const k = this.key();
      this.skip();
      if (this.s[this.pos] !== ":") this.fail("Expected ':' after an object key");
      this.pos++;
      entries.push([k, this.value()]);
      this.skip();
      const c = this.s[this.pos];
      if (c === ",") this.pos++;
      else if (c !== "}") this.fail("Expected ',' or '}'");
    }
  }

  array(): Json5Node {
    this.pos++;
    const items: Json5Node[] = [];
    for (;;) {
      this.skip();
      if (this.s[this.pos] === "]") {
        this.pos++;
        return { t: "array", items };
      }
      items.push(this.value());
      this.skip();
      const c = this.s[this.pos];
      if (c === ",") this.pos++;
      else if (c !== "]") this.fail("Expected ',' or ']'");
    }
  }
}

/**
 * Parses one JSON5 value.
 * @param text the text (nothing but blanks and comments may follow the value)
 * @returns the value tree
 * @throws Json5Error saying what was expected and where
 * @example
 * ```ts
 * import { parseJson5 } from "./json5.ts";
 * const v = parseJson5("{calc: {expr: 'A+1', args: [0x10, .5,], /* note *\/}}");
 * if (v.t !== "map" || v.entries[0][0] !== "calc") throw new Error();
 * ```
 */
export function parseJson5(text: string): Json5Node {
  const r = new Reader(text);
  const v = r.value();
  r.skip();
  if (r.pos < text.length) r.fail("Expected the end of the text");
  return v;
}
