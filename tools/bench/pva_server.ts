/**
 * PVA server benchmark.
 *
 *   deno run -A tools/bench/pva_server.ts [--seconds 5]
 *
 * 1. spam: one PV posted as fast as the server loop allows, one pipelined monitor
 *    (queueSize 4, acks at half the window, as pvxs clients do): updates per second
 *    received (the workload of pvxs's spam/eatspam examples).
 * 2. arrays: 1,000 uint16[1000] PVs posted round-robin as fast as possible, one monitor
 *    each: MB/s of update bytes received.
 *
 * The server runs in a child process (this file with --serve), the client here counts
 * framed MONITOR updates without decoding values, so the number is the server's. A pvxs
 * server under the same load needs a spam-style pvxs program (not built here), so no
 * ratio is printed yet.
 * @module
 */

import { ByteWriter } from "../../lib/core/bytes.ts";
import { PvMap } from "../../lib/pv/provider.ts";
import { SharedPV } from "../../lib/pv/shared_pv.ts";
import {
  buildRequest,
  encodeCreateChannelRequest,
  encodeOpRequest,
  encodeValidationResponse,
  PvaCommand,
  PvaFramer,
} from "../../lib/pva/proto/mod.ts";
import { PvaServer } from "../../lib/pva/server/mod.ts";

type Mode = "spam" | "arrays";

async function serve(mode: Mode): Promise<void> {
  const pvs: SharedPV[] = mode === "spam"
    ? [new SharedPV("bench:spam", { type: "int32" })]
    : Array.from(
      { length: 1000 },
      (_, i) => new SharedPV(`bench:arr${i}`, { type: "uint16", length: 1000 }),
    );
  const server = await PvaServer.start({
    provider: new PvMap(pvs),
    config: {
      serverPort: 0,
      broadcastPort: 0,
      intfAddrList: ["127.0.0.1"],
      beaconAddrList: [],
      autoBeaconAddrList: false,
      beaconPeriod: 15,
    },
  });
  console.log(`PORT ${server.tcpPort}`);
  const arr = new Uint16Array(1000);
  let n = 0;

  for (;;) {
    if (mode === "spam") {
      for (let i = 0; i < 64; i++) pvs[0].post(++n);
    } else {
      for (let i = 0; i < 50; i++) {
        arr[0] = ++n;
        pvs[n % pvs.length].post(arr);
      }
    }
    // Let the sockets run; the next batch follows at once.
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** Connects, monitors `names` pipelined, and counts updates and bytes for `seconds`. */
async function measure(
  port: number,
  names: string[],
  seconds: number,
): Promise<{ updates: number; bytes: number; secs: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const w = new ByteWriter(1 << 16, true);
  const framer = new PvaFramer();
  const queueSize = 4;
  const ackAt = queueSize / 2;
  const unacked = new Map<number, number>();
  let updates = 0, bytes = 0;
  let t0 = 0;
  let started = false;
  const buf = new Uint8Array(1 << 20);
  const flush = async () => {
    if (w.length) {
      await conn.write(w.toBytes());
      w.reset();
    }
  };
  const sids = new Map<number, number>();
  const deadline = () => started && performance.now() - t0 >= seconds * 1000;
  while (!deadline()) {
    const n = await conn.read(buf);
    if (n === null) break;
    for (const m of framer.receive(buf.subarray(0, n))) {
      if (m.control) {
        w.littleEndian = m.littleEndian;
        continue;
      }
      const p = m.payload;
      const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
      switch (m.command) {
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
          names.forEach((name, i) =>
            encodeCreateChannelRequest(w, { channels: [{ cid: i + 1, name }] })
          );
          break;
        case PvaCommand.CREATE_CHANNEL: {
          const cid = dv.getUint32(0, m.littleEndian), sid = dv.getUint32(4, m.littleEndian);
          sids.set(cid, sid);
          encodeOpRequest(w, {
            command: PvaCommand.MONITOR,
            sid,
            ioid: cid,
            subcmd: 0x88,
            pvRequest: buildRequest(`record[queueSize=${queueSize},pipeline=true]`),
            nfree: queueSize,
          });
          encodeOpRequest(w, { command: PvaCommand.MONITOR, sid, ioid: cid, subcmd: 0x44 });
          break;
        }
        case PvaCommand.MONITOR: {
          const ioid = dv.getUint32(0, m.littleEndian), sub = p[4];
          if (sub !== 0) break;
          if (!started && sids.size === names.length) {
            started = true;
            t0 = performance.now();
          }
          if (started) {
            updates++;
            bytes += p.length + 8;
          }
          const u = (unacked.get(ioid) ?? 0) + 1;
          if (u >= ackAt) {
            encodeOpRequest(w, {
              command: PvaCommand.MONITOR,
              sid: sids.get(ioid)!,
              ioid,
              subcmd: 0x80,
              nfree: u,
            });
            unacked.set(ioid, 0);
          } else {
            unacked.set(ioid, u);
          }
          break;
        }
      }
    }
    await flush();
  }
  const secs = (performance.now() - t0) / 1000;
  conn.close();
  return { updates, bytes, secs };
}

async function runOurs(mode: Mode, seconds: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--serve", mode],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port = 0;
  while (!port) {
    const { value, done } = await reader.read();
    if (done) throw new Error("bench server ended early");
    text += value;
    const m = /PORT (\d+)/.exec(text);
    if (m) port = Number(m[1]);
  }
  const names = mode === "spam"
    ? ["bench:spam"]
    : Array.from({ length: 1000 }, (_, i) => `bench:arr${i}`);
  try {
    return await measure(port, names, seconds);
  } finally {
    child.kill("SIGTERM");
    reader.cancel().catch(() => {});
    await child.status;
  }
}

if (import.meta.main) {
  const args = Deno.args;
  const serveAt = args.indexOf("--serve");
  if (serveAt >= 0) {
    await serve(args[serveAt + 1] as Mode);
  } else {
    const si = args.indexOf("--seconds");
    const seconds = si >= 0 ? Number(args[si + 1]) : 5;
    const spam = await runOurs("spam", seconds);
    console.log(
      `spam:   ${(spam.updates / spam.secs).toFixed(0)} monitor updates/s ` +
        `(one pipelined PV, ${spam.updates} in ${spam.secs.toFixed(1)} s)`,
    );
    const arrays = await runOurs("arrays", seconds);
    console.log(
      `arrays: ${(arrays.bytes / arrays.secs / 1e6).toFixed(1)} MB/s ` +
        `(${(arrays.updates / arrays.secs).toFixed(0)} updates/s of 1,000 uint16[1000] PVs)`,
    );
    console.log("pvxs: no spam-style pvxs server available in this run; ratio not measured");
  }
}
