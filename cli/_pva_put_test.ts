/**
 * pvput's value parsing against what pvAccessCPP's pvput did with the same arguments
 * (its error texts, warnings and what it sent), checked side by side on our server.
 */
import assert from "node:assert/strict";
import { NtSnapshotWriter } from "../lib/pva/nt/mod.ts";
import { SharedPV, type SharedPVOptions } from "../lib/pv/shared_pv.ts";
import type { PvValue } from "../lib/pva/proto/mod.ts";
import { TypeCode } from "../lib/pva/proto/typedesc.ts";
import { buildPut, parseJsonArray, parseToPod } from "./_pva_put.ts";

function served(opts: SharedPVOptions): PvValue {
  const pv = new SharedPV("x", { clock: () => 0, ...opts });
  return new NtSnapshotWriter(pv.type).write(pv.snapshot()).clone().clearChanged();
}

/** What buildPut sends (changed paths and their values), warnings, or the error text. */
function put(opts: SharedPVOptions, ...values: string[]) {
  const warnings: string[] = [];
  try {
    const v = buildPut(served(opts), values, (l) => warnings.push(l));
    const sent = Object.fromEntries(v.changedPaths().map((p) => [p, v.get(p)]));
    return { sent, warnings };
  } catch (e) {
    return { error: (e as Error).message, warnings };
  }
}

Deno.test({
  name: "pvput values: numbers as parseToPOD converts them, with its messages",
  permissions: "none",
  fn() {
    assert.equal(parseToPod(TypeCode.INT, "0x1F"), 31);
    assert.equal(parseToPod(TypeCode.INT, "010"), 8);
    assert.equal(parseToPod(TypeCode.INT, " 12 "), 12);
    assert.equal(parseToPod(TypeCode.UBYTE, "-1"), 255);
    assert.equal(parseToPod(TypeCode.ULONG, "-1"), 2n ** 64n - 1n);
    assert.equal(parseToPod(TypeCode.DOUBLE, "0x1p3"), 8);
    assert.equal(parseToPod(TypeCode.DOUBLE, "-inf"), -Infinity);
    assert.equal(parseToPod(TypeCode.BOOLEAN, "TRUE"), true);
    const cases: [number, string, string][] = [
      [TypeCode.INT, "12abc", "parseToPOD: Extraneous characters"],
      [TypeCode.INT, "99999999999", "parseToPOD: Too large to represent"],
      [TypeCode.BYTE, "300", "parseToPOD: Too large to represent"],
      [TypeCode.UBYTE, "-300", "parseToPOD: Too large to represent"],
      [TypeCode.LONG, "9223372036854775808", "parseToPOD: Too large to represent"],
      [TypeCode.DOUBLE, "abc", "parseToPOD: No digits to convert"],
      [TypeCode.DOUBLE, "1e", "parseToPOD: Extraneous characters"],
      [TypeCode.DOUBLE, "1e400", "parseToPOD: Too large to represent"],
      [TypeCode.DOUBLE, "1e-400", "parseToPOD: Too small to represent"],
      [TypeCode.FLOAT, "1e39", "parseToPOD: Too large to represent"],
      [TypeCode.FLOAT, "1e-39", "parseToPOD: Too small to represent"],
      [TypeCode.BOOLEAN, "1", "parseToPOD: string no match true/false"],
    ];
    for (const [sc, text, msg] of cases) {
      assert.throws(() => parseToPod(sc, text), { message: msg }, text);
    }
  },
});

Deno.test({
  name: "pvput values: pvput's [a, b] parser",
  permissions: "none",
  fn() {
    const warn: string[] = [];
    assert.deepEqual(parseJsonArray('["a b", c, -1.5e3]', (l) => warn.push(l)), [
      "a b",
      "c",
      "-1.5e3",
    ]);
    assert.deepEqual(parseJsonArray("[]", (l) => warn.push(l)), []);
    assert.throws(() => parseJsonArray("[1,", (l) => warn.push(l)), {
      message: "Unexpected end of input",
    });
    assert.throws(() => parseJsonArray("[1 2]", (l) => warn.push(l)), {
      message: "Unknown token",
    });
    assert.deepEqual(warn, ["Unexpected end of input: \n", `Unknown token '2' in "2]"`]);
  },
});

Deno.test({
  name: "pvput values: what is sent for each argument form, and pvput's refusals",
  permissions: "none",
  fn() {
    const dbl: SharedPVOptions = { type: "float64", value: 2.5 };
    const arr: SharedPVOptions = { type: "float64", length: 10, value: [1] };
    const str: SharedPVOptions = { type: "string", value: "x" };
    const en: SharedPVOptions = { type: "enum", choices: ["Off", "On", "Auto mode"] };
    assert.deepEqual(put(dbl, "1.5"), { sent: { value: 1.5 }, warnings: [] });
    assert.deepEqual(put(dbl, "value=2.5"), { sent: { value: 2.5 }, warnings: [] });
    assert.deepEqual(put(dbl, "alarm.severity=1"), {
      sent: { "alarm.severity": 1 },
      warnings: [],
    });
    assert.deepEqual(put(dbl, "{value:2,}"), { sent: { value: 2 }, warnings: [] });
    assert.deepEqual(put(dbl, '{"alarm":{"severity":1}}'), {
      sent: { "alarm.severity": 1 },
      warnings: [],
    });
    assert.deepEqual(put(arr, "3", "4", "5", "6").sent, { value: new Float64Array([4, 5, 6]) });
    assert.deepEqual(put(arr, "[1,2,3]").sent, { value: new Float64Array([1, 2, 3]) });
    assert.deepEqual(put(arr, "value=[7, 8]").sent, { value: new Float64Array([7, 8]) });
    assert.deepEqual(put(str, "a=b").sent, { value: "a=b" });
    assert.deepEqual(put(en, "Auto mode").sent, { "value.index": 2 });
    assert.deepEqual(put(en, "7").sent, { "value.index": 7 });
    assert.deepEqual(put(en, "value.index=2").sent, { "value.index": 2 });
    assert.deepEqual(put(dbl, "alarm=1"), {
      sent: {},
      warnings: ["alarm : Error: need a scalar field\n"],
    });
    const refused: [SharedPVOptions, string[], string, string[]][] = [
      [dbl, ["abc"], "parseToPOD: No digits to convert", []],
      [dbl, ["1", "2"], "Can't assign multiple values to scalar", []],
      [dbl, ["nofield=3"], "No valid value(s) specified", [
        "nofield : Warning: no such field. Ignoring it.\n",
      ]],
      [dbl, ["value=1", "2"], "Can't mix bare values and field=value pairs", []],
      [dbl, ["value=[1,2]"], "Not a scalar array field", [
        "value : Error not a scalar array field\n",
      ]],
      [dbl, ["{bad json"], "At  : Failed to get field: bad (bad not found)\n", []],
      [dbl, ['{"value":1, "bogus":2}'], "At  : Failed to get field: bogus (bogus not found)\n", []],
      [dbl, ['{"value":true}'], "castUnsafeV: Conversion not supported", []],
      [dbl, ['{"value":null}'], "NULL value not permitted", []],
      [dbl, ['{"value":[1]}'], "Can't assign array", []],
      [dbl, ['{"alarm":1}'], "Can't assign value", []],
      [dbl, ['{"value":1'], "Error while completing parsing", []],
      [en, ["bogus"], "parseToPOD: No digits to convert", []],
      // pvAccessCPP's pvput names index 0 whichever element of a list failed, and gives a
      // single element no prefix at all.
      [
        arr,
        ["[1.5,x]"],
        "failed to parse element at index 0: parseToPOD: No digits to convert",
        [],
      ],
      [
        arr,
        ["3", "1", "x", "3"],
        "failed to parse element at index 0: parseToPOD: No digits to convert",
        [],
      ],
      [
        arr,
        ["value=[1,x]"],
        "failed to parse element at index 0: parseToPOD: No digits to convert",
        [],
      ],
      [arr, ["[x,1]"], "failed to parse element at index 0: parseToPOD: No digits to convert", []],
      [arr, ["[x]"], "parseToPOD: No digits to convert", []],
      [arr, ["1", "x"], "parseToPOD: No digits to convert", []],
      [arr, ["value=[x]"], "parseToPOD: No digits to convert", []],
      [arr, ['{"value":[1,"x"]}'], "parseToPOD: No digits to convert", []],
      [en, ["1", "2"], "Can't assign multiple values to enum", []],
    ];
    for (const [opts, values, error, warnings] of refused) {
      assert.deepEqual(put(opts, ...values), { error, warnings }, values.join(" "));
    }
  },
});
