/**
 * autosave-save and autosave-restore against our IOC engine (lib/ioc, what softioc
 * serves) on loopback: `REC.FIELD$` long strings over CA (a char array, put as DBR_CHAR
 * as synApps does) and over PVA (a byte array), beyond DBR_STRING's 39 characters.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { serve } from "../lib/host/serve.ts";
import { IocDatabase } from "../lib/ioc/database.ts";
import { IocProvider } from "../lib/ioc/provider.ts";
import type { CliIO } from "../cli/_io.ts";
import { main as save } from "../cli/autosave_save.ts";
import { main as restore } from "../cli/autosave_restore.ts";
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";
import { rec } from "./_helpers/ioc.ts";

const LONG = "a long string value that is longer than forty characters, yes";

async function startIoc() {
  const db = new IocDatabase();
  const errors = db.load([
    rec("ai", "t:ai", { DESC: "a description" }),
    rec("stringout", "t:so", { VAL: "hello" }),
    rec("lso", "t:long", { SIZV: "200" }),
  ]);
  if (errors.length) throw errors[0];
  db.init();
  const cfg = epicsConfigFrom(LOOPBACK_ENV);
  const server = await serve({
    pvs: new IocProvider(db),
    caPort: 0,
    pvaPort: 0,
    config: { ...cfg, pvas: { ...cfg.pvas, broadcastPort: 0 } },
  });
  const env = {
    ...LOOPBACK_ENV,
    EPICS_CA_ADDR_LIST: `127.0.0.1:${server.ca!.udpPort}`,
    EPICS_PVA_ADDR_LIST: `127.0.0.1:${server.pva!.udpPort}`,
    EPICS_CA_REPEATER_PORT: "1",
  };
  const run = async (main: (a: string[], io: CliIO) => Promise<number>, args: string[]) => {
    const r = { out: "", err: "", code: 0 };
    r.code = await main(args, {
      stdout: (t) => (r.out += t),
      stderr: (t) => (r.err += t),
      env,
      signal: new AbortController().signal,
    });
    return r;
  };
  return {
    db,
    run,
    async [Symbol.asyncDispose]() {
      await server.close();
      db.close();
    },
  };
}

for (const provider of ["ca", "pva"]) {
  Deno.test(`autosave: REC.FIELD$ long strings of our IOC over ${provider}`, async () => {
    await using ioc = await startIoc();
    const dir = await Deno.makeTempDir();
    try {
      const common = ["-p", provider, "-w", "2"];
      await Deno.writeTextFile(join(dir, "t.req"), "t:ai.DESC$\nt:so.VAL$\nt:long.VAL$\n");
      const sav = join(dir, "t.sav");
      let r = await ioc.run(save, [...common, "-I", dir, "-o", sav, "t.req"]);
      assert.equal(r.code, 0, r.err);
      const body = (t: string) => t.slice(t.indexOf("\n") + 1);
      assert.equal(
        body(await Deno.readTextFile(sav)),
        "t:ai.DESC$ a description\nt:so.VAL$ hello\nt:long.VAL$ \n<END>\n",
      );
      const input = join(dir, "in.sav");
      await Deno.writeTextFile(
        input,
        `t:ai.DESC$ new description\nt:so.VAL$ bye\nt:long.VAL$ ${LONG}\n<END>\n`,
      );
      r = await ioc.run(restore, [...common, input]);
      assert.equal(r.code, 0, r.err);
      assert.equal(ioc.db.record("t:long")!.f.VAL, LONG);
      assert.equal(ioc.db.record("t:ai")!.f.DESC, "new description");
      r = await ioc.run(save, [...common, "-I", dir, "-o", sav, "t.req"]);
      assert.equal(r.code, 0, r.err);
      assert.equal(body(await Deno.readTextFile(sav)), await Deno.readTextFile(input));
      r = await ioc.run(restore, [...common, "--verify", sav]);
      assert.equal(r.code, 0, r.out + r.err);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
