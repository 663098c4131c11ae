/**
 * Channel names with filters (`REC.[2:4]`, `REC.{"dbnd":{"abs":1.5}}`, ts, dec, sync,
 * utag), side by side with EPICS base's softIocPVA when it is on PATH: base's own caget,
 * cainfo, camonitor, pvget and pvmonitor against both IOCs loading tests/fixtures/ioc/filters.db
 * must print the same; literal outputs recorded from softIocPVA 7.0.8.1 are checked too.
 * @module
 */

import assert from "node:assert/strict";
import { findTool } from "./_pva_server_tools.ts";
import { REPO_ROOT } from "./_helpers/pvserve.ts";
import {
  captureOutput,
  type IocProcess,
  SOFTIOC_CMD,
  startIocProcess,
} from "./_helpers/softioc.ts";

const SOFTIOC = findTool("softIocPVA", []);
const CAGET = findTool("caget", []);
const CAINFO = findTool("cainfo", []);
const CAPUT = findTool("caput", []);
const CAMONITOR = findTool("camonitor", []);
const PVGET = findTool("pvget", []);
const PVMONITOR = findTool("pvmonitor", []);
const FIXTURES = `${REPO_ROOT}/tests/fixtures/ioc`;

const ignore = [SOFTIOC, CAGET, CAINFO, CAPUT, CAMONITOR, PVGET, PVMONITOR].includes(undefined);
const why = ignore ? " (ignored: softIocPVA or base's tools are not on PATH)" : "";

type Ioc = IocProcess;

/** Starts an IOC on the fixture (see startIocProcess). */
function startIoc(cmd: readonly string[]): Promise<Ioc> {
  return startIocProcess(cmd, ["-d", "filters.db"], FIXTURES);
}

async function tool(path: string, args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(path, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return dec.decode(out.stdout) + dec.decode(out.stderr);
}

/** Runs `fn` with both IOCs up: base's softIocPVA and ours. */
async function sideBySide(fn: (base: Ioc, ours: Ioc) => Promise<void>): Promise<void> {
  await using base = await startIoc([SOFTIOC!]);
  await using ours = await startIoc(SOFTIOC_CMD);
  await fn(base, ours);
}

/** caget output recorded from softIocPVA 7.0.8.1 on filters.db (after `caput f:ai 3.5`). */
const CAGET_RECORDED: [string, string][] = [
  ["f:wf.[2:4]", "f:wf.[2:4] 3 3 4 5"],
  ["f:wf.[2:1:4]", "f:wf.[2:1:4] 3 3 4 5"],
  ["f:wf.[-3:]", "f:wf.[-3:] 3 6 7 8"],
  ["f:wf.[2]", "f:wf.[2]                       3"],
  ["f:wf.[5:2]", "f:wf.[5:2]                     *** CA error Invalid element count requested"],
  ["f:wf.[::2]", "f:wf.[::2] 3 1 2 3"],
  ["f:wf.[1:2:]", "f:wf.[1:2:] 5 2 4 6 8 0"],
  ['f:wf.VAL{"arr":{"s":2,"e":4}}', 'f:wf.VAL{"arr":{"s":2,"e":4}} 3 3 4 5'],
  ["f:wf.{arr:{s:-2}}", "f:wf.{arr:{s:-2}} 2 7 8"],
  ['f:wf.[2:4]{"arr":{"s":1}}', 'f:wf.[2:4]{"arr":{"s":1}} 2 4 5'],
  ["f:wf.[0x2:4]", "f:wf.[0x2:4] 3 3 4 5"],
  ["f:wf.[8:9]", "f:wf.[8:9] 2 0 0"],
  ['f:wf.{"arr":{"s":"3"}}', 'f:wf.{"arr":{"s":"3"}} 7 4 5 6 7 8 0 0'],
  ['f:wf.{"arr":{"s":1.7}}', 'f:wf.{"arr":{"s":1.7}} 9 2 3 4 5 6 7 8 0 0'],
  ["f:wf.[1:-1:5]", "f:wf.[1:-1:5] 5 2 3 4 5 6"],
  ['f:wf.[2:4]{"dbnd":{"d":1}}', 'f:wf.[2:4]{"dbnd":{"d":1}} 3 3 4 5'],
  ["f:ai.[2:4]", "f:ai.[2:4]                     3.5"],
  ["f:ai.", "f:ai.                          3.5"],
  ["f:ai.{}", "f:ai.{}                        3.5"],
  ["f:si.$[1:3]", "f:si.$[1:3] 3 101 108 0"],
  ['f:ai.{"ts":{},"ts":{}}', 'f:ai.{"ts":{},"ts":{}}         3.5'],
  ['f:ai.{"dbnd":{"d":1},"ts":{"num":"sec"}}', 'f:ai.{"dbnd":{"d":1},"ts":{"num":"sec"}} 3.5'],
  ['f:li.{"ts":{"str":"e"}}', 'f:li.{"ts":{"str":"e"}}        <undefined>'],
];

/** Names softIocPVA refuses (caget: not found). */
const REFUSED = [
  "f:wf.[]",
  "f:wf.[2:4",
  "f:wf.[a]",
  'f:ai.{"xyz":{}}',
  'f:ai.{"ts":{}',
  "f:ai.{ts:{}}x",
  'f:ai.{"ts":1}',
  'f:ai.{"ts":{"num":"x"}}',
  'f:ai.{"ts":{"num":2}}',
  'f:ai.{"dec":{"n":0}}',
  'f:ai.{"dec":{}}',
  'f:ai.{"ts":[]}',
  "f:ai.VAL junk",
  'f:ai.{"ts":{}}{"dec":{"n":2}}',
  'f:ai.{"sync":{"m":"while","s":"nope"}}',
  'f:wf.{"dec":{"n":2}}[0:1]',
];

Deno.test({
  name: `caget and cainfo of filtered names print what softIocPVA's do${why}`,
  ignore,
  async fn() {
    await sideBySide(async (base, ours) => {
      for (const ioc of [base, ours]) await tool(CAPUT!, ["-t", "f:ai", "3.5"], ioc.env);
      const names = CAGET_RECORDED.map(([n]) => n);
      const get = (ioc: Ioc) => tool(CAGET!, ["-w", "1", ...names], ioc.env);
      const [a, b] = await Promise.all([get(base), get(ours)]);
      assert.equal(b, a);
      // caget pads the names of one call to a common width: compare words.
      const words = (t: string) => t.replace(/ +/g, " ");
      for (const [, line] of CAGET_RECORDED) assert.ok(words(b).includes(`${words(line)}\n`), line);
      // One name a call: caget prints nothing of the others when one is not found.
      const refused = (ioc: Ioc) =>
        Promise.all(REFUSED.map((n) => tool(CAGET!, ["-w", "0.5", n], ioc.env)));
      const [r, q] = await Promise.all([refused(base), refused(ours)]);
      assert.deepEqual(q, r);
      REFUSED.forEach((n, i) =>
        assert.equal(q[i], `Channel connect timed out: '${n}' not found.\n`)
      );
      const infoNames = [
        "f:wf.[2:4]",
        "f:wf.[5:2]",
        "f:wf.[2]",
        'f:ai.{"ts":{"num":"dbl"}}',
        'f:ai.{"ts":{"num":"ts"}}',
        'f:ai.{"ts":{"str":"iso"}}',
        'f:mbbo.{"ts":{"num":"nsec"}}',
        "f:si.$[1:3]",
        'f:wf.{"ts":{"num":"ts"},"arr":{"s":1}}',
        "f:mbbo.[0:3]",
      ];
      const info = async (ioc: Ioc) =>
        (await tool(CAINFO!, infoNames, ioc.env)).replace(/ *Host: .*\n/g, "");
      const [c, d] = await Promise.all([info(base), info(ours)]);
      assert.equal(d, c);
      assert.match(
        d,
        /f:ai\.\{"ts":\{"num":"ts"\}\}\n(.*\n){2} *Native data type: DBF_DOUBLE\n.*\n *Element count: +2\n/,
      );
    });
  },
});

Deno.test({
  name: `refused filters print what softIocPVA prints${why}`,
  ignore,
  async fn() {
    await sideBySide(async (base, ours) => {
      const names = ['f:ai.{"xyz":{}}', "f:ai.{ts:{}}x", 'f:ai.{"ts" {}}'];
      for (const ioc of [base, ours]) await tool(CAGET!, ["-w", "0.5", ...names], ioc.env);
      // softIocPVA's stdout is a pipe (block-buffered): its lines show once it exits.
      await base.shell("exit");
      await new Promise((r) => setTimeout(r, 500));
      for (
        const line of [
          "dbChannelCreate: Channel filter 'xyz' not found",
          "dbChannelCreate: parse error: trailing garbage\n" +
          "                                {ts:{}}x\n" +
          "                     (right here) ------^\n",
          "dbChannelCreate: parse error: object key and value must be separated by a colon (':')\n" +
          '                                 {"ts" {}}\n' +
          "                     (right here) ------^\n",
        ]
      ) {
        assert.ok((base.text.out + base.text.err).includes(line), `base: ${line}`);
        assert.ok((ours.text.out + ours.text.err).includes(line), `ours: ${line}`);
      }
      assert.ok(ours.text.err.includes("Channel filter 'xyz' not found"));
    });
  },
});

/** camonitor (no time stamps) of `names` while `act` runs; lines grouped by name, in order. */
async function monitor(
  ioc: Ioc,
  names: string[],
  act: () => Promise<void>,
  pva = false,
): Promise<string> {
  const child = new Deno.Command(pva ? PVMONITOR! : CAMONITOR!, {
    args: pva ? names : ["-tn", "-m", "va", ...names],
    env: ioc.env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text, drained } = captureOutput(child);
  await new Promise((r) => setTimeout(r, 1500));
  await act();
  await new Promise((r) => setTimeout(r, 500));
  child.kill("SIGTERM");
  await child.status;
  await drained;
  const lines = (text.out + text.err).split("\n").filter((l) => l !== "")
    .map((l) => l.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+/g, "TIME").trimEnd());
  return names.map((n) => lines.filter((l) => l.startsWith(`${n} `)).join("\n")).join("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: `camonitor and pvmonitor of dbnd, dec, arr, utag and sync match softIocPVA${why}`,
  ignore,
  async fn() {
    await sideBySide(async (base, ours) => {
      for (const ioc of [base, ours]) await tool(CAPUT!, ["-t", "f:ai", "3.5"], ioc.env);
      const names = [
        'f:ai.{"dbnd":{"abs":1.5}}',
        "f:ai.{dbnd:{rel:10}}",
        'f:ai.{"dec":{"n":3}}',
        'f:ai.{"dec":{"n":2},"dbnd":{"d":1}}',
        "f:wf.[1:3]",
        'f:li.{"utag":{"V":5}}',
        'f:li.{"utag":{"V":4}}',
      ];
      const puts = (ioc: Ioc) => async () => {
        for (
          const v of ["1", "2", "2.5", "4", "4.2", "10", "10.5", "11", "12", "-3", "-3.1", "0"]
        ) {
          await tool(CAPUT!, ["-t", "f:ai", v], ioc.env);
          await tool(CAPUT!, ["-t", "f:li", v.replace(/\..*/, "")], ioc.env);
        }
        await tool(CAPUT!, ["-t", "-a", "f:wf", "3", "7", "8", "9"], ioc.env);
        await sleep(200);
        await tool(CAPUT!, ["-t", "-a", "f:wf", "5", "1", "2", "3", "4", "5"], ioc.env);
      };
      const [a, b] = await Promise.all([
        monitor(base, names, puts(base)),
        monitor(ours, names, puts(ours)),
      ]);
      assert.equal(b, a);
      // Recorded from softIocPVA: the deadband and decimation of that sequence.
      const values = (name: string) =>
        b.split("\n").filter((l) => l.startsWith(`${name} `)).map((l) => l.split(/ +/).pop());
      assert.deepEqual(values('f:ai.{"dbnd":{"abs":1.5}}'), [
        "3.5",
        "1",
        "4",
        "10",
        "12",
        "-3",
        "0",
      ]);
      assert.deepEqual(values('f:ai.{"dec":{"n":3}}'), ["3.5", "2.5", "10", "12", "0"]);
      assert.deepEqual(values('f:li.{"utag":{"V":4}}'), ["INVALID"]);

      // sync: a dbState flag made, set and cleared on the IOC shell.
      const syncNames = ["while", "unless", "first", "after", "before", "last"].map((m) =>
        `f:ai.{"sync":{"${m}":"S"}}`
      );
      const toggles = (ioc: Ioc) => async () => {
        let i = 0;
        for (const on of [false, true, true, false, false, true, false]) {
          await ioc.shell(on ? "dbStateSet S" : "dbStateClear S");
          await sleep(100);
          await tool(CAPUT!, ["-t", "f:ai", String(++i)], ioc.env);
        }
      };
      for (const ioc of [base, ours]) await ioc.shell("dbStateCreate S");
      await sleep(300);
      const [c, d] = await Promise.all([
        monitor(base, syncNames, toggles(base)),
        monitor(ours, syncNames, toggles(ours)),
      ]);
      assert.equal(d, c);
      const syncValues = (name: string) =>
        d.split("\n").filter((l) => l.startsWith(`${name} `)).map((l) => l.split(/ +/).pop());
      assert.deepEqual(syncValues(syncNames[0]), ["2", "3", "6"]);
      assert.deepEqual(syncValues(syncNames[4]), ["1", "5"]);

      // PVA (QSRV): the same filters over pvmonitor.
      for (const ioc of [base, ours]) await ioc.shell("dbStateSet S");
      const pvaNames = ['f:ai.{"dec":{"n":3}}', "f:ai.{dbnd:{abs:1.5}}", "f:wf.[1:3]"];
      const [e, f] = await Promise.all([
        monitor(base, pvaNames, puts(base), true),
        monitor(ours, pvaNames, puts(ours), true),
      ]);
      assert.equal(f, e);
      assert.match(f, /f:wf\.\[1:3\] +TIME +\[2,3,4\]\nf:wf\.\[1:3\] +TIME +\[8,9\]/);
    });
  },
});

Deno.test({
  name: `pvget of filtered names prints what softIocPVA's QSRV serves${why}`,
  ignore,
  async fn() {
    await sideBySide(async (base, ours) => {
      for (const ioc of [base, ours]) await tool(CAPUT!, ["-t", "f:ai", "3.5"], ioc.env);
      const names = [
        "f:wf.[2:4]",
        "f:wf.[2]",
        "f:wf.[5:2]",
        "f:ai.",
        "f:mbbo.[1:2]",
        "f:si.$[1:3]",
      ];
      const get = async (ioc: Ioc) =>
        (await tool(PVGET!, ["-w", "2", ...names], ioc.env))
          .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+/g, "TIME");
      const [a, b] = await Promise.all([get(base), get(ours)]);
      assert.equal(b, a);
      // Recorded from softIocPVA: one element left is a scalar, none an empty array.
      assert.match(b, /f:wf\.\[2\] +TIME {2}3 \n/);
      assert.match(b, /f:wf\.\[5:2\] +TIME {2}\[\]\n/);
      assert.match(b, /f:si\.\$\[1:3\] +<undefined> +\[101,108,0\]\n/);
    });
  },
});
