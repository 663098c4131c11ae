/**
 * examples/tsdev: the PyDevice tutorial translated, run as a user runs it (softioc with
 * st.cmd in a subprocess, the device simulator on 127.0.0.1 port 0) and checked with our
 * caget/caput in-process and with EPICS base's catools where they are on PATH.
 * @module
 */

import assert from "node:assert/strict";
import { main as cagetMain } from "../cli/caget.ts";
import { main as caputMain } from "../cli/caput.ts";
import { startSimulator } from "../examples/tsdev/simulator.ts";
import { captureIO } from "./_helpers/ca_cli_io.ts";
import { startTestRepeater } from "./_helpers/ca_repeater.ts";
import { freePort, LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";
import { captureOutput, iocEnv, SOFTIOC_CMD } from "./_helpers/softioc.ts";
import { findTool } from "./_pva_server_tools.ts";
import { PYEPICS_IGNORED, pyepicsTestName, runPyepics, until } from "./_helpers/pyepics.ts";

const realCaget = findTool("caget", ["/opt/epics/base/bin/linux-x86_64"]);
const realCaput = findTool("caput", ["/opt/epics/base/bin/linux-x86_64"]);

type Tool = (args: string[]) => Promise<string>;

async function startTutorial(args = ["-S", "st.cmd"]) {
  const sim = startSimulator();
  // Ours on the private repeater port for the whole run, so libca clients (base's tools,
  // pyepics) start no caRepeater that would outlive the test.
  const rep = startTestRepeater();
  const repeaterPort = rep.port;
  const port = freePort([repeaterPort]);
  const pvaPort = freePort([port, repeaterPort]);
  const pvaBroadcast = freePort([port, repeaterPort, pvaPort]);
  const env = {
    // softioc runs where INIT_CWD says (set by `deno task`): here, next to st.cmd.
    ...iocEnv(port, repeaterPort, `${REPO_ROOT}/examples/tsdev`),
    EPICS_PVA_SERVER_PORT: String(pvaPort),
    EPICS_PVAS_SERVER_PORT: String(pvaPort),
    EPICS_PVA_BROADCAST_PORT: String(pvaBroadcast),
    EPICS_PVAS_BROADCAST_PORT: String(pvaBroadcast),
    SIM_PORT: String(sim.port),
  };
  const child = new Deno.Command(SOFTIOC_CMD[0], {
    args: [
      ...SOFTIOC_CMD.slice(1),
      ...args,
    ],
    cwd: `${REPO_ROOT}/examples/tsdev`,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text, drained } = captureOutput(child);
  let exited = false;
  child.status.then(() => exited = true);
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await drained;
    await sim.close();
    await rep.close();
  };
  try {
    await until(
      "iocInit",
      () => {
        // softioc reports iocInit on stderr, as base's errlog does.
        if ((text.out + text.err).includes("iocRun: All initialization complete")) return true;
        if (/iocInit failed|error/i.test(text.err) || exited) throw new Error("softioc failed");
        return false;
      },
      30000,
    );
  } catch (e) {
    await close();
    throw new Error(`${(e as Error).message}\nstdout:\n${text.out}\nstderr:\n${text.err}`);
  }
  return { sim, port, repeaterPort, text, close };
}

/** The tutorial, step by step, with one pair of tools. */
async function tutorial(ioc: Awaited<ReturnType<typeof startTutorial>>, caget: Tool, caput: Tool) {
  const val = async (pv: string) => (await caget(["-t", pv])).trim();

  // Hello world: printed on the IOC console.
  await caput(["TsDev:Test:HelloWorld", "1"]);
  await until("Hello world!", () => ioc.text.out.includes("Hello world!\n"));

  // The abs value, with put-callback: Old 0 / New 3.3.
  const abs = await caput(["-c", "Example:AbsValue", "-3.3"]);
  assert.match(abs, /^Old : Example:AbsValue +0\nNew : Example:AbsValue +3\.3\n$/);

  // Sending before connecting: the rejection is an alarm and a console line; the IOC goes on.
  await caput(["-c", "Device1:Send", "early"]);
  assert.equal(await val("Device1:Send.SEVR"), "INVALID");
  assert.equal(await val("Device1:Send.STAT"), "CALC");
  const failure = "tsdev: Device1:Send: device1.send('early'): Error: not connected\n";
  await until("the failure on the console", () => ioc.text.err.includes(failure));

  // Connect, Send, Sent (1 second scan) and SentCb (I/O Intr through iointr).
  await caput(["-c", "Device1:Connect", "1"]);
  assert.equal(await val("Device1:Connect.SEVR"), "NO_ALARM");
  await caput(["-c", "Device1:Send", "hello"]);
  assert.equal(await val("Device1:SentCb"), "5");
  await until("the simulator to get hello", () => ioc.sim.text === "hello");
  await until("Device1:Sent to scan", async () => (await val("Device1:Sent")) === "5");
  await caput(["-c", "Device1:Send", "world!"]);
  assert.equal(await val("Device1:SentCb"), "11");

  // One value in, two I/O Intr values out.
  await caput(["-c", "Example:Num", "10"]);
  assert.equal(await val("Example:SqrtInteger"), "3");
  assert.equal(await val("Example:SqrtRemain"), "1");
  await caput(["-c", "Example:Num", "50"]);
  assert.equal(await val("Example:SqrtInteger"), "7");
  assert.equal(await val("Example:SqrtRemain"), "1");

  // The histogram of what was written to Example:Save.
  for (const v of ["1", "2", "2", "3.5", "9"]) await caput(["-c", "Example:Save", v]);
  assert.equal(
    (await caget(["Example:Histogram"])).trim(),
    "Example:Histogram 10 0 1 2 1 0 0 0 0 0 1",
  );
  assert.equal(await val("Device1:Send.SEVR"), "NO_ALARM");
  assert.doesNotMatch(ioc.text.err.replace(failure, ""), /tsdev:|error/i, "no other failures");
}

Deno.test("tsdev examples: the PyDevice tutorial with our caget and caput", async () => {
  const ioc = await startTutorial();
  try {
    const tool = (main: typeof cagetMain): Tool => async (args) => {
      await using c = captureIO(ioc.port, { EPICS_CA_REPEATER_PORT: String(ioc.repeaterPort) });
      // 10 s to connect, not the tools' 1 s: the IOC is another process on a busy CI host.
      const code = await main(["-w", "10", ...args], c.io);
      assert.equal(code, 0, `${args.join(" ")}: ${c.out.stderr}`);
      return c.out.stdout;
    };
    await tutorial(ioc, tool(cagetMain), tool(caputMain));
  } finally {
    await ioc.close();
  }
});

Deno.test({
  name: `tsdev examples: the PyDevice tutorial with EPICS base's caget and caput${
    realCaget && realCaput ? "" : " (ignored: caget/caput not on PATH)"
  }`,
  ignore: !(realCaget && realCaput),
  async fn() {
    const ioc = await startTutorial();
    try {
      const env = {
        ...LOOPBACK_ENV,
        EPICS_CA_ADDR_LIST: `127.0.0.1:${ioc.port}`,
        EPICS_CA_REPEATER_PORT: String(ioc.repeaterPort),
        PATH: Deno.env.get("PATH") ?? "",
      };
      const tool = (cmd: string): Tool => async (args) => {
        const r = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
          .output();
        const dec = new TextDecoder();
        assert.equal(r.code, 0, `${cmd} ${args.join(" ")}: ${dec.decode(r.stderr)}`);
        return dec.decode(r.stdout);
      };
      await tutorial(ioc, tool(realCaget!), tool(realCaput!));
    } finally {
      await ioc.close();
    }
  },
});

const PY_SCRIPT = `
import json, epics
out = {}
out["abs_put"] = epics.caput("Example:AbsValue", -3.3, wait=True, timeout=5)
out["abs"] = epics.caget("Example:AbsValue", timeout=5)
epics.caput("Device1:Connect", 1, wait=True, timeout=5)
epics.caput("Device1:Send", "abc", wait=True, timeout=5)
out["sent_cb"] = epics.caget("Device1:SentCb", timeout=5)
epics.caput("Example:Num", 10, wait=True, timeout=5)
out["sqrt"] = [epics.caget("Example:SqrtInteger", timeout=5), epics.caget("Example:SqrtRemain", timeout=5)]
for v in [1, 2, 2, 3.5, 9]:
    epics.caput("Example:Save", v, wait=True, timeout=5)
out["hist"] = [int(x) for x in epics.caget("Example:Histogram", timeout=5)]
print("RESULT " + json.dumps(out))
`;

Deno.test({
  name: pyepicsTestName(
    "tsdev examples: the tutorial through pyepics (real libca), puts with callback",
  ),
  ignore: PYEPICS_IGNORED,
  async fn() {
    const ioc = await startTutorial();
    try {
      const r = await runPyepics(PY_SCRIPT, {
        EPICS_CA_ADDR_LIST: `127.0.0.1:${ioc.port}`,
        EPICS_CA_REPEATER_PORT: String(ioc.repeaterPort),
      });
      assert.equal(r.abs_put, 1);
      assert.equal(r.abs, 3.3);
      assert.equal(r.sent_cb, 3);
      assert.deepEqual(r.sqrt, [3, 1]);
      assert.deepEqual(r.hist, [0, 1, 2, 1, 0, 0, 0, 0, 0, 1]);
    } finally {
      await ioc.close();
    }
  },
});

Deno.test("tsdev examples: softioc --module makes a module's exports global for the records", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/module.db`,
      `record(longout, "Mod:Num") { field(DTYP, "tsdev") field(OUT, "@sqrt(VAL)") }
record(longin, "Mod:Int") {
  field(DTYP, "tsdev") field(INP, "@iointr('sqrt_int')") field(SCAN, "I/O Intr")
}
`,
    );
    const ioc = await startTutorial(["-S", "--module", "analysis.ts", "-d", `${dir}/module.db`]);
    try {
      await using c = captureIO(ioc.port, { EPICS_CA_REPEATER_PORT: String(ioc.repeaterPort) });
      assert.equal(await caputMain(["-w", "10", "-c", "Mod:Num", "17"], c.io), 0, c.out.stderr);
      assert.equal(await cagetMain(["-w", "10", "-t", "Mod:Int"], c.io), 0, c.out.stderr);
      assert.match(c.out.stdout, /\n4\n$/);
    } finally {
      await ioc.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
