/**
 * The one-letter backslash escapes that C string literals and JSON5 strings share (the
 * .db parser adds C's `\a`; `\0` and `\x` differ between the two and stay with them).
 * @module
 */

/** The character each shared one-letter escape stands for, by the letter after `\`. */
export const LETTER_ESCAPES: Readonly<Record<string, string>> = {
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};
