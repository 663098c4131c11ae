import assert from "node:assert/strict";
import { LocalProtocolError } from "../../core/errors.ts";
import { type FieldDesc, PvValue, T } from "../proto/mod.ts";
import { applyPutArgs, assignPut } from "./put_value.ts";

const ENUM = T.struct("enum_t", [["index", T.int], ["choices", T.array(T.string)]]);
const ALARM = T.struct("alarm_t", [["severity", T.int], ["status", T.int], ["message", T.string]]);

function nt(value: FieldDesc): PvValue {
  return PvValue.create(T.struct("x", [["value", value], ["alarm", ALARM]]));
}

Deno.test({
  name: "put value: scalars, field paths, JSON objects",
  permissions: "none",
  fn() {
    const v = nt(T.double);
    applyPutArgs(v, ["6.5"]);
    assert.equal(v.get("value"), 6.5);
    assert.deepEqual(v.changedPaths(), ["value"]);
    v.clearChanged();
    applyPutArgs(v, ["value=8.5", "alarm.severity=2"]);
    assert.deepEqual(v.changedPaths(), ["value", "alarm.severity"]);
    v.clearChanged();
    applyPutArgs(v, ['{"value": 1, "alarm": {"message": "hi"}}']);
    assert.deepEqual(v.changedPaths(), ["value", "alarm.message"]);
    assert.throws(() => applyPutArgs(v, ["nope=1"]), LocalProtocolError);
    assert.throws(() => applyPutArgs(v, []), LocalProtocolError);
    assert.throws(() => applyPutArgs(v, ["abc"]), LocalProtocolError);
  },
});

Deno.test({
  name: "put value: enums by choice name or index, marking only value.index",
  permissions: "none",
  fn() {
    const v = nt(ENUM);
    v.set("value.choices", ["Zero", "One", "Two"]).clearChanged();
    applyPutArgs(v, ["Two"]);
    assert.equal(v.get("value.index"), 2);
    assert.equal(v.changed.toString(), "{2}");
    v.clearChanged();
    applyPutArgs(v, ["1"]);
    assert.equal(v.get("value.index"), 1);
    assert.throws(() => assignPut(v, "Three"), /not one of "Zero", "One", "Two"/);
    assignPut(v, { value: { index: 0 } });
    assert.equal(v.get("value.index"), 0);
  },
});

Deno.test({
  name: "put value: arrays from JSON, lists, and N v1 v2 ...",
  permissions: "none",
  fn() {
    const v = nt(T.array(T.double));
    applyPutArgs(v, ["[1.25, 2.5, 3.75]"]);
    assert.deepEqual([...v.get("value") as Float64Array], [1.25, 2.5, 3.75]);
    applyPutArgs(v, ["3", "1", "2", "3"]);
    assert.deepEqual([...v.get("value") as Float64Array], [1, 2, 3]);
    applyPutArgs(v, ["4,5"]);
    assert.deepEqual([...v.get("value") as Float64Array], [4, 5]);
    const s = nt(T.array(T.string));
    applyPutArgs(s, ["2", "a", "b"]);
    assert.deepEqual(s.get("value"), ["a", "b"]);
  },
});
