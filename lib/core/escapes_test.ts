import assert from "node:assert/strict";
import { escapeBytes, escapeText, unescapeBytes, unescapeText } from "./escapes.ts";

const none = { permissions: "none" } as const;

Deno.test({
  name: "escapes: text and bytes as epicsStrnEscapedFromRaw writes them",
  ...none,
  fn() {
    assert.equal(escapeText('a\tb"c\\d', "escaped"), 'a\\tb\\"c\\\\d');
    assert.equal(escapeText("x\ty\x01z", "escaped"), "x\\ty\\x01z");
    assert.equal(escapeText("\x07\b\f\n\r\v'\0\x7f", "escaped"), "\\a\\b\\f\\n\\r\\v\\'\\0\\x7f");
    // The C tools see UTF-8 bytes, none of them printable in the C locale.
    assert.equal(escapeText("\u00e9", "escaped"), "\\xc3\\xa9");
    assert.equal(escapeText("hello world", "escaped"), "hello world");
    // A C string (autosave's epicsStrPrintEscaped of strlen): the NUL ends it.
    assert.equal(escapeText("ab\0cd", "ends"), "ab");
    assert.equal(escapeBytes(new Uint8Array([104, 105, 10, 0, 65]), "ends"), "hi\\n");
    assert.equal(escapeBytes(new Uint8Array([104, 0, 0xff]), "escaped"), "h\\0\\xff");
  },
});

Deno.test({
  name: "unescapes as base 7's epicsStrnRawFromEscaped reads them: no octal",
  ...none,
  fn() {
    // EPICS base 7.0.8.1's caput -S w 'a\101b\x41\0c\qz' writes exactly these bytes into a
    // CHAR waveform (read back with caget -# 40): \101 is "101", \0 a NUL, \q is "q".
    assert.deepEqual(
      [...unescapeBytes("a\\101b\\x41\\0c\\qz")],
      [97, 49, 48, 49, 98, 65, 0, 99, 113, 122],
    );
    // ... and caput s 'a\101b\x41\0c' to a stringout reads back as "a101bA".
    assert.equal(unescapeText("a\\101b\\x41\\0c"), "a101bA");
    assert.deepEqual([...unescapeBytes("x\\ty\\x01z")], [120, 9, 121, 1, 122]);
    assert.deepEqual([...unescapeBytes("\\x4g\\q\\")], [4, 103, 113]);
    // \x without a digit: the character after it is read afresh (here another escape).
    assert.deepEqual([...unescapeBytes("\\x\\n")], [10]);
    assert.deepEqual([...unescapeBytes("\\xg")], [103]);
    assert.deepEqual([...unescapeBytes("\u00e9")], [0xc3, 0xa9]);
    assert.equal(unescapeText("\\xc3\\xa9"), "\u00e9");
    assert.equal(unescapeText("a\\nb\\\\"), "a\nb\\");
    assert.equal(unescapeText("x\\"), "x");
    // A NUL in the text itself ends it, as in C.
    assert.deepEqual([...unescapeBytes("ab\0cd")], [97, 98]);
    for (
      const s of ["plain", "tab\there", 'q"uote', "back\\slash", "\x01\x02\x1f", "\u00fc \u2603"]
    ) {
      assert.equal(unescapeText(escapeText(s, "escaped")), s);
      assert.equal(unescapeText(escapeText(s, "ends")), s);
    }
  },
});
