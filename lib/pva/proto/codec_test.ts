import assert from "node:assert/strict";
import { ByteReader, ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import { LocalProtocolError, PvaStatusError, RemoteProtocolError } from "../../core/errors.ts";
import {
  BitSet,
  decodeBitSet,
  decodeHeader,
  decodeSize,
  decodeStatus,
  decodeString,
  encodeBitSet,
  encodeControl,
  encodeEcho,
  encodeSetByteOrder,
  encodeSize,
  encodeStatus,
  encodeString,
  PvaControl,
  PvaFramer,
  type PvaMessage,
  pvaStatus,
  PvaStatusType,
  segmentMessage,
  splitDatagram,
  STATUS_OK,
  statusError,
} from "./mod.ts";

function bytesOf(fn: (w: ByteWriter) => void, littleEndian = false): string {
  const w = new ByteWriter(16, littleEndian);
  fn(w);
  return toHex(w.view());
}

Deno.test({
  name: "Size: one byte up to 253, 0xFE + u32 from 254 to 2^31-1, 0xFF null",
  permissions: "none",
  fn() {
    const cases: [number | null, string, string][] = [
      [0, "00", "00"],
      [253, "fd", "fd"],
      [254, "fe000000fe", "fefe000000"],
      [255, "fe000000ff", "feff000000"],
      [0x7fffffff, "fe7fffffff", "feffffff7f"],
      [null, "ff", "ff"],
    ];
    for (const [n, be, le] of cases) {
      assert.equal(bytesOf((w) => encodeSize(w, n)), be, `BE ${n}`);
      assert.equal(bytesOf((w) => encodeSize(w, n), true), le, `LE ${n}`);
      assert.equal(decodeSize(new ByteReader(fromHex(be))), n);
      assert.equal(decodeSize(new ByteReader(fromHex(le), 0, true)), n);
    }
    assert.throws(() => bytesOf((w) => encodeSize(w, 2 ** 31)), LocalProtocolError);
    assert.throws(() => bytesOf((w) => encodeSize(w, -1)), LocalProtocolError);
    // A negative 32-bit size is refused, as pvAccessCPP does.
    assert.throws(() => decodeSize(new ByteReader(fromHex("fe80000000"))), RemoteProtocolError);
    assert.throws(() => decodeSize(new ByteReader(fromHex("fe0000"))), RemoteProtocolError);
  },
});

Deno.test({
  name: "String: byte count then UTF-8; 0xFF reads as empty",
  permissions: "none",
  fn() {
    assert.equal(bytesOf((w) => encodeString(w, "")), "00");
    assert.equal(bytesOf((w) => encodeString(w, "pv:x")), "0470763a78");
    assert.equal(bytesOf((w) => encodeString(w, "µ")), "02c2b5");
    const long = "x".repeat(300);
    const hex = bytesOf((w) => encodeString(w, long));
    assert.equal(hex.slice(0, 10), "fe0000012c");
    assert.equal(decodeString(new ByteReader(fromHex(hex))), long);
    assert.equal(decodeString(new ByteReader(fromHex("ff"))), "");
    assert.equal(decodeString(new ByteReader(fromHex("02c2b5"))), "µ");
  },
});

Deno.test({
  name: "BitSet: the digest examples, and big-endian full words reversed",
  permissions: "none",
  fn() {
    const le: [number[], string][] = [
      [[], "00"],
      [[0], "0101"],
      [[7], "0180"],
      [[8], "020001"],
      [[0, 1, 2, 4], "0117"],
      [[56], "080000000000000001"],
      [[64], "09000000000000000001"],
    ];
    for (const [bits, hex] of le) {
      assert.equal(bytesOf((w) => encodeBitSet(w, BitSet.of(...bits)), true), hex);
      assert.deepEqual(decodeBitSet(new ByteReader(fromHex(hex), 0, true)).toArray(), bits);
    }
    assert.equal(bytesOf((w) => encodeBitSet(w, BitSet.of(56))), "080100000000000000");
    assert.equal(bytesOf((w) => encodeBitSet(w, BitSet.of(64))), "09000000000000000001");
    assert.equal(bytesOf((w) => encodeBitSet(w, BitSet.of(0, 65))), "09000000000000000102");
    for (const littleEndian of [true, false]) {
      for (let k = 0; k < 50; k++) {
        const s = new BitSet();
        for (let i = 0; i < 12; i++) s.set(Math.floor(Math.random() * 200));
        const w = new ByteWriter(16, littleEndian);
        encodeBitSet(w, s);
        assert.ok(decodeBitSet(new ByteReader(w.view(), 0, littleEndian)).equals(s));
      }
    }
  },
});

Deno.test({
  name: "BitSet: set operations",
  permissions: "none",
  fn() {
    const s = BitSet.of(1, 31, 32, 100);
    assert.equal(s.nextSetBit(2), 31);
    assert.equal(s.nextSetBit(33), 100);
    assert.equal(s.nextSetBit(101), -1);
    assert.equal(s.length, 101);
    assert.equal(s.cardinality, 4);
    assert.deepEqual(s.clone().and(BitSet.of(31, 100)).toArray(), [31, 100]);
    assert.deepEqual(s.clone().truncate(32).toArray(), [1, 31]);
    assert.equal(s.toString(), "{1, 31, 32, 100}");
    assert.ok(new BitSet().set(5).clear(5).isEmpty);
  },
});

Deno.test({
  name: "Status: 0xFF for plain OK; type, message, call tree otherwise",
  permissions: "none",
  fn() {
    assert.equal(bytesOf((w) => encodeStatus(w, STATUS_OK)), "ff");
    const warn = pvaStatus(PvaStatusType.WARNING, "Low memory");
    assert.equal(bytesOf((w) => encodeStatus(w, warn)), "010a4c6f77206d656d6f727900");
    assert.deepEqual(decodeStatus(new ByteReader(fromHex("010a4c6f77206d656d6f727900"))), warn);
    assert.equal(decodeStatus(new ByteReader(fromHex("ff"))).type, PvaStatusType.OK);
    assert.equal(statusError(warn, "Cannot get"), undefined);
    const e = statusError(pvaStatus(PvaStatusType.ERROR, "Put not permitted"), 'Cannot put "T:ro"');
    assert.ok(e instanceof PvaStatusError);
    assert.equal(e.message, 'Cannot put "T:ro": server returned error "Put not permitted"');
    assert.throws(() => decodeStatus(new ByteReader(fromHex("07"))), RemoteProtocolError);
  },
});

function echoMessage(payload: string, littleEndian: boolean, fromServer = false): Uint8Array {
  const w = new ByteWriter(16, littleEndian);
  encodeEcho(w, fromHex(payload), fromServer);
  return w.toBytes();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function summary(ms: PvaMessage[]): string[] {
  return ms.map((m) =>
    `${m.control ? "ctl" : "app"}:${m.command}:${m.littleEndian ? "le" : "be"}:${
      toHex(m.payload)
    }:${m.controlValue}`
  );
}

Deno.test({
  name: "header: set byte order bytes, control messages, per-message byte order",
  permissions: "none",
  fn() {
    assert.equal(bytesOf(encodeSetByteOrder, true), "ca02410200000000");
    assert.equal(bytesOf(encodeSetByteOrder, false), "ca02c10200000000");
    assert.equal(
      bytesOf((w) => encodeControl(w, PvaControl.ECHO_REQUEST, 7, false)),
      "ca02810300000007",
    );
    assert.equal(toHex(echoMessage("0102", true)), "ca02000202000000" + "0102");
    assert.equal(toHex(echoMessage("0102", false, true)), "ca02c00200000002" + "0102");
    const h = decodeHeader(new ByteReader(fromHex("ca02c00200000002")));
    assert.deepEqual(h, { version: 2, flags: 0xc0, command: 2, size: 2 });
    assert.throws(
      () => decodeHeader(new ByteReader(fromHex("cb02000000000000"))),
      RemoteProtocolError,
    );
    assert.throws(
      () => decodeHeader(new ByteReader(fromHex("ca00000000000000"))),
      RemoteProtocolError,
    );
  },
});

Deno.test({
  name: "framer: byte-at-a-time equals whole; mixed byte orders; incomplete returns nothing",
  permissions: "none",
  fn() {
    const w = new ByteWriter(64, false);
    encodeSetByteOrder(w);
    const stream = concat(
      w.toBytes(),
      echoMessage("aabbcc", false, true),
      echoMessage("", true, true),
      echoMessage("00".repeat(300), true, true),
    );
    const whole = new PvaFramer().receive(stream);
    assert.equal(whole.length, 4);
    const f = new PvaFramer();
    const one: PvaMessage[] = [];
    for (let i = 0; i < stream.length; i++) one.push(...f.receive(stream.subarray(i, i + 1)));
    assert.deepEqual(summary(one), summary(whole));
    assert.equal(f.peerLittleEndian, false);
    assert.deepEqual(summary(whole).slice(0, 3), [
      "ctl:2:be::0",
      "app:2:be:aabbcc:0",
      "app:2:le::0",
    ]);
    const g = new PvaFramer();
    assert.deepEqual(g.receive(stream.subarray(0, 13)), [{ ...whole[0] }]);
    assert.equal(g.buffered, 5);
    assert.deepEqual(g.receive(new Uint8Array(0)), []);
  },
});

Deno.test({
  name: "framer: segmented messages are reassembled, control messages may interleave",
  permissions: "none",
  fn() {
    for (const littleEndian of [true, false]) {
      const msg = echoMessage("0102030405060708090a", littleEndian);
      const segs = segmentMessage(msg, 3);
      // first (3) + middle (3) + middle (3) + last (1)
      assert.equal(segs.length, 4 * 8 + 10);
      assert.equal(segs[2] & 0x30, 0x10);
      assert.equal(segs[11 + 2] & 0x30, 0x30);
      assert.equal(segs[segs.length - 9 + 2] & 0x30, 0x20);
      const ctl = new ByteWriter(8, littleEndian);
      encodeControl(ctl, PvaControl.ECHO_REQUEST, 1, false);
      const stream = concat(segs.subarray(0, 11), ctl.toBytes(), segs.subarray(11));
      const f = new PvaFramer();
      const out: PvaMessage[] = [];
      for (let i = 0; i < stream.length; i++) out.push(...f.receive(stream.subarray(i, i + 1)));
      assert.deepEqual(summary(out), [
        `ctl:3:${littleEndian ? "le" : "be"}::1`,
        `app:2:${littleEndian ? "le" : "be"}:0102030405060708090a:0`,
      ]);
      assert.equal(out[1].flags & 0x30, 0);
    }
    // A last segment with no first, or an unsegmented message inside a set, is refused.
    const segs = segmentMessage(echoMessage("010203", true), 2);
    assert.throws(() => new PvaFramer().receive(segs.subarray(10)), RemoteProtocolError);
    assert.throws(
      () => new PvaFramer().receive(concat(segs.subarray(0, 10), echoMessage("", true))),
      RemoteProtocolError,
    );
    assert.throws(
      () => new PvaFramer({ maxPayload: 4 }).receive(echoMessage("0102030405", true)),
      RemoteProtocolError,
    );
  },
});

Deno.test({
  name: "datagrams: every message is split out; control and segmented ones dropped",
  permissions: "none",
  fn() {
    const ctl = fromHex("ca02010300000000");
    const seg = segmentMessage(echoMessage("0102", false), 1).subarray(0, 9);
    const d = concat(echoMessage("01", false), ctl, seg, echoMessage("0203", true));
    assert.deepEqual(summary(splitDatagram(d)), ["app:2:be:01:0", "app:2:le:0203:0"]);
    // A size larger than the datagram ends the walk.
    assert.deepEqual(splitDatagram(fromHex("ca02000200000009aa")), []);
  },
});
