/** pvserve's ad-hoc PV definitions: what parses, and what is refused with the reason. */
import assert from "node:assert/strict";
import { EpicsSyntaxError } from "../core/errors.ts";
import { parsePvSpec } from "./spec.ts";

Deno.test({
  name: "parsePvSpec: scalars, arrays (empty unless given values), enums, char strings",
  permissions: "none",
  fn() {
    assert.deepEqual(parsePvSpec("ival=int32:42"), {
      name: "ival",
      options: { type: "int32", value: "42" },
    });
    // An array definition without values: no value, so the PV starts empty (NORD 0).
    assert.deepEqual(parsePvSpec("aval=int16[5]"), {
      name: "aval",
      options: { type: "int16", length: 5 },
    });
    assert.deepEqual(parsePvSpec("w=float64[4]:1,2,3").options, {
      type: "float64",
      length: 4,
      value: ["1", "2", "3"],
    });
    assert.deepEqual(parsePvSpec("w=double[3]:[1, 2]").options.value, ["1", "2"]);
    assert.deepEqual(parsePvSpec("m=enum(Off|On):On").options, {
      type: "enum",
      choices: ["Off", "On"],
      value: 1,
    });
    assert.equal(parsePvSpec("m=enum(Off|On):0").options.value, 0);
    assert.deepEqual(parsePvSpec("t=char[256]:hello, world").options, {
      type: "uint8",
      length: 256,
      value: "hello, world",
    });
    assert.deepEqual(parsePvSpec("s=string:two words").options, {
      type: "string",
      value: "two words",
    });
  },
});

const BAD: Array<[string, RegExp]> = [
  ["x", /expected NAME=TYPE\[:VALUE\]/],
  ["=int32", /expected NAME=TYPE\[:VALUE\]/],
  ["x=", /expected TYPE\[:VALUE\] after '='/],
  ["x=int32[", /expected TYPE\[:VALUE\] after '='/],
  ["x=foo", /unknown type "foo"/],
  ["x=int32:abc", /"abc" is not a number/],
  ["x=int32:", /"" is not a number/],
  ["x=float64[2]:1,zz", /"zz" is not a number/],
  ["x=int16[0]", /array length must be at least 1/],
  ["x=enum(A|B):C", /"C" is not one of A\|B/],
  ["x=enum(A|B):2", /"2" is not one of A\|B/],
  ["x=enum(A||B)", /empty enum state name/],
  ["x=enum(A|B)[2]", /enum arrays are not supported/],
  [`x=enum(${Array.from({ length: 17 }, (_, i) => `s${i}`).join("|")})`, /at most 16 states/],
];

for (const [text, why] of BAD) {
  Deno.test({
    name: `parsePvSpec refuses ${JSON.stringify(text.slice(0, 30))} saying why`,
    permissions: "none",
    fn() {
      assert.throws(() => parsePvSpec(text), (e) => {
        assert.ok(e instanceof EpicsSyntaxError, String(e));
        assert.match((e as Error).message, new RegExp(`^Cannot parse PV definition "`));
        assert.match((e as Error).message, why);
        return true;
      });
    },
  });
}
