import assert from "node:assert/strict";
import { SearchWindow } from "./search_window.ts";

Deno.test("search window: echoed sequence numbers answer a datagram and those before it", () => {
  const w = new SearchWindow({ size: 3, stall: 0.1 });
  assert.deepEqual([w.sent(0), w.sent(0), w.sent(0)], [0, 1, 2]);
  assert.equal(w.hasRoom(0.01), false);
  w.answeredThrough(1, 0.02);
  assert.equal(w.inFlight, 1);
  assert.equal(w.acked, 2);
  w.answeredThrough(0, 0.03); // older than what is answered: ignored
  w.answeredThrough(7, 0.03); // never sent: ignored
  assert.equal(w.inFlight, 1);
  assert.equal(w.progressAt, 0.02);
  assert.equal(w.hasRoom(0.03), true);
});

Deno.test("search window: uncounted answers free the oldest; a stall writes all off at once", () => {
  const w = new SearchWindow({ size: 2, stall: 0.05 });
  w.sent(0);
  w.sent(0.01);
  assert.equal(w.stallAt(), 0.05); // progress counts from the first send into an empty window
  w.answeredOne(0.04);
  assert.equal(w.inFlight, 1);
  assert.equal(w.stallAt(), 0.09);
  w.sent(0.04);
  assert.equal(w.hasRoom(0.08), false, "a reply 40 ms ago: still waiting");
  w.progress(0.08); // a reply for a name, without a sequence number
  assert.equal(w.hasRoom(0.12), false);
  assert.equal(w.hasRoom(0.13), true);
  assert.equal(w.inFlight, 0);
  assert.equal(w.stallAt(), undefined);
  w.answeredOne(0.14); // nothing in flight: only progress
  assert.equal(w.inFlight, 0);
});

Deno.test("search window: clear forgets what is in flight; no size limit with Infinity", () => {
  const w = new SearchWindow({ size: Infinity, stall: 1 });
  for (let i = 0; i < 5; i++) w.sent(0);
  w.clear();
  assert.equal(w.inFlight, 0);
  assert.equal(w.hasRoom(0), true);
  // A cumulative answer of the last datagram sent answers them all.
  const big = new SearchWindow({ size: 4, stall: 1 });
  let seq = 0;
  for (let i = 0; i < 3; i++) seq = big.sent(0);
  big.answeredThrough(seq, 0);
  assert.equal(big.inFlight, 0);
  assert.equal(big.sent(0), 3);
});
