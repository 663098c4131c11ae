import assert from "node:assert/strict";
import { ReadBuffer, SHRINK_AFTER } from "./read_buffer.ts";

Deno.test("read buffer: full reads double it up to the maximum", () => {
  const rb = new ReadBuffer(1024, 4096);
  assert.equal(rb.bytes.length, 1024);
  rb.filled(1024);
  assert.equal(rb.bytes.length, 2048);
  rb.filled(2048);
  assert.equal(rb.bytes.length, 4096);
  const top = rb.bytes;
  rb.filled(4096);
  assert.equal(rb.bytes, top, "at the maximum the same buffer is kept");
});

Deno.test("read buffer: a read short of full keeps the buffer", () => {
  const rb = new ReadBuffer(1024, 4096);
  const first = rb.bytes;
  for (let i = 0; i < 3 * SHRINK_AFTER; i++) rb.filled(100);
  assert.equal(rb.bytes, first, "the resting size never shrinks or grows on small reads");
  rb.filled(1023);
  assert.equal(rb.bytes, first);
});

Deno.test("read buffer: a run of small reads takes a grown buffer back to the minimum", () => {
  const rb = new ReadBuffer(1024, 4096);
  rb.filled(1024);
  rb.filled(2048);
  assert.equal(rb.bytes.length, 4096);
  for (let i = 0; i < SHRINK_AFTER - 1; i++) rb.filled(512);
  assert.equal(rb.bytes.length, 4096, "one read short of the run");
  rb.filled(512);
  assert.equal(rb.bytes.length, 1024);
});

Deno.test("read buffer: a read above an eighth interrupts the run of small reads", () => {
  const rb = new ReadBuffer(1024, 4096);
  rb.filled(1024);
  rb.filled(2048);
  for (let i = 0; i < SHRINK_AFTER - 1; i++) rb.filled(100);
  rb.filled(600); // more than 4096 / 8: the connection is not quiet yet
  for (let i = 0; i < SHRINK_AFTER - 1; i++) rb.filled(100);
  assert.equal(rb.bytes.length, 4096);
  rb.filled(100);
  assert.equal(rb.bytes.length, 1024);
});

Deno.test("read buffer: the previous buffer's bytes survive the swap", () => {
  const rb = new ReadBuffer(4, 8);
  const old = rb.bytes;
  old.set([1, 2, 3, 4]);
  const view = old.subarray(1, 3);
  rb.filled(4);
  assert.deepEqual([...view], [2, 3]);
  assert.equal(rb.bytes.length, 8);
});

Deno.test("read buffer: bad sizes are refused", () => {
  assert.throws(() => new ReadBuffer(0, 10), RangeError);
  assert.throws(() => new ReadBuffer(10, 5), RangeError);
});
