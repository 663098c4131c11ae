/**
 * Loopback tests of the pyepics-style CA client API: caget, caput, cainfo, camonitor
 * and the PV class, against our own CA server.
 * @module
 */

import assert from "node:assert/strict";
import { ChannelNotFoundError } from "../lib/core/errors.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import {
  caget,
  cainfo,
  camonitor,
  caput,
  closeDefaultContext,
  configureDefaultContext,
  PV,
  type PvUpdate,
} from "../lib/ca/client/mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

function makePvs() {
  return {
    ai: new SharedPV("api:ai", {
      type: "float64",
      value: 1.23456,
      units: "V",
      precision: 2,
      display: { low: 0, high: 10 },
    }),
    mode: new SharedPV("api:mode", { type: "enum", value: 0, choices: ["Auto", "Manual"] }),
    msg: new SharedPV("api:msg", { type: "uint8", length: 64, value: "hi there" }),
    wf: new SharedPV("api:wf", { type: "int32", length: 4, value: new Int32Array([1, 2, 3, 4]) }),
  };
}

async function withServer(fn: (p: ReturnType<typeof makePvs>) => Promise<void>): Promise<void> {
  const p = makePvs();
  const server = await CaServer.start({
    provider: new PvMap(Object.values(p)),
    config: epicsConfigFrom({
      EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
      EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    }).cas,
    port: 0,
  });
  configureDefaultContext({
    repeater: false,
    config: epicsConfigFrom({
      EPICS_CA_AUTO_ADDR_LIST: "NO",
      EPICS_CA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
    }).ca,
  });
  try {
    await fn(p);
  } finally {
    await closeDefaultContext();
    await server.close();
  }
}

Deno.test("caget / caput: values, text forms and completion", async () => {
  await withServer(async (p) => {
    assert.equal(await caget("api:ai"), 1.23456);
    assert.equal(await caget("api:ai", { asString: true }), "1.23");
    assert.equal(await caget("api:mode"), 0);
    assert.equal(await caget("api:mode", { asString: true }), "Auto");
    assert.equal(await caget("api:msg", { asString: true }), "hi there");
    assert.deepEqual(Array.from(await caget("api:wf") as Int32Array), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(await caget("api:wf", { count: 2 }) as Int32Array), [1, 2]);
    assert.equal(await caget("api:wf", { asString: true }), "1 2 3 4");
    await caput("api:ai", 7.5, { wait: true });
    assert.equal(p.ai.value, 7.5);
    await until(async () => (await caget("api:ai")) === 7.5, "the monitored value");
    await caput("api:mode", "Manual", { wait: true });
    assert.equal(p.mode.value, 1);
    await caput("api:msg", "new text", { wait: true });
    assert.equal(await caget("api:msg", { asString: true, fresh: true }), "new text");
    await assert.rejects(caget("api:missing", { timeoutSec: 0.2 }), ChannelNotFoundError);
  });
});

Deno.test("cainfo describes a PV", async () => {
  await withServer(async () => {
    const text = await cainfo("api:ai");
    assert.match(text, /^== api:ai {2}\(time_double\) ==/);
    assert.match(text, /value += 1\.23/);
    assert.match(text, /type += DBF_DOUBLE/);
    assert.match(text, /access += read\/write/);
    assert.match(text, /units += V/);
    assert.match(text, /upper_disp_limit += 10/);
    const e = await cainfo("api:mode");
    assert.match(e, /1 = Manual/);
  });
});

Deno.test("camonitor and the PV class: callbacks, connection callbacks, metadata", async () => {
  await withServer(async (p) => {
    const seen: PvUpdate[] = [];
    const stop = camonitor("api:ai", (u) => seen.push(u));
    await until(() => seen.length === 1, "the first monitor update");
    assert.equal(seen[0].value, 1.23456);
    assert.equal(seen[0].charValue, "1.23");
    assert.ok(seen[0].timestamp! > 1.6e9);
    p.ai.post(3);
    await until(() => seen.length === 2, "the second update");
    stop();
    p.ai.post(4);
    await sleep(50);
    assert.equal(seen.length, 2);

    const conn: boolean[] = [];
    const updates: (number | string)[] = [];
    const pv = new PV("api:mode", {
      callback: (u) => updates.push(u.charValue),
      connectionCallback: (_n, c) => conn.push(c),
    });
    assert.equal(await pv.waitForConnection(2), true);
    assert.deepEqual(conn, [true]);
    assert.deepEqual(pv.enumStrs, ["Auto", "Manual"]);
    assert.equal(pv.type, "DBF_ENUM");
    assert.equal(pv.count, 1);
    assert.ok(pv.readAccess && pv.writeAccess);
    await until(() => pv.value !== undefined, "the PV value");
    assert.equal(pv.value, 0);
    assert.equal(pv.charValue, "Auto");
    await pv.put("Manual", { wait: true });
    await until(() => pv.value === 1, "the put to show up");
    assert.equal(await pv.get({ asString: true }), "Manual");
    assert.deepEqual(updates.slice(-1), ["Manual"]);
    const ctrl = await pv.getCtrlVars();
    assert.deepEqual(ctrl.enumStrings, ["Auto", "Manual"]);
    await pv.close();
    assert.equal(pv.connected, false);
  });
});
