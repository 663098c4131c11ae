/**
 * A table PV (SharedPV type "table") hosted with serve(): PVA serves it as NTTable to
 * pvxs's pvxget and pvAccessCPP's pvget/pvput (skipped where absent); Channel Access
 * does not serve it (no search reply, CREATE_CH_FAIL), while the other PVs stay on CA.
 */
import assert from "node:assert/strict";
import { ChannelNotFoundError } from "../lib/core/errors.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { serve } from "../lib/host/serve.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import type { PvTableValue } from "../lib/pv/types.ts";
import { RawCaClient, udpSearch } from "./_ca_raw_client.ts";
import { cppPvget, cppPvput, pvxget, run } from "./_pva_server_tools.ts";

function tablePv(): SharedPV {
  return new SharedPV("tb:runs", {
    type: "table",
    description: "runs",
    table: {
      columns: [
        { name: "pos", type: "float64", label: "Position" },
        { name: "tag", type: "string" },
        { name: "n", type: "int32" },
      ],
    },
    value: { pos: [1.5, 2.5], tag: ["a", "b"], n: [1, 2] },
  });
}

async function withServed(
  fn: (
    env: Record<string, string>,
    ports: { ca: number; caUdp: number },
    t: SharedPV,
  ) => Promise<void>,
): Promise<void> {
  const t = tablePv();
  const x = new SharedPV("tb:x", { type: "int32", value: 4 });
  const config = epicsConfigFrom({
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_CAS_BEACON_ADDR_LIST: "127.0.0.1",
    EPICS_PVAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_PVAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1",
  });
  config.pvas.broadcastPort = 0;
  config.pvas.beaconAddrList = [];
  config.cas.beaconAddrList = [];
  await using s = await serve({ pvs: [t, x], config, caPort: 0, pvaPort: 0 });
  await fn(
    {
      EPICS_PVA_ADDR_LIST: "127.0.0.1",
      EPICS_PVA_AUTO_ADDR_LIST: "NO",
      EPICS_PVA_BROADCAST_PORT: String(s.pva!.udpPort),
      EPICS_PVA_SERVER_PORT: String(s.pva!.tcpPort),
    },
    { ca: s.ca!.tcpPort, caUdp: s.ca!.udpPort },
    t,
  );
}

Deno.test("table PV: not served over CA (no search reply, CREATE_CH_FAIL); other PVs are", async () => {
  await withServed(async (_env, ports) => {
    const found = await udpSearch(ports.caUdp, ["tb:runs", "tb:x"]);
    assert.deepEqual(found.map((f) => f.name), ["tb:x"]);
    await using c = await RawCaClient.connect(ports.ca);
    await assert.rejects(c.createChannel("tb:runs"), ChannelNotFoundError);
    const ch = await c.createChannel("tb:x");
    assert.equal(ch.count, 1);
  });
});

Deno.test({
  name: "table PV: pvxget shows the NTTable",
  ignore: !pvxget,
  async fn() {
    await withServed(async (env) => {
      const r = await run(
        pvxget!,
        ["-w", "5", "-r", "field(labels,value,descriptor)", "tb:runs"],
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        [
          "tb:runs",
          '    labels string[] = {3}["Position", "tag", "n"]',
          "    value.pos double[] = {2}[1.5, 2.5]",
          '    value.tag string[] = {2}["a", "b"]',
          "    value.n int32_t[] = {2}[1, 2]",
          '    descriptor string = "runs"',
          "",
        ].join("\n"),
      );
    });
  },
});

Deno.test({
  name: "table PV: pvAccessCPP pvget prints the table; pvput of a column is validated",
  ignore: !cppPvget || !cppPvput,
  async fn() {
    await withServed(async (env, _ports, t) => {
      const g = await run(cppPvget!, ["-w", "5", "tb:runs"], env);
      assert.equal(g.code, 0, g.stderr);
      const lines = g.stdout.trimEnd().split("\n").map((l) => l.trim().split(/\s+/));
      assert.deepEqual(lines.slice(1), [["Position", "tag", "n"], ["1.5", "a", "1"], [
        "2.5",
        "b",
        "2",
      ]]);
      const ok = await run(cppPvput!, [
        "-w",
        "5",
        "-r",
        "field(value)",
        "tb:runs",
        '{"value":{"n":[7,8]}}',
      ], env);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual([...(t.value as PvTableValue).n as Int32Array], [7, 8]);
      const bad = await run(
        cppPvput!,
        ["-w", "5", "-r", "field(value)", "tb:runs", '{"value":{"n":[7,8,9]}}'],
        env,
      );
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /Column "n" has 3 rows, but column "pos" has 2/);
      assert.deepEqual([...(t.value as PvTableValue).n as Int32Array], [7, 8]);
    });
  },
});
