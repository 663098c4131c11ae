import assert from "node:assert/strict";
import { ByteWriter, cString } from "../../core/bytes.ts";
import { silentLogger } from "../../core/log.ts";
import { CaCommand, Dbe, Dbr, Eca } from "../proto/constants.ts";
import { decodeDbr, encodeDbr } from "../proto/dbr.ts";
import { CaFramer } from "../proto/framer.ts";
import { type CaMessage, encodeMessage, writeHeader } from "../proto/header.ts";
import { PvMap } from "../../pv/provider.ts";
import { SharedPV } from "../../pv/shared_pv.ts";
import { CaCircuit } from "./circuit.ts";
import { putValue, readAs } from "./projection.ts";
import { answerSearch } from "./search.ts";

/** A circuit wired to arrays: what the server writes is framed back into messages. */
function harness(
  pvs: SharedPV[],
  opts: { slow?: boolean; queueSize?: number; maxPayload?: number } = {},
) {
  const framer = new CaFramer();
  const received: CaMessage[] = [];
  const writes: number[] = [];
  let release: (() => void) | undefined;
  let closed = false;
  const circuit = new CaCircuit(new PvMap(pvs), {
    write(b) {
      writes.push(b.length);
      received.push(...framer.receive(b.slice()));
      if (opts.slow) {
        return new Promise((r) => {
          release = () => r(b.length);
        });
      }
      return Promise.resolve(b.length);
    },
    close() {
      closed = true;
    },
  }, {
    logger: silentLogger,
    maxPayload: opts.maxPayload ?? 1 << 20,
    maxReplyPayload: opts.maxPayload ?? 1 << 20,
    peer: "test",
    tcpPort: 5064,
    queueSize: opts.queueSize,
  });
  const send = (build: (w: ByteWriter) => void) => {
    const w = new ByteWriter();
    build(w);
    circuit.receive(w.toBytes());
  };
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return {
    circuit,
    received,
    writes,
    send,
    settle,
    get closed() {
      return closed;
    },
    release: () => release?.(),
  };
}

function name(text: string): Uint8Array {
  return new TextEncoder().encode(text + "\0");
}

/** EVENT_ADD (mask DBE_VALUE) on the channel the harness created, as subscription `subid`. */
function subscribe(
  h: ReturnType<typeof harness>,
  dataType: number,
  count: number,
  subid: number,
): void {
  const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
  const b = new ByteWriter();
  b.zeros(12).u16(Dbe.VALUE).u16(0);
  h.send((w) =>
    encodeMessage(w, {
      command: CaCommand.EVENT_ADD,
      dataType,
      dataCount: count,
      param1: sid,
      param2: subid,
    }, b.toBytes())
  );
}

function hello(w: ByteWriter, pv: string, cid = 7) {
  encodeMessage(w, { command: CaCommand.VERSION, dataCount: 13 });
  encodeMessage(w, { command: CaCommand.CLIENT_NAME }, name("alice"));
  encodeMessage(w, { command: CaCommand.HOST_NAME }, name("box"));
  encodeMessage(w, { command: CaCommand.CREATE_CHAN, param1: cid, param2: 13 }, name(pv));
}

Deno.test({
  name: "circuit: VERSION, then ACCESS_RIGHTS before the CREATE_CHAN reply, all in one write",
  permissions: "none",
  async fn() {
    const h = harness([new SharedPV("a", { type: "float64", value: 1.5 })]);
    h.send((w) => hello(w, "a"));
    await h.settle();
    assert.deepEqual(h.received.map((m) => m.command), [
      CaCommand.VERSION,
      CaCommand.ACCESS_RIGHTS,
      CaCommand.CREATE_CHAN,
    ]);
    assert.equal(h.writes.length, 1, "coalesced into one write");
    const [, ar, cc] = h.received;
    assert.equal(ar.param1, 7);
    assert.equal(ar.param2, 3);
    assert.equal(cc.dataType, Dbr.DOUBLE);
    assert.equal(cc.dataCount, 1);
    assert.equal(cc.param1, 7);
    assert.equal(h.circuit.user, "alice");
    assert.equal(h.circuit.host, "box");
  },
});

Deno.test({
  name: "circuit: unknown names get CREATE_CH_FAIL; bad sid gets ERROR ECA_BADCHID",
  permissions: "none",
  async fn() {
    const h = harness([]);
    h.send((w) => hello(w, "nope", 9));
    h.send((w) => writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.DOUBLE, 1, 1234, 1));
    await h.settle();
    const fail = h.received.find((m) => m.command === CaCommand.CREATE_CH_FAIL);
    assert.equal(fail?.param1, 9);
    const err = h.received.find((m) => m.command === CaCommand.ERROR);
    assert.equal(err?.param2, Eca.BADCHID);
    // The error payload starts with a copy of the request header.
    assert.equal((err!.payload[0] << 8) | err!.payload[1], CaCommand.READ_NOTIFY);
    assert.equal(h.closed, false);
  },
});

Deno.test({
  name: "circuit: READ_NOTIFY converts to the requested type, count 0 gives the current length",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("w", { type: "float64", length: 10, value: [1, 2, 3], precision: 2 });
    const h = harness([pv]);
    h.send((w) => hello(w, "w"));
    await h.settle();
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    h.send((w) => {
      writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.TIME_DOUBLE, 0, sid, 1);
      writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.STRING, 2, sid, 2);
      writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.DOUBLE, 11, sid, 3);
    });
    await h.settle();
    const r1 = h.received.find((m) => m.command === CaCommand.READ_NOTIFY && m.param2 === 1)!;
    assert.equal(r1.param1, Eca.NORMAL);
    assert.equal(r1.dataCount, 3);
    assert.deepEqual(Array.from(decodeDbr(Dbr.TIME_DOUBLE, 3, r1.payload).value as Float64Array), [
      1,
      2,
      3,
    ]);
    const r2 = h.received.find((m) => m.command === CaCommand.READ_NOTIFY && m.param2 === 2)!;
    assert.deepEqual(decodeDbr(Dbr.STRING, 2, r2.payload).value, ["1.00", "2.00"]);
    const errs = h.received.filter((m) => m.command === CaCommand.ERROR).map((m) => m.param2);
    assert.deepEqual(errs, [Eca.BADCOUNT]);
    assert.equal(h.closed, false);
  },
});

Deno.test({
  name: "circuit: a request with a DBR type past 38 closes the circuit, as RSRV does",
  permissions: "none",
  async fn() {
    // RSRV (camessage.c): READ_NOTIFY and EVENT_ADD are dropped with the circuit, no
    // answer; READ gets ERROR ECA_BADTYPE, WRITE too (after its access check),
    // WRITE_NOTIFY its own reply with ECA_BADTYPE; then the circuit closes.
    const cases: Array<[string, number, number | undefined]> = [
      ["READ_NOTIFY", CaCommand.READ_NOTIFY, undefined],
      ["EVENT_ADD", CaCommand.EVENT_ADD, undefined],
      ["READ", CaCommand.READ, CaCommand.ERROR],
      ["WRITE", CaCommand.WRITE, CaCommand.ERROR],
      ["WRITE_NOTIFY", CaCommand.WRITE_NOTIFY, CaCommand.WRITE_NOTIFY],
    ];
    for (const [what, command, answer] of cases) {
      const pv = new SharedPV("w", { type: "float64", value: 1 });
      const h = harness([pv]);
      h.send((w) => hello(w, "w"));
      await h.settle();
      const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
      const before = h.received.length;
      h.send((w) => {
        const size = command === CaCommand.EVENT_ADD || command === CaCommand.WRITE ||
            command === CaCommand.WRITE_NOTIFY
          ? 16
          : 0;
        writeHeader(w, command, size, 39, 1, sid, 9);
        w.zeros(size);
      });
      await h.settle();
      assert.equal(h.closed, true, `${what} with DBR type 39 closes the circuit`);
      const after = h.received.slice(before);
      assert.deepEqual(after.map((m) => m.command), answer === undefined ? [] : [answer], what);
      if (answer === CaCommand.ERROR) assert.equal(after[0].param2, Eca.BADTYPE, what);
      if (answer === CaCommand.WRITE_NOTIFY) assert.equal(after[0].param1, Eca.BADTYPE, what);
      assert.equal(pv.value, 1, `${what} changed nothing`);
    }
  },
});

Deno.test({
  name: "circuit: WRITE_NOTIFY applies, refuses out-of-limit and read-only puts with ECA codes",
  permissions: "none",
  async fn() {
    const t = new SharedPV("t", { type: "float64", value: 25, control: { low: -20, high: 120 } });
    const ro = new SharedPV("ro", { type: "float64", value: 5, writable: false });
    const h = harness([t, ro]);
    h.send((w) => {
      hello(w, "t", 1);
      encodeMessage(w, { command: CaCommand.CREATE_CHAN, param1: 2, param2: 13 }, name("ro"));
    });
    await h.settle();
    const chans = h.received.filter((m) => m.command === CaCommand.CREATE_CHAN);
    const rights = h.received.filter((m) => m.command === CaCommand.ACCESS_RIGHTS);
    assert.deepEqual(rights.map((m) => m.param2), [3, 1]);
    const [sidT, sidRo] = chans.map((m) => m.param2);
    const put = (
      w: ByteWriter,
      sid: number,
      type: number,
      value: string[] | Float64Array,
      ioid: number,
    ) => {
      const body = new ByteWriter();
      encodeDbr(body, type, 1, { value, meta: { status: 0, severity: 0 } });
      encodeMessage(w, {
        command: CaCommand.WRITE_NOTIFY,
        dataType: type,
        dataCount: 1,
        param1: sid,
        param2: ioid,
      }, body.toBytes());
    };
    h.send((w) => {
      put(w, sidT, Dbr.DOUBLE, new Float64Array([42]), 10);
      put(w, sidT, Dbr.DOUBLE, new Float64Array([500]), 11);
      put(w, sidT, Dbr.STRING, ["abc"], 12);
      put(w, sidRo, Dbr.DOUBLE, new Float64Array([1]), 13);
      put(w, sidT, Dbr.STRING, ["99.5"], 14);
    });
    await h.settle();
    await h.settle();
    const replies = new Map(
      h.received.filter((m) => m.command === CaCommand.WRITE_NOTIFY).map((
        m,
      ) => [m.param2, m.param1]),
    );
    assert.equal(replies.get(10), Eca.NORMAL);
    assert.equal(replies.get(11), Eca.PUTFAIL);
    assert.equal(replies.get(12), Eca.PUTFAIL);
    assert.equal(replies.get(13), Eca.NOWTACCESS);
    assert.equal(replies.get(14), Eca.NORMAL);
    assert.equal(t.value, 99.5);
    assert.equal(ro.value, 5);
  },
});

Deno.test({
  name: "circuit: a plain WRITE that fails is answered with ERROR naming the channel",
  permissions: "none",
  async fn() {
    const t = new SharedPV("t", { type: "float64", value: 3.5 });
    const h = harness([t]);
    h.send((w) => hello(w, "t", 1));
    await h.settle();
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    h.send((w) =>
      encodeMessage(w, {
        command: CaCommand.WRITE,
        dataType: Dbr.STRING,
        dataCount: 1,
        param1: sid,
        param2: 1,
      }, name("abc"))
    );
    await h.settle();
    const err = h.received.find((m) => m.command === CaCommand.ERROR)!;
    assert.equal(err.param1, 1);
    assert.equal(err.param2, Eca.PUTFAIL);
    assert.equal(cString(err.payload.subarray(16)), "t");
    assert.equal(t.value, 3.5);
  },
});

Deno.test({
  name:
    "circuit: subscriptions start with the current value, honour the mask, cancel with a zero-size EVENT_ADD",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("x", { type: "int32", value: 1, alarm: { high: 10, highSeverity: 1 } });
    const h = harness([pv]);
    h.send((w) => hello(w, "x"));
    await h.settle();
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    const sub = (w: ByteWriter, subid: number, mask: number) => {
      const b = new ByteWriter();
      b.zeros(12).u16(mask).u16(0);
      encodeMessage(w, {
        command: CaCommand.EVENT_ADD,
        dataType: Dbr.TIME_LONG,
        dataCount: 1,
        param1: sid,
        param2: subid,
      }, b.toBytes());
    };
    h.send((w) => {
      sub(w, 100, Dbe.VALUE);
      sub(w, 200, Dbe.ALARM);
    });
    await h.settle();
    pv.post(2);
    await h.settle();
    pv.post(11);
    await h.settle();
    const ev = (id: number) =>
      h.received.filter((m) => m.command === CaCommand.EVENT_ADD && m.param2 === id)
        .map((m) => decodeDbr(Dbr.TIME_LONG, 1, m.payload).value[0]);
    assert.deepEqual(ev(100), [1, 2, 11]);
    assert.deepEqual(ev(200), [1, 11]);
    h.send((w) => writeHeader(w, CaCommand.EVENT_CANCEL, 0, Dbr.TIME_LONG, 1, sid, 100));
    await h.settle();
    pv.post(3);
    await h.settle();
    const last = h.received.filter((m) => m.command === CaCommand.EVENT_ADD && m.param2 === 100).at(
      -1,
    )!;
    assert.equal(last.payload.length, 0, "cancel confirmation has no payload");
    assert.equal(pv.listenerCount, 1);
    h.send((w) => writeHeader(w, CaCommand.CLEAR_CHANNEL, 0, 0, 0, sid, 7));
    await h.settle();
    assert.equal(pv.listenerCount, 0);
    assert.equal(h.received.at(-1)!.command, CaCommand.CLEAR_CHANNEL);
  },
});

Deno.test({
  name: "circuit: a lagging client gets a bounded queue that keeps the newest value",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("x", { type: "int32", value: 0 });
    const h = harness([pv], { slow: true, queueSize: 3 });
    h.send((w) => hello(w, "x"));
    await h.settle();
    // The first write (VERSION... CREATE_CHAN) is still "in flight": nothing more is written.
    subscribe(h, Dbr.LONG, 1, 5);
    for (let i = 1; i <= 1000; i++) pv.post(i);
    await h.settle();
    h.release();
    await h.settle();
    h.release();
    await h.settle();
    const vals = h.received.filter((m) => m.command === CaCommand.EVENT_ADD)
      .map((m) => decodeDbr(Dbr.LONG, 1, m.payload).value[0]);
    assert.ok(vals.length <= 3, `queue bounded, got ${vals.length}`);
    assert.equal(vals.at(-1), 1000, "newest value delivered");
  },
});

Deno.test({
  name: "circuit: EVENTS_OFF holds updates (newest kept) until EVENTS_ON; ECHO is echoed",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("x", { type: "int32", value: 0 });
    const h = harness([pv], { queueSize: 2 });
    h.send((w) => hello(w, "x"));
    await h.settle();
    subscribe(h, Dbr.LONG, 1, 5);
    await h.settle();
    h.send((w) => encodeMessage(w, { command: CaCommand.EVENTS_OFF }));
    for (let i = 1; i <= 50; i++) pv.post(i);
    h.send((w) => encodeMessage(w, { command: CaCommand.ECHO }));
    await h.settle();
    const before = h.received.filter((m) => m.command === CaCommand.EVENT_ADD).length;
    assert.equal(before, 1);
    assert.equal(h.received.at(-1)!.command, CaCommand.ECHO);
    h.send((w) => encodeMessage(w, { command: CaCommand.EVENTS_ON }));
    await h.settle();
    const vals = h.received.filter((m) => m.command === CaCommand.EVENT_ADD)
      .map((m) => decodeDbr(Dbr.LONG, 1, m.payload).value[0]);
    assert.deepEqual(vals, [0, 1, 50]);
  },
});

Deno.test({
  name: "circuit: malformed stream closes only this circuit",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("x", { type: "int32", value: 0 });
    const h = harness([pv]);
    h.send((w) => hello(w, "x"));
    await h.settle();
    // Payload size 5 is not a multiple of 8.
    h.circuit.receive(
      new Uint8Array([0, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 5]),
    );
    assert.equal(h.closed, true);
    assert.equal(pv.listenerCount, 0);
  },
});

Deno.test({
  name: "search: replies only for hosted names, with VERSION echoing the sequence number",
  permissions: "none",
  fn() {
    const w = new ByteWriter();
    writeHeader(w, CaCommand.VERSION, 0, 1, 13, 42, 0);
    for (const [n, id] of [["a", 1], ["missing", 2], ["b", 3]] as const) {
      const p = name(n);
      const padded = new Uint8Array(Math.ceil(p.length / 8) * 8);
      padded.set(p);
      writeHeader(w, CaCommand.SEARCH, padded.length, 5, 13, id, id);
      w.bytes(padded);
    }
    const provider = new PvMap([
      new SharedPV("a", { type: "int32" }),
      new SharedPV("b", { type: "int32" }),
    ]);
    const reply = answerSearch(w.toBytes(), provider, 5099, new ByteWriter())!;
    const f = new CaFramer();
    const msgs = f.receive(reply.slice());
    assert.deepEqual(msgs.map((m) => [m.command, m.param2]), [[0, 0], [6, 1], [6, 3]]);
    assert.equal(msgs[0].param1, 42);
    assert.equal(msgs[1].dataType, 5099);
    assert.equal(msgs[1].param1, 0xffffffff);
    assert.equal((msgs[1].payload[0] << 8) | msgs[1].payload[1], 13);
    // Over UDP, DO_REPLY changes nothing: unknown names get no answer (as RSRV; only TCP
    // searches get NOT_FOUND), so the datagram needs no reply at all.
    const ask = new ByteWriter();
    writeHeader(ask, CaCommand.VERSION, 0, 1, 13, 5, 0);
    writeHeader(ask, CaCommand.SEARCH, 8, 10, 13, 77, 77);
    ask.bytes(new TextEncoder().encode("zz\0\0\0\0\0\0"));
    assert.equal(answerSearch(ask.toBytes(), provider, 5099, new ByteWriter()), undefined);
    const none = new ByteWriter();
    writeHeader(none, CaCommand.VERSION, 0, 1, 13, 1, 0);
    assert.equal(answerSearch(none.toBytes(), provider, 5099, new ByteWriter()), undefined);
  },
});

Deno.test({
  name: "circuit: a read that cannot convert is answered with ECA_GETFAIL and a zeroed body",
  permissions: "none",
  async fn() {
    const h = harness([new SharedPV("s", { type: "string", value: "hello world" })]);
    h.send((w) => hello(w, "s"));
    await h.settle();
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    h.send((w) => writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.DOUBLE, 1, sid, 1));
    await h.settle();
    const r = h.received.find((m) => m.command === CaCommand.READ_NOTIFY)!;
    assert.equal(r.param1, Eca.GETFAIL);
    assert.equal(r.dataCount, 1);
    assert.deepEqual(Array.from(r.payload), [0, 0, 0, 0, 0, 0, 0, 0]);
  },
});

Deno.test({
  name: "circuit: a client that does not read its replies stops being served until it does",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("w", { type: "float64", length: 1000 });
    const h = harness([pv], { slow: true });
    h.send((w) => hello(w, "w"));
    await h.settle();
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    // 2000 reads of 8 kB each = 16 MB of replies, far beyond the 4 MB high-water mark.
    h.send((w) => {
      for (let i = 0; i < 2000; i++) {
        writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.DOUBLE, 1000, sid, i);
      }
    });
    await h.settle();
    assert.equal(h.circuit.wantsMore, false);
    assert.ok(h.circuit.backlog <= 4 * 1024 * 1024 + 8100, `backlog ${h.circuit.backlog}`);
    let ready = false;
    const waiting = h.circuit.whenReady().then(() => ready = true);
    for (let i = 0; i < 20 && !ready; i++) {
      h.release();
      await h.settle();
    }
    await waiting;
    const replies = h.received.filter((m) => m.command === CaCommand.READ_NOTIFY);
    assert.equal(replies.length, 2000, "every held request is answered in the end");
    assert.deepEqual(replies.map((m) => m.param2).slice(0, 3), [0, 1, 2]);
  },
});

Deno.test({
  name:
    "circuit: scalar puts held back behind a full backlog keep their values when the read buffer is reused",
  permissions: "none",
  async fn() {
    const wave = new SharedPV("w", { type: "float64", length: 1000 });
    const ao = new SharedPV("ao", { type: "float64", value: 0 });
    const h = harness([wave, ao], { slow: true });
    h.send((w) => {
      hello(w, "w", 1);
      encodeMessage(w, { command: CaCommand.CREATE_CHAN, param1: 2, param2: 13 }, name("ao"));
    });
    await h.settle();
    const sids = h.received.filter((m) => m.command === CaCommand.CREATE_CHAN);
    const [sidW, sidA] = [sids[0].param2, sids[1].param2];
    const w = new ByteWriter();
    // Past the high-water mark first, then the puts: they wait as copies.
    for (let i = 0; i < 1000; i++) {
      writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.DOUBLE, 1000, sidW, i);
    }
    const put = (type: number, value: Float64Array | string[]) => {
      const body = new ByteWriter();
      encodeDbr(body, type, 1, { value, meta: { status: 0, severity: 0 } });
      body.padTo(8);
      encodeMessage(w, {
        command: CaCommand.WRITE,
        dataType: type,
        dataCount: 1,
        param1: sidA,
        param2: 2,
      }, body.toBytes());
    };
    put(Dbr.DOUBLE, new Float64Array([42.5]));
    put(Dbr.STRING, ["7.25"]);
    const chunk = w.toBytes();
    h.circuit.receive(chunk);
    chunk.fill(0xff); // the server's read buffer takes the next read
    assert.equal(h.circuit.wantsMore, false);
    assert.equal(ao.value, 0, "the puts wait behind the replies");
    for (let i = 0; i < 20 && !h.circuit.wantsMore; i++) {
      h.release();
      await h.settle();
    }
    assert.equal(ao.value, 7.25);
    assert.ok(!h.received.some((m) => m.command === CaCommand.ERROR));
    // The same two puts straight from a chunk: the double, then the text, are read in place.
    const direct = new ByteWriter();
    const body = new ByteWriter();
    encodeDbr(body, Dbr.STRING, 1, { value: ["-0.125"], meta: { status: 0, severity: 0 } });
    encodeMessage(direct, {
      command: CaCommand.WRITE,
      dataType: Dbr.STRING,
      dataCount: 1,
      param1: sidA,
      param2: 2,
    }, body.toBytes());
    h.circuit.receive(direct.toBytes());
    assert.equal(ao.value, -0.125);
  },
});

Deno.test({
  name: "circuit: a signed int8 PV reads negative through wider types and takes negative puts",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("b", { type: "int8", value: -5 });
    const h = harness([pv]);
    h.send((w) => hello(w, "b"));
    await h.settle();
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    h.send((w) => {
      writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.DOUBLE, 1, sid, 1);
      writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.CHAR, 1, sid, 2);
      writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.STRING, 1, sid, 3);
    });
    await h.settle();
    const read = (id: number, type: number) =>
      decodeDbr(
        type,
        1,
        h.received.find((m) => m.command === CaCommand.READ_NOTIFY && m.param2 === id)!.payload,
      )
        .value[0];
    assert.equal(read(1, Dbr.DOUBLE), -5);
    assert.equal(read(2, Dbr.CHAR), 251, "DBR_CHAR is unsigned on the wire");
    assert.equal(read(3, Dbr.STRING), "-5");
    const put = (type: number, value: Float64Array | string[] | Uint8Array, ioid: number) => {
      const body = new ByteWriter();
      encodeDbr(body, type, 1, { value, meta: { status: 0, severity: 0 } });
      h.send((w) =>
        encodeMessage(w, {
          command: CaCommand.WRITE_NOTIFY,
          dataType: type,
          dataCount: 1,
          param1: sid,
          param2: ioid,
        }, body.toBytes())
      );
    };
    put(Dbr.DOUBLE, new Float64Array([-7]), 10);
    await h.settle();
    assert.equal(pv.value, -7);
    put(Dbr.STRING, ["-8"], 11);
    await h.settle();
    assert.equal(pv.value, -8);
    put(Dbr.CHAR, new Uint8Array([250]), 12);
    await h.settle();
    assert.equal(pv.value, -6, "a DBR_CHAR byte is taken as signed");
    put(Dbr.DOUBLE, new Float64Array([300]), 13);
    await h.settle();
    const last = h.received.filter((m) => m.command === CaCommand.WRITE_NOTIFY).at(-1)!;
    assert.equal(last.param1, Eca.PUTFAIL, "out of int8 range is refused");
    assert.equal(pv.value, -6);
  },
});

Deno.test({
  name: "circuit: an invalid command gets ERROR ECA_INTERNAL before the circuit closes",
  permissions: "none",
  async fn() {
    const h = harness([]);
    await h.settle();
    h.send((w) => writeHeader(w, 200, 0, 0, 0, 0, 0));
    await h.settle();
    assert.equal(h.closed, true);
    const err = h.received.find((m) => m.command === CaCommand.ERROR);
    assert.equal(err?.param2, Eca.INTERNAL);
  },
});

Deno.test({
  name: "circuit: subscriptions that could never be sent get ECA_TOLARGE; late names get an ERROR",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("big", { type: "float64", length: 10000 });
    const framer = new CaFramer();
    const got: CaMessage[] = [];
    const c = new CaCircuit(new PvMap([pv]), {
      write: (b) => {
        got.push(...framer.receive(b.slice()));
        return Promise.resolve(b.length);
      },
      close() {},
    }, {
      logger: silentLogger,
      maxPayload: 16384,
      maxReplyPayload: 16384,
      peer: "t",
      tcpPort: 1,
    });
    const w = new ByteWriter();
    hello(w, "big");
    c.receive(w.toBytes());
    await new Promise((r) => setTimeout(r, 0));
    const sid = got.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    w.reset();
    const b = new ByteWriter();
    b.zeros(12).u16(Dbe.VALUE).u16(0);
    encodeMessage(w, {
      command: CaCommand.EVENT_ADD,
      dataType: Dbr.DOUBLE,
      dataCount: 0,
      param1: sid,
      param2: 1,
    }, b.toBytes());
    encodeMessage(w, { command: CaCommand.CLIENT_NAME }, name("mallory"));
    c.receive(w.toBytes());
    await new Promise((r) => setTimeout(r, 0));
    const errs = got.filter((m) => m.command === CaCommand.ERROR).map((m) => m.param2);
    assert.deepEqual(errs, [Eca.TOLARGE, Eca.INTERNAL]);
    assert.equal(c.user, "alice");
    assert.equal(pv.listenerCount, 0);
    c.close();
  },
});

Deno.test({
  name: "circuit: many subscriptions of a client that does not read stay near the high-water mark",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("w", { type: "float64", length: 1000 });
    const h = harness([pv], { slow: true });
    h.send((w) => hello(w, "w"));
    await h.settle();
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    const b = new ByteWriter();
    b.zeros(12).u16(Dbe.VALUE).u16(0);
    h.send((w) => {
      for (let i = 0; i < 2000; i++) {
        encodeMessage(w, {
          command: CaCommand.EVENT_ADD,
          dataType: Dbr.DOUBLE,
          dataCount: 1000,
          param1: sid,
          param2: i,
        }, b.toBytes());
      }
    });
    for (let i = 0; i < 5; i++) pv.post(new Float64Array(1000).fill(i));
    await h.settle();
    // 2000 subscriptions x 8 kB updates would be 16 MB per post; the output stays bounded.
    assert.ok(h.circuit.backlog < 4 * 1024 * 1024 + 16 * 1024, `backlog ${h.circuit.backlog}`);
    h.circuit.close();
  },
});

Deno.test({
  name: "circuit: a zero-count write empties an array PV (caput -a with no values)",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("wf", { type: "float64", length: 10, value: [1, 2, 3] });
    const h = harness([pv]);
    h.send((w) => hello(w, "wf"));
    await h.settle();
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    h.send((w) => writeHeader(w, CaCommand.WRITE_NOTIFY, 0, Dbr.STRING, 0, sid, 9));
    await h.settle();
    const r = h.received.find((m) => m.command === CaCommand.WRITE_NOTIFY)!;
    assert.equal(r.param1, Eca.NORMAL);
    assert.equal((pv.value as Float64Array).length, 0);
  },
});

Deno.test({
  name:
    "circuit: readers of the same value get identical bytes (first encoded in place, then shared)",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("w", {
      type: "float64",
      length: 4,
      value: [1.5, 2.5, 3.5, 4.5],
      units: "mm",
    });
    const payloads: string[] = [];
    for (let i = 0; i < 3; i++) {
      const h = harness([pv]);
      h.send((w) => hello(w, "w"));
      await h.settle();
      const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
      h.send((w) => writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.CTRL_DOUBLE, 0, sid, 1));
      await h.settle();
      const r = h.received.find((m) => m.command === CaCommand.READ_NOTIFY)!;
      assert.equal(r.dataCount, 4);
      payloads.push(Array.from(r.payload).join(","));
      h.circuit.close();
    }
    assert.equal(payloads[1], payloads[0]);
    assert.equal(payloads[2], payloads[0]);
    const d = decodeDbr(Dbr.CTRL_DOUBLE, 4, new Uint8Array(payloads[2].split(",").map(Number)));
    assert.deepEqual(Array.from(d.value as Float64Array), [1.5, 2.5, 3.5, 4.5]);
    assert.equal(d.meta.units, "mm");
  },
});

Deno.test({
  name: "circuit: one-number writes and reads of scalars match the general decode/encode path",
  permissions: "none",
  async fn() {
    const types = ["float64", "float32", "int32", "int16", "uint8", "uint16", "boolean"] as const;
    const values = [-3.75, 1, 200.5, 70000.25];
    for (const type of types) {
      for (const vt of [Dbr.SHORT, Dbr.FLOAT, Dbr.CHAR, Dbr.LONG, Dbr.DOUBLE]) {
        for (const family of [0, 7, 14]) {
          for (const x of values) {
            const dataType = vt + family;
            const pv = new SharedPV("p", { type, value: 0 });
            const ref = new SharedPV("r", { type, value: 0 });
            const payload = new ByteWriter();
            encodeDbr(payload, dataType, 1, {
              value: [x] as unknown as Float64Array,
              meta: { status: 0, severity: 0 },
            });
            payload.padTo(8);
            let refused = false;
            try {
              const data = decodeDbr(dataType, 1, payload.toBytes());
              await ref.put(putValue(data, dataType, ref.snapshot(), ref.type), {
                protocol: "ca",
                user: "",
                host: "",
              });
            } catch {
              refused = true;
            }
            const h = harness([pv]);
            h.send((w) => {
              hello(w, "p");
              encodeMessage(
                w,
                { command: CaCommand.WRITE, dataType, dataCount: 1, param1: 1, param2: 9 },
                payload.toBytes(),
              );
            });
            await h.settle();
            const what = `${type} <- ${dataType} ${x}`;
            assert.equal(h.received.some((m) => m.command === CaCommand.ERROR), refused, what);
            assert.equal(pv.snapshot().value, ref.snapshot().value, what);
            // Reads of every numeric type: same bytes as encoding readAs' answer.
            h.received.length = 0;
            h.send((w) => {
              writeHeader(w, CaCommand.READ_NOTIFY, 0, dataType, 1, 1, 5);
              writeHeader(w, CaCommand.READ_NOTIFY, 0, dataType, 0, 1, 6);
            });
            await h.settle();
            const snap = pv.snapshot();
            const want = new ByteWriter();
            const r = readAs(snap, pv.type, dataType, 1);
            encodeDbr(want, dataType, r.count, r.data);
            want.padTo(8);
            assert.equal(h.received.length, 2, what);
            for (const m of h.received) assert.deepEqual(m.payload, want.toBytes(), what);
          }
        }
      }
    }
  },
});

/** A PV that refuses reads to the user "eve" (an ACF NONE rule). */
class HiddenPV extends SharedPV {
  canRead(ctx?: { user: string }): boolean {
    return ctx?.user !== "eve";
  }
  override canWrite(): boolean {
    return false;
  }
}

Deno.test({
  name: "circuit: no read access: rights without READ, READ gets ERROR, READ_NOTIFY and " +
    "EVENT_ADD get ECA_NORDACCESS with a zeroed body",
  permissions: "none",
  async fn() {
    const pv = new HiddenPV("h", { type: "float64", value: 1.5 });
    const h = harness([pv]);
    h.send((w) => {
      encodeMessage(w, { command: CaCommand.VERSION, dataCount: 13 });
      encodeMessage(w, { command: CaCommand.CLIENT_NAME }, name("eve"));
      encodeMessage(w, { command: CaCommand.CREATE_CHAN, param1: 7, param2: 13 }, name("h"));
    });
    await h.settle();
    const rights = h.received.find((m) => m.command === CaCommand.ACCESS_RIGHTS)!;
    assert.equal(rights.param2, 0);
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    h.send((w) => {
      writeHeader(w, CaCommand.READ_NOTIFY, 0, Dbr.TIME_DOUBLE, 1, sid, 1);
      writeHeader(w, CaCommand.READ, 0, Dbr.DOUBLE, 1, sid, 2);
      const sub = new Uint8Array(16);
      sub[13] = Dbe.VALUE;
      encodeMessage(w, {
        command: CaCommand.EVENT_ADD,
        dataType: Dbr.DOUBLE,
        dataCount: 1,
        param1: sid,
        param2: 3,
      }, sub);
    });
    await h.settle();
    const r = h.received.find((m) => m.command === CaCommand.READ_NOTIFY)!;
    assert.equal(r.param1, Eca.NORDACCESS);
    assert.equal(r.dataCount, 1);
    assert.equal(r.payload.length, 24);
    assert.ok(r.payload.every((b) => b === 0));
    const err = h.received.find((m) => m.command === CaCommand.ERROR)!;
    assert.equal(err.param2, Eca.NORDACCESS);
    assert.equal((err.payload[0] << 8) | err.payload[1], CaCommand.READ);
    pv.post(2.5);
    await h.settle();
    const events = h.received.filter((m) => m.command === CaCommand.EVENT_ADD);
    assert.equal(events.length, 2, "the first update and the one after the post");
    for (const e of events) {
      assert.equal(e.param1, Eca.NORDACCESS);
      assert.deepEqual([...e.payload], new Array(8).fill(0));
    }
    assert.equal(h.closed, false);
  },
});

/** First elements of the DBR_DOUBLE updates of subscription `subid`, in arrival order. */
function firstElements(h: ReturnType<typeof harness>, count: number, subid = 9): number[] {
  return h.received.filter((m) => m.command === CaCommand.EVENT_ADD && m.param2 === subid)
    .map((m) => (decodeDbr(Dbr.DOUBLE, count, m.payload).value as Float64Array)[0]);
}

Deno.test({
  name: "circuit: an array subscription whose client keeps up gets every update, in order",
  permissions: "none",
  async fn() {
    const wave = new SharedPV("w", { type: "float64", length: 4 });
    const h = harness([wave], { slow: true });
    h.send((w) => hello(w, "w"));
    await h.settle();
    // A write is in flight but the unsent replies are small: nothing is dropped.
    subscribe(h, Dbr.DOUBLE, 4, 9);
    const want = [0];
    for (let round = 0; round < 3; round++) {
      for (let i = 1; i <= 40; i++) {
        wave.post(new Float64Array([round * 100 + i, 0, 0, i]));
        want.push(round * 100 + i);
      }
      await h.settle();
      h.release();
      await h.settle();
    }
    h.release();
    await h.settle();
    assert.deepEqual(firstElements(h, 4), want);
  },
});

Deno.test({
  name:
    "circuit: an array subscription of a lagging client keeps only its newest unsent update (RSRV's rule), the last value last",
  permissions: "none",
  async fn() {
    // 1.28 MB per update: one update in flight is more than a client that keeps up leaves
    // (the circuit's lag threshold, LAG_BYTES, is 1 MiB).
    const n = 160_000;
    const wave = new SharedPV("w", { type: "float64", length: n });
    const h = harness([wave], { slow: true, maxPayload: 4 << 20 });
    h.send((w) => hello(w, "w"));
    await h.settle();
    subscribe(h, Dbr.DOUBLE, n, 9);
    const value = (first: number, last: number) => {
      const v = new Float64Array(n);
      v[0] = first;
      v[n - 1] = last;
      return v;
    };
    for (let round = 0; round < 3; round++) {
      for (let i = 1; i <= 20; i++) wave.post(value(round * 20 + i, i));
      await h.settle();
      h.release();
      await h.settle();
    }
    h.release();
    await h.settle();
    // The initial value waits behind the replies to the channel's creation; queued, it is
    // already 1.28 MB unsent, so each post replaces it. Each later round waits behind the
    // write of the previous update: only its newest post is sent.
    assert.deepEqual(firstElements(h, n), [20, 40, 60]);
    const last = h.received.filter((m) => m.command === CaCommand.EVENT_ADD).at(-1)!;
    const got = decodeDbr(Dbr.DOUBLE, n, last.payload).value as Float64Array;
    assert.deepEqual([got[0], got[n - 1]], [60, 20]);
  },
});

Deno.test({
  name: "circuit: scalar updates still queue one by one behind a busy write",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("x", { type: "int32", value: 0 });
    const h = harness([pv], { slow: true });
    h.send((w) => hello(w, "x"));
    await h.settle();
    subscribe(h, Dbr.LONG, 1, 5);
    for (let i = 1; i <= 10; i++) pv.post(i);
    await h.settle();
    h.release();
    await h.settle();
    h.release();
    await h.settle();
    const vals = h.received.filter((m) => m.command === CaCommand.EVENT_ADD)
      .map((m) => decodeDbr(Dbr.LONG, 1, m.payload).value[0]);
    // A scalar's updates are each delivered, in order (the queue holds up to 64 here).
    assert.deepEqual(vals, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  },
});

Deno.test({
  name:
    "circuit: many array subscriptions behind a stalled small write keep one update each (queued updates count as lag)",
  permissions: "none",
  async fn() {
    // 200 subscriptions of 4096 doubles (32 KB per update): each alone is under the lag
    // threshold, together they are far over it while the first write never completes.
    const n = 4096;
    const wave = new SharedPV("w", { type: "float64", length: n });
    const h = harness([wave], { slow: true });
    h.send((w) => hello(w, "w"));
    await h.settle();
    for (let id = 0; id < 200; id++) subscribe(h, Dbr.DOUBLE, n, 1000 + id);
    for (let i = 1; i <= 20; i++) {
      const v = new Float64Array(n);
      v[0] = i;
      wave.post(v);
    }
    await h.settle();
    const queued = h.circuit.report().undeliveredBytes;
    // Nothing was encoded (the write is stalled); the report counts encoded bytes only, so
    // look at what arrives once the client reads again.
    assert.ok(queued < 64 * 1024, `only the creation replies are unsent (${queued} B)`);
    for (let k = 0; k < 10; k++) {
      h.release();
      await h.settle();
    }
    let total = 0;
    for (let id = 1000; id < 1200; id++) {
      const firsts = firstElements(h, n, id);
      total += firsts.length;
      assert.equal(firsts.at(-1), 20, `subscription ${id} ends with the newest value`);
    }
    // Before queued updates counted, each kept up to its queue bound (8 here): 1,600.
    assert.ok(total <= 2 * 200 + 8, `${total} updates for 200 subscriptions`);
  },
});
