/**
 * `-p ca` of pvput, pvmonitor and `pvget -m` run in-process against our own CA server
 * (SharedPVs): what is written, what is refused, and monitor updates marking only what
 * changed since the last one.
 */
import { captureIO } from "./_helpers/ca_cli_io.ts";
import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { main as pvget } from "../cli/pvget.ts";
import { main as pvput } from "../cli/pvput.ts";
import { main as pvmonitor } from "../cli/pvmonitor.ts";
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";

const CLOCK = () => Date.UTC(2026, 10, 21, 11, 34, 6, 500);

function pvs() {
  return [
    new SharedPV("t:dbl", { type: "float64", value: 1.5, units: "V", precision: 2, clock: CLOCK }),
    new SharedPV("t:enm", { type: "enum", value: 0, choices: ["Off", "On"], clock: CLOCK }),
    new SharedPV("t:str", { type: "string", value: "hello", clock: CLOCK }),
    new SharedPV("t:arr", {
      type: "float64",
      length: 4,
      value: new Float64Array([1, 2]),
      clock: CLOCK,
    }),
    new SharedPV("t:ro", { type: "float64", value: 5, writable: false, clock: CLOCK }),
  ];
}

function startServer() {
  return CaServer.start({
    provider: new PvMap(pvs()),
    config: epicsConfigFrom({ ...LOOPBACK_ENV, EPICS_CAS_BEACON_ADDR_LIST: "" }).cas,
    port: 0,
  });
}

async function put(server: CaServer, ...args: string[]) {
  await using c = captureIO(server.udpPort);
  const code = await pvput(["-p", "ca", "-w", "10", ...args], c.io);
  return { code, ...c.out };
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("pvput -p ca: scalars, enums, strings, arrays, refused and missing channels", async () => {
  await using server = await startServer();
  let r = await put(server, "t:dbl", "2.5");
  assert.deepEqual(r, { code: 0, stdout: "Old : 1.5 \nNew : 2.5 \n", stderr: "" });
  r = await put(server, "-q", "t:dbl", "value=3.5");
  assert.deepEqual(r, { code: 0, stdout: "3.5 \n", stderr: "" });
  r = await put(server, "t:enm", "On");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Old : 2026-11-21 11:34:06\.500 {2}\(0\) Off\nNew : .*\(1\) On\n$/);
  r = await put(server, "t:enm", "0");
  assert.match(r.stdout, /New : .*\(0\) Off\n$/);
  r = await put(server, "t:str", "a=b");
  assert.match(r.stdout, /^Old : .* hello \nNew : .* a=b \n$/);
  r = await put(server, "t:arr", "3", "7", "8", "9");
  assert.deepEqual(r, { code: 0, stdout: "Old : [1,2]\nNew : [7,8,9]\n", stderr: "" });
  r = await put(server, "t:arr", "[1,2,3,4,5]");
  assert.deepEqual(r, {
    code: 1,
    stdout: "Old : [7,8,9]\nNew : [7,8,9]\n",
    stderr: "Error: Invalid element count requested\n",
  });
  r = await put(server, "t:dbl", "display.units=x");
  assert.deepEqual(r, {
    code: 1,
    stdout: "Old : 3.5 \nNew : 3.5 \n",
    stderr: "display.units : Warning: no such field. Ignoring it.\n" +
      "Error: No valid value(s) specified\n",
  });
  r = await put(server, "t:ro", "6");
  assert.deepEqual(r, {
    code: 1,
    stdout: "Old : 5 \nNew : 5 \n",
    stderr: "Error: Write access denied\n",
  });
  await using c = captureIO(server.udpPort);
  const code = await pvput(["-p", "ca", "-w", "0.3", "t:none", "1"], c.io);
  assert.deepEqual({ code, ...c.out }, { code: 1, stdout: "Old : ", stderr: "Error: Timeout\n" });
});

Deno.test("pvmonitor -p ca and pvget -m -p ca: first update whole, then what changed", async () => {
  await using server = await startServer();
  await using raw = captureIO(server.udpPort);
  await using nt = captureIO(server.udpPort);
  const runs = [
    pvmonitor(["-p", "ca", "-M", "json", "t:dbl"], raw.io),
    pvget(["-m", "-p", "ca", "t:dbl", "t:str"], nt.io),
  ];
  await until(() => raw.out.stdout !== "" && nt.out.stdout.split("\n").length > 2, "first updates");
  assert.equal((await put(server, "-q", "t:dbl", "4.25")).code, 0);
  await until(() => raw.out.stdout.split("\n").length > 2, "the second update");
  raw.stop();
  nt.stop();
  assert.deepEqual(await Promise.all(runs), [0, 0]);
  const [first, second] = raw.out.stdout.split("\n");
  assert.match(first, /^t:dbl \{value:1\.5,alarm:\{severity:0,status:0,message:""\},display:/);
  // The PV has no alarm limits: they travel as NaN, which never equals the last one.
  assert.equal(
    second,
    "t:dbl {value:4.25,valueAlarm:{lowAlarmLimit:NaN,lowWarningLimit:NaN," +
      "highWarningLimit:NaN,highAlarmLimit:NaN}}",
  );
  assert.equal(raw.out.stderr, "");
  const lines = nt.out.stdout.split("\n").sort();
  assert.deepEqual(lines.filter((l) => l.startsWith("t:dbl")), ["t:dbl 1.5 ", "t:dbl 4.25 "]);
  assert.match(
    lines.find((l) => l.startsWith("t:str"))!,
    /^t:str 2026-11-21 11:34:06\.500 {2}hello $/,
  );
});
