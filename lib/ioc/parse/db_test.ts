import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseDatabase } from "./db.ts";
import { IocParseError } from "./errors.ts";
import { expandMacros } from "../../core/macros.ts";

const t = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const p = (text: string, macros: Record<string, string> = {}) =>
  parseDatabase(text, { file: "t.db", macros: new Map(Object.entries(macros)) });
const where = (e: IocParseError) => `${e.line}:${e.column} ${e.reason}`;

t("db: records, fields, infos, aliases, bare words and comments", () => {
  const r = p(`# comment
record(ai, "rec:a") {
  field(DESC, "Temp # not a comment")  # comment
  field(PREC, 3)
  field(EGU, degC)
  field(HOPR, -1.5e3)
  info(autosaveFields, "VAL")
  alias("rec:alias")
}
grecord(bo, rec:b)
record("*", rec:a) { field(LOPR, "0") }
alias(rec:b, rec:b2)
record(ao, empty)
record(ao, "x") {}
`);
  assertEquals(r.errors.map(where), []);
  assertEquals(r.records.map((x) => [x.type, x.name, x.line]), [
    ["ai", "rec:a", 2],
    ["bo", "rec:b", 10],
    ["*", "rec:a", 11],
    ["ao", "empty", 13],
    ["ao", "x", 14],
  ]);
  assertEquals(r.records[0].fields.map((f) => [f.name, f.value, f.line]), [
    ["DESC", "Temp # not a comment", 3],
    ["PREC", "3", 4],
    ["EGU", "degC", 5],
    ["HOPR", "-1.5e3", 6],
  ]);
  assertEquals(r.records[0].infos.map((f) => [f.name, f.value]), [["autosaveFields", "VAL"]]);
  assertEquals(r.records[0].aliases, ["rec:alias"]);
  assertEquals(r.records[1].grecord, true);
  assertEquals(r.aliases.map((a) => [a.record, a.alias, a.line]), [["rec:b", "rec:b2", 12]]);
});

t("db: escapes are translated as dbTranslateEscape does", () => {
  const r = p(String.raw`record(ai, x) {
  field(DESC, "a\tb\"c\\d\x41\n")
  field(EGU, 'single "q"')
  field(INP, "x\0y")
  field(OUT, "\u0041")
}`);
  assertEquals(r.errors.map(where), []);
  assertEquals(r.records[0].fields.map((f) => f.value), [
    'a\tb"c\\dA\n',
    'single "q"',
    "x",
    "u0041",
  ]);
});

t("db: \\x escapes are bytes, read as UTF-8 (base's softIoc gives EGU \\xc2\\xb5A as µA)", () => {
  const r = p(String.raw`record(ai, x) {
  field(EGU, "\xc2\xb5A")
  field(DESC, "\xe2\x82\xac \xC2\xB0C \xc2")
}`);
  assertEquals(r.errors.map(where), []);
  // An escaped lead byte with no continuation starts no character: U+FFFD.
  assertEquals(r.records[0].fields.map((f) => f.value), ["\u00b5A", "\u20ac \u00b0C \ufffd"]);
});

t("db: JSON values in base's compact form", () => {
  const r = p(`record(ai, x) {
  field(INP, {const: 5})
  field(OUT, { "pva" : { pv: "a:b", proc: true } , })
  field(FLNK, [1, 2, ])
  field(DOL, [a, "b", null])
  field(SDIS, {ca-link: x.y})
}`);
  assertEquals(r.errors.map(where), []);
  assertEquals(r.records[0].fields.map((f) => f.value), [
    "{const:5}",
    '{"pva":{pv:"a:b",proc:true}}',
    "[1,2,]",
    '["a","b",null]',
    '{"ca-link":"x.y"}',
  ]);
});

t("db: macros are expanded; undefined ones are errors naming the line", () => {
  const r = p(
    `record(ai, "$(P)a") {
  field(DESC, "$(D=default) $(Q)")
}`,
    { P: "lab:" },
  );
  assertEquals(r.records[0].name, "lab:a");
  assertEquals(r.records[0].fields[0].value, "default $(Q,undefined)");
  assertEquals(r.errors.map(where), ['2:29 macro "Q" is undefined']);
  assertEquals(r.errors[0].message, 'Cannot parse "t.db" at 2:29: macro "Q" is undefined');
});

t("db: every error is collected with its position, parsing goes on", () => {
  const r = p(`record(ai, a) {
  field(DESC, "unterminated
  field(EGU, "ok")
  bogus(1)
  field(INP, A:B)
  field(PREC, 2)
}
record(ai, "bad name") {}
record(ai, c) { field(X, "1") }
record ai d
alias(c)
record(ai, e)
@
`);
  assertEquals(r.errors.map(where), [
    "2:15 Newline in string, closing quote missing",
    '4:3 expected field, info, alias or "}" but found "bogus"',
    '5:15 expected ")" but found ":B"',
    "8:12 Bad character ' ' in Record/Alias name \"bad name\"",
    '10:8 expected "(" but found "ai"',
    "11:9 expected 2 arguments, found 1",
    "13:1 Invalid character '@'",
  ]);
  assertEquals(r.records.map((x) => x.name), ["a", "c", "e"]);
  assertEquals(r.records[0].fields.map((f) => f.name), ["EGU", "PREC"]);
});

t("db: JSON strings refuse what base refuses", () => {
  const r = p('record(ai, a) {\n  field(DESC, "oct\\101")\n  field(EGU, "tab\there")\n}');
  assertEquals(r.errors.map(where), [
    "2:15 Bad character in JSON string",
    "3:14 Bad character in JSON string",
  ]);
});

t("db: include, path and addpath through the injected reader", () => {
  const files: Record<string, string> = {
    "./common.db": 'record(ai, "$(P)inc") {}\ninclude "sub/deep.db"',
    "sub/deep.db": 'record(bo, deep) {\n  include "fields.db"\n}',
    "lib/fields.db": 'field(DESC, "from lib")',
  };
  const r = parseDatabase(
    'include "common.db"\naddpath "lib"\nrecord(ai, top) { include "fields.db" }\ninclude "missing.db"\n',
    {
      file: "t.db",
      macros: new Map([["P", "x:"]]),
      readFile: (f) => files[f],
    },
  );
  assertEquals(
    r.errors.map((e) => `${e.file} ${where(e)}`),
    [
      't.db 4:9 Can\'t open include file "missing.db"',
      'sub/deep.db 2:11 Can\'t open include file "fields.db"',
    ].reverse().sort(),
  );
  assertEquals(r.records.map((x) => [x.name, x.file, x.fields.map((f) => f.value)]), [
    ["x:inc", "./common.db", []],
    ["deep", "sub/deep.db", []],
    ["top", "t.db", ["from lib"]],
  ]);
});

t("db: dbd definitions are parsed and returned", () => {
  const r = p(`menu(myMenu) { choice(myA, "A") choice(myB, "B") }
device(ai, CONSTANT, devAiSoft, "Soft Channel")
driver(drvX)
variable(myVar, int)
breaktable(bt) { 0 0, 10 100 }
recordtype(foo) {
  %#include "x.h"
  field(VAL, DBF_DOUBLE) { prompt("Value") menu(myMenu) }
}`);
  assertEquals(r.errors.map(where), []);
  assertEquals(r.definitions.map((d) => [d.kind, d.args]), [
    ["menu", ["myMenu"]],
    ["device", ["ai", "CONSTANT", "devAiSoft", "Soft Channel"]],
    ["driver", ["drvX"]],
    ["variable", ["myVar", "int"]],
    ["breaktable", ["bt"]],
    ["recordtype", ["foo"]],
  ]);
  assertEquals(r.definitions[0].choices, [["myA", "A"], ["myB", "B"]]);
  assertEquals(r.definitions[4].points, ["0", "0", "10", "100"]);
  assertEquals(r.definitions[5].fields, [{
    name: "VAL",
    type: "DBF_DOUBLE",
    items: [["prompt", "Value"], ["menu", "myMenu"]],
  }]);
});

t("db: a record name beginning with '-' is a warning, an empty one an error", () => {
  const r = p('record(ai, "-x") {}\nrecord(ai, "") {}');
  assertEquals(r.warnings.map(where), ["1:12 Record/Alias name '-x' should not begin with '-'"]);
  assertEquals(r.errors.map(where), ["2:12 Record/Alias name can't be empty"]);
  assert(r.records.length === 1);
});

t("db: the fast macro path expands exactly as macLib does", () => {
  const macros = new Map([["P", "lab:"], ["Q", "$(P)q"], ["R", "$(R)"], ["E", '"e"']]);
  const values = [
    "$(P)x",
    "${P}x$(Q)",
    "$(U)",
    "$(R)",
    "$(E) and ${E}",
    "$(P=d)",
    "$(N=d)",
    "$(P,X=1)",
    "$(P}",
    "$(P",
    "$($(X=P))",
  ];
  for (const v of values) {
    const line = `record(ai, a) { field(DESC, "${v}") }`;
    const r = parseDatabase(line, { file: "t.db", macros });
    const want = /DESC, "(.*)"\) }$/.exec(expandMacros(line, macros).text)?.[1];
    assertEquals(r.records[0]?.fields[0]?.value, want, v);
  }
});

// Each "bad" file is refused by EPICS base 7.0.8.1's dbLoadRecords ("failed to load") and each
// "ok" file loads (checked with its softIoc, one dbLoadRecords per file).
const ACCEPT_REJECT: [string, string][] = [
  ["ok_plain", 'record(ai, x1) { field(DESC, "a") }'],
  ["ok_nobody", "record(ai, x2)"],
  ["ok_empty", "record(ai, x3) {}"],
  ["ok_json", "record(ai, x4) { field(INP, {const: 5}) }"],
  ["ok_num", "record(ai, x5) { field(HOPR, -1.5e3) field(LOPR, 0x10) }"],
  ["ok_alias", "record(ai, x6) { alias(x6a) }\nalias(x6, x6b)"],
  ["ok_comment", '# c\nrecord(ai, x7) { # c\n field(DESC, "#") }'],
  ["ok_trailing_comma_arr", "record(ai, x8) { info(a, [1,]) }"],
  ["ok_obj_comma", "record(ai, x9) { info(a, {a:1,}) }"],
  ["ok_sq", "record(ai, x10) { field(DESC, 'a b') }"],
  ["bad_colon", "record(ai, y1) { field(INP, a:b) }"],
  ["bad_nl", 'record(ai, y2) { field(DESC, "a\n") }'],
  ["bad_oct", 'record(ai, y3) { field(DESC, "\\101") }'],
  ["bad_tab", 'record(ai, y4) { field(DESC, "a\tb") }'],
  ["bad_star", "record(*, y5) {}"],
  ["bad_noclose", 'record(ai, y6) { field(DESC, "a")'],
  ["bad_extra", 'record(ai, y7) { field(DESC, "a") }}'],
  ["bad_char", 'record(ai, y8) { field(DESC, "a") } @'],
  ["bad_name_space", 'record(ai, "y 9") {}'],
  ["bad_name_dot", 'record(ai, "y.10") {}'],
  ["bad_field_args", "record(ai, y11) { field(DESC) }"],
  ["bad_value_missing", "record(ai, y12) { field(DESC, ) }"],
  ["bad_keyword_name", "record(ai, link) {}"],
  ["bad_empty_name", 'record(ai, "") {}'],
  ["bad_unknown_stmt", "foo(ai, y13) {}"],
  ["bad_alias_args", "alias(y14)"],
  ["bad_json", "record(ai, y15) { field(INP, {a 1}) }"],
  ["bad_hex_esc", 'record(ai, y16) { field(DESC, "\\xZ1") }'],
  ["bad_u_esc", 'record(ai, y17) { field(DESC, "\\u12") }'],
  ["ok_escapes", 'record(ai, x11) { field(DESC, "\\t\\x41\\u0041\\q\\0") }'],
  ["bad_info_empty", 'record(ai, y18) { info("", "x") }'],
  ["ok_brackets_name", 'record(ai, "x12[1]<a>;b") {}'],
  ["bad_paren_value", "record(ai, y19) { field(DESC, (a)) }"],
  ["ok_bare_plus", "record(ai, x13) { field(DESC, +a-b.c_d) }"],
];

t("db: accepts and refuses the files base accepts and refuses", () => {
  for (const [name, text] of ACCEPT_REJECT) {
    const r = p(text + "\n");
    assertEquals([name, r.errors.length > 0], [name, name.startsWith("bad")]);
  }
});
