/**
 * sub and aSub records calling the user's own functions: `softioc --module usersub.ts -d
 * user_subs.db` checked over CA with our caget/caput, against values recorded from
 * softIoc 7.0.8.1 running the same subroutines written in C (tests/fixtures/ioc/usersub.c,
 * loaded with `dlload`). When gcc and base's headers are there, the C library is built and
 * both IOCs are compared side by side. Also examples/ioc/st_subs.cmd.
 * @module
 */

import assert from "node:assert/strict";
import { main as caget } from "../cli/caget.ts";
import { main as caput } from "../cli/caput.ts";
import { findTool } from "./_pva_server_tools.ts";
import { captureIO } from "./_helpers/ca_cli_io.ts";
import { REPO_ROOT } from "./_helpers/pvserve.ts";
import { type IocProcess, SOFTIOC_CMD, startIocProcess } from "./_helpers/softioc.ts";

const FIXTURES = `${REPO_ROOT}/tests/fixtures/ioc`;

type Ioc = IocProcess;

/** Starts an IOC (see startIocProcess). */
function startIoc(cmd: readonly string[], args: string[], cwd = FIXTURES): Promise<Ioc> {
  return startIocProcess(cmd, args, cwd);
}

async function get(port: number, names: string[]): Promise<string> {
  await using c = captureIO(port);
  await caget(["-w", "5", ...names], c.io);
  return (c.out.stdout + c.out.stderr).replace(/ +/g, " ");
}

async function put(port: number, args: string[]): Promise<void> {
  await using c = captureIO(port);
  // A sub whose subroutine returns non-zero fails a plain put in base (the status of its
  // processing); the outcome is checked through the fields, not the put's status.
  await caput(["-w", "5", ...args], c.io);
}

/** The puts and gets of both IOCs, in order; returns what the gets printed. */
async function sequence(port: number): Promise<string[]> {
  const got: string[] = [];
  got.push(await get(port, ["u:add", "u:add.C", "u:sum.VALC", "u:sum", "u:add.UDF"]));
  await put(port, ["u:add.PROC", "1"]);
  got.push(await get(port, ["u:add", "u:add.SEVR", "u:add.UDF"]));
  await put(port, ["u:neg.PROC", "1"]);
  got.push(await get(port, ["u:neg", "u:neg.STAT", "u:neg.SEVR", "u:neg.UDF"]));
  await put(port, ["u:pos.PROC", "1"]);
  got.push(await get(port, ["u:pos", "u:pos.STAT", "u:pos.UDF"]));
  await put(port, ["-a", "u:wf", "3", "1", "2", "3"]);
  await put(port, ["u:sum.PROC", "1"]);
  got.push(
    await get(port, ["u:sum", "u:total", "u:sum.NEVA", "u:sum.NEVB", "u:sum.NEA", "u:tens"]),
  );
  for (const code of ["0", "2", "-1"]) {
    await put(port, ["u:code", code]);
    got.push(await get(port, ["u:st", "u:st.STAT", "u:st.SEVR", "u:stout", "u:st.VALA"]));
  }
  return got;
}

/** What softIoc 7.0.8.1 gave (usersub.c loaded with dlload), through our caget. */
const RECORDED = [
  "u:add 0\nu:add.C 11\nu:sum.VALC init\nu:sum 0\nu:add.UDF 1\n",
  "u:add 5\nu:add.SEVR NO_ALARM\nu:add.UDF 0\n",
  "u:neg 8\nu:neg.STAT UDF\nu:neg.SEVR INVALID\nu:neg.UDF 1\n",
  "u:pos 5\nu:pos.STAT NO_ALARM\nu:pos.UDF 0\n",
  "u:sum 0\nu:total 6\nu:sum.NEVA 1\nu:sum.NEVB 3\nu:sum.NEA 3\nu:tens 4 10 20 30 0\n",
  "u:st 0\nu:st.STAT NO_ALARM\nu:st.SEVR NO_ALARM\nu:stout 100\nu:st.VALA 100\n",
  "u:st 2\nu:st.STAT NO_ALARM\nu:st.SEVR NO_ALARM\nu:stout 100\nu:st.VALA 102\n",
  "u:st -1\nu:st.STAT SOFT\nu:st.SEVR MINOR\nu:stout 100\nu:st.VALA 99\n",
];

Deno.test("softioc --module: sub and aSub call the module's functions as softIoc calls C ones", async () => {
  await using ioc = await startIoc(SOFTIOC_CMD, [
    "--module",
    "usersub.ts",
    "-d",
    "user_subs.db",
    "-d",
    "user_subs_js.db",
  ]);
  assert.deepEqual(await sequence(ioc.port), RECORDED);
  // A promise: the record is PACT until it settles; caput -c returns then.
  await using c = captureIO(ioc.port);
  const t0 = performance.now();
  assert.equal(await caput(["-c", "-w", "5", "u:slow.PROC", "1"], c.io), 0);
  assert.ok(performance.now() - t0 >= 45);
  assert.equal(await get(ioc.port, ["u:slow", "u:slow.PACT"]), "u:slow 42\nu:slow.PACT 0\n");
  // A throw: CALC/INVALID with the message in AMSG, on the console, and the IOC goes on.
  await put(ioc.port, ["u:boom.PROC", "1"]);
  assert.equal(
    await get(ioc.port, ["u:boom.STAT", "u:boom.SEVR", "u:boom.AMSG", "u:add"]),
    "u:boom.STAT CALC\nu:boom.SEVR INVALID\nu:boom.AMSG no answer from the device\nu:add 5\n",
  );
  assert.match(ioc.text.err, /sub: u:boom: boom: Error: no answer from the device/);
});

const SOFTIOC = findTool("softIoc", []);
const GCC = findTool("gcc", []);
const EPICS_BASE = Deno.env.get("EPICS_BASE") ?? "/opt/epics/base";

function baseHeaders(): boolean {
  try {
    return Deno.statSync(`${EPICS_BASE}/include/aSubRecord.h`).isFile;
  } catch {
    return false;
  }
}

const ignore = SOFTIOC === undefined || GCC === undefined || !baseHeaders();

Deno.test({
  name: `user subroutines: softIoc with usersub.c and softioc with usersub.ts agree${
    ignore ? " (ignored: softIoc, gcc or EPICS base's headers not found)" : ""
  }`,
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "usersub" });
    try {
      const lib = `${dir}/libusersub.so`;
      const inc = `${EPICS_BASE}/include`;
      const arch = Deno.env.get("EPICS_HOST_ARCH") ?? "linux-x86_64";
      const build = await new Deno.Command(GCC!, {
        args: [
          "-shared",
          "-fPIC",
          `-I${inc}`,
          `-I${inc}/os/Linux`,
          `-I${inc}/compiler/gcc`,
          "-o",
          lib,
          `${FIXTURES}/usersub.c`,
          `-L${EPICS_BASE}/lib/${arch}`,
          "-ldbCore",
          "-lCom",
        ],
        stderr: "piped",
      }).output();
      assert.ok(build.success, new TextDecoder().decode(build.stderr));
      const st = `${dir}/st.cmd`;
      await Deno.writeTextFile(st, `dlload ${lib}\ndbLoadRecords user_subs.db\niocInit\n`);
      await using base = await startIoc([SOFTIOC!], [st]);
      await using ours = await startIoc(SOFTIOC_CMD, [
        "--module",
        "usersub.ts",
        "-d",
        "user_subs.db",
      ]);
      const [a, b] = await Promise.all([sequence(base.port), sequence(ours.port)]);
      assert.deepEqual(b, a);
      assert.deepEqual(a, RECORDED);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("examples/ioc/st_subs.cmd: history statistics by an aSub, a setpoint by an async sub", async () => {
  await using ioc = await startIoc(SOFTIOC_CMD, ["st_subs.cmd"], `${REPO_ROOT}/examples/ioc`);
  const read = async (names: string[]) => {
    await using c = captureIO(ioc.port);
    assert.equal(await caget(["-w", "10", "-t", ...names], c.io), 0, c.out.stderr);
    return c.out.stdout.trim().split("\n");
  };
  // The oven sits near its 40 degC setpoint: once samples are in, the statistics follow.
  let stats: number[] = [];
  for (let i = 0; i < 100; i++) {
    stats = (await read(["demo:temp:mean", "demo:temp:min", "demo:temp:max", "demo:temp:sdev"]))
      .map(Number);
    if (stats[0] !== 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const [mean, min, max, sdev] = stats;
  assert.ok(mean > 30 && mean < 50, `mean ${mean}`);
  assert.ok(min <= mean && mean <= max && sdev >= 0, stats.join(" "));
  assert.deepEqual(await read(["demo:history:stats", "demo:history:stats.SEVR"]), [
    "0",
    "NO_ALARM",
  ]);
  await using c = captureIO(ioc.port);
  const t0 = performance.now();
  assert.equal(await caput(["-c", "-w", "5", "-t", "demo:setpoint:request", "50"], c.io), 0);
  assert.ok(performance.now() - t0 >= 190, "caput -c returned before the sub completed");
  assert.deepEqual(await read(["demo:setpoint:accepted", "demo:setpoint:accepted.SEVR"]), [
    "50",
    "NO_ALARM",
  ]);
  assert.equal(await caput(["-c", "-w", "5", "-t", "demo:setpoint:request", "90"], c.io), 0);
  assert.deepEqual(
    await read([
      "demo:setpoint:accepted",
      "demo:setpoint:accepted.STAT",
      "demo:setpoint:accepted.AMSG",
    ]),
    ["50", "CALC", "setpoint 90 is above 80"],
  );
});

Deno.test("softioc: a worker module's function as SNAM raises an alarm that says why", async () => {
  await using ioc = await startIoc(SOFTIOC_CMD, ["usersub_worker.cmd"]);
  await put(ioc.port, ["u:add.PROC", "1"]);
  assert.equal(
    await get(ioc.port, ["u:add.STAT", "u:add.SEVR", "u:add.AMSG"]),
    "u:add.STAT CALC\nu:add.SEVR INVALID\nu:add.AMSG Worker function addAB cannot be a subro\n",
  );
  assert.match(
    ioc.text.err,
    /Worker function addAB cannot be a subroutine: call it from a function of a module/,
  );
});
