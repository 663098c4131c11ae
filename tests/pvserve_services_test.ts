/**
 * Loopback tests of pvserve's services: definition files through main(), put logging over
 * CA and PVA (user and host of each client), helper PVs that change over time and match
 * /proc, the control PVs and host.loop(), device modules, and the putlog command.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CaContext } from "../lib/ca/client/context.ts";
import { Dbr } from "../lib/ca/proto/constants.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { PvaClient } from "../lib/pva/client/client.ts";
import { plainObject } from "../lib/pva/client/plain.ts";
import { Host } from "../lib/host/host.ts";
import { serve } from "../lib/host/serve.ts";
import { parseMaxOpenFiles, parseMeminfo } from "../lib/host/proc_stats.ts";
import { main as pvserve } from "../cli/pvserve.ts";
import { main as putlog } from "../cli/putlog.ts";
import type { CliIO } from "../cli/_io.ts";
import { LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function untilAsync(f: () => Promise<boolean>, what: string, ms = 10_000) {
  const end = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

function freeUdpPort(): number {
  const s = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const p = (s.addr as Deno.NetAddr).port;
  s.close();
  return p;
}

/** An in-process run of a command: its io, collected output, and its exit status. */
function run(
  cmd: (args: string[], io: CliIO) => Promise<number>,
  args: string[],
  env: Record<string, string> = {},
) {
  const ac = new AbortController();
  const out = { stdout: "", stderr: "" };
  const io: CliIO = {
    stdout: (t) => out.stdout += t,
    stderr: (t) => out.stderr += t,
    env: { ...LOOPBACK_ENV, EPICS_PVAS_BROADCAST_PORT: String(freeUdpPort()), ...env },
    signal: ac.signal,
  };
  const status = cmd(args, io);
  return { out, status, stop: () => ac.abort() };
}

/** Waits for the serving line; returns the CA and PVA ports. */
async function ports(out: { stderr: string }, status: Promise<number>) {
  let ended = false;
  status.finally(() => ended = true);
  const m = await until(
    () => {
      if (ended) throw new Error(`command ended early:\n${out.stderr}`);
      return /CA on TCP port (\d+)\) \(PVA on TCP port (\d+)\)/.exec(out.stderr);
    },
    "the serving line",
  );
  return { ca: Number(m![1]), pva: Number(m![2]) };
}

function caContext(port: number, user: string, host: string): CaContext {
  return new CaContext({
    repeater: false,
    user,
    host,
    config: epicsConfigFrom({
      EPICS_CA_AUTO_ADDR_LIST: "NO",
      EPICS_CA_ADDR_LIST: `127.0.0.1:${port}`,
      EPICS_CA_REPEATER_PORT: String(freeUdpPort()),
    }).ca,
  });
}

function pvaClient(tcpPort: number, user: string, host: string): PvaClient {
  return new PvaClient({
    user,
    host,
    env: { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_NAME_SERVERS: `127.0.0.1:${tcpPort}` },
  });
}

const YAML = `prefix: "t1:"
pvs:
  - { name: setpoint, desc: Heater setpoint, value: 25.0, features: W, units: C,
      precision: 2, limitLow: 0, limitHigh: 100,
      valueAlarm: { high: 80, hihi: 95, highSeverity: MINOR, hihiSeverity: MAJOR } }
  - { name: mode, desc: Operating mode, value: [Off, On, Auto], features: WD }
  - { name: counts, value: 0, type: uint32 }
  - { name: trace, value: [0.0], type: float32, length: 1000 }
  - { name: frame, type: uint16, shape: [480, 640] }
`;

Deno.test("pvserve FILE.yaml: PVs of the file; a CA put and a PVA put each log a line with the client's user and host", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const yaml = join(dir, "pvs.yaml");
    const log = join(dir, "put.log");
    await Deno.writeTextFile(yaml, YAML);
    const r = run(pvserve, [yaml, "--putlog", log, "--ca-port", "0", "--pva-port", "0"]);
    const p = await ports(r.out, r.status);
    {
      await using ctx = caContext(p.ca, "alice", "ca-host");
      const ch = ctx.channel("t1:setpoint");
      await ch.connected(5);
      await ch.put(50, { wait: true });
      const mode = ctx.channel("t1:mode");
      await mode.put("Auto", { wait: true });
      await assert.rejects(ch.put(500, { wait: true }));
      await using pva = pvaClient(p.pva, "bob", "pva-host");
      await pva.put("t1:setpoint", 60);
      const frame = await pva.get("t1:frame");
      assert.deepEqual(
        (plainObject(frame).dimension as { size: number }[]).map((d) => d.size),
        [640, 480],
      );
      const trace = ctx.channel("t1:trace");
      await trace.connected(5);
      assert.equal(trace.count, 1000);
      assert.equal(trace.nativeType, Dbr.FLOAT);
    }
    const lines = (await Deno.readTextFile(log)).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.deepEqual(Object.keys(lines[0]), ["date", "time", "host", "user", "pv", "new", "old"]);
    assert.match(lines[0].date, /^\d{4}-\d\d-\d\d$/);
    assert.match(lines[0].time, /^\d\d:\d\d:\d\d\.\d{3}$/);
    assert.deepEqual(
      lines.map((l) => [l.user, l.host, l.pv, l.new, l.old, l.refused ?? false]),
      [
        ["alice", "ca-host", "t1:setpoint", 50, 25, false],
        ["alice", "ca-host", "t1:mode", "Auto", "Off", false],
        ["alice", "ca-host", "t1:setpoint", 500, 50, true],
        ["bob", "pva-host", "t1:setpoint", 60, 50, false],
      ],
    );
    assert.match(lines[2].reason, /outside the control limits \[0, 100\]/);
    r.stop();
    assert.equal(await r.status, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvserve: a bad definition file is refused with file:line:column for every problem, nothing served", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const yaml = join(dir, "bad.yaml");
    await Deno.writeTextFile(
      yaml,
      `pvs:
  - { name: ok, value: 1 }
  - { name: a, value: 1, type: int99 }
  - { name: b, value: 200, limitLow: 0, limitHigh: 100 }
  - { name: c, value: [Off, On], features: WDX, colour: red }
  - { name: ok, value: 2 }
`,
    );
    const r = run(pvserve, [yaml, "--ca-port", "0", "--pva-port", "0"]);
    assert.equal(await r.status, 2);
    const lines = r.out.stderr.trim().split("\n");
    assert.deepEqual(lines.map((l) => /bad\.yaml:(\d+):\d+: /.exec(l)?.[1]), [
      "3",
      "4",
      "5",
      "5",
      "6",
    ]);
    assert.match(lines[0], /unknown type "int99"/);
    assert.match(lines[1], /initial value 200 is outside the limits \[0, 100\]/);
    assert.match(lines[2], /unknown feature letter "X"/);
    assert.match(lines[3], /unknown key "colour"/);
    assert.match(lines[4], /"ok" is already defined/);
    assert.doesNotMatch(r.out.stderr, /serving/);
    await Deno.writeTextFile(yaml, "pvs:\n  - { name: a, value: 1\n");
    const r2 = run(pvserve, [yaml]);
    assert.equal(await r2.status, 2);
    assert.match(r2.out.stderr, /bad\.yaml:\d+:\d+: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("helper PVs: iocStats values of this process and host, changing at their rates, client counts", async () => {
  using host = new Host({
    prefix: "hs:",
    periods: { heartbeat: 0.05, cpu: 0.1, memory: 0.1, fd: 0.1, clients: 0.05 },
  });
  await using server = await serve({
    pvs: host.provider,
    caPort: 0,
    pvaPort: 0,
    config: epicsConfigFrom(LOOPBACK_ENV),
  });
  host.attach({ ca: server.ca, pva: server.pva });
  const v = (n: string) => host.value(n);
  assert.equal(v("PROCESS_ID"), Deno.pid);
  assert.equal(v("PARENT_ID"), Deno.ppid);
  assert.equal(v("HOSTNAME"), Deno.hostname());
  assert.equal(v("CPU_CNT"), navigator.hardwareConcurrency);
  assert.match(v("KERNEL_VERS") as string, new RegExp(`^Linux ${Deno.osRelease()} `));
  assert.match(v("STARTTOD") as string, /^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/);
  assert.equal(
    new TextDecoder().decode((v("APP_DIR") as Uint8Array).filter((b) => b !== 0)),
    Deno.cwd(),
  );
  assert.equal(v("FD_MAX"), parseMaxOpenFiles(await Deno.readTextFile("/proc/self/limits")));
  const mem = parseMeminfo(await Deno.readTextFile("/proc/meminfo"))!;
  assert.equal(v("MEM_MAX"), mem.total);
  // RSS is this process's: near what Deno reports now (other test files share the process).
  await until(() => (v("MEM_USED") as number) > 0, "MEM_USED");
  assert.ok(Math.abs((v("MEM_USED") as number) - Deno.memoryUsage().rss) < 256e6);
  assert.ok(Math.abs((v("MEM_FREE") as number) - mem.free) < 0.2 * mem.total);
  // HEARTBEAT counts, UPTIME and TOD follow the clock.
  const hb = v("HEARTBEAT") as number;
  await until(() => (v("HEARTBEAT") as number) >= hb + 2, "HEARTBEAT to count");
  assert.match(v("UPTIME") as string, /^00:00:\d\d$/);
  // Load: burn CPU for a while and see this process's load rise above zero.
  const end = performance.now() + 300;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  assert.ok(x > 0);
  await until(() => (v("IOC_CPU_LOAD") as number) > 0, "IOC_CPU_LOAD above 0");
  await until(() => (v("SYS_CPU_LOAD") as number) > 0, "SYS_CPU_LOAD above 0");
  assert.ok((v("SYS_CPU_LOAD") as number) <= 100);
  // Descriptors: opening many files moves FD_CNT. (The test runner may run other test files
  // in this same process, opening and closing their own descriptors: hence a wide margin.)
  const before = await until(() => v("FD_CNT") as number, "FD_CNT");
  const files = Array.from({ length: 300 }, () => Deno.openSync("/proc/self/stat"));
  try {
    await until(() => (v("FD_CNT") as number) >= before + 200, "FD_CNT to count open files");
  } finally {
    for (const f of files) f.close();
  }
  // Clients: one CA client with two channels, one PVA client with one.
  assert.equal(v("CA_CLNT_CNT"), 0);
  {
    await using ctx = caContext(server.ca!.udpPort, "u", "h");
    await ctx.channel("hs:HEARTBEAT").connected(5);
    await ctx.channel("hs:UPTIME").connected(5);
    await using pva = pvaClient(server.pva!.tcpPort, "u", "h");
    let updates = 0;
    const sub = pva.monitor("hs:PV_CNT", () => updates++);
    await until(() => updates > 0, "a PVA monitor update");
    await until(() => v("CA_CLNT_CNT") === 1 && v("CA_CONN_CNT") === 2, "CA counts");
    // The client may hold a name-server connection besides the channel's: count what the
    // server has.
    await until(
      () =>
        (v("PVA_CLNT_CNT") as number) >= 1 && v("PVA_CLNT_CNT") === server.pva!.connectionCount &&
        v("PVA_CONN_CNT") === 1,
      "PVA counts",
    );
    await sub.close();
  }
  assert.equal(v("PV_CNT"), host.provider.size);
});

Deno.test("control PVs: loop() sleeps the sleep PV, pauses on Stop, ends on Exit; cycle and cycleTime", async () => {
  using host = new Host({ prefix: "c:", periods: { cycle: 0.05 }, sleep: 0.01 });
  const who = { protocol: "pva" as const, user: "", host: "" };
  const seen: number[] = [];
  const t0 = performance.now();
  const looping = (async () => {
    for await (const c of host.loop()) seen.push(c);
  })();
  await until(() => seen.length >= 5, "5 cycles");
  await host.pv("server")!.put("Stop", who);
  assert.equal(host.state, "Stop");
  assert.equal(host.value("status"), "Stopped");
  const n = seen.length;
  await sleep(100);
  assert.ok(seen.length <= n + 1, "the loop pauses while stopped");
  await host.pv("server")!.put("Start", who);
  await until(() => seen.length >= n + 3, "cycles after Start");
  await assert.rejects(host.pv("sleep")!.put(20, who), /outside the control limits/);
  await host.pv("server")!.put("Exit", who);
  await looping;
  await host.exited;
  assert.equal(host.value("status"), "Exited");
  assert.deepEqual(seen, seen.map((_, i) => i + 1));
  assert.equal(host.value("cycle"), seen.length);
  const mean = host.value("cycleTime") as number;
  assert.ok(mean >= 0.005 && mean < (performance.now() - t0) / 1000, `cycleTime ${mean}`);
  // Clear clears status and keeps the state.
  using h2 = new Host({ prefix: "d:" });
  h2.warn("something odd");
  assert.match(h2.value("status") as string, /^WAR_@\d{4}:\d{6}: something odd$/);
  await h2.pv("server")!.put("Clear", who);
  assert.equal(h2.value("status"), "Cleared");
  assert.equal(h2.state, "Start");
  assert.equal(h2.value("server"), 0);
});

Deno.test("pvserve ./device.ts: the example oscilloscope's setters and loop, Exit over PVA stops pvserve", async () => {
  const r = run(pvserve, [
    join(REPO_ROOT, "examples/scope_device.ts"),
    "--prefix",
    "sc:",
    "--ca-port",
    "0",
    "--pva-port",
    "0",
  ]);
  const p = await ports(r.out, r.status);
  await using pva = pvaClient(p.pva, "u", "h");
  await pva.put("sc:sleep", 0.01);
  const count = async () => (await pva.get("sc:acquisitions")).get("value") as number;
  const first = await count();
  await untilAsync(async () => (await count()) > first + 2, "acquisitions to count");
  assert.equal(((await pva.get("sc:ch1")).get("value") as Float64Array).length, 1024);
  // The setter snaps the record length to a power of two; the loop resizes the traces.
  await pva.put("sc:recordLength", 300);
  assert.equal((await pva.get("sc:recordLength")).get("value"), 256);
  await untilAsync(
    async () => ((await pva.get("sc:ch1")).get("value") as Float64Array).length === 256,
    "a 256-point trace",
  );
  // Stop pauses the loop.
  await pva.put("sc:server", "Stop");
  const stopped = await count();
  await sleep(100);
  assert.ok((await count()) <= stopped + 1);
  await pva.put("sc:server", "Exit");
  assert.equal(await r.status, 0);
  assert.match(r.out.stderr, /Exit/);
});

Deno.test("putlog FILE: caput -S, a plain DBR_STRING write and a PVA put each append a line; --max-bytes rotates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "log.txt");
    const r = run(putlog, [
      file,
      "-p",
      "pl:",
      "--max-bytes",
      "64",
      "--ca-port",
      "0",
      "--pva-port",
      "0",
    ]);
    const p = await ports(r.out, r.status);
    {
      await using ctx = caContext(p.ca, "u", "h");
      const ch = ctx.channel("pl:dump");
      await ch.connected(5);
      assert.equal(ch.nativeType, Dbr.CHAR);
      assert.ok(ch.count >= 1000);
      await ch.put(new TextEncoder().encode("via caput -S\0"), { wait: true });
      assert.equal(await Deno.readTextFile(file), "via caput -S\n");
      await ch.put("a DBR_STRING write", { wait: true, dbrType: Dbr.STRING });
      await using pva = pvaClient(p.pva, "u", "h");
      const long = "x".repeat(50) + " a line longer than 40 characters over PVA";
      await pva.put("pl:dump", long);
      assert.equal((await pva.get("pl:dump")).get("value"), long);
      assert.equal(await Deno.readTextFile(file), long + "\n");
      assert.equal(
        await Deno.readTextFile(`${file}.1`),
        "via caput -S\na DBR_STRING write\n",
      );
      assert.ok(await pva.get("pl:HEARTBEAT"));
    }
    r.stop();
    assert.equal(await r.status, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvserve --putlog-pv: each put's JSON line lands in the putlog command's file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "puts.txt");
    const logger = run(putlog, [
      file,
      "-p",
      "plx:",
      "--no-helpers",
      "--ca-port",
      "0",
      "--pva-port",
      "0",
    ]);
    const lp = await ports(logger.out, logger.status);
    const srv = run(pvserve, [
      "x=float64:1",
      "--prefix",
      "srv:",
      "--putlog-pv",
      "plx:dump",
      "--ca-port",
      "0",
      "--pva-port",
      "0",
    ], { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_NAME_SERVERS: `127.0.0.1:${lp.pva}` });
    const sp = await ports(srv.out, srv.status);
    {
      await using ctx = caContext(sp.ca, "carol", "lab-pc");
      await ctx.channel("x").put(7, { wait: true });
    }
    const line = await until(() => {
      try {
        return Deno.readTextFileSync(file).trim() || undefined;
      } catch {
        return undefined;
      }
    }, "the put-log line");
    const e = JSON.parse(line);
    assert.deepEqual([e.pv, e.new, e.old, e.user, e.host], ["x", 7, 1, "carol", "lab-pc"]);
    srv.stop();
    logger.stop();
    assert.equal(await srv.status, 0);
    assert.equal(await logger.status, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvserve: a device module whose loop throws shows the error on status (MAJOR) and keeps serving", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mod = join(dir, "bad_device.ts");
    await Deno.writeTextFile(
      mod,
      `export const pvs = [{ name: "v", value: 1, features: "W" }];
export async function loop(host) {
  for await (const c of host.loop()) if (c === 2) throw new Error("sensor unplugged");
}
`,
    );
    const r = run(pvserve, [mod, "--prefix", "bd:", "--ca-port", "0", "--pva-port", "0"]);
    const p = await ports(r.out, r.status);
    await using pva = pvaClient(p.pva, "u", "h");
    await pva.put("bd:sleep", 0.01);
    await untilAsync(
      async () => /sensor unplugged/.test((await pva.get("bd:status")).get("value") as string),
      "the error on status",
    );
    const st = await pva.get("bd:status");
    assert.match(
      st.get("value") as string,
      /^ERR_\d{4}:\d{6}: .*bad_device\.ts: sensor unplugged$/,
    );
    assert.equal(st.get("alarm.severity"), 2);
    await pva.put("bd:v", 5);
    assert.equal((await pva.get("bd:v")).get("value"), 5);
    r.stop();
    assert.equal(await r.status, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
