import assert from "node:assert/strict";
import { toHex } from "../../core/bytes.ts";
import { decodeMessage, splitDatagram } from "../proto/mod.ts";
import { buildSearchDatagrams, searchBatchEnd, SearchPacer, SearchScheduler } from "./search.ts";

Deno.test({
  name: "search: immediate first send, doubling back-off up to the cap, poke restarts",
  permissions: "none",
  fn() {
    const s = new SearchScheduler({ firstRetry: 0.2, maxDelay: 1 });
    s.add(1, "a", 10);
    const times: number[] = [];
    for (let t = 10; t <= 14; t = Math.round((t + 0.05) * 100) / 100) {
      if (s.due(t).length) times.push(t);
    }
    assert.deepEqual(times, [10, 10.2, 10.6, 11.4, 12.4, 13.4]);
    assert.equal(s.nextDue(), 14.4);
    s.poke(14);
    assert.deepEqual(s.due(14), [{ id: 1, name: "a" }]);
    s.remove(1);
    assert.equal(s.nextDue(), undefined);
    assert.equal(s.size, 0);
  },
});

Deno.test({
  name: "search: datagram bytes equal pvxget's, and many names pack into few datagrams",
  permissions: "none",
  fn() {
    // pvxget T:ai searched from port 0xb5c3 (vectors/pva/pvxget_T_ai.json).
    const [dg] = buildSearchDatagrams([{ id: 0x12345678, name: "T:ai" }], {
      responsePort: 0xb5c3,
      unicast: true,
    });
    assert.equal(
      toHex(dg),
      "ca0280030000002a66696e648000000000000000000000000000000000000000b5c3010374637000011234567804543a6169",
    );
    const many = Array.from({ length: 300 }, (_, i) => ({ id: i, name: `some:long:pv:name:${i}` }));
    const dgs = buildSearchDatagrams(many, { responsePort: 1, unicast: false });
    assert.ok(dgs.length > 1 && dgs.length < 10);
    const ids: number[] = [];
    for (const d of dgs) {
      assert.ok(d.length - 8 <= 1400);
      for (const m of splitDatagram(d)) {
        const x = decodeMessage(m);
        assert.ok(x.kind === "searchRequest");
        assert.equal(x.msg.flags, 0);
        ids.push(...x.msg.channels.map((c) => c.id));
      }
    }
    assert.deepEqual(ids, many.map((m) => m.id));
  },
});

Deno.test({
  name: "search pacer: a window of datagrams, freed by replies or after the stall time",
  permissions: "none",
  fn() {
    const p = new SearchPacer({ window: 2, stall: 0.25 });
    const names = Array.from({ length: 500 }, (_, i) => ({ id: i, name: `pacer:pv:${i}` }));
    p.enqueue(names);
    p.enqueue(names.slice(0, 10)); // queued already: not added twice
    assert.equal(p.queued, 500);
    const all = () => true;
    const sent: number[] = [];
    const take = (t: number) => {
      const b = p.next(t, all);
      if (b) sent.push(...b.map((e) => e.id));
      return b;
    };
    const a = take(0)!;
    assert.equal(a.length, searchBatchEnd(names, 0));
    assert.ok(take(0));
    assert.equal(take(0), undefined, "window full");
    assert.equal(p.wakeAt(), 0.25);
    p.answered(0.125);
    assert.ok(take(0.125), "a reply frees one datagram");
    assert.equal(take(0.125), undefined);
    assert.equal(p.wakeAt(), 0.375, "the reply holds off the write-off");
    assert.equal(take(0.25), undefined, "replies came within the stall time: still full");
    assert.ok(take(0.375), "no reply for the stall time: what is in flight stops counting");
    assert.ok(take(0.375));
    assert.equal(take(0.375), undefined);
    // Found names are dropped from the queue, never sent.
    // Names found meanwhile are dropped from the queue, never sent.
    const before = sent.length;
    assert.deepEqual(sent, names.slice(0, before).map((e) => e.id));
    const found = new Set(names.slice(before, before + 100).map((e) => e.id));
    for (let t = 1; p.queued > 0; t++) {
      const b = p.next(t, (id) => !found.has(id));
      if (b) sent.push(...b.map((e) => e.id));
    }
    assert.deepEqual(sent.slice(before), names.slice(before + 100).map((e) => e.id));
    assert.equal(new Set(sent).size, sent.length, "each name sent once");
    assert.equal(p.wakeAt(), undefined);
    p.enqueue(names.slice(0, 1));
    p.clear();
    assert.equal(p.queued, 0);
    assert.equal(p.next(100, all), undefined);
  },
});

Deno.test({
  name: "search: a name's retry counts from when it was actually sent",
  permissions: "none",
  fn() {
    const s = new SearchScheduler({ firstRetry: 0.25 });
    s.add(1, "a", 0);
    assert.equal(s.due(0).length, 1);
    s.sent(1, 0.125); // waited in the pacer
    assert.equal(s.due(0.25).length, 0);
    assert.equal(s.nextDue(), 0.375);
    assert.equal(s.due(0.375).length, 1);
  },
});
