/**
 * Fuzzing of the CA server over loopback. A well-behaved client keeps a subscription
 * open while many connections send random and malformed input (random bytes, headers
 * with random fields, truncated and oversized messages, misaligned sizes, bad DBR types
 * and ids, garbage put payloads) and random UDP datagrams go to the search port. The
 * server must stay up, keep serving the good client, and release every circuit and
 * subscription the fuzz connections made.
 *
 * Inputs are deterministic for a seed: CA_FUZZ_SEED=<n> replays a run (the seed is
 * printed on failure), CA_FUZZ_CONN=<i> runs only connection i.
 * @module
 */

import assert from "node:assert/strict";
import { ByteWriter, toHex } from "../lib/core/bytes.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import type { Logger } from "../lib/core/log.ts";
import { CaCommand, Dbe, Dbr, Eca } from "../lib/ca/proto/constants.ts";
import { CaFramer } from "../lib/ca/proto/framer.ts";
import {
  encodeCreateChanRequest,
  encodeReadNotify,
  encodeVersion,
} from "../lib/ca/proto/messages.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { RawCaClient, udpSearch } from "./_ca_raw_client.ts";

// ---- deterministic randomness ---------------------------------------------------------

/** A small seeded PRNG (xorshift32 with a splitmix-style seed scramble). */
class Rng {
  #s: number;
  constructor(seed: number) {
    let s = (seed ^ 0x9e3779b9) >>> 0;
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
    this.#s = (s ^ (s >>> 16)) >>> 0 || 1;
  }
  u32(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (this.#s = x >>> 0);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x100000000) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

// ---- raw message building (no validation: we want malformed headers too) --------------

interface RawHeader {
  command: number;
  /** The size field as sent, whatever the real payload length. */
  size: number;
  dataType: number;
  count: number;
  p1: number;
  p2: number;
  /** Send the 24-byte extended form with these u32 size and count. */
  extended?: boolean;
}

function rawMessage(h: RawHeader, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const w = new ByteWriter(24 + payload.length);
  if (h.extended) {
    w.u16(h.command & 0xffff).u16(0xffff).u16(h.dataType & 0xffff).u16(0)
      .u32(h.p1 >>> 0).u32(h.p2 >>> 0).u32(h.size >>> 0).u32(h.count >>> 0);
  } else {
    w.u16(h.command & 0xffff).u16(h.size & 0xffff).u16(h.dataType & 0xffff)
      .u16(h.count & 0xffff).u32(h.p1 >>> 0).u32(h.p2 >>> 0);
  }
  w.bytes(payload);
  return w.toBytes();
}

/** Request codes a CA server handles on a circuit. */
const TCP_REQUESTS = [0, 1, 2, 3, 4, 6, 8, 9, 10, 12, 15, 18, 19, 20, 21, 23];

/** A well-framed message with random fields: size matches a random padded payload. */
function randomFramed(r: Rng, sids: number[]): Uint8Array {
  // Mostly commands a server accepts on TCP, so that a circuit lives long enough for the
  // later messages to reach the request handlers; sometimes any code at all.
  const command = r.chance(0.97) ? r.pick(TCP_REQUESTS) : r.u32() & 0xffff;
  const dataType = r.chance(0.7) ? r.int(40) : r.u32() & 0xffff;
  const count = r.pick([0, 1, 2, 3, 1000, 0xfffe, r.u32() & 0xffff]);
  const p1 = sids.length && r.chance(0.6) ? r.pick(sids) : r.pick([0, 1, 2, 0xffffffff, r.u32()]);
  const p2 = r.pick([0, 1, 2, r.u32()]);
  const len = r.pick([0, 0, 8, 16, 40, 8 * r.int(40)]);
  return rawMessage({ command, size: len, dataType, count, p1, p2 }, r.bytes(len));
}

// ---- the server under test ------------------------------------------------------------

const FUZZ_PVS = ["FUZZ:ai", "FUZZ:long", "FUZZ:str", "FUZZ:enum", "FUZZ:wave", "FUZZ:chars"];
const WATCHED = "FUZZ:counter";

function makePvs(): { watched: SharedPV; all: SharedPV[] } {
  const watched = new SharedPV(WATCHED, { type: "float64", value: 0, writable: false });
  const all = [
    watched,
    new SharedPV("FUZZ:ai", { type: "float64", value: 1.5, units: "mm", precision: 3 }),
    new SharedPV("FUZZ:long", { type: "int32", value: 7, control: { low: -100, high: 100 } }),
    new SharedPV("FUZZ:str", { type: "string", value: "hello" }),
    new SharedPV("FUZZ:enum", { type: "enum", value: 1, choices: ["Off", "On", "Fault"] }),
    new SharedPV("FUZZ:wave", { type: "float64", length: 1000, value: new Float64Array(10) }),
    new SharedPV("FUZZ:chars", { type: "uint8", length: 64, value: new Uint8Array(4) }),
  ];
  return { watched, all };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = l.addr.port;
  l.close();
  return p;
}

async function startServer(pvs: SharedPV[], logger: Logger): Promise<CaServer> {
  const beaconPort = freePort();
  const config = epicsConfigFrom({
    EPICS_CA_AUTO_ADDR_LIST: "NO",
    EPICS_CA_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_CAS_BEACON_ADDR_LIST: `127.0.0.1:${beaconPort}`,
  }).cas;
  return await CaServer.start({ provider: new PvMap(pvs), config, port: 0, logger });
}

function recordingLogger(): Logger & { errors: string[]; warnings: number } {
  const errors: string[] = [];
  const l = {
    errors,
    warnings: 0,
    error: (m: string) => void errors.push(m),
    warn: () => void l.warnings++,
    info: () => {},
    debug: () => {},
  };
  return l;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- raw client sanity ----------------------------------------------------------------

Deno.test("RawCaClient: create, read, write, subscribe, cancel, clear, echo, search", async () => {
  const log = recordingLogger();
  const { all } = makePvs();
  await using server = await startServer(all, log);
  await using c = await RawCaClient.connect(server.tcpPort, { user: "tester" });

  const ch = await c.createChannel("FUZZ:ai");
  assert.deepEqual([ch.nativeType, ch.count, ch.access], [Dbr.DOUBLE, 1, 3]);
  const r = await c.read(ch.sid, Dbr.CTRL_DOUBLE, 1);
  assert.deepEqual(r.status, Eca.NORMAL);
  assert.deepEqual(Array.from(r.data.value as Float64Array), [1.5]);
  assert.deepEqual(r.data.meta.units, "mm");

  const updates: number[] = [];
  const subid = await c.subscribe(ch.sid, Dbr.TIME_DOUBLE, 1, Dbe.VALUE, (u) => {
    updates.push((u.data.value as Float64Array)[0]);
  });
  assert.deepEqual(
    await c.write(ch.sid, Dbr.DOUBLE, new Float64Array([2.25]), { notify: true }),
    1,
  );
  await c.write(ch.sid, Dbr.STRING, ["3.5"], { cid: ch.cid });
  await waitFor("monitor updates", () => updates.includes(3.5));
  assert.deepEqual(updates.slice(0, 3), [1.5, 2.25, 3.5]);
  await c.cancel(ch.sid, subid);

  await assert.rejects(() => c.createChannel("NO:SUCH:PV"), { name: "ChannelNotFoundError" });
  await assert.rejects(() => c.read(999, Dbr.DOUBLE, 1), { name: "CaStatusError" });
  await assert.rejects(
    () => c.write(ch.sid + 77, Dbr.DOUBLE, new Float64Array([1]), { notify: true }),
    { name: "CaStatusError" },
  );
  await c.clear(ch.sid, ch.cid);
  await c.echo();

  const found = await udpSearch(server.udpPort, ["FUZZ:str", "NOPE", "FUZZ:enum"]);
  assert.deepEqual(found.map((f) => [f.name, f.port]).sort(), [
    ["FUZZ:enum", server.tcpPort],
    ["FUZZ:str", server.tcpPort],
  ]);
  assert.deepEqual(log.errors, []);
});

// ---- the fuzz run ---------------------------------------------------------------------

const SEED = Number(Deno.env.get("CA_FUZZ_SEED") ?? 0x5eed1234) >>> 0;
const ONLY = Deno.env.get("CA_FUZZ_CONN");
const CONNECTIONS = 500;
const CONCURRENCY = 12;
const UDP_DATAGRAMS = 600;

/** Totals over the run, printed at the end. */
const stats = { messages: 0, bytes: 0, echoed: 0, closedByServer: 0 };

/** What one fuzz connection sent, for the failure report. */
interface FuzzRecord {
  index: number;
  scenario: string;
  sent: string[];
}

/** A fuzz connection: the client plus the log of what it sent. */
class Fuzzer {
  readonly rec: FuzzRecord;
  readonly r: Rng;
  constructor(readonly client: RawCaClient, index: number, scenario: string, r: Rng) {
    this.rec = { index, scenario, sent: [] };
    this.r = r;
  }
  /** Sends raw bytes; a closed circuit is an acceptable outcome, so errors are swallowed. */
  async send(b: Uint8Array): Promise<void> {
    if (this.rec.sent.length < 200) this.rec.sent.push(toHex(b.subarray(0, 512)));
    stats.messages++;
    stats.bytes += b.length;
    try {
      await this.client.send(b);
    } catch {
      // The server may close a circuit that sent nonsense: that is fine.
    }
  }
  /** Creates channels to some PVs (through the normal request path) and returns their sids. */
  async channels(n: number): Promise<number[]> {
    const sids: number[] = [];
    for (let i = 0; i < n; i++) {
      const name = this.r.pick([...FUZZ_PVS, WATCHED]);
      this.rec.sent.push(`create ${name}`);
      try {
        sids.push((await this.client.createChannel(name)).sid);
      } catch {
        break;
      }
    }
    return sids;
  }
  /**
   * Checks the circuit is still alive or was closed: an ECHO must come back unless the
   * server hung up. A circuit that does neither is wedged.
   */
  async probe(): Promise<void> {
    this.rec.sent.push("probe ECHO");
    if (this.client.closed) return;
    // An ECHO that times out on a circuit still open is a wedge, not a close.
    const echoed = this.client.echo().then(
      () => "echo",
      () => this.client.closed ? "closed" : "timeout",
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<string>((r) => timer = setTimeout(() => r("timeout"), 20_000));
    const outcome = await Promise.race([echoed, this.client.done.then(() => "closed"), timeout]);
    clearTimeout(timer);
    if (outcome === "echo") stats.echoed++;
    else stats.closedByServer++;
    if (outcome === "timeout") {
      throw new Error(
        `circuit wedged: no ECHO reply and not closed (connection ${this.rec.index})`,
      );
    }
  }
}

type Scenario = (f: Fuzzer) => Promise<void>;

const SCENARIOS: Record<string, { handshake: boolean; run: Scenario }> = {
  randomBytes: {
    handshake: false,
    run: async (f) => {
      for (let i = 0, n = 1 + f.r.int(4); i < n; i++) await f.send(f.r.bytes(1 + f.r.int(600)));
    },
  },
  randomFramed: {
    handshake: true,
    run: async (f) => {
      const sids = await f.channels(f.r.int(4));
      for (let i = 0; i < 40; i++) await f.send(randomFramed(f.r, sids));
      await f.probe();
    },
  },
  truncated: {
    handshake: true,
    run: async (f) => {
      const sids = await f.channels(1);
      const m = randomFramed(f.r, sids);
      const whole = new Uint8Array(m.length + 48);
      whole.set(m);
      whole.set(
        rawMessage({ command: 15, size: 0, dataType: 20, count: 1, p1: 1, p2: 9 }),
        m.length,
      );
      await f.send(whole.subarray(0, 1 + f.r.int(whole.length - 1)));
    },
  },
  hugeDeclared: {
    handshake: true,
    run: async (f) => {
      const ext = f.r.chance(0.6);
      const size = ext
        ? f.r.pick([0xfffffff8, 0x7ffffff8, 0x20000000, 0x1ffffff8, 0x01000000, 0x00100000])
        : f.r.pick([0xfff8, 0xfff0, 0x8000]);
      const count = ext ? f.r.pick([0xffffffff, 1, 0x10000000]) : 1;
      const m = rawMessage({
        command: f.r.pick([1, 4, 6, 15, 19, 23, 18]),
        size,
        dataType: Dbr.DOUBLE,
        count,
        p1: 1,
        p2: 1,
        extended: ext,
      }, f.r.bytes(f.r.int(4096)));
      await f.send(m);
    },
  },
  absurdExtended: {
    handshake: true,
    run: async (f) => {
      // Extended header with a size the server must refuse or frame, count nonsense.
      const m = rawMessage({
        command: f.r.int(28),
        size: f.r.pick([0xffffffff, 0xfffffff8, 0x80000000, 0, 8, 16]),
        dataType: f.r.u32(),
        count: f.r.u32(),
        p1: f.r.u32(),
        p2: f.r.u32(),
        extended: true,
      });
      await f.send(m);
      if (f.r.chance(0.5)) await f.send(f.r.bytes(16 * f.r.int(3)));
    },
  },
  misaligned: {
    handshake: true,
    run: async (f) => {
      const size = 1 + f.r.int(64);
      const fixed = size % 8 === 0 ? size + 1 : size;
      await f.send(
        rawMessage(
          { command: f.r.int(28), size: fixed, dataType: 6, count: 1, p1: 1, p2: 1 },
          f.r.bytes(fixed),
        ),
      );
      await f.probe();
    },
  },
  badTypes: {
    handshake: true,
    run: async (f) => {
      const sids = await f.channels(2);
      for (let i = 0; i < 30; i++) {
        const command = f.r.pick([1, 3, 4, 15, 19, 2]);
        const dataType = f.r.pick([35, 36, 37, 38, 39, 40, 100, 0x7fff, 0xffff]);
        const len = command === 4 || command === 19 ? 8 * (1 + f.r.int(8)) : command === 1 ? 16 : 0;
        await f.send(rawMessage({
          command,
          size: len,
          dataType,
          count: f.r.pick([0, 1, 2, 0xffff]),
          p1: sids.length ? f.r.pick(sids) : 1,
          p2: f.r.u32(),
        }, f.r.bytes(len)));
      }
      await f.probe();
    },
  },
  badIds: {
    handshake: true,
    run: async (f) => {
      const sids = await f.channels(1);
      for (let i = 0; i < 30; i++) {
        const command = f.r.pick([1, 2, 2, 3, 4, 12, 15, 19]);
        const len = command === 1 ? 16 : command === 4 || command === 19 ? 8 : 0;
        const good = sids.length > 0 && f.r.chance(0.4);
        await f.send(rawMessage({
          command,
          size: len,
          dataType: Dbr.DOUBLE,
          count: 1,
          p1: good ? sids[0] : f.r.pick([0, 0xffffffff, 12345, f.r.u32()]),
          // EVENT_CANCEL of subscription ids that were never added.
          p2: f.r.u32(),
        }, f.r.bytes(len)));
      }
      await f.probe();
    },
  },
  garbageWrites: {
    handshake: true,
    run: async (f) => {
      const sids = await f.channels(3);
      for (let i = 0; i < 40; i++) {
        const dataType = f.r.chance(0.8) ? f.r.int(35) : f.r.pick([35, 36, 37, 38]);
        const count = f.r.pick([1, 1, 2, 10, 64, 1000, 1001, 0]);
        const len = f.r.pick([0, 8, 16, 8 * f.r.int(1100)]);
        await f.send(rawMessage({
          command: f.r.pick([4, 19]),
          size: len,
          dataType,
          count,
          p1: sids.length ? f.r.pick(sids) : 1,
          p2: f.r.u32(),
        }, f.r.bytes(len)));
      }
      await f.probe();
    },
  },
  subscribeChurn: {
    handshake: true,
    run: async (f) => {
      // Subscriptions left open on close must be released by the server.
      const sids = await f.channels(3);
      for (let i = 0; i < 20 && sids.length; i++) {
        await f.send(rawMessage({
          command: f.r.pick([1, 1, 2, 8, 9, 12]),
          size: 16,
          dataType: f.r.int(35),
          count: f.r.pick([0, 1, 5]),
          p1: f.r.pick(sids),
          p2: f.r.int(8),
        }, f.r.bytes(16)));
      }
      await f.probe();
    },
  },
};

const SCENARIO_NAMES = Object.keys(SCENARIOS);

async function runConnection(port: number, index: number, failures: string[]): Promise<void> {
  const r = new Rng(SEED + index * 0x1000193);
  const name = SCENARIO_NAMES[index % SCENARIO_NAMES.length];
  const sc = SCENARIOS[name];
  // Without the handshake the random bytes are the first bytes the server sees.
  const client = await RawCaClient.connect(port, {
    user: `fuzz${index}`,
    timeoutMs: 20_000,
    handshake: sc.handshake,
  });
  const f = new Fuzzer(client, index, name, r);
  try {
    await sc.run(f);
  } catch (e) {
    failures.push(
      `seed ${SEED} connection ${index} (${name}): ${(e as Error).message}\n` +
        `  sent: ${f.rec.sent.join("\n        ")}`,
    );
  } finally {
    await client.close();
  }
}

async function fuzzUdp(port: number, seed: number): Promise<void> {
  const r = new Rng(seed);
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  try {
    for (let i = 0; i < UDP_DATAGRAMS; i++) {
      let d: Uint8Array;
      switch (r.int(4)) {
        case 0:
          d = r.bytes(r.int(200));
          break;
        case 1: {
          // VERSION + SEARCH with random fields and names, sometimes a real one.
          const name = r.chance(0.3) ? r.pick(FUZZ_PVS) : toHex(r.bytes(1 + r.int(20)));
          const w = new ByteWriter();
          w.bytes(
            rawMessage({
              command: 0,
              size: 0,
              dataType: r.int(3),
              count: r.int(16),
              p1: r.u32(),
              p2: 0,
            }),
          );
          const body = new Uint8Array(8 * Math.ceil((name.length + 1) / 8));
          body.set(new TextEncoder().encode(name));
          w.bytes(rawMessage({
            command: 6,
            size: r.chance(0.8) ? body.length : r.u32() & 0xffff,
            dataType: r.pick([5, 10, r.u32() & 0xffff]),
            count: r.pick([13, 0, 3, 11]),
            p1: r.u32(),
            p2: r.u32(),
          }, body));
          d = w.toBytes();
          break;
        }
        case 2:
          d = randomFramed(r, []);
          break;
        default:
          // A valid header cut short, or an extended header with absurd size.
          d = rawMessage({
            command: 6,
            size: r.u32(),
            dataType: 5,
            count: 13,
            p1: 1,
            p2: 1,
            extended: r.chance(0.5),
          }).subarray(0, 4 + r.int(21));
      }
      await udp.send(d, to);
      if (i % 50 === 0) await new Promise((res) => setTimeout(res, 1));
    }
  } finally {
    udp.close();
  }
}

Deno.test("CA server survives fuzzed TCP and UDP input", async () => {
  const log = recordingLogger();
  const { watched, all } = makePvs();
  await using server = await startServer(all, log);
  const context = () => `(CA_FUZZ_SEED=${SEED})`;
  const rssBefore = Deno.memoryUsage().rss;

  // The well-behaved client: a monitor on a PV a timer posts to.
  await using good = await RawCaClient.connect(server.tcpPort, { user: "good" });
  const ch = await good.createChannel(WATCHED);
  let lastSeen = -1;
  let updates = 0;
  await good.subscribe(ch.sid, Dbr.TIME_DOUBLE, 1, Dbe.VALUE | Dbe.ALARM, (u) => {
    updates++;
    lastSeen = (u.data.value as Float64Array)[0];
  });
  let posted = 0;
  const ticker = setInterval(() => watched.post(++posted), 20);

  const failures: string[] = [];
  try {
    const indices = ONLY !== undefined
      ? [Number(ONLY)]
      : Array.from({ length: CONNECTIONS }, (_, i) => i);
    const udpDone = fuzzUdp(server.udpPort, SEED ^ 0xabcdef);
    for (let start = 0; start < indices.length; start += CONCURRENCY) {
      const wave = indices.slice(start, start + CONCURRENCY);
      await Promise.all(wave.map((i) => runConnection(server.tcpPort, i, failures)));
      // Between waves the good subscription must keep delivering new values.
      const target = posted;
      await waitFor(
        `monitor update >= ${target} after wave at ${start} ${context()}`,
        () => lastSeen >= target,
      );
      assert.ok(!good.closed, `the good circuit was closed ${context()}`);
    }
    await udpDone;
    assert.deepEqual(failures, [], failures.join("\n"));

    // The server is still up: new connections and searches work.
    await using fresh = await RawCaClient.connect(server.tcpPort, { user: "fresh" });
    const fch = await fresh.createChannel("FUZZ:ai");
    assert.deepEqual((await fresh.read(fch.sid, Dbr.DOUBLE, 1)).status, Eca.NORMAL);
    const found = await udpSearch(server.udpPort, [WATCHED]);
    assert.deepEqual(found.map((x) => x.port), [server.tcpPort], `search after fuzz ${context()}`);
    await fresh.close();

    // The good client still reads the latest posted value.
    clearInterval(ticker);
    const final = posted;
    const r = await good.read(ch.sid, Dbr.TIME_DOUBLE, 1);
    assert.deepEqual(Array.from(r.data.value as Float64Array), [final], context());
    await waitFor(`last monitor update ${context()}`, () => lastSeen === final);
    assert.ok(updates > 0);

    // Fuzz circuits and their subscriptions are gone.
    await waitFor(`circuit count back to 1 ${context()}`, () => server.circuitCount === 1);
    for (const pv of all) {
      assert.deepEqual(
        pv.listenerCount,
        pv === watched ? 1 : 0,
        `listeners of ${pv.name} ${context()}`,
      );
    }
    assert.deepEqual(log.errors, [], context());
    const grown = (Deno.memoryUsage().rss - rssBefore) / 1e6;
    // Loose bound: a leak of per-circuit buffers would show up as hundreds of MB.
    assert.ok(grown < 400, `RSS grew by ${grown.toFixed(0)} MB ${context()}`);
    console.log(
      `fuzz: seed ${SEED}, ${indices.length} connections, ${stats.messages} TCP sends ` +
        `(${stats.bytes} bytes), probes: ${stats.echoed} echoed, ${stats.closedByServer} closed; ` +
        `${log.warnings} circuits refused, ` +
        `${updates} monitor updates, RSS +${grown.toFixed(0)} MB`,
    );
  } catch (e) {
    console.error(`CA fuzz failed with CA_FUZZ_SEED=${SEED}`);
    throw e;
  } finally {
    clearInterval(ticker);
  }
});

// ---- a client that never reads ----------------------------------------------------------

/**
 * 16-byte READ_NOTIFY requests for a 1000-element array each ask for an 8 kB reply. A
 * client that sends many and never reads must not make the server buffer them all: like
 * RSRV, the server stops reading a circuit whose replies cannot be written.
 */
Deno.test({
  name: "CA server: replies to a client that never reads do not pile up without bound",
  async fn() {
    const wave = new SharedPV("SLOW:wave", {
      type: "float64",
      length: 1000,
      value: new Float64Array(1000).fill(1),
    });
    await using server = await startServer([wave], recordingLogger());
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.tcpPort });
    const w = new ByteWriter();
    encodeVersion(w);
    encodeCreateChanRequest(w, { cid: 1, name: wave.name });
    await conn.write(w.toBytes());
    await waitFor("the circuit", () => server.circuitCount === 1);
    // Read up to the CREATE_CHAN reply: then SID 1 exists. From here on the client never reads.
    const framer = new CaFramer();
    const buf = new Uint8Array(4096);
    let created = false;
    while (!created) {
      const n = await conn.read(buf);
      assert.ok(n !== null, "the server closed the circuit before CREATE_CHAN was answered");
      created = framer.receive(buf.slice(0, n)).some((m) => m.command === CaCommand.CREATE_CHAN);
    }
    const base = Deno.memoryUsage().external;
    // 20000 requests (320 kB) ask for 160 MB of replies; the first circuit's SID is 1.
    let pending: Promise<unknown> = Promise.resolve();
    for (let batch = 0; batch < 20; batch++) {
      w.reset();
      for (let i = 0; i < 1000; i++) {
        encodeReadNotify(w, { sid: 1, ioid: batch * 1000 + i, dataType: Dbr.DOUBLE, count: 1000 });
      }
      const bytes = w.toBytes();
      pending = (async () => {
        let off = 0;
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
      })().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const blocked = await Promise.race([
        pending.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), 1000)),
      ]);
      clearTimeout(timer);
      if (blocked) break; // The server stopped reading: that is the bound we want.
    }
    await new Promise((r) => setTimeout(r, 1000));
    const grown = (Deno.memoryUsage().external - base) / 1e6;
    conn.close();
    await pending;
    await waitFor("circuit closed", () => server.circuitCount === 0);
    assert.ok(grown < 64, `server buffered ${grown.toFixed(0)} MB of replies for a non-reader`);
  },
});
