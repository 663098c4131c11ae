import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { expandMacros, macroMap, MacroSyntaxError, parseMacroDefinitions } from "./macros.ts";

const t = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const ex = (text: string, macros: Record<string, string> = {}) => expandMacros(text, macros).text;

t("macros: plain references in both bracket forms", () => {
  assertEquals(ex("$(P)ai:${R}", { P: "lab:", R: "x" }), "lab:ai:x");
  assertEquals(ex("no macros here"), "no macros here");
  assertEquals(ex("$ alone, $x and $"), "$ alone, $x and $");
});

t("macros: defaults, also with references inside", () => {
  assertEquals(ex("$(N=1)"), "1");
  assertEquals(ex("$(N=1)", { N: "7" }), "7");
  assertEquals(ex("$(N=$(D)x)", { D: "d" }), "dx");
  assertEquals(ex("$(N=)"), "");
  assertEquals(ex("${N=a)b}"), "a)b");
});

t("macros: undefined and recursive references are marked and reported", () => {
  const r = expandMacros("$(A)-$(B)-$(A)", {});
  assertEquals(r.text, "$(A,undefined)-$(B,undefined)-$(A,undefined)");
  assertEquals(r.undefinedNames, ["A", "B"]);
  const s = expandMacros("$(A)", {}, { suppressWarnings: true });
  assertEquals(s.text, "$(A)");
  assertEquals(s.undefinedNames, ["A"]);
  const rec = expandMacros("$(A)", { A: "x$(B)", B: "$(A)" });
  assertEquals(rec.text, "x$(A,recursive)");
  assertEquals(rec.recursiveNames, ["A"]);
});

t("macros: values are expanded in turn, with their quotes and escapes removed", () => {
  assertEquals(ex("$(A)", { A: "$(B)b", B: "c" }), "cb");
  assertEquals(ex("$(A)", { A: '"x,y"' }), "x,y");
  assertEquals(ex("$(A)", { A: "a\\,b" }), "a,b");
});

t("macros: the text keeps its own quotes and escapes; single quotes stop expansion", () => {
  assertEquals(ex(`"$(P)"`, { P: "v" }), `"v"`);
  assertEquals(ex(`'$(P)'`, { P: "v" }), `'$(P)'`);
  assertEquals(ex("\\$(P)", { P: "v" }), "\\$(P)");
  assertEquals(ex(`"it's $(P)"`, { P: "v" }), `"it's v"`);
});

t("macros: references inside names", () => {
  assertEquals(ex("$(A$(B))", { B: "1", A1: "one" }), "one");
});

t("macros: scoped definitions apply only inside the reference", () => {
  assertEquals(ex("$(A,B=2)-$(B=none)", { A: "b$(B)" }), "b2-none");
});

t("macros: an unterminated reference ends at the end of the text", () => {
  assertEquals(ex("x$(P", { P: "v" }), "xv");
});

t("macros: later tables hide earlier ones; the environment is the fallback", () => {
  const r = expandMacros("$(A)$(B)$(C)", [{ A: "1", B: "1" }, new Map([["B", "2"]])], {
    env: (n) => n === "C" ? "3" : undefined,
  });
  assertEquals(r.text, "123");
});

t("macros: definition strings as macParseDefns reads them", () => {
  assertEquals(parseMacroDefinitions("P=a:,M=m1"), [
    { name: "P", value: "a:" },
    { name: "M", value: "m1" },
  ]);
  assertEquals(parseMacroDefinitions("  P = a b ,  M=  "), [
    { name: "P", value: "a b" },
    { name: "M", value: "" },
  ]);
  assertEquals(parseMacroDefinitions(`Q="x,y",R=a\\,b,"N M"=1`), [
    { name: "Q", value: `"x,y"` },
    { name: "R", value: "a\\,b" },
    { name: "N M", value: "1" },
  ]);
  assertEquals(parseMacroDefinitions("A,B=1,C"), [
    { name: "A", value: undefined },
    { name: "B", value: "1" },
    { name: "C", value: undefined },
  ]);
  assertEquals(parseMacroDefinitions(""), []);
  assertEquals(parseMacroDefinitions(",, ,"), []);
  assertThrows(() => parseMacroDefinitions(`A="open`), MacroSyntaxError);
});

t("macros: macroMap applies definitions in order", () => {
  const m = macroMap("A=1,B=2,A", new Map([["C", "3"]]));
  assertEquals([...m], [["C", "3"], ["B", "2"]]);
  assertEquals(expandMacros("$(B)", macroMap(`B="q,r"`)).text, "q,r");
});
