import assert from "node:assert/strict";
import { rec, startIoc } from "./_testing.ts";

const opts = { permissions: "none" } as const;

Deno.test(
  { ...opts, name: "soft ai smooths with SMOO from the second value read since init" },
  async () => {
    // base's devAiSoft: the first read after init takes the value as it is (softIoc 7.0.8.1:
    // 10, 10, 10, 20 -> 15, 30 -> 22.5).
    using db = startIoc([
      rec("ai", "A:smoo", { INP: "A:src", SMOO: "0.5", VAL: "100" }),
      rec("ao", "A:src", { FLNK: "A:smoo" }),
    ]);
    const seen: number[] = [];
    for (const v of [10, 10, 10, 20, 30]) {
      await db.putField("A:src", v);
      seen.push(db.getField("A:smoo") as number);
    }
    assert.deepStrictEqual(seen, [10, 10, 10, 15, 22.5]);
  },
);

Deno.test(
  { ...opts, name: "soft ai takes the next value unsmoothed after a failed read" },
  async () => {
    using db = startIoc([
      rec("ai", "A:smoo", { INP: "A:src.VAL", SMOO: "0.5" }),
      rec("stringout", "A:src", { FLNK: "A:smoo" }),
    ]);
    await db.putField("A:src", "10");
    await db.putField("A:src", "20");
    assert.equal(db.getField("A:smoo"), 15);
    // A string that is no number fails the read: VAL stays, smoothing starts over.
    await db.putField("A:src", "x");
    assert.equal(db.getField("A:smoo"), 15);
    await db.putField("A:src", "40");
    assert.equal(db.getField("A:smoo"), 40);
  },
);
