/**
 * pvserve --autosave: restart restores (enums by index, so renamed choices still restore),
 * saves follow puts within the period and happen at a clean exit, and a kill -9 in the
 * middle of saving never leaves without a good file.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CaContext } from "../lib/ca/client/context.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { PvaClient } from "../lib/pva/client/client.ts";
import { checkSav } from "../lib/autosave/sav.ts";
import { readSavFile } from "../lib/autosave/files.ts";
import { main as pvserve } from "../cli/pvserve.ts";
import type { CliIO } from "../cli/_io.ts";
import { LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => T | Promise<T>, what: string, ms = 10_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

function freeUdpPort(): number {
  const s = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const p = (s.addr as Deno.NetAddr).port;
  s.close();
  return p;
}

function start(args: string[]) {
  const ac = new AbortController();
  const out = { stderr: "" };
  const io: CliIO = {
    stdout: () => {},
    stderr: (t) => out.stderr += t,
    env: { ...LOOPBACK_ENV, EPICS_PVAS_BROADCAST_PORT: String(freeUdpPort()) },
    signal: ac.signal,
  };
  const status = pvserve([...args, "--ca-port", "0", "--pva-port", "0"], io);
  let ended = false;
  status.finally(() => ended = true);
  const ready = until(() => {
    if (ended) throw new Error(`pvserve ended:\n${out.stderr}`);
    return /CA on TCP port (\d+)\) \(PVA on TCP port (\d+)\)/.exec(out.stderr);
  }, "pvserve to serve").then((m) => ({ ca: Number(m![1]), pva: Number(m![2]) }));
  return { out, status, ready, stop: () => ac.abort() };
}

function ca(port: number): CaContext {
  return new CaContext({
    repeater: false,
    user: "u",
    host: "h",
    config: epicsConfigFrom({
      EPICS_CA_AUTO_ADDR_LIST: "NO",
      EPICS_CA_ADDR_LIST: `127.0.0.1:${port}`,
      EPICS_CA_REPEATER_PORT: String(freeUdpPort()),
    }).ca,
  });
}

function yaml(choices: string): string {
  return `prefix: "as:"
pvs:
  - { name: setpoint, value: 25.0, features: W, limitLow: 0, limitHigh: 100 }
  - { name: mode, value: [${choices}], features: WD }
  - { name: note, value: "", features: W }
  - { name: gains, value: [1.0, 1.0, 1.0], features: W }
  - { name: readback, value: 0.0 }
`;
}

Deno.test("pvserve --autosave: saved after puts and at exit, restored at restart; enums by index", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "pvs.yaml");
    const sav = join(dir, "as.sav");
    await Deno.writeTextFile(file, yaml("Off, On, Auto"));
    const a = start(["-f", file, "--autosave", sav, "--autosave-period", "0.2"]);
    const p = await a.ready;
    {
      await using ctx = ca(p.ca);
      await ctx.channel("as:setpoint").put(42.5, { wait: true });
      await ctx.channel("as:mode").put("Auto", { wait: true });
      // Saved within the period after the put, while still serving.
      await until(async () => {
        try {
          return (await Deno.readTextFile(sav)).includes("as:mode 2");
        } catch {
          return false;
        }
      }, "a save after the puts");
      await ctx.channel("as:note").put("hello world", { wait: true });
      await ctx.channel("as:gains").put(new Float64Array([0.5, 2, 4]), { wait: true });
      await ctx.channel("as:sleep").put(0.25, { wait: true });
    }
    a.stop(); // a clean exit saves at once, without waiting for the period
    assert.equal(await a.status, 0);
    const text = await Deno.readTextFile(sav);
    assert.ok(checkSav(text).valid, text);
    assert.match(text, /^as:setpoint 42\.5$/m);
    assert.match(text, /^as:note hello world$/m);
    assert.match(text, /^as:gains @array@ \{ "0\.5" "2" "4" \}$/m);
    assert.match(text, /^as:sleep 0\.25$/m);
    assert.doesNotMatch(text, /as:readback|as:server|as:status|as:HEARTBEAT/);
    assert.ok((await Deno.stat(sav + "B")).isFile, "the previous good file is kept as .savB");

    // Renamed choices: the index comes back.
    await Deno.writeTextFile(file, yaml("Off, Manual, Automatic"));
    const b = start([file, "--autosave", sav]);
    const q = await b.ready;
    assert.match(b.out.stderr, /restored 6 PVs from /);
    {
      await using pva = new PvaClient({
        env: { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_NAME_SERVERS: `127.0.0.1:${q.pva}` },
      });
      assert.equal((await pva.get("as:setpoint")).get("value"), 42.5);
      assert.equal((await pva.get("as:mode")).get("value.index"), 2);
      assert.equal((await pva.get("as:note")).get("value"), "hello world");
      assert.deepEqual([...(await pva.get("as:gains")).get("value") as Float64Array], [0.5, 2, 4]);
      assert.ok(Math.abs(((await pva.get("as:sleep")).get("value") as number) - 0.25) < 1e-6);
    }
    b.stop();
    assert.equal(await b.status, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvserve --autosave: kill -9 while saving keeps a good file; restart restores a value that was put", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "pvs.yaml");
    const sav = join(dir, "k.sav");
    await Deno.writeTextFile(file, yaml("Off, On"));
    const put = new Set<number>([25]);
    for (let round = 0; round < 3; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          "--config",
          `${REPO_ROOT}/deno.json`,
          `${REPO_ROOT}/cli/pvserve.ts`,
          file,
          "--autosave",
          sav,
          "--autosave-period",
          "0.01",
          "--no-helpers",
          "--no-ca",
          "--pva-port",
          "0",
        ],
        env: { ...LOOPBACK_ENV, EPICS_PVAS_BROADCAST_PORT: String(freeUdpPort()), NO_COLOR: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let text = "";
      const reader = (async () => {
        const dec = new TextDecoder();
        for await (const c of child.stderr) text += dec.decode(c, { stream: true });
      })();
      const m = await until(() => /PVA on TCP port (\d+)/.exec(text), "the child to serve", 30_000);
      if (round > 0) assert.match(text, /restored \d+ PVs/);
      {
        await using pva = new PvaClient({
          env: { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_NAME_SERVERS: `127.0.0.1:${m![1]}` },
        });
        // The value restored is one that was put before (or the first value).
        const restored = (await pva.get("as:setpoint")).get("value") as number;
        assert.ok(put.has(restored), `restored ${restored}, one of the values put`);
        // A first put, and its save: a kill before any save has finished leaves no file
        // at all (on a loaded machine 150 ms of puts sometimes ended before the first save).
        let x = round * 1000;
        const first = (++x % 99) + 0.5;
        await pva.put("as:setpoint", first);
        put.add(first);
        await until(
          async () => {
            try {
              return (await readSavFile(sav)).doc.complete;
            } catch {
              return false;
            }
          },
          "a first save",
          30_000,
        );
        // Put continuously so saves keep running, then kill -9 at some point among them.
        const killAt = performance.now() + 150 + 100 * round;
        while (performance.now() < killAt) {
          const v = (++x % 99) + 0.5;
          await pva.put("as:setpoint", v);
          put.add(v);
        }
        child.kill("SIGKILL");
        await child.status;
        await reader;
      }
      // Whatever the moment: the .sav or its .savB is a complete save file.
      const r = await readSavFile(sav);
      assert.ok(r.doc.complete, `a complete file (${r.path})`);
      const v = Number(r.doc.records.find((e) => e.name === "as:setpoint")?.value);
      assert.ok(put.has(v), `saved ${v} was put`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
