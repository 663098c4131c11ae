/**
 * Our .db, substitution and st.cmd parsers against EPICS base's own: the same files are loaded by
 * base's softIoc (dbLoadRecords, dbLoadTemplate; no iocInit, so no network) and dumped with
 * dbDumpRecord, and every field and info value we parse must be what base stored; st.cmd
 * lines set variables with epicsEnvSet, and our split must give the values epicsEnvShow shows.
 * Runs only when softIoc is on PATH or in /opt/epics/base.
 * @module
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { macroMap } from "../lib/core/macros.ts";
import { parseDatabase, parseShellLine, parseSubstitutions } from "../lib/ioc/parse/mod.ts";
import type { DbRecordDef } from "../lib/ioc/parse/mod.ts";
import { findTool } from "./_pva_server_tools.ts";

const softIoc = findTool("softIoc", ["/opt/epics/base/bin/linux-x86_64"]);

const FILES: Record<string, string> = {
  "main.db": String.raw`# records with awkward values
record(stringin, "$(P)a") {
  field(DESC, "tab\there")
  field(VAL, 'single "dq"')
  info(autosaveFields, "VAL DESC")
}
record(stringin, "$(P)b") { field(DESC, "x\x41\x4a2 \q \u0041") field(VAL, "$(M=dflt)") }
record(stringin, "$(P)c") { field(DESC, bare-word_1.5) field(VAL, "$(Q)") }
include "inc.db"
record("*", "$(P)a") { field(VAL, "again # not a comment") }
grecord(stringin, "$(P)e") {
  field(DESC, "a\\b\'c\"d")
  info("i:x", {a: [1, 2,], "b": 'c'})
}
`,
  "inc.db": 'record(stringin, "$(P)d") {\n  field(DESC, "from include")\n}\n',
  "tpl.db": 'record(stringin, "s$(N)") { field(DESC, "$(D=none)") field(VAL, "$(G=ng)") }\n',
  "t.subs": `global { G=g }
file tpl.db {
  pattern {N, D}
  {1, "one two"}
  {2, 'it'}
}
file "tpl.db" { {N=3, D="$(G)x"} {N=4} }
`,
};
const LOAD_MACROS = "P=t:,Q='quoted, value'";

/** epicsStrnEscapedFromRaw, which dbDumpRecord writes values with. */
function escapeRaw(s: string): string {
  const map: Record<string, string> = {
    "\x07": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
  };
  let out = "";
  for (const c of s) {
    const code = c.charCodeAt(0);
    out += map[c] ??
      (code >= 0x20 && code < 0x7f ? c : `\\x${code.toString(16).padStart(2, "0")}`);
  }
  return out;
}

interface Dumped {
  fields: Map<string, string>;
  infos: Map<string, string>;
}

function parseDump(text: string): Map<string, Dumped> {
  const out = new Map<string, Dumped>();
  let cur: Dumped | undefined;
  for (const line of text.split("\n")) {
    const rec = /^g?record\(\w+,"(.*)"\) \{$/.exec(line);
    if (rec) out.set(rec[1], cur = { fields: new Map(), infos: new Map() });
    const f = /^\tfield\((\w+),"(.*)"\)$/.exec(line);
    if (f && cur) cur.fields.set(f[1], f[2]);
    const i = /^\tinfo\("(.*)","(.*)"\)$/.exec(line);
    if (i && cur) cur.infos.set(i[1], i[2]);
  }
  return out;
}

/** What our parser gives, with records of the same name merged as base merges them. */
function merge(records: DbRecordDef[], into: Map<string, Dumped>) {
  for (const r of records) {
    const d = into.get(r.name) ?? { fields: new Map(), infos: new Map() };
    into.set(r.name, d);
    for (const f of r.fields) d.fields.set(f.name, escapeRaw(f.value));
    for (const i of r.infos) d.infos.set(i.name, escapeRaw(i.value));
  }
}

Deno.test({
  name: softIoc
    ? "ioc parse: .db and substitution files give the values base's softIoc stores"
    : "ioc parse: .db and substitution files against softIoc (ignored: softIoc not found)",
  ignore: !softIoc,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ioc_parse_" });
    try {
      for (const [name, text] of Object.entries(FILES)) {
        await Deno.writeTextFile(`${dir}/${name}`, text);
      }
      await Deno.writeTextFile(
        `${dir}/st.cmd`,
        `dbLoadRecords("main.db", "${LOAD_MACROS}")\ndbLoadTemplate("t.subs")\n` +
          "dbDumpRecord pdbbase stringin 0\n",
      );
      const out = await new Deno.Command(softIoc!, {
        args: ["st.cmd"],
        cwd: dir,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { EPICS_CA_AUTO_ADDR_LIST: "NO", EPICS_CA_ADDR_LIST: "127.0.0.1" },
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const base = parseDump(stdout);

      const ours = new Map<string, Dumped>();
      const readFile = (p: string) => FILES[p.replace(/^\.\//, "")];
      const db = parseDatabase(FILES["main.db"], {
        file: "main.db",
        macros: macroMap(LOAD_MACROS),
        readFile,
      });
      assertEquals(db.errors, []);
      merge(db.records, ours);
      const subs = parseSubstitutions(FILES["t.subs"], { file: "t.subs" });
      assertEquals(subs.errors, []);
      for (const set of subs.sets) {
        const r = parseDatabase(readFile(set.template)!, {
          file: set.template,
          macros: set.macros,
        });
        assertEquals(r.errors, []);
        merge(r.records, ours);
      }

      assertEquals([...ours.keys()].sort(), [...base.keys()].sort(), stdout);
      for (const [name, d] of ours) {
        const b = base.get(name)!;
        for (const [f, v] of d.fields) assertEquals([name, f, b.fields.get(f)], [name, f, v]);
        for (const [i, v] of d.infos) assertEquals([name, i, b.infos.get(i)], [name, i, v]);
      }
      assert(ours.size === 9);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const SHELL_LINES = [
  'epicsEnvSet V0 "x y"',
  "epicsEnvSet(V1, 'it''s')",
  'epicsEnvSet V2 a\\ b\\"c',
  'epicsEnvSet V3 ab"cd ef"gh',
  "epicsEnvSet V4 $(HOME_X=dflt)",
  "epicsEnvSet(V5,,z)",
  "epicsEnvSet V6 '$(V0)'",
  'epicsEnvSet("V7", "${V0}-$(V4)")',
  "  epicsEnvSet\tV8\t( tabbed )",
  "epicsEnvSet V9 a#b",
];

Deno.test({
  name: softIoc
    ? "ioc parse: st.cmd lines split as base's iocsh splits them"
    : "ioc parse: st.cmd lines against softIoc (ignored: softIoc not found)",
  ignore: !softIoc,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ioc_shell_" });
    try {
      const script = SHELL_LINES.map((l, i) => `${l}\nepicsEnvShow V${i}`).join("\n") + "\n";
      await Deno.writeTextFile(`${dir}/st.cmd`, script);
      const out = await new Deno.Command(softIoc!, {
        args: ["st.cmd"],
        cwd: dir,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { EPICS_CA_AUTO_ADDR_LIST: "NO", EPICS_CA_ADDR_LIST: "127.0.0.1" },
      }).output();
      const shown = new Map<string, string>();
      for (const l of new TextDecoder().decode(out.stdout).split("\n")) {
        const m = /^(V\d)=(.*)$/.exec(l);
        if (m) shown.set(m[1], m[2]);
      }
      // Our side: split each line, then set the variable as epicsEnvSet does.
      const env = new Map<string, string>();
      for (const line of SHELL_LINES) {
        const c = parseShellLine(line, { file: "st.cmd", line: 1, env: (n) => env.get(n) });
        assert(c && c.name === "epicsEnvSet");
        env.set(c.args[0], c.args[1] ?? "");
      }
      for (let i = 0; i < SHELL_LINES.length; i++) {
        assertEquals([SHELL_LINES[i], env.get(`V${i}`)], [SHELL_LINES[i], shown.get(`V${i}`)]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
