/**
 * Our pvget, pvput, pvmonitor and pvinfo in-process against our PVA server on loopback,
 * for cases the side-by-side test (pva_cli_cpp_test.ts) cannot cover in CI. The golden
 * texts were printed by the real tools (pvAccessCPP 7.1.8 / pvxs 1.5.2, TZ=UTC) reading
 * the same PVs from the same server with its fixed clock; each test names the tool.
 */
import assert from "node:assert/strict";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV, type SharedPVOptions } from "../lib/pv/shared_pv.ts";
import { PvaServer } from "../lib/pva/server/mod.ts";
import type { CliIO } from "../cli/_io.ts";
import { main as pvget } from "../cli/pvget.ts";
import { main as pvput } from "../cli/pvput.ts";
import { main as pvmonitor } from "../cli/pvmonitor.ts";
import { main as pvinfo } from "../cli/pvinfo.ts";
import { nowNs, nowText } from "../cli/_pva_common.ts";
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";

type Main = (args: string[], io: CliIO) => Promise<number>;

const T0 = Date.UTC(2024, 4, 1, 12, 34, 56, 789);

const SPECS: Record<string, SharedPVOptions> = {
  "c:dbl": {
    type: "float64",
    value: 21.5,
    units: "degC",
    precision: 2,
    description: "a double",
    display: { low: -10, high: 100 },
    control: { low: -50, high: 50 },
  },
};

interface Run {
  out: string;
  err: string;
  code: number;
}

/** A server with SPECS' PVs and the environment that finds it. */
async function serve() {
  const pvs = new Map(
    Object.entries(SPECS).map(([name, o]) => [name, new SharedPV(name, { ...o, clock: () => T0 })]),
  );
  const server = await PvaServer.start({
    provider: new PvMap(pvs.values()),
    config: {
      serverPort: 0,
      broadcastPort: 0,
      intfAddrList: ["127.0.0.1"],
      beaconAddrList: [],
      autoBeaconAddrList: false,
      beaconPeriod: 15,
    },
  });
  const env: Record<string, string> = {
    ...LOOPBACK_ENV,
    EPICS_PVA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
    TZ: "UTC",
  };
  const run = async (
    main: Main,
    args: string[],
    signal?: AbortSignal,
    started?: (r: Run) => void,
  ): Promise<Run> => {
    const r: Run = { out: "", err: "", code: 0 };
    started?.(r);
    r.code = await main(args, {
      stdout: (t) => (r.out += t),
      stderr: (t) => (r.err += t),
      env,
      signal: signal ?? new AbortController().signal,
    });
    return r;
  };
  return {
    pvs,
    run,
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}

Deno.test("pvinfo -v on a missing PV says Timeout as pvxinfo, pvget -v counts as pvxget", async () => {
  await using s = await serve();
  assert.deepEqual(await s.run(pvinfo, ["-v", "-w", "0.3", "c:nope"]), {
    out: "",
    err: "Timeout\n",
    code: 1,
  });
  assert.deepEqual(await s.run(pvget, ["-v", "-w", "0.3", "c:nope", "c:nope2"]), {
    out: "",
    err: "Timeout with 2 outstanding\n",
    code: 1,
  });
});

/** pvAccessCPP's raw tree of c:dbl holding `value`, as its pvput -v prints it. */
function rawDbl(value: string): string {
  return "epics:nt/NTScalar:1.0 \n" +
    `    double value ${value}\n` +
    "    alarm_t alarm \n        int severity 0\n        int status 0\n        string message \n" +
    "    time_t timeStamp 2024-05-01 12:34:56.789  \n" +
    "        long secondsPastEpoch 1714566896\n        int nanoseconds 789000000\n" +
    "        int userTag 0\n" +
    "    structure display\n        double limitLow -10\n        double limitHigh 100\n" +
    '        string description "a double"\n        string units degC\n' +
    "        int precision 2\n        enum_t form (0) Default\n            int index 0\n" +
    "            string[] choices [Default, String, Binary, Decimal, Hex, Exponential, Engineering]\n" +
    "    structure control\n        double limitLow -50\n        double limitHigh 50\n" +
    "        double minStep 0\n" +
    "    structure valueAlarm\n        boolean active false\n" +
    "        double lowAlarmLimit nan\n        double lowWarningLimit nan\n" +
    "        double highWarningLimit nan\n        double highAlarmLimit nan\n" +
    "        int lowAlarmSeverity 0\n        int lowWarningSeverity 0\n" +
    "        int highWarningSeverity 0\n        int highAlarmSeverity 0\n" +
    "        double hysteresis 0\n";
}

Deno.test("pvput -v prints the entire structure in raw mode, as pvAccessCPP's pvput", async () => {
  await using s = await serve();
  assert.deepEqual(await s.run(pvput, ["-v", "c:dbl", "1.5"]), {
    out: `Old : ${rawDbl("21.5")}New : ${rawDbl("1.5")}`,
    err: "",
    code: 0,
  });
  assert.deepEqual(await s.run(pvput, ["-v", "-q", "c:dbl", "2"]), {
    out: rawDbl("2"),
    err: "",
    code: 0,
  });
  assert.deepEqual(await s.run(pvput, ["-v", "-w", "0.3", "c:nope", "1"]), {
    out: "Old : ",
    err: "Error: Timeout\n",
    code: 1,
  });
});

Deno.test("pvmonitor -v: Connected line with a nanosecond time stamp, as the recorded pvxmonitor", async () => {
  // pvxmonitor_calc.json's stderr: "2026-11-21 11:42:44.934237176 T:calc Connected to ...".
  assert.equal(nowText("UTC", 1795261364934237176n), "2026-11-21 11:42:44.934237176");
  // Every digit is measured: not milliseconds padded with zeros.
  const a = nowNs(), b = nowNs();
  assert.ok(b > a && (a % 1_000_000n !== 0n || b % 1_000_000n !== 0n));
  assert.ok(Math.abs(Number(a / 1_000_000n) - Date.now()) < 50);

  await using s = await serve();
  const ac = new AbortController();
  let seen: Run | undefined;
  const running = s.run(pvmonitor, ["-v", "c:dbl"], ac.signal, (r) => seen = r);
  // Stop once the first update is printed (20 s backstop).
  const end = performance.now() + 20_000;
  while (!seen?.out.includes("value double = 21.5\n") && performance.now() < end) {
    await new Promise((r) => setTimeout(r, 5));
  }
  ac.abort();
  const r = await running;
  assert.equal(r.code, 0);
  assert.match(
    r.err,
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} c:dbl Connected to 127\.0\.0\.1:\d+\n$/,
  );
  assert.ok(r.out.startsWith("c:dbl\n    value double = 21.5\n"));
});

Deno.test("-h: usage and option lines as pvAccessCPP prints them (on stderr, exit 0)", async () => {
  const help = async (main: Main) => {
    const r: Run = { out: "", err: "", code: 0 };
    r.code = await main(["-h"], {
      stdout: (t) => (r.out += t),
      stderr: (t) => (r.err += t),
      env: {},
      signal: new AbortController().signal,
    });
    assert.equal(r.out, "");
    assert.equal(r.code, 0);
    return r.err;
  };
  // pvAccessCPP 7.1.8's pvget -h, up to -M (our -p line adds what 'ca' does).
  const common = "options:\n  -h: Help: Print this message\n  -V: Print version and exit\n" +
    "  -r <pv request>:   Request, specifies what fields to return and options, default is ''\n" +
    "  -w <sec>:          Wait time, specifies timeout, default is 5.000000 second(s)\n";
  assert.ok((await help(pvget)).startsWith(`\nUsage: pvget [options] <PV name>...\n\n${common}`));
  assert.ok(
    (await help(pvmonitor)).startsWith(`\nUsage: pvmonitor [options] <PV name>...\n\n${common}`),
  );
  assert.ok((await help(pvput)).startsWith(
    "Usage: pvput [options] <PV name> <value>\n" +
      "       pvput [options] <PV name> <size/ignored> <value> [<value> ...]\n" +
      "       pvput [options] <PV name> <field>=<value> ...\n" +
      "       pvput [options] <PV name> <json_array>\n" +
      "       pvput [options] <PV name> <json_map>\n\n" + common +
      "  -p <provider>:     Set default provider name, default is 'pva' ('ca' writes Channel Access)\n" +
      "  -M <raw|nt|json>:  Output mode.  default is 'nt'\n" +
      "  -v:                Show entire structure (implies Raw mode)\n" +
      "  -q:                Quiet mode, print only error messages\n",
  ));
  assert.ok((await help(pvinfo)).startsWith(
    "\nUsage: pvinfo [options] <PV name>...\n\n\noptions:\n  -h: Help: Print this message\n",
  ));
});
