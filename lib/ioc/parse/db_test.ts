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
