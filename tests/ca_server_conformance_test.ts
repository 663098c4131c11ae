/**
 * CA server behaviours checked against RSRV's (EPICS base rsrv/camessage.c) over real
 * loopback sockets: UDP searches never answer names we lack, even with DO_REPLY (only a
 * TCP search does); a request with a DBR type past 38 closes that circuit only; a count-0
 * subscription to an empty array carries count 0 to 4.13 clients and one element to older
 * ones; pvserve's `NAME=int16[5]` starts empty. Every wait is for a condition, with a
 * generous backstop.
 */
import assert from "node:assert/strict";
import { ByteWriter } from "../lib/core/bytes.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaCommand, Dbe, Dbr, Eca, SearchReply } from "../lib/ca/proto/constants.ts";
import { decodeDatagram } from "../lib/ca/proto/framer.ts";
import { type CaMessage, writeHeader } from "../lib/ca/proto/header.ts";
import {
  encodeClientName,
  encodeCreateChanRequest,
  encodeHostName,
  encodeSearchRequest,
  encodeUdpVersion,
  encodeVersion,
} from "../lib/ca/proto/messages.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { RawCaClient, type RawData } from "./_ca_raw_client.ts";
import { LOOPBACK_ENV, startPvserve } from "./_helpers/pvserve.ts";

const BACKSTOP_MS = 20_000;

function startServer(pvs: SharedPV[]): Promise<CaServer> {
  return CaServer.start({
    provider: new PvMap(pvs),
    config: epicsConfigFrom(LOOPBACK_ENV).cas,
    port: 0,
  });
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + BACKSTOP_MS;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Receives one datagram (backstop: fails the test). */
async function receiveOne(udp: Deno.DatagramConn): Promise<CaMessage[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const [data] = await Promise.race([
      udp.receive(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no search reply")), BACKSTOP_MS);
      }),
    ]);
    return decodeDatagram(data);
  } finally {
    clearTimeout(timer);
  }
}

function searchDatagram(names: Array<[string, number]>, replyFlag: number): Uint8Array {
  const w = new ByteWriter(512);
  encodeUdpVersion(w, { sequence: 7 });
  for (const [name, cid] of names) encodeSearchRequest(w, { cid, name, replyFlag });
  return w.toBytes();
}

Deno.test("CA UDP search: names we do not host get no reply, even with DO_REPLY", async () => {
  await using server = await startServer([new SharedPV("conf:x", { type: "int32" })]);
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to = { transport: "udp" as const, hostname: "127.0.0.1", port: server.udpPort };
  try {
    // A mixed datagram: only the hosted name is answered.
    await udp.send(searchDatagram([["conf:nope", 1], ["conf:x", 2]], SearchReply.DO_REPLY), to);
    let reply = await receiveOne(udp);
    assert.deepEqual(
      reply.filter((m) => m.command !== CaCommand.VERSION).map((m) => [m.command, m.param2]),
      [[CaCommand.SEARCH, 2]],
    );
    // Only unknown names: no datagram at all. Proven by order: the server answers its
    // datagrams in turn, so the next reply we get is the one for the later search.
    await udp.send(searchDatagram([["conf:nope", 3], ["conf:nope2", 4]], SearchReply.DO_REPLY), to);
    await udp.send(searchDatagram([["conf:x", 5]], SearchReply.DONT_REPLY), to);
    reply = await receiveOne(udp);
    assert.ok(!reply.some((m) => m.command === CaCommand.NOT_FOUND), "no NOT_FOUND over UDP");
    assert.deepEqual(
      reply.filter((m) => m.command === CaCommand.SEARCH).map((m) => m.param2),
      [5],
      "the unknown names were not answered",
    );
  } finally {
    udp.close();
  }
});

Deno.test("CA TCP search (name-server circuit): DO_REPLY for an unknown name gets NOT_FOUND", async () => {
  await using server = await startServer([new SharedPV("conf:x", { type: "int32" })]);
  await using c = await RawCaClient.connect(server.tcpPort, { timeoutMs: BACKSTOP_MS });
  const notFound = c.nextMessage((m) => m.command === CaCommand.NOT_FOUND);
  const found = c.nextMessage((m) => m.command === CaCommand.SEARCH);
  const w = new ByteWriter(256);
  encodeSearchRequest(w, { cid: 11, name: "conf:nope", replyFlag: SearchReply.DO_REPLY });
  encodeSearchRequest(w, { cid: 12, name: "conf:nope2", replyFlag: SearchReply.DONT_REPLY });
  encodeSearchRequest(w, { cid: 13, name: "conf:x", replyFlag: SearchReply.DO_REPLY });
  await c.send(w.toBytes());
  assert.equal((await notFound).param1, 11);
  assert.equal((await found).param2, 13);
});

/** Sends one request with DBR type 39 (past DBR_CLASS_NAME) on `sid`. */
function badTypeRequest(command: number, sid: number, id: number): Uint8Array {
  const w = new ByteWriter(64);
  const size = command === CaCommand.READ_NOTIFY ? 0 : 16;
  writeHeader(w, command, size, 39, 1, sid, id);
  w.zeros(size);
  return w.toBytes();
}

for (
  const [what, command, answer] of [
    ["READ_NOTIFY", CaCommand.READ_NOTIFY, undefined],
    ["EVENT_ADD", CaCommand.EVENT_ADD, undefined],
    ["WRITE", CaCommand.WRITE, CaCommand.ERROR],
    ["WRITE_NOTIFY", CaCommand.WRITE_NOTIFY, CaCommand.WRITE_NOTIFY],
  ] as const
) {
  Deno.test(`CA ${what} with an out-of-range DBR type closes that circuit only, as RSRV`, async () => {
    const pv = new SharedPV("conf:v", { type: "float64", value: 1 });
    await using server = await startServer([pv]);
    await using bystander = await RawCaClient.connect(server.tcpPort, { timeoutMs: BACKSTOP_MS });
    await using bad = await RawCaClient.connect(server.tcpPort, { timeoutMs: BACKSTOP_MS });
    const other = await bystander.createChannel(pv.name);
    const updates: RawData[] = [];
    await bystander.subscribe(other.sid, Dbr.DOUBLE, 1, Dbe.VALUE, (u) => updates.push(u));
    await waitFor(() => updates.length === 1, "the bystander's first update");
    const ch = await bad.createChannel(pv.name);
    await waitFor(() => server.circuitCount === 2, "both circuits");

    const seen: CaMessage[] = [];
    bad.tap((m) => seen.push(m));
    await bad.send(badTypeRequest(command, ch.sid, 77));
    await waitFor(() => bad.closed, `the server to close the circuit after a bad ${what}`);
    await waitFor(() => server.circuitCount === 1, "the server to drop the circuit");
    const replies = seen.map((m) => m.command);
    assert.deepEqual(replies, answer === undefined ? [] : [answer], `what the server answered`);
    if (answer === CaCommand.ERROR) assert.equal(seen[0].param2, Eca.BADTYPE);
    if (answer === CaCommand.WRITE_NOTIFY) assert.equal(seen[0].param1, Eca.BADTYPE);

    // The other circuit keeps working: reads, writes and its subscription.
    assert.equal((await bystander.read(other.sid, Dbr.DOUBLE, 1)).data.value[0], 1);
    await bystander.write(other.sid, Dbr.DOUBLE, new Float64Array([2.5]), { notify: true });
    await waitFor(() => updates.length === 2, "the bystander's update after its write");
    assert.equal(updates[1].data.value[0], 2.5);
  });
}

/** Connects announcing protocol minor `minor` and subscribes with count 0. */
async function emptyArrayUpdate(port: number, name: string, minor: number): Promise<RawData> {
  await using c = await RawCaClient.connect(port, { timeoutMs: BACKSTOP_MS, handshake: false });
  const w = new ByteWriter(128);
  encodeVersion(w, { minorVersion: minor });
  encodeClientName(w, "conf");
  encodeHostName(w, "localhost");
  // CREATE_CHAN carries the client's minor version too (p2).
  const created = c.nextMessage((m) => m.command === CaCommand.CREATE_CHAN);
  encodeCreateChanRequest(w, { cid: 1, name, minorVersion: minor });
  await c.send(w.toBytes());
  const sid = (await created).param2;
  const updates: RawData[] = [];
  await c.subscribe(sid, Dbr.TIME_SHORT, 0, Dbe.VALUE, (u) => updates.push(u));
  await waitFor(() => updates.length === 1, "the first update");
  return updates[0];
}

Deno.test("CA count-0 subscription to an empty array: count 0 for 4.13 clients, 1 for older", async () => {
  const pv = new SharedPV("conf:empty", { type: "int16", length: 5 });
  await using server = await startServer([pv]);
  const v13 = await emptyArrayUpdate(server.tcpPort, pv.name, 13);
  assert.equal(v13.count, 0);
  assert.equal(v13.data.value.length, 0);
  const v12 = await emptyArrayUpdate(server.tcpPort, pv.name, 12);
  assert.equal(v12.count, 1, "a client before 4.13 gets RSRV's single-element form");
  assert.deepEqual(Array.from(v12.data.value as Int16Array), [0]);
});

Deno.test("pvserve NAME=int16[5] starts empty (NORD 0) and takes up to 5 elements", async () => {
  await using srv = await startPvserve(["conf:arr=int16[5]"]);
  const config = epicsConfigFrom(srv.clientEnv).ca;
  await using ctx = new CaContext({ config, repeater: false });
  const ch = ctx.channel("conf:arr");
  await ch.connected(BACKSTOP_MS / 1000);
  assert.equal(ch.count, 5, "native count is the array's capacity");
  const first = await ch.get({ count: 0, timeoutSec: BACKSTOP_MS / 1000 });
  assert.equal(first.data.value.length, 0, "an array without values starts empty");
  await ch.put([1, 2, 3], { wait: true, timeoutSec: BACKSTOP_MS / 1000 });
  const after = await ch.get({ count: 0, timeoutSec: BACKSTOP_MS / 1000 });
  assert.deepEqual(Array.from(after.data.value as ArrayLike<number>), [1, 2, 3]);
  await ch.close();
});
