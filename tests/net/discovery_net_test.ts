/**
 * Discovery across hosts: three server hosts each serve their own PVs; the client host
 * finds all of them by broadcast, with the EPICS defaults (`*_AUTO_ADDR_LIST=YES`).
 * @module
 */

import assert from "node:assert/strict";
import { HOSTS, netTest, TestNet } from "./_netns.ts";

await netTest("net: CA and PVA discovery by broadcast across three server hosts", async () => {
  await using net = await TestNet.create();
  const servers = await Promise.all(
    (["s1", "s2", "s3"] as const).map((h) => net.agent(h)),
  );
  await Promise.all(
    servers.map((s, i) => s.call("serve", { pvs: [{ name: `S${i + 1}:x`, value: i + 1 }] })),
  );
  const client = await net.agent("c");
  for (let i = 1; i <= 3; i++) {
    assert.deepEqual(await client.call("ca.get", { name: `S${i}:x` }), { value: i });
    assert.deepEqual(await client.call("pva.get", { name: `S${i}:x` }), { value: i });
  }
});

/** What a command printed (the agent's "cli" call). */
interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The duplicate-name setup both protocols share: s1 serves DUP:x = 1 and s2 DUP:x = 2;
 * the client host reads it over `proto`, which must use one server and report the other
 * (checked here); then `cmd` monitors it until its first update and the duplicate report.
 * @returns what the command printed
 */
async function readDuplicate(
  net: TestNet,
  proto: "ca" | "pva",
  port: number,
  cmd: string,
  waitStderr: string,
): Promise<CliOutput> {
  const [s1, s2] = await Promise.all([net.agent("s1"), net.agent("s2")]);
  await s1.call("serve", { pvs: [{ name: "DUP:x", value: 1 }] });
  await s2.call("serve", { pvs: [{ name: "DUP:x", value: 2 }] });
  const client = await net.agent("c");
  const { value } = await client.call<{ value: number }>(`${proto}.get`, { name: "DUP:x" });
  const { event } = await client.waitEvent(
    (e) => e.ev === "dup",
    10_000,
    0,
    "a duplicate warning",
  );
  const used = value === 1 ? HOSTS.s1 : HOSTS.s2;
  const other = value === 1 ? HOSTS.s2 : HOSTS.s1;
  assert.deepEqual(event, {
    ev: "dup",
    name: "DUP:x",
    accepted: `${used}:${port}`,
    ignored: `${other}:${port}`,
  });
  return await client.call<CliOutput>("cli", {
    cmd,
    args: ["DUP:x"],
    waitStdout: "\n",
    waitStderr,
  });
}

await netTest(
  "net: the same PV name on two hosts: one is used, the other reported (CA)",
  async () => {
    await using net = await TestNet.create();
    // camonitor prints libca's exception block for it.
    const out = await readDuplicate(
      net,
      "ca",
      5064,
      "camonitor",
      "Identical process variable names",
    );
    assert.match(out.stdout, /^DUP:x +\S+ \S+ +[12] *\n/);
    assert.match(
      out.stderr,
      new RegExp(
        'CA\\.Client\\.Exception\\.+\\n    Warning: "Identical process variable names on ' +
          'multiple servers"\\n    Context: "Channel: "DUP:x", Connecting to: 198\\.18\\.0\\.[12]:5064, ' +
          'Ignored: 198\\.18\\.0\\.[12]:5064"\\n',
      ),
    );
  },
);

await netTest(
  "net: the same PV name on two hosts: one is used, the other reported (PVA)",
  async () => {
    await using net = await TestNet.create();
    // pvmonitor reports it as pvxs's client does.
    const out = await readDuplicate(net, "pva", 5075, "pvmonitor", "Duplicate PV name");
    assert.match(out.stdout, /^DUP:x +\S+ \S+ +[12] *\n/);
    assert.match(
      out.stderr,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9} ERR pvxs\.client\.dup Duplicate PV name DUP:x from 198\.18\.0\.[12]:5075 and 198\.18\.0\.[12]:5075\n/m,
    );
  },
);
