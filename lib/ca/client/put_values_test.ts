import assert from "node:assert/strict";
import { LocalProtocolError } from "../../core/errors.ts";
import { Dbr } from "../proto/constants.ts";
import { preparePut } from "./put_values.ts";

const opts = { permissions: "none" } as const;

Deno.test(
  "preparePut: numbers go as the native type, fractions to integers as DOUBLE",
  opts,
  () => {
    assert.deepEqual(preparePut(2.5, Dbr.DOUBLE, 1), {
      dbrType: Dbr.DOUBLE,
      count: 1,
      value: new Float64Array([2.5]),
    });
    assert.deepEqual(preparePut(3, Dbr.LONG, 1).value, new Int32Array([3]));
    assert.equal(preparePut(3.5, Dbr.LONG, 1).dbrType, Dbr.DOUBLE);
    assert.deepEqual(preparePut(2, Dbr.ENUM, 1).value, new Uint16Array([2]));
    assert.deepEqual(preparePut(true, Dbr.CHAR, 1).value, new Uint8Array([1]));
    assert.deepEqual(preparePut([1, 2, 3], Dbr.SHORT, 10).value, new Int16Array([1, 2, 3]));
  },
);

Deno.test("preparePut: text goes as DBR_STRING, or as chars to a char array", opts, () => {
  assert.deepEqual(preparePut("On", Dbr.ENUM, 1), { dbrType: 0, count: 1, value: ["On"] });
  assert.deepEqual(preparePut(5, Dbr.STRING, 1), { dbrType: 0, count: 1, value: ["5"] });
  assert.deepEqual(preparePut([1, "x"], Dbr.DOUBLE, 2).value, ["1", "x"]);
  const c = preparePut("hi", Dbr.CHAR, 10);
  assert.equal(c.dbrType, Dbr.CHAR);
  assert.deepEqual(c.value, new Uint8Array([104, 105, 0]));
  // A single CHAR takes the text as DBR_STRING; the server converts it.
  assert.equal(preparePut("7", Dbr.CHAR, 1).dbrType, Dbr.STRING);
});

Deno.test("preparePut: typed arrays keep their type; an explicit type converts", opts, () => {
  const f = new Float32Array([1.5]);
  assert.equal(preparePut(f, Dbr.DOUBLE, 1).dbrType, Dbr.FLOAT);
  assert.equal(preparePut(f, Dbr.DOUBLE, 1).value, f);
  assert.deepEqual(preparePut(f, Dbr.DOUBLE, 1, Dbr.TIME_LONG), {
    dbrType: Dbr.TIME_LONG,
    count: 1,
    value: new Int32Array([1]),
  });
  assert.deepEqual(preparePut("12", Dbr.STRING, 1, Dbr.SHORT).value, new Int16Array([12]));
  assert.throws(() => preparePut("abc", Dbr.STRING, 1, Dbr.SHORT), LocalProtocolError);
  assert.throws(() => preparePut([], Dbr.DOUBLE, 1), LocalProtocolError);
});
