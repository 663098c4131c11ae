import assert from "node:assert/strict";
import { type ConstantDbf, loadConstant, loadConstantText } from "./const_link.ts";
import { parseLink } from "./links.ts";

const opts = { permissions: "none" } as const;

/** The texts of the table below, as INP0 of a printf record (softIoc 7.0.8.1). */
const TEXTS = [
  "nan",
  "inf",
  "-inf",
  "0x10",
  "1e3",
  "5",
  "010",
  "-1",
  "1.5",
  "-1.5",
  "70000",
  "3000000000",
  "-0x10",
  "nan(12)",
  "infinity",
  "0x1p3",
  ".5",
  "+7",
  "-70000",
  "200",
  "1e-40",
  "4e38",
  "-3000000000",
];

/**
 * What the printf record printed for each text read as each type (%hhd, %hhu, %hd, %hu,
 * %d, %u, %lld, %llu, %hf, %f: it loads the constant with recGblInitConstantLink as that
 * DBR type); "-" for "LNK" (the load failed), "?" where base reported success without
 * writing its variable (it printed whatever the stack held).
 */
const PRINTED: Record<Exclude<ConstantDbf, "STRING">, string> = {
  CHAR: "- - - 16 1 5 8 -1 1 -1 - - -16 - - 1 - 7 - - 1 4 -",
  UCHAR: "- - - 16 1 5 8 255 1 255 - - 240 - - 1 - 7 - 200 1 4 -",
  SHORT: "- - - 16 1 5 8 -1 1 -1 - - -16 - - 1 - 7 - 200 1 4 -",
  USHORT: "- - - 16 1 5 8 65535 1 65535 - - 65520 - - 1 - 7 - 200 1 4 -",
  LONG: "- - - 16 1 5 8 -1 1 -1 70000 - -16 - - 1 - 7 -70000 200 1 4 -",
  ULONG: "? ? ? 16 1000 5 8 4294967295 1 4294967295 70000 3000000000 4294967280 ? ? 1 0 7 " +
    "4294897296 200 0 4 1294967296",
  INT64: "- - - 16 1 5 8 -1 1 -1 70000 3000000000 -16 - - 1 - 7 -70000 200 1 4 -3000000000",
  UINT64: "- - - 16 1 5 8 18446744073709551615 1 18446744073709551615 70000 3000000000 " +
    "18446744073709551600 - - 1 - 7 18446744073709481616 200 1 4 18446744070709551616",
  FLOAT: "nan inf -inf 16 1000 5 10 -1 1.5 -1.5 70000 3000000000 -16 nan inf 8 0.5 7 " +
    "-70000 200 - - -3000000000",
  DOUBLE: "nan inf -inf 16 1000 5 10 -1 1.5 -1.5 70000 3000000000 -16 nan inf 8 0.5 7 " +
    "-70000 200 1e-40 4e38 -3000000000",
};

Deno.test(
  { ...opts, name: "constant text loads as base's dbConstLoadScalar for each type" },
  () => {
    for (const [dbf, row] of Object.entries(PRINTED)) {
      const want = row.split(" ");
      assert.equal(want.length, TEXTS.length);
      const got = TEXTS.map((t) => {
        const r = loadConstantText(t, dbf as ConstantDbf);
        if (r === undefined) return "-";
        if (r.value === undefined) return "?";
        // JavaScript's text of the numbers in C's spelling.
        return String(r.value).replace("Infinity", "inf").replace("NaN", "nan").replace("e+", "e");
      });
      assert.deepStrictEqual(got, want, dbf);
    }
    // FLOAT rounds to a float; strings keep the text (cut to 39 bytes).
    assert.equal(loadConstantText("0.1", "FLOAT")?.value, Math.fround(0.1));
    assert.equal(loadConstantText("0x1p3", "STRING")?.value, "0x1p3");
    assert.equal(loadConstantText("x".repeat(50), "STRING")?.value, "x".repeat(39));
  },
);

Deno.test(
  { ...opts, name: "a JSON string constant reads integers in decimal, UINT64 with base 0" },
  () => {
    // softIoc 7.0.8.1: a longin with INP {const:"0x10"} holds 0, {const:"010"} 10,
    // {const:"1e3"} 1; an ai with {const:"0x10"} 16.
    assert.equal(loadConstantText("0x10", "LONG", true)?.value, 0);
    assert.equal(loadConstantText("010", "LONG", true)?.value, 10);
    assert.equal(loadConstantText("1e3", "LONG", true)?.value, 1);
    assert.equal(loadConstantText("0x10", "DOUBLE", true)?.value, 16);
    assert.equal(loadConstantText("0x10", "UINT64", true)?.value, 16n);
    assert.equal(loadConstantText("", "LONG", true)?.value, 0);
    assert.equal(loadConstantText("", "LONG"), undefined);
  },
);

Deno.test({ ...opts, name: "link text is a constant when all of it reads as a double" }, () => {
  for (const t of ["nan", "-inf", "Infinity", "0x10", "1e3", " 5 ", "nan(12)", "0x1p3", ".5"]) {
    assert.equal(parseLink(t).kind, "constant", t);
  }
  // dbParseLink: trailing text or a number out of range makes a PV link.
  for (const t of ["5abc", "1e999", "1e-400", "0x", "nanx"]) {
    assert.equal(parseLink(t).kind, "pv", t);
  }
  const l = parseLink(" -0x10 ");
  assert.ok(l.kind === "constant" && l.value === -16 && l.text === "-0x10");
});

Deno.test({
  ...opts,
  name: "a [...] constant base's JSON parser stops in loads as a constant with yajl's message",
}, () => {
  // softIoc 7.0.8.1 loads these and prints, at init, dbConvertJSON's message.
  const caret = "                     (right here) ------^\n";
  const cases: [string, (number | string)[], string][] = [
    ["[nan]", [], `lexical error: invalid string in json text.\n${" ".repeat(38)}[nan]\n`],
    ["[1, nan]", [1], `lexical error: invalid string in json text.\n${" ".repeat(35)}[1, nan]\n`],
    ["[inf]", [], `lexical error: invalid char in json text.\n${" ".repeat(38)}[inf]\n`],
    ["[tru]", [], `lexical error: invalid string in json text.\n${" ".repeat(36)}[tru]\n`],
    [
      "[1 2]",
      [1],
      `parse error: after array element, I expect ',' or ']'\n${" ".repeat(36)}[1 2]\n`,
    ],
    [
      "[-]",
      [],
      "lexical error: malformed number, a digit is required after the plus/minus sign.\n" +
      `${" ".repeat(38)}[-]\n`,
    ],
  ];
  for (const [text, value, message] of cases) {
    const l = parseLink(text);
    assert.equal(l.kind, "constant", text);
    if (l.kind !== "constant") continue;
    assert.deepEqual(l.value, value, text);
    assert.equal(l.error, `dbConvertJSON: ${message}${caret}`, text);
  }
  // Text in brackets that JSON5 reads stays an ordinary constant.
  const ok = parseLink("[NaN, 1,]");
  assert.ok(ok.kind === "constant" && ok.error === undefined);
});

Deno.test(
  { ...opts, name: "loading a broken [...] constant writes its first element and fails" },
  () => {
    // softIoc: ai INP "[1, nan]" leaves VAL 1 and UDF 1; "[nan]" leaves VAL 0; "[]" defines VAL.
    assert.deepEqual(loadConstant(parseLink("[1, nan]"), "DOUBLE"), { value: 1, failed: true });
    assert.deepEqual(loadConstant(parseLink("[nan]"), "LONG"), { failed: true });
    assert.deepEqual(loadConstant(parseLink("[]"), "DOUBLE"), {});
  },
);
