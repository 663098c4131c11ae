/**
 * Benchmark of the script device support: processings per second of
 *
 * - an ao whose OUT calls a small function (`@tsBenchFn(VAL)`), written by CA puts
 *   (plain WRITEs from our client, in batches closed by a put-callback);
 *   and by in-process puts (dbPutField, no network);
 * - an ai whose INP reads a variable (`@tsBenchVar`), processed by a scan loop (the
 *   engine's process(), as a periodic scan calls it);
 *
 * each against the same record as Soft Channel (the ao with a constant OUT, the ai
 * reading another record through a DB link), in the same run, alternating. Prints the
 * rates, the ratio tsdev / Soft Channel and the overhead per processing.
 *
 * Usage: deno run -A tools/bench/tsdev.ts [--seconds N] [--rounds N]
 * @module
 */

import { epicsConfigFrom } from "../../lib/core/env.ts";
import { CaServer } from "../../lib/ca/server/server.ts";
import { CaContext } from "../../lib/ca/client/context.ts";
import { IocDatabase, type RecordDef } from "../../lib/ioc/database.ts";
import { IocProvider } from "../../lib/ioc/provider.ts";
import { TsdevContext } from "../../lib/ioc/tsdev/tsdev.ts";
import { type BenchRow, reportRows } from "./_results.ts";

function arg(name: string, def: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : def;
}
const SECONDS = arg("--seconds", 1);
const ROUNDS = arg("--rounds", 3);
const BATCH = 200;

function rec(type: string, name: string, fields: Record<string, string>): RecordDef {
  return {
    type,
    name,
    fields: Object.entries(fields).map(([n, v]) => ({ name: n, value: v, file: "b", line: 1 })),
    infos: [],
    aliases: [],
    file: "b",
    line: 1,
  };
}

const g = globalThis as unknown as Record<string, unknown>;
let calls = 0;
g.tsBenchFn = (v: number) => {
  calls++;
  return void v;
};
g.tsBenchVar = 1.5;

const ts = new TsdevContext();
const db = new IocDatabase({ devices: [ts.device] });
db.load([
  rec("ao", "soft:ao", { OUT: "0" }),
  rec("ao", "ts:ao", { DTYP: "tsdev", OUT: "@tsBenchFn(VAL)" }),
  rec("ao", "src", { VAL: "1.5" }),
  rec("ai", "soft:ai", { INP: "src" }),
  rec("ai", "ts:ai", { DTYP: "tsdev", INP: "@tsBenchVar" }),
]);
db.init();
const server = await CaServer.start({
  provider: new IocProvider(db),
  config: epicsConfigFrom({
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_CAS_BEACON_ADDR_LIST: "",
  }).cas,
  port: 0,
});
const ctx = new CaContext({
  repeater: false,
  config: epicsConfigFrom({
    EPICS_CA_AUTO_ADDR_LIST: "NO",
    EPICS_CA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
  }).ca,
});

/** CA puts per second to one record (each put processes it). */
async function caPuts(name: string): Promise<number> {
  const ch = ctx.channel(name);
  await ch.put(0, { wait: true });
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  let n = 0;
  let v = 0;
  while (performance.now() < end) {
    for (let i = 0; i < BATCH - 1; i++) await ch.put(++v);
    await ch.put(++v, { wait: true });
    n += BATCH;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** In-process puts per second (dbPutField, each processes the record). */
async function dbPuts(name: string): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) await db.putField(name, i);
    n += 1000;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Scan-loop processings per second of one record. */
function scans(name: string): number {
  const r = db.record(name)!;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) db.process(r);
    n += 1000;
  }
  return n / ((performance.now() - t0) / 1000);
}

const best = { softAo: 0, tsAo: 0, softPut: 0, tsPut: 0, softAi: 0, tsAi: 0 };
for (let round = 0; round < ROUNDS; round++) {
  best.softAo = Math.max(best.softAo, await caPuts("soft:ao"));
  best.tsAo = Math.max(best.tsAo, await caPuts("ts:ao"));
  best.softPut = Math.max(best.softPut, await dbPuts("soft:ao"));
  best.tsPut = Math.max(best.tsPut, await dbPuts("ts:ao"));
  best.softAi = Math.max(best.softAi, scans("soft:ai"));
  best.tsAi = Math.max(best.tsAi, scans("ts:ai"));
}
if (calls === 0 || db.getField("ts:ai") !== 1.5 || db.record("ts:ai")!.f.SEVR !== 0) {
  throw new Error("The tsdev records did not run their code");
}
const rows: BenchRow[] = [];
const line = (what: string, soft: number, tsdev: number) => {
  rows.push({
    bench: "tsdev",
    measurement: what,
    unit: "processings/s",
    ours: tsdev,
    reference: soft,
    refName: "our Soft Ch.",
    higherIsBetter: true,
  });
  const overheadUs = (1 / tsdev - 1 / soft) * 1e6;
  console.log(
    `${what.padEnd(40)} Soft Channel ${Math.round(soft).toLocaleString("en").padStart(10)}/s  ` +
      `tsdev ${Math.round(tsdev).toLocaleString("en").padStart(10)}/s  ratio ${
        (tsdev / soft).toFixed(2)
      }  overhead ${overheadUs.toFixed(2)} us/processing`,
  );
};
console.log(`best of ${ROUNDS} rounds of ${SECONDS} s`);
line("ao calling a function, CA puts", best.softAo, best.tsAo);
line("ao calling a function, in-process puts", best.softPut, best.tsPut);
line("ai reading a variable, scan loop", best.softAi, best.tsAi);
reportRows(rows);

await ctx.close();
await server.close();
db.close();
ts.close();
