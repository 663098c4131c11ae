/**
 * Backslash escapes. The C escapes of EPICS base's string functions, which catools
 * (`caget`/`caput` values) and synApps autosave (.sav values) both use: text to escaped
 * form as epicsStrnEscapedFromRaw / epicsStrPrintEscaped write it, and back as
 * epicsStrnRawFromEscaped reads it. Also the one-letter escapes the .db and JSON5
 * parsers share.
 *
 * Pure: no I/O.
 * @module
 */

import { utf8Decode, utf8Encode } from "./bytes.ts";

/**
 * The character each one-letter escape shared by C string literals and JSON5 strings
 * stands for, by the letter after `\` (the .db parser adds C's `\a`; `\0` and `\x`
 * differ between the two and stay with them).
 */
export const LETTER_ESCAPES: Readonly<Record<string, string>> = {
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/** The escaped form of each byte that has a letter of its own, NUL included. */
const ESCAPED: readonly (string | undefined)[] = (() => {
  const t: (string | undefined)[] = [];
  const pairs: Array<[number, string]> = [
    [0x07, "a"],
    [0x08, "b"],
    [0x0c, "f"],
    [0x0a, "n"],
    [0x0d, "r"],
    [0x09, "t"],
    [0x0b, "v"],
    [0x5c, "\\"],
    [0x27, "'"],
    [0x22, '"'],
    [0x00, "0"],
  ];
  for (const [byte, letter] of pairs) t[byte] = "\\" + letter;
  return t;
})();

/** The byte each escape letter of epicsStrnRawFromEscaped gives, by its char code. */
const UNESCAPED: readonly (number | undefined)[] = (() => {
  const t: (number | undefined)[] = [];
  ESCAPED.forEach((e, byte) => {
    if (e !== undefined) t[e.charCodeAt(1)] = byte;
  });
  return t;
})();

const HEX = "0123456789abcdef";

/** True when the text escapes to itself: printable ASCII without `\ ' "`. */
function isPlain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x5c || c === 0x27 || c === 0x22) return false;
  }
  return true;
}

/**
 * Escapes bytes as EPICS base does (epicsStrnEscapedFromRaw): `\a \b \f \n \r \t \v \\ \'
 * \"`, and every other byte outside printable ASCII as `\xhh` (lower case). A NUL either
 * ends the value (a C string, as epicsStrPrintEscaped of its strlen) or shows as `\0`.
 * @param bytes the raw bytes
 * @param nul what a NUL does: `"ends"` the value or is `"escaped"`
 * @returns the escaped text
 * @example
 * ```ts
 * import { escapeBytes } from "./escapes.ts";
 * if (escapeBytes(new Uint8Array([104, 10, 0, 65]), "ends") !== "h\\n") throw new Error();
 * if (escapeBytes(new Uint8Array([104, 0, 0xc3]), "escaped") !== "h\\0\\xc3") throw new Error();
 * ```
 */
export function escapeBytes(bytes: Uint8Array, nul: "ends" | "escaped"): string {
  let out = "";
  for (const b of bytes) {
    if (b === 0 && nul === "ends") break;
    const e = ESCAPED[b];
    if (e !== undefined) out += e;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += "\\x" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/**
 * Escapes text as {@link escapeBytes} escapes its UTF-8 bytes (the C tools see raw
 * bytes, so a character above U+007F shows as the `\xhh` of each of its bytes).
 * @param s the raw text
 * @param nul what a NUL does: `"ends"` the value or is `"escaped"`
 * @returns the escaped text
 * @example
 * ```ts
 * import { escapeText } from "./escapes.ts";
 * if (escapeText('a\tb"\x01', "escaped") !== 'a\\tb\\"\\x01') throw new Error();
 * if (escapeText("\u00e9", "ends") !== "\\xc3\\xa9") throw new Error();
 * ```
 */
export function escapeText(s: string, nul: "ends" | "escaped"): string {
  return isPlain(s) ? s : escapeBytes(utf8Encode(s), nul);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Undoes escapes as EPICS base 7's epicsStrnRawFromEscaped does (caput's values,
 * autosave's .sav values): the escapes of {@link escapeBytes}, `\0` for a NUL byte, `\x`
 * with one or two hex digits (with none, the character after it is read afresh), and `\c`
 * for any other c gives c itself (there are no octal escapes: `\101` is "101"). A lone
 * final backslash is dropped; a NUL in the text ends it. Text is taken as UTF-8.
 * @param s the escaped text
 * @returns the raw bytes, NULs written with `\0` included
 * @example
 * ```ts
 * import { unescapeBytes } from "./escapes.ts";
 * const b = unescapeBytes("x\\ty\\x41\\101\\0z");
 * if (b.join(",") !== "120,9,121,65,49,48,49,0,122") throw new Error();
 * ```
 */
export function unescapeBytes(s: string): Uint8Array {
  const src = utf8Encode(s);
  if (s.indexOf("\\") < 0 && s.indexOf("\0") < 0) return src;
  const out = new Uint8Array(src.length);
  let n = 0;
  let i = 0;
  while (i < src.length) {
    const c = src[i++];
    if (c === 0) break;
    if (c !== 0x5c) {
      out[n++] = c;
      continue;
    }
    if (i >= src.length || src[i] === 0) break;
    const d = src[i++];
    if (d === 0x78) {
      const h1 = i < src.length ? hexValue(src[i]) : -1;
      if (h1 < 0) continue;
      i++;
      const h2 = i < src.length ? hexValue(src[i]) : -1;
      if (h2 < 0) out[n++] = h1;
      else {
        out[n++] = h1 * 16 + h2;
        i++;
      }
      continue;
    }
    out[n++] = UNESCAPED[d] ?? d;
  }
  return out.subarray(0, n);
}

/**
 * Undoes escapes into a C string: the bytes of {@link unescapeBytes} up to the first NUL,
 * decoded as UTF-8 (invalid sequences, e.g. from a lone `\xff`, become U+FFFD).
 * @param s the escaped text
 * @returns the raw text
 * @example
 * ```ts
 * import { unescapeText } from "./escapes.ts";
 * if (unescapeText("a\\tb\\x41\\q\\0cd") !== "a\tbAq") throw new Error();
 * if (unescapeText("\\xc3\\xa9") !== "\u00e9") throw new Error();
 * ```
 */
export function unescapeText(s: string): string {
  if (s.indexOf("\\") < 0 && s.indexOf("\0") < 0) return s;
  const b = unescapeBytes(s);
  const end = b.indexOf(0);
  return utf8Decode(end < 0 ? b : b.subarray(0, end));
}
