import { deepEqual as assertEquals } from "node:assert/strict";
import { parseSubstitutions } from "./substitutions.ts";
import { expandMacros } from "../../core/macros.ts";
import type { IocParseError } from "./errors.ts";

const t = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const where = (e: IocParseError) => `${e.line}:${e.column} ${e.reason}`;
const value = (m: Map<string, string>, name: string) => expandMacros(`$(${name})`, m).text;

// The file below was loaded with dbLoadTemplate("t.subs", "P=p:,S=cmd") in EPICS base
// 7.0.8.1's softIoc; the values asserted are those its records got (dbgf).
const SUBS = `# comment
global { S = g1 }
file t.db {
  pattern { N, D }
  { 1, "one two" }
  { 2, 'it' }
  global { S="g 2" }
  { 3 }
  { 4, x, extra }
}
file "t.db" { { N=5, D="$(S)d" } {N=6, P=q:} }
`;

t("substitutions: pattern and definition forms, globals, caller's macros", () => {
  const r = parseSubstitutions(SUBS, {
    file: "t.subs",
    macros: new Map([["P", "p:"], ["S", "cmd"]]),
  });
  assertEquals(r.errors.map(where), []);
  assertEquals(r.warnings.map(where), ["9:11 Too many values given"]);
  const rows = r.sets.map((s) => [
    s.template,
    s.line,
    value(s.macros, "P") + value(s.macros, "N"),
    value(s.macros, "D"),
    value(s.macros, "S"),
  ]);
  assertEquals(rows, [
    ["t.db", 5, "p:1", "one two", "g1"],
    ["t.db", 6, "p:2", "it", "g1"],
    ["t.db", 8, "p:3", "$(D,undefined)", "g 2"],
    ["t.db", 9, "p:4", "x", "g 2"],
    ["t.db", 11, "p:5", "g 2d", "g 2"],
    ["t.db", 11, "q:6", "$(D,undefined)", "g 2"],
  ]);
});

t("substitutions: errors are collected and parsing goes on at the next file", () => {
  const r = parseSubstitutions(
    "file a.db { {A=$(X)} }\nfile b.db { pattern {A} {1} }\nfile c.db { {A 1} }\nfile d.db { {A=2} }\n",
    { file: "e.subs" },
  );
  assertEquals(r.errors.map(where), [
    "1:16 invalid character '$'",
    "1:17 invalid character '('",
    "1:19 invalid character ')'",
    '3:16 expected "=" but found "1"',
  ]);
  assertEquals(r.sets.map((s) => s.template), ["a.db", "b.db", "d.db"]);
});

t("substitutions: template names are environment-expanded when asked", () => {
  const r = parseSubstitutions('file "$(TOP)/db/x.db" { {} }', {
    file: "x.subs",
    env: (n) => n === "TOP" ? "/ioc" : undefined,
  });
  assertEquals(r.sets.map((s) => [s.template, s.macros.size]), [["/ioc/db/x.db", 0]]);
});

t("substitutions: the deprecated word before a set is a warning", () => {
  const r = parseSubstitutions("file x.db { pattern {A} row1 {1} }\nfile y.db { set {A=2} }", {
    file: "d.subs",
  });
  assertEquals(r.errors, []);
  assertEquals(r.sets.map((s) => s.macros.get("A")), ["1", "2"]);
  assertEquals(r.warnings.length, 2);
});

t("substitutions: file, pattern and global are keywords everywhere, as in base", () => {
  const r = parseSubstitutions("file a.db { {N=file} }\nfile b.db { {N=1} }", { file: "k.subs" });
  assertEquals(r.errors.map(where), ['1:16 expected a value but found "file"']);
  assertEquals(r.sets.map((s) => s.template), ["b.db"]);
});

// Each "bad" file makes EPICS base 7.0.8.1's dbLoadTemplate report an error and each "ok" file
// loads cleanly (checked with its softIoc, one file per run).
const ACCEPT_REJECT: [string, string][] = [
  ["ok_pattern", "file t.db { pattern {N} {1} {2} }"],
  ["ok_defs", 'file t.db { {N=1} {N=2, M="x y"} }'],
  ["ok_global", "global {A=1}\nfile t.db { {N=1} }"],
  ["ok_empty_file", "file t.db { }"],
  ["ok_empty_set", "file t.db { {} }"],
  ["ok_empty_pattern", "file t.db { pattern {} {} }"],
  ["ok_quoted_name", 'file "t.db" { {N=3} }'],
  ["ok_sq_value", "file t.db { {N='4'} }"],
  ["ok_commas", "file t.db { pattern {N,} {5,} }"],
  ["ok_deprecated", "file t.db { pattern {N} row {6} }"],
  ["ok_global_in_pattern", "file t.db { pattern {N} {7} global {A=2} {8} }"],
  ["ok_comment", "# c\nfile t.db { {N=9} } # c"],
  ["bad_no_brace", "file t.db {N=1}"],
  ["bad_missing_eq", "file t.db { {N 1} }"],
  ["bad_dollar", "file t.db { {N=$(X)x} }"],
  ["bad_keyword_value", "file t.db { {N=file} }"],
  ["bad_unclosed", "file t.db { {N=1}"],
  ["bad_nl_quote", 'file t.db { {N="a\n"} }'],
  ["bad_stmt", "foo t.db { }"],
  ["bad_pattern_quote_name", 'file t.db { pattern {"N"} {1} }'],
  ["bad_no_file", "{ {N=1} }"],
];

t("substitutions: accepts and refuses the files base's dbLoadTemplate does", () => {
  for (const [name, text] of ACCEPT_REJECT) {
    const r = parseSubstitutions(text + "\n", { file: name });
    assertEquals([name, r.errors.length > 0], [name, name.startsWith("bad")]);
  }
});
