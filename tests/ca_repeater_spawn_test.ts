/**
 * Like libca, a client that finds no CA repeater starts one as a separate process, so the
 * repeater (and the beacons it fans out to every client of the host) outlives that client.
 */
import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { freePort, LOOPBACK_ENV } from "./_helpers/pvserve.ts";

async function registerWith(port: number): Promise<boolean> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const reg = new Uint8Array(16);
    reg[1] = 24; // REPEATER_REGISTER
    await sock.send(reg, { transport: "udp", hostname: "127.0.0.1", port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = await Promise.race([
      sock.receive().then(([d]) => d),
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 2000)),
    ]);
    clearTimeout(timer);
    return reply !== undefined && ((reply[0] << 8) | reply[1]) === 17; // REPEATER_CONFIRM
  } finally {
    sock.close();
  }
}

Deno.test("CA client starts a repeater process that outlives it", async () => {
  const repeaterPort = freePort();
  const config = epicsConfigFrom({
    ...LOOPBACK_ENV,
    EPICS_CA_ADDR_LIST: `127.0.0.1:${freePort([repeaterPort])}`,
    EPICS_CA_REPEATER_PORT: String(repeaterPort),
  }).ca;
  const ctx = new CaContext({ config, repeater: true });
  const ch = ctx.channel("nobody:serves:this");
  for (let i = 0; i < 100 && !ctx.repeaterConfirmed; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(ctx.repeaterConfirmed, true, "the started repeater confirmed our registration");
  await ch.close();
  await ctx.close();
  // The client is gone; the repeater process still answers registrations.
  assert.equal(await registerWith(repeaterPort), true);
});
