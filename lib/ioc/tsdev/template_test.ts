import { deepEqual as assertEquals } from "node:assert/strict";
import { escapeForLiteral, isAssignment, parseTemplate } from "./template.ts";

const t = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const FIELDS = new Set(["VAL", "NAME", "EGU", "HOPR", "ZRST"]);
const isField = (w: string) => FIELDS.has(w);
const show = (code: string) =>
  parseTemplate(code, isField).parts.map((p) =>
    p.kind === "text" ? p.text : `<${p.name}${p.quote}>`
  ).join("");

t("tsdev template: standalone upper-case field words and %FIELD% are macros", () => {
  assertEquals(show("abs(VAL)"), "abs(<VAL>)");
  assertEquals(show("abs(%VAL%)"), "abs(<VAL>)");
  assertEquals(show("VAL+HOPR*2"), "<VAL>+<HOPR>*2");
  assertEquals(parseTemplate("f(VAL, VAL, NAME)", isField).fields, ["VAL", "NAME"]);
});

t("tsdev template: words that are not fields, parts of words and members are left alone", () => {
  assertEquals(show("MYVAL + VALX + VAL_2 + Val + DESC"), "MYVAL + VALX + VAL_2 + Val + DESC");
  assertEquals(show("dev.VAL + dev?.NAME + dev . EGU"), "dev.VAL + dev?.NAME + dev . EGU");
  assertEquals(show("[...VAL]"), "[...<VAL>]");
  assertEquals(show("%DESC% %val%"), "%DESC% %val%");
});

t("tsdev template: inside string literals the quote is remembered; comments are skipped", () => {
  assertEquals(show("send('VAL')"), "send('<VAL'>')");
  assertEquals(show('log("%NAME%=%VAL% EGU")'), 'log("<NAME">=<VAL"> <EGU">")');
  assertEquals(show("`VAL ${VAL + 1} %EGU%`"), "`<VAL`> ${<VAL> + 1} <EGU`>`");
  assertEquals(show("'it\\'s VAL'"), "'it\\'s <VAL'>'");
  assertEquals(show("x // VAL\n + VAL /* NAME */"), "x // VAL\n + <VAL> /* NAME */");
  assertEquals(show("{ a: { b: VAL } }"), "{ a: { b: <VAL> } }");
});

t("tsdev template: await outside strings marks async code", () => {
  assertEquals(parseTemplate("await dev.read()", isField).usesAwait, true);
  assertEquals(parseTemplate("'await' + x.await", isField).usesAwait, false);
});

t("tsdev template: escapes for each quote keep a value inside its literal", () => {
  assertEquals(escapeForLiteral("it's", "'"), "it\\'s");
  assertEquals(escapeForLiteral('a"b\\', '"'), 'a\\"b\\\\');
  assertEquals(escapeForLiteral("${x}`\n", "`"), "\\${x}\\`\\n");
});

t("tsdev template: assignments are statements", () => {
  for (const c of ["a = 2", "dev.x += 1", "o['k'] = VAL", "x ??= 3", " a.b.c=1"]) {
    assertEquals(isAssignment(c), true, c);
  }
  for (const c of ["a == 2", "f(a = 2)", "x => 1", "dev.send(1)", "a >= 2", "a != b"]) {
    assertEquals(isAssignment(c), false, c);
  }
});
