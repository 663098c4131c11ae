import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { checkSav, formatSav, formatSavValue, parseSav, SavFormatError } from "./sav.ts";
import type { SavEntry } from "./sav.ts";
import { escapeValue, formatG, unescapeValue } from "./text.ts";

const none = { permissions: "none" } as const;

Deno.test({
  name: "formatG matches C's %.14g and %.7g",
  ...none,
  fn() {
    const cases: [number, number, string][] = [
      [0.1, 14, "0.1"],
      [1 / 3, 14, "0.33333333333333"],
      [2 / 3, 14, "0.66666666666667"],
      [123456789012345, 14, "1.2345678901234e+14"],
      [99999999999999.9, 14, "1e+14"],
      [1e-5, 14, "1e-05"],
      [0.0001, 14, "0.0001"],
      [-1.5e-300, 14, "-1.5e-300"],
      [1e100, 14, "1e+100"],
      [4.12345678901234, 14, "4.1234567890123"],
      [1.2345678, 7, "1.234568"],
      [Math.fround(0.1), 7, "0.1"],
      [1e7, 7, "1e+07"],
      [9999999, 7, "9999999"],
      [12345678, 7, "1.234568e+07"],
      [NaN, 14, "nan"],
      [-Infinity, 14, "-inf"],
      [-0, 14, "-0"],
      [100, 14, "100"],
      [0.5, 0, "0.5"],
      [2.5, 1, "2"],
      [3.5, 1, "4"],
      [0.125, 2, "0.12"],
      [0.375, 2, "0.38"],
      [1.5e-7, 1, "1e-07"],
      [9.5, 1, "1e+01"],
      [-2.5, 1, "-2"],
    ];
    for (const [x, p, want] of cases) assertEquals(formatG(x, p), want, `${x} %.${p}g`);
  },
});

Deno.test({
  name: "escapes as epicsStrPrintEscaped, unescapes as epicsStrnRawFromEscaped",
  ...none,
  fn() {
    const raw = "a\x07\b\f\n\r\t\v\\'\"z\x01\x7f";
    const esc = "a\\a\\b\\f\\n\\r\\t\\v\\\\\\'\\\"z\\x01\\x7f";
    assertEquals(escapeValue(raw), esc);
    assertEquals(unescapeValue(esc), raw);
    assertEquals(unescapeValue("\\x4"), "\x04");
    assertEquals(unescapeValue("\\x4g"), "\x04g");
    assertEquals(unescapeValue("\\xg"), "g");
    assertEquals(unescapeValue("ab\\0cd"), "ab");
    assertEquals(unescapeValue("x\\"), "x");
    assertEquals(escapeValue("ab\0cd"), "ab");
    for (const s of ["plain", "ü ☃", "tab\there", 'q"q', "\u0000".slice(1)]) {
      assertEquals(unescapeValue(escapeValue(s)), s);
    }
  },
});

Deno.test({
  name: "value formats per DBF kind",
  ...none,
  fn() {
    const v = (e: Omit<SavEntry, "name">, name = "x") => formatSavValue({ name, ...e });
    assertEquals(v({ kind: "double", value: 7.25 }), "7.25");
    assertEquals(v({ kind: "float", value: 0.1 }), "0.1");
    assertEquals(v({ kind: "enum", value: 3 }), "3");
    assertEquals(v({ kind: "menu", value: "9" }), "9");
    assertEquals(v({ kind: "string", value: "with space" }), "with space");
    assertEquals(v({ kind: "string", value: "" }), "");
    assertEquals(v({ kind: "long", value: -5 }), "-5");
    assertEquals(v({ value: 2.5 }), "2.5");
    assertEquals(v({ value: 10n }), "10");
    assertEquals(v({ value: true }), "1");
    assertEquals(v({ error: "Not Connected" }), "Not Connected");
    // arrays: one element is written as a scalar, more as @array@
    assertEquals(v({ kind: "double", value: new Float64Array([3]) }), "3");
    assertEquals(v({ kind: "double", value: [] }), "@array@ { }");
    assertEquals(v({ kind: "char", value: new Uint8Array([1, 255]) }), '@array@ { "1" "-1" }');
    assertEquals(v({ kind: "uchar", value: new Uint8Array([1, 255]) }), '@array@ { "1" "255" }');
    assertEquals(v({ kind: "float", value: new Float32Array([0.1, 1]) }), '@array@ { "0.1" "1" }');
    assertEquals(
      v({ kind: "string", value: ['a"b', "c\\d", "e\nf", "x".repeat(50)] }),
      `@array@ { "a\\"b" "c\\\\d" "e\\nf" "${"x".repeat(39)}" }`,
    );
    // the escape counts against the 39 characters, as in synApps
    assertEquals(v({ value: ['"'.repeat(30), "b"] }), `@array@ { "${'\\"'.repeat(20)}" "b" }`);
    // long strings: text or char array, up to 199 bytes, escaped
    assertEquals(v({ value: "A+1\tB" }, "c.CALC$"), "A+1\\tB");
    assertEquals(v({ value: new Uint8Array([104, 105, 0, 120]) }, "c.CALC$"), "hi");
    assertEquals(v({ value: "y".repeat(300) }, "c.CALC$"), "y".repeat(199));
  },
});

Deno.test({
  name: "validity rule: <END> then one or two characters",
  ...none,
  fn() {
    assertEquals(checkSav("<END>\n").valid, true);
    assertEquals(checkSav("x\n<END>\r\n").valid, true);
    assertEquals(checkSav("x\n<END>\n\n").valid, true);
    assertEquals(checkSav("x\n<END>\n\n\n").valid, false);
    assertEquals(checkSav("x\n<END>").valid, false);
    assertEquals(checkSav("").valid, false);
    assertEquals(checkSav("x\nA 1\n<EN").valid, false);
    assertThrows(() => parseSav("A 1\n"), SavFormatError);
    assertEquals(parseSav("A 1\n", { force: true }).records, [{ name: "A", value: "1", line: 1 }]);
  },
});

Deno.test({
  name: "reader: rest of line as value, comments, ! count, arrays across lines, <END> stops",
  ...none,
  fn() {
    const text = [
      "# autosave R5.3\tAutomatically generated - DO NOT MODIFY - 261201-232529",
      "! 3 channel(s) not connected - or not all gets were successful",
      "a:DESC  two spaces kept  ",
      "b:EMPTY ",
      "c:ONLY",
      "   d:lead 4",
      "#e:gone Not Connected",
      'f:wf @array@ { "1" "a \\"q\\" \\\\ \\}" "x\\ny" ',
      '"3" }',
      "g:crlf 5\r",
      "<END>",
      "h:after 1",
      "",
    ].join("\n");
    const doc = parseSav(text, { force: true });
    assertEquals(doc.version, "autosave R5.3");
    assertEquals(doc.date, "261201-232529");
    assertEquals(doc.notConnected, 3);
    assertEquals(doc.complete, false);
    assertEquals(doc.records.map((r) => [r.name, r.value]), [
      ["a:DESC", " two spaces kept  "],
      ["b:EMPTY", ""],
      ["c:ONLY", ""],
      ["d:lead", "4"],
      ["f:wf", ["1", 'a "q" \\ }', "x\ny", "3"]],
      ["g:crlf", "5"],
    ]);
    assertEquals(doc.commented, [{ name: "e:gone", reason: "Not Connected", line: 7 }]);
    assertThrows(() => parseSav('a @array@ { "1"\n<END>\n'), SavFormatError);
  },
});

Deno.test({
  name: "writer then reader: round trip of every kind",
  ...none,
  fn() {
    const entries: SavEntry[] = [
      { name: "d", kind: "double", value: Math.PI },
      { name: "s", kind: "string", value: "tab\tq\"'\\ é" },
      { name: "l$", value: "x".repeat(150) + "\n" },
      { name: "sa", kind: "string", value: ["a b", 'q"', "\\", "}", ""] },
      { name: "da", kind: "double", value: new Float64Array([1e-300, -2.5, 1e22]) },
      { name: "gone", error: "Not Connected" },
    ];
    const text = formatSav(entries, { date: new Date(2020, 5, 7, 8, 9, 10) });
    assertEquals(text.split("\n")[0].endsWith(" - 200607-080910"), true);
    const doc = parseSav(text);
    assertEquals(doc.complete, true);
    assertEquals(doc.notConnected, 1);
    assertEquals(doc.records.map((r) => [r.name, r.value]), [
      ["d", "3.1415926535898"],
      ["s", "tab\tq\"'\\ é"],
      ["l$", "x".repeat(150) + "\n"],
      ["sa", ["a b", 'q"', "\\", "}", ""]],
      ["da", ["1e-300", "-2.5", "1e+22"]],
    ]);
  },
});

Deno.test({
  name: "reader: pyepics AutoSaver files (unescaped values, JSON arrays)",
  ...none,
  fn() {
    const text = "# File saved by pyepics AutoSaver.save() on 2024-01-01 10:00:00.000000\n" +
      "# Edit with extreme care.\nx:ao 1.5\nx:str back\\slash\nx:wf @array@ [1.0, 2.5, 3]\n<END>\n";
    const doc = parseSav(text);
    assertEquals(doc.records.map((r) => [r.name, r.value]), [
      ["x:ao", "1.5"],
      ["x:str", "back\\slash"],
      ["x:wf", ["1", "2.5", "3"]],
    ]);
  },
});
