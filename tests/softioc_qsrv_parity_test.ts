/**
 * Our softioc over PVA beside EPICS base's softIocPVA (QSRV), when it is on PATH: both load
 * tests/fixtures/ioc/qsrv_parity.db (a record of every hosted type and a group of every
 * member mapping); our PVA client gets each channel (types with ids, values, the marked
 * fields) from both, and monitors a few through puts made in both IOC shells. Everything
 * must be identical but the time stamps.
 * @module
 */

import assert from "node:assert/strict";
import { PvaClient } from "../lib/pva/client/mod.ts";
import { bitPaths, type BitSet, typeAtBit, TypeCode } from "../lib/pva/proto/mod.ts";
import type { PvValue } from "../lib/pva/proto/mod.ts";
import { findTool } from "./_pva_server_tools.ts";
import { REPO_ROOT } from "./_helpers/pvserve.ts";
import { SOFTIOC_CMD, startIocProcess } from "./_helpers/softioc.ts";

const SOFTIOC = findTool("softIocPVA", []);
const FIXTURES = `${REPO_ROOT}/tests/fixtures/ioc`;
const why = SOFTIOC ? "" : " (ignored: softIocPVA is not on PATH)";

const RECORDS = [
  "ai",
  "ao",
  "bi",
  "bo",
  "li",
  "lo",
  "i64i",
  "i64o",
  "mbbi",
  "mbbo",
  "mbbid",
  "mbbod",
  "si",
  "so",
  "lsi",
  "lso",
  "wf",
  "wfl",
  "wfs",
  "wfc",
  "aai",
  "aao",
  "sa",
  "calc",
  "co",
  "sel",
  "seq",
  "df",
  "cmp",
  "pf",
  "ev",
  "hist",
  "perm",
  "state",
  "asub",
].map((r) => `q:${r}`);
const FIELDS = ["EGU", "SCAN", "HIHI", "INP", "NAME", "DESC", "PREC", "SEVR", "AMSG"].map((f) =>
  `q:ai.${f}`
);
const NAMES = [...RECORDS, ...FIELDS, "q:wf.NORD", "q:mbbi.ZRST", "q:ai.VAL[0]", "g:grp"];

interface Ioc extends AsyncDisposable {
  client: PvaClient;
  shell(line: string): Promise<void>;
}

/** Starts an IOC on the fixture (see startIocProcess) with our PVA client onto it. */
async function startIoc(cmd: readonly string[]): Promise<Ioc> {
  const ioc = await startIocProcess(cmd, ["-d", "qsrv_parity.db"], FIXTURES);
  const client = new PvaClient({ env: ioc.env });
  return {
    client,
    shell: ioc.shell,
    async [Symbol.asyncDispose]() {
      await client.close();
      await ioc[Symbol.asyncDispose]();
    },
  };
}

function show(x: unknown): string {
  return JSON.stringify(x, (_k, v) => {
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
    return v;
  });
}

/**
 * The marked fields of a value as text: each marked bit's path ("" is the whole
 * structure), then `path = value` for every leaf under a mark, time stamps as "T".
 */
function render(v: PvValue, marks: BitSet): string[] {
  const type = v.type;
  const paths = bitPaths(type);
  const out: string[] = [];
  const leaves = new Set<number>();
  marks.forEach((b) => {
    out.push(`marked ${paths[b] === "" ? "<whole>" : paths[b]}`);
    const n = typeAtBit(type, b)!.numBits;
    for (let j = b; j < b + n; j++) {
      if (typeAtBit(type, j)!.code !== TypeCode.STRUCTURE) leaves.add(j);
    }
  });
  for (const j of [...leaves].sort((a, b) => a - b)) {
    const p = paths[j];
    const node = v.field(p);
    const raw = /\.(secondsPastEpoch|nanoseconds)$|^(secondsPastEpoch|nanoseconds)$/.test(p)
      ? "T"
      : node.type.code === TypeCode.ANY || node.type.code === TypeCode.UNION
      ? show(node.toJSON())
      : show(node.value);
    out.push(`${p} = ${raw}`);
  }
  return out;
}

Deno.test({
  name: `softioc over PVA serves what softIocPVA serves: types, values, marks${why}`,
  ignore: !SOFTIOC,
  async fn() {
    await using base = await startIoc([SOFTIOC!]);
    await using ours = await startIoc(SOFTIOC_CMD);
    for (const name of NAMES) {
      // QSRV ignores a pvRequest's field selection: everything comes, bit 0 marked.
      const [b, o] = await Promise.all(
        [base, ours].map((i) => i.client.get(name, { request: "field(value)" })),
      );
      assert.equal(o.type.toString(), b.type.toString(), `type of ${name}`);
      for (const [m, t] of [[o, "ours"], [b, "base"]] as const) {
        assert.ok(m.changed.get(0), `${name}: ${t} marks the whole structure`);
      }
      assert.deepEqual(render(o, o.changed), render(b, b.changed), `get ${name}`);
    }
  },
});

Deno.test({
  name: `softioc over PVA: monitor updates carry the fields softIocPVA's do${why}`,
  ignore: !SOFTIOC,
  async fn() {
    await using base = await startIoc([SOFTIOC!]);
    await using ours = await startIoc(SOFTIOC_CMD);
    const watched = ["q:ai", "q:mbbi", "q:si", "q:li", "g:grp"];
    const seen = new Map<Ioc, Map<string, string[][]>>();
    const subs = [];
    for (const ioc of [base, ours]) {
      const per = new Map<string, string[][]>();
      seen.set(ioc, per);
      for (const name of watched) {
        per.set(name, []);
        subs.push(ioc.client.monitor(name, (ev) => {
          if (ev.kind === "data") per.get(name)!.push(render(ev.value, ev.value.changed));
        }));
      }
    }
    const settle = async (n: number) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const counts = [...seen.values()].flatMap((m) => [...m.values()].map((u) => u.length));
        if (counts.every((c) => c >= n)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 300));
    };
    await settle(1);
    const steps = [
      "dbpf q:ai 7", // HIGH alarm: value, alarm, time
      "dbpf q:ai.EGU mV", // a property change
      "dbpf q:mbbi 2",
      "dbpf q:mbbi.ZRST ZZ", // choices of another state
      "dbpf q:mbbi.TWST T2", // the current state's string: value, then choices
      "dbpf q:si abc",
      "dbpf q:si.DESC words",
      "dbpf q:li 60",
      "dbpf g:ao 4.5", // trigger "*": any member li makes it the whole group
      "dbpf g:wf.PROC 1", // own trigger
      "dbpf g:li 9", // any member li's own trigger: the whole group
      "dbpf g:mb 1", // mb triggers mb and li
    ];
    for (const s of steps) {
      await base.shell(s);
      await ours.shell(s);
      // One step at a time: QSRV's small monitor queue merges updates that come together.
      await new Promise((r) => setTimeout(r, 400));
    }
    await settle(2);
    for (const s of subs) await s.close();
    for (const name of watched) {
      assert.deepEqual(seen.get(ours)!.get(name), seen.get(base)!.get(name), `updates of ${name}`);
    }
  },
});
