/** SharedPV refuses bad construction options with a LocalProtocolError that says why. */
import assert from "node:assert/strict";
import { LocalProtocolError } from "../core/errors.ts";
import { SharedPV, type SharedPVOptions } from "./shared_pv.ts";

const BAD: Array<[string, string, SharedPVOptions, RegExp]> = [
  ["no name", "", { type: "int32" }, /^A PV needs a name$/],
  ["unknown type", "x", { type: "int33" } as unknown as SharedPVOptions, /Unknown PV type "int33"/],
  ["length 0", "x", { type: "int32", length: 0 }, /positive integer, got 0/],
  ["fractional length", "x", { type: "int32", length: 2.5 }, /positive integer, got 2\.5/],
  ["not a number", "x", { type: "int32", value: "abc" }, /PV "x": Cannot convert "abc" to int32/],
  [
    "too many elements",
    "x",
    { type: "int32", length: 2, value: [1, 2, 3] },
    /3 elements exceeds the maximum of 2/,
  ],
  ["out of range", "x", { type: "int16", value: 40000 }, /40000 is outside the range of int16/],
  [
    "enum index",
    "x",
    { type: "enum", choices: ["A", "B"], value: 5 },
    /Enum index 5 is out of range 0\.\.1/,
  ],
  ["table without columns", "x", { type: "table" }, /needs table\.columns/],
  ["table with no column", "x", { type: "table", table: { columns: [] } }, /needs table\.columns/],
  [
    "empty image",
    "x",
    { type: "float64", ndarray: { dimension: [0, 3] } },
    /positive integer, got 0/,
  ],
];

for (const [what, name, options, message] of BAD) {
  Deno.test({
    name: `SharedPV refuses ${what}`,
    permissions: "none",
    fn() {
      assert.throws(() => new SharedPV(name, options), (e) => {
        assert.ok(e instanceof LocalProtocolError, `${what}: ${e}`);
        assert.match((e as Error).message, message);
        return true;
      });
    },
  });
}

Deno.test({
  name: "SharedPV: good options still construct (the refusals above are not blanket)",
  permissions: "none",
  fn() {
    assert.equal(new SharedPV("x", { type: "int16", value: -32768 }).value, -32768);
    assert.deepEqual(
      Array.from(
        new SharedPV("x", { type: "int32", length: 3, value: [1, 2, 3] }).value as Int32Array,
      ),
      [1, 2, 3],
    );
    assert.equal(new SharedPV("x", { type: "enum", choices: ["A", "B"], value: 1 }).value, 1);
  },
});
