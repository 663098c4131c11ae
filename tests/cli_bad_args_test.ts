/**
 * Bad arguments to pvserve and to the PVA tools, run in-process: each names what is wrong
 * on stderr and exits with the right status, without touching the network. The PVA tools'
 * texts are pvAccessCPP 7.1's (pvtoolsSrc/*.cpp), quirks included: pvinfo's bad -w
 * message points at 'pvget -h', a long option is reported as the option '-'.
 */
import assert from "node:assert/strict";
import type { CliIO } from "../cli/_io.ts";
import { main as pvserve } from "../cli/pvserve.ts";
import { main as pvget } from "../cli/pvget.ts";
import { main as pvput } from "../cli/pvput.ts";
import { main as pvmonitor } from "../cli/pvmonitor.ts";
import { main as pvinfo } from "../cli/pvinfo.ts";
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";

type Main = (args: string[], io: CliIO) => Promise<number>;

async function run(main: Main, args: string[]) {
  let out = "", err = "";
  const code = await main(args, {
    stdout: (t) => out += t,
    stderr: (t) => err += t,
    // Searches, if any were made by mistake, would go to a port nobody serves.
    env: { ...LOOPBACK_ENV, EPICS_PVA_ADDR_LIST: "127.0.0.1:9", EPICS_CA_ADDR_LIST: "127.0.0.1:9" },
    signal: new AbortController().signal,
  });
  return { code, out, err };
}

Deno.test("pvserve: bad definitions and options say what is wrong; usage errors exit 2", async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [
      [],
      2,
      /^pvserve: nothing to serve: give PV definitions, a YAML file, a device module or --demo/,
    ],
    [["--bogus"], 2, /unknown option '--bogus'/],
    [["x"], 2, /^pvserve: Cannot parse PV definition "x": expected NAME=TYPE\[:VALUE\]/],
    [["x=foo"], 2, /unknown type "foo"/],
    [["x=int32:abc"], 2, /"abc" is not a number/],
    [["x=enum(A|B):C"], 2, /"C" is not one of A\|B/],
    [["x=int16[0]"], 2, /array length must be at least 1/],
    [
      ["x=int16:40000"],
      2,
      /^pvserve: Cannot create PV "x": Value 40000 is outside the range of int16/,
    ],
    [["--ca-port"], 2, /option '--ca-port <port>' argument missing/],
    [["--ca-port", "abc", "x=int32"], 2, /^pvserve: invalid --ca-port "abc"\n$/],
    [["--pva-port", "70000", "x=int32"], 2, /^pvserve: invalid --pva-port "70000"\n$/],
    [["--no-ca", "--no-pva", "x=int32"], 2, /both --no-ca and --no-pva given/],
    [
      ["--ca-port", "0", "--pva-port", "0", "a=int32", "a=int32"],
      1,
      /^pvserve: PV "a" is already hosted\n$/,
    ],
  ];
  for (const [args, code, err] of cases) {
    const r = await run(pvserve, args);
    const what = `pvserve ${args.join(" ")}`;
    assert.equal(r.code, code, `${what}: ${r.err}`);
    assert.match(r.err, err, `${what}: ${r.err}`);
    assert.equal(r.out, "", what);
  }
});

Deno.test("PVA tools: bad arguments as pvAccessCPP reports them (exit 1)", async () => {
  const tools: Array<[string, Main]> = [
    ["pvget", pvget],
    ["pvput", pvput],
    ["pvmonitor", pvmonitor],
    ["pvinfo", pvinfo],
  ];
  for (const [name, main] of tools) {
    const help = `('${name} -h' for help.)`;
    const expect: Array<[string[], number, string]> = [
      [["--bogus", "x"], 1, `Unrecognized option: '--'. ${help}\n`],
      [["-Z"], 1, `Unrecognized option: '-Z'. ${help}\n`],
      [["-p", "xyz", "x"], 1, `${name}: provider 'xyz' is not supported\n`],
    ];
    if (name === "pvinfo") {
      // pvinfo takes no -r, and needs a PV name.
      expect.push([["-r", "field(", "x"], 1, `Unrecognized option: '-r'. ${help}\n`]);
      expect.push([[], 1, `No pv name(s) specified. ${help}\n`]);
      expect.push([
        ["-w", "abc"],
        1,
        `'abc' is not a valid timeout value - ignored. ('pvget -h' for help.)\n` +
        `No pv name(s) specified. ${help}\n`,
      ]);
    } else {
      expect.push([["-r"], 1, `Option '-r' requires an argument. ${help}\n`]);
      expect.push([["-r", "field(", "x"], 1, "failed to parse request string: mismatched () 1\n"]);
    }
    if (name === "pvput") {
      expect.push([[], 1, `No pv name specified. ${help}\n`]);
      expect.push([
        ["-w", "abc"],
        1,
        `'abc' is not a valid timeout value - ignored. ${help}\nNo pv name specified. ${help}\n`,
      ]);
    }
    if (name === "pvget" || name === "pvmonitor") {
      // pvAccessCPP's pvget and pvmonitor do nothing, successfully, without PV names.
      expect.push([[], 0, ""]);
      expect.push([["-w", "abc"], 0, `'abc' is not a valid timeout value - ignored. ${help}\n`]);
    }
    for (const [args, code, err] of expect) {
      const r = await run(main, args);
      const what = `${name} ${args.join(" ")}`;
      assert.deepEqual(r, { code, out: "", err }, what);
    }
  }
});
