/**
 * Loopback tests of the CA client's batch calls against our own CA server:
 * CaContext.waitConnected and CaContext.getMany, with connected, late, missing and
 * bad requests, timeouts, aborts and a context closed under a pending batch.
 * @module
 */

import assert from "node:assert/strict";
import { DisconnectedError, TimeoutError } from "../lib/core/errors.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import type { ChannelData } from "../lib/ca/client/channel.ts";

function freeUdpPort(): number {
  const s = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const p = (s.addr as Deno.NetAddr).port;
  s.close();
  return p;
}

async function setup(n: number): Promise<{ server: CaServer; ctx: CaContext }> {
  const pvs: SharedPV[] = [];
  for (let i = 0; i < n; i++) pvs.push(new SharedPV(`BATCH:${i}`, { type: "float64", value: i }));
  const server = await CaServer.start({
    provider: new PvMap(pvs),
    config: epicsConfigFrom({
      EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
      EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
      EPICS_CAS_BEACON_ADDR_LIST: "",
    }).cas,
    port: 0,
  });
  const ctx = new CaContext({
    repeater: false,
    config: epicsConfigFrom({
      EPICS_CA_AUTO_ADDR_LIST: "NO",
      EPICS_CA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
      EPICS_CA_REPEATER_PORT: String(freeUdpPort()),
    }).ca,
  });
  return { server, ctx };
}

Deno.test("CA client batch: waitConnected and getMany over 2,000 channels", async () => {
  const { server, ctx } = await setup(2000);
  try {
    const chans = Array.from({ length: 2000 }, (_, i) => ctx.channel(`BATCH:${i}`));
    assert.equal(await ctx.waitConnected(chans, 10), true);
    assert.ok(chans.every((c) => c.state === "connected"));
    // Already connected: resolves at once.
    assert.equal(await ctx.waitConnected(chans, 10), true);
    const res = await ctx.getMany(chans, { dbrType: 20, timeoutSec: 10 });
    assert.equal(res.length, 2000);
    res.forEach((r, i) => {
      assert.ok(!(r instanceof Error), String(r));
      const d = r as ChannelData;
      assert.equal(d.dbrType, 20);
      assert.equal((d.data.value as Float64Array)[0], i);
    });
    assert.deepEqual(await ctx.getMany([]), []);
  } finally {
    await ctx.close();
    await server.close();
  }
});

Deno.test("CA client batch: a missing PV times the wait out; its read fails alone", async () => {
  const { server, ctx } = await setup(3);
  try {
    const chans = ["BATCH:0", "BATCH:NOPE", "BATCH:2"].map((n) => ctx.channel(n));
    const t0 = performance.now();
    // 1 s: the hosted PVs connect within it even on a busy machine.
    assert.equal(await ctx.waitConnected(chans, 1), false);
    assert.ok(performance.now() - t0 >= 950);
    assert.equal(chans[0].state, "connected");
    const res = await ctx.getMany(chans, { timeoutSec: 1 });
    assert.equal((res[0] as ChannelData).data.value[0], 0);
    assert.ok(res[1] instanceof Error, "missing PV");
    assert.equal((res[2] as ChannelData).data.value[0], 2);
    // A bad DBR type fails that read at once, not the batch.
    const bad = await ctx.getMany([chans[0]], { dbrType: 99 });
    assert.ok(bad[0] instanceof Error);
  } finally {
    await ctx.close();
    await server.close();
  }
});

Deno.test("CA client batch: channels not connected yet are read once they connect", async () => {
  const { server, ctx } = await setup(50);
  try {
    const chans = Array.from({ length: 50 }, (_, i) => ctx.channel(`BATCH:${i}`));
    const res = await ctx.getMany(chans, { timeoutSec: 5 });
    assert.deepEqual(res.map((r) => (r as ChannelData).data.value[0]), [...Array(50).keys()]);
  } finally {
    await ctx.close();
    await server.close();
  }
});

Deno.test("CA client batch: abort ends a wait; a closed context fails a pending batch", async () => {
  const { server, ctx } = await setup(1);
  const ac = new AbortController();
  const missing = ctx.channel("BATCH:ABSENT");
  const wait = ctx.waitConnected([missing], 30, ac.signal);
  ac.abort();
  assert.equal(await wait, false);
  const ch = ctx.channel("BATCH:0");
  assert.equal(await ctx.waitConnected([ch], 5), true);
  // The server never answers a read of the missing channel; closing fails it.
  const pending = ctx.getMany([ch, missing], { timeoutSec: 30 });
  await ctx.close();
  const res = await pending;
  assert.ok(res[1] instanceof DisconnectedError || res[1] instanceof TimeoutError, String(res[1]));
  await server.close();
});
