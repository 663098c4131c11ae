import assert from "node:assert/strict";
import { CaRepeater, repeaterAction } from "../lib/ca/repeater.ts";

Deno.test({
  name: "repeater action: register, fan-out, and the source address filled into beacons",
  permissions: "none",
  fn() {
    assert.deepEqual(repeaterAction(new Uint8Array(0), "127.0.0.1"), { register: true });
    const reg = new Uint8Array(16);
    reg[1] = 24;
    assert.equal(repeaterAction(reg, "127.0.0.1").register, true);
    const beacon = new Uint8Array(16);
    beacon[1] = 13;
    const act = repeaterAction(beacon, "10.1.2.3");
    assert.equal(act.register, false);
    assert.deepEqual(Array.from(act.forward!.subarray(12)), [10, 1, 2, 3]);
  },
});

Deno.test("repeater: confirms registration and forwards beacons to registered clients", async () => {
  await using rep = CaRepeater.start(0, { hostname: "127.0.0.1" });
  const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const server = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: rep.port };
    const reg = new Uint8Array(16);
    reg[1] = 24;
    await client.send(reg, to);
    const [confirm] = await client.receive();
    assert.equal((confirm[0] << 8) | confirm[1], 17, "REPEATER_CONFIRM");
    const beacon = new Uint8Array(16);
    beacon[1] = 13;
    beacon[7] = 0x40;
    await server.send(beacon, to);
    const [fwd] = await client.receive();
    assert.equal((fwd[0] << 8) | fwd[1], 13);
    assert.deepEqual(Array.from(fwd.subarray(12)), [127, 0, 0, 1]);
    assert.equal(rep.clientCount, 1);
  } finally {
    client.close();
    server.close();
  }
});
