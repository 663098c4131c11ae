/**
 * Outside this repository (no deno.json with `"unstable": ["net"]`) Deno has no
 * `Deno.listenDatagram`. The PVA and CA clients must then fail with a typed error that
 * says how to turn UDP on, not with "Deno.listenDatagram is not a function".
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** Runs `code` as a module with --no-config and without --unstable-net. */
async function runWithoutUnstableNet(code: string): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/probe.ts`;
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", "-A", file],
      env: {
        EPICS_PVA_AUTO_ADDR_LIST: "NO",
        EPICS_PVA_ADDR_LIST: "127.0.0.1:9",
        EPICS_CA_AUTO_ADDR_LIST: "NO",
        EPICS_CA_ADDR_LIST: "127.0.0.1:9",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return text;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("without --unstable-net the PVA client says to add it", async () => {
  const mod = new URL("lib/pva/client/mod.ts", ROOT).href;
  const out = await runWithoutUnstableNet(`
    import { PvaClient, pvget, pvmonitor } from ${JSON.stringify(mod)};
    const show = (e) => console.log(e.name + ": " + e.message);
    await pvget("X:1", { timeout: 1 }).catch(show);
    try { pvmonitor("X:1", () => {}); } catch (e) { show(e); }
    // A client with name servers only needs no UDP socket.
    await using c = new PvaClient({ env: {
      EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_ADDR_LIST: "", EPICS_PVA_NAME_SERVERS: "127.0.0.1:9",
    } });
    await c.get("X:1", { timeout: 0.2 }).catch((e) => console.log("name server: " + e.name));
  `);
  const msg = "LocalProtocolError: Cannot open the PVA search socket: Deno.listenDatagram is " +
    'unavailable; run with --unstable-net (or add "unstable": ["net"] to deno.json)';
  assert.equal(out, `${msg}\n${msg}\nname server: ChannelNotFoundError\n`);
});

Deno.test("without --unstable-net the CA client says to add it", async () => {
  const mod = new URL("lib/ca/client/mod.ts", ROOT).href;
  const out = await runWithoutUnstableNet(`
    import { caget } from ${JSON.stringify(mod)};
    await caget("X:1", { timeout: 1 }).catch((e) => console.log(e.name + ": " + e.message));
  `);
  assert.equal(
    out,
    "LocalProtocolError: Cannot open the CA search socket: Deno.listenDatagram is " +
      'unavailable; run with --unstable-net (or add "unstable": ["net"] to deno.json)\n',
  );
});
