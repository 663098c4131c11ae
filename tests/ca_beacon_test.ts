import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { ByteWriter } from "../lib/core/bytes.ts";
import { CaFramer } from "../lib/ca/proto/framer.ts";
import { writeHeader } from "../lib/ca/proto/header.ts";
import { CaCommand } from "../lib/ca/proto/constants.ts";
import { beaconDelay, CaServer } from "../lib/ca/server/server.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";

Deno.test("CA server sends beacons to EPICS_CAS_BEACON_ADDR_LIST, numbered from 0", async () => {
  const sink = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const sinkPort = (sink.addr as Deno.NetAddr).port;
  const config = epicsConfigFrom({
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_CAS_BEACON_ADDR_LIST: `127.0.0.1:${sinkPort}`,
  }).cas;
  const server = await CaServer.start({
    provider: new PvMap([new SharedPV("b:x", { type: "int32" })]),
    config,
    port: 0,
  });
  const beacons: { id: number; port: number; minor: number }[] = [];
  try {
    while (beacons.length < 5) {
      const [data] = await sink.receive();
      const [m] = new CaFramer().receive(data);
      assert.equal(m.command, CaCommand.RSRV_IS_UP);
      beacons.push({ id: m.param1, port: m.dataCount, minor: m.dataType });
    }
  } finally {
    await server.close();
    sink.close();
  }
  // Numbered from 0 and increasing (UDP may lose one on a loaded machine; order is kept).
  const ids = beacons.map((b) => b.id);
  assert.equal(ids[0], 0, `beacon ids ${ids}`);
  assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), `beacon ids ${ids}`);
  assert.ok(beacons.every((b) => b.port === server.tcpPort && b.minor === 13));
});

Deno.test({
  name: "CA beacon intervals double from 20 ms up to EPICS_CAS_BEACON_PERIOD",
  permissions: "none",
  fn() {
    // Checked on the schedule itself: gaps measured on a busy machine prove nothing.
    const delays = Array.from({ length: 12 }, (_, n) => beaconDelay(n, 15_000));
    assert.deepEqual(delays, [20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 15000, 15000]);
    assert.equal(beaconDelay(1000, 15_000), 15_000);
  },
});

Deno.test("CA server binds only EPICS_CAS_INTF_ADDR_LIST and falls back to a free TCP port", async () => {
  const config = epicsConfigFrom({
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
  }).cas;
  const provider = new PvMap([new SharedPV("b:y", { type: "int32" })]);
  await using first = await CaServer.start({ provider, config, port: 0 });
  // A second server asked for the same port gets another TCP port but shares the UDP port.
  await using second = await CaServer.start({ provider, config, port: first.tcpPort });
  assert.notEqual(second.tcpPort, first.tcpPort);
  assert.equal(second.udpPort, first.tcpPort);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: first.tcpPort });
  const buf = new Uint8Array(16);
  let got = 0;
  while (got < 16) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  conn.close();
  // The server speaks first: VERSION with minor 13.
  assert.deepEqual(Array.from(buf.subarray(0, 8)), [0, 0, 0, 0, 0, 0, 0, 13]);
});

Deno.test("CA server started directly does not offer table PVs (CA has no form for them)", async () => {
  const config = epicsConfigFrom({
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
  }).cas;
  const table = new SharedPV("t:table", {
    type: "table",
    table: { columns: [{ name: "x", type: "float64" }] },
  });
  const provider = new PvMap([table, new SharedPV("t:x", { type: "int32" })]);
  await using server = await CaServer.start({ provider, config, port: 0 });
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const w = new ByteWriter();
    writeHeader(w, CaCommand.VERSION, 0, 1, 13, 1, 0);
    for (const [name, id] of [["t:table", 1], ["t:x", 2]] as const) {
      const p = new TextEncoder().encode(name + "\0");
      const padded = new Uint8Array(Math.ceil(p.length / 8) * 8);
      padded.set(p);
      writeHeader(w, CaCommand.SEARCH, padded.length, 5, 13, id, id);
      w.bytes(padded);
    }
    await sock.send(w.toBytes(), { transport: "udp", hostname: "127.0.0.1", port: server.udpPort });
    const [reply] = await sock.receive();
    const found = new CaFramer().receive(reply).filter((m) => m.command === CaCommand.SEARCH)
      .map((m) => m.param2);
    assert.deepEqual(found, [2]);
  } finally {
    sock.close();
  }
});
