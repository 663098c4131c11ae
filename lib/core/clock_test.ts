import assert from "node:assert/strict";
import { STAMP_STEP_MS, stampBatch, stampNow, STAMPS_PER_READING } from "./clock.ts";

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* wait */ }
}

Deno.test("stampNow: on the wall clock, strictly increasing", () => {
  // Stamps asked for faster than one per step run ahead of the clock for a while (see the
  // module's note): let any lead from earlier stamps run out before comparing with Date.now().
  spin(5);
  const before = Date.now();
  const a = stampNow();
  const b = stampNow();
  assert.ok(b > a);
  // Date.now() truncates to the millisecond (and so does the offset measured with it):
  // the stamp is within a millisecond of it.
  assert.ok(a > before - 1 && a < Date.now() + 1, `${a} vs ${before}`);
  for (let i = 0, prev = stampNow(); i < 10_000; i++) {
    const t = stampNow();
    assert.ok(t > prev);
    prev = t;
  }
});

Deno.test("stampBatch: one reading for a run of stamps, one step apart, then read again", () => {
  stampBatch(() => {
    const first = stampNow();
    spin(3);
    const next = [];
    for (let i = 1; i < STAMPS_PER_READING; i++) next.push(stampNow());
    // The stamps after the first come from its reading, each one step later.
    for (let i = 0; i < next.length; i++) {
      assert.equal(next[i] - first, (i + 1) * STAMP_STEP_MS, `stamp ${i + 1}`);
    }
    // The next one reads the clock again: the 3 ms spent show (less the few steps earlier
    // stamps may have run ahead of a clock that did not move between two readings).
    const again = stampNow();
    assert.ok(again - first >= 2.9, `${again - first} ms`);
  });
});

Deno.test("stampBatch: outside a batch (or after one) every stamp reads the clock", () => {
  stampBatch(() => stampNow());
  const a = stampNow();
  spin(2);
  assert.ok(stampNow() - a >= 1.9);
  // Nested batches end with the outer one.
  stampBatch(() => {
    stampBatch(() => stampNow());
    const b = stampNow();
    spin(2);
    assert.equal(stampNow() - b, STAMP_STEP_MS);
  });
  const c = stampNow();
  spin(2);
  assert.ok(stampNow() - c >= 1.9);
});

Deno.test("stampBatch: returns f's result and ends the batch when f throws", () => {
  assert.equal(stampBatch(() => 42), 42);
  assert.throws(() =>
    stampBatch(() => {
      stampNow();
      throw new Error("boom");
    }), /boom/);
  const a = stampNow();
  spin(2);
  assert.ok(stampNow() - a >= 1.9);
});
