import assert from "node:assert/strict";
import { Deadlines } from "./deadlines.ts";

const opts = { permissions: "none" } as const;

Deno.test("deadlines: expire in time order, only those due", opts, () => {
  const q = new Deadlines();
  const fired: number[] = [];
  for (const at of [50, 10, 40, 20, 30, 10]) q.add(at, () => fired.push(at));
  assert.equal(q.size, 6);
  assert.equal(q.nextAt, 10);
  q.expire(25);
  assert.deepEqual(fired, [10, 10, 20]);
  assert.equal(q.size, 3);
  assert.equal(q.nextAt, 30);
  q.expire(1000);
  assert.deepEqual(fired, [10, 10, 20, 30, 40, 50]);
  assert.equal(q.nextAt, undefined);
  assert.equal(q.size, 0);
});

Deno.test("deadlines: a cancelled deadline never fires and leaves nextAt", opts, () => {
  const q = new Deadlines();
  let fired = 0;
  const a = q.add(1, () => fired += 1);
  q.add(2, () => fired += 10);
  q.cancel(a);
  q.cancel(a); // twice is harmless
  assert.equal(q.size, 1);
  assert.equal(q.nextAt, 2);
  q.expire(5);
  assert.equal(fired, 10);
  const b = q.add(9, () => fired += 100);
  q.expire(9);
  q.cancel(b); // after expiry: no effect
  assert.equal(fired, 110);
  assert.equal(q.size, 0);
});

Deno.test("deadlines: many cancellations compact the heap and keep order", opts, () => {
  const q = new Deadlines();
  const fired: number[] = [];
  const handles = [];
  for (let i = 0; i < 10_000; i++) handles.push(q.add(10_000 - i, () => fired.push(10_000 - i)));
  // Answer every operation but every 1,000th.
  handles.forEach((h, i) => {
    if (i % 1000 !== 0) q.cancel(h);
  });
  assert.equal(q.size, 10);
  q.expire(Infinity);
  assert.deepEqual(fired, [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
});

Deno.test("deadlines: callbacks may add and cancel; a throw does not stop the rest", opts, () => {
  const q = new Deadlines();
  const fired: string[] = [];
  const later = q.add(3, () => fired.push("later"));
  q.add(1, () => {
    fired.push("a");
    q.add(2, () => fired.push("added"));
    q.cancel(later);
    throw new Error("boom");
  });
  q.add(1, () => fired.push("b"));
  assert.throws(() => q.expire(10), /boom/);
  assert.deepEqual(fired.sort(), ["a", "added", "b"]);
  q.add(5, () => fired.push("x"));
  q.clear();
  q.expire(10);
  assert.equal(fired.includes("x"), false);
  assert.equal(q.nextAt, undefined);
});
