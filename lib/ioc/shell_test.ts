import assert from "node:assert/strict";
import { IocDatabase } from "./database.ts";
import { IocShell } from "./shell.ts";

/** A shell over a fresh database whose files are the given texts. */
function shellWith(files: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const db = new IocDatabase({ clock: () => 1e12 });
  const shell = new IocShell(db, {
    readFile: (p) => files[p],
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: new Map([["PFX", "ST:"]]),
  });
  return { db, shell, out, err };
}

Deno.test("shell: script lines are echoed with macros expanded, comments as written", () => {
  const { shell } = shellWith({});
  assert.equal(
    shell.echoText('dbLoadRecords("x.db", "P=$(PFX)")'),
    'dbLoadRecords("x.db", "P=ST:")',
  );
  assert.equal(shell.echoText("  # about $(PFX)"), "  # about $(PFX)");
  assert.equal(shell.echoText("dbl ${PFX}"), "dbl ST:");
  // The undefined macro's error is the command's to report; the echo shows the line.
  assert.equal(shell.echoText("dbl $(NOPE)"), "dbl $(NOPE)");
});

Deno.test("shell: lines of an included script are echoed before they run", async () => {
  const { shell, out } = shellWith({
    "inc.cmd": 'epicsEnvSet("Q", "in $(PFX)")\n# note $(Q)\n\nepicsEnvShow Q\n',
  });
  assert.equal(await shell.execute("< inc.cmd"), true);
  assert.deepEqual(out, [
    'epicsEnvSet("Q", "in ST:")\n',
    "# note $(Q)\n",
    "epicsEnvShow Q\n",
    "Q=in ST:\n",
  ]);
});

Deno.test("shell: dbLoadRecords says whether the file loaded", () => {
  const { shell, err } = shellWith({
    "good.db": 'record(ai, "a") {}\n',
    "bad.db": 'record(ai, "b") {\n  field(NOPE, "1")\n}\n',
  });
  assert.equal(shell.dbLoadRecords("good.db", ""), true);
  assert.deepEqual(err, []);
  assert.equal(shell.dbLoadRecords("bad.db", ""), false);
  assert.match(err.join(""), /"bad.db" at line 2.*NOPE/);
  assert.equal(shell.dbLoadRecords("missing.db", ""), false);
});

Deno.test("shell: iocInit that refuses to start is remembered", async () => {
  const { shell } = shellWith({ "bad.db": 'record(ai, "b") { field(SCAN, "often") }\n' });
  shell.dbLoadRecords("bad.db", "");
  assert.equal(shell.initFailed, false);
  await assert.rejects(() => shell.iocInit(), /iocInit failed/);
  assert.equal(shell.initFailed, true);
});

Deno.test("shell: help lists names at 16-column stops as iocsh does, and shows one command's usage", () => {
  const { shell } = shellWith({});
  shell.register("ClockTime_Report", () => {}); // 16 characters: takes two stops
  shell.register("callbackParallelThreads", () => {});
  shell.register("myCommand", () => {}, { args: "'count'", about: "Does it count times." });
  const lines = shell.help().split("\n");
  assert.equal(lines[0], "<               ClockTime_Report                callbackParallelThreads");
  for (const l of lines) assert.ok(l.length < 80, l);
  assert.match(shell.help(), /\nType 'help <command>' to see the arguments of <command>\./);
  assert.equal(
    shell.help(["dbpr"]),
    "\ndbpr 'record name' 'interest level'\n\n" +
      "Prints the fields of a record: level 0 those processing changes, up to 4 for all.\n",
  );
  assert.match(shell.help(["my*"]), /^\nmyCommand 'count'\n\nDoes it count times\.\n$/);
  assert.equal(shell.help(["db?f"]).match(/^db.f(?= )/gm)?.join(","), "dbgf,dbpf");
  assert.equal(shell.help(["nothing"]), "");
});

Deno.test("shell: dbpf returns while a calcout waits out its ODLY, as base's", async () => {
  const { shell, db, out } = shellWith({
    "co.db": 'record(calcout, "co") { field(CALC, "A+1") field(ODLY, "0.05") }\n',
  });
  shell.dbLoadRecords("co.db", "");
  await shell.iocInit();
  try {
    out.length = 0;
    assert.equal(await shell.execute("dbpf co.PROC 1"), true);
    assert.deepEqual(out, ["DBF_UCHAR:          1 = 0x1   \n"]);
    assert.deepEqual([db.getField("co.PACT"), db.getField("co.DLYA")], [1, 1]);
  } finally {
    db.close();
  }
});
