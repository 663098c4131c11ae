import assert from "node:assert/strict";
import { toHex } from "../../core/bytes.ts";
import { decodeMessage, splitDatagram } from "../proto/mod.ts";
import { buildSearchDatagrams, SearchScheduler } from "./search.ts";

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
