/**
 * Our client against recorded softIocPVX sessions: the bytes our client sends must be
 * the bytes pvxs' client sent (same IDs, same messages, same order), and the values it
 * decodes must be the ones the pvxs tool printed (checked through the CLI replay test).
 */
import assert from "node:assert/strict";
import { toHex } from "../lib/core/bytes.ts";
import { type Recording, type ReplayServer, startReplayServer } from "../lib/pva/client/_replay.ts";
import { PvaClient } from "../lib/pva/client/client.ts";
import { applyPutArgs } from "../lib/pva/client/put_value.ts";
import { pvget as pvgetApi, pvmonitor as pvmonitorApi } from "../lib/pva/client/mod.ts";
import type { PvValue } from "../lib/pva/proto/value.ts";

const DIR = new URL("../../shared/vectors/pva/", import.meta.url);

function load(name: string): Recording {
  return JSON.parse(Deno.readTextFileSync(new URL(`${name}.json`, DIR)));
}

function words(cmd: string): string[] {
  return [...cmd.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

function client(udpPort: number): PvaClient {
  // pvxs sent an empty user and host in these recordings.
  return new PvaClient({
    env: { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_ADDR_LIST: `127.0.0.1:${udpPort}` },
    user: "",
    host: "",
  });
}

/**
 * Waits until the server has all the client wrote: the client closed its connections
 * first, so that is when the server has seen every one end (20 s backstop).
 */
async function settle(srv: ReplayServer): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      srv.clientsGone(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("the client did not close its connection")),
          20_000,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for a condition that client callbacks make true (20 s backstop). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + 20_000;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The recordings, or none when ../shared/vectors/pva is absent (then every test here is ignored). */
function listRecordings(): string[] | undefined {
  try {
    return [...Deno.readDirSync(DIR)].map((e) => e.name.replace(/\.json$/, "")).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

const recorded = listRecordings();
const names = recorded ?? [];
const ignore = recorded === undefined;

// Reported as ignored (not passed) when the recordings are missing.
if (ignore) {
  Deno.test({
    name: "pvxs client replay: ../shared/vectors/pva is absent, so the replay is skipped",
    ignore: true,
    fn() {},
  });
}

for (const name of names.filter((n) => n.startsWith("pvxget_") && n !== "pvxget_not_found")) {
  Deno.test(`client bytes equal pvxget's: ${name}`, async () => {
    const rec = load(name);
    await using srv = startReplayServer(rec);
    const args = words(rec.command).slice(1);
    const r = args.indexOf("-r");
    const request = r >= 0 ? args[r + 1] : "";
    const pvs = args.filter((a, i) =>
      !a.startsWith("-") && args[i - 1] !== "-r" && args[i - 1] !== "-F"
    );
    {
      await using c = client(srv.udpPort);
      const values = await Promise.all(pvs.map((pv) => c.get(pv, { request })));
      // Every get decoded the fields the server sent (the printed text is checked by the
      // CLI replay test).
      for (const [i, v] of values.entries()) {
        assert.ok(v.changedPaths().length > 0, `${pvs[i]}: no field decoded`);
      }
    }
    await settle(srv);
    assert.equal(toHex(srv.clientBytes()), toHex(srv.recordedClientBytes()));
  });
}

for (const name of names.filter((n) => n.startsWith("pvxinfo_"))) {
  Deno.test(`client bytes equal pvxinfo's: ${name}`, async () => {
    const rec = load(name);
    await using srv = startReplayServer(rec);
    {
      await using c = client(srv.udpPort);
      const info = await c.info(words(rec.command)[1]);
      assert.equal(info.server, `127.0.0.1:${srv.tcpPort}`);
    }
    await settle(srv);
    assert.equal(toHex(srv.clientBytes()), toHex(srv.recordedClientBytes()));
  });
}

for (
  const name of ignore
    ? []
    : ["pvxput_ao", "pvxput_array", "pvxput_field", "pvxput_str", "pvxput_readonly"]
) {
  Deno.test(`client bytes equal pvxput's: ${name}`, async () => {
    const rec = load(name);
    await using srv = startReplayServer(rec);
    const [, pv, ...vals] = words(rec.command);
    {
      await using c = client(srv.udpPort);
      const done = c.put(pv, (v: PvValue) => applyPutArgs(v, vals));
      if (rec.exit === 0) await done;
      else await assert.rejects(done, /Put not permitted/);
    }
    await settle(srv);
    assert.equal(toHex(srv.clientBytes()), toHex(srv.recordedClientBytes()));
  });
}

Deno.test(
  "enum put by choice name sends the index pvxs would have sent as a number",
  { ignore },
  async () => {
    // pvxput refused "2" for T:mbbo and sent no PUT: the recording stops after GET-PUT.
    // Our put of "Two" must reach the same point and then send value.index = 2.
    const rec = load("pvxput_enum");
    await using srv = startReplayServer(rec);
    {
      await using c = client(srv.udpPort);
      const done = c.put("T:mbbo", "Two", { timeout: 0.5 });
      await assert.rejects(done);
    }
    await settle(srv);
    const sent = toHex(srv.clientBytes());
    const recorded = toHex(srv.recordedClientBytes());
    // Everything up to (not including) the DESTROY_REQUEST matches; then our PUT follows:
    // sid, ioid, subcmd 0, BitSet {2} (value.index), int 2.
    const destroy = "ca02000f080000000103050700200010";
    assert.ok(recorded.endsWith(destroy));
    const prefix = recorded.slice(0, -destroy.length);
    assert.ok(sent.startsWith(prefix));
    assert.equal(sent.slice(prefix.length), "ca02000b0f000000010305070020001000010402000000");
  },
);

for (const name of names.filter((n) => n.startsWith("pvxmonitor_"))) {
  Deno.test(`client bytes equal pvxmonitor's: ${name}`, async () => {
    const rec = load(name);
    await using srv = startReplayServer(rec);
    const args = words(rec.command).slice(3);
    const r = args.indexOf("-r");
    const request = r >= 0 ? args[r + 1] : "";
    const pvs = args.filter((a, i) => !a.startsWith("-") && args[i - 1] !== "-r");
    let updates = 0;
    {
      await using c = client(srv.udpPort);
      for (const pv of pvs) {
        c.monitor(pv, (ev) => {
          if (ev.kind === "data") updates++;
        }, { request });
      }
      await srv.done;
      const want = (rec.stdout.match(/^T:/gm) ?? []).length;
      await until(() => updates >= want, `${want} updates`);
    }
    await settle(srv);
    assert.equal(updates, (rec.stdout.match(/^T:/gm) ?? []).length);
    assert.equal(toHex(srv.clientBytes()), toHex(srv.recordedClientBytes()));
  });
}

Deno.test(
  "pvget() returns only the fields pvxs' server sent for the request",
  { ignore },
  async () => {
    // softIocPVX answers field(...) with the whole NTScalar type and a BitSet of the
    // selected fields; the fields it did not select must not appear, not even as zeros.
    for (
      const [name, want] of [
        ["pvxget_request_value", { value: 3.14159 }],
        ["pvxget_request_alarm", {
          value: 3.14159,
          alarm: { severity: 0, status: 0, message: "" },
          timeStamp: { secondsPastEpoch: 1795260846n, nanoseconds: 897176085, userTag: 0 },
        }],
      ] as const
    ) {
      const rec = load(name);
      await using srv = startReplayServer(rec);
      const request = words(rec.command)[2];
      const env = {
        EPICS_PVA_AUTO_ADDR_LIST: "NO",
        EPICS_PVA_ADDR_LIST: `127.0.0.1:${srv.udpPort}`,
      };
      assert.deepEqual(await pvgetApi("T:ai", { env, user: "", host: "", request }), want);
      await settle(srv);
    }
  },
);

Deno.test(
  "pvmonitor() callbacks get every field sent so far, updates merged in",
  { ignore },
  async () => {
    const rec = load("pvxmonitor_calc");
    await using srv = startReplayServer(rec);
    const env = { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_ADDR_LIST: `127.0.0.1:${srv.udpPort}` };
    const got: { value: Record<string, unknown>; changed: string[] }[] = [];
    {
      await using _sub = pvmonitorApi("T:calc", (v, ev) => {
        if (v && ev.kind === "data") got.push({ value: v, changed: ev.value.changedPaths() });
      }, { env, user: "", host: "" });
      await srv.done;
      await until(() => got.at(-1)?.value.value === 5187, "the last recorded update");
    }
    await settle(srv);
    assert.ok(got.length >= 3);
    const [first, second] = got;
    // The first update is what pvxmonitor printed first: no valueAlarm.active, hysteresis...
    const keys = ["value", "alarm", "timeStamp", "display", "control", "valueAlarm"];
    assert.deepEqual(Object.keys(first.value), keys);
    assert.deepEqual(Object.keys(first.value.valueAlarm as object), [
      "lowAlarmLimit",
      "lowWarningLimit",
      "highWarningLimit",
      "highAlarmLimit",
    ]);
    assert.deepEqual(Object.keys(first.value.control as object), ["limitLow", "limitHigh"]);
    // Later ones change value and timeStamp only, yet carry the whole current content.
    assert.deepEqual(second.changed, [
      "value",
      "timeStamp.secondsPastEpoch",
      "timeStamp.nanoseconds",
      "timeStamp.userTag",
    ]);
    assert.deepEqual(Object.keys(second.value), keys);
    assert.equal(second.value.value, (first.value.value as number) + 1);
    assert.deepEqual(second.value.display, first.value.display);
    assert.deepEqual(got.at(-1)!.value.value, 5187);
  },
);
