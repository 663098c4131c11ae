/**
 * Loopback tests of our catools (`caget`, `caput`, `camonitor`, `cainfo`) run in-process
 * against our own CA server: every DBR type, puts with and without completion, monitors
 * with masks, a server restarted under a running camonitor, a PV that never connects,
 * 10,000 PVs in one caget, the extras (`--json`, `--partial`), and a spawned smoke run.
 */
import { startTestRepeater } from "./_helpers/ca_repeater.ts";
import { captureIO } from "./_helpers/ca_cli_io.ts";
import { CaRepeater } from "../lib/ca/repeater.ts";
import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { PvMap } from "../lib/pv/provider.ts";
import type { CliIO } from "../cli/_io.ts";
import { main as caget } from "../cli/caget.ts";
import { main as caput } from "../cli/caput.ts";
import { main as camonitor } from "../cli/camonitor.ts";
import { main as cainfo } from "../cli/cainfo.ts";
import { getopt } from "../cli/_ca_cli.ts";
import { freePort, LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";

type Main = (args: string[], io: CliIO) => Promise<number>;

/** 2026-11-21 11:34:06.5 UTC, so wide output is predictable. */
const CLOCK = () => Date.UTC(2026, 10, 21, 11, 34, 6, 500);

function pvs() {
  return [
    new SharedPV("t:dbl", {
      type: "float64",
      value: 3.14159,
      units: "mm",
      precision: 3,
      display: { low: -10, high: 10 },
      control: { low: -100, high: 100 },
      alarm: { low: -5, high: 5, lolo: -8, hihi: 8 },
      clock: CLOCK,
    }),
    new SharedPV("t:lng", { type: "int32", value: -42, units: "cts", clock: CLOCK }),
    new SharedPV("t:sht", { type: "int16", value: 12, clock: CLOCK }),
    new SharedPV("t:flt", { type: "float32", value: 2.5, precision: 1, clock: CLOCK }),
    new SharedPV("t:enm", {
      type: "enum",
      value: 1,
      choices: ["Off", "On", "Fault"],
      clock: CLOCK,
    }),
    new SharedPV("t:str", { type: "string", value: "hello world", clock: CLOCK }),
    new SharedPV("t:chr", {
      type: "uint8",
      length: 8,
      value: new Uint8Array([72, 105, 0]),
      clock: CLOCK,
    }),
    new SharedPV("t:arr", {
      type: "float64",
      length: 5,
      value: new Float64Array([1, 2.5, 3, 4, 5]),
      clock: CLOCK,
    }),
    new SharedPV("t:ro", { type: "float64", value: 1, writable: false, clock: CLOCK }),
  ];
}

function startServer(provider: PvMap, opts: { port?: number; beaconPort?: number } = {}) {
  return CaServer.start({
    provider,
    config: epicsConfigFrom({
      ...LOOPBACK_ENV,
      EPICS_CAS_BEACON_ADDR_LIST: opts.beaconPort ? `127.0.0.1:${opts.beaconPort}` : "",
      EPICS_CA_BEACON_PERIOD: "1",
    }).cas,
    port: opts.port ?? 0,
  });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A captured io for a server's UDP port; `stop` aborts the command. */

async function run(server: CaServer, tool: Main, ...args: string[]): Promise<Run> {
  await using c = captureIO(server.udpPort);
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

Deno.test("getopt: grouping, attached arguments, permutation, POSIX order, errors", () => {
  const g = getopt(["-tn", "T:ai", "-w2", "-F", ",", "x"], "tnw:F:");
  assert.deepEqual(g.events.map((e) => e.opt + (e.arg ?? "")), ["t", "n", "w2", "F,"]);
  assert.deepEqual(g.operands, ["T:ai", "x"]);
  const p = getopt(["-c", "T:ao", "-5"], "cw:", { posix: true });
  assert.deepEqual(p.operands, ["T:ao", "-5"]);
  assert.equal(getopt(["-x"], "t").events[0].error, "unknown");
  assert.equal(getopt(["-w"], "w:").events[0].error, "missing");
  assert.deepEqual(getopt(["--json", "a", "--", "-t"], "t").long, ["json"]);
  assert.deepEqual(getopt(["--json", "a", "--", "-t"], "t").operands, ["a", "-t"]);
});

Deno.test("caget: every native type, wide, terse and separators", async () => {
  await using server = await startServer(new PvMap(pvs()));
  const r = await run(
    server,
    caget,
    "t:dbl",
    "t:lng",
    "t:sht",
    "t:flt",
    "t:enm",
    "t:str",
    "t:chr",
    "t:arr",
  );
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    `${pad("t:dbl")} 3.14159\n${pad("t:lng")} -42\n${pad("t:sht")} 12\n${pad("t:flt")} 2.5\n` +
      `${pad("t:enm")} On\n${pad("t:str")} hello world\nt:chr 8 72 105 0 0 0 0 0 0\n` +
      "t:arr 5 1 2.5 3 4 5\n",
  );
  assert.equal(
    (await run(server, caget, "-a", "t:dbl")).stdout,
    `${pad("t:dbl")} 2026-11-21 11:34:06.500000 3.14159  \n`,
  );
  assert.equal(
    (await run(server, caget, "-t", "-n", "t:enm", "t:arr")).stdout,
    "1\n5 1 2.5 3 4 5\n",
  );
  assert.equal(
    (await run(server, caget, "-S", "-F,", "t:chr", "t:dbl")).stdout,
    "t:chr,Hi\nt:dbl,3.14159\n",
  );
  assert.equal((await run(server, caget, "-s", "t:dbl")).stdout, `${pad("t:dbl")} 3.142\n`);
  assert.equal((await run(server, caget, "-f", "2", "t:dbl")).stdout, `${pad("t:dbl")} 3.14\n`);
  assert.equal((await run(server, caget, "-0x", "t:lng")).stdout, `${pad("t:lng")} 0xFFFFFFD6\n`);
  assert.equal((await run(server, caget, "-# 2", "t:arr")).stdout, "t:arr 2 1 2.5\n");
  assert.equal((await run(server, caget, "-c", "t:arr")).stdout, "t:arr 5 1 2.5 3 4 5\n");
});

Deno.test("caget -d: every DBR type of every native type", async () => {
  await using server = await startServer(new PvMap(pvs()));
  for (const pv of ["t:dbl", "t:lng", "t:sht", "t:flt", "t:enm", "t:str", "t:chr"]) {
    for (let t = 0; t <= 38; t++) {
      if (t === 35 || t === 36) continue;
      const r = await run(server, caget, "-d", String(t), pv);
      assert.equal(r.code, 0, `${pv} -d ${t}: ${r.stderr}`);
      const lines = r.stdout.split("\n");
      assert.equal(lines[0], pv);
      assert.match(lines[2], /^ {4}Request type: {5}DBR_/, `${pv} -d ${t}: ${r.stdout}`);
    }
  }
  const d = await run(server, caget, "-d", "CTRL_DOUBLE", "t:dbl");
  assert.equal(
    d.stdout,
    "t:dbl\n    Native data type: DBF_DOUBLE\n    Request type:     DBR_CTRL_DOUBLE\n" +
      "    Element count:    1\n    Value:            3.14159\n    Status:           NO_ALARM\n" +
      "    Severity:         NO_ALARM\n    Units:            mm\n    Precision:        3\n" +
      "    Lo disp limit:    -10\n    Hi disp limit:    10\n    Lo alarm limit:   -8\n" +
      "    Lo warn limit:    -5\n    Hi warn limit:    5\n    Hi alarm limit:   8\n" +
      "    Lo ctrl limit:    -100\n    Hi ctrl limit:    100\n",
  );
  const bad = await run(server, caget, "-d", "PUT_ACKT", "t:dbl");
  assert.equal(
    bad.stderr,
    "Requested dbr type out of range or invalid - ignored. ('caget -h' for help.)\n",
  );
  assert.equal(bad.stdout, `${pad("t:dbl")} 3.14159\n`);
});

Deno.test("caget: usage errors, warnings, -V and -h", async () => {
  await using server = await startServer(new PvMap(pvs()));
  let r = await run(server, caget);
  assert.deepEqual([r.code, r.stderr], [1, "No pv name specified. ('caget -h' for help.)\n"]);
  r = await run(server, caget, "-x", "t:dbl");
  assert.deepEqual([r.code, r.stderr], [1, "Unrecognized option: '-x'. ('caget -h' for help.)\n"]);
  r = await run(server, caget, "t:dbl", "-w");
  assert.deepEqual([r.code, r.stderr], [
    1,
    "Option '-w' requires an argument. ('caget -h' for help.)\n",
  ]);
  r = await run(server, caget, "-t", "-a", "-w", "abc", "t:dbl");
  assert.equal(r.code, 0);
  assert.equal(
    r.stderr,
    "Options t,d,a are mutually exclusive. ('caget -h' for help.)\n" +
      "'abc' is not a valid timeout value - ignored, using '1.0'. ('caget -h' for help.)\n",
  );
  r = await run(server, caget, "-V");
  assert.match(r.stdout, /^\nEPICS Version .*, CA Protocol version 4\.13\n$/);
  r = await run(server, caget, "-h");
  assert.equal(r.code, 0);
  assert.match(r.stderr, /Usage: caget/);
  await using c = captureIO(server.udpPort, { EPICS_CLI_TIMEOUT: "zz" });
  assert.equal(await caget(["t:dbl"], c.io), 0);
  assert.equal(
    c.out.stderr,
    "'zz' is not a valid timeout value (from 'EPICS_CLI_TIMEOUT' in the environment) - ignored." +
      " (use '-h' for help.)\n",
  );
});

Deno.test("caget/cainfo/caput: a PV that never connects; --partial and --json", async () => {
  await using server = await startServer(new PvMap(pvs()));
  let r = await run(server, caget, "-w", "0.2", "no:such");
  assert.deepEqual(r, {
    code: 1,
    stdout: "",
    stderr: "Channel connect timed out: 'no:such' not found.\n",
  });
  r = await run(server, caget, "-w", "0.2", "t:dbl", "no:such");
  assert.deepEqual(r, {
    code: 1,
    stdout: "",
    stderr: "Channel connect timed out: some PV(s) not found.\n",
  });
  r = await run(server, cainfo, "-w", "0.2", "no:such");
  assert.equal(r.code, 1);
  r = await run(server, caput, "-w", "0.2", "no:such", "1");
  assert.deepEqual([r.code, r.stderr], [1, "Channel connect timed out: 'no:such' not found.\n"]);
  // 1 s: t:dbl must connect within the wait, even on a busy machine.
  r = await run(server, caget, "--partial", "-w", "1", "t:dbl", "no:such");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `${pad("t:dbl")} 3.14159\n${pad("no:such")} *** not connected\n`);
  r = await run(server, caget, "--json", "t:arr", "t:enm");
  const [a, e] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual([a.name, a.value, a.count], ["t:arr", [1, 2.5, 3, 4, 5], 5]);
  assert.deepEqual([e.value, e.severity, e.timestamp], [
    "On",
    "NO_ALARM",
    "2026-11-21T11:34:06.500Z",
  ]);
});

Deno.test("caput: with and without completion, arrays, strings, enums, refusals", async () => {
  const list = pvs();
  await using server = await startServer(new PvMap(list));
  let r = await run(server, caput, "t:dbl", "7.5");
  assert.deepEqual(r, {
    code: 0,
    stdout: `Old : ${pad("t:dbl")} 3.14159\nNew : ${pad("t:dbl")} 7.5\n`,
    stderr: "",
  });
  r = await run(server, caput, "-c", "t:dbl", "-2.25");
  assert.equal(r.stdout, `Old : ${pad("t:dbl")} 7.5\nNew : ${pad("t:dbl")} -2.25\n`);
  r = await run(server, caput, "-t", "t:lng", "-7");
  assert.equal(r.stdout, "-7\n");
  r = await run(server, caput, "-a", "t:arr", "3", "9", "8", "7");
  assert.equal(r.stdout, "Old : t:arr 5 1 2.5 3 4 5\nNew : t:arr 5 9 8 7 0 0\n");
  r = await run(server, caput, "t:str", "two words");
  assert.equal(r.stdout, `Old : ${pad("t:str")} hello world\nNew : ${pad("t:str")} two words\n`);
  r = await run(server, caput, "-S", "t:chr", "abc");
  assert.equal(r.stdout, "Old : t:chr Hi\nNew : t:chr abc\n");
  r = await run(server, caput, "t:enm", "Fault");
  assert.equal(r.stdout, `Old : ${pad("t:enm")} On\nNew : ${pad("t:enm")} Fault\n`);
  r = await run(server, caput, "-c", "t:enm", "0");
  assert.equal(r.stdout, `Old : ${pad("t:enm")} Fault\nNew : ${pad("t:enm")} Off\n`);
  r = await run(server, caput, "t:enm", "bogus");
  assert.deepEqual([r.code, r.stderr], [1, "Enum string value 'bogus' invalid.\n"]);
  r = await run(server, caput, "-n", "t:enm", "x");
  assert.deepEqual([r.code, r.stderr], [1, "Enum index value 'x' is not a number.\n"]);
  r = await run(server, caput, "t:ro", "3");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `Old : ${pad("t:ro")} 1\n`);
  assert.equal(r.stderr, "\x1b[31;1mERROR\x1b[0m from put operation: Write access denied\n");
  r = await run(server, caput, "-a", "t:dbl", "2", "1", "2");
  assert.equal(
    r.stderr,
    "\x1b[31;1mERROR\x1b[0m from put operation: Invalid element count requested\n",
  );
  r = await run(server, caput, "t:dbl");
  assert.deepEqual([r.code, r.stderr], [1, "No value specified. ('caput -h' for help.)\n"]);
  r = await run(server, caput, "--json", "t:sht", "5");
  const j = JSON.parse(r.stdout);
  assert.deepEqual([j.old.value, j.new.value], [12, 5]);
});

Deno.test("cainfo: connected channels, access rights", async () => {
  await using server = await startServer(new PvMap(pvs()));
  const r = await run(server, cainfo, "t:ro", "t:arr");
  assert.equal(r.code, 0);
  const host = `localhost:${server.tcpPort}`;
  assert.equal(
    r.stdout,
    `t:ro\n    State:            connected\n    Host:             ${host}\n` +
      "    Access:           read, no write\n    Native data type: DBF_DOUBLE\n" +
      "    Request type:     DBR_DOUBLE\n    Element count:    1\n" +
      `t:arr\n    State:            connected\n    Host:             ${host}\n` +
      "    Access:           read, write\n    Native data type: DBF_DOUBLE\n" +
      "    Request type:     DBR_DOUBLE\n    Element count:    5\n",
  );
});

Deno.test("camonitor: updates, masks, never-connected PVs, --json", async () => {
  const list = pvs();
  const dbl = list[0];
  await using server = await startServer(new PvMap(list));
  await using all = captureIO(server.udpPort);
  await using alarmOnly = captureIO(server.udpPort);
  await using json = captureIO(server.udpPort);
  const runs = [
    camonitor(["-w", "0.3", "-t", "n", "t:dbl", "no:such"], all.io),
    camonitor(["-m", "a", "-t", "n", "t:dbl"], alarmOnly.io),
    camonitor(["--json", "t:dbl"], json.io),
  ];
  await until(() => all.out.stdout.includes("Not connected"), "the not-connected line");
  await until(() => alarmOnly.out.stdout !== "" && json.out.stdout.includes("3.14159"), "first");
  dbl.post(4); // value change, no alarm change
  await until(() => all.out.stdout.includes(" 4  "), "the value update");
  dbl.post(6); // HIGH MINOR
  await until(() => all.out.stdout.includes("HIGH MINOR"), "the alarm update");
  await until(() => alarmOnly.out.stdout.includes("HIGH MINOR"), "the alarm-only update");
  for (const c of [all, alarmOnly, json]) c.stop();
  assert.deepEqual(await Promise.all(runs), [0, 0, 0]);
  assert.equal(
    all.out.stdout,
    `${pad("t:dbl")}  3.14159  \n${pad("no:such")} *** Not connected (PV not found)\n` +
      `${pad("t:dbl")}  4  \n${pad("t:dbl")}  6 HIGH MINOR\n`,
  );
  assert.equal(alarmOnly.out.stdout, `${pad("t:dbl")}  3.14159  \n${pad("t:dbl")}  6 HIGH MINOR\n`);
  const events = json.out.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => e.event ?? e.value), ["connected", 3.14159, 4, 6]);
});

Deno.test("camonitor: a server restarted under a running camonitor resumes", async () => {
  const beaconPort = freePort();
  const pv = new SharedPV("t:restart", { type: "int32", value: 1, clock: CLOCK });
  const provider = new PvMap([pv]);
  let server = await startServer(provider, { beaconPort });
  const port = server.udpPort;
  // The repeater camonitor registers with, here in this process: it fans the restarted
  // server's beacons out to camonitor.
  await using _rep = CaRepeater.start(beaconPort, { hostname: "127.0.0.1" });
  await using c = captureIO(port, { EPICS_CA_REPEATER_PORT: String(beaconPort) });
  const done = camonitor(["t:restart"], c.io);
  try {
    await until(() => c.out.stdout.split("\n").length === 2, "the first update");
    await server.close();
    await until(() => c.out.stdout.includes("*** disconnected"), "the disconnect line");
    pv.post(2);
    server = await startServer(provider, { port, beaconPort });
    await until(() => c.out.stdout.split("\n").length === 4, "the update after restart", 15000);
    pv.post(3);
    await until(() => c.out.stdout.split("\n").length === 5, "a later update");
  } finally {
    c.stop();
    await done;
    await server.close();
  }
  const lines = c.out.stdout.split("\n");
  assert.equal(lines[0], `${pad("t:restart")} 2026-11-21 11:34:06.500000 1  `);
  assert.match(
    lines[1],
    /^t:restart {22}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \*\*\* disconnected$/,
  );
  assert.equal(lines[2], `${pad("t:restart")} 2026-11-21 11:34:06.500000 2  `);
  assert.equal(lines[3], `${pad("t:restart")} 2026-11-21 11:34:06.500000 3  `);
});

Deno.test("caget: 10,000 PVs connected and read in one go", async () => {
  const N = 10_000;
  const list: SharedPV[] = [];
  for (let i = 0; i < N; i++) list.push(new SharedPV(`many:${i}`, { type: "float64", value: i }));
  await using server = await startServer(new PvMap(list));
  const names = list.map((p) => p.name);
  const r = await run(server, caget, "-w", "30", "-t", ...names);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, N);
  assert.equal(lines[0], "0");
  assert.equal(lines[N - 1], String(N - 1));
});

Deno.test("caget as a process: deno task style run prints and exits", async () => {
  const pv = new SharedPV("proc:x", { type: "float64", value: 1.5 });
  await using server = await startServer(new PvMap([pv]));
  await using rep = startTestRepeater();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}/cli/caget.ts`, "proc:x"],
    env: {
      ...LOOPBACK_ENV,
      EPICS_CA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
      ...rep.env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout), `${pad("proc:x")} 1.5\n`);
  assert.equal(out.code, 0);
});

function onPath(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

const realCaget = onPath("caget");

Deno.test({
  name: "caget/cainfo: same output as EPICS base's tools on the same server (where on PATH)",
  ignore: !realCaget || !onPath("cainfo"),
  async fn() {
    await using server = await startServer(new PvMap(pvs()));
    // captureIO runs our repeater on a private port, so libca finds it and does not spawn
    // a caRepeater that outlives the test.
    await using c = captureIO(server.udpPort);
    const env: Record<string, string> = {
      ...(c.io.env as Record<string, string>),
      PATH: Deno.env.get("PATH")!,
    };
    const cases: Array<[string, Main, string[]]> = [
      ["caget", caget, ["t:dbl", "t:lng", "t:sht", "t:flt", "t:enm", "t:str", "t:chr", "t:arr"]],
      ["caget", caget, ["-a", "-F", "|", "t:dbl", "t:arr"]],
      ["caget", caget, ["-t", "-n", "-e", "3", "t:enm", "t:dbl"]],
      ["caget", caget, ["-S", "-#", "2", "t:chr", "t:arr"]],
      ["caget", caget, ["-lx", "-0b", "t:dbl", "t:lng"]],
      ["caget", caget, ["-d", "CTRL_ENUM", "t:enm"]],
      ["caget", caget, ["-d", "GR_CHAR", "t:chr"]],
      ["caget", caget, ["-d", "STSACK_STRING", "t:dbl"]],
      ["caget", caget, ["-d", "CLASS_NAME", "t:dbl"]],
      ["caget", caget, ["-c", "-s", "t:flt", "t:dbl"]],
      ["caget", caget, ["-w", "0.2", "t:dbl", "no:such"]],
      ["cainfo", cainfo, ["t:ro", "t:arr"]],
    ];
    const dec = new TextDecoder();
    for (const [cmd, tool, args] of cases) {
      const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
        .output();
      await using ours = captureIO(server.udpPort, {
        EPICS_CA_REPEATER_PORT: env.EPICS_CA_REPEATER_PORT,
      });
      const code = await tool(args, ours.io);
      const what = `${cmd} ${args.join(" ")}`;
      assert.equal(ours.out.stdout, dec.decode(out.stdout), what);
      assert.equal(ours.out.stderr, dec.decode(out.stderr), what);
      assert.equal(code, out.code, what);
    }
  },
});
