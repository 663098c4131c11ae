/**
 * Our PVA client's RPC against our PVA server on loopback: SharedPV `onRpc` handlers
 * answering NTURI calls (a structure result, an NTTable result, a handler error, a PV
 * without RPC), through both {@link PvaClient.rpc} and the one-call `pvrpc()`.
 */
import assert from "node:assert/strict";
import type { PvaServerConfig } from "../lib/core/env.ts";
import { PvaStatusError } from "../lib/core/errors.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { PvaServer } from "../lib/pva/server/mod.ts";
import { ntUri, PvaClient, pvrpc } from "../lib/pva/client/mod.ts";
import { ntTableValue, readNtTable } from "../lib/pva/nt/mod.ts";

function config(): PvaServerConfig {
  return {
    serverPort: 0,
    broadcastPort: 0,
    intfAddrList: ["127.0.0.1"],
    beaconAddrList: [],
    autoBeaconAddrList: false,
    beaconPeriod: 15,
  };
}

const COLUMNS = [
  { name: "x", type: "float64", label: "X (mm)" },
  { name: "tag", type: "string" },
] as const;

function pvs(): SharedPV[] {
  return [
    new SharedPV("rpc:div", {
      type: "float64",
      onRpc: (args) => {
        const q = (args as { query: { a: number; b: number } }).query;
        if (q.b === 0) throw new Error("division by zero");
        return { value: q.a / q.b, note: `${q.a}/${q.b}` };
      },
    }),
    new SharedPV("rpc:table", {
      type: "float64",
      onRpc: (args) => {
        const n = Number((args as { query: { rows: string } }).query.rows);
        const x = Array.from({ length: n }, (_, i) => i * 0.5);
        return ntTableValue(COLUMNS, { x, tag: x.map((_, i) => `r${i}`) });
      },
    }),
    new SharedPV("rpc:plain", { type: "float64" }),
  ];
}

async function withServer(fn: (env: Record<string, string>) => Promise<void>): Promise<void> {
  await using server = await PvaServer.start({ provider: new PvMap(pvs()), config: config() });
  await fn({
    EPICS_PVA_AUTO_ADDR_LIST: "NO",
    EPICS_PVA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
  });
}

Deno.test("rpc loopback: a structure result, through PvaClient.rpc and pvrpc()", async () => {
  await withServer(async (env) => {
    await using c = new PvaClient({ env });
    const r = await c.rpc("rpc:div", ntUri("rpc:div", { a: 6, b: 4 }));
    assert.ok(r);
    assert.equal(r.get("value"), 1.5);
    assert.equal(r.get("note"), "6/4");
    // The same channel serves several calls.
    assert.equal((await c.rpc("rpc:div", ntUri("rpc:div", { a: 1, b: 8 })))?.get("value"), 0.125);
    assert.deepEqual(await pvrpc("rpc:div", { a: 9, b: 3 }, { env }), { value: 3, note: "9/3" });
  });
});

Deno.test("rpc loopback: a handler error and a PV without RPC give PvaStatusError", async () => {
  await withServer(async (env) => {
    await using c = new PvaClient({ env });
    await assert.rejects(
      c.rpc("rpc:div", ntUri("rpc:div", { a: 1, b: 0 })),
      (e) =>
        e instanceof PvaStatusError && e.statusType === 2 &&
        e.message === 'Cannot call "rpc:div": server returned error "division by zero"',
    );
    await assert.rejects(pvrpc("rpc:div", { a: 1, b: 0 }, { env }), /division by zero/);
    await assert.rejects(
      pvrpc("rpc:plain", {}, { env }),
      (e) => e instanceof PvaStatusError && /does not implement RPC/.test(e.message),
    );
    // After an error the channel still answers.
    assert.equal((await c.rpc("rpc:div", ntUri("rpc:div", { a: 2, b: 1 })))?.get("value"), 2);
  });
});

Deno.test("rpc loopback: an NTTable result end to end", async () => {
  // SharedPV serves NT scalars, arrays, enums and images for GET/MONITOR, not tables;
  // an RPC handler can return any value, so tables travel end to end this way.
  await withServer(async (env) => {
    await using c = new PvaClient({ env });
    const r = await c.rpc("rpc:table", ntUri("rpc:table", { rows: "3" }));
    assert.ok(r);
    assert.equal(r.type.id, "epics:nt/NTTable:1.0");
    const t = readNtTable(r);
    assert.deepEqual(t.labels, ["X (mm)", "tag"]);
    assert.deepEqual(t.names, ["x", "tag"]);
    assert.deepEqual([...t.columns.x as Float64Array], [0, 0.5, 1]);
    assert.deepEqual(t.columns.tag, ["r0", "r1", "r2"]);
    const plain = await pvrpc("rpc:table", { rows: "2" }, { env });
    assert.ok(plain);
    assert.deepEqual(plain.labels, ["X (mm)", "tag"]);
    const value = plain.value as { x: Float64Array; tag: string[] };
    assert.ok(value.x instanceof Float64Array);
    assert.deepEqual([...value.x], [0, 0.5]);
    assert.deepEqual(value.tag, ["r0", "r1"]);
  });
});
