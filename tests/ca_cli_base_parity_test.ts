/**
 * Regression tests for differences a review found between our catools and EPICS base
 * 7.0.8.1's. Each expectation was observed from the real tool (caget, caput, camonitor,
 * cainfo against softIoc with ../shared/vectors/ioc/test.db) and is written down here so
 * CI checks it without the tools: signals kill the command (exit 128+signo, nothing
 * printed), a negative timeout fails at once, `-F ''` separates with NUL, unknown long
 * options are `'--'`, enum indexes past the last state warn, `cainfo -s`, and the
 * exception report for a lost circuit.
 */
import { captureIO } from "./_helpers/ca_cli_io.ts";
import { CaRepeater } from "../lib/ca/repeater.ts";
import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { Eca } from "../lib/ca/proto/constants.ts";
import type { CliIO } from "../cli/_io.ts";
import { main as caget } from "../cli/caget.ts";
import { main as caput } from "../cli/caput.ts";
import { main as camonitor } from "../cli/camonitor.ts";
import { main as cainfo } from "../cli/cainfo.ts";
import { circuitLossText, EXCEPTION_SOURCE, exceptionText, getopt } from "../cli/_ca_cli.ts";
import { LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";

type Main = (args: string[], io: CliIO) => Promise<number>;

const CLOCK = () => Date.UTC(2026, 10, 21, 11, 34, 6, 500);

function pvs() {
  return [
    new SharedPV("t:dbl", { type: "float64", value: 3.14159, clock: CLOCK }),
    new SharedPV("t:enm", { type: "enum", value: 1, choices: ["Off", "On", "Fault"] }),
    new SharedPV("t:str", { type: "string", value: "hello" }),
  ];
}

function startServer(provider: PvMap) {
  return CaServer.start({ provider, config: epicsConfigFrom(LOOPBACK_ENV).cas, port: 0 });
}

async function run(server: CaServer, tool: Main, args: string[], env = {}) {
  await using c = captureIO(server.udpPort, env);
  const code = await tool(args, c.io);
  return { code, ...c.out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

const pad = (s: string) => s.padEnd(30);

// D1. base: `timeout --preserve-status -s INT 1.5 caget -w 5 T:missing` -> 130, no
// output; camonitor: 130 on SIGINT, 143 on SIGTERM; caput -c likewise.
Deno.test("catools as processes die from SIGINT/SIGTERM: 128+signo, nothing printed", async () => {
  // Our repeater, so camonitor does not start a repeater process that outlives the test.
  await using rep = CaRepeater.start(0, { hostname: "127.0.0.1" });
  const cases: Array<[string, string[], Deno.Signal, number]> = [
    ["caget", ["-w", "30", "T:missing"], "SIGINT", 130],
    ["caput", ["-c", "-w", "30", "T:missing", "1"], "SIGINT", 130],
    ["cainfo", ["-w", "30", "T:missing"], "SIGTERM", 143],
    ["camonitor", ["-w", "0.1", "T:missing"], "SIGINT", 130],
    ["camonitor", ["-w", "0.1", "T:missing"], "SIGTERM", 143],
  ];
  await Promise.all(cases.map(async ([tool, args, sig, want]) => {
    // Each command searches on its own port: its first search datagram shows it runs (its
    // signal handlers are installed before it searches).
    const searches = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const port = (searches.addr as Deno.NetAddr).port;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO_ROOT}/cli/${tool}.ts`, ...args],
      env: {
        ...LOOPBACK_ENV,
        EPICS_CA_ADDR_LIST: `127.0.0.1:${port}`,
        EPICS_CA_REPEATER_PORT: String(rep.port),
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const err = new Response(child.stderr).text();
    const reader = child.stdout.getReader();
    if (tool === "camonitor") {
      // Signal once it has printed its not-connected line: it waits for the PV then.
      let text = "";
      while (!text.includes("Not connected")) {
        const r = await reader.read();
        if (r.done) break;
        text += new TextDecoder().decode(r.value);
      }
    } else await searches.receive();
    child.kill(sig);
    while (!(await reader.read()).done) {
      // drain
    }
    const status = await child.status;
    const what = `${tool} ${args.join(" ")} (${sig})`;
    assert.equal(status.code, want, what);
    assert.equal(status.signal, sig, what);
    assert.equal(await err, "", what);
    searches.close();
  }));
});

// L1. base: `caget -w -1 T:ai` and `EPICS_CLI_TIMEOUT=-1 caget T:ai` -> rc 1 at once with
// "Channel connect timed out: 'T:ai' not found."; `camonitor -w -1 T:ai` prints
// "*** Not connected (PV not found)" first, then the value when it connects.
Deno.test("a negative timeout fails at once, as libca's ca_pend_io", async () => {
  await using server = await startServer(new PvMap(pvs()));
  const timedOut = {
    code: 1,
    stdout: "",
    stderr: "Channel connect timed out: 't:dbl' not found.\n",
  };
  assert.deepEqual(await run(server, caget, ["-w", "-1", "t:dbl"]), timedOut);
  assert.deepEqual(await run(server, caget, ["t:dbl"], { EPICS_CLI_TIMEOUT: "-1" }), timedOut);
  assert.deepEqual(await run(server, cainfo, ["-w", "-0.5", "t:dbl"]), timedOut);
  assert.deepEqual([...Object.values(await run(server, caput, ["-w", "-1", "t:dbl", "2"]))], [
    1,
    "",
    "Channel connect timed out: 't:dbl' not found.\n",
  ]);
  await using m = captureIO(server.udpPort);
  const done = camonitor(["-w", "-1", "-t", "n", "t:dbl"], m.io);
  await until(() => m.out.stdout.includes("3.14159"), "the first update");
  m.stop();
  assert.equal(await done, 0);
  assert.equal(
    m.out.stdout,
    `${pad("t:dbl")} *** Not connected (PV not found)\n${pad("t:dbl")}  3.14159  \n`,
  );
});

// L2. base: `caget -F '' T:ai` -> "T:ai\03.14159\n" (the empty argument's NUL).
Deno.test("-F '' separates with NUL", async () => {
  await using server = await startServer(new PvMap(pvs()));
  assert.equal((await run(server, caget, ["-F", "", "t:dbl"])).stdout, "t:dbl\x003.14159\n");
  assert.equal(
    (await run(server, caput, ["-F", "", "t:dbl", "2"])).stdout,
    "Old : t:dbl\x003.14159\nNew : t:dbl\x002\n",
  );
});

// L6. base: `caput --bogus` -> "Unrecognized option: '--'. ('caput -h' for help.)", rc 1,
// after any warnings of options before it; `caput T:ao --bogus` writes "--bogus".
Deno.test("unknown long options are reported as glibc getopt reports them to base", async () => {
  await using server = await startServer(new PvMap(pvs()));
  for (
    const [tool, name] of [[caget, "caget"], [caput, "caput"], [camonitor, "camonitor"]] as const
  ) {
    const r = await run(server, tool, ["--bogus", "t:dbl", "1"]);
    assert.deepEqual(
      [r.code, r.stdout, r.stderr],
      [1, "", `Unrecognized option: '--'. ('${name} -h' for help.)\n`],
    );
  }
  const r = await run(server, cainfo, ["-w", "abc", "--w", "t:dbl"]);
  assert.equal(
    r.stderr,
    "'abc' is not a valid timeout value - ignored, using '1.0'. ('cainfo -h' for help.)\n" +
      "Unrecognized option: '--'. ('cainfo -h' for help.)\n",
  );
  assert.deepEqual(getopt(["--json", "--partial", "x"], "t", { long: ["json"] }).events, [
    { opt: "-", error: "unknown" },
  ]);
  const v = await run(server, caput, ["t:str", "--bogus"]);
  assert.equal(v.stdout, `Old : ${pad("t:str")} hello\nNew : ${pad("t:str")} --bogus\n`);
  assert.equal((await run(server, caget, ["--json", "t:dbl"])).code, 0);
});

// D5. base: `caput T:mbbo 3` (3 states), `caput T:mbbo 7`, `caput T:bo 2`, `caput -n
// T:mbbo 3` -> "Warning: enum index value '3' may be too large." on stderr, and the put
// still goes; `caput T:mbbo 2`, `caput T:mbbo -1`, `caput T:mbbo 2.5` -> no warning.
Deno.test("caput warns for an enum index past the last state", async () => {
  await using server = await startServer(new PvMap(pvs()));
  for (const args of [["t:enm", "3"], ["t:enm", "7"], ["-n", "t:enm", "3"]]) {
    const r = await run(server, caput, args);
    const v = args[args.length - 1];
    assert.ok(
      r.stderr.startsWith(`Warning: enum index value '${v}' may be too large.\n`),
      `${args.join(" ")}: ${r.stderr}`,
    );
    assert.match(r.stdout, /^Old : /);
  }
  for (const args of [["t:enm", "2"], ["t:enm", "1.5"]]) {
    const r = await run(server, caput, args);
    assert.deepEqual([r.code, r.stderr], [0, ""], args.join(" "));
  }
});

// D4. base: `cainfo -s 0 T:ai` prints the usual block; `cainfo -s 1 T:ai` connects, then
// prints libca's client report (addresses, hash tables) instead of the block, once for
// all PVs; with a PV that does not connect, only "Channel connect timed out"; `cainfo -s
// 1` alone prints the report and exits 0. Our report is our own (see cainfo.ts).
Deno.test("cainfo -s: level 0 is the usual block, higher levels a client report", async () => {
  await using server = await startServer(new PvMap(pvs()));
  const block = await run(server, cainfo, ["t:dbl"]);
  assert.deepEqual(await run(server, cainfo, ["-s", "0", "t:dbl"]), block);
  assert.match(block.stdout, /^t:dbl\n {4}State: {12}connected\n/);
  const r1 = await run(server, cainfo, ["-s", "1", "t:dbl", "t:str"]);
  assert.equal(r1.code, 0);
  assert.match(r1.stdout, /^Channel Access client context \(epics-ts\) for user .+ on host .+\n/);
  assert.match(r1.stdout, /\tvirtual circuits: 1\n\tchannels: 2, connected: 2\n$/);
  const r2 = await run(server, cainfo, ["-s", "2", "t:dbl"]);
  assert.ok(
    r2.stdout.endsWith(
      `Channel "t:dbl", connected to server localhost:${server.tcpPort}, native type ` +
        "DBF_DOUBLE, native element count 1, read access, write access\n",
    ),
    r2.stdout,
  );
  const r3 = await run(server, cainfo, ["-s", "-1", "t:dbl"]);
  assert.match(r3.stdout, /\tsearch destinations: 127\.0\.0\.1:\d+\n/);
  assert.deepEqual(await run(server, cainfo, ["-s", "1", "-w", "0.2", "t:dbl", "no:such"]), {
    code: 1,
    stdout: "",
    stderr: "Channel connect timed out: some PV(s) not found.\n",
  });
  const alone = await run(server, cainfo, ["-s", "1"]);
  assert.equal(alone.code, 0);
  assert.match(alone.stdout, /\tchannels: 0, connected: 0\n$/);
  assert.deepEqual(
    [(await run(server, cainfo, ["-s", "0"])).stderr],
    ["No pv name specified. ('cainfo -h' for help.)\n"],
  );
});

// L5. base's report (here the one for a killed server):
//   CA.Client.Exception...............................................
//       Warning: "Virtual circuit disconnect"
//       Context: "localhost:47064"
//       Source File: ../cac.cpp line 1238
//       Current Time: Sat Nov 21 2026 13:21:35.379844350
//   ..................................................................
Deno.test("exception reports: Source File line and nanosecond time", () => {
  const ms = Date.UTC(2026, 10, 21, 13, 21, 35) + 379.5; // a float of POSIX ms holds about 0.2 us
  assert.equal(
    exceptionText(Eca.DISCONN, "localhost:47064", 0, ms),
    "CA.Client.Exception...............................................\n" +
      '    Warning: "Virtual circuit disconnect"\n' +
      '    Context: "localhost:47064"\n' +
      `    Source File: ${EXCEPTION_SOURCE}\n` +
      "    Current Time: Sat Nov 21 2026 13:21:35.379500000\n" +
      "..................................................................\n",
  );
  assert.match(EXCEPTION_SOURCE, /^\S+.* line \d+$/);
  // Real sub-millisecond digits by default.
  const digits = new Set<string>();
  for (let i = 0; i < 20; i++) {
    digits.add(/Current Time: .*\.\d{3}(\d{6})\n/.exec(exceptionText(1, "x", 0))![1]);
  }
  assert.ok(digits.size > 1 || ![...digits][0].endsWith("000000"));
});

// L4. base camonitor: a killed server -> "Virtual circuit disconnect", a stopped one
// (after EPICS_CA_CONN_TMO) -> "Virtual circuit unresponsive", context "localhost:<port>",
// on stderr just before the "*** disconnected" line.
Deno.test("camonitor reports a lost circuit on stderr as libca does", async () => {
  assert.match(
    circuitLossText("127.0.0.1:47064", "unresponsive", 0),
    /^CA\.Client\.Exception\.+\n {4}Warning: "Virtual circuit unresponsive"\n {4}Context: "localhost:47064"\n/,
  );

  const server = await startServer(new PvMap(pvs()));
  await using c = captureIO(server.udpPort);
  const done = camonitor(["-t", "n", "t:dbl"], c.io);
  try {
    await until(() => c.out.stdout.includes("3.14159"), "the first update");
    assert.equal(c.out.stderr, "");
    const port = server.tcpPort;
    await server.close();
    await until(() => c.out.stdout.includes("*** disconnected"), "the disconnect line");
    assert.match(
      c.out.stderr,
      new RegExp(
        "^CA\\.Client\\.Exception\\.{47}\\n" +
          ' {4}Warning: "Virtual circuit disconnect"\\n' +
          ` {4}Context: "localhost:${port}"\\n` +
          " {4}Source File: .+ line \\d+\\n" +
          " {4}Current Time: \\w{3} \\w{3} \\d\\d \\d{4} \\d\\d:\\d\\d:\\d\\d\\.\\d{9}\\n" +
          "\\.{66}\\n$",
      ),
    );
  } finally {
    c.stop();
    await done;
    await server.close();
  }
});

// E1. base 7.0.8.1: `caput -S w 'a\101b\x41\0c\qz'` into a CHAR waveform of 40 writes
// 97 49 48 49 98 65 0 99 113 122 (caget -# 40 w); `caput s 'a\101b\x41\0c'` into a
// stringout reads back "a101bA". epicsStrnRawFromEscaped has no octal escapes in base 7.
Deno.test("caput unescapes values as base 7's caput does (no octal)", async () => {
  const w = new SharedPV("t:chars", { type: "uint8", length: 40, value: new Uint8Array(0) });
  await using server = await startServer(new PvMap([...pvs(), w]));
  const r = await run(server, caput, ["-S", "t:chars", "a\\101b\\x41\\0c\\qz"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([...(w.snapshot().value as Uint8Array)], [
    97,
    49,
    48,
    49,
    98,
    65,
    0,
    99,
    113,
    122,
    0,
  ]);
  const s = await run(server, caput, ["t:str", "a\\101b\\x41\\0c"]);
  assert.equal(s.stdout, `Old : ${pad("t:str")} hello\nNew : ${pad("t:str")} a101bA\n`);
});
