/**
 * Our pvget, pvput, pvmonitor and pvinfo side by side with EPICS 7's pvAccessCPP tools
 * on the same server: for each case both run (theirs as a subprocess, ours in-process)
 * and stdout, stderr and the exit code must be equal byte for byte. The server's PVs have
 * a fixed clock, so time stamps compare too.
 *
 * The tools are looked up in $PVACPP_BIN (a directory), then /opt/epics/cpp-bin, then
 * PATH; `pvget -V` must name pvAccess. Without them the tests are skipped (as in CI).
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
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";

type Main = (args: string[], io: CliIO) => Promise<number>;
const OURS: Record<string, Main> = { pvget, pvput, pvmonitor, pvinfo };

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The directory of pvAccessCPP's tools, or undefined. */
function findTools(): string | undefined {
  let env: Record<string, string> = {};
  try {
    env = Deno.env.toObject();
  } catch {
    return undefined;
  }
  const dirs = [env.PVACPP_BIN, "/opt/epics/cpp-bin", ...(env.PATH ?? "").split(":")];
  for (const dir of dirs) {
    if (!dir || !isFile(`${dir}/pvget`) || !isFile(`${dir}/pvinfo`)) continue;
    try {
      const out = new Deno.Command(`${dir}/pvget`, { args: ["-V"], stderr: "null" }).outputSync();
      if (new TextDecoder().decode(out.stdout).startsWith("pvAccess ")) return dir;
    } catch {
      // not runnable: keep looking
    }
  }
  return undefined;
}

const TOOLS = findTools();

const T0 = Date.UTC(2024, 4, 1, 12, 34, 56, 789);
const clock = () => T0;

/** Name -> options of the PVs both tools read; puts reset them from here. */
const SPECS: Record<string, SharedPVOptions> = {
  "c:int8": { type: "int8", value: -5 },
  "c:uint8": { type: "uint8", value: 200 },
  "c:int16": { type: "int16", value: -1234 },
  "c:uint16": { type: "uint16", value: 60000 },
  "c:int32": { type: "int32", value: -123456 },
  "c:uint32": { type: "uint32", value: 4000000000 },
  "c:int64": { type: "int64", value: -1234567890123 },
  "c:uint64": { type: "uint64", value: 12345678901234 },
  "c:float32": { type: "float32", value: 3.14159 },
  "c:float64": { type: "float64", value: 2.718281828459045 },
  "c:string": { type: "string", value: "hello world" },
  "c:boolean": { type: "boolean", value: true },
  "c:int8:arr": { type: "int8", length: 10, value: [-1, 2, -3] },
  "c:uint16:arr": { type: "uint16", length: 10, value: [1, 60000] },
  "c:int64:arr": { type: "int64", length: 10, value: [1, -2] },
  "c:float32:arr": { type: "float32", length: 10, value: [1.5, 2.25, 0.1] },
  "c:float64:arr": { type: "float64", length: 10, value: [1.5, 2.5, 1e-7, 1e10, 123456789] },
  "c:string:arr": { type: "string", length: 10, value: ["a", "b c", 'q"x', ""] },
  "c:boolean:arr": { type: "boolean", length: 10, value: [true, false] },
  "c:dbl": {
    type: "float64",
    value: 21.5,
    units: "degC",
    precision: 2,
    description: "a double",
    display: { low: -10, high: 100 },
    control: { low: -50, high: 50 },
  },
  "c:alarm": { type: "float64", value: 9, alarm: { hihi: 8, high: 5 } },
  "c:esc": { type: "string", value: "tab\there\\ \"q\" 'a' \u00e9\x01" },
  "c:nan": { type: "float64", value: NaN },
  "c:inf": { type: "float64", value: -Infinity },
  "c:small": { type: "float64", value: 1.23456789e-7 },
  "c:enum": { type: "enum", choices: ["Off", "On", "Auto mode"], value: 1 },
  "c:ro": { type: "float64", value: 5, writable: false },
  "c:empty": { type: "float64", length: 10, value: [] },
  "c:img": {
    type: "uint16",
    value: new Uint16Array([1, 2, 3, 4, 5, 6]),
    ndarray: { dimension: [3, 2], attributes: [{ name: "ColorMode", value: 0 }] },
  },
};

interface Run {
  out: string;
  err: string;
  code: number;
}

async function runTheirs(tool: string, args: string[], env: Record<string, string>): Promise<Run> {
  const out = await new Deno.Command(`${TOOLS}/${tool}`, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { out: dec.decode(out.stdout), err: dec.decode(out.stderr), code: out.code };
}

async function runOurs(tool: string, args: string[], env: Record<string, string>): Promise<Run> {
  const r: Run = { out: "", err: "", code: 0 };
  const io: CliIO = {
    stdout: (t) => (r.out += t),
    stderr: (t) => (r.err += t),
    env,
    signal: new AbortController().signal,
  };
  r.code = await OURS[tool](args, io);
  return r;
}

const GETS: string[][] = [
  Object.keys(SPECS),
  ["-M", "raw", ...Object.keys(SPECS)],
  ["-M", "json", ...Object.keys(SPECS)],
  ["-r", "field(value)", "c:dbl"],
  ["-M", "raw", "-r", "field(value,alarm)", "c:alarm"],
  ["-M", "json", "-r", "field(alarm.severity)", "c:dbl"],
  ["-M", "raw", "-r", "field(value.index)", "c:enum"],
  ["-r", "field(nonexistent)", "c:dbl"],
  ["-w", "2", "c:nope", "c:int8"],
  ["-M", "bogus", "c:int32"],
  ["-w", "abc", "c:int32"],
  ["-Z", "c:int32"],
  ["-w"],
  ["-r", "field(value", "c:dbl"],
  ["-r", "field(value)}", "c:dbl"],
  [],
];

const PUTS: [string, string[]][] = [
  ["c:float64", ["c:float64", "1.5"]],
  ["c:float64", ["c:float64", "value=2.5"]],
  ["c:float64", ["c:float64", '{"value":3.5}']],
  ["c:float64", ["-q", "c:float64", "-3"]],
  ["c:float64", ["c:float64", "abc"]],
  ["c:float64", ["c:float64", "1", "2"]],
  ["c:float64", ["c:float64", "nofield=3"]],
  ["c:float64", ["c:float64", "{bad json"]],
  ["c:float64", ["c:float64", '{"value":true}']],
  ["c:float64", ["-M", "json", "c:float64", "4"]],
  ["c:float64:arr", ["c:float64:arr", "[1,2,3]"]],
  ["c:float64:arr", ["c:float64:arr", "3", "4", "5", "6"]],
  ["c:float64:arr", ["c:float64:arr", "value=[7, 8]"]],
  ["c:float64:arr", ["c:float64:arr", "[1,"]],
  ["c:string", ["c:string", "a=b"]],
  ["c:string", ["c:string", ""]],
  ["c:int32", ["-M", "raw", "c:int32", "0x1F"]],
  ["c:int32", ["c:int32", "99999999999"]],
  ["c:uint8", ["c:uint8", "-1"]],
  ["c:int8", ["c:int8", "300"]],
  ["c:boolean", ["c:boolean", "FALSE"]],
  ["c:enum", ["c:enum", "Auto mode"]],
  ["c:enum", ["c:enum", "0"]],
  ["c:enum", ["c:enum", "7"]],
  ["c:enum", ["c:enum", "bogus"]],
  ["c:ro", ["c:ro", "3"]],
  ["c:ro", ["-w", "0.5", "c:nope", "3"]],
  ["c:ro", ["-q", "-w", "0.5", "c:nope", "3"]],
  ["c:float64", ["-v", "c:float64", "1.5"]],
  ["c:float64", ["-v", "-q", "c:float64", "1.5"]],
  ["c:float64", ["-v", "-M", "json", "c:float64", "1.5"]],
  ["c:float64", ["-M", "json", "-v", "c:float64", "1.5"]],
  ["c:float64", ["-v", "-M", "nt", "c:float64", "1.5"]],
  ["c:enum", ["-v", "c:enum", "On"]],
  ["c:ro", ["-v", "-w", "0.5", "c:nope", "3"]],
  ["c:float64:arr", ["c:float64:arr", "[1.5,x]"]],
  ["c:float64:arr", ["c:float64:arr", "3", "1", "x", "3"]],
  ["c:float64:arr", ["c:float64:arr", "value=[1,x]"]],
  ["c:ro", ["c:float64"]],
  ["c:ro", []],
];

const INFOS: string[][] = [
  ["c:dbl", "c:img", "c:enum", "c:string:arr"],
  ["-w", "0.5", "c:nope"],
  [],
];

Deno.test({
  name: "pvAccessCPP tools and ours print the same on the same server",
  ignore: TOOLS === undefined,
  async fn(t) {
    const pvs = new Map(
      Object.entries(SPECS).map(([name, o]) => [name, new SharedPV(name, { ...o, clock })]),
    );
    await using server = await PvaServer.start({
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
    const theirEnv = {
      ...LOOPBACK_ENV,
      EPICS_PVA_BROADCAST_PORT: String(server.udpPort),
      TZ: "UTC",
      PATH: "/usr/bin:/bin",
    };
    const ourEnv = {
      ...LOOPBACK_ENV,
      EPICS_PVA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
      TZ: "UTC",
    };
    const same = async (tool: string, args: string[], reset?: () => void) => {
      reset?.();
      let theirs = await runTheirs(tool, args, theirEnv);
      // pvAccessCPP's pvget -M json sometimes prints the channel name as "<NULL>" on a
      // busy machine (a race in the tool itself, seen under load): ask it again.
      for (let i = 0; i < 3 && theirs.out.includes("<NULL>"); i++) {
        reset?.();
        theirs = await runTheirs(tool, args, theirEnv);
      }
      reset?.();
      const ours = await runOurs(tool, args, ourEnv);
      // On a loaded machine (the whole suite beside other work) pvAccessCPP's tool can miss
      // its own 5 s timeout where ours answered: a timeout of the reference alone is asked
      // again, a timeout of both is compared as it is.
      const timedOut = (r: { err: string }) => /(^|\n)Timeout\n/.test(r.err);
      for (let i = 0; i < 2 && timedOut(theirs) && !timedOut(ours); i++) {
        reset?.();
        theirs = await runTheirs(tool, args, theirEnv);
      }
      assert.deepEqual(ours, theirs, `${tool} ${args.join(" ")}`);
    };
    for (const args of GETS) {
      await t.step(`pvget ${args.join(" ")}`.slice(0, 100), () => same("pvget", args));
    }
    for (const [pv, args] of PUTS) {
      const reset = () => pvs.get(pv)!.post(SPECS[pv].value);
      await t.step(`pvput ${args.join(" ")}`, () => same("pvput", args, reset));
    }
    for (const args of INFOS) {
      await t.step(`pvinfo ${args.join(" ")}`, () => same("pvinfo", args));
    }
    await t.step("pvmonitor c:int32 c:enum, two updates", async () => {
      const args = ["c:int32", "c:enum"];
      const child = new Deno.Command(`${TOOLS}/pvmonitor`, {
        args,
        env: theirEnv,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const ac = new AbortController();
      const ours: Run = { out: "", err: "", code: 0 };
      const run = pvmonitor(args, {
        stdout: (s) => (ours.out += s),
        stderr: (s) => (ours.err += s),
        env: ourEnv,
        signal: ac.signal,
      });
      let theirText = "";
      const theirOut = (async () => {
        for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
          theirText += chunk;
        }
        return theirText;
      })();
      const theirErr = new Response(child.stderr).text();
      // Post only once both monitors printed what came before (a condition, not a time).
      const lines = (t: string) => t.split("\n").length - 1;
      const settle = async (n: number) => {
        const end = performance.now() + 20_000;
        while (lines(ours.out) < n || lines(theirText) < n) {
          if (performance.now() > end) {
            throw new Error(
              `monitors printed ${lines(ours.out)} / ${lines(theirText)} lines, want ${n}`,
            );
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await settle(2);
      pvs.get("c:int32")!.post(11);
      await settle(3);
      pvs.get("c:enum")!.post(2);
      await settle(4);
      child.kill("SIGINT");
      ac.abort();
      ours.code = await run;
      const theirs = { out: await theirOut, err: await theirErr, code: (await child.status).code };
      assert.deepEqual(ours, theirs);
      assert.equal(ours.out.split("\n").length, 5);
    });
  },
});
