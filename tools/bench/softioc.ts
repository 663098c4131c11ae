/**
 * softioc against EPICS base's softIoc, in the same run and with the same client (ours):
 * - load + iocInit of 100,000 records (process start to the "iocRun" message);
 * - FLNK chain processings per second driven by CA put-callbacks (a 10-record chain);
 * - CA gets per second of one record (batches of 100), through our CA client and from a
 *   raw client that only counts the reply bytes, and monitor updates per second of the
 *   chain's end while it is driven.
 * Prints each rate and the ratio ours/softIoc (> 1 means we are faster). The IOCs run
 * `--rounds` times each (default 2), alternately, and the best figure of each is kept:
 * other load on the machine only ever slows a run down.
 *
 * The raw get row is a chain of round trips (both servers sit about half idle), so it
 * measures the wake-ups and system calls of both ends as much as the server's work. As
 * the floor of that row, the same client also drives a do-nothing Deno process that
 * answers each batch's 1,600 bytes with 2,400 bytes of zeros (the size of the real
 * replies) and does nothing else: what a server written in Deno could reach here.
 *
 * ```text
 * deno run -A tools/bench/softioc.ts [--records N] [--seconds S] [--rounds R]
 * ```
 * softIoc is found on PATH (or /opt/epics/base/bin/linux-x86_64); without it only our figures
 * are printed.
 * @module
 */

import { CaContext } from "../../lib/ca/client/context.ts";
import { CaCommand, Dbr } from "../../lib/ca/proto/constants.ts";
import { CaFramer } from "../../lib/ca/proto/framer.ts";
import {
  encodeClientName,
  encodeCreateChanRequest,
  encodeHostName,
  encodeReadNotify,
  encodeVersion,
} from "../../lib/ca/proto/messages.ts";
import { ByteWriter } from "../../lib/core/bytes.ts";
import { epicsConfigFrom } from "../../lib/core/env.ts";
import { benchRepeaterPort, closeBenchRepeater } from "./_repeater.ts";
import { type BenchRow, reportRows } from "./_results.ts";
import { spawnUntil } from "./_pva_common.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const LOOPBACK: Record<string, string> = {
  EPICS_CA_AUTO_ADDR_LIST: "NO",
  EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
  EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
  EPICS_CAS_BEACON_ADDR_LIST: "127.0.0.1",
  EPICS_PVA_AUTO_ADDR_LIST: "NO",
  EPICS_PVAS_INTF_ADDR_LIST: "127.0.0.1",
  EPICS_PVAS_AUTO_BEACON_ADDR_LIST: "NO",
  EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1",
};

function arg(name: string, dflt: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
}
const N = arg("--records", 100_000);
const SECONDS = arg("--seconds", 3);
const ROUNDS = Math.max(1, arg("--rounds", 2));
const CHAIN = 10;

function findSoftIoc(): string | undefined {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), "/opt/epics/base/bin/linux-x86_64"];
  for (const d of dirs) {
    try {
      if (Deno.statSync(`${d}/softIoc`).isFile) return `${d}/softIoc`;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

function writeDb(dir: string): string {
  let t = "";
  for (let i = 0; i < CHAIN; i++) {
    const next = i + 1 < CHAIN ? `field(FLNK, "b:c${i + 1}")` : "";
    t += i === 0
      ? `record(ao, "b:c0") { ${next} }\n`
      : `record(calc, "b:c${i}") { field(INPA, "b:c${i - 1}") field(CALC, "A+1") ${next} }\n`;
  }
  for (let i = 0; i < N; i++) {
    const type = i % 3 === 0 ? "ai" : i % 3 === 1 ? "ao" : "calc";
    const extra = type === "calc" ? ' field(CALC, "A+B")' : ' field(EGU, "mm") field(PREC, "2")';
    t += `record(${type}, "b:r${i}") { field(DESC, "record ${i}")${extra} }\n`;
  }
  const path = `${dir}/bench.db`;
  Deno.writeTextFileSync(path, t);
  return path;
}

/** The better figure of two runs of one IOC: the faster load and the higher rates. */
function best(a: Run | undefined, b: Run): Run {
  if (!a) return b;
  return {
    load: Math.min(a.load, b.load),
    chain: Math.max(a.chain, b.chain),
    gets: Math.max(a.gets, b.gets),
    rawGets: Math.max(a.rawGets, b.rawGets),
    monitors: Math.max(a.monitors, b.monitors),
  };
}

let nextPort = 31064 + Math.floor(Math.random() * 2000);

interface Run {
  load: number;
  chain: number;
  gets: number;
  rawGets: number;
  monitors: number;
}

/**
 * CA gets per second of `name` from a raw client on one circuit: batches of 100
 * READ_NOTIFY (DBR_DOUBLE, 1 element) in one write, the next batch once all 100 replies
 * (24 bytes each) are in. The client only counts bytes, so the server's turnaround is
 * what is measured (the row beside it goes through our CA client, which both share).
 */
async function rawGets(port: number, name: string, seconds: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  try {
    const w = new ByteWriter();
    encodeVersion(w);
    encodeClientName(w, "bench");
    encodeHostName(w, "localhost");
    encodeCreateChanRequest(w, { cid: 1, name });
    await conn.write(w.toBytes());
    const buf = new Uint8Array(1 << 16);
    const framer = new CaFramer();
    let sid = -1;
    while (sid < 0) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("server closed the circuit");
      for (const m of framer.receive(buf.slice(0, n))) {
        if (m.command === CaCommand.CREATE_CHAN) sid = m.param2;
      }
    }
    w.reset();
    for (let i = 0; i < 100; i++) {
      encodeReadNotify(w, { sid, ioid: i, dataType: Dbr.DOUBLE, count: 1 });
    }
    return await roundTrips(conn, w.toBytes(), RAW_REPLY_BYTES, seconds);
  } finally {
    conn.close();
  }
}

/** Bytes of the replies to one raw batch: 100 READ_NOTIFY replies of one DBR_DOUBLE. */
const RAW_REPLY_BYTES = 100 * 24;
/** Bytes of one raw batch: 100 READ_NOTIFY requests. */
const RAW_REQUEST_BYTES = 100 * 16;

/**
 * Writes `batch`, waits for `want` reply bytes, again and again for `seconds`; returns
 * the requests per second (100 per batch).
 */
async function roundTrips(
  conn: Deno.TcpConn,
  batch: Uint8Array,
  want: number,
  seconds: number,
): Promise<number> {
  const buf = new Uint8Array(1 << 16);
  let gets = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await conn.write(batch);
    for (let got = 0; got < want;) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("server closed the connection");
      got += n;
    }
    gets += 100;
  }
  return gets / seconds;
}

/**
 * The floor of the raw get row: a Deno process that answers every RAW_REQUEST_BYTES it
 * reads with RAW_REPLY_BYTES of zeros, driven by the same round trips.
 */
async function denoFloor(seconds: number): Promise<number> {
  const code = `
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    console.log(l.addr.port);
    const c = await l.accept();
    c.setNoDelay(true);
    const buf = new Uint8Array(1 << 16), reply = new Uint8Array(${RAW_REPLY_BYTES});
    for (let owed = 0;;) {
      const n = await c.read(buf);
      if (n === null) break;
      for (owed += n; owed >= ${RAW_REQUEST_BYTES}; owed -= ${RAW_REQUEST_BYTES}) {
        for (let off = 0; off < reply.length;) off += await c.write(reply.subarray(off));
      }
    }`;
  const { child, match } = await spawnUntil(
    new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }),
    /^(\d+)\n/m,
    "the floor server",
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(match[1]) });
  conn.setNoDelay(true);
  try {
    return await roundTrips(conn, new Uint8Array(RAW_REQUEST_BYTES), RAW_REPLY_BYTES, seconds);
  } finally {
    conn.close();
    await child.status;
  }
}

async function measure(cmd: string[], db: string): Promise<Run> {
  const port = nextPort;
  nextPort += 20;
  const env = {
    ...LOOPBACK,
    EPICS_CAS_SERVER_PORT: String(port),
    EPICS_CA_SERVER_PORT: String(port),
    EPICS_CA_REPEATER_PORT: String(benchRepeaterPort()),
    EPICS_CAS_BEACON_ADDR_LIST: `127.0.0.1:${port + 1}`,
    EPICS_PVAS_SERVER_PORT: String(port + 2),
    EPICS_PVAS_BROADCAST_PORT: String(port + 3),
  };
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), "-S", "-d", db],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Both print "iocRun: All initialization complete" on stderr once iocInit is done.
  const reader = child.stderr.getReader();
  let text = "";
  const dec = new TextDecoder();
  while (!text.includes("All initialization complete")) {
    const r = await reader.read();
    if (r.done) throw new Error(`${cmd[0]} ended before iocInit completed:\n${text}`);
    text += dec.decode(r.value, { stream: true });
  }
  const load = (performance.now() - t0) / 1000;
  const drained = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe empty */ }
  })();
  const ctx = new CaContext({
    config: epicsConfigFrom({ ...LOOPBACK, EPICS_CA_ADDR_LIST: `127.0.0.1:${port}` }).ca,
    repeater: false,
  });
  try {
    const last = ctx.channel(`b:r${N - 1}`);
    await last.connected(120);
    await last.get({ timeoutSec: 60 });

    const head = ctx.channel("b:c0");
    const tail = ctx.channel(`b:c${CHAIN - 1}`);
    await head.connected(10);
    await tail.connected(10);
    let updates = 0;
    const sub = tail.subscribe({ mask: 1 }, () => updates++);
    let puts = 0;
    const end = performance.now() + SECONDS * 1000;
    // Eight put-callbacks in flight at a time, as a busy client would have.
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (performance.now() < end) {
        await head.put(puts++, { wait: true, timeoutSec: 10 });
      }
    }));
    const chain = (puts * CHAIN) / SECONDS;
    const monitors = updates / SECONDS;
    sub.cancel();

    let gets = 0;
    const gend = performance.now() + SECONDS * 1000;
    const batch = Array.from({ length: 100 }, () => last);
    while (performance.now() < gend) {
      await ctx.getMany(batch, { timeoutSec: 10 });
      gets += batch.length;
    }
    const raw = await rawGets(port, `b:r${N - 1}`, SECONDS);
    return { load, chain, gets: gets / SECONDS, rawGets: raw, monitors };
  } finally {
    await ctx.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone.
    }
    await child.status;
    await drained;
  }
}

if (import.meta.main) {
  const softIoc = findSoftIoc();
  if (!softIoc) {
    console.error("softioc bench: softIoc is not on PATH; only our figures are printed");
  }
  const dir = Deno.makeTempDirSync();
  try {
    const db = writeDb(dir);
    const oursCmd = [
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      "--config",
      `${ROOT}/deno.json`,
      `${ROOT}/cli/softioc.ts`,
    ];
    let base: Run | undefined;
    let ours: Run | undefined;
    let floor = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const b = softIoc ? await measure([softIoc], db) : undefined;
      const o = await measure(oursCmd, db);
      const f = await denoFloor(SECONDS);
      console.error(
        `round ${round}: chain softIoc ${b?.chain.toFixed(0) ?? "-"}/s ours ` +
          `${o.chain.toFixed(0)}/s; raw gets softIoc ${b?.rawGets.toFixed(0) ?? "-"}/s ours ` +
          `${o.rawGets.toFixed(0)}/s do-nothing Deno ${f.toFixed(0)}/s`,
      );
      if (b) base = best(base, b);
      ours = best(ours, o);
      floor = Math.max(floor, f);
    }
    const rows: BenchRow[] = [];
    /**
     * One row, printed and handed to bench:all. `rate` names the rate's unit there
     * ("gets/s"); without it the figures are times in seconds (lower is better).
     */
    const row = (what: string, b: number | undefined, o: number, rate?: string) => {
      const unit = rate ? "/s" : "s";
      const digits = rate ? 0 : 2;
      const ratio = b === undefined ? "-" : (rate ? o / b : b / o).toFixed(2);
      console.log(
        `${what.padEnd(38)} softIoc ${(b?.toFixed(digits) ?? "-").padStart(10)} ${unit}` +
          `   ours ${o.toFixed(digits).padStart(10)} ${unit}   ratio ${ratio}`,
      );
      const scale = rate ? 1 : 1000;
      rows.push({
        bench: "softioc",
        measurement: what,
        unit: rate ?? "ms",
        ours: o * scale,
        reference: b === undefined ? undefined : b * scale,
        refName: "softIoc",
        higherIsBetter: rate !== undefined,
      });
    };
    console.log(
      `${N} records + a ${CHAIN}-record FLNK chain, ${SECONDS} s per rate, best of ${ROUNDS}`,
    );
    row("load + iocInit (to iocRun message)", base?.load, ours!.load);
    row("chain processings (CA put -c)", base?.chain, ours!.chain, "processings/s");
    row("monitor updates (chain end)", base?.monitors, ours!.monitors, "updates/s");
    row("CA gets (batches of 100)", base?.gets, ours!.gets, "gets/s");
    row("CA gets, raw client (batches of 100)", base?.rawGets, ours!.rawGets, "gets/s");
    console.log(
      `floor of the raw row: a do-nothing Deno server answers the same round trips ` +
        `${floor.toFixed(0)}/s; ours is ${(ours!.rawGets / floor).toFixed(2)} of it, ` +
        `softIoc ${base ? (base.rawGets / floor).toFixed(2) : "-"}`,
    );
    reportRows(rows);
  } finally {
    Deno.removeSync(dir, { recursive: true });
    await closeBenchRepeater();
  }
}
