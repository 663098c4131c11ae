/**
 * Bad peers on the network: one host floods CA and PVA searches at the broadcast
 * address, another opens circuits that subscribe to a fast array and never read, and
 * sends garbage over TCP and UDP. The server keeps serving the good client on the client
 * host, quickly and in order, and its memory stays bounded.
 * @module
 */

import assert from "node:assert/strict";
import { HOSTS, netTest, TestNet } from "./_netns.ts";

await netTest(
  "net: search flood, non-reading circuits and garbage: the others are still served",
  async () => {
    await using net = await TestNet.create();
    const server = await net.agent("s1");
    await server.call("serve", {
      pvs: [{ name: "B:x", value: 0 }, { name: "B:wf", length: 20_000 }],
    });
    await server.call("spin", { name: "B:wf", length: 20_000, everyMs: 5 });
    const base = await server.call<{ heapUsed: number }>("mem");
    const client = await net.agent("c");
    await client.call("ca.monitor", { name: "B:x", sub: "ca" });
    await client.call("pva.monitor", { name: "B:x", sub: "pva" });
    await client.waitEvent((e) => e.sub === "ca" && e.value === 0, 10_000);
    await client.waitEvent((e) => e.sub === "pva" && e.value === 0, 10_000);
    const mark = client.events.length;

    const flooder = await net.agent("s2");
    const flood = flooder.call<{ sent: number }>("flood", { to: "198.18.0.255", ms: 6000 }, 30_000);
    const rude = await net.agent("s3");
    await rude.call("noread.ca", { host: HOSTS.s1, name: "B:wf", circuits: 4 });
    await rude.call("noread.pva", { host: HOSTS.s1, name: "B:wf", circuits: 4 });
    const garbage = rude.call<{ closedByServer: number }>(
      "garbage",
      { host: HOSTS.s1, conns: 10 },
      60_000,
    );

    // Meanwhile the good client reads and watches, and every answer comes quickly.
    let worst = 0;
    for (let i = 1; i <= 40; i++) {
      await server.call("post", { name: "B:x", value: i });
      const t0 = performance.now();
      assert.deepEqual(await client.call("ca.get", { name: "B:x" }), { value: i });
      assert.deepEqual(await client.call("pva.get", { name: "B:x" }), { value: i });
      worst = Math.max(worst, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const sub of ["ca", "pva"]) {
      await client.waitEvent((e) => e.sub === sub && e.value === 40, 10_000, mark, `${sub} 40`);
      const seen = client.events.slice(mark).filter((e) => e.sub === sub && e.kind === "value")
        .map((e) => e.value);
      assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i + 1), `${sub} monitor`);
    }
    // Typically 200-500 ms at worst on a busy two-core machine (one JS thread answers the
    // flood too); within the clients' default 5 s timeout with room to spare.
    assert.ok(worst < 4000, `slowest CA+PVA read took ${worst.toFixed(0)} ms`);
    const { sent } = await flood;
    const { closedByServer } = await garbage;
    assert.ok(sent > 100, `flood sent ${sent} datagrams`);
    assert.ok(closedByServer >= 1, "the server dropped garbage connections");
    // The non-readers' updates are dropped, not queued without bound.
    const mem = await server.call<{ heapUsed: number }>("mem");
    assert.ok(
      mem.heapUsed - base.heapUsed < 64 * 2 ** 20,
      `server heap grew by ${((mem.heapUsed - base.heapUsed) / 2 ** 20).toFixed(0)} MiB`,
    );
    console.log(
      `bad peers: ${sent} flood datagrams, ${closedByServer}/20 garbage connections dropped, ` +
        `slowest read ${worst.toFixed(0)} ms, server heap +${
          ((mem.heapUsed - base.heapUsed) / 2 ** 20).toFixed(1)
        } MiB`,
    );
  },
);
