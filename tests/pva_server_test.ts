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

  /** Reads until a message matching `pred` arrives. */
  async until(pred: (d: DecodedMessage) => boolean): Promise<DecodedMessage> {
    for (;;) {
      const i = this.#pending.findIndex(pred);
      if (i >= 0) return this.#pending.splice(i, 1)[0];
      const n = await this.conn.read(this.#buf);
      if (n === null) throw new Error("connection closed");
      this.#pending.push(...this.peer.receive(this.#buf.subarray(0, n)));
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

async function receiveWithin(udp: Deno.DatagramConn, ms: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return out;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      udp.receive().then(([d]) => d),
      new Promise<null>((res) => timer = setTimeout(() => res(null), left)),
    ]);
    clearTimeout(timer);
    if (r === null) return out;
    out.push(r);
  }
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
  const [reply] = await receiveWithin(udp, 500);
  assert.ok(reply, "a reply");
  const [msg] = splitDatagram(reply);
  assert.equal(msg.command, PvaCommand.SEARCH_RESPONSE);
  const r = decodeSearchResponse(new ByteReader(msg.payload, 0, msg.littleEndian));
  assert.deepEqual(r.ids, [101]);
  assert.equal(r.found, true);
  assert.equal(r.serverPort, server.tcpPort);
  assert.deepEqual(r.guid, server.guid);
  await udp.send(searchDatagram(["nope"], myPort), to);
  assert.equal((await receiveWithin(udp, 200)).length, 0, "silent for unknown names");
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
  const replies = (await receiveWithin(udp, 700)).map((d) => {
    const [m] = splitDatagram(d);
    return decodeSearchResponse(new ByteReader(m.payload, 0, m.littleEndian));
  });
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
  const got = await receiveWithin(udp, 350);
  assert.ok(got.length >= 2, `got ${got.length} beacons`);
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
  const buf = new Uint8Array(4096);
  let n: number | null = 0;
  while (n !== null) n = await bad.read(buf).catch(() => null);
  bad.close();
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
  // 0.3 s base: closed after 0.4 s of silence.
  await using server = await PvaServer.start({
    provider: new PvMap([pv]),
    config: config({ connTimeout: 0.3 }),
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
  const closed = silent.until(() => false).then(() => "message", (e) => String(e));
  let echoes = 0;
  while (Date.now() - t0 < 700) {
    await alive.send(alive.peer.echo(new Uint8Array([1, 2])));
    await alive.until((d) => d.kind === "echo");
    echoes++;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(await closed, /connection closed/);
  assert.ok(echoes >= 5);
  assert.equal(server.connectionCount, 1);
  // The echoing client still works.
  await alive.send(alive.peer.init(PvaCommand.GET, sid, 7));
  const r = await alive.until((d) => d.kind === "opResponse");
  assert.equal(r.kind === "opResponse" && r.msg.status?.type, 0);
});
