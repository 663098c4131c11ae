/**
 * Load across hosts: 200 client circuits with 100,000 channels against one server host
 * (server memory must stay bounded and come back when the clients go), and a soak of
 * puts and monitors over both protocols that must never reorder or lose the last update.
 * @module
 */

import assert from "node:assert/strict";
import { netTest, TestNet } from "./_netns.ts";

const CLIENTS = 200;
const PER_CLIENT = 500;
const PVS = 10_000;

for (const proto of ["ca", "pva"] as const) {
  await netTest(
    `net: ${proto} ${CLIENTS} client circuits, ${
      CLIENTS * PER_CLIENT
    } channels, bounded server memory`,
    async () => {
      await using net = await TestNet.create();
      const server = await net.agent("s1");
      await server.call("serve", { many: { prefix: "M:", count: PVS } });
      const base = await server.call<{ rss: number; heapUsed: number }>("mem");
      const client = await net.agent("c");
      const rounds: { rss: number; heap: number; heapAfter: number; ms: number }[] = [];
      for (let round = 0; round < 3; round++) {
        const r = await client.call<Record<string, number>>(`${proto}.many`, {
          clients: CLIENTS,
          perClient: PER_CLIENT,
          pvCount: PVS,
          prefix: "M:",
          timeout: 90,
        }, 120_000);
        if (proto === "ca") {
          assert.equal(r.connectedClients, CLIENTS);
          assert.equal(r.circuits, CLIENTS);
        } else assert.equal(r.missing, 0);
        const m = await server.call<{ rss: number; heapUsed: number }>("mem");
        await client.call(`${proto}.manyClose`, {}, 60_000);
        // The server notices the closed circuits a moment later: wait for its heap to drop.
        let after = m.heapUsed;
        for (let i = 0; i < 100; i++) {
          after = (await server.call<{ heapUsed: number }>("mem")).heapUsed;
          if (after < base.heapUsed + 16 * 2 ** 20) break;
          await new Promise((res) => setTimeout(res, 100));
        }
        rounds.push({ rss: m.rss, heap: m.heapUsed, heapAfter: after, ms: r.ms });
      }
      const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
      console.log(
        `${proto}: server base rss ${mib(base.rss)} heap ${mib(base.heapUsed)}; ` +
          rounds.map((r) =>
            `connected in ${r.ms} ms, rss ${mib(r.rss)} heap ${mib(r.heap)} -> ${mib(r.heapAfter)}`
          ).join("; "),
      );
      for (const r of rounds) {
        const perChannel = (r.heap - base.heapUsed) / (CLIENTS * PER_CLIENT);
        assert.ok(perChannel < 2048, `server heap grew ${perChannel.toFixed(0)} bytes per channel`);
        assert.ok(r.rss - base.rss < 400 * 2 ** 20, `server rss grew to ${mib(r.rss)}`);
        assert.ok(
          r.heapAfter < base.heapUsed + 16 * 2 ** 20,
          `server heap stayed at ${mib(r.heapAfter)} after the clients left (base ${
            mib(base.heapUsed)
          })`,
        );
      }
    },
  );
}
