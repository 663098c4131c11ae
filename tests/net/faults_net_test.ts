/**
 * Network faults between hosts: a cable pulled and plugged back (clients see the loss,
 * then recover by themselves), and UDP blocked between the hosts (clients reach servers
 * through EPICS_CA_NAME_SERVERS / EPICS_PVA_NAME_SERVERS over TCP).
 * @module
 */

import assert from "node:assert/strict";
import { HOSTS, netTest, TestNet } from "./_netns.ts";

for (const proto of ["ca", "pva"] as const) {
  await netTest(
    `net: ${proto} link cut and restored: clients see the disconnect, then recover`,
    async () => {
      await using net = await TestNet.create();
      // Short beacon period and connection timeouts so the test takes seconds, not minutes.
      const server = await net.agent("s1", {
        EPICS_CAS_BEACON_PERIOD: "1",
        EPICS_PVAS_BEACON_PERIOD: "1",
      });
      await server.call("serve", { pvs: [{ name: "L:x", value: 1 }] });
      const client = await net.agent("c", { EPICS_CA_CONN_TMO: "1", EPICS_PVA_CONN_TMO: "1" });
      await client.call(`${proto}.monitor`, {
        name: "L:x",
        sub: "m",
        ...(proto === "ca" ? { options: { repeater: true, echoTimeout: 1 } } : {}),
      });
      await client.waitEvent((e) => e.sub === "m" && e.value === 1, 10_000, 0, "the first value");

      await net.link("s1", "down");
      const lost = await client.waitEvent(
        (e) => e.sub === "m" && e.kind === "disc",
        15_000,
        0,
        "a disconnect",
      );
      // While the cable is out, the value changes: the client must get the new one.
      await server.call("post", { name: "L:x", value: 2 });
      await net.link("s1", "up");
      const back = await client.waitEvent(
        (e) => e.sub === "m" && e.kind === "value" && e.value === 2,
        20_000,
        lost.index,
        "the value posted while the link was down",
      );
      await server.call("ramp", { name: "L:x", from: 3, to: 50, everyMs: 2 });
      await client.waitEvent(
        (e) => e.sub === "m" && e.value === 50,
        10_000,
        back.index,
        "value 50",
      );
      const seen = client.events.slice(back.index)
        .filter((e) => e.sub === "m" && e.kind === "value").map((e) => e.value);
      assert.deepEqual(seen, Array.from({ length: 49 }, (_, i) => 2 + i));
    },
  );
}

await netTest(
  "net: UDP blocked between hosts: CA and PVA through name servers over TCP",
  async () => {
    await using net = await TestNet.create();
    const server = await net.agent("s1");
    await server.call("serve", { pvs: [{ name: "N:x", value: 42 }] });
    await net.blockUdp("c");
    // Without name servers nothing is found: the block is real.
    const blind = await net.agent("c");
    await assert.rejects(blind.call("ca.get", { name: "N:x", timeout: 1 }));
    await assert.rejects(blind.call("pva.get", { name: "N:x", timeout: 1 }));
    const client = await net.agent("c", {
      EPICS_CA_NAME_SERVERS: `${HOSTS.s1}:5064`,
      EPICS_PVA_NAME_SERVERS: `${HOSTS.s1}:5075`,
    });
    assert.deepEqual(await client.call("ca.get", { name: "N:x" }), { value: 42 });
    assert.deepEqual(await client.call("pva.get", { name: "N:x" }), { value: 42 });
    // The command-line tools use them too.
    const out = await client.call<{ code: number; stdout: string }>("cli", {
      cmd: "caget",
      args: ["-t", "N:x"],
    });
    assert.deepEqual([out.code, out.stdout], [0, "42\n"]);
    const pv = await client.call<{ code: number; stdout: string }>("cli", {
      cmd: "pvget",
      args: ["N:x"],
    });
    assert.equal(pv.code, 0);
    assert.match(pv.stdout, /^N:x +\S+ \S+ +42 *\n$/);
  },
);
