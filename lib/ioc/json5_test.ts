import assert from "node:assert/strict";
import { Json5Error, type Json5Node, parseJson5 } from "./json5.ts";

/** The tree as plain data, integers and doubles told apart. */
function plain(n: Json5Node): unknown {
  switch (n.t) {
    case "map":
      return Object.fromEntries(n.entries.map(([k, v]) => [k, plain(v)]));
    case "array":
      return n.items.map(plain);
    case "int":
      return `i${n.v}`;
    case "double":
      return `d${n.v}`;
    case "null":
      return null;
    default:
      return n.v;
  }
}

Deno.test({
  name: "json5: unquoted keys, both quotes, comments, trailing commas, JSON5 numbers",
  permissions: "none",
  fn() {
    const v = parseJson5(`{
      // a comment
      calc: {expr: 'A+"B"', "args": [1, 2.5, .5, 5., +3, -0x1F, 1e3, Infinity, -Infinity,],
        /* block */ units: "m\\u00b5\\tx\\
y", ok: true, no: null,},
    }`);
    assert.deepEqual(plain(v), {
      calc: {
        expr: 'A+"B"',
        args: ["i1", "d2.5", "d0.5", "d5", "i3", "i-31", "d1000", "dInfinity", "d-Infinity"],
        units: "m\u00b5\txy",
        ok: true,
        no: null,
      },
    });
    const nan = parseJson5("NaN");
    assert.ok(nan.t === "double" && Number.isNaN(nan.v));
    assert.deepEqual(plain(parseJson5("'it\\'s'")), "it's");
  },
});

Deno.test({
  name: "json5: errors say what was expected and where",
  permissions: "none",
  fn() {
    const cases: [string, RegExp][] = [
      ["{a 1}", /Expected ':' after an object key but found '1' at offset 3/],
      ["{a: 1", /Expected ',' or '}' but found end of text at offset 5/],
      ["[1 2]", /Expected ',' or '\]' but found '2' at offset 3/],
      ["{1: 2}", /Expected an object key but found '1' at offset 1/],
      ["'abc", /Unterminated string: expected '/],
      ['"a\nb"', /Unescaped line break in string/],
      ["{a: 1} x", /Expected the end of the text but found 'x' at offset 7/],
      ["/* open", /Unterminated comment/],
      ["{a: bare}", /Expected a value but found 'b' at offset 4/],
      ["12abc", /Expected a number/],
    ];
    for (const [text, re] of cases) {
      assert.throws(() => parseJson5(text), (e: unknown) => {
        assert.ok(e instanceof Json5Error, text);
        assert.match((e as Error).message, re, text);
        return true;
      });
    }
  },
});
