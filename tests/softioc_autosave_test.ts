/**
 * synApps autosave inside softioc: st.cmd's set_*_path, pass 0 / pass 1 restore files,
 * monitor / manual sets, makeAutosaveFiles from info items, fdbrestore; a second boot
 * restores what the first one saved (pass 0 before init_record, pass 1 before PINI), in
 * synApps' .sav format with its .savB backup.
 * @module
 */

import assert from "node:assert/strict";
import { IocDatabase } from "../lib/ioc/database.ts";
import { IocShell } from "../lib/ioc/shell.ts";
import { IocAutosave, registerAutosaveCommands } from "../lib/ioc/autosave.ts";
import { checkSav } from "../lib/autosave/sav.ts";

const DB = `
record(ao, "as:ao") {
  field(PREC, "1")
  info(autosaveFields_pass0, "VAL")
  info(autosaveFields, "PREC DESC")
}
record(mbbo, "as:mbbo") {
  field(ZRST, "zero") field(ONST, "one") field(TWST, "two")
  info(autosaveFields_pass0, "VAL")
}
record(waveform, "as:wf") {
  field(FTVL, "DOUBLE")
  field(NELM, "4")
  info(autosaveFields, "VAL")
}
record(longout, "as:lo") {
  field(PINI, "YES")
  field(OUT, "as:copy PP")
  info(autosaveFields, "VAL")
}
record(longout, "as:copy") {}
record(stringout, "as:so") {}
`;

const STCMD = (dir: string) => `
set_requestfile_path("${dir}")
set_savefile_path("${dir}")
dbLoadRecords("${dir}/as.db")
set_pass0_restoreFile("info_positions.sav")
set_pass1_restoreFile("info_settings.sav")
makeAutosaveFiles()
create_monitor_set("info_positions.req", 0.05)
create_monitor_set("info_settings.req", 0.05)
create_manual_set("manual.req")
iocInit
`;

async function boot(dir: string) {
  const log: string[] = [];
  const db = new IocDatabase();
  const autosave = new IocAutosave(db, {
    readFile: (p) => {
      try {
        return Deno.readTextFileSync(p);
      } catch {
        return undefined;
      }
    },
    writeFile: (p, t) => Deno.writeTextFileSync(p, t),
    cwd: dir,
    log: (m) => log.push(m),
  });
  const err: string[] = [];
  const shell = new IocShell(db, {
    readFile: (p) => {
      try {
        return Deno.readTextFileSync(p);
      } catch {
        return undefined;
      }
    },
    out: () => {},
    err: (m) => err.push(m),
    env: new Map(),
    beforeInit: () => autosave.restorePass0(),
    afterRecordInit: () => autosave.restorePass1(),
    afterInit: () => autosave.start(),
  });
  registerAutosaveCommands(shell, autosave);
  assert.equal(await shell.runFile(`${dir}/st.cmd`), true);
  assert.deepEqual(err.filter((e) => !/iocInit|iocRun/.test(e)), []);
  return {
    db,
    shell,
    log,
    async close() {
      await autosave.stop();
      db.close();
    },
  };
}

async function until(what: string, cond: () => boolean) {
  const end = Date.now() + 10000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const read = (p: string) => {
  try {
    return Deno.readTextFileSync(p);
  } catch {
    return "";
  }
};

Deno.test("softioc autosave: save sets write synApps .sav files; the next boot restores them in pass 0 and pass 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/as.db`, DB);
    await Deno.writeTextFile(`${dir}/st.cmd`, STCMD(dir));
    await Deno.writeTextFile(`${dir}/manual.req`, "as:so\nas:ao.DESC\n");

    const first = await boot(dir);
    try {
      assert.equal(read(`${dir}/info_positions.req`), "as:ao.VAL\nas:mbbo.VAL\n");
      assert.equal(
        read(`${dir}/info_settings.req`),
        "as:ao.PREC\nas:ao.DESC\nas:lo.VAL\nas:wf.VAL\n",
      );
      // No save files yet: both passes say so and the IOC boots anyway.
      assert.match(first.log.join("\n"), /Cannot restore ".*info_positions\.sav"/);
      await first.db.putField("as:ao", 3.25);
      await first.db.putField("as:ao.PREC", 3);
      await first.db.putField("as:ao.DESC", 'say "hi"');
      await first.db.putField("as:mbbo", 2);
      await first.db.putField("as:wf", new Float64Array([1.5, 2.5, 3.5]));
      await first.db.putField("as:lo", 7);
      await first.db.putField("as:so", "manual");
      await until(
        "the monitor sets to save",
        () =>
          read(`${dir}/info_positions.sav`).includes("as:mbbo.VAL 2\n") &&
          read(`${dir}/info_settings.sav`).includes("as:lo.VAL 7\n"),
      );
      await first.shell.execute('manual_save("manual.req")');
    } finally {
      await first.close();
    }
    const pos = read(`${dir}/info_positions.sav`);
    assert.match(pos, /^# autosave R5\.3\tAutomatically generated - DO NOT MODIFY - \d{6}-\d{6}\n/);
    assert.ok(pos.endsWith("as:ao.VAL 3.25\nas:mbbo.VAL 2\n<END>\n"), pos);
    assert.ok(checkSav(read(`${dir}/info_positions.savB`)).valid, "the previous good file is kept");
    const settings = read(`${dir}/info_settings.sav`);
    assert.ok(settings.includes('as:ao.DESC say \\"hi\\"\n'), settings);
    assert.ok(settings.includes('as:wf.VAL @array@ { "1.5" "2.5" "3.5" }\n'), settings);
    assert.ok(read(`${dir}/manual.sav`).includes("as:so manual\n"));

    const second = await boot(dir);
    try {
      // Pass 0 came before init_record: the ao's init copied the restored VAL into OVAL.
      assert.equal(second.db.getField("as:ao"), 3.25);
      assert.equal(second.db.getField("as:ao.OVAL"), 3.25);
      assert.equal(second.db.getField("as:mbbo"), 2);
      // Pass 1: fields and arrays, before PINI (as:lo's PINI wrote the restored 7 on).
      assert.equal(second.db.getField("as:ao.PREC"), 3);
      assert.equal(second.db.getField("as:ao.DESC"), 'say "hi"');
      assert.deepEqual([...(second.db.getField("as:wf") as Float64Array)].slice(0, 3), [
        1.5,
        2.5,
        3.5,
      ]);
      assert.equal(second.db.getField("as:wf.NORD"), 3);
      assert.equal(second.db.getField("as:lo"), 7);
      assert.equal(second.db.getField("as:copy"), 7);
      assert.equal(second.db.getField("as:so"), "");
      // fdbrestore: at run time, with processing.
      await second.shell.execute('fdbrestore("manual.sav")');
      assert.equal(second.db.getField("as:so"), "manual");
      assert.deepEqual(second.log.filter((l) => !/positions|settings/.test(l)), []);
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("softioc autosave: a .sav without <END> is not used; its .savB is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/as.db`, DB);
    await Deno.writeTextFile(
      `${dir}/st.cmd`,
      `dbLoadRecords("${dir}/as.db")\nset_savefile_path("${dir}")\nset_pass0_restoreFile("p.sav")\niocInit\n`,
    );
    const head = "# autosave R5.3\tAutomatically generated - DO NOT MODIFY - 250101-120000\n";
    await Deno.writeTextFile(`${dir}/p.sav`, `${head}as:ao.VAL 9\n`);
    await Deno.writeTextFile(`${dir}/p.savB`, `${head}as:ao.VAL 4.5\n<END>\n`);
    const ioc = await boot(dir);
    try {
      assert.equal(ioc.db.getField("as:ao"), 4.5);
      assert.match(ioc.log.join("\n"), /p\.sav" is not valid.*restoring from ".*p\.savB"/);
    } finally {
      await ioc.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("softioc autosave: synApps' own sample.sav restores in pass 1 and saves back byte for byte", async () => {
  const vectors = new URL("../../shared/vectors/", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(`${vectors}autosave/sample.sav`, `${dir}/sample.sav`);
    await Deno.copyFile(`${vectors}autosave/sample.req`, `${dir}/sample.req`);
    await Deno.writeTextFile(
      `${dir}/st.cmd`,
      [
        `set_requestfile_path("${dir}")`,
        `set_savefile_path("${dir}")`,
        `dbLoadRecords("${vectors}ioc/test.db")`,
        'set_pass1_restoreFile("sample.sav")',
        'create_manual_set("sample.req")',
        "iocInit",
      ].join("\n"),
    );
    const synapps = await Deno.readTextFile(`${dir}/sample.sav`);
    const ioc = await boot(dir);
    try {
      assert.equal(ioc.db.getField("T:alarm.HIHI"), 7.25);
      assert.equal(ioc.db.getField("T:str.DESC"), "tab\tand backslash");
      assert.equal(ioc.db.getField("T:big.NORD"), 100000);
      await ioc.shell.execute('manual_save("sample.req")');
      const ours = await Deno.readTextFile(`${dir}/sample.sav`);
      const body = (t: string) => t.slice(t.indexOf("\n") + 1);
      if (body(ours) !== body(synapps)) {
        const a = body(ours).split("\n"), b = body(synapps).split("\n");
        const diff = a.map((l, i) =>
          l === b[i] ? "" : `ours: ${l.slice(0, 120)}\nsynApps: ${b[i]?.slice(0, 120)}`
        )
          .filter((x) => x);
        assert.fail(`the save differs from synApps' file:\n${diff.join("\n")}`);
      }
      assert.ok(checkSav(await Deno.readTextFile(`${dir}/sample.savB`)).valid);
    } finally {
      await ioc.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
