import assert from "node:assert/strict";
import { bitOf, BitSet, PvValue, T } from "../proto/mod.ts";
import { plainObject } from "./plain.ts";

const ALARM = T.struct("alarm_t", [["severity", T.int], ["status", T.int], ["message", T.string]]);
const TIME = T.struct("time_t", [["secondsPastEpoch", T.long], ["nanoseconds", T.int]]);
const NT = T.struct("epics:nt/NTScalar:1.0", [
  ["value", T.double],
  ["alarm", ALARM],
  ["timeStamp", TIME],
]);

function value(): PvValue {
  return PvValue.create(NT, {
    value: 2.5,
    alarm: { severity: 1, status: 3, message: "HIGH" },
    timeStamp: { secondsPastEpoch: 7n, nanoseconds: 9 },
  });
}

const bits = (...paths: string[]) => BitSet.of(...paths.map((p) => bitOf(NT, p)));

Deno.test({
  name: "plain object: the root bit keeps every field",
  permissions: "none",
  fn() {
    assert.deepEqual(plainObject(value(), BitSet.of(0)), {
      value: 2.5,
      alarm: { severity: 1, status: 3, message: "HIGH" },
      timeStamp: { secondsPastEpoch: 7n, nanoseconds: 9 },
    });
  },
});

Deno.test({
  name: "plain object: only the marked fields, whole subtrees under a structure bit",
  permissions: "none",
  fn() {
    assert.deepEqual(plainObject(value(), bits("value", "alarm")), {
      value: 2.5,
      alarm: { severity: 1, status: 3, message: "HIGH" },
    });
    // A leaf inside a structure brings its parent with just that member.
    assert.deepEqual(plainObject(value(), bits("alarm.severity", "timeStamp.nanoseconds")), {
      alarm: { severity: 1 },
      timeStamp: { nanoseconds: 9 },
    });
    // Bits beyond the structure are ignored; no bit at all gives an empty object.
    assert.deepEqual(plainObject(value(), BitSet.of(99)), {});
    assert.deepEqual(plainObject(value(), new BitSet()), {});
  },
});

Deno.test({
  name: "plain object: defaults to the value's own changed marks",
  permissions: "none",
  fn() {
    const v = value().clearChanged();
    v.set("timeStamp.secondsPastEpoch", 8n);
    assert.deepEqual(plainObject(v), { timeStamp: { secondsPastEpoch: 8n } });
    assert.throws(() => plainObject(v.field("value")), TypeError);
  },
});
