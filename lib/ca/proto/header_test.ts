import assert from "node:assert/strict";
import { ByteWriter, toHex } from "../../core/bytes.ts";
import { LocalProtocolError } from "../../core/errors.ts";
import { CaFramer, decodeDatagram } from "./framer.ts";
import { encodeMessage, headerSizeOf, padded, writeHeader } from "./header.ts";

const none = { permissions: "none" } as const;

Deno.test({
  name: "header: padded rounds up to 8",
  ...none,
  fn() {
    assert.deepEqual([0, 1, 7, 8, 9, 0xfff9, 0x10000].map(padded), [
      0,
      8,
      8,
      8,
      16,
      0x10000,
      0x10000,
    ]);
  },
});

Deno.test({
  name: "header: standard 16-byte layout (golden: READ_NOTIFY request of caget_T_ai_dbr20)",
  ...none,
  fn() {
    const w = new ByteWriter();
    writeHeader(w, 15, 0, 20, 1, 0x26, 1);
    assert.equal(toHex(w.toBytes()), "000f0000001400010000002600000001");
  },
});

Deno.test({
  name: "header: extended boundaries (0xFFF8 standard, 0x10000 extended, count 0xFFFF extended)",
  ...none,
  fn() {
    const cases: [number, number, number][] = [
      [0xfff8, 1, 16],
      [0x10000, 1, 24],
      [0, 0xfffe, 16],
      [0, 0xffff, 24],
      [8, 100000, 24],
    ];
    for (const [size, count, hlen] of cases) {
      const w = new ByteWriter();
      encodeMessage(
        w,
        { command: 1, dataType: 6, dataCount: count, param1: 7, param2: 9 },
        new Uint8Array(size),
      );
      const bytes = w.toBytes();
      assert.equal(bytes.length, hlen + size, `size ${size} count ${count}`);
      if (hlen === 24) {
        assert.equal(toHex(bytes.subarray(2, 4)), "ffff");
        assert.equal(toHex(bytes.subarray(6, 8)), "0000");
      }
      for (const msgs of [new CaFramer().receive(bytes), decodeDatagram(bytes)]) {
        assert.equal(msgs.length, 1);
        const m = msgs[0];
        assert.equal(m.command, 1);
        assert.equal(m.dataType, 6);
        assert.equal(m.dataCount, count);
        assert.equal(m.param1, 7);
        assert.equal(m.param2, 9);
        assert.equal(m.payload.length, size);
        assert.equal(headerSizeOf(m), hlen);
      }
    }
  },
});

Deno.test({
  name: "header: the extended layout in bytes (golden: caget_big_full request, count 100000)",
  ...none,
  fn() {
    const w = new ByteWriter();
    writeHeader(w, 15, 0, 20, 100000, 0x198, 1);
    assert.equal(toHex(w.toBytes()), "000fffff00140000000001980000000100000000000186a0");
  },
});

Deno.test({
  name: "header: unpadded payload size is a local error",
  ...none,
  fn() {
    assert.throws(() => writeHeader(new ByteWriter(), 1, 12, 0, 0, 0, 0), LocalProtocolError);
  },
});

Deno.test({
  name: "header: encodeMessage pads the payload with zeros",
  ...none,
  fn() {
    const w = new ByteWriter();
    encodeMessage(w, { command: 20 }, new TextEncoder().encode("root\0"));
    assert.equal(toHex(w.toBytes()), "00140008000000000000000000000000726f6f7400000000");
  },
});
