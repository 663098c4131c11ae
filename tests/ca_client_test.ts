/**
 * Loopback tests of the CA client against our own CA server: every DBR type, puts with
 * and without completion, monitors with masks, access rights, a server restarted under
 * a running client, a PV that never connects, and 10,000 PVs connected in one go.
 * @module
 */

import assert from "node:assert/strict";
import { CaStatusError, ChannelNotFoundError, TimeoutError } from "../lib/core/errors.ts";
import { Dbe, Dbr, Eca } from "../lib/ca/proto/constants.ts";
import { dbrInfo } from "../lib/ca/proto/dbr.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { type CaClientConfig, epicsConfigFrom } from "../lib/core/env.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { CaContext, type CaContextOptions } from "../lib/ca/client/context.ts";
import { CaRepeater } from "../lib/ca/repeater.ts";
import type { MonitorUpdate } from "../lib/ca/client/channel.ts";

/** A free UDP port on 127.0.0.1 (bound then released). */
function freeUdpPort(): number {
  const s = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const p = (s.addr as Deno.NetAddr).port;
  s.close();
  return p;
}

/** Server settings bound to loopback, beacons to `beaconPort` (or none). */
function serverConfig(beaconPort?: number) {
  return epicsConfigFrom({
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_CAS_BEACON_ADDR_LIST: beaconPort ? `127.0.0.1:${beaconPort}` : "",
    EPICS_CA_BEACON_PERIOD: "1",
  }).cas;
}

/** Starts a loopback server for the PVs. */
function startServer(
  pvs: SharedPV[] | PvMap,
  opts: { port?: number; beaconPort?: number } = {},
): Promise<CaServer> {
  return CaServer.start({
    provider: pvs instanceof PvMap ? pvs : new PvMap(pvs),
    config: serverConfig(opts.beaconPort),
    port: opts.port ?? 0,
  });
}

/** Client settings that search only the given UDP port on 127.0.0.1. */
function clientConfig(
  udpPort: number,
  extra: Record<string, string> = {},
): CaClientConfig {
  return epicsConfigFrom({
    EPICS_CA_AUTO_ADDR_LIST: "NO",
    EPICS_CA_ADDR_LIST: `127.0.0.1:${udpPort}`,
    EPICS_CA_SERVER_PORT: String(udpPort),
    EPICS_CA_REPEATER_PORT: String(freeUdpPort()),
    ...extra,
  }).ca;
}

/** A client context for a server, without a repeater unless asked. */
function clientFor(
  server: CaServer,
  opts: CaContextOptions & { env?: Record<string, string> } = {},
): CaContext {
  return new CaContext({
    repeater: false,
    user: "tester",
    host: "testhost",
    ...opts,
    config: opts.config ?? clientConfig(server.udpPort, opts.env),
  });
}

const nums = (v: ArrayLike<number | string>) => Array.from(v as ArrayLike<number>);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds, polling every 10 ms. */
async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

function pvs() {
  return {
    dbl: new SharedPV("c:dbl", {
      type: "float64",
      value: 3.14159,
      units: "mm",
      precision: 3,
      display: { low: -10, high: 10 },
      control: { low: -100, high: 100 },
      alarm: { low: -5, high: 5, lolo: -8, hihi: 8 },
    }),
    lng: new SharedPV("c:lng", { type: "int32", value: -42, units: "cts" }),
    sht: new SharedPV("c:sht", { type: "int16", value: 12 }),
    flt: new SharedPV("c:flt", { type: "float32", value: 2.5, precision: 1 }),
    enm: new SharedPV("c:enm", { type: "enum", value: 1, choices: ["Off", "On", "Fault"] }),
    str: new SharedPV("c:str", { type: "string", value: "hello" }),
    chr: new SharedPV("c:chr", { type: "uint8", length: 32, value: new Uint8Array([72, 105, 0]) }),
    arr: new SharedPV("c:arr", {
      type: "float64",
      length: 100,
      value: new Float64Array([1, 2, 3, 4, 5]),
    }),
    ro: new SharedPV("c:ro", { type: "float64", value: 1, writable: false }),
  };
}

Deno.test("CA client: connect, native type and count, access rights, host", async () => {
  const p = pvs();
  await using server = await startServer(Object.values(p));
  await using ctx = clientFor(server);
  const ch = ctx.channel("c:dbl");
  assert.equal(ch.state, "searching");
  const seen: boolean[] = [];
  ch.onConnection((c) => seen.push(c));
  const rights: { read: boolean; write: boolean }[] = [];
  ch.onAccessRights((a) => rights.push(a));
  await ch.connected(20);
  assert.equal(ch.state, "connected");
  assert.equal(ch.nativeType, Dbr.DOUBLE);
  assert.equal(ch.count, 1);
  assert.deepEqual(ch.access, { read: true, write: true });
  assert.deepEqual(rights, [{ read: true, write: true }]);
  assert.deepEqual(seen, [true]);
  assert.equal(ch.host, `127.0.0.1:${server.tcpPort}`);
  assert.equal(ch.serverMinor, 13);
  const ro = ctx.channel("c:ro");
  await ro.connected(20);
  assert.deepEqual(ro.access, { read: true, write: false });
  await assert.rejects(ro.put(5), (e) => e instanceof CaStatusError && e.eca === Eca.NOWTACCESS);
  // Both channels share one circuit.
  assert.equal(ctx.circuitCount, 1);
});

Deno.test("CA client: get of every DBR type 0..34 for every native type", async () => {
  const p = pvs();
  await using server = await startServer(Object.values(p));
  await using ctx = clientFor(server);
  const names = ["c:dbl", "c:lng", "c:sht", "c:flt", "c:enm", "c:str", "c:chr", "c:arr"];
  const chans = names.map((n) => ctx.channel(n));
  await Promise.all(chans.map((c) => c.connected(20)));
  for (const ch of chans) {
    for (let t = 0; t <= 34; t++) {
      const info = dbrInfo(t);
      let r;
      try {
        r = await ch.get({ dbrType: t });
      } catch (e) {
        // Text that is not a number cannot be read as a number (ECA_GETFAIL), like RSRV.
        assert.ok(e instanceof CaStatusError, `${ch.name} as ${info.name}: ${e}`);
        assert.equal(ch.name, "c:str");
        assert.equal(e.eca, Eca.GETFAIL);
        continue;
      }
      assert.equal(r.dbrType, t);
      assert.equal(r.count, ch.count, `${ch.name} as ${info.name}`);
      assert.equal(r.data.value.length, r.count);
      if (info.family === "time") assert.ok(r.data.meta.stamp!.secPastEpoch > 0);
      if (info.valueType === 0) assert.equal(typeof r.data.value[0], "string");
      else assert.equal(typeof r.data.value[0], "number");
    }
  }
  const [dbl, lng, , flt, enm, str, chr, arr] = chans;
  assert.deepEqual((await dbl.get({ dbrType: Dbr.STRING })).data.value, ["3.142"]);
  assert.equal((await dbl.get({ dbrType: Dbr.LONG })).data.value[0], 3);
  const ctrl = (await dbl.get({ dbrType: Dbr.CTRL_DOUBLE })).data.meta;
  assert.equal(ctrl.units, "mm");
  assert.equal(ctrl.precision, 3);
  assert.equal(ctrl.upperDispLimit, 10);
  assert.equal(ctrl.lowerCtrlLimit, -100);
  assert.equal(ctrl.upperAlarmLimit, 8);
  assert.equal(ctrl.lowerWarningLimit, -5);
  assert.equal((await lng.get()).data.value[0], -42);
  assert.equal((await lng.get({ dbrType: Dbr.GR_LONG })).data.meta.units, "cts");
  assert.equal((await flt.get()).data.value[0], 2.5);
  assert.equal((await enm.get()).data.value[0], 1);
  assert.deepEqual((await enm.get({ dbrType: Dbr.STRING })).data.value, ["On"]);
  assert.deepEqual(
    (await enm.get({ dbrType: Dbr.CTRL_ENUM })).data.meta.enumStrings,
    ["Off", "On", "Fault"],
  );
  assert.deepEqual((await str.get()).data.value, ["hello"]);
  assert.equal(chr.count, 32);
  assert.deepEqual(nums((await chr.get({ count: 3 })).data.value), [72, 105, 0]);
  // Count 0: only the elements the server has now (a dynamic array).
  const dyn = await arr.get({ count: 0, dbrType: Dbr.TIME_DOUBLE });
  assert.equal(dyn.count, 5);
  assert.deepEqual(nums(dyn.data.value), [1, 2, 3, 4, 5]);
  assert.equal((await arr.get()).count, 100);
});

Deno.test("CA client: puts with and without completion, errors and timeouts", async () => {
  const p = pvs();
  await using server = await startServer(Object.values(p));
  await using ctx = clientFor(server);
  const dbl = ctx.channel("c:dbl");
  const enm = ctx.channel("c:enm");
  const str = ctx.channel("c:str");
  const chr = ctx.channel("c:chr");
  const arr = ctx.channel("c:arr");
  await Promise.all([dbl, enm, str, chr, arr].map((c) => c.connected(20)));

  await dbl.put(4.5, { wait: true });
  assert.equal(p.dbl.value, 4.5);
  await dbl.put("1.25", { wait: true });
  assert.equal(p.dbl.value, 1.25);
  // Without wait: WRITE, no reply; the next get (same circuit, in order) sees it.
  await dbl.put(2);
  assert.equal((await dbl.get()).data.value[0], 2);
  await enm.put("Fault", { wait: true });
  assert.equal(p.enm.value, 2);
  await enm.put(0, { wait: true });
  assert.equal(p.enm.value, 0);
  await str.put("world", { wait: true });
  assert.equal(p.str.value, "world");
  await chr.put("long text", { wait: true });
  assert.equal(new TextDecoder().decode((p.chr.value as Uint8Array).subarray(0, 9)), "long text");
  await arr.put([9, 8, 7], { wait: true });
  assert.deepEqual(nums((await arr.get({ count: 0 })).data.value), [9, 8, 7]);
  await arr.put(new Float64Array([1.5, 2.5]), { wait: true });
  assert.deepEqual(Array.from(p.arr.value as Float64Array), [1.5, 2.5]);

  // Refused puts: outside the control range, and a WRITE refused without wait.
  await assert.rejects(
    dbl.put(1000, { wait: true }),
    (e) => e instanceof CaStatusError && e.eca === Eca.PUTFAIL,
  );
  await assert.rejects(
    enm.put("Nope", { wait: true }),
    (e) => e instanceof CaStatusError && !(e.eca & 1),
  );
  assert.equal(p.dbl.value, 2, "a refused put changes nothing");
  assert.equal(p.enm.value, 0, "a refused put changes nothing");
  const errors: CaStatusError[] = [];
  dbl.onError = (e) => errors.push(e);
  await dbl.put(1000);
  await until(() => errors.length === 1, "the WRITE error");
  assert.equal(errors[0].eca, Eca.PUTFAIL);
  assert.equal((await dbl.get()).data.value[0], 2, "a refused WRITE changes nothing");
});

Deno.test("CA client: put with completion times out when the server does not finish", async () => {
  let release: () => void = () => {};
  let puts = 0;
  const slow = new SharedPV("c:slow", {
    type: "float64",
    onPut: () => {
      puts++;
      return new Promise<void>((r) => (release = r));
    },
  });
  await using server = await startServer([slow]);
  await using ctx = clientFor(server);
  const ch = ctx.channel("c:slow");
  await ch.connected(20);
  await assert.rejects(ch.put(1, { wait: true, timeoutSec: 0.2 }), TimeoutError);
  release();
  // A later put still completes.
  const done = ch.put(2, { wait: true, timeoutSec: 20 });
  await until(() => puts === 2, "the second put to reach the PV");
  release();
  await done;
  assert.equal(slow.value, 2);
});

Deno.test("CA client: monitors with DBE masks", async () => {
  const p = pvs();
  await using server = await startServer(Object.values(p));
  await using ctx = clientFor(server);
  const ch = ctx.channel("c:dbl");
  const values: number[] = [];
  const alarms: number[] = [];
  const onValue = (u: MonitorUpdate) => {
    if ("error" in u) throw u.error;
    values.push(u.data.value[0] as number);
  };
  const onAlarm = (u: MonitorUpdate) => {
    if ("error" in u) throw u.error;
    assert.equal(u.dbrType, Dbr.TIME_DOUBLE);
    alarms.push(u.data.meta.severity);
  };
  // Subscribing before the connection: the EVENT_ADD goes out once connected.
  const s1 = ch.subscribe({ mask: Dbe.VALUE }, onValue);
  const s2 = ch.subscribe({ dbrType: Dbr.TIME_DOUBLE, mask: Dbe.ALARM }, onAlarm);
  await ch.connected(20);
  await until(() => values.length === 1 && alarms.length === 1, "the initial updates");
  p.dbl.post(1); // value change, still no alarm
  p.dbl.post(6); // value and MINOR alarm (high = 5)
  p.dbl.post(9); // value and MAJOR alarm (hihi = 8)
  p.dbl.post(9.5); // value only
  await until(() => values.length === 5, "value updates");
  await until(() => alarms.length === 3, "alarm updates");
  assert.deepEqual(values, [3.14159, 1, 6, 9, 9.5]);
  assert.deepEqual(alarms, [0, 1, 2]);
  s1.cancel();
  p.dbl.post(2);
  await until(() => alarms.length === 4, "the alarm clearing");
  assert.equal(values.length, 5);
  s2.cancel();
  // A dynamic-count subscription to an array.
  const arr = ctx.channel("c:arr");
  const counts: number[] = [];
  arr.subscribe({ dbrType: Dbr.TIME_DOUBLE, count: 0 }, (u) => {
    if (!("error" in u)) counts.push(u.count);
  });
  await until(() => counts.length === 1, "the first array update");
  p.arr.post(new Float64Array([1, 2]));
  await until(() => counts.length === 2, "the second array update");
  assert.deepEqual(counts, [5, 2]);
});

Deno.test("CA client: a PV that never connects times out", async () => {
  await using server = await startServer([new SharedPV("c:here", { type: "int32" })]);
  await using ctx = clientFor(server);
  const ch = ctx.channel("c:nowhere");
  const t0 = performance.now();
  await assert.rejects(ch.connected(0.3), ChannelNotFoundError);
  assert.ok(performance.now() - t0 >= 290);
  await assert.rejects(ch.get({ timeoutSec: 0.1 }), ChannelNotFoundError);
  assert.equal(ch.state, "searching");
  await ch.close();
  assert.equal(ch.state, "closed");
});

Deno.test("CA client: a server restarted under a running client resumes subscriptions", async () => {
  const repeaterPort = freeUdpPort();
  // The repeater the client registers with, in this process (no process outlives the test):
  // it fans the restarted server's beacons out to the client.
  await using _rep = CaRepeater.start(repeaterPort, { hostname: "127.0.0.1" });
  const pv = new SharedPV("c:restart", { type: "int32", value: 1 });
  const provider = new PvMap([pv]);
  let server = await startServer(provider, { beaconPort: repeaterPort });
  const port = server.udpPort;
  const ctx = new CaContext({
    config: clientConfig(port, { EPICS_CA_REPEATER_PORT: String(repeaterPort) }),
    user: "tester",
    host: "testhost",
  });
  try {
    const ch = ctx.channel("c:restart");
    const events: boolean[] = [];
    ch.onConnection((c) => events.push(c));
    const got: number[] = [];
    ch.subscribe({}, (u) => {
      if (!("error" in u)) got.push(u.data.value[0] as number);
    });
    await until(() => got.length === 1, "the first update");
    await until(() => ctx.repeaterConfirmed, "the repeater registration");
    await server.close();
    await until(() => events.length === 2, "the disconnect");
    assert.equal(ch.state, "disconnected");
    await assert.rejects(ch.get({ timeoutSec: 0.05 }));
    pv.post(2);
    server = await startServer(provider, { port, beaconPort: repeaterPort });
    await until(() => ch.state === "connected", "the reconnect", 10000);
    await until(() => got.length === 2, "the re-established subscription");
    pv.post(3);
    await until(() => got.length === 3, "an update after the restart");
    assert.deepEqual(got, [1, 2, 3]);
    assert.deepEqual(events, [true, false, true]);
    assert.equal((await ch.get()).data.value[0], 3);
  } finally {
    await ctx.close();
    await server.close();
  }
});

Deno.test("CA client: large arrays, EPICS_CA_MAX_ARRAY_BYTES and circuit priorities", async () => {
  const N = 200_000;
  const big = new SharedPV("c:big", { type: "float64", length: N, value: new Float64Array(N) });
  const v = new Float64Array(N);
  for (let i = 0; i < N; i++) v[i] = i * 0.5;
  big.post(v);
  await using server = await startServer([big]);
  await using ctx = clientFor(server);
  const ch = ctx.channel("c:big");
  await ch.connected(20);
  assert.equal(ch.count, N);
  const r = await ch.get({ dbrType: Dbr.TIME_DOUBLE });
  assert.equal(r.count, N);
  assert.equal(r.data.value[N - 1], (N - 1) * 0.5);
  const upd: number[] = [];
  ch.subscribe({ count: 10 }, (u) => {
    if (!("error" in u)) upd.push(u.count);
  });
  await until(() => upd.length === 1, "a partial-array update");
  assert.deepEqual(upd, [10]);
  // A second priority gets a circuit of its own.
  const hi = ctx.channel("c:big", { priority: 20 });
  await hi.connected(20);
  assert.equal(ctx.circuitCount, 2);
  // With EPICS_CA_AUTO_ARRAY_BYTES=NO the limit holds: too large a read is refused locally.
  await using small = clientFor(server, {
    env: { EPICS_CA_AUTO_ARRAY_BYTES: "NO", EPICS_CA_MAX_ARRAY_BYTES: "100000" },
  });
  const sc = small.channel("c:big");
  await sc.connected(20);
  await assert.rejects(sc.get(), (e) => e instanceof CaStatusError && e.eca === Eca.TOLARGE);
  assert.equal((await sc.get({ count: 12000 })).count, 12000);
});

Deno.test("CA client: 10,000 PVs connected in one go", async () => {
  const N = 10_000;
  const list: SharedPV[] = [];
  for (let i = 0; i < N; i++) {
    list.push(new SharedPV(`big:${i}`, { type: "float64", value: i }));
  }
  await using server = await startServer(new PvMap(list));
  await using ctx = clientFor(server);
  const t0 = performance.now();
  const chans = list.map((p) => ctx.channel(p.name));
  await Promise.all(chans.map((c) => c.connected(20)));
  const t1 = performance.now();
  const got = await Promise.all(chans.map((c) => c.get({ timeoutSec: 20 })));
  const t2 = performance.now();
  console.log(
    `10,000 PVs: connected in ${(t1 - t0).toFixed(0)} ms, read in ${(t2 - t1).toFixed(0)} ms`,
  );
  assert.equal(ctx.circuitCount, 1);
  for (let i = 0; i < N; i++) assert.equal(got[i].data.value[0], i);
});
