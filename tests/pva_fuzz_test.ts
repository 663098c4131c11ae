/**
 * Bad input to the PVA server, as tests/ca_fuzz_test.ts does for CA: each scenario opens a
 * well-behaved connection and a bad one, sends the bad bytes, and checks that the server
 * closes the bad connection while the good one keeps working (a GET, a PUT seen by its
 * monitor) and new clients still connect. Then seeded random mutations of valid streams
 * (CA-style: PVA_FUZZ_SEED=<n> replays a run) and garbage datagrams on the search port.
 * Every wait is for a condition, with a generous backstop.
 */
import assert from "node:assert/strict";
import { ByteReader, ByteWriter } from "../lib/core/bytes.ts";
import type { PvaServerConfig } from "../lib/core/env.ts";
import type { Logger } from "../lib/core/log.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import {
  ANY_ADDRESS,
  type DecodedMessage,
  decodeSearchResponse,
  encodeHeader,
  encodeSearchRequest,
  PvaCommand,
  PvaFlag,
  segmentMessage,
  splitDatagram,
} from "../lib/pva/proto/mod.ts";
import { PvaServer } from "../lib/pva/server/mod.ts";
import { TestPvaPeer } from "../lib/pva/server/_test_peer.ts";

const BACKSTOP_MS = 20_000;
const SEED = Number(Deno.env.get("PVA_FUZZ_SEED") ?? Date.now() % 100_000);

function config(): PvaServerConfig {
  return {
    serverPort: 0,
    broadcastPort: 0,
    intfAddrList: ["127.0.0.1"],
    beaconAddrList: [],
    autoBeaconAddrList: false,
    beaconPeriod: 15,
  };
}

/** Counts the server's warnings (one per connection it closes for bad input). */
function countingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    error: (m: string) => void warnings.push(`error: ${m}`),
    warn: (m: string) => void warnings.push(m),
    info: () => {},
    debug: () => {},
  };
}

async function startServer(logger: Logger) {
  const pv = new SharedPV("fz:x", { type: "float64", value: 1 });
  const wave = new SharedPV("fz:w", { type: "int32", length: 8, value: [1, 2, 3] });
  const server = await PvaServer.start({
    provider: new PvMap([pv, wave]),
    config: config(),
    logger,
  });
  return { server, pv };
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + BACKSTOP_MS;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A loopback TCP client speaking through the test peer; `closed` once the server hangs up. */
class Client implements AsyncDisposable {
  peer = new TestPvaPeer();
  closed = false;
  #buf = new Uint8Array(1 << 16);
  #pending: DecodedMessage[] = [];
  #wake = () => {};
  #loop: Promise<void>;
  private constructor(readonly conn: Deno.TcpConn) {
    this.#loop = this.#read();
  }

  static async connect(port: number): Promise<Client> {
    return new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async #read(): Promise<void> {
    try {
      for (;;) {
        const n = await this.conn.read(this.#buf);
        if (n === null) break;
        try {
          this.#pending.push(...this.peer.receive(this.#buf.subarray(0, n)));
        } catch {
          // Replies to our own garbage may not decode: only the close matters then.
        }
        this.#wake();
      }
    } catch {
      // reset
    }
    this.closed = true;
    this.#wake();
  }

  async send(b: Uint8Array): Promise<void> {
    let off = 0;
    try {
      while (off < b.length) off += await this.conn.write(b.subarray(off));
    } catch {
      // The server may close before reading all of it.
    }
  }

  /** Waits for a message matching `pred` (backstop: throws). */
  async until(pred: (d: DecodedMessage) => boolean): Promise<DecodedMessage> {
    const end = performance.now() + BACKSTOP_MS;
    for (;;) {
      const i = this.#pending.findIndex(pred);
      if (i >= 0) return this.#pending.splice(i, 1)[0];
      if (this.closed) throw new Error("connection closed");
      if (performance.now() > end) throw new Error("no matching message");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#wake = r;
        timer = setTimeout(r, 50);
      });
      clearTimeout(timer);
    }
  }

  async untilClosed(what: string): Promise<void> {
    await waitFor(() => this.closed, what);
  }

  /** Validates and creates a channel; returns its sid. */
  async open(name = "fz:x"): Promise<number> {
    await this.until((d) => d.kind === "validationRequest");
    await this.send(this.peer.validate("anonymous"));
    await this.until((d) => d.kind === "validated");
    await this.send(this.peer.createChannel(1, name));
    const cr = await this.until((d) => d.kind === "createChannelResponse");
    assert.ok(cr.kind === "createChannelResponse" && cr.msg.status.type === 0);
    return cr.kind === "createChannelResponse" ? cr.msg.sid : -1;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // closed
    }
    await this.#loop;
  }
}

/** The same message with `cut` bytes removed from the end of its payload. */
function truncated(message: Uint8Array, cut: number): Uint8Array {
  const out = message.slice(0, message.length - cut);
  const big = (out[2] & PvaFlag.BIG_ENDIAN) !== 0;
  new DataView(out.buffer).setUint32(4, message.length - 8 - cut, !big);
  return out;
}

/** A header alone, with any command, flags and declared size. */
function rawHeader(command: number, flags: number, size: number): Uint8Array {
  const w = new ByteWriter(8, true);
  encodeHeader(w, { command, flags, size });
  return w.toBytes();
}

/**
 * Runs one scenario: `bad` (the bytes, or a function sending them on a connection it may
 * first validate) must get the bad connection closed; the good one keeps working.
 */
async function scenario(
  what: string,
  bad: (c: Client) => Promise<void>,
): Promise<void> {
  const logger = countingLogger();
  const { server, pv } = await startServer(logger);
  try {
    await using good = await Client.connect(server.tcpPort);
    const sid = await good.open();
    await good.send(good.peer.init(PvaCommand.MONITOR, sid, 1, "", 4));
    await good.until((d) => d.kind === "opResponse" && d.msg.ioid === 1);
    await good.send(good.peer.exec(PvaCommand.MONITOR, sid, 1, 0x44));
    await good.until((d) => d.kind === "opResponse" && d.msg.ioid === 1 && !!d.msg.value);

    {
      await using c = await Client.connect(server.tcpPort);
      await bad(c);
      await c.untilClosed(`the server to close the connection after ${what}`);
    }
    await waitFor(() => server.connectionCount === 1, "the server to drop the bad connection");
    assert.ok(logger.warnings.length >= 1, `${what}: the server says why it closed`);

    // The good connection still works: a GET, and a PUT reaching its monitor.
    await good.send(good.peer.init(PvaCommand.GET, sid, 2));
    await good.until((d) => d.kind === "opResponse" && d.msg.ioid === 2);
    await good.send(good.peer.exec(PvaCommand.GET, sid, 2, 0));
    const g = await good.until((d) => d.kind === "opResponse" && d.msg.ioid === 2);
    assert.equal(g.kind === "opResponse" && g.msg.value?.get("value"), 1);
    pv.post(7);
    const m = await good.until((d) => d.kind === "opResponse" && d.msg.ioid === 1);
    assert.equal(m.kind === "opResponse" && m.msg.value?.get("value"), 7, what);
    // And a new client connects.
    await using fresh = await Client.connect(server.tcpPort);
    await fresh.open("fz:w");
  } finally {
    await server.close();
  }
}

const BAD_STREAMS: Array<[string, (c: Client) => Promise<void>]> = [
  ["bad magic", (c) => c.send(new Uint8Array(64).fill(0x41))],
  ["version 0", (c) => c.send(new Uint8Array([0xca, 0, 0, 1, 0, 0, 0, 0]))],
  ["a huge declared size", (c) => c.send(rawHeader(PvaCommand.CREATE_CHANNEL, 0, 0xfffffff0))],
  ["a size past the payload limit", (c) => c.send(rawHeader(PvaCommand.GET, 0, 0x7fffffff))],
  ["the server direction bit", async (c) => {
    const sid = await c.open();
    const m = c.peer.init(PvaCommand.GET, sid, 9);
    m[2] |= PvaFlag.SERVER;
    await c.send(m);
  }],
  ["a middle segment without a first", async (c) => {
    await c.open();
    await c.send(rawHeader(PvaCommand.CREATE_CHANNEL, PvaFlag.SEGMENT_MIDDLE, 0));
  }],
  ["a first segment twice", async (c) => {
    await c.open();
    const seg = segmentMessage(c.peer.createChannel(2, "fz:w"), 4);
    const first = seg.subarray(0, 12);
    await c.send(new Uint8Array([...first, ...first]));
  }],
  ["another command inside a segmented message", async (c) => {
    await c.open();
    const seg = segmentMessage(c.peer.createChannel(2, "fz:w"), 4);
    await c.send(new Uint8Array([...seg.subarray(0, 12), ...c.peer.echo(new Uint8Array(2))]));
  }],
  ["CREATE_CHANNEL before validation", async (c) => {
    await c.until((d) => d.kind === "validationRequest");
    await c.send(c.peer.createChannel(1, "fz:x"));
  }],
  ["GET before validation", (c) => c.send(c.peer.init(PvaCommand.GET, 1, 1))],
  ["a validation response cut short", async (c) => {
    await c.until((d) => d.kind === "validationRequest");
    await c.send(truncated(c.peer.validate("ca", "mallory", "host"), 3));
  }],
  ["a CREATE_CHANNEL cut short", async (c) => {
    await c.open();
    await c.send(truncated(c.peer.createChannel(2, "fz:w"), 2));
  }],
  ["a GET INIT with a pvRequest cut short", async (c) => {
    const sid = await c.open();
    await c.send(truncated(c.peer.init(PvaCommand.GET, sid, 5, "field(value)"), 3));
  }],
  ["a MONITOR INIT cut short", async (c) => {
    const sid = await c.open();
    await c.send(truncated(c.peer.init(PvaCommand.MONITOR, sid, 5, "", 4), 5));
  }],
  ["a PUT body cut short", async (c) => {
    const sid = await c.open();
    await c.send(c.peer.init(PvaCommand.PUT, sid, 5));
    await c.until((d) => d.kind === "opResponse" && d.msg.ioid === 5);
    await c.send(truncated(c.peer.put(sid, 5, { value: 3 }), 4));
  }],
  ["a GET_FIELD cut short", async (c) => {
    const sid = await c.open();
    await c.send(truncated(c.peer.getField(sid, 5, "value"), 2));
  }],
  ["a DESTROY_CHANNEL cut short", async (c) => {
    const sid = await c.open();
    await c.send(truncated(c.peer.destroyChannel(sid, 1), 2));
  }],
  ["a string size past the payload", async (c) => {
    await c.open();
    // CREATE_CHANNEL: u16 count 1, u32 cid, then a name claiming 200 bytes of 3.
    const w = new ByteWriter(64, true);
    encodeHeader(w, { command: PvaCommand.CREATE_CHANNEL, size: 2 + 4 + 1 + 3 });
    w.u16(1).u32(2).u8(200).bytes(new Uint8Array([0x61, 0x62, 0x63]));
    await c.send(w.toBytes());
  }],
];

for (const [what, bad] of BAD_STREAMS) {
  Deno.test(`pva fuzz: ${what} closes that connection, others keep working`, async () => {
    await scenario(what, bad);
  });
}

Deno.test("pva fuzz: an unknown command is ignored (as pvxs); the connection keeps working", async () => {
  const logger = countingLogger();
  const { server } = await startServer(logger);
  try {
    await using c = await Client.connect(server.tcpPort);
    const sid = await c.open();
    const w = new ByteWriter(32, true);
    encodeHeader(w, { command: 0x55, size: 4 });
    w.u32(0xdeadbeef);
    await c.send(w.toBytes());
    await c.send(c.peer.init(PvaCommand.GET, sid, 3));
    const r = await c.until((d) => d.kind === "opResponse" && d.msg.ioid === 3);
    assert.equal(r.kind === "opResponse" && r.msg.status?.type, 0);
    assert.equal(c.closed, false);
  } finally {
    await server.close();
  }
});

Deno.test("pva fuzz: a correctly segmented CREATE_CHANNEL is reassembled", async () => {
  const { server } = await startServer(countingLogger());
  try {
    await using c = await Client.connect(server.tcpPort);
    await c.open();
    await c.send(segmentMessage(c.peer.createChannel(2, "fz:w"), 3));
    const cr = await c.until((d) => d.kind === "createChannelResponse");
    assert.ok(cr.kind === "createChannelResponse" && cr.msg.status.type === 0);
  } finally {
    await server.close();
  }
});

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("pva fuzz: seeded random mutations of valid streams never take the server down", async () => {
  const random = rng(SEED);
  const logger = countingLogger();
  const { server } = await startServer(logger);
  try {
    for (let i = 0; i < 40; i++) {
      await using c = await Client.connect(server.tcpPort);
      const p = c.peer;
      const sid = 1; // the first channel of a connection (any number will do for a fuzzer)
      const parts = [
        p.validate("ca", "fuzz", "host"),
        p.createChannel(1, random() < 0.5 ? "fz:x" : "fz:w"),
        p.init(PvaCommand.GET, sid, 2, "field(value,alarm)"),
        p.exec(PvaCommand.GET, sid, 2, 0),
        p.init(PvaCommand.MONITOR, sid, 3, "record[pipeline=true]", 2),
        p.exec(PvaCommand.MONITOR, sid, 3, 0x44),
        p.init(PvaCommand.PUT, sid, 4),
        p.getField(sid, 5),
        p.echo(new Uint8Array([1, 2, 3])),
        p.destroyChannel(sid, 1),
      ];
      const stream = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
      let o = 0;
      for (const x of parts) {
        stream.set(x, o);
        o += x.length;
      }
      // Flip, zero or max a few bytes anywhere (headers included), or cut the stream.
      const flips = 1 + Math.floor(random() * 6);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(random() * stream.length);
        const r = random();
        stream[at] = r < 0.4 ? stream[at] ^ (1 << Math.floor(random() * 8)) : r < 0.7 ? 0 : 0xff;
      }
      const cut = random() < 0.3 ? Math.floor(random() * stream.length) : stream.length;
      await c.until((d) => d.kind === "validationRequest");
      await c.send(stream.subarray(0, cut));
      // Close from our side; the server must notice and clean up either way.
    }
    await waitFor(() => server.connectionCount === 0, "every fuzzed connection to end");
    await using c = await Client.connect(server.tcpPort);
    await c.open("fz:w");
  } catch (e) {
    console.error(`PVA fuzz failed with PVA_FUZZ_SEED=${SEED}`);
    throw e;
  } finally {
    await server.close();
  }
});

Deno.test("pva fuzz: garbage datagrams on the search port; valid searches still answered", async () => {
  const random = rng(SEED + 1);
  const { server } = await startServer(countingLogger());
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: server.udpPort };
    const myPort = (udp.addr as Deno.NetAddr).port;
    const search = (id: number) => {
      const w = new ByteWriter(256, true);
      encodeSearchRequest(w, {
        sequenceId: id,
        flags: 0x80,
        responseAddress: ANY_ADDRESS,
        responsePort: myPort,
        protocols: ["tcp"],
        channels: [{ id, name: "fz:x" }],
      });
      return w.toBytes();
    };
    const valid = search(1);
    for (let i = 0; i < 200; i++) {
      let d: Uint8Array;
      const r = random();
      if (r < 0.3) {
        d = new Uint8Array(Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
      } else if (r < 0.6) {
        d = valid.slice(0, Math.floor(random() * valid.length)); // cut short
      } else {
        d = valid.slice();
        for (let k = 0; k < 3; k++) d[Math.floor(random() * d.length)] = Math.floor(random() * 256);
        // Never let a mutation ask for a reply elsewhere than our socket: keep the reply
        // address and port (header 8, sequence 4, flags 1, reserved 3, then 16 + 2).
        d.set(valid.subarray(16, 34), 16);
      }
      await udp.send(d, to);
    }
    // A valid search after all that is answered.
    await udp.send(search(4242), to);
    const end = performance.now() + BACKSTOP_MS;
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        udp.receive().then(([d]) => d),
        new Promise<null>((r) => timer = setTimeout(() => r(null), end - performance.now())),
      ]);
      clearTimeout(timer);
      assert.ok(got, "no answer to the valid search after the garbage");
      const msgs = (() => {
        try {
          return splitDatagram(got);
        } catch {
          return [];
        }
      })();
      const ids = msgs.filter((m) => m.command === PvaCommand.SEARCH_RESPONSE).flatMap((m) =>
        decodeSearchResponse(new ByteReader(m.payload, 0, m.littleEndian)).ids
      );
      if (ids.includes(4242)) break;
    }
  } finally {
    udp.close();
    await server.close();
  }
});
