/**
 * imagegen benchmark: starts `imagegen -g r -r 0` (10,000 rows of 1,000 int16 by
 * default) in its own process and counts, from a separate client process, the row
 * updates and bytes received over PVA for a fixed time, subscribed to every row and to
 * the image; then the same over CA with pyepics (libca) on the rows. Compared with
 * epicsdev's published figure of 55,000 row updates/s (110 MB/s).
 *
 *   deno task bench:imagegen [--seconds 5] [--rows 10000] [--cols 1000] [--queue 4]
 *                            [--ca-rows 10000] [--no-ca]
 *   (internal: --client <JSON> runs the counting PVA client)
 *
 * The PVA client frames messages straight from its read buffer (no copy per message),
 * acknowledges pipelined monitors (queueSize 4, as pvxs clients do by default) and reads
 * each update's uniqueId (the frame number) at its fixed place in the NTNDArray update:
 * every row's ids must increase strictly (no update out of order) and the image's too.
 * MB/s counts pixel bytes (updates × row bytes), as epicsdev's figure does; the wire
 * bytes (headers, NTNDArray fields) are printed beside it. Server CPU is the imagegen
 * process's user+system time over the counting window, from /proc. Where pvxs's
 * `pvxmonitor` is on PATH (or in $PVXS_BIN) it also counts updates of a few rows, to show
 * that a C client sees the same rate per row. IMAGEGEN_BENCH_PROF=<dir> writes CPU
 * profiles of the server and the PVA client (deno --cpu-prof) under <dir>.
 *
 * The last line is `imagegen: N row updates/s, M MB/s` (PVA, plain numbers).
 * @module
 */

import { ByteWriter } from "../../lib/core/bytes.ts";
import {
  buildRequest,
  encodeCreateChannelRequest,
  encodeOpRequest,
  encodeValidationResponse,
  PvaCommand,
} from "../../lib/pva/proto/mod.ts";
import { caLoopbackEnv, cpuSeconds, findTool, numberOption } from "./_pva_common.ts";
import { closeBenchRepeater } from "./_repeater.ts";

const REF_UPDATES = 55000;
const REF_MBPS = 110;
const PREFIX = "bench:";

interface ClientSpec {
  port: number;
  rows: number;
  seconds: number;
  queue: number;
}

interface ClientResult {
  seconds: number;
  rowUpdates: number;
  rowPixelBytes: number;
  wireBytes: number;
  imageUpdates: number;
  outOfOrder: number;
  unparsed: number;
  imageIdErrors: number;
  rowsSeen: number;
  /** The client's CPU seconds per second over its window (undefined without /proc). */
  cpu?: number;
}

// ---- the counting PVA client (child process) ----------------------------------------------

/** uniqueId of an NTNDArray MONITOR update payload, or -1 when the layout is not the usual. */
function uniqueIdOf(p: Uint8Array, dv: DataView, le: boolean): { id: number; pixels: number } {
  // ioid u32, subcmd u8, changed BitSet (size byte + bytes), then the fields in order:
  // value union (selector, count, data), codec.name (string), codec.parameters (any),
  // compressedSize i64, uncompressedSize i64, uniqueId i32.
  let o = 5;
  const nb = p[o++];
  if (nb >= 254 || nb === 0) return { id: -1, pixels: 0 };
  const b0 = p[o];
  const b1 = nb > 1 ? p[o + 1] : 0;
  const bit = (i: number) => ((i < 8 ? b0 >> i : b1 >> (i - 8)) & 1) === 1;
  const whole = bit(0);
  // value(1), codec(2) or its leaves (3, 4), compressedSize(5), uncompressedSize(6), uniqueId(7)
  if (!whole && !(bit(1) && (bit(2) || (bit(3) && bit(4))) && bit(5) && bit(6) && bit(7))) {
    return { id: -1, pixels: 0 };
  }
  o += nb;
  const sel = p[o++];
  if (sel === 0xff) return { id: -1, pixels: 0 };
  const el = [1, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8][sel];
  let n = p[o++];
  if (n === 254) {
    n = dv.getUint32(o, le);
    o += 4;
  } else if (n === 255) return { id: -1, pixels: 0 };
  o += n * el;
  const sl = p[o++];
  if (sl >= 254) return { id: -1, pixels: 0 };
  o += sl;
  if (p[o++] !== 0xff) return { id: -1, pixels: 0 }; // codec.parameters: an empty any
  o += 16;
  return { id: dv.getInt32(o, le), pixels: n * el };
}

async function runClient(spec: ClientSpec): Promise<ClientResult> {
  const names = Array.from({ length: spec.rows }, (_, i) => `${PREFIX}row${i}`);
  names.push(`${PREFIX}image`);
  const imageIoid = names.length;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: spec.port });
  conn.setNoDelay(true);
  const w = new ByteWriter(1 << 16, true);
  const ackAt = Math.max(1, spec.queue >> 1);
  const unacked = new Int32Array(names.length + 1);
  const lastId = new Int32Array(names.length + 1).fill(-1);
  const sids = new Uint32Array(names.length + 1);
  let created = 0;
  const seen = new Uint8Array(names.length + 1);
  let seenCount = 0;
  const res: ClientResult = {
    seconds: 0,
    rowUpdates: 0,
    rowPixelBytes: 0,
    wireBytes: 0,
    imageUpdates: 0,
    outOfOrder: 0,
    unparsed: 0,
    imageIdErrors: 0,
    rowsSeen: 0,
  };
  const request = buildRequest(`record[queueSize=${spec.queue},pipeline=true]`);
  let started = false;
  let t0 = 0;
  let cpu0: number | undefined;
  let buf = new Uint8Array(4 << 20);
  let have = 0;
  const deadline = setTimeout(() => conn.close(), (spec.seconds + 60) * 1000);
  try {
    while (!started || performance.now() - t0 < spec.seconds * 1000) {
      if (have === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const n = await conn.read(buf.subarray(have));
      if (n === null) throw new Error("server closed the connection");
      if (started) res.wireBytes += n;
      have += n;
      const dv = new DataView(buf.buffer, 0, have);
      let pos = 0;
      while (have - pos >= 8) {
        const flags = buf[pos + 2];
        const command = buf[pos + 3];
        const le = (flags & 0x80) === 0;
        if (flags & 0x01) { // control message: header only
          pos += 8;
          continue;
        }
        const size = dv.getUint32(pos + 4, le);
        if (have - pos < 8 + size) {
          if (8 + size > buf.length) {
            const bigger = new Uint8Array(8 + size);
            bigger.set(buf.subarray(pos, have));
            buf = bigger;
            have -= pos;
            pos = 0;
          }
          break;
        }
        const p = buf.subarray(pos + 8, pos + 8 + size);
        const pdv = new DataView(buf.buffer, pos + 8, size);
        pos += 8 + size;
        switch (command) {
          case PvaCommand.CONNECTION_VALIDATION:
            encodeValidationResponse(w, {
              bufferSize: 0x10000,
              registrySize: 0x7fff,
              qos: 0,
              authMethod: "anonymous",
              authData: null,
            });
            break;
          case PvaCommand.CONNECTION_VALIDATED:
            for (let i = 0; i < names.length; i += 200) {
              encodeCreateChannelRequest(w, {
                channels: names.slice(i, i + 200).map((name, j) => ({ cid: i + j + 1, name })),
              });
            }
            break;
          case PvaCommand.CREATE_CHANNEL: {
            const cid = pdv.getUint32(0, le), sid = pdv.getUint32(4, le);
            if (sid === 0xffffffff) throw new Error(`no such PV: ${names[cid - 1]}`);
            sids[cid] = sid;
            created++;
            encodeOpRequest(w, {
              command: PvaCommand.MONITOR,
              sid,
              ioid: cid,
              subcmd: 0x88,
              pvRequest: request,
              nfree: spec.queue,
            });
            break;
          }
          case PvaCommand.MONITOR: {
            const ioid = pdv.getUint32(0, le), sub = p[4];
            if (sub & 0x08) {
              encodeOpRequest(w, {
                command: PvaCommand.MONITOR,
                sid: sids[ioid],
                ioid,
                subcmd: 0x44,
              });
              break;
            }
            if (sub !== 0) break;
            const { id, pixels } = uniqueIdOf(p, pdv, le);
            if (id < 0) res.unparsed++;
            else {
              if (id <= lastId[ioid]) {
                if (ioid === imageIoid) res.imageIdErrors++;
                else res.outOfOrder++;
              }
              lastId[ioid] = id;
            }
            if (!seen[ioid]) {
              seen[ioid] = 1;
              seenCount++;
            }
            if (!started && seenCount === names.length && created === names.length) {
              started = true;
              t0 = performance.now();
              cpu0 = cpuSeconds("self");
              await Deno.stdout.write(new TextEncoder().encode("STARTED\n"));
            } else if (started) {
              if (ioid === imageIoid) res.imageUpdates++;
              else {
                res.rowUpdates++;
                res.rowPixelBytes += pixels;
              }
            }
            if (++unacked[ioid] >= ackAt) {
              encodeOpRequest(w, {
                command: PvaCommand.MONITOR,
                sid: sids[ioid],
                ioid,
                subcmd: 0x80,
                nfree: unacked[ioid],
              });
              unacked[ioid] = 0;
            }
            break;
          }
        }
      }
      if (pos > 0) {
        buf.copyWithin(0, pos, have);
        have -= pos;
      }
      if (w.length) {
        const out = w.view();
        let off = 0;
        while (off < out.length) off += await conn.write(out.subarray(off));
        w.reset();
      }
    }
    res.seconds = (performance.now() - t0) / 1000;
    res.rowsSeen = seenCount;
    const cpu1 = cpuSeconds("self");
    if (cpu0 !== undefined && cpu1 !== undefined) res.cpu = (cpu1 - cpu0) / res.seconds;
    return res;
  } finally {
    clearTimeout(deadline);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

// ---- the server and the measurements ------------------------------------------------------

interface Server {
  child: Deno.ChildProcess;
  pvaPort: number;
  env: Record<string, string>;
  stats: string[];
  stop(): Promise<void>;
}

async function startImagegen(rows: number, cols: number, extra: string[] = []): Promise<Server> {
  const env = caLoopbackEnv();
  const cli = new URL("../../cli/imagegen.ts", import.meta.url).pathname;
  const prof = Deno.env.get("IMAGEGEN_BENCH_PROF");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}/server`] : []),
      cli,
      "-p",
      PREFIX,
      "-g",
      "r",
      "-r",
      "0",
      "-s",
      `${rows},${cols}`,
      "--json",
      ...extra,
    ],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stats: string[] = [];
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port = 0;
  const timer = setTimeout(() => child.kill("SIGKILL"), 60000);
  while (!port) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`imagegen exited before it was ready:\n${text}`);
    text += value;
    const m = /PVA on TCP port (\d+)/.exec(text);
    if (m) port = Number(m[1]);
  }
  clearTimeout(timer);
  (async () => {
    let rest = "";
    try {
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        rest += value;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        for (const l of parts) {
          if (l.startsWith("{")) stats.push(l);
          else console.error(`  [imagegen] ${l}`);
        }
      }
    } catch { /* closed */ }
  })();
  return {
    child,
    pvaPort: port,
    env,
    stats,
    stop: async () => {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await child.status;
      clearTimeout(t);
    },
  };
}

/** Runs the counting client in its own process; `onStart` when its window opens. */
async function countPva(spec: ClientSpec, onStart: () => void): Promise<ClientResult> {
  const prof = Deno.env.get("IMAGEGEN_BENCH_PROF");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}/client`] : []),
      new URL(import.meta.url).pathname,
      "--client",
      JSON.stringify(spec),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let startedSeen = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    if (!startedSeen && text.includes("STARTED\n")) {
      startedSeen = true;
      onStart();
    }
  }
  const st = await child.status;
  const line = text.split("\n").find((l) => l.startsWith("{"));
  if (!st.success || !line) throw new Error(`PVA client failed (${st.code})`);
  return JSON.parse(line);
}

/** pvxmonitor on a few rows for `seconds`: updates per second per row. */
async function pvxmonitorRate(
  exe: string,
  env: Record<string, string>,
  rows: string[],
  seconds: number,
): Promise<number> {
  const child = new Deno.Command(exe, {
    args: ["-F", "tree", ...rows],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let count = 0;
  let t0 = 0;
  const re = /uniqueId/g;
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stopAt = () => t0 && performance.now() - t0 > seconds * 1000;
  const timer = setTimeout(() => child.kill("SIGINT"), (seconds + 10) * 1000);
  try {
    while (!stopAt()) {
      const { value, done } = await reader.read();
      if (done) break;
      const n = value.match(re)?.length ?? 0;
      if (!t0 && n) t0 = performance.now();
      else count += n;
    }
  } finally {
    clearTimeout(timer);
    child.kill("SIGINT");
    await reader.cancel().catch(() => {});
    await child.status;
  }
  return count / ((performance.now() - t0) / 1000) / rows.length;
}

const CA_CLIENT = `
import sys, time, json
from epics import ca
prefix = sys.argv[1]; names = [prefix + "row%d" % i for i in range(int(sys.argv[2]))]
secs = float(sys.argv[3])
count = [0]
def cb(**kw):
    count[0] += 1
chids = [ca.create_channel(n, connect=False, auto_cb=False) for n in names]
for c in chids: ca.connect_channel(c, timeout=20)
subs = [ca.create_subscription(c, callback=cb, use_time=False, use_ctrl=False) for c in chids]
t_end = time.time() + 60
while count[0] < len(names) and time.time() < t_end: ca.poll(0.01)
print("STARTED", flush=True)
c0 = count[0]; t0 = time.time()
while time.time() - t0 < secs: ca.poll(0.05)
n = count[0] - c0; dt = time.time() - t0
print(json.dumps({"updates": n / dt}), flush=True)
`;

async function countCa(
  env: Record<string, string>,
  rows: number,
  seconds: number,
  onStart: () => void,
): Promise<number> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", CA_CLIENT, PREFIX, String(rows), String(seconds)],
    env: { ...env, EPICS_CA_MAX_ARRAY_BYTES: "100000000" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let told = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    if (!told && text.includes("STARTED")) {
      told = true;
      onStart();
    }
  }
  await child.status;
  const line = text.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error("CA client failed");
  return JSON.parse(line).updates;
}

async function main(args: string[]): Promise<void> {
  const ci = args.indexOf("--client");
  if (ci >= 0) {
    const r = await runClient(JSON.parse(args[ci + 1]));
    await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(r) + "\n"));
    return;
  }
  const seconds = numberOption(args, "--seconds", 5);
  const rows = numberOption(args, "--rows", 10000);
  const cols = numberOption(args, "--cols", 1000);
  const queue = numberOption(args, "--queue", 4);
  const caRows = numberOption(args, "--ca-rows", rows);
  const log = (s: string) => console.error(s);
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
  const rowBytes = cols * 2;

  const s = await startImagegen(rows, cols);
  let pva: ClientResult;
  let cpu = NaN;
  let pvxRate: number | undefined;
  let caRate: number | undefined;
  let caCpu = NaN;
  try {
    let c0: number | undefined;
    let w0 = 0;
    // pvxmonitor on a few rows runs beside our client, during its counting window.
    const pvx = findTool("pvxmonitor");
    let pvxRun: Promise<number> | undefined;
    pva = await countPva({ port: s.pvaPort, rows, seconds, queue }, () => {
      c0 = cpuSeconds(s.child.pid);
      w0 = performance.now();
      if (pvx) {
        pvxRun = pvxmonitorRate(
          pvx,
          { ...s.env, EPICS_PVA_NAME_SERVERS: `127.0.0.1:${s.pvaPort}` },
          [0, 1, 2].map((i) => `${PREFIX}row${i}`),
          Math.max(1, seconds - 1),
        );
      }
    });
    const c1 = cpuSeconds(s.child.pid);
    if (c0 !== undefined && c1 !== undefined) cpu = (c1 - c0) / ((performance.now() - w0) / 1000);
    pvxRate = await pvxRun;
    if (!args.includes("--no-ca")) {
      let k0: number | undefined;
      let v0 = 0;
      caRate = await countCa(s.env, Math.min(caRows, rows), seconds, () => {
        k0 = cpuSeconds(s.child.pid);
        v0 = performance.now();
      });
      const k1 = cpuSeconds(s.child.pid);
      if (k0 !== undefined && k1 !== undefined) {
        caCpu = (k1 - k0) / ((performance.now() - v0) / 1000);
      }
    }
  } finally {
    await s.stop();
  }
  const ups = pva.rowUpdates / pva.seconds;
  const mbps = pva.rowPixelBytes / pva.seconds / 1e6;
  log(
    `imagegen -g r -r 0 -s ${rows},${cols} (int16), one PVA client process subscribed to ` +
      `${rows} rows and the image (pipelined, queueSize ${queue}), ${pva.seconds.toFixed(1)} s:`,
  );
  log(
    `  rows: ${fmt(ups)} updates/s = ${(ups / REF_UPDATES).toFixed(2)} x epicsdev's ` +
      `${fmt(REF_UPDATES)}/s; ${mbps.toFixed(1)} MB/s of pixels = ` +
      `${(mbps / REF_MBPS).toFixed(2)} x epicsdev's ${REF_MBPS} MB/s`,
  );
  log(
    `  wire: ${(pva.wireBytes / pva.seconds / 1e6).toFixed(1)} MB/s received; image: ` +
      `${(pva.imageUpdates / pva.seconds).toFixed(1)} updates/s; server CPU ` +
      `${Number.isFinite(cpu) ? (cpu * 100).toFixed(0) + "%" : "unknown"}` +
      (Number.isFinite(cpu) && cpu > 0
        ? ` (${fmt(ups / cpu)} row updates per server CPU-second)`
        : ""),
  );
  log(
    `  client CPU ${pva.cpu !== undefined ? (pva.cpu * 100).toFixed(0) + "%" : "unknown"}; ` +
      `machine load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")} on ` +
      `${navigator.hardwareConcurrency} CPUs (other processes take their share)`,
  );
  log(
    `  checks: ${pva.rowsSeen} of ${rows + 1} PVs updated, ${pva.outOfOrder} row updates ` +
      `out of order, ${pva.imageIdErrors} image uniqueId not increasing, ${pva.unparsed} ` +
      `updates not in the expected layout`,
  );
  if (pvxRate !== undefined) {
    log(
      `  pvxmonitor on 3 rows, beside our client: ${pvxRate.toFixed(1)} updates/s per row ` +
        `(our client: ${(ups / rows).toFixed(1)} per row)`,
    );
  } else log("  pvxmonitor: not on PATH or in $PVXS_BIN (skipped)");
  if (caRate !== undefined) {
    log(
      `  CA (pyepics/libca, ${Math.min(caRows, rows)} rows, separate process): ` +
        `${fmt(caRate)} updates/s = ${
          (caRate / REF_UPDATES).toFixed(2)
        } x epicsdev's PVA figure, ` +
        `${(caRate * rowBytes / 1e6).toFixed(1)} MB/s; server CPU ` +
        `${Number.isFinite(caCpu) ? (caCpu * 100).toFixed(0) + "%" : "unknown"}`,
    );
  }
  const last = s.stats.at(-1);
  if (last) log(`  imagegen's own last stats line: ${last}`);
  if (pva.outOfOrder || pva.imageIdErrors || pva.unparsed || pva.rowsSeen !== rows + 1) {
    log("  CHECK FAILED");
    Deno.exitCode = 1;
  }
  console.log(`imagegen: ${Math.round(ups)} row updates/s, ${mbps.toFixed(1)} MB/s`);
}

if (import.meta.main) {
  await main(Deno.args);
  await closeBenchRepeater();
}
