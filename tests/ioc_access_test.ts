/**
 * Access rights that change at run time: an ACF input (INPA) read from a record, the
 * record's ASG field and an asInit-style reload each recompute the rights, and CA clients
 * get a new ACCESS_RIGHTS for the channels whose rights changed (as RSRV does from asLib's
 * client callback); PVA gets and puts ask again. Checked with our CA and PVA clients and
 * with pyepics over the real libca (`PV.write_access`).
 * @module
 */

import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { PvaClient } from "../lib/pva/client/client.ts";
import { IocDatabase } from "../lib/ioc/database.ts";
import { AccessSecurity } from "../lib/ioc/access.ts";
import { parseAcf } from "../lib/ioc/parse/mod.ts";
import { rec, serveIoc } from "./_helpers/ioc.ts";
import { PYEPICS_IGNORED, pyepicsTestName, runPyepics, until } from "./_helpers/pyepics.ts";

const ACF = `
ASG(DEFAULT) { RULE(1, WRITE) }
ASG(BEAM) {
  INPA("beam:on")
  RULE(1, READ)
  RULE(1, WRITE) { CALC("A=0") }
}
ASG(HIDE) {
  INPA("beam:on")
  RULE(1, READ) { CALC("A=0") }
}
ASG(RO) { RULE(1, READ) }
`;

function acf(text = ACF) {
  const { acf, errors } = parseAcf(text, { file: "t.acf" });
  assert.deepEqual(errors, []);
  return acf;
}

async function startGuarded() {
  const db = new IocDatabase();
  const errors = db.load([
    rec("bo", "beam:on", { VAL: "0" }),
    rec("ao", "s:gated", { ASG: "BEAM", VAL: "1" }),
    rec("ao", "s:hidden", { ASG: "HIDE", VAL: "2" }),
    rec("ao", "s:open", { VAL: "3" }),
  ]);
  assert.deepEqual(errors, []);
  const security = new AccessSecurity(acf(), db);
  db.setAccess(security.check);
  db.init();
  security.start();
  const ioc = await serveIoc(db);
  return {
    ...ioc,
    security,
    async [Symbol.asyncDispose]() {
      security.stop();
      await ioc[Symbol.asyncDispose]();
    },
  };
}

Deno.test("CA: rights follow an ACF input, the ASG field and a reload, re-sent to the client", async () => {
  await using ioc = await startGuarded();
  await using ctx = new CaContext({
    config: epicsConfigFrom(ioc.caEnv).ca,
    user: "op",
    host: "localhost",
    repeater: false,
  });
  const gated = ctx.channel("s:gated");
  const open = ctx.channel("s:open");
  await gated.connected(5);
  await open.connected(5);
  const seen: string[] = [];
  gated.onAccessRights((a) => seen.push(`${a.read ? "r" : "-"}${a.write ? "w" : "-"}`));
  assert.deepEqual(gated.access, { read: true, write: true });

  // The beam comes on: INPA = 1, the WRITE rule's CALC fails, READ remains.
  await ioc.db.putField("beam:on", 1);
  await until("write access to go", () => !gated.access.write);
  assert.deepEqual(gated.access, { read: true, write: false });
  await assert.rejects(() => gated.put(5, { wait: true }));
  assert.equal(ioc.db.getField("s:gated"), 1);
  // A channel of a group the input does not guard keeps its rights and gets no message.
  assert.deepEqual(open.access, { read: true, write: true });

  await ioc.db.putField("beam:on", 0);
  await until("write access to return", () => gated.access.write);
  await gated.put(5, { wait: true });
  assert.equal(ioc.db.getField("s:gated"), 5);

  // Writing the record's ASG moves it to another group (asChangeGroup).
  await ioc.db.putField("s:gated.ASG", "RO");
  await until("the RO group's rights", () => !gated.access.write);
  await ioc.db.putField("s:gated.ASG", "BEAM");
  await until("the BEAM group's rights", () => gated.access.write);

  // A reload (asInit with another file) recomputes every client's rights.
  ioc.security.reload(acf("ASG(DEFAULT) { RULE(1, READ) }"));
  await until("the reloaded rules", () => !gated.access.write && !open.access.write);
  assert.deepEqual(seen, ["r-", "rw", "r-", "rw", "r-"]);
});

Deno.test("PVA: gets and puts ask for the rights again when an ACF input changes", async () => {
  await using ioc = await startGuarded();
  await using pc = new PvaClient({ env: ioc.pvaEnv, user: "op", host: "localhost" });
  assert.equal((await pc.get("s:hidden", { timeout: 5 })).get("value"), 2);
  await pc.put("s:gated", 7, { timeout: 5 });
  assert.equal(ioc.db.getField("s:gated"), 7);
  await ioc.db.putField("beam:on", 1);
  await assert.rejects(() => pc.get("s:hidden", { timeout: 5 }), /No read access/);
  await assert.rejects(() => pc.put("s:gated", 8, { timeout: 5 }));
  assert.equal(ioc.db.getField("s:gated"), 7);
  await ioc.db.putField("beam:on", 0);
  assert.equal((await pc.get("s:hidden", { timeout: 5 })).get("value"), 2);
  await pc.put("s:gated", 9, { timeout: 5 });
  assert.equal(ioc.db.getField("s:gated"), 9);
});

Deno.test("PVA: a running monitor ends with an error when its read access is taken away", async () => {
  await using ioc = await startGuarded();
  await using pc = new PvaClient({ env: ioc.pvaEnv, user: "op", host: "localhost" });
  const values: unknown[] = [];
  let ended: string | undefined;
  const sub = pc.monitor("s:hidden", (ev) => {
    if (ev.kind === "data") values.push(ev.value.get("value"));
    else if (ev.kind === "error") ended = ev.error.message;
    else if (ev.kind === "finished") ended = "finished without an error";
  });
  try {
    await until("the first update", () => values.length > 0);
    assert.deepEqual(values, [2]);
    await ioc.db.putField("beam:on", 1);
    await until("the monitor's end", () => ended !== undefined);
    assert.match(ended!, /No read access to "s:hidden"/);
    // No update after the end, even when the value changes.
    await ioc.db.putField("s:hidden", 5);
    assert.equal((await pc.get("s:open", { timeout: 5 })).get("value"), 3);
    assert.deepEqual(values, [2]);
  } finally {
    await sub.close();
  }
});

Deno.test("an input in INVALID alarm is bad: CALC rules reading it grant nothing", async () => {
  await using ioc = await startGuarded();
  assert.deepEqual(ioc.security.inputs("BEAM"), [0]);
  // beam:on in INVALID alarm (its state alarm severity for the value it has).
  await ioc.db.putField("beam:on.ZSV", "INVALID");
  await ioc.db.putField("beam:on", 0);
  await until("the input to go bad", () => ioc.security.inputs("BEAM")[0] === undefined);
  assert.equal(ioc.security.check("BEAM", 1, "op", "h"), "READ");
});

const PY_SCRIPT = `
import json, time, epics
out = {}
pv = epics.PV("s:gated")
pv.wait_for_connection(5)
out["before"] = [pv.read_access, pv.write_access]
epics.caput("beam:on", 1, wait=True, timeout=5)
t0 = time.time()
while pv.write_access and time.time() - t0 < 10:
    time.sleep(0.05)
out["beam_on"] = [pv.read_access, pv.write_access]
try:
    pv.put(4, wait=True, timeout=2)
    out["put_refused"] = ""
except epics.ca.CASeverityException as e:
    out["put_refused"] = str(e)
epics.caput("beam:on", 0, wait=True, timeout=5)
t0 = time.time()
while not pv.write_access and time.time() - t0 < 10:
    time.sleep(0.05)
out["beam_off"] = [pv.read_access, pv.write_access]
print("RESULT " + json.dumps(out))
`;

Deno.test({
  name: pyepicsTestName("pyepics: PV.write_access changes when the ACF input changes"),
  ignore: PYEPICS_IGNORED,
  async fn() {
    await using ioc = await startGuarded();
    const r = await runPyepics(PY_SCRIPT, ioc.caEnv);
    assert.deepEqual(r.before, [true, true]);
    assert.deepEqual(r.beam_on, [true, false]);
    assert.deepEqual(r.beam_off, [true, true]);
    // libca itself refuses a put once it has the new rights.
    assert.match(String(r.put_refused), /Write access denied/);
    assert.equal(ioc.db.getField("s:gated"), 1);
  },
});
