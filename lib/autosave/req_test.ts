import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { parseIncludeLine, parseReq, ReqFileError } from "./req.ts";

const none = { permissions: "none" } as const;
const fs = (files: Record<string, string>) => (p: string) => files[p];
const names = (s: { entries: { name: string }[] }) => s.entries.map((e) => e.name);

Deno.test({
  name: "req: PV lines, comments, first token only, $ suffix, blank lines",
  ...none,
  fn() {
    const set = parseReq("a.req", {
      readFile: fs({
        "./a.req": "# comment $(UNDEF)\n\nx:ao.VAL  # trailing text ignored\n  x:lead\r\n" +
          "x:calc.CALC$\n@bad\n[x]:y 1 2 3\n",
      }),
    });
    assertEquals(names(set), ["x:ao.VAL", "x:lead", "x:calc.CALC$", "[x]:y"]);
    assertEquals(set.entries[1], { name: "x:lead", file: "./a.req", line: 4 });
    assertEquals(set.warnings, ['./a.req:6: "@bad" is not a PV name, ignored']);
  },
});

Deno.test({
  name: "req: includes nest, with their macros and the parent's, quotes dropped",
  ...none,
  fn() {
    const files = {
      "./top.req": '$(P)a\nfile "mid.req" M=m1,N=n\nfile mid.req M=m2 N=$(P)q\nfile "leaf.req"\n',
      "./mid.req": "$(P)$(M).$(N)\nfile leaf.req L=$(M)\n",
      "./leaf.req": "$(P)leaf$(L=none)\n",
    };
    const set = parseReq("top.req", { readFile: fs(files), macros: "P=x:" });
    assertEquals(names(set), [
      "x:a",
      "x:m1.n",
      "x:leafm1",
      "x:m2.x:q",
      "x:leafm2",
      "x:leafnone",
    ]);
    assertEquals(set.files, ["./top.req", "./mid.req", "./leaf.req"]);
    assertEquals(set.macros.get("P"), "x:");
  },
});

Deno.test({
  name: "req: include line parsing as readReqFile (white space as comma, short strings dropped)",
  ...none,
  fn() {
    assertEquals(parseIncludeLine('file "a.req" P=x:, M=m1'), {
      file: "a.req",
      macros: "P=x:,M=m1",
    });
    assertEquals(parseIncludeLine("file a.req  P=1  Q=2 "), { file: "a.req", macros: "P=1,Q=2" });
    assertEquals(parseIncludeLine("file a.req AB"), { file: "a.req", macros: "" });
    assertEquals(parseIncludeLine("file\ta.req#xyz"), { file: "a.req", macros: "#xyz" });
  },
});

Deno.test({
  name: "req: search path in order, absolute names as they are",
  ...none,
  fn() {
    const files = {
      "./d1/top.req": "file inc.req\n",
      "./d2/inc.req": "from2\n",
      "./d3/inc.req": "from3\n",
      "/abs/x.req": "abs\n",
      "./d2/top2.req": "file /abs/x.req\n",
    };
    const opts = { readFile: fs(files), searchPath: ["d1", "d2", "d3"] };
    assertEquals(names(parseReq("top.req", opts)), ["from2"]);
    assertEquals(names(parseReq("top2.req", opts)), ["abs"]);
  },
});

Deno.test({
  name: "req: errors name file and line (undefined macro, missing include, cycle)",
  ...none,
  fn() {
    const files = {
      "./u.req": "ok\n$(P)ai\n",
      "./m.req": "ok\nfile nothere.req\n",
      "./c1.req": "a\nfile c2.req\n",
      "./c2.req": "file c1.req\n",
      "./self.req": "file ./self.req P=1\n",
    };
    const readFile = fs(files);
    assertThrows(() => parseReq("u.req", { readFile }), (e: unknown) => {
      return e instanceof ReqFileError && e.line === 2 && e.file === "./u.req" &&
        /undefined macro \$\(P\)/.test(e.message);
    });
    const keep = parseReq("u.req", { readFile, allowUndefined: true });
    assertEquals(names(keep), ["ok", "$(P)ai"]);
    assertEquals(keep.warnings, ["./u.req:2: undefined macro $(P) left as text"]);
    // with macros defined, macLib's mark is what synApps saves
    assertEquals(names(parseReq("u.req", { readFile, allowUndefined: true, macros: "Q=1" })), [
      "ok",
      "$(P,undefined)ai",
    ]);
    assertThrows(
      () => parseReq("m.req", { readFile }),
      /"\.\/m\.req" at line 2: .*"nothere\.req" not found/,
    );
    assertThrows(() => parseReq("c1.req", { readFile }), (e: unknown) => {
      return e instanceof ReqFileError &&
        e.chain?.join(" ") === "./c1.req:2 ./c2.req:1 ./c1.req" && /include cycle/.test(e.message);
    });
    assertThrows(() => parseReq("self.req", { readFile }), /include cycle/);
    assertThrows(() => parseReq("none.req", { readFile }), /"none\.req": not found in \./);
  },
});

Deno.test({
  name: "req: over-long lines are cut at the last separator, as fgets(BUF_SIZE) does",
  ...none,
  fn() {
    const long = "x:" + "a".repeat(150) + " " + "b".repeat(100);
    const set = parseReq("l.req", { readFile: fs({ "./l.req": long + "\n" }) });
    assertEquals(names(set), ["x:" + "a".repeat(150)]);
    assertEquals(set.warnings.length, 1);
  },
});
