import assert from "node:assert/strict";
import { CaCommand } from "../proto/constants.ts";
import { decodeDatagram } from "../proto/framer.ts";
import { decodeSearchRequest, stringPayload } from "../proto/messages.ts";
import { BeaconTracker, namePayload, SearchScheduler, writeNamePayload } from "./search.ts";
import { ByteWriter } from "../../core/bytes.ts";

const opts = { permissions: "none" } as const;

function names(d: Uint8Array): string[] {
  const msgs = decodeDatagram(d);
  assert.equal(msgs[0].command, CaCommand.VERSION);
  return msgs.slice(1).map((m) => decodeSearchRequest(m).name);
}

Deno.test("search: one datagram holds many names, VERSION first with a sequence", opts, () => {
  const s = new SearchScheduler();
  for (let i = 0; i < 10; i++) s.add(i + 1, `pv:${i}`, 0);
  const p = s.poll(0);
  assert.equal(p.datagrams.length, 1);
  const msgs = decodeDatagram(p.datagrams[0]);
  assert.equal(msgs[0].dataType, 1); // sequence number valid
  assert.equal(msgs[0].dataCount, 13);
  assert.equal(msgs[0].param1, 0);
  const reqs = msgs.slice(1).map(decodeSearchRequest);
  assert.deepEqual(reqs.map((r) => r.cid), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.ok(reqs.every((r) => r.replyFlag === 5 && r.minorVersion === 13));
  // Golden bytes of the first SEARCH: cmd 6, size 8, DONT_REPLY, minor 13, cid, cid, "pv:0".
  assert.deepEqual(
    Array.from(p.datagrams[0].subarray(16, 40)),
    [0, 6, 0, 8, 0, 5, 0, 13, 0, 0, 0, 1, 0, 0, 0, 1, 112, 118, 58, 48, 0, 0, 0, 0],
  );
});

Deno.test("search: datagrams stay within 1024 bytes and a poll is paced", opts, () => {
  const s = new SearchScheduler({ maxDatagramsPerPoll: 4 });
  for (let i = 0; i < 1000; i++) s.add(i, `a-rather-long-pv-name:${i}`, 0);
  const p = s.poll(0);
  assert.equal(p.datagrams.length, 4);
  assert.ok(p.datagrams.every((d) => d.length <= 1024));
  assert.equal(p.nextAt, 0.005);
  const all = new Set<string>();
  let t = 0;
  let seq = -1;
  for (let round = 0; round < 1000 && all.size < 1000; round++) {
    const q = s.poll(t);
    for (const d of q.datagrams) {
      const v = decodeDatagram(d)[0].param1;
      assert.ok(v > seq);
      seq = v;
      for (const n of names(d)) all.add(n);
    }
    t = q.nextAt!;
  }
  assert.equal(all.size, 1000);
});

Deno.test("search: retries back off exponentially up to the maximum", opts, () => {
  const s = new SearchScheduler({ minPeriod: 0.03, maxPeriod: 1 });
  s.add(1, "x", 0);
  const times: number[] = [];
  let t = 0;
  for (let i = 0; i < 9; i++) {
    const p = s.poll(t);
    assert.equal(p.datagrams.length, 1);
    times.push(t);
    t = p.nextAt!;
  }
  const gaps = times.slice(1).map((x, i) => +(x - times[i]).toFixed(3));
  assert.deepEqual(gaps, [0.03, 0.06, 0.12, 0.24, 0.48, 0.96, 1, 1]);
  // Nothing is due before the next time.
  assert.equal(s.poll(t - 0.001).datagrams.length, 0);
  // A beacon anomaly makes it due now, at the fastest rate again.
  s.reset(t - 0.5);
  assert.equal(s.poll(t - 0.5).datagrams.length, 1);
  assert.equal(s.poll(t - 0.5).nextAt, t - 0.5 + 0.03);
  s.remove(1);
  assert.deepEqual(s.poll(100), { datagrams: [], nextAt: undefined });
});

Deno.test("search: a delayed add waits", opts, () => {
  const s = new SearchScheduler();
  s.add(7, "late", 10, 1);
  assert.equal(s.poll(10).datagrams.length, 0);
  assert.equal(s.poll(10).nextAt, 11);
  assert.deepEqual(names(s.poll(11).datagrams[0]), ["late"]);
});

Deno.test(
  "beacons: new or restarted servers are anomalies, the next in sequence is not",
  opts,
  () => {
    const b = new BeaconTracker();
    assert.equal(b.beacon("1.2.3.4:5064", 7), true);
    assert.equal(b.beacon("1.2.3.4:5064", 8), false);
    assert.equal(b.beacon("1.2.3.4:5064", 8), false); // same beacon by another route
    assert.equal(b.beacon("1.2.3.4:5064", 0), true); // restarted
    assert.equal(b.beacon("1.2.3.4:5065", 1), true); // another server
    b.forget("1.2.3.4:5065");
    assert.equal(b.beacon("1.2.3.4:5065", 2), true);
  },
);

Deno.test("search: replies still arriving hold retries back, not first searches", opts, () => {
  const s = new SearchScheduler({ minPeriod: 0.03 });
  for (let i = 1; i <= 3; i++) s.add(i, `held:${i}`, 0);
  assert.equal(s.poll(0).datagrams.length, 1);
  // A reply for 1 at 0.025; 2 and 3 are due again at 0.03 but replies are flowing.
  assert.equal(s.answered(1, 0.025), true);
  assert.equal(s.answered(1, 0.026), false); // duplicate
  s.add(4, "new", 0.03);
  const p = s.poll(0.03);
  assert.deepEqual(names(p.datagrams[0]), ["new"]);
  assert.equal(p.nextAt!.toFixed(3), "0.056"); // 30 ms after the last reply (a duplicate counts)
  // Replies keep coming; 2 and 3 wait while no datagram from theirs on is answered.
  s.answered(4, 0.05);
  s.answered(4, 0.058);
  assert.equal(s.poll(0.055).datagrams.length, 0);
  assert.equal(s.poll(0.06).datagrams.length, 0);
  // The answer to the later datagram (sequence 1) says theirs went through the server:
  // a retry overdue by its own interval now goes.
  s.sequenceAnswered(1, 0.061);
  assert.deepEqual(names(s.poll(0.062).datagrams[0]), ["held:2", "held:3"]);
  // No replies at all: the plain back-off.
  const q = new SearchScheduler({ minPeriod: 0.03 });
  q.add(9, "lonely", 0);
  q.poll(0);
  assert.equal(q.poll(0.03).datagrams.length, 1);
});

Deno.test("search: at most `window` datagrams wait for answers; answers reopen it", opts, () => {
  const s = new SearchScheduler({ window: 4, minPeriod: 0.03 });
  for (let i = 0; i < 1000; i++) s.add(i, `windowed:pv:${i}`, 0);
  const p = s.poll(0);
  assert.equal(p.datagrams.length, 4);
  assert.equal(s.inFlight, 4);
  // Full: nothing more until answers, or until a whole period passes without any.
  assert.equal(p.nextAt, 0.03);
  assert.equal(s.poll(0.01).datagrams.length, 0);
  // Sequence 0 answered: one free slot is not yet worth a poll (half the window is).
  assert.equal(s.sequenceAnswered(0, 0.011), false);
  assert.equal(s.sequenceAnswered(1, 0.012), true);
  const q = s.poll(0.012);
  assert.equal(q.datagrams.length, 2);
  assert.deepEqual(q.datagrams.map((d) => decodeDatagram(d)[0].param1), [4, 5]);
  // A stale or future sequence number changes nothing.
  s.sequenceAnswered(0, 0.013);
  s.sequenceAnswered(99, 0.013);
  assert.equal(s.inFlight, 4);
  // No answer for a period after the last progress: the window is given up on.
  assert.equal(s.poll(0.041).datagrams.length, 0);
  assert.equal(s.poll(0.042).datagrams.length, 4);
  // Off: every due name goes out at once (within the per-poll budget).
  const all = new SearchScheduler({ window: Infinity });
  for (let i = 0; i < 100; i++) all.add(i, `windowed:pv:${i}`, 0);
  assert.equal(all.poll(0).datagrams.length, 4);
});

Deno.test("search: a name payload is the same bytes as the codec's string payload", opts, () => {
  for (const name of ["", "T:ai", "1234567", "12345678", "Température:ai", "a-b.c{d}"]) {
    assert.deepEqual(namePayload(name), stringPayload(name), name);
  }
});

Deno.test("search: a reused writer gets zero padding, not stale bytes", opts, () => {
  const w = new ByteWriter(8);
  w.bytes(new Uint8Array(64).fill(0xff));
  w.reset();
  writeNamePayload(w, "ab");
  writeNamePayload(w, "é");
  assert.deepEqual(Array.from(w.toBytes()), [
    97,
    98,
    0,
    0,
    0,
    0,
    0,
    0,
    0xc3,
    0xa9,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
});

Deno.test(
  "search: names removed or re-added before their first search go out once or not at all",
  opts,
  () => {
    const s = new SearchScheduler();
    for (let i = 1; i <= 5; i++) s.add(i, `q:${i}`, 0);
    assert.equal(s.remove(2), true);
    assert.equal(s.answered(4, 0), true); // found through another route before any search
    s.add(3, "q:3", 0); // added again: still one search
    assert.equal(s.size, 3);
    const p = s.poll(0);
    assert.deepEqual(p.datagrams.flatMap(names), ["q:1", "q:5", "q:3"]);
    assert.equal(s.remove(2), false);
  },
);

Deno.test("search: retries due go before first searches added since", opts, () => {
  const s = new SearchScheduler({ window: Infinity });
  s.add(1, "old", 0);
  assert.deepEqual(s.poll(0).datagrams.flatMap(names), ["old"]);
  s.add(2, "new", 0.1);
  // Nothing answered: "old" is due again at 0.03 and written off as lost by now.
  assert.deepEqual(s.poll(0.1).datagrams.flatMap(names), ["old", "new"]);
});
