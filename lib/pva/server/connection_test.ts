import assert from "node:assert/strict";
import { silentLogger } from "../../core/log.ts";
import { PvMap } from "../../pv/provider.ts";
import { SharedPV } from "../../pv/shared_pv.ts";
import type { PvTableValue, ServedPv } from "../../pv/types.ts";
import { bitOf, type DecodedMessage, PvaCommand, PvaStatusType, PvValue, T } from "../proto/mod.ts";
import { readNtNdArray, readNtScalar } from "../nt/mod.ts";
import { PvaServerConnection } from "./connection.ts";
import { TestPvaPeer } from "./_test_peer.ts";

const { GET, PUT, MONITOR, RPC } = PvaCommand;

/** A server connection wired to a test peer through arrays (no sockets). */
class Pair {
  peer = new TestPvaPeer();
  wire: Uint8Array[] = [];
  writes = 0;
  conn: PvaServerConnection;
  closed = false;
  /** When set, writes wait for this promise (a slow client). */
  gate: Promise<void> | undefined;

  constructor(
    readonly pvs: SharedPV[],
    queueSize?: number,
    onDrained?: (roomFor: ReadonlyMap<ServedPv, number>) => void,
    drainedOnEachWrite?: boolean,
  ) {
    this.conn = new PvaServerConnection(new PvMap(pvs), {
      write: async (b) => {
        if (this.gate) await this.gate;
        this.writes++;
        this.wire.push(b.slice());
        return b.length;
      },
      close: () => {
        this.closed = true;
      },
    }, {
      logger: silentLogger,
      peer: "127.0.0.1:40000",
      guid: new Uint8Array(12),
      tcpPort: 5075,
      queueSize,
      onDrained,
      drainedOnEachWrite,
    });
  }

  /** Lets the connection flush, then decodes everything it wrote. */
  async read(): Promise<DecodedMessage[]> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
    const out: DecodedMessage[] = [];
    for (const b of this.wire.splice(0)) out.push(...this.peer.receive(b));
    return out;
  }

  send(b: Uint8Array): void {
    this.conn.receive(b);
  }

  async handshake(): Promise<void> {
    const hello = await this.read();
    assert.equal(hello[0].kind, "validationRequest");
    this.send(this.peer.validate("ca", "alice", "pc1"));
    const v = await this.read();
    assert.equal(v[0].kind, "validated");
  }

  async channel(cid: number, name: string): Promise<number> {
    this.send(this.peer.createChannel(cid, name));
    const [r] = await this.read();
    assert.equal(r.kind, "createChannelResponse");
    if (r.kind !== "createChannelResponse") throw new Error();
    assert.equal(r.msg.status.type, 0, r.msg.status.message);
    return r.msg.sid;
  }
}

function ops(msgs: DecodedMessage[]) {
  return msgs.flatMap((d) => d.kind === "opResponse" ? [d.msg] : []);
}

function t0() {
  return Date.UTC(2024, 0, 1);
}

Deno.test({
  name: "pva connection: handshake bytes, ca auth identity, one write per turn",
  permissions: "none",
  async fn() {
    const p = new Pair([]);
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(p.writes, 1, "set byte order and validation in one write");
    // CA 02 41 02 00000000 = set byte order (LE), then CONNECTION_VALIDATION.
    assert.deepEqual([...p.wire[0].subarray(0, 8)], [0xca, 2, 0x41, 2, 0, 0, 0, 0]);
    const hello = await p.read();
    assert.equal(hello[0].kind, "validationRequest");
    if (hello[0].kind === "validationRequest") {
      assert.deepEqual(hello[0].msg.authMethods, ["anonymous", "ca"]);
    }
    p.send(p.peer.validate("ca", "bob", "host9"));
    await p.read();
    assert.equal(p.conn.user, "bob");
    assert.equal(p.conn.host, "host9");
    p.send(p.peer.echo(new Uint8Array([1, 2, 3])));
    const [e] = await p.read();
    assert.equal(e.kind, "echo");
    if (e.kind === "echo") assert.deepEqual([...e.payload], [1, 2, 3]);
  },
});

Deno.test({
  name: "pva connection: unknown auth method gets an error status; anonymous keeps peer host",
  permissions: "none",
  async fn() {
    const p = new Pair([]);
    await p.read();
    p.send(p.peer.validate("x509"));
    const [v] = await p.read();
    assert.equal(v.kind === "validated" && v.status.type, PvaStatusType.ERROR);
    const q = new Pair([]);
    await q.read();
    q.send(q.peer.validate("anonymous"));
    await q.read();
    assert.equal(q.conn.user, "");
    assert.equal(q.conn.host, "127.0.0.1");
  },
});

Deno.test({
  name: "pva connection: create channel for an unknown name fails with a status",
  permissions: "none",
  async fn() {
    const p = new Pair([]);
    await p.handshake();
    p.send(p.peer.createChannel(1, "nope"));
    const [r] = await p.read();
    assert.equal(r.kind, "createChannelResponse");
    if (r.kind === "createChannelResponse") {
      assert.equal(r.msg.sid, 0xffffffff);
      assert.equal(r.msg.status.type, PvaStatusType.FATAL);
      assert.match(r.msg.status.message, /nope/);
    }
  },
});

Deno.test({
  name: "pva connection: GET of an NTScalar, whole and with field selection",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("x", { type: "float64", value: 1.5, units: "V", clock: t0 });
    const p = new Pair([pv]);
    await p.handshake();
    const sid = await p.channel(7, "x");
    p.send(p.peer.init(GET, sid, 1));
    const [init] = ops(await p.read());
    assert.equal(init.status?.type, 0);
    assert.equal(init.types?.[0]?.id, "epics:nt/NTScalar:1.0");
    p.send(p.peer.exec(GET, sid, 1, 0));
    const [data] = ops(await p.read());
    const r = readNtScalar(data.value!);
    assert.equal(r.value, 1.5);
    assert.equal(r.display?.units, "V");
    assert.equal(r.timeStamp.secPastEpoch, t0() / 1000 - 631152000);
    // field(value): only the value bit goes out.
    p.send(p.peer.init(GET, sid, 2, "field(value)"));
    await p.read();
    pv.post(2.5);
    p.send(p.peer.exec(GET, sid, 2, 0x10)); // exec + destroy
    const [sel] = ops(await p.read());
    assert.deepEqual(sel.changed?.toArray(), [1]);
    assert.equal(sel.value!.get("value"), 2.5);
    assert.equal(p.conn.operationCount, 1);
  },
});

Deno.test({
  name: "pva connection: PUT applies the value, refuses read-only, limits and wrong type",
  permissions: "none",
  async fn() {
    const x = new SharedPV("x", { type: "float64", value: 0, control: { low: -10, high: 10 } });
    const ro = new SharedPV("ro", { type: "int32", value: 5, writable: false });
    const e = new SharedPV("e", { type: "enum", choices: ["Off", "On"] });
    const p = new Pair([x, ro, e]);
    await p.handshake();
    const sx = await p.channel(1, "x");
    const sro = await p.channel(2, "ro");
    const se = await p.channel(3, "e");
    p.send(p.peer.init(PUT, sx, 1));
    p.send(p.peer.init(PUT, sro, 2));
    p.send(p.peer.init(PUT, se, 3));
    assert.equal(ops(await p.read()).length, 3);
    p.send(p.peer.put(sx, 1, { value: 4.5 }));
    assert.equal(ops(await p.read())[0].status?.type, 0);
    assert.equal(x.value, 4.5);
    p.send(p.peer.put(sx, 1, { value: 40 }));
    const [lim] = ops(await p.read());
    assert.equal(lim.status?.type, PvaStatusType.ERROR);
    assert.match(lim.status!.message, /outside the control limits/);
    assert.equal(x.value, 4.5);
    p.send(p.peer.put(sro, 2, { value: 1 }));
    const [rof] = ops(await p.read());
    assert.match(rof.status!.message, /read-only/);
    assert.equal(ro.value, 5);
    p.send(p.peer.put(sx, 1, { "display.units": "mm" }));
    const [other] = ops(await p.read());
    assert.match(other.status!.message, /only "value" can be written/);
    // The value with another field: the whole put is refused, the value left as it was.
    p.send(p.peer.put(sx, 1, { value: 3, "alarm.severity": 1 }));
    const [mixed] = ops(await p.read());
    assert.equal(mixed.status?.type, PvaStatusType.ERROR);
    assert.match(mixed.status!.message, /only "value" can be written, not "alarm.severity"/);
    assert.equal(x.value, 4.5);
    assert.equal(x.snapshot().alarm.severity, 0);
    p.send(p.peer.put(se, 3, { "value.index": 1 }));
    assert.equal(ops(await p.read())[0].status?.type, 0);
    assert.equal(e.value, 1);
    p.send(p.peer.put(se, 3, { "value.index": 7 }));
    const [bad] = ops(await p.read());
    assert.match(bad.status!.message, /out of range/);
    assert.equal(e.value, 1);
    // get-put (0x40) returns the current value.
    p.send(p.peer.exec(PUT, sx, 1, 0x40));
    const [gp] = ops(await p.read());
    assert.equal(gp.value!.get("value"), 4.5);
  },
});

Deno.test({
  name: "pva connection: puts that do not fit the PV's type are refused, value unchanged",
  permissions: "none",
  async fn() {
    const img = new SharedPV("img", { type: "uint16", ndarray: { dimension: [2, 2] } });
    const wf = new SharedPV("wf", { type: "int16", length: 3 });
    const p = new Pair([img, wf]);
    await p.handshake();
    const si = await p.channel(1, "img");
    const sw = await p.channel(2, "wf");
    p.send(p.peer.init(PUT, si, 1));
    p.send(p.peer.init(PUT, sw, 2));
    await p.read();
    p.send(p.peer.put(si, 1, { value: { doubleValue: new Float64Array([1, 2, 3, 1e7]) } }));
    const [range] = ops(await p.read());
    assert.equal(range.status?.type, PvaStatusType.ERROR);
    assert.match(range.status!.message, /outside the range of uint16/);
    p.send(p.peer.put(sw, 2, { value: new Int16Array(5) }));
    const [long] = ops(await p.read());
    assert.match(long.status!.message, /exceeds the maximum of 3/);
    assert.equal((img.value as Uint16Array).length, 0);
    assert.equal((wf.value as Int16Array).length, 0);
  },
});

Deno.test({
  name: "pva connection: MONITOR initial update, deltas, stop/start, destroy",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("m", { type: "int32", value: 1 });
    const p = new Pair([pv]);
    await p.handshake();
    const sid = await p.channel(1, "m");
    p.send(p.peer.init(MONITOR, sid, 5));
    const [init] = ops(await p.read());
    assert.equal(init.status?.type, 0);
    pv.post(2); // not started yet: nothing
    assert.equal(ops(await p.read()).length, 0);
    p.send(p.peer.exec(MONITOR, sid, 5, 0x44));
    const [first] = ops(await p.read());
    assert.equal(first.value!.get("value"), 2);
    assert.ok(first.changed!.toArray().length >= 5, "initial update carries every field");
    pv.post(3);
    const [delta] = ops(await p.read());
    assert.equal(delta.value!.get("value"), 3);
    const units = bitOf(p.peer.types.get(5)!, "display.units");
    assert.ok(units > 0 && !delta.changed!.get(units), "no display in a delta");
    p.send(p.peer.exec(MONITOR, sid, 5, 0x04)); // stop
    pv.post(4);
    assert.equal(ops(await p.read()).length, 0);
    p.send(p.peer.exec(MONITOR, sid, 5, 0x44)); // restart: current state again
    assert.equal(ops(await p.read())[0].value!.get("value"), 4);
    p.send(p.peer.destroyRequest(sid, 5));
    pv.post(5);
    assert.equal(ops(await p.read()).length, 0);
    assert.equal(pv.listenerCount, 0);
  },
});

Deno.test({
  name: "pva connection: pipelined MONITOR stops at the window and keeps the newest value",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("m", { type: "int32", value: 0 });
    const p = new Pair([pv]);
    await p.handshake();
    const sid = await p.channel(1, "m");
    p.send(p.peer.init(MONITOR, sid, 9, "record[queueSize=3,pipeline=true]", 2));
    await p.read();
    p.send(p.peer.exec(MONITOR, sid, 9, 0x44));
    for (let i = 1; i <= 10; i++) pv.post(i);
    const got = ops(await p.read()).map((o) => o.value!.get("value"));
    assert.equal(got.length, 2, "window of 2");
    pv.post(11);
    assert.equal(ops(await p.read()).length, 0);
    p.send(p.peer.ack(sid, 9, 5));
    const after = ops(await p.read()).map((o) => o.value!.get("value"));
    assert.ok(after.length <= 3, "no more than queueSize held while blocked");
    assert.equal(after[after.length - 1], 11, "newest value kept");
  },
});

Deno.test({
  name: "pva connection: acknowledgements count however the received bytes are cut",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("m", { type: "int32", value: 0 });
    const p = new Pair([pv]);
    await p.handshake();
    const sid = await p.channel(1, "m");
    for (const ioid of [9, 10]) {
      p.send(p.peer.init(MONITOR, sid, ioid, "record[queueSize=3,pipeline=true]", 2));
      await p.read();
      p.send(p.peer.exec(MONITOR, sid, ioid, 0x44));
    }
    await p.read(); // the initial updates use up both windows
    for (let i = 1; i <= 4; i++) pv.post(i);
    const first = ops(await p.read());
    assert.deepEqual(
      first.map((o) => o.ioid),
      [9, 10],
      "one update each (the rest of a window of 2)",
    );
    // Acks around other messages (an echo, an ack for an unknown ioid, a big-endian ack),
    // fed in pieces of 1 to 22 bytes: every cut through a header or a payload.
    const be = p.peer.ack(sid, 9, 1);
    const bigEndian = new Uint8Array(be.length);
    bigEndian.set(be.subarray(0, 8));
    bigEndian[2] |= 0x80;
    const dv = new DataView(bigEndian.buffer);
    const src = new DataView(be.buffer, be.byteOffset);
    dv.setUint32(4, src.getUint32(4, true));
    dv.setUint32(8, src.getUint32(8, true));
    dv.setUint32(12, src.getUint32(12, true));
    bigEndian[16] = be[16];
    dv.setUint32(17, src.getUint32(17, true));
    const parts = [
      p.peer.ack(sid, 9, 1),
      p.peer.echo(new Uint8Array([7])),
      p.peer.ack(sid, 99, 5),
      p.peer.ack(sid, 10, 1),
      bigEndian,
    ];
    const stream = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of parts) {
      stream.set(b, at);
      at += b.length;
    }
    for (let o = 0, k = 1; o < stream.length; o += k, k = k % 22 + 1) {
      p.send(stream.slice(o, o + k));
    }
    const got = await p.read();
    assert.ok(got.some((d) => d.kind === "echo"), "the echo between the acks answered");
    const ids = ops(got).map((o) => o.ioid);
    assert.equal(ids.filter((i) => i === 9).length, 2, "both acks of ioid 9 (one big-endian)");
    assert.equal(ids.filter((i) => i === 10).length, 1, "the ack of ioid 10");
    assert.equal(p.closed, false);
  },
});

Deno.test({
  name: "pva connection: onDrained follows writes only, so a producer posts as the window opens",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("m", { type: "int32", value: 0 });
    let drained = 0;
    let n = 0;
    let producing = false;
    const roomFor: [string, number][][] = [];
    const p = new Pair([pv], undefined, (e) => {
      drained++;
      roomFor.push([...e].map(([x, room]) => [x.name, room]));
      if (producing) { for (let i = 0; i < (e.get(pv) ?? 0); i++) pv.post(++n); }
    });
    await p.handshake();
    assert.ok(drained >= 1, "called after the handshake writes");
    const sid = await p.channel(1, "m");
    p.send(p.peer.init(MONITOR, sid, 9, "record[queueSize=2,pipeline=true]", 4));
    await p.read();
    producing = true;
    p.send(p.peer.exec(MONITOR, sid, 9, 0x44));
    const first = ops(await p.read()).map((o) => o.value!.get("value"));
    assert.equal(first.length, 4, "the producer kept the queue filled up to the window");
    const before = drained;
    pv.post(++n); // window closed: nothing goes out, so no call (no spinning)
    await p.read();
    assert.equal(drained, before);
    p.send(p.peer.ack(sid, 9, 2));
    const more = ops(await p.read()).map((o) => o.value!.get("value"));
    assert.equal(more.length, 2);
    assert.equal(more[1], n - 2, "fresh values follow each ack");
    assert.deepEqual(roomFor[roomFor.length - 1], [["m", 2]], "the PV that sent, and its room");
    assert.deepEqual(roomFor[0], [], "no subscription yet at the handshake");
  },
});

Deno.test({
  name: "pva connection: drainedOnEachWrite refills subscriptions between the writes of a drain",
  permissions: "none",
  async fn() {
    for (const eachWrite of [false, true]) {
      // 320 kB per update: more than one write's worth, so one drain makes several writes.
      const pvs = ["a", "b"].map((name) => new SharedPV(name, { type: "float64", length: 40000 }));
      let n = 0;
      let posted = 0;
      const during: boolean[] = [];
      // (The callback first runs after the constructor: p is set by then.)
      const p: Pair = new Pair(pvs, 2, (room) => {
        if (room.size > 0) during.push(p.conn.writing);
        if (posted > 20) return;
        for (const [pv, k] of room) {
          for (let i = 0; i < k; i++, posted++) (pv as SharedPV).post([++n]);
        }
      }, eachWrite);
      await p.handshake();
      for (const [i, pv] of pvs.entries()) {
        const sid = await p.channel(i + 1, pv.name);
        p.send(p.peer.init(MONITOR, sid, 10 + i, "record[queueSize=2,pipeline=true]", 1000));
        await p.read();
        p.send(p.peer.exec(MONITOR, sid, 10 + i, 0x44));
      }
      for (let i = 0; i < 20 && posted <= 20; i++) await p.read();
      assert.ok(posted > 20, `the producer kept posting (${eachWrite})`);
      if (eachWrite) assert.ok(during.some((w) => w), "called while the drain still writes");
      else assert.ok(during.every((w) => !w), "called only once everything is out");
      p.conn.close();
    }
  },
});

Deno.test({
  name: "pva connection: updates shared across subscriptions and connections stay right",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("w", { type: "uint16", length: 4, units: "V" });
    const a = new Pair([pv]);
    const b = new Pair([pv]);
    await a.handshake();
    await b.handshake();
    const sa = await a.channel(1, "w");
    const sb = await b.channel(1, "w");
    a.send(a.peer.init(MONITOR, sa, 5));
    a.send(a.peer.init(MONITOR, sa, 6, "field(value)"));
    b.send(b.peer.init(MONITOR, sb, 7));
    await a.read();
    await b.read();
    for (const [p, sid, ioid] of [[a, sa, 5], [a, sa, 6], [b, sb, 7]] as const) {
      p.send(p.peer.exec(MONITOR, sid, ioid, 0x44));
    }
    await a.read();
    await b.read();
    const t = a.peer.types.get(5)!;
    for (const v of [[1, 2, 3, 4], [5, 6, 7]]) {
      pv.post(v);
      // The peer decodes into one value per request: check before the next update.
      const ua = ops(await a.read());
      const [ub] = ops(await b.read());
      const [u5] = ua.filter((o) => o.ioid === 5);
      const [u6] = ua.filter((o) => o.ioid === 6);
      for (const u of [u5, u6, ub]) {
        assert.deepEqual([...(u.value!.get("value") as Uint16Array)], v);
      }
      assert.deepEqual(u5.changed!.toArray(), ub.changed!.toArray());
      assert.ok(u5.changed!.get(bitOf(t, "timeStamp.nanoseconds")));
      assert.deepEqual(u6.changed!.toArray(), [bitOf(a.peer.types.get(6)!, "value")]);
      assert.equal(u5.value!.get("timeStamp.nanoseconds"), ub.value!.get("timeStamp.nanoseconds"));
    }
  },
});

Deno.test({
  name: "pva connection: large bursts of updates go out in several bounded writes",
  permissions: "none",
  async fn() {
    const pvs = Array.from(
      { length: 100 },
      (_, i) => new SharedPV(`w${i}`, { type: "float64", length: 4000 }),
    );
    const p = new Pair(pvs);
    await p.handshake();
    for (let i = 0; i < pvs.length; i++) {
      const sid = await p.channel(i + 1, `w${i}`);
      p.send(p.peer.init(MONITOR, sid, 100 + i));
      await p.read();
      p.send(p.peer.exec(MONITOR, sid, 100 + i, 0x44));
    }
    await p.read();
    const before = p.writes;
    for (const pv of pvs) pv.post(new Float64Array(4000).fill(7));
    const got = ops(await p.read());
    assert.equal(got.length, 100, "every update delivered");
    assert.ok(got.every((o) => (o.value!.get("value") as Float64Array)[3999] === 7));
    // 3.2 MB of updates: at least three writes of at most ~1 MB plus one update.
    assert.ok(p.writes - before >= 3, `${p.writes - before} writes`);
  },
});

Deno.test({
  name: "pva connection: a slow client gets bounded queues and the newest value",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("m", { type: "int32", value: 0 });
    const p = new Pair([pv], 2);
    await p.handshake();
    const sid = await p.channel(1, "m");
    p.send(p.peer.init(MONITOR, sid, 1));
    p.send(p.peer.exec(MONITOR, sid, 1, 0x44));
    await p.read();
    let open!: () => void;
    p.gate = new Promise((r) => open = r);
    pv.post(1);
    await new Promise((r) => setTimeout(r, 0)); // write of 1 now blocked
    for (let i = 2; i <= 1000; i++) pv.post(i);
    open();
    p.gate = undefined;
    const vals = ops(await p.read()).map((o) => o.value!.get("value"));
    assert.ok(vals.length <= 4, `got ${vals.length} updates`);
    assert.equal(vals[vals.length - 1], 1000);
  },
});

Deno.test({
  name: "pva connection: GET_FIELD, subfield, unknown sid",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("x", { type: "float64" });
    const p = new Pair([pv]);
    await p.handshake();
    const sid = await p.channel(1, "x");
    p.send(p.peer.getField(sid, 3));
    p.send(p.peer.getField(sid, 4, "alarm"));
    p.send(p.peer.getField(sid, 5, "nosuch"));
    p.send(p.peer.getField(999, 6));
    const r = (await p.read()).flatMap((d) => d.kind === "getFieldResponse" ? [d.msg] : []);
    assert.equal(r[0].type?.id, "epics:nt/NTScalar:1.0");
    assert.equal(r[1].type?.id, "alarm_t");
    assert.equal(r[2].status.type, PvaStatusType.ERROR);
    assert.equal(r[3].status.type, PvaStatusType.ERROR);
  },
});

Deno.test({
  name: "pva connection: RPC handler result, missing handler refused",
  permissions: "none",
  async fn() {
    const calc = new SharedPV("calc", {
      type: "float64",
      onRpc: (args) => {
        const q = (args as { query: { a: number; b: number } }).query;
        if (q.b === 0) throw new Error("division by zero");
        return { value: q.a / q.b };
      },
    });
    const plain = new SharedPV("plain", { type: "float64" });
    const p = new Pair([calc, plain]);
    await p.handshake();
    const sc = await p.channel(1, "calc");
    const sp = await p.channel(2, "plain");
    p.send(p.peer.init(RPC, sc, 1));
    p.send(p.peer.init(RPC, sp, 2));
    const inits = ops(await p.read());
    assert.equal(inits[0].status?.type, 0);
    assert.match(inits[1].status!.message, /does not implement RPC/);
    const uri = T.struct("epics:nt/NTURI:1.0", [
      ["scheme", T.string],
      ["path", T.string],
      ["query", T.struct("", [["a", T.double], ["b", T.double]])],
    ]);
    p.send(
      p.peer.rpc(
        sc,
        1,
        PvValue.create(uri, { scheme: "pva", path: "calc", query: { a: 6, b: 3 } }),
      ),
    );
    const [res] = ops(await p.read());
    assert.equal(res.status?.type, 0);
    assert.equal(res.result?.get("value"), 2);
    p.send(p.peer.rpc(sc, 1, PvValue.create(uri, { query: { a: 1, b: 0 } })));
    const [err] = ops(await p.read());
    assert.match(err.status!.message, /division by zero/);
  },
});

Deno.test({
  name: "pva connection: unsupported operations and bad pvRequests get error statuses",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("x", { type: "float64" });
    const p = new Pair([pv]);
    await p.handshake();
    const sid = await p.channel(1, "x");
    p.send(p.peer.init(PvaCommand.PROCESS, sid, 1));
    p.send(p.peer.init(GET, sid, 2, "field(nosuch)"));
    p.send(p.peer.init(GET, 77, 3));
    const r = ops(await p.read());
    assert.match(r[0].status!.message, /not supported/);
    assert.match(r[1].status!.message, /at least one field/);
    assert.match(r[2].status!.message, /No channel/);
    assert.equal(p.closed, false);
  },
});

Deno.test({
  name: "pva connection: malformed input closes this connection only",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("x", { type: "float64" });
    const bad = new Pair([pv]);
    const good = new Pair([pv]);
    await bad.handshake();
    await good.handshake();
    bad.send(new Uint8Array([0xca, 2, 0x00, 0x07, 3, 0, 0, 0, 0xff, 0xff, 0xff])); // truncated body
    assert.equal(bad.closed, true);
    const other = new Pair([pv]);
    await other.handshake();
    other.send(new Uint8Array([0x00, 1, 2, 3, 4, 5, 6, 7])); // bad magic
    assert.equal(other.closed, true);
    const sid = await good.channel(1, "x");
    assert.ok(sid > 0);
    assert.equal(good.closed, false);
  },
});

Deno.test({
  name: "pva connection: destroy channel replies and ends its monitors",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("m", { type: "int32" });
    const p = new Pair([pv]);
    await p.handshake();
    const sid = await p.channel(4, "m");
    p.send(p.peer.init(MONITOR, sid, 1));
    p.send(p.peer.exec(MONITOR, sid, 1, 0x44));
    await p.read();
    assert.equal(pv.listenerCount, 1);
    p.send(p.peer.destroyChannel(sid, 4));
    const [d] = await p.read();
    assert.equal(d.kind, "destroyChannel");
    assert.equal(pv.listenerCount, 0);
    assert.equal(p.conn.channelCount, 0);
    p.conn.close();
    assert.equal(p.closed, true);
  },
});

Deno.test({
  name: "pva connection: NTNDArray GET and PUT",
  permissions: "none",
  async fn() {
    const img = new SharedPV("img", { type: "uint16", ndarray: { dimension: [3, 2] } });
    img.post(new Uint16Array([1, 2, 3, 4, 5, 6]));
    const p = new Pair([img]);
    await p.handshake();
    const sid = await p.channel(1, "img");
    p.send(p.peer.init(GET, sid, 1));
    await p.read();
    p.send(p.peer.exec(GET, sid, 1, 0));
    const [g] = ops(await p.read());
    const r = readNtNdArray(g.value!);
    assert.deepEqual(Array.from(r.value as Uint16Array), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(r.dimension.map((d) => d.size), [3, 2]);
    p.send(p.peer.init(PUT, sid, 2));
    await p.read();
    p.send(p.peer.put(sid, 2, { value: { ushortValue: new Uint16Array([9, 9, 9, 9, 9, 9]) } }));
    assert.equal(ops(await p.read())[0].status?.type, 0);
    assert.equal((img.value as Uint16Array)[0], 9);
  },
});

Deno.test({
  name: "pva connection: inactivity timeout closes after EPICS_PVA_CONN_TMO × 4/3 of silence",
  permissions: "none",
  async fn() {
    let now = 1000;
    const pv = new SharedPV("t", { type: "int32", value: 1 });
    const make = () => {
      const state = { closed: false };
      const conn = new PvaServerConnection(new PvMap([pv]), {
        write: (b) => Promise.resolve(b.length),
        close: () => state.closed = true,
      }, {
        logger: silentLogger,
        peer: "127.0.0.1:40001",
        guid: new Uint8Array(12),
        tcpPort: 5075,
        connTimeout: 30,
        now: () => now,
      });
      return { conn, state };
    };
    const peer = new TestPvaPeer();
    // Validates, then stays silent: closed at 40 s, not before.
    const a = make();
    a.conn.receive(peer.validate("anonymous"));
    a.conn.receive(peer.createChannel(1, "t"));
    assert.equal(a.conn.channelCount, 1);
    assert.equal(a.conn.idleDeadline, 1000 + 40_000);
    now += 39_999;
    assert.equal(a.conn.checkIdle(), false);
    now += 1;
    assert.equal(a.conn.checkIdle(), true);
    assert.equal(a.state.closed, true);
    assert.equal(a.conn.channelCount, 0);
    // ECHO counts as traffic: it moves the deadline.
    const b = make();
    b.conn.receive(peer.validate("anonymous"));
    now += 30_000;
    b.conn.receive(peer.echo(new Uint8Array()));
    now += 30_000;
    assert.equal(b.conn.checkIdle(), false);
    now += 10_000;
    assert.equal(b.conn.checkIdle(), true);
    // Half a message, then silence: the framer holds the bytes, the timeout still fires.
    const c = make();
    c.conn.receive(peer.validate("anonymous"));
    const msg = peer.createChannel(2, "t");
    c.conn.receive(msg.subarray(0, 5));
    now += 40_000;
    assert.equal(c.conn.checkIdle(), true);
    assert.equal(c.state.closed, true);
    // Without a timeout the connection never idles out.
    const d = new PvaServerConnection(new PvMap([pv]), {
      write: (b) => Promise.resolve(b.length),
      close: () => {},
    }, { logger: silentLogger, peer: "x:1", guid: new Uint8Array(12), tcpPort: 1 });
    assert.equal(d.idleDeadline, Infinity);
    assert.equal(d.checkIdle(), false);
    d.close();
    await new Promise((r) => setTimeout(r, 0));
  },
});

Deno.test({
  name: 'pva connection: the built-in "server" channel lists the hosted PVs (RPC op=channels)',
  permissions: "none",
  async fn() {
    const p = new Pair([
      new SharedPV("b:two", { type: "int32" }),
      new SharedPV("a:one", { type: "float64" }),
    ]);
    await p.handshake();
    const sid = await p.channel(1, "server");
    p.send(p.peer.init(RPC, sid, 1, "field()"));
    assert.equal(ops(await p.read())[0].status?.type, 0);
    // The NTURI pvxlist sends (pvxs): scheme and authority empty, path "server".
    const uri = T.struct("epics:nt/NTURI:1.0", [
      ["scheme", T.string],
      ["authority", T.string],
      ["path", T.string],
      ["query", T.struct("", [["op", T.string]])],
    ]);
    p.send(p.peer.rpc(sid, 1, PvValue.create(uri, { path: "server", query: { op: "channels" } })));
    const [res] = ops(await p.read());
    assert.equal(res.status?.type, 0, res.status?.message);
    assert.equal(res.result?.type.id, "epics:nt/NTScalarArray:1.0");
    assert.deepEqual(res.result?.type.members.map((m) => m.name), ["value", "alarm", "timeStamp"]);
    assert.deepEqual(res.result?.get("value"), ["a:one", "b:two"]);
    p.send(p.peer.rpc(sid, 1, PvValue.create(uri, { path: "server", query: { op: "info" } })));
    const [bad] = ops(await p.read());
    assert.equal(bad.status?.type, PvaStatusType.ERROR);
    assert.match(bad.status!.message, /only op=channels/);
    // A GET shows the names too; a put is refused.
    p.send(p.peer.init(GET, sid, 2));
    await p.read();
    p.send(p.peer.exec(GET, sid, 2, 0));
    const [got] = ops(await p.read());
    assert.deepEqual(got.value?.get("value"), ["a:one", "b:two"]);
    p.send(p.peer.init(PUT, sid, 3));
    await p.read();
    p.send(p.peer.put(sid, 3, { value: ["x"] }));
    assert.equal(ops(await p.read())[0].status?.type, PvaStatusType.ERROR);
  },
});

Deno.test({
  name: "pva connection: a table PV over PVA: GET as NTTable, column puts validated",
  permissions: "none",
  async fn() {
    const t = new SharedPV("tab", {
      type: "table",
      table: { columns: [{ name: "x", type: "float64" }, { name: "s", type: "string" }] },
      value: { x: [1, 2], s: ["a", "b"] },
    });
    const p = new Pair([t]);
    await p.handshake();
    const sid = await p.channel(1, "tab");
    p.send(p.peer.init(GET, sid, 1));
    p.send(p.peer.init(PUT, sid, 2));
    const inits = ops(await p.read());
    assert.equal(inits[0].types?.[0]?.id, "epics:nt/NTTable:1.0");
    p.send(p.peer.exec(GET, sid, 1, 0));
    const [g] = ops(await p.read());
    assert.deepEqual(g.value?.get("labels"), ["x", "s"]);
    assert.deepEqual(g.value?.get("value.s"), ["a", "b"]);
    // One column, same length: applied.
    p.send(p.peer.put(sid, 2, { "value.x": [5, 6] }));
    assert.equal(ops(await p.read())[0].status?.type, 0);
    assert.deepEqual([...(t.value as PvTableValue).x], [5, 6]);
    // One column of another length: refused, nothing changed.
    p.send(p.peer.put(sid, 2, { "value.x": [1, 2, 3] }));
    const [bad] = ops(await p.read());
    assert.equal(bad.status?.type, PvaStatusType.ERROR);
    assert.match(bad.status!.message, /Column "s" has 2 rows, but column "x" has 3/);
    // Whole rows: every column.
    p.send(p.peer.put(sid, 2, { "value.x": [1, 2, 3], "value.s": ["p", "q", "r"] }));
    assert.equal(ops(await p.read())[0].status?.type, 0);
    assert.deepEqual((t.value as PvTableValue).s, ["p", "q", "r"]);
    // Labels are part of the type, not writable.
    p.send(p.peer.put(sid, 2, { labels: ["a", "b"] }));
    assert.match(ops(await p.read())[0].status!.message, /only "value" can be written/);
  },
});
