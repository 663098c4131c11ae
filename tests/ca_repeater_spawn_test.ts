/**
 * Like libca, a client that finds no CA repeater starts one as a separate process, so the
 * repeater (and the beacons it fans out to every client of the host) outlives that client;
 * a client that finds one uses it; a second repeater on a taken port exits at once. The
 * spawned repeater is given a 1 s idle exit, and the test waits for it to go, so no process
 * is left behind. Waits are for conditions, with generous backstops (a busy machine may
 * take many seconds to start a deno process).
 */
import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { CaRepeater } from "../lib/ca/repeater.ts";
import { freePort, LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";

const BACKSTOP_MS = 60_000;

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + BACKSTOP_MS;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function registerWith(port: number): Promise<boolean> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const reg = new Uint8Array(16);
    reg[1] = 24; // REPEATER_REGISTER
    await sock.send(reg, { transport: "udp", hostname: "127.0.0.1", port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = await Promise.race([
      sock.receive().then(([d]) => d),
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), BACKSTOP_MS)),
    ]);
    clearTimeout(timer);
    return reply !== undefined && ((reply[0] << 8) | reply[1]) === 17; // REPEATER_CONFIRM
  } finally {
    sock.close();
  }
}

function udpPortFree(port: number): boolean {
  try {
    Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
    return true;
  } catch {
    return false;
  }
}

function contextFor(repeaterPort: number, repeaterIdleExit?: number): CaContext {
  const config = epicsConfigFrom({
    ...LOOPBACK_ENV,
    EPICS_CA_ADDR_LIST: `127.0.0.1:${freePort([repeaterPort])}`,
    EPICS_CA_REPEATER_PORT: String(repeaterPort),
  }).ca;
  return new CaContext({ config, repeater: true, repeaterIdleExit });
}

Deno.test("CA client starts a repeater process that outlives it and exits once idle", async () => {
  const repeaterPort = freePort();
  const ctx = contextFor(repeaterPort, 1);
  const ch = ctx.channel("nobody:serves:this");
  await waitFor(() => ctx.repeaterConfirmed, "the started repeater to confirm registration");
  await ch.close();
  await ctx.close();
  // The client is gone; the repeater process still answers registrations.
  assert.equal(await registerWith(repeaterPort), true);
  // Without live clients it exits after its idle time: the port comes free.
  await waitFor(() => udpPortFree(repeaterPort), "the idle repeater process to exit");
});

Deno.test("CA client uses the repeater already on its port and starts none", async () => {
  await using rep = CaRepeater.start(0, { hostname: "127.0.0.1" });
  const ctx = contextFor(rep.port);
  try {
    const ch = ctx.channel("nobody:serves:this");
    await waitFor(() => ctx.repeaterConfirmed, "the running repeater to confirm registration");
    assert.equal(rep.clientCount, 1);
    await ch.close();
  } finally {
    await ctx.close();
  }
});

Deno.test("ca-repeater on a taken port exits at once with status 0 and says nothing", async () => {
  await using rep = CaRepeater.start(0, { hostname: "127.0.0.1" });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}/cli/ca_repeater.ts`, "--port", String(rep.port)],
    env: LOOPBACK_ENV,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  assert.equal(dec.decode(out.stdout) + dec.decode(out.stderr), "");
  // The running repeater is untouched.
  assert.equal(await registerWith(rep.port), true);
});
