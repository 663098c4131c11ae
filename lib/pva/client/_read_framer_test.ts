import assert from "node:assert/strict";
import { ByteWriter } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import {
  encodeHeader,
  encodeSetByteOrder,
  PvaFlag,
  PvaFramer,
  type PvaMessage,
  segmentMessage,
} from "../proto/header.ts";
import { ReadFramer } from "./_read_framer.ts";

/** A server message with a payload of `size` bytes counting up from `seed`. */
function message(w: ByteWriter, command: number, size: number, seed: number): void {
  encodeHeader(w, { command, flags: PvaFlag.SERVER, size });
  for (let i = 0; i < size; i++) w.u8((seed + i) & 0xff);
}

/** Control, small, large, segmented and big-endian messages in one stream. */
function stream(): Uint8Array {
  const w = new ByteWriter(1024, true);
  encodeSetByteOrder(w);
  message(w, 0x0d, 30, 1);
  message(w, 0x0d, 70000, 2); // large
  message(w, 0x0d, 5, 3);
  const seg = new ByteWriter(256, true);
  message(seg, 0x0a, 300, 4);
  w.bytes(segmentMessage(seg.toBytes(), 100));
  const be = new ByteWriter(64, false);
  message(be, 0x02, 12, 5);
  w.bytes(be.toBytes());
  message(w, 0x0d, 200000, 6); // larger than the scratch buffer
  return w.toBytes();
}

const small = { scratch: 1024, largeAt: 256 };
const strip = (ms: PvaMessage[]) =>
  ms.map((m) => ({ ...m, payload: Array.from(m.payload).join(",") }));

Deno.test({
  name: "read framer: same messages as PvaFramer, whole or a byte at a time",
  permissions: "none",
  fn() {
    const bytes = stream();
    const want = strip(new PvaFramer().receive(bytes));
    assert.equal(want.length, 7);
    assert.deepEqual(strip(new ReadFramer().receive(bytes)), want);
    assert.deepEqual(strip(new ReadFramer(small).receive(bytes)), want);
    for (const opts of [{}, small]) {
      const f = new ReadFramer(opts);
      const got: PvaMessage[] = [];
      for (let i = 0; i < bytes.length; i++) got.push(...f.receive(bytes.subarray(i, i + 1)));
      assert.deepEqual(strip(got), want);
      assert.equal(f.buffered, 0);
    }
  },
});

Deno.test({
  name: "read framer: a large payload is read straight into its own buffer at the chosen pad",
  permissions: "none",
  fn() {
    const w = new ByteWriter(1024, true);
    message(w, 0x0d, 1000, 7);
    message(w, 0x0d, 4, 8);
    const bytes = w.toBytes();
    const prefixes: number[] = [];
    const f = new ReadFramer({
      ...small,
      padFor: (command, le, prefix) => {
        assert.equal(command, 0x0d);
        assert.equal(le, true);
        prefixes.push(prefix.length);
        return 3;
      },
    });
    // First read: the header and 10 payload bytes land in the scratch buffer.
    let s = f.space();
    s.set(bytes.subarray(0, 18));
    assert.deepEqual(f.commit(18), []);
    assert.deepEqual(prefixes, [10]);
    // Next reads go straight into the payload, never past its end.
    s = f.space();
    assert.equal(s.length, 990);
    assert.equal(s.byteOffset, 13);
    s.set(bytes.subarray(18, 1008));
    const [m] = f.commit(990);
    assert.equal(m.payload.length, 1000);
    assert.equal(m.payload.byteOffset, 3);
    assert.equal(m.payload.buffer.byteLength, 1003);
    assert.equal(m.payload[999], (7 + 999) & 0xff);
    // Then back to the scratch buffer.
    s = f.space();
    s.set(bytes.subarray(1008));
    const [n] = f.commit(bytes.length - 1008);
    assert.deepEqual(Array.from(n.payload), [8, 9, 10, 11]);
  },
});

Deno.test({
  name: "read framer: bad magic, oversize payload and stray segments are refused",
  permissions: "none",
  fn() {
    assert.throws(
      () => new ReadFramer().receive(new Uint8Array([0xcb, 2, 0x40, 1, 0, 0, 0, 0])),
      RemoteProtocolError,
    );
    const w = new ByteWriter(16, true);
    encodeHeader(w, { command: 0x0d, flags: PvaFlag.SERVER, size: 2000 });
    assert.throws(
      () => new ReadFramer({ maxPayload: 1000 }).receive(w.toBytes()),
      RemoteProtocolError,
    );
    const seg = new ByteWriter(16, true);
    encodeHeader(seg, { command: 0x0d, flags: PvaFlag.SERVER | PvaFlag.SEGMENT_LAST, size: 0 });
    assert.throws(() => new ReadFramer().receive(seg.toBytes()), RemoteProtocolError);
  },
});
