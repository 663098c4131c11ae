import assert from "node:assert/strict";
import { cancelTimer, startTimer } from "./timer.ts";

/** A plain sleep (the interval of kept() holds the process meanwhile). */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// These timers do not keep the process alive: a referenced interval does so while the
// tests wait.
async function kept<T>(f: () => Promise<T>): Promise<T> {
  const keep = setInterval(() => {}, 1000);
  try {
    return await f();
  } finally {
    clearInterval(keep);
  }
}

Deno.test("timer: fires once, in deadline order; a cancelled one never fires", async () => {
  await kept(async () => {
    const fired: string[] = [];
    const late = startTimer(() => fired.push("late"), 30);
    const cancelled = startTimer(() => fired.push("cancelled"), 1);
    cancelTimer(cancelled);
    startTimer(() => fired.push("early"), 5);
    assert.equal(late.done, false);
    await new Promise<void>((resolve) => startTimer(resolve, 60));
    assert.deepEqual(fired, ["early", "late"]);
    assert.equal(late.done, true);
    assert.equal(cancelled.done, true);
    cancelTimer(late); // after firing: nothing happens
    cancelTimer(undefined);
  });
});

Deno.test("timer: delays out of range are clamped", async () => {
  await kept(async () => {
    let n = 0;
    startTimer(() => n++, -5);
    startTimer(() => n++, Number.NaN);
    const huge = startTimer(() => n++, 1e12);
    await sleep(10);
    assert.equal(n, 2);
    cancelTimer(huge);
  });
});

Deno.test("timer: a delay of zero or less fires after this turn, never synchronously", async () => {
  await kept(async () => {
    const fired: number[] = [];
    startTimer(() => fired.push(0), 0);
    startTimer(() => fired.push(-1), -1);
    await Promise.resolve();
    assert.deepEqual(fired, [], "not from a microtask either");
    await sleep(20);
    assert.deepEqual(fired.sort(), [-1, 0]);
  });
});
