import assert from "node:assert/strict";
import { ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import { CaFramer, decodeDatagram, FramedMessage } from "./framer.ts";
import { type CaMessage, encodeCaMessage, encodeMessage } from "./header.ts";

const none = { permissions: "none" } as const;

// caget_T_ai_dbr20, client stream: VERSION, CLIENT_NAME "root", HOST_NAME "vm",
// CREATE_CHAN "T:ai", then READ_NOTIFY and CLEAR_CHANNEL.
const CLIENT =
  "000000000000000d000000000000000000140008000000000000000000000000726f6f74000000000015" +
  "0008000000000000000000000000766d0000000000000012000800000000000000010000000d543a616900000000" +
  "000f0000001400010000002600000001000c0000000000000000002600000001";

function summary(ms: CaMessage[]): string[] {
  return ms.map((m) =>
    `${m.command}/${m.dataType}/${m.dataCount}/${m.param1}/${m.param2}/${toHex(m.payload)}`
  );
}

function bigMessage(): Uint8Array {
  const w = new ByteWriter();
  const payload = new Uint8Array(0x10008);
  for (let i = 0; i < payload.length; i++) payload[i] = i * 7;
  encodeMessage(w, { command: 1, dataType: 6, dataCount: 0x2001, param1: 1, param2: 2 }, payload);
  encodeMessage(w, { command: 23 });
  return w.toBytes();
}

Deno.test({
  name: "framer: a whole buffer yields every message, views of the chunk",
  ...none,
  fn() {
    const bytes = fromHex(CLIENT);
    const ms = new CaFramer().receive(bytes);
    assert.deepEqual(ms.map((m) => m.command), [0, 20, 21, 18, 15, 12]);
    assert.equal(ms[1].payload.buffer, bytes.buffer, "payload is a view, not a copy");
    assert.equal(new TextDecoder().decode(ms[3].payload.subarray(0, 4)), "T:ai");
  },
});

Deno.test({
  name: "framer: byte at a time gives the same messages as the whole buffer",
  ...none,
  fn() {
    for (const bytes of [fromHex(CLIENT), bigMessage()]) {
      const whole = summary(new CaFramer().receive(bytes));
      const f = new CaFramer();
      const one: CaMessage[] = [];
      for (let i = 0; i < bytes.length; i++) {
        one.push(...f.receive(bytes.slice(i, i + 1)));
        if (one.length === 0) assert.equal(f.buffered, i + 1);
      }
      assert.deepEqual(summary(one), whole);
      assert.equal(f.buffered, 0);
    }
  },
});

Deno.test({
  name: "framer: every split point of the stream gives the same messages",
  ...none,
  fn() {
    const bytes = fromHex(CLIENT);
    const whole = summary(new CaFramer().receive(bytes));
    for (let cut = 1; cut < bytes.length; cut++) {
      const f = new CaFramer();
      const got = [...f.receive(bytes.slice(0, cut)), ...f.receive(bytes.slice(cut))];
      assert.deepEqual(summary(got), whole, `cut at ${cut}`);
    }
  },
});

Deno.test({
  name: "framer: payloads stay valid when the caller reuses its receive buffer",
  ...none,
  fn() {
    const bytes = bigMessage();
    const expected = summary(new CaFramer().receive(bytes.slice()));
    const f = new CaFramer();
    const buf = new Uint8Array(1000);
    const got: CaMessage[] = [];
    for (let off = 0; off < bytes.length; off += 1000) {
      const n = Math.min(1000, bytes.length - off);
      buf.set(bytes.subarray(off, off + n));
      for (const m of f.receive(buf.subarray(0, n))) got.push({ ...m, payload: m.payload });
      buf.fill(0xee); // the caller scribbles over its buffer
    }
    // The big message spanned chunks, so its payload is the framer's own buffer.
    assert.deepEqual(summary(got).slice(0, 1), expected.slice(0, 1));
  },
});

Deno.test({
  name: "framer: misaligned payload size throws with the stream offset",
  ...none,
  fn() {
    const f = new CaFramer();
    f.receive(fromHex("00170000000000000000000000000000")); // a valid ECHO first
    const bad = fromHex("0001000c000000000000000000000000");
    assert.throws(() => f.receive(bad), (e) => e instanceof RemoteProtocolError && e.offset === 16);
    // Also when the header arrives in pieces.
    const g = new CaFramer();
    g.receive(bad.subarray(0, 3));
    assert.throws(() => g.receive(bad.subarray(3)), RemoteProtocolError);
  },
});

Deno.test({
  name: "framer: payload over maxPayload throws",
  ...none,
  fn() {
    const w = new ByteWriter();
    encodeMessage(w, { command: 1 }, new Uint8Array(4096));
    assert.throws(
      () => new CaFramer({ maxPayload: 2048 }).receive(w.toBytes()),
      RemoteProtocolError,
    );
    assert.equal(new CaFramer({ maxPayload: 4096 }).receive(w.toBytes()).length, 1);
  },
});

/** The header fields of a message, as a plain object. */
const pick = (m: CaMessage) => ({
  command: m.command,
  dataType: m.dataType,
  dataCount: m.dataCount,
  param1: m.param1,
  param2: m.param2,
});

Deno.test({
  name: "framer: a payload's view is made when asked for and stays the same view",
  ...none,
  fn() {
    const w = new ByteWriter();
    encodeMessage(
      w,
      { command: 1, dataType: 6, dataCount: 1, param1: 7, param2: 9 },
      new Uint8Array(8).fill(3),
    );
    encodeMessage(w, { command: 23 });
    const bytes = w.toBytes();
    const [a, b] = new CaFramer().receive(bytes);
    assert.ok(a instanceof FramedMessage && b instanceof FramedMessage);
    assert.equal(a.bytes, bytes);
    assert.equal(a.at, 16);
    assert.equal(a.size, 8);
    assert.equal(a.payload, a.payload);
    assert.equal(a.payload.buffer, bytes.buffer);
    assert.deepEqual([...a.payload], [3, 3, 3, 3, 3, 3, 3, 3]);
    assert.equal(b.payload.length, 0);
    // A message split over chunks gets a buffer of its own, its payload the whole of it.
    const f = new CaFramer();
    assert.equal(f.receive(bytes.subarray(0, 20)).length, 0);
    const [c] = f.receive(bytes.subarray(20));
    assert.ok(c instanceof FramedMessage);
    assert.equal(c.at, 0);
    assert.equal(c.payload, c.bytes);
    assert.deepEqual([...c.payload], [3, 3, 3, 3, 3, 3, 3, 3]);
    assert.deepEqual(pick(c), { command: 1, dataType: 6, dataCount: 1, param1: 7, param2: 9 });
  },
});

Deno.test({
  name: "framer: an incomplete frame returns nothing and is counted as buffered",
  ...none,
  fn() {
    const f = new CaFramer();
    const got = f.receive(fromHex(CLIENT).subarray(0, 30));
    assert.deepEqual(
      got.map((m) => ({ ...pick(m), payload: m.payload })),
      [{
        command: 0,
        dataType: 0,
        dataCount: 13,
        param1: 0,
        param2: 0,
        payload: new Uint8Array(0),
      }],
    );
    assert.equal(f.buffered, 14);
    assert.deepEqual(f.receive(fromHex(CLIENT).subarray(30, 39)), []);
    assert.equal(f.buffered, 23);
  },
});

Deno.test({
  name: "decodeDatagram: search datagram (golden: caget_T_ai_dbr20) and truncation",
  ...none,
  fn() {
    const hex = "000000000001000d0000000100000000000600080005000d0000000100000001543a616900000000";
    const ms = decodeDatagram(fromHex(hex));
    assert.deepEqual(ms.map((m) => [m.command, m.dataType, m.dataCount, m.param1, m.param2]), [
      [0, 1, 13, 1, 0],
      [6, 5, 13, 1, 1],
    ]);
    const w = new ByteWriter();
    for (const m of ms) encodeCaMessage(w, m);
    assert.equal(toHex(w.toBytes()), hex);
    assert.throws(() => decodeDatagram(fromHex(hex).subarray(0, 30)), RemoteProtocolError);
    assert.throws(() => decodeDatagram(fromHex(hex).subarray(0, 36)), RemoteProtocolError);
    assert.deepEqual(decodeDatagram(new Uint8Array(0)), []);
  },
});
