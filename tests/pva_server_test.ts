import assert from "node:assert/strict";
import { ByteReader, ByteWriter } from "../lib/core/bytes.ts";
import type { PvaServerConfig } from "../lib/core/env.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import {
  ANY_ADDRESS,
  decodeBeacon,
  type DecodedMessage,
  decodeSearchResponse,
  encodeSearchRequest,
  PvaCommand,
  splitDatagram,
} from "../lib/pva/proto/mod.ts";
import { readNtScalar } from "../lib/pva/nt/mod.ts";
import { PvaServer } from "../lib/pva/server/mod.ts";
import { TestPvaPeer } from "../lib/pva/server/_test_peer.ts";

function config(over: Partial<PvaServerConfig> = {}): PvaServerConfig {
  return {
    serverPort: 0,
    broadcastPort: 0,
    intfAddrList: ["127.0.0.1"],
    beaconAddrList: [],
    autoBeaconAddrList: false,
    beaconPeriod: 15,
    ...over,
  };
}

/** A loopback TCP client speaking through the test peer. */
class Client implements AsyncDisposable {
  peer = new TestPvaPeer();
  #buf = new Uint8Array(1 << 20);
  #pending: DecodedMessage[] = [];
  private constructor(readonly conn: Deno.TcpConn) {}

  static async connect(port: number): Promise<Client> {
    return new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(b: Uint8Array): Promise<void> {
    await this.conn.write(b);
  }

  /**
   * Reads until a message matching `pred` arrives; throws when the connection closes or
   * after `ms` (a generous backstop: the connection is closed then).
   */
  async until(pred: (d: DecodedMessage) => boolean, ms = 20_000): Promise<DecodedMessage> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no matching message within ${ms} ms`));
        try {
          this.conn.close();
        } catch {
          // closed
        }
      }, ms);
    });
    try {
      for (;;) {
        const i = this.#pending.findIndex(pred);
        if (i >= 0) return this.#pending.splice(i, 1)[0];
        const n = await Promise.race([this.conn.read(this.#buf), deadline]);
        if (n === null) throw new Error("connection closed");
        this.#pending.push(...this.peer.receive(this.#buf.subarray(0, n)));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // closed
    }
    return Promise.resolve();
  }
}

/** A loopback UDP socket that closes at the end of its scope. */
function udpSocket(): Deno.DatagramConn & Disposable {
  const u = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  return Object.assign(u, {
    [Symbol.dispose]() {
      try {
        u.close();
      } catch {
        // closed
      }
    },
  });
}

function searchDatagram(names: string[], port: number, flags = 0x80): Uint8Array {
  const w = new ByteWriter(256, false);
  encodeSearchRequest(w, {
    sequenceId: 0x66696e64,
    flags,
    responseAddress: ANY_ADDRESS,
    responsePort: port,
    protocols: ["tcp"],
    channels: names.map((name, i) => ({ id: 100 + i, name })),
  });
  return w.toBytes();
}

/**
 * Receives `n` datagrams; throws after `ms` (a generous backstop, not a window: tests wait
 * for what they expect, and prove silence with a later request that is answered).
 */
async function receiveN(udp: Deno.DatagramConn, n: number, ms = 20_000): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`got ${out.length} of ${n} datagrams`)), ms);
  });
  try {
    while (out.length < n) out.push(await Promise.race([udp.receive().then(([d]) => d), deadline]));
  } finally {
    clearTimeout(timer);
  }
  return out;
}

function searchReply(d: Uint8Array) {
  const [m] = splitDatagram(d);
  assert.equal(m.command, PvaCommand.SEARCH_RESPONSE);
  return decodeSearchResponse(new ByteReader(m.payload, 0, m.littleEndian));
}

Deno.test("pva loopback: GET, PUT and MONITOR over TCP", async () => {
  const pv = new SharedPV("lb:x", { type: "float64", value: 1, units: "mm" });
  await using server = await PvaServer.start({ provider: new PvMap([pv]), config: config() });
  await using c = await Client.connect(server.tcpPort);
  await c.until((d) => d.kind === "validationRequest");
  await c.send(c.peer.validate("ca", "tester", "box"));
  await c.until((d) => d.kind === "validated");
  await c.send(c.peer.createChannel(1, "lb:x"));
  const cr = await c.until((d) => d.kind === "createChannelResponse");
  const sid = cr.kind === "createChannelResponse" ? cr.msg.sid : -1;
  await c.send(c.peer.init(PvaCommand.GET, sid, 1));
  await c.until((d) => d.kind === "opResponse" && d.msg.ioid === 1);
  await c.send(c.peer.exec(PvaCommand.GET, sid, 1, 0));
  const g = await c.until((d) => d.kind === "opResponse" && d.msg.ioid === 1);
  assert.equal(g.kind === "opResponse" && readNtScalar(g.msg.value!).value, 1);

  await c.send(c.peer.init(PvaCommand.MONITOR, sid, 2, "record[pipeline=true]", 4));
  await c.until((d) => d.kind === "opResponse" && d.msg.ioid === 2);
  await c.send(c.peer.exec(PvaCommand.MONITOR, sid, 2, 0x44));
  await c.until((d) => d.kind === "opResponse" && d.msg.ioid === 2);

  await c.send(c.peer.init(PvaCommand.PUT, sid, 3));
  await c.until((d) => d.kind === "opResponse" && d.msg.ioid === 3);
  await c.send(c.peer.put(sid, 3, { value: 42 }));
  const p = await c.until((d) => d.kind === "opResponse" && d.msg.ioid === 3);
  assert.equal(p.kind === "opResponse" && p.msg.status?.type, 0);
  const m = await c.until((d) => d.kind === "opResponse" && d.msg.ioid === 2);
  assert.equal(m.kind === "opResponse" && m.msg.value!.get("value"), 42);
  assert.equal(pv.value, 42);
  assert.equal(server.connectionCount, 1);
});

Deno.test("pva loopback: UDP search answers hosted names only, and only for tcp", async () => {
  const pv = new SharedPV("lb:s", { type: "int32" });
  await using server = await PvaServer.start({ provider: new PvMap([pv]), config: config() });
  using udp = udpSocket();
  const myPort = (udp.addr as Deno.NetAddr).port;
  const to = { transport: "udp" as const, hostname: "127.0.0.1", port: server.udpPort };
  await udp.send(searchDatagram(["nope", "lb:s"], myPort), to);
  const [reply] = await receiveN(udp, 1);
  const r = searchReply(reply);
  assert.deepEqual(r.ids, [101]);
  assert.equal(r.found, true);
  assert.equal(r.serverPort, server.tcpPort);
  assert.deepEqual(r.guid, server.guid);
  // Silence proven by order: the server handles datagrams in turn, so the reply to the
  // second search (a hosted name) comes after any reply to the first.
  await udp.send(searchDatagram(["nope"], myPort), to);
  await udp.send(searchDatagram(["nope", "nope2", "lb:s"], myPort), to);
  const [next] = await receiveN(udp, 1);
  assert.deepEqual(searchReply(next).ids, [102], "silent for unknown names");
});

Deno.test("pva loopback: two servers share the search port via local multicast forwarding", async () => {
  const a = new SharedPV("lb:a", { type: "int32" });
  const b = new SharedPV("lb:b", { type: "int32" });
  await using s1 = await PvaServer.start({ provider: new PvMap([a]), config: config() });
  await using s2 = await PvaServer.start({
    provider: new PvMap([b]),
    config: config({ broadcastPort: s1.udpPort }),
  });
  assert.equal(s2.udpPort, s1.udpPort);
  using udp = udpSocket();
  const myPort = (udp.addr as Deno.NetAddr).port;
  await udp.send(searchDatagram(["lb:a", "lb:b"], myPort), {
    transport: "udp",
    hostname: "127.0.0.1",
    port: s1.udpPort,
  });
  const replies = (await receiveN(udp, 2)).map(searchReply);
  const ports = replies.map((r) => r.serverPort).sort();
  assert.deepEqual(ports, [s1.tcpPort, s2.tcpPort].sort(), "both servers answered once");
  const byPort = new Map(replies.map((r) => [r.serverPort, r.ids]));
  assert.deepEqual(byPort.get(s1.tcpPort), [100]);
  assert.deepEqual(byPort.get(s2.tcpPort), [101]);
});

Deno.test("pva loopback: beacons go to the beacon address list", async () => {
  using udp = udpSocket();
  const port = (udp.addr as Deno.NetAddr).port;
  await using server = await PvaServer.start({
    provider: new PvMap([]),
    config: config({ beaconAddrList: [{ host: "127.0.0.1", port }], beaconPeriod: 0.1 }),
  });
  const got = await receiveN(udp, 2);
  const [m] = splitDatagram(got[0]);
  assert.equal(m.command, PvaCommand.BEACON);
  const bcn = decodeBeacon(new ByteReader(m.payload, 0, m.littleEndian));
  assert.equal(bcn.serverPort, server.tcpPort);
  assert.equal(bcn.protocol, "tcp");
});

Deno.test("pva loopback: a garbage client is dropped, others keep working", async () => {
  const pv = new SharedPV("lb:g", { type: "int32", value: 3 });
  await using server = await PvaServer.start({ provider: new PvMap([pv]), config: config() });
  const bad = await Deno.connect({ hostname: "127.0.0.1", port: server.tcpPort });
  await bad.write(new Uint8Array(64).fill(0x41));
  // The server must close it: read to the end, with a backstop that fails the test.
  const buf = new Uint8Array(4096);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closedByServer = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 20_000);
    (async () => {
      let n: number | null = 0;
      while (n !== null) n = await bad.read(buf).catch(() => null);
      resolve(true);
    })();
  });
  const closed = await closedByServer;
  clearTimeout(timer);
  bad.close();
  assert.ok(closed, "the server closed the garbage connection");
  await using c = await Client.connect(server.tcpPort);
  await c.until((d) => d.kind === "validationRequest");
  await c.send(c.peer.validate("anonymous"));
  await c.until((d) => d.kind === "validated");
  await c.send(c.peer.createChannel(1, "lb:g"));
  const cr = await c.until((d) => d.kind === "createChannelResponse");
  assert.equal(cr.kind === "createChannelResponse" && cr.msg.status.type, 0);
});

Deno.test("pva loopback: a silent client is closed after EPICS_PVA_CONN_TMO × 4/3, an echoing one kept", async () => {
  const pv = new SharedPV("lb:idle", { type: "int32", value: 3 });
  // 0.75 s base: closed after 1 s of silence. The echoing client echoes until the silent
  // one is closed (a condition, not a time), every 50 ms.
  await using server = await PvaServer.start({
    provider: new PvMap([pv]),
    config: config({ connTimeout: 0.75 }),
  });
  await using silent = await Client.connect(server.tcpPort);
  await using alive = await Client.connect(server.tcpPort);
  let sid = 0;
  for (const c of [silent, alive]) {
    await c.until((d) => d.kind === "validationRequest");
    await c.send(c.peer.validate("anonymous"));
    await c.until((d) => d.kind === "validated");
    await c.send(c.peer.createChannel(1, "lb:idle"));
    const cr = await c.until((d) => d.kind === "createChannelResponse");
    if (cr.kind === "createChannelResponse") sid = cr.msg.sid;
  }
  // Half a CREATE_CHANNEL from the silent one: it must not hold the connection open.
  await silent.send(silent.peer.createChannel(2, "lb:idle").subarray(0, 6));
  const t0 = Date.now();
  let done = false;
  const closed = silent.until(() => false).then(() => "message", (e) => String(e)).finally(
    () => done = true,
  );
  let echoes = 0;
  while (!done) {
    await alive.send(alive.peer.echo(new Uint8Array([1, 2])));
    await alive.until((d) => d.kind === "echo");
    echoes++;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(await closed, /connection closed/);
  assert.ok(Date.now() - t0 >= 900, "not closed before 4/3 of the timeout");
  assert.ok(echoes >= 5);
  assert.equal(server.connectionCount, 1);
  // The echoing client still works.
  await alive.send(alive.peer.init(PvaCommand.GET, sid, 7));
  const r = await alive.until((d) => d.kind === "opResponse");
  assert.equal(r.kind === "opResponse" && r.msg.status?.type, 0);
});
