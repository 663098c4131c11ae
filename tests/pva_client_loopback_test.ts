/**
 * Our PVA client against our PVA server on loopback: every NT type the server makes,
 * puts (value, field path, enum by name and index, arrays, refused), monitors (including
 * through a server restart), a PV that is not found, and the commands' default output.
 */
import assert from "node:assert/strict";
import type { PvaServerConfig } from "../lib/core/env.ts";
import { ChannelNotFoundError, PvaStatusError } from "../lib/core/errors.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { PvaServer } from "../lib/pva/server/mod.ts";
import { type MonitorEvent, PvaClient } from "../lib/pva/client/client.ts";
import type { CliIO } from "../cli/_io.ts";
import { main as pvget } from "../cli/pvget.ts";
import { main as pvput } from "../cli/pvput.ts";
import { main as pvinfo } from "../cli/pvinfo.ts";
import {
  pvget as pvgetApi,
  pvinfo as pvinfoApi,
  pvmonitor as pvmonitorApi,
  pvput as pvputApi,
} from "../lib/pva/client/mod.ts";

/** 2024-05-01 12:34:56.789 UTC, a fixed clock so printed times are known. */
const T0 = Date.UTC(2024, 4, 1, 12, 34, 56, 789);

function config(over: Partial<PvaServerConfig> = {}): PvaServerConfig {
  return {
    serverPort: 0,
    broadcastPort: 0,
    intfAddrList: ["127.0.0.1"],
    beaconAddrList: [],
    autoBeaconAddrList: false,
    beaconPeriod: 15,
    ...over,
  };
}

function pvs(): SharedPV[] {
  const clock = () => T0;
  return [
    new SharedPV("lb:dbl", {
      type: "float64",
      value: 21.5,
      units: "degC",
      precision: 2,
      clock,
    }),
    new SharedPV("lb:i32", { type: "int32", value: 42, clock }),
    new SharedPV("lb:str", { type: "string", value: "hello world", clock }),
    new SharedPV("lb:bool", { type: "boolean", value: true, clock }),
    new SharedPV("lb:wf", { type: "float64", length: 8, value: [1.5, 2.5, 3.5], clock }),
    new SharedPV("lb:sw", { type: "enum", choices: ["Off", "On", "Auto"], value: 1, clock }),
    new SharedPV("lb:ro", { type: "float64", value: 5, writable: false, clock }),
    new SharedPV("lb:img", {
      type: "uint16",
      value: new Uint16Array([1, 2, 3, 4, 5, 6]),
      ndarray: { dimension: [3, 2] },
      clock,
    }),
  ];
}

async function withServer(
  fn: (env: Record<string, string>, map: PvMap, server: PvaServer) => Promise<void>,
): Promise<void> {
  const map = new PvMap(pvs());
  await using server = await PvaServer.start({ provider: map, config: config() });
  const env = {
    EPICS_PVA_AUTO_ADDR_LIST: "NO",
    EPICS_PVA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
    TZ: "UTC",
  };
  await fn(env, map, server);
}

function io(env: Record<string, string>) {
  const ac = new AbortController();
  const c = { out: "", err: "", abort: () => ac.abort(), io: undefined as unknown as CliIO };
  c.io = { stdout: (t) => (c.out += t), stderr: (t) => (c.err += t), env, signal: ac.signal };
  return c;
}

Deno.test("loopback: get of every NT type the server makes", async () => {
  await withServer(async (env) => {
    await using c = new PvaClient({ env });
    const dbl = await c.get("lb:dbl");
    assert.equal(dbl.type.id, "epics:nt/NTScalar:1.0");
    assert.equal(dbl.get("value"), 21.5);
    assert.equal(dbl.get("display.units"), "degC");
    assert.equal((await c.get("lb:i32")).get("value"), 42);
    assert.equal((await c.get("lb:str")).get("value"), "hello world");
    assert.equal((await c.get("lb:bool")).get("value"), true);
    const wf = await c.get("lb:wf");
    assert.equal(wf.type.id, "epics:nt/NTScalarArray:1.0");
    assert.ok(wf.get("value") instanceof Float64Array);
    assert.deepEqual([...(wf.get("value") as Float64Array)], [1.5, 2.5, 3.5]);
    const sw = await c.get("lb:sw");
    assert.equal(sw.type.id, "epics:nt/NTEnum:1.0");
    assert.equal(sw.get("value.index"), 1);
    assert.deepEqual(sw.get("value.choices"), ["Off", "On", "Auto"]);
    const img = await c.get("lb:img");
    assert.equal(img.type.id, "epics:nt/NTNDArray:1.0");
    const u = img.get("value") as { index: number; name: string; value: { value: unknown } };
    assert.equal(u.name, "ushortValue");
    assert.deepEqual([...(u.value!.value as Uint16Array)], [1, 2, 3, 4, 5, 6]);
    const only = await c.get("lb:dbl", { request: "field(value)" });
    assert.deepEqual(only.changedPaths(), ["value"]);
    const info = await c.info("lb:dbl");
    assert.equal(info.type.id, "epics:nt/NTScalar:1.0");
  });
});

Deno.test("loopback: puts of values, fields, enums and arrays; a refused put", async () => {
  await withServer(async (env) => {
    await using c = new PvaClient({ env });
    await c.put("lb:dbl", 7.25);
    assert.equal((await c.get("lb:dbl")).get("value"), 7.25);
    await c.put("lb:i32", { value: 7 });
    assert.equal((await c.get("lb:i32")).get("value"), 7);
    await c.put("lb:sw", "Auto");
    assert.equal((await c.get("lb:sw")).get("value.index"), 2);
    await c.put("lb:sw", 0);
    assert.equal((await c.get("lb:sw")).get("value.index"), 0);
    await c.put("lb:wf", "[4, 5, 6, 7]");
    assert.deepEqual([...(await c.get("lb:wf")).get("value") as Float64Array], [4, 5, 6, 7]);
    await c.put("lb:str", "two words");
    assert.equal((await c.get("lb:str")).get("value"), "two words");
    const ro = (await c.get("lb:ro")).get("value");
    await assert.rejects(c.put("lb:ro", 1), PvaStatusError);
    assert.equal((await c.get("lb:ro")).get("value"), ro, "a refused put changes nothing");
    await assert.rejects(c.put("lb:sw", "Nope"), /not one of/);
    assert.equal((await c.get("lb:sw")).get("value.index"), 0, "a refused put changes nothing");
  });
});

Deno.test("loopback: a PV nobody serves is not found", async () => {
  await withServer(async (env) => {
    await using c = new PvaClient({ env });
    await assert.rejects(c.get("lb:nope", { timeout: 0.3 }), ChannelNotFoundError);
  });
});

Deno.test("loopback: getMany and putMany: results in order, missing and refused PVs", async () => {
  await withServer(async (env) => {
    await using c = new PvaClient({ env });
    const names = ["lb:dbl", "lb:nope", "lb:sw", "lb:dbl", "lb:ro", "lb:str"];
    const seen: number[] = [];
    const put = await c.putMany(names, [3.5, 1, "Auto", 4.5, 9, "x y"], {
      timeout: 1,
      onProgress: (n) => seen.push(n),
    });
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    assert.equal(put[0], undefined);
    assert.ok(put[1] instanceof ChannelNotFoundError, String(put[1]));
    assert.equal(put[2], undefined);
    assert.equal(put[3], undefined);
    assert.ok(put[4] instanceof PvaStatusError, String(put[4]));
    assert.equal(put[5], undefined);
    const got = await c.getMany(names, { request: "field(value)", timeout: 1 });
    assert.equal(got.length, names.length);
    assert.ok(got[1] instanceof ChannelNotFoundError);
    const v = (i: number, f = "value") => {
      const g = got[i];
      assert.ok(!(g instanceof Error), String(g));
      return g.get(f);
    };
    assert.ok([3.5, 4.5].includes(v(0) as number)); // both puts went out together
    assert.equal(v(0), v(3));
    assert.equal(v(2, "value.index"), 2);
    assert.equal(v(4), 5, "the refused put changed nothing");
    assert.equal(v(5), "x y");
    // A bad value fails that PV only; the others are written.
    const bad = await c.putMany(["lb:sw", "lb:i32"], ["Nope", 8], { timeout: 1 });
    assert.match(String(bad[0]), /not one of/);
    assert.equal(bad[1], undefined);
    assert.equal((await c.get("lb:i32")).get("value"), 8);
    assert.deepEqual(await c.getMany([]), []);
    await assert.rejects(c.putMany(["lb:i32"], []), /1 names but 0 values/);
  });
});

Deno.test("loopback: monitor gets the first value, then updates", async () => {
  await withServer(async (env, map) => {
    await using c = new PvaClient({ env });
    const seen: number[] = [];
    let wake = () => {};
    const sub = c.monitor("lb:i32", (ev) => {
      if (ev.kind === "data") {
        seen.push(ev.value.get("value") as number);
        wake();
      }
    }, { pipeline: true, queueSize: 4 });
    const until = async (pred: () => boolean, what: string) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Timed out waiting for ${what}: ${seen}`)),
          20_000,
        );
      });
      try {
        while (!pred()) await Promise.race([new Promise<void>((r) => wake = r), deadline]);
      } finally {
        clearTimeout(timer);
      }
    };
    await until(() => seen.length >= 1, "the first value");
    const pv = map.lookup("lb:i32") as SharedPV;
    for (let i = 1; i <= 10; i++) pv.post(100 + i);
    // Intermediate updates may be squashed; the newest one must arrive.
    await until(() => seen.at(-1) === 110, "the last posted value");
    assert.equal(seen[0], 42);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `out of order: ${seen}`);
    await sub.close();
  });
});

for (const pipeline of [false, true]) {
  Deno.test(`loopback: a monitor is re-established after the server restarts (pipeline=${pipeline})`, async () => {
    const map = new PvMap(pvs());
    let server = await PvaServer.start({ provider: map, config: config() });
    const tcpPort = server.tcpPort, udpPort = server.udpPort;
    const env = { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_ADDR_LIST: `127.0.0.1:${udpPort}` };
    try {
      await using c = new PvaClient({ env });
      const events: MonitorEvent["kind"][] = [];
      const values: number[] = [];
      let wake = () => {};
      // A small window: with pipeline, updates stop after 2 unless acks flow again.
      const sub = c.monitor("lb:i32", (ev) => {
        events.push(ev.kind);
        if (ev.kind === "data") values.push(ev.value.get("value") as number);
        wake();
      }, { pipeline, queueSize: 2 });
      const until = async (pred: () => boolean) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`stalled: ${events} ${values}`)), 20_000);
        });
        try {
          while (!pred()) await Promise.race([new Promise<void>((r) => wake = r), deadline]);
        } finally {
          clearTimeout(timer);
        }
      };
      await until(() => events.includes("data"));
      await server.close();
      await until(() => events.includes("disconnected"));
      server = await PvaServer.start({
        provider: map,
        config: config({ serverPort: tcpPort, broadcastPort: udpPort }),
      });
      const before = events.length;
      await until(() => events.slice(before).includes("data"));
      // One "disconnected" per loss, then the monitor is made again.
      assert.deepEqual(events.slice(0, before + 2), [
        "connected",
        "data",
        "disconnected",
        "connected",
        "data",
      ]);
      // Updates keep coming after the restart, well past the window.
      const pv = map.lookup("lb:i32") as SharedPV;
      for (let i = 1; i <= 8; i++) {
        pv.post(200 + i);
        await until(() => values.at(-1) === 200 + i);
      }
      await sub.close();
    } finally {
      await server.close();
    }
  });
}

Deno.test("loopback: pvget prints pvAccessCPP's NT lines", async () => {
  await withServer(async (env) => {
    const c = io(env);
    assert.equal(await pvget(["lb:dbl", "lb:wf", "lb:sw", "lb:str"], c.io), 0);
    assert.equal(
      c.out,
      "lb:dbl 2024-05-01 12:34:56.789  21.5 \n" +
        "lb:wf  2024-05-01 12:34:56.789  [1.5,2.5,3.5]\n" +
        "lb:sw  2024-05-01 12:34:56.789  (1) On\n" +
        'lb:str 2024-05-01 12:34:56.789  "hello world" \n',
    );
    const j = io(env);
    assert.equal(await pvget(["-M", "json", "-r", "field(value)", "lb:dbl"], j.io), 0);
    assert.equal(j.out, "lb:dbl {value:21.5}\n"); // JSON5, as pvAccessCPP's pvget prints it
    const nf = io(env);
    assert.equal(await pvget(["-w", "0.3", "lb:nope"], nf.io), 1);
    assert.equal(nf.err, "Timeout\n"); // as pvAccessCPP's pvget reports it
  });
});

Deno.test("loopback: pvput prints Old and New; pvinfo prints the type", async () => {
  await withServer(async (env, _map, server) => {
    const c = io(env);
    assert.equal(await pvput(["lb:sw", "Auto"], c.io), 0);
    assert.equal(
      c.out,
      "Old : 2024-05-01 12:34:56.789  (1) On\nNew : 2024-05-01 12:34:56.789  (2) Auto\n",
    );
    const e = io(env);
    assert.equal(await pvput(["lb:ro", "1"], e.io), 1);
    assert.match(e.err, /^Error: /);
    const i = io(env);
    assert.equal(await pvinfo(["lb:i32"], i.io), 0);
    assert.ok(i.out.startsWith(`lb:i32\nServer: 127.0.0.1:${server.tcpPort}\nType:\n`));
    assert.ok(i.out.includes("\n    epics:nt/NTScalar:1.0\n        int value\n"));
    assert.ok(i.out.endsWith("\n\n"));
  });
});

Deno.test("loopback: one-call pvget/pvput/pvinfo/pvmonitor return plain objects", async () => {
  await withServer(async (env) => {
    const v = await pvgetApi("lb:wf", { env });
    assert.ok(v.value instanceof Float64Array);
    assert.equal((v.alarm as Record<string, unknown>).severity, 0);
    // A request selects what comes back: nothing the server did not send.
    assert.deepEqual(await pvgetApi("lb:dbl", { env, request: "field(value,alarm)" }), {
      value: 21.5,
      alarm: { severity: 0, status: 0, message: "" },
    });
    assert.deepEqual(
      await pvgetApi("lb:dbl", { env, request: "field(value,timeStamp.userTag)" }),
      { value: 21.5, timeStamp: { userTag: 0 } },
    );
    await pvputApi("lb:sw", "Off", { env });
    assert.deepEqual((await pvgetApi("lb:sw", { env, request: "field(value)" })).value, {
      index: 0,
      choices: ["Off", "On", "Auto"],
    });
    assert.equal((await pvinfoApi("lb:i32", { env })).type.member("value")?.typeName, "int");
    let got: unknown;
    let wake = () => {};
    {
      await using _sub = pvmonitorApi("lb:i32", (x) => {
        got = x?.value;
        wake();
      }, { env });
      while (got === undefined) await new Promise<void>((r) => wake = r);
    }
    assert.equal(got, 42);
    // A monitor with a request gets the selected fields only.
    let first: unknown;
    {
      await using _sub = pvmonitorApi("lb:dbl", (x) => {
        first ??= x;
        wake();
      }, { env, request: "field(value,display.units)" });
      while (first === undefined) await new Promise<void>((r) => wake = r);
    }
    assert.deepEqual(first, { value: 21.5, display: { units: "degC" } });
  });
});
