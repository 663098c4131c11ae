/**
 * PVA client benchmark: monitor updates per second and MB/s of array payload received
 * by our client from our server, and, when pvxs' `pvxmonitor` is on PATH, by pvxs'
 * client from the same server in the same run, printed as ratios.
 *
 * Run: deno run -A tools/bench/pva_client.ts [seconds=3] [elements=1000]
 * (loopback only: the server binds 127.0.0.1 and nothing is broadcast)
 * @module
 */

import { PvMap } from "../../lib/pv/provider.ts";
import { SharedPV } from "../../lib/pv/shared_pv.ts";
import { PvaServer } from "../../lib/pva/server/mod.ts";
import { PvaClient } from "../../lib/pva/client/mod.ts";

const seconds = Number(Deno.args[0] ?? 3);
const elements = Number(Deno.args[1] ?? 1000);
const PV = "bench:wf";

interface Result {
  name: string;
  updates: number;
  seconds: number;
  bytes: number;
}

/** Posts new array values as fast as the event loop allows until `stop` is set. */
async function feed(pv: SharedPV, stop: { done: boolean }): Promise<number> {
  const a = new Float64Array(elements);
  let n = 0;
  while (!stop.done) {
    for (let k = 0; k < 20; k++) {
      a[0] = ++n;
      pv.post(a);
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  return n;
}

async function ourClient(env: Record<string, string>): Promise<Result> {
  await using c = new PvaClient({ env });
  let updates = 0;
  let bytes = 0;
  let t0 = 0;
  let first!: () => void;
  const started = new Promise<void>((r) => first = r);
  const sub = c.monitor(PV, (ev) => {
    if (ev.kind !== "data") return;
    if (updates++ === 0) {
      t0 = performance.now();
      first();
    }
    bytes += (ev.value.get("value") as Float64Array).byteLength;
  }, { pipeline: true, queueSize: 8 });
  await started;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const dt = (performance.now() - t0) / 1000;
  await sub.close();
  return { name: "our client <- our server", updates: updates - 1, seconds: dt, bytes };
}

function onPath(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const p = `${dir}/${cmd}`;
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function pvxsClient(exe: string, env: Record<string, string>): Promise<Result> {
  const child = new Deno.Command(exe, {
    args: ["-#", "1", "-r", "record[pipeline=true,queueSize=8]", PV],
    env,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let updates = 0;
  const reader = (async () => {
    const dec = new TextDecoder();
    let tail = "";
    for await (const chunk of child.stdout) {
      const text = tail + dec.decode(chunk);
      const lines = text.split("\n");
      tail = lines.pop()!;
      for (const l of lines) {
        if (l === PV) updates++;
      }
    }
  })();
  const start = performance.now();
  while (updates === 0 && performance.now() - start < 5000) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const at = updates;
  const tStart = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const got = updates - at;
  const dt = (performance.now() - tStart) / 1000;
  child.kill("SIGTERM");
  await child.status;
  await reader;
  return { name: "pvxmonitor <- our server", updates: got, seconds: dt, bytes: got * elements * 8 };
}

function line(r: Result): string {
  const ups = r.updates / r.seconds;
  const mbs = r.bytes / r.seconds / 1e6;
  return `${r.name.padEnd(28)} ${ups.toFixed(0).padStart(9)} updates/s ${
    mbs.toFixed(1).padStart(8)
  } MB/s`;
}

const pv = new SharedPV(PV, { type: "float64", length: elements });
await using server = await PvaServer.start({
  provider: new PvMap([pv]),
  config: {
    serverPort: 0,
    broadcastPort: 0,
    intfAddrList: ["127.0.0.1"],
    beaconAddrList: [],
    autoBeaconAddrList: false,
    beaconPeriod: 15,
  },
});
const env = {
  EPICS_PVA_AUTO_ADDR_LIST: "NO",
  EPICS_PVA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
  PATH: Deno.env.get("PATH") ?? "",
};

console.log(
  `PVA monitor benchmark: ${elements} x float64 (${elements * 8} B) per update, ${seconds} s each`,
);
const results: Result[] = [];
for (const run of [() => ourClient(env)]) {
  const stop = { done: false };
  const feeding = feed(pv, stop);
  results.push(await run());
  stop.done = true;
  await feeding;
}
const pvx = onPath("pvxmonitor");
if (pvx) {
  const stop = { done: false };
  const feeding = feed(pv, stop);
  results.push(await pvxsClient(pvx, env));
  stop.done = true;
  await feeding;
} else {
  console.log("(pvxmonitor not on PATH: pvxs client skipped)");
}
for (const r of results) console.log(line(r));
if (results.length === 2) {
  const [a, b] = results;
  console.log(
    `ratio our client / pvxs client: ${
      ((a.updates / a.seconds) / (b.updates / b.seconds)).toFixed(2)
    }`,
  );
}
console.log(
  "(pvxs' server is not measured here: softIocPVX has no record that updates fast enough)",
);
