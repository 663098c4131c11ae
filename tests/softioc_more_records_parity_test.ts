/**
 * Side by side with EPICS base's softIoc (when it is on PATH), for histogram, permissive,
 * state and aSub (tests/fixtures/ioc/parity_more.db): dbl, dbpr at every level that prints
 * no pointers, dbgf and dbpf, and a caget (values, then DBR_CTRL_DOUBLE) of every field
 * after iocInit and after puts and processing. Base has no aSub subroutine registered:
 * its aSub records show the empty-SNAM and SNAM-not-found behaviour.
 * @module
 */

import assert from "node:assert/strict";
import { main as caget } from "../cli/caget.ts";
import { main as caput } from "../cli/caput.ts";
import { recordType } from "../lib/ioc/record_type.ts";
import { findTool } from "./_pva_server_tools.ts";
import { captureIO } from "./_helpers/ca_cli_io.ts";
import { REPO_ROOT } from "./_helpers/pvserve.ts";
import { type IocProcess, shellRun, SOFTIOC_CMD, startIocProcess } from "./_helpers/softioc.ts";

const SOFTIOC = findTool("softIoc", []);
const FIXTURES = `${REPO_ROOT}/tests/fixtures/ioc`;
const DB = "parity_more.db";
const ignore = SOFTIOC === undefined;
const why = ignore ? " (ignored: softIoc is not on PATH)" : "";

/** The records of the fixture with their types, in file order. */
function fixtureRecords(): [string, string][] {
  const text = Deno.readTextFileSync(`${FIXTURES}/${DB}`);
  return [...text.matchAll(/^record\((\w+), "([^"]+)"\)/gm)].map((m) => [m[2], m[1]]);
}

/** Every field a client can read: all but NOACCESS ones, whose arrays (VAL, A, VALA) count. */
function fieldNames(): string[] {
  const names: string[] = [];
  for (const [rec, type] of fixtureRecords()) {
    names.push(`${rec}.RTYP`);
    for (const f of recordType(type)!.fields) {
      const array = f.special === "SPC_DBADDR";
      if (f.type !== "NOACCESS" || array) names.push(`${rec}.${f.name}`);
    }
  }
  return names;
}

/** Starts an IOC on the fixture (see startIocProcess). */
function startIoc(cmd: readonly string[]): Promise<IocProcess> {
  return startIocProcess(cmd, ["-d", DB], FIXTURES);
}

async function getAll(port: number, names: string[]): Promise<string[]> {
  await using c = captureIO(port);
  await caget(["-t", "-w", "5", ...names], c.io);
  return c.out.stdout.split("\n").slice(0, names.length);
}

async function getCtrl(port: number, names: string[]): Promise<string[]> {
  await using c = captureIO(port);
  await caget(["-w", "5", "-d", "DBR_CTRL_DOUBLE", ...names], c.io);
  return c.out.stdout.split(/\n(?=\S)/).slice(0, names.length);
}

async function compareAll(base: IocProcess, ours: IocProcess, names: string[], when: string) {
  const [a, b] = await Promise.all([getAll(base.port, names), getAll(ours.port, names)]);
  const diffs = names.flatMap((n, i) => a[i] === b[i] ? [] : [`${n}: base ${a[i]} ours ${b[i]}`]);
  assert.deepEqual(diffs, [], `${when}: ${diffs.length} of ${names.length} fields differ`);
  const [c, d] = await Promise.all([getCtrl(base.port, names), getCtrl(ours.port, names)]);
  const ctrl = names.flatMap((n, i) => {
    if (c[i] === d[i]) return [];
    // Only the lines that differ, as "line: base | ours".
    const x = c[i].split("\n"), y = d[i].split("\n");
    const lines = x.flatMap((l, j) => l === y[j] ? [] : [`${l.trim()} | ${y[j]?.trim()}`]);
    return [`${n}: ${lines.join("; ")}`];
  });
  assert.deepEqual(ctrl, [], `${when}: ${ctrl.length} of ${names.length} DBR_CTRL_DOUBLE differ`);
}

async function put(port: number, name: string, value: string | string[]): Promise<void> {
  await using c = captureIO(port);
  const args = Array.isArray(value) ? ["-a", name, String(value.length), ...value] : [name, value];
  // A put the record refuses (aSub's SNAM) fails alike in both: the status is not compared.
  await caput(["-c", "-t", "-w", "5", ...args], c.io);
}

Deno.test({
  name: `dbl, dbpr, dbgf and dbpf of histogram, permissive, state and aSub match softIoc${why}`,
  ignore,
  async fn() {
    const records = fixtureRecords().map(([r]) => r);
    let commands = 'dbl\ndbl "histogram"\ndbl "aSub" "SNAM VAL"\n';
    for (const r of records) for (const level of [0, 1, 2, 3]) commands += `dbpr ${r} ${level}\n`;
    commands += "dbgf m:hist\ndbgf m:asub.VALA\ndbgf m:asub.B\ndbgf m:asub.C\ndbgf m:asub3.A\n" +
      "dbgf m:asub3.VALB\ndbgf m:asub2\ndbpf m:perm2 9\ndbgf m:st\ndbpf m:sig 6.5\n" +
      "dbpf m:hist.PROC 1\ndbgf m:hist\ndbpf m:hist.SGNL 1.5\ndbgf m:hist\ndbgf m:asub.B\n" +
      "dbgf m:asub.NEB\ndbpf m:asub2.PROC 1\ndbgf m:asub2\n";
    const [base, ours] = await Promise.all([
      shellRun([SOFTIOC!], commands, FIXTURES, DB),
      shellRun(SOFTIOC_CMD, commands, FIXTURES, DB),
    ]);
    const strip = (s: string) =>
      s.replace(/^#{20,}\n(##.*\n)+#{20,}\n/m, "").replace(/TIME: [0-9-]+ [0-9:.]+/g, "TIME: -")
        // Addresses differ from run to run (ours are made up, of the same width).
        .replace(/PTR 0x[0-9a-f]+/g, "PTR 0x-");
    assert.equal(strip(ours), strip(base));
  },
});

/** The puts of the second phase, in both IOCs, in order. */
const PUTS: [string, string | string[]][] = [
  ["m:perm2", "5"],
  ["m:perm.WFLG", "0"],
  ["m:perm.PROC", "1"],
  ["m:perm.LABL", "a label longer than twenty"],
  ["m:st", "running"],
  ["m:st2.PROC", "1"],
  ["m:sig", "3.7"],
  ["m:hist.PROC", "1"],
  ["m:sig", "0"],
  ["m:hist.PROC", "1"],
  ["m:sig", "7.99"],
  ["m:hist.PROC", "1"],
  ["m:sig", "8"],
  ["m:hist.PROC", "1"],
  ["m:sig", "1"],
  ["m:hist.PROC", "1"],
  ["m:hist2.PROC", "1"],
  ["m:hist2.SGNL", "5"],
  ["m:hist2.SGNL", "11.9"],
  ["m:hist2.SGNL", "6"],
  ["m:hist2.PROC", "1"],
  ["m:hist3.PROC", "1"],
  ["m:hist.CMD", "Stop"],
  ["m:hist.PROC", "1"],
  ["m:hist.CMD", "Start"],
  ["m:hist.PROC", "1"],
  ["m:hist2.ULIM", "16"],
  ["m:hist2.PROC", "1"],
  ["m:asub.A", "4.5"],
  ["m:asub.C", ["one", "two"]],
  ["m:asub.VALA", ["1", "2", "3"]],
  ["m:asub.PROC", "1"],
  ["m:asub2.PROC", "1"],
  ["m:asub3.PROC", "1"],
  ["m:asub3.A", ["72", "105"]],
  ["m:asub2.SNAM", "other"],
  ["m:asub2.PROC", "1"],
];

Deno.test({
  name:
    `caget of every field of histogram, permissive, state and aSub matches softIoc, before and after puts${why}`,
  ignore,
  async fn() {
    const names = fieldNames();
    await using base = await startIoc([SOFTIOC!]);
    await using ours = await startIoc(SOFTIOC_CMD);
    await compareAll(base, ours, names, "after iocInit");
    for (const ioc of [base, ours]) for (const [n, v] of PUTS) await put(ioc.port, n, v);
    await compareAll(base, ours, names, "after puts");
  },
});
