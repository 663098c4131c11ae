import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { parseShellLine } from "./shell.ts";
import { IocParseError } from "./errors.ts";

const t = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const ENV: Record<string, string> = { A: "x y", TOP: "/opt/ioc" };
const env = (n: string) => ENV[n];
const sh = (line: string) => parseShellLine(line, { file: "st.cmd", line: 7, env });
const words = (line: string) => {
  const c = sh(line);
  return c && [c.name, ...c.args];
};

// Expected words below were checked against EPICS base 7.0.8.1's softIoc with epicsEnvSet /
// epicsEnvShow (the comment after each line gives what base stored).
t("shell: both forms, quotes and escapes as iocsh splits them", () => {
  assertEquals(words('epicsEnvSet A "x y"'), ["epicsEnvSet", "A", "x y"]);
  assertEquals(words("epicsEnvSet(B, 'it''s')"), ["epicsEnvSet", "B", "its"]);
  assertEquals(words('epicsEnvSet C a\\ b\\"c'), ["epicsEnvSet", "C", 'a b"c']);
  assertEquals(words('epicsEnvSet E ab"cd ef"gh'), ["epicsEnvSet", "E", "abcd efgh"]);
  assertEquals(words("epicsEnvSet(L,,M)"), ["epicsEnvSet", "L", "M"]);
  assertEquals(words('dbLoadRecords("db/x.db", "P=a:,R=b")'), [
    "dbLoadRecords",
    "db/x.db",
    "P=a:,R=b",
  ]);
  assertEquals(words('  dbpr "rec" 2  '), ["dbpr", "rec", "2"]);
  assertEquals(words("dbl # trailing words are arguments"), [
    "dbl",
    "#",
    "trailing",
    "words",
    "are",
    "arguments",
  ]);
});

t("shell: macros from the environment, not inside single quotes", () => {
  assertEquals(words("epicsEnvSet F $(A)z"), ["epicsEnvSet", "F", "x", "yz"]);
  assertEquals(words("epicsEnvSet G ${NOPE=dflt}"), ["epicsEnvSet", "G", "dflt"]);
  assertEquals(words("epicsEnvSet N '$(A)'"), ["epicsEnvSet", "N", "$(A)"]);
  assertEquals(words('cd "${TOP}/iocBoot"'), ["cd", "/opt/ioc/iocBoot"]);
  const c = parseShellLine("x $(M) $(A)", {
    file: "st.cmd",
    line: 1,
    env,
    macros: new Map([["M", "m"], ["A", "a"]]),
  });
  assertEquals(c?.args, ["m", "a"]);
});

t("shell: comments and blank lines give null", () => {
  assertEquals(sh("# a comment $(UNDEFINED)"), null);
  assertEquals(sh("   #- silent"), null);
  assertEquals(sh(""), null);
  assertEquals(sh("  \t "), null);
  assertEquals(sh("(),"), null);
});

t("shell: redirections", () => {
  const a = sh("dbl > out.txt");
  assertEquals([a?.name, a?.args, a?.redirects], ["dbl", [], [{
    fd: 1,
    mode: "w",
    path: "out.txt",
  }]]);
  const b = sh("dbpr rec 2>>err.log 1");
  assertEquals([b?.args, b?.redirects], [["rec", "1"], [{ fd: 2, mode: "a", path: "err.log" }]]);
  const c = sh("< st2.cmd");
  assertEquals([c?.name, c?.include], ["", "st2.cmd"]);
  const d = sh("iocsh <'my file'");
  assertEquals([d?.name, d?.include, d?.redirects[0].path], ["iocsh", undefined, "my file"]);
});

t("shell: errors name the script and line", () => {
  const err = (line: string, reason: string, column: number) =>
    assertThrows(() => sh(line), (e: unknown) => {
      if (!(e instanceof IocParseError)) return false;
      assertEquals([e.file, e.line, e.reason, e.column], ["st.cmd", 7, reason, column]);
      return true;
    });
  err('epicsEnvSet D "q\\"r"', "Unbalanced quote", 20);
  err('epicsEnvSet I "unbalanced', "Unbalanced quote", 15);
  err("epicsEnvSet J trailing\\", "Trailing backslash", 23);
  err("epicsEnvSet K >", "Illegal redirection", 15);
  err("epicsEnvSet H $(NOPE)", 'macro "NOPE" is undefined', 15);
});
