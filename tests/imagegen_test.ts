/**
 * imagegen end to end on loopback: the image and row PVs decoded by our PVA client,
 * control PVs taking effect, rows over CA read by pyepics (libca), pvxs's pvxget on the
 * image where it is present, a stalled client not holding up the others, and the command.
 */
import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { serve, type Served } from "../lib/host/serve.ts";
import { rowStats } from "../lib/imagegen/frame.ts";
import { ImageGen, type ImageGenOptions } from "../lib/imagegen/imagegen.ts";
import { PvaClient } from "../lib/pva/client/mod.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { readNtNdArray } from "../lib/pva/nt/mod.ts";
import { main } from "../cli/imagegen.ts";
import type { CliIO } from "../cli/_io.ts";
import { findTool, run } from "./_pva_server_tools.ts";
import { LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";
import { startTestRepeater } from "./_helpers/ca_repeater.ts";

const config = epicsConfigFrom({ ...LOOPBACK_ENV });

async function until(what: string, cond: () => boolean, ms = 20000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Rig extends AsyncDisposable {
  gen: ImageGen;
  server: Served;
  client: PvaClient;
  pvaEnv: Record<string, string>;
}

/** An ImageGen (not started: tests call step()) served on free ports, and a client. */
async function rig(opts: ImageGenOptions): Promise<Rig> {
  const gen = new ImageGen({ prefix: "t:", rows: 20, cols: 30, rate: 0, seed: 3, ...opts });
  const server = await serve({ pvs: gen.pvs, config, caPort: 0, pvaPort: 0 });
  const pvaEnv = {
    EPICS_PVA_AUTO_ADDR_LIST: "NO",
    EPICS_PVA_NAME_SERVERS: `127.0.0.1:${server.pva!.tcpPort}`,
  };
  const client = new PvaClient({ env: pvaEnv });
  return {
    gen,
    server,
    client,
    pvaEnv,
    async [Symbol.asyncDispose]() {
      await gen.stop();
      await client.close();
      await server.close();
    },
  };
}

Deno.test("imagegen: the image is an NTNDArray with dimension, uniqueId, times, codec, attributes", async () => {
  await using r = await rig({});
  const f = r.gen.step();
  r.gen.step();
  const g = r.gen.step();
  const img = readNtNdArray(await r.client.get("t:image"));
  assert.equal(img.valueType, "shortValue");
  assert.deepEqual(img.dimension.map((d) => d.size), [30, 20], "width first, then height");
  assert.equal(img.uniqueId, g.number);
  assert.equal(img.uniqueId, f.number + 2, "uniqueId counts frames");
  assert.equal(img.codec, "");
  assert.equal(img.compressedSize, 20 * 30 * 2);
  assert.equal(img.uncompressedSize, 20 * 30 * 2);
  assert.deepEqual([...(img.value as Int16Array)], [...g.pixels]);
  assert.deepEqual(img.dataTimeStamp, img.timeStamp);
  const age = Date.now() / 1000 - (img.timeStamp.secPastEpoch + 631152000);
  assert(age >= -1 && age < 60, `timeStamp is now (${age} s ago)`);
  const attr = Object.fromEntries(img.attributes.map((a) => [a.name, a.value]));
  assert.equal(attr.ColorMode, 0);
  assert.equal(attr.FrameNumber, g.number);
  assert(typeof attr.GenerationTime === "number" && attr.GenerationTime >= 0);
});

Deno.test("imagegen: control PVs change the next frame; out-of-range puts are refused", async () => {
  await using r = await rig({});
  r.gen.step();
  await r.client.put("t:nCols", 12);
  await r.client.put("t:nRows", 6);
  await r.client.put("t:noiseLevel", 0);
  await r.client.put("t:nBlobsX", 1);
  await r.client.put("t:nBlobsY", 1);
  await r.client.put("t:blobMax", 700);
  assert.equal(r.gen.params.nCols, 12);
  const f = r.gen.step();
  assert.deepEqual([f.nRows, f.nCols, f.pixels.length], [6, 12, 72]);
  assert.equal(Math.max(...f.pixels), 700, "no noise: the blob peak is blobMax");
  const img = readNtNdArray(await r.client.get("t:image"));
  assert.deepEqual(img.dimension.map((d) => d.size), [12, 6]);
  await assert.rejects(() => r.client.put("t:nCols", 31), /outside the control limits/);
  await assert.rejects(() => r.client.put("t:blobSigmaX", 0), /outside the control limits/);
  assert.equal(r.gen.params.nCols, 12, "a refused put changes nothing");
});

Deno.test("imagegen: rate, running and the statistics PVs", async () => {
  await using r = await rig({ rate: 200 });
  r.gen.start();
  await until("frames", () => r.gen.frameCount >= 5);
  await until("a statistics tick", () => r.gen.stats.frameRate > 0);
  const rate = (await r.client.get("t:frameRate")).get("value") as number;
  assert(rate > 0, `frameRate ${rate}`);
  await r.client.put("t:running", 0);
  const paused = r.gen.frameCount;
  await until("a tick showing the pause", () => r.gen.stats.frameRate === 0, 5000);
  assert.equal(r.gen.frameCount, paused, "no frames while paused");
  await r.client.put("t:rate", 1000);
  await r.client.put("t:running", 1);
  await until("frames again", () => r.gen.frameCount > paused + 5);
});

Deno.test("imagegen -g r: each row PV carries its row of the frame, ids increasing", async () => {
  await using r = await rig({ mode: "rows" });
  assert.equal(r.gen.rows.length, 20);
  const seen: number[] = [];
  let last: Int16Array | undefined;
  const sub = r.client.monitor("t:row7", (ev) => {
    if (ev.kind !== "data") return;
    const nd = readNtNdArray(ev.value);
    seen.push(nd.uniqueId);
    last = (nd.value as Int16Array).slice();
    assert.deepEqual(nd.dimension.map((d) => d.size), [30]);
  });
  await until("the first row update", () => seen.length >= 1);
  let f = r.gen.step();
  for (let i = 0; i < 9; i++) f = r.gen.step();
  await until("the last frame's row", () => seen.at(-1) === f.number);
  for (let i = 1; i < seen.length; i++) assert(seen[i] > seen[i - 1], `ids ${seen}`);
  assert.deepEqual([...last!], [...f.pixels.subarray(7 * 30, 8 * 30)]);
  await sub.close();
});

Deno.test("imagegen -g s: per-row mean, std and peak-to-peak PVs", async () => {
  await using r = await rig({ mode: "stats" });
  const f = r.gen.step();
  const want = { mean: new Float32Array(20), std: new Float32Array(20), p2p: new Float32Array(20) };
  rowStats(f.pixels, 30, want);
  for (const i of [0, 9, 19]) {
    assert.equal((await r.client.get(`t:mean${i}`)).get("value"), want.mean[i]);
    assert.equal((await r.client.get(`t:std${i}`)).get("value"), want.std[i]);
    assert.equal((await r.client.get(`t:peak2peak${i}`)).get("value"), want.p2p[i]);
  }
});

// ---- pyepics (libca) reads rows over CA -----------------------------------------------------

const PYTHON = "/usr/bin/python3";
function pyepicsProblem(): string | undefined {
  try {
    const r = new Deno.Command(PYTHON, { args: ["-c", "import epics"], stderr: "piped" })
      .outputSync();
    return r.success ? undefined : new TextDecoder().decode(r.stderr).trim().split("\n").pop();
  } catch (e) {
    return (e as Error).message;
  }
}
const PY_PROBLEM = pyepicsProblem();
const IN_CI = Boolean(Deno.env.get("CI"));

Deno.test({
  name: `imagegen: pyepics reads the rows and the image over CA${
    PY_PROBLEM && !IN_CI ? ` (skipped: pyepics unavailable: ${PY_PROBLEM})` : ""
  }`,
  ignore: PY_PROBLEM !== undefined && !IN_CI,
  async fn() {
    if (PY_PROBLEM) throw new Error(`pyepics is required in CI: ${PY_PROBLEM}`);
    await using r = await rig({ mode: "rows" });
    const f = r.gen.step();
    const script = `
import json, epics
rows = [epics.caget("t:row%d" % i, timeout=10, use_monitor=False) for i in (0, 5, 19)]
img = epics.caget("t:image", timeout=10, use_monitor=False)
pv = epics.PV("t:row5"); pv.wait_for_connection(10)
print("RESULT " + json.dumps({"rows": [x.tolist() for x in rows], "image": img.tolist(),
      "ftype": epics.ca.field_type(pv.chid), "count": pv.nelm}))
`;
    const ca = r.server.ca!;
    // libca registers with ours instead of starting a caRepeater that outlives the test.
    await using rep = startTestRepeater();
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", script],
      env: {
        ...LOOPBACK_ENV,
        EPICS_CA_ADDR_LIST: `127.0.0.1:${ca.udpPort}`,
        ...rep.env,
      },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const line = text.split("\n").find((l) => l.startsWith("RESULT "));
    assert(line, `no result: ${text} ${new TextDecoder().decode(out.stderr)}`);
    const got = JSON.parse(line.slice(7));
    const row = (i: number) => [...f.pixels.subarray(i * 30, (i + 1) * 30)];
    assert.deepEqual(got.rows, [row(0), row(5), row(19)]);
    assert.deepEqual(got.image, [...f.pixels]);
    assert.equal(got.ftype, 1, "DBF_SHORT");
    assert.equal(got.count, 30);
  },
});

// ---- pvxs's pvxget decodes the NTNDArray ------------------------------------------------------

const pvxget = findTool("pvxget", ["/opt/epics/bin", "/opt/epics/pvxs/bin/linux-x86_64"]);
Deno.test({
  name: `imagegen: pvxs pvxget decodes the image${pvxget ? "" : " (skipped: pvxget not found)"}`,
  ignore: !pvxget,
  async fn() {
    await using r = await rig({});
    const f = r.gen.step();
    const res = await run(pvxget!, ["-w", "5", "t:image"], {
      ...LOOPBACK_ENV,
      EPICS_PVA_ADDR_LIST: `127.0.0.1:${r.server.pva!.udpPort}`,
      EPICS_PVA_BROADCAST_PORT: String(r.server.pva!.udpPort),
    });
    assert.equal(res.code, 0, res.stderr);
    // pvxget's delta format: "uniqueId int32_t = 1", "dimension[0].size int32_t = 30"...
    assert.match(res.stdout, new RegExp(`uniqueId int32_t = ${f.number}\n`));
    assert.match(res.stdout, /value->shortValue int16_t\[\] = \{600\}/);
    assert.match(res.stdout, /dimension\[0\]\.size int32_t = 30\n/);
    assert.match(res.stdout, /dimension\[1\]\.size int32_t = 20\n/);
    assert.match(res.stdout, /codec\.name string = ""\n/);
    assert.match(res.stdout, /compressedSize int64_t = 1200\n/);
    assert.match(res.stdout, /attribute\[1\]\.name string = "FrameNumber"\n/);
  },
});

// ---- a stalled client --------------------------------------------------------------------------

Deno.test("imagegen: a client that stops reading does not hold up another or grow the server", async () => {
  await using r = await rig({ mode: "rows", rows: 200, cols: 500 });
  // The stalled client: our pvmonitor on every row, its stdout never read, so it blocks
  // writing to the pipe and stops reading its socket.
  const names = r.gen.rows.map((pv) => pv.name);
  const slow = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}/cli/pvmonitor.ts`, ...names],
    env: { ...LOOPBACK_ENV, ...r.pvaEnv },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    let last = -1;
    const sub = r.client.monitor("t:row199", (ev) => {
      if (ev.kind === "data") last = readNtNdArray(ev.value).uniqueId;
    }, { pipeline: true, queueSize: 4 });
    const conns = () => r.server.pva!.connectionStats();
    // pvmonitor may block on its pipe before it has subscribed to every row: some will do.
    const slowRows = () => r.gen.rows.filter((pv, i) => i < 199 && pv.listenerCount > 0).length;
    // (A client may hold a second connection: the one its name-server search used.)
    await until("both clients", () => conns().length >= 2 && last >= 0 && slowRows() >= 10, 60000);
    r.gen.start();
    const stalled = () => conns().some((c) => c.writing && c.queuedUpdates >= 10);
    await until("the slow client to stall", stalled, 60000);
    let maxQueued = 0, maxBuffer = 0;
    const f0 = r.gen.frameCount;
    await until("the fast client to see 30 more frames", () => {
      for (const c of conns()) {
        maxQueued = Math.max(maxQueued, c.queuedUpdates);
        maxBuffer = Math.max(maxBuffer, c.bufferBytes);
      }
      return last >= f0 + 30;
    }, 60000);
    assert(maxQueued <= 200 * 4, `at most queueSize updates per row wait (${maxQueued})`);
    assert(maxBuffer <= 4 << 20, `output buffers stay bounded (${maxBuffer} bytes)`);
    assert(stalled(), "the slow client was stalled all along");
    // Producers pacing on busyConnections(ms) (imagegen -r 0) leave the stalled one out.
    const pva = r.server.pva!;
    await until(
      "the stall to be excluded",
      () => pva.busyConnections() - pva.busyConnections(200) >= 1,
    );
    await sub.close();
  } finally {
    slow.kill("SIGKILL");
    await slow.status;
    await slow.stdout.cancel().catch(() => {});
  }
});

// ---- the command ---------------------------------------------------------------------------------

function captured(
  env: Record<string, string> = {},
): { io: CliIO; out: { o: string; e: string }; stop(): void } {
  const out = { o: "", e: "" };
  const ac = new AbortController();
  return {
    io: {
      stdout: (t) => out.o += t,
      stderr: (t) => out.e += t,
      env: { ...LOOPBACK_ENV, ...env },
      signal: ac.signal,
    },
    out,
    stop: () => ac.abort(),
  };
}

Deno.test("imagegen command: bad options are usage errors", async () => {
  for (
    const args of [["-s", "10"], ["-g", "x"], ["-t", "int64"], ["-r", "-1"], ["--row-form", "x"]]
  ) {
    const c = captured();
    assert.equal(await main(args, c.io), 2, args.join(" "));
    assert.match(c.out.e, /^imagegen: /);
  }
});

Deno.test("imagegen command: serves rows over PVA and prints statistics (text and JSON)", async () => {
  for (const json of [false, true]) {
    const c = captured();
    const args = [
      "-p",
      "c:",
      "-s",
      "8,16",
      "-g",
      "r",
      "-r",
      "50",
      "--ca-port",
      "0",
      "--pva-port",
      "0",
    ];
    const done = main(json ? [...args, "--json"] : args, c.io);
    try {
      await until("the serving line", () => /PVA on TCP port (\d+)/.test(c.out.e));
      const port = /PVA on TCP port (\d+)/.exec(c.out.e)![1];
      await using client = new PvaClient({
        env: { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_NAME_SERVERS: `127.0.0.1:${port}` },
      });
      const row = readNtNdArray(await client.get("c:row3"));
      assert.equal((row.value as Int16Array).length, 16);
      await until(
        "a statistics line",
        () => json ? /\{"frameRate"/.test(c.out.e) : /frames\/s/.test(c.out.e),
      );
      if (json) {
        const line = c.out.e.split("\n").find((l) => l.startsWith("{"))!;
        const s = JSON.parse(line);
        assert(typeof s.frameRate === "number" && typeof s.networkMBps === "number");
      }
    } finally {
      c.stop();
      assert.equal(await done, 0);
    }
  }
});

// ---- the helper PVs of pvserve under imagegen's prefix --------------------------------------------

/** Starts the command in-process on free ports; resolves with its ports once it serves. */
async function startCommand(args: string[]) {
  const c = captured();
  const done = main([...args, "-q", "--ca-port", "0", "--pva-port", "0"], c.io);
  let ended = false;
  done.finally(() => ended = true);
  const re = /CA on TCP port (\d+)\) \(PVA on TCP port (\d+)\)/;
  await until("the serving line", () => {
    if (ended) throw new Error(`imagegen ended early:\n${c.out.e}`);
    return re.test(c.out.e);
  });
  const m = re.exec(c.out.e)!;
  const pva = new PvaClient({
    env: { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_NAME_SERVERS: `127.0.0.1:${m[2]}` },
  });
  return { c, done, ca: Number(m[1]), pva };
}

async function untilAsync(what: string, cond: () => Promise<boolean>, ms = 20000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("imagegen command: pvserve's helper PVs under the prefix over PVA and CA; server Stop/Start pause and resume; Exit ends it", async () => {
  const r = await startCommand(["-p", "h:", "-s", "4,8", "-r", "50"]);
  let exited = false;
  try {
    const v = async (name: string, field = "value") => (await r.pva.get(name)).get(field);
    assert.equal(await v("h:PROCESS_ID"), Deno.pid, "PROCESS_ID is this process");
    const beat = await v("h:HEARTBEAT") as number;
    await untilAsync("HEARTBEAT to count", async () => (await v("h:HEARTBEAT") as number) > beat);
    assert.equal(await v("h:status"), "Started");
    assert.match(await v("h:VERSION") as string, /epics-ts/);
    // The generator's own PVs are still there, beside the helpers.
    assert.equal(await v("h:running", "value.index"), 1);
    {
      await using ctx = new CaContext({
        repeater: false,
        config: epicsConfigFrom({
          EPICS_CA_AUTO_ADDR_LIST: "NO",
          EPICS_CA_ADDR_LIST: `127.0.0.1:${r.ca}`,
        }).ca,
      });
      const hb = ctx.channel("h:HEARTBEAT");
      const pid = ctx.channel("h:PROCESS_ID");
      await hb.connected(5);
      await pid.connected(5);
      assert.equal((await pid.get()).data.value[0], Deno.pid);
      const b0 = (await hb.get()).data.value[0] as number;
      await untilAsync(
        "HEARTBEAT to count over CA",
        async () => ((await hb.get()).data.value[0] as number) > b0,
      );
    }
    // server Stop pauses the generator (running shows Paused, frames stop), Start resumes it.
    await r.pva.put("h:server", "Stop");
    assert.equal(await v("h:running", "value.index"), 0);
    assert.equal(await v("h:status"), "Stopped");
    const frame = async () => readNtNdArray(await r.pva.get("h:image")).uniqueId;
    const f0 = await frame();
    // A frame may have been on its way; after that none comes while paused.
    await new Promise((res) => setTimeout(res, 200));
    const f1 = await frame();
    assert(f1 <= f0 + 1, `paused: frame ${f0} then ${f1}`);
    await r.pva.put("h:server", "Start");
    assert.equal(await v("h:running", "value.index"), 1);
    await untilAsync("frames after Start", async () => (await frame()) > f1 + 2);
    // Pausing through running shows on server.
    await r.pva.put("h:running", 0);
    assert.equal(await v("h:server", "value.index"), 1, "server shows Stop");
    await r.pva.put("h:running", 1);
    assert.equal(await v("h:server", "value.index"), 0, "server shows Start");
    // Exit ends the command cleanly, without a signal.
    await r.pva.put("h:server", "Exit");
    assert.equal(await r.done, 0);
    exited = true;
    assert.match(r.c.out.e, /server PV set to Exit/);
  } finally {
    await r.pva.close();
    if (!exited) {
      r.c.stop();
      await r.done;
    }
  }
});

Deno.test("imagegen command: --no-helpers serves the generator's PVs without the helper PVs", async () => {
  const r = await startCommand(["-p", "n:", "-s", "4,8", "--no-helpers"]);
  try {
    assert.equal((await r.pva.get("n:running")).get("value.index"), 1);
    for (const name of ["n:HEARTBEAT", "n:server", "n:PROCESS_ID"]) {
      await assert.rejects(
        r.pva.get(name, { timeout: 0.5 }),
        /Cannot find channel/,
        `${name} is absent`,
      );
    }
  } finally {
    await r.pva.close();
    r.c.stop();
    assert.equal(await r.done, 0);
  }
});
