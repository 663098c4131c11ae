/**
 * softioc with access security from st.cmd (asSetFilename, loaded by iocInit) and asInit
 * reloading it at run time: CA clients see their rights change when an ACF input changes
 * and when the rules are reloaded; a reload with errors changes nothing.
 * @module
 */

import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { startTestRepeater } from "./_helpers/ca_repeater.ts";
import { freePort, LOOPBACK_ENV } from "./_helpers/pvserve.ts";
import { captureOutput, iocEnv, SOFTIOC_CMD } from "./_helpers/softioc.ts";
import { until } from "./_helpers/pyepics.ts";

const RULES = `ASG(DEFAULT) { RULE(1, WRITE) }
ASG(BEAM) {
  INPA("acc:beam")
  RULE(1, READ)
  RULE(1, WRITE) { CALC("A=0") }
}
`;

Deno.test("softioc: asSetFilename rules loaded by iocInit, INPA changes and asInit reloads reach CA clients", async () => {
  const dir = await Deno.makeTempDir({ prefix: "softioc_access_" });
  await Deno.writeTextFile(`${dir}/rules.acf`, RULES);
  await Deno.writeTextFile(
    `${dir}/acc.db`,
    'record(bo, "acc:beam") { field(VAL, "0") }\nrecord(ao, "acc:gated") { field(ASG, "BEAM") }\n',
  );
  await Deno.writeTextFile(
    `${dir}/st.cmd`,
    'asSetFilename("rules.acf")\ndbLoadRecords("acc.db")\niocInit\n',
  );
  // Ours on the IOC's repeater port: its CA client then starts no repeater process.
  await using rep = startTestRepeater();
  const repeater = rep.port;
  const port = freePort([repeater]);
  const child = new Deno.Command(SOFTIOC_CMD[0], {
    args: [
      ...SOFTIOC_CMD.slice(1),
      "st.cmd",
    ],
    cwd: dir,
    env: iocEnv(port, repeater, dir),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text, drained } = captureOutput(child);
  const stdin = child.stdin.getWriter();
  const command = (line: string) => stdin.write(new TextEncoder().encode(line + "\n"));
  try {
    await until("iocInit", () => text.err.includes("iocRun: All initialization complete"), 30000);
    await using ctx = new CaContext({
      config: epicsConfigFrom({ ...LOOPBACK_ENV, EPICS_CA_ADDR_LIST: `127.0.0.1:${port}` }).ca,
      user: "op",
      host: "localhost",
      repeater: false,
    });
    const gated = ctx.channel("acc:gated");
    const beam = ctx.channel("acc:beam");
    await gated.connected(10);
    await beam.connected(10);
    assert.deepEqual(gated.access, { read: true, write: true });
    await beam.put(1, { wait: true });
    await until("the input to take write access away", () => !gated.access.write);
    await beam.put(0, { wait: true });
    await until("write access back", () => gated.access.write);

    // A broken file: asInit says so and the rules in force stay.
    await Deno.writeTextFile(`${dir}/rules.acf`, "ASG(DEFAULT) {\n  RULE(1, WRITE\n");
    await command("asInit");
    await until("asInit to fail", () => text.err.includes("asInit failed"));
    assert.match(text.err, /rules\.acf/);
    assert.deepEqual(gated.access, { read: true, write: true });

    await Deno.writeTextFile(`${dir}/rules.acf`, "ASG(DEFAULT) { RULE(1, READ) }\n");
    await command("asInit");
    await until("the reloaded rules", () => !gated.access.write && !beam.access.write);
    assert.deepEqual(beam.access, { read: true, write: false });
    await command("exit");
  } finally {
    await stdin.close().catch(() => {});
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await drained;
    await Deno.remove(dir, { recursive: true });
  }
});
