import assert from "node:assert/strict";
import { ByteWriter } from "../../core/bytes.ts";
import { silentLogger } from "../../core/log.ts";
import { CaCommand, Dbe, Dbr, Eca } from "../proto/constants.ts";
import { encodeMessage } from "../proto/header.ts";
import {
  encodeAccessRights,
  encodeCreateChan,
  encodeError,
  encodeEventAddReply,
  encodeEventCancelReply,
  encodeReadNotifyReply,
  encodeWriteNotifyReply,
} from "../proto/messages.ts";
import { CaCircuit } from "../server/circuit.ts";
import { PvMap } from "../../pv/provider.ts";
import { SharedPV } from "../../pv/shared_pv.ts";
import { type CircuitEvent, CircuitState } from "./circuit_state.ts";

const opts = { permissions: "none" } as const;
const ident = { user: "alice", host: "box", connTimeout: 30 };

Deno.test("circuit: opening messages and CREATE_CHAN, golden bytes", opts, () => {
  const c = new CircuitState({ ...ident, priority: 3 }, 0);
  c.hello();
  c.createChannel(1, "T:ai");
  const b = c.takeOutput()!;
  assert.deepEqual(Array.from(b.subarray(0, 16)), [
    0,
    0,
    0,
    0,
    0,
    3,
    0,
    13,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  // CLIENT_NAME "alice": cmd 20, size 8.
  assert.deepEqual(Array.from(b.subarray(16, 40)), [
    0,
    20,
    0,
    8,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    97,
    108,
    105,
    99,
    101,
    0,
    0,
    0,
  ]);
  // HOST_NAME "box".
  assert.deepEqual(Array.from(b.subarray(40, 64)), [
    0,
    21,
    0,
    8,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    98,
    111,
    120,
    0,
    0,
    0,
    0,
    0,
  ]);
  // CREATE_CHAN cid 1, minor 13, "T:ai".
  assert.deepEqual(Array.from(b.subarray(64, 88)), [
    0,
    18,
    0,
    8,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    13,
    84,
    58,
    97,
    105,
    0,
    0,
    0,
    0,
  ]);
  assert.equal(c.takeOutput(), undefined);
});

function serverReplies(): Uint8Array {
  const w = new ByteWriter();
  encodeMessage(w, { command: CaCommand.VERSION, dataCount: 13 });
  encodeAccessRights(w, { cid: 1, rights: 3 });
  encodeCreateChan(w, { cid: 1, sid: 9, dataType: Dbr.DOUBLE, count: 1 });
  encodeReadNotifyReply(w, {
    ioid: 4,
    eca: Eca.NORMAL,
    dataType: Dbr.TIME_DOUBLE,
    count: 1,
    data: {
      value: new Float64Array([2.5]),
      meta: { status: 0, severity: 1, stamp: { secPastEpoch: 5, nsec: 6 } },
    },
  });
  encodeReadNotifyReply(w, { ioid: 5, eca: Eca.GETFAIL, dataType: Dbr.DOUBLE, count: 1 });
  encodeWriteNotifyReply(w, { ioid: 6, eca: Eca.PUTFAIL, dataType: Dbr.DOUBLE, count: 1 });
  encodeEventAddReply(w, {
    subid: 2,
    eca: Eca.NORMAL,
    dataType: Dbr.CHAR,
    count: 3,
    data: { value: new Uint8Array([1, 2, 3]), meta: { status: 0, severity: 0 } },
  });
  encodeEventCancelReply(w, { sid: 9, subid: 2, dataType: Dbr.CHAR, count: 3 });
  encodeError(w, {
    cid: 1,
    eca: Eca.NOWTACCESS,
    request: {
      command: CaCommand.WRITE,
      dataType: 6,
      dataCount: 1,
      param1: 9,
      param2: 1,
      payload: new Uint8Array(8),
    },
    text: "no",
  });
  encodeMessage(w, { command: CaCommand.SERVER_DISCONN, param1: 1 });
  encodeMessage(w, { command: CaCommand.ECHO });
  return w.toBytes();
}

Deno.test("circuit: server messages become events, also fed one byte at a time", opts, () => {
  const bytes = serverReplies();
  const whole = new CircuitState(ident, 0).receive(bytes, 1);
  const c = new CircuitState(ident, 0);
  const split: CircuitEvent[] = [];
  for (let i = 0; i < bytes.length; i++) split.push(...c.receive(bytes.subarray(i, i + 1), 1));
  assert.deepEqual(split, whole);
  assert.deepEqual(whole.map((e) => e.kind), [
    "version",
    "accessRights",
    "created",
    "readReply",
    "readReply",
    "writeReply",
    "monitor",
    "cancelled",
    "error",
    "serverDisconn",
    "echo",
  ]);
  assert.deepEqual(whole[2], { kind: "created", cid: 1, sid: 9, dataType: 6, count: 1 });
  const r = whole[3] as Extract<CircuitEvent, { kind: "readReply" }>;
  assert.equal(r.data!.value[0], 2.5);
  assert.equal(r.data!.meta.severity, 1);
  assert.equal((whole[4] as { data?: unknown }).data, undefined);
  assert.deepEqual(whole[5], { kind: "writeReply", ioid: 6, eca: Eca.PUTFAIL });
  const e = whole[8] as Extract<CircuitEvent, { kind: "error" }>;
  assert.equal(e.eca, Eca.NOWTACCESS);
  assert.equal(e.request.command, CaCommand.WRITE);
  assert.equal(e.request.param2, 1);
  assert.equal(e.text, "no");
});

Deno.test("circuit: monitor data does not alias the receive buffer", opts, () => {
  const bytes = serverReplies();
  const ev = new CircuitState(ident, 0).receive(bytes, 0).find((e) => e.kind === "monitor")!;
  bytes.fill(0);
  assert.deepEqual(
    Array.from((ev as { data: { value: Uint8Array } }).data.value),
    [1, 2, 3],
  );
});

Deno.test("circuit: ECHO after connTimeout of silence, dead 5 s later", opts, () => {
  const c = new CircuitState({ ...ident, connTimeout: 30 }, 100);
  assert.deepEqual(c.tick(110), { sentEcho: false, dead: false, nextAt: 130 });
  c.receive(new Uint8Array(0), 120);
  assert.equal(c.tick(130).nextAt, 150);
  const a = c.tick(150);
  assert.deepEqual(a, { sentEcho: true, dead: false, nextAt: 155 });
  assert.deepEqual(Array.from(c.takeOutput()!), [0, 23, ...new Array(14).fill(0)]);
  assert.equal(c.tick(154).dead, false);
  assert.equal(c.tick(155).dead, true);
  // An answer in time clears the probe.
  const d = new CircuitState({ ...ident, connTimeout: 30 }, 0);
  d.tick(30);
  const w = new ByteWriter();
  encodeMessage(w, { command: CaCommand.ECHO });
  d.receive(w.toBytes(), 32);
  assert.deepEqual(d.tick(33), { sentEcho: false, dead: false, nextAt: 62 });
});

Deno.test("circuit: in-memory pair with the server circuit", opts, async () => {
  const pv = new SharedPV("m:x", { type: "float64", value: 1.5, precision: 2 });
  const client = new CircuitState(ident, 0);
  const events: CircuitEvent[] = [];
  const server = new CaCircuit(new PvMap([pv]), {
    write(b) {
      events.push(...client.receive(b.slice(), 0));
      return Promise.resolve(b.length);
    },
    close() {},
  }, {
    logger: silentLogger,
    maxPayload: 1 << 20,
    maxReplyPayload: 1 << 20,
    peer: "mem",
    tcpPort: 5064,
  });
  const settle = () => new Promise((r) => setTimeout(r, 0));
  const pump = () => {
    const b = client.takeOutput();
    if (b) server.receive(b);
  };
  client.hello();
  client.createChannel(1, "m:x");
  pump();
  await settle();
  const created = events.find((e) => e.kind === "created") as Extract<
    CircuitEvent,
    { kind: "created" }
  >;
  assert.equal(created.dataType, Dbr.DOUBLE);
  assert.ok(events.some((e) => e.kind === "accessRights" && e.rights === 3));
  client.read({ sid: created.sid, ioid: 1, dataType: Dbr.STRING, count: 1 });
  client.writeNotify({
    sid: created.sid,
    ioid: 2,
    dataType: Dbr.DOUBLE,
    count: 1,
    data: { value: new Float64Array([4]), meta: { status: 0, severity: 0 } },
  });
  client.eventAdd({ sid: created.sid, subid: 3, dataType: Dbr.DOUBLE, count: 1, mask: Dbe.VALUE });
  pump();
  await settle();
  await settle();
  const read = events.find((e) => e.kind === "readReply") as Extract<
    CircuitEvent,
    { kind: "readReply" }
  >;
  assert.deepEqual(read.data!.value, ["1.50"]);
  assert.ok(events.some((e) => e.kind === "writeReply" && e.ioid === 2 && e.eca === Eca.NORMAL));
  const mon = events.filter((e) => e.kind === "monitor");
  assert.equal(mon.length, 1);
  assert.equal((mon[0] as { data: { value: Float64Array } }).data.value[0], 4);
  server.close();
});
