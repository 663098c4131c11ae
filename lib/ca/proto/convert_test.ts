import assert from "node:assert/strict";
import { CaStatusError } from "../../core/errors.ts";
import { Eca } from "./constants.ts";
import {
  convertValues,
  formatFixed,
  formatShortest,
  plainDecimalAt,
  stringToNumber,
} from "./convert.ts";

const none = { permissions: "none" } as const;
const arr = (v: ArrayLike<number> | string[]) => Array.from(v as ArrayLike<unknown>);

// Expected values come from the RSRV replies in /work/shared/vectors/ca/caget_T_*_dbr0N.

Deno.test({
  name: "convert: numbers to DBR_STRING use the precision like RSRV",
  ...none,
  fn() {
    const d = (v: number[]) => new Float64Array(v);
    assert.deepEqual(convertValues(d([3.14159]), 6, 0, { precision: 3 }), ["3.142"]); // caget_T_ai_dbr00
    assert.deepEqual(convertValues(d([3.14159]), 6, 0, { precision: 4 }), ["3.1416"]);
    assert.deepEqual(convertValues(d([9]), 6, 0, { precision: 3 }), ["9.000"]); // caget_T_alarm_dbr00
    // caget_T_wf_dbr00: PREC 0 rounds half away from zero.
    assert.deepEqual(convertValues(d([1.5, 2.5, 3.5, 0]), 6, 0, { precision: 0 }), [
      "2",
      "3",
      "4",
      "0",
    ]);
    assert.deepEqual(convertValues(new Float32Array([0.25]), 2, 0, { precision: 0 }), ["0"]); // caget_T_float_dbr00
    assert.deepEqual(convertValues(new Int32Array([42]), 5, 0), ["42"]); // caget_T_long_dbr00
    assert.deepEqual(convertValues(new Int16Array([-1, 2, -3, 4]), 1, 0), ["-1", "2", "-3", "4"]); // caget_T_short_dbr00
    // caget_T_chars_dbr00: a CHAR array read as DBR_STRING is one number per element.
    assert.deepEqual(convertValues(new Uint8Array([104, 101, 0]), 4, 0), ["104", "101", "0"]);
    assert.deepEqual(convertValues(d([-1.25]), 6, 0, { precision: 1 }), ["-1.3"]);
    assert.deepEqual(convertValues(d([0.96]), 6, 0, { precision: 1 }), ["1.0"]);
    // No precision: the shortest form.
    assert.deepEqual(convertValues(d([3.14159, 1e-7, 1e20]), 6, 0), ["3.14159", "1e-07", "1e+20"]);
  },
});

Deno.test({
  name: "convert: formatFixed edge cases",
  ...none,
  fn() {
    assert.equal(formatFixed(1e20, 3), "1.000e+20");
    assert.equal(formatFixed(-1e17, 0), "-1e+17");
    assert.equal(formatFixed(2e7, 2, true), "2.00e+07");
    assert.equal(formatFixed(-0.0001, 3), "-0.000");
    assert.equal(formatFixed(NaN, 3), "nan");
    assert.equal(formatFixed(Infinity, 3), "inf");
    assert.equal(formatFixed(123456, 20), "1.23456000000000000e+05");
    assert.equal(formatShortest(-Infinity), "-inf");
  },
});

Deno.test({
  name: "convert: between numeric types (C casts; float to int truncates and clips)",
  ...none,
  fn() {
    // caget_T_wf_dbr01/04: 1.5 2.5 3.5 read as SHORT / CHAR.
    assert.deepEqual(arr(convertValues(new Float64Array([1.5, 2.5, 3.5]), 6, 1)), [1, 2, 3]);
    assert.deepEqual(arr(convertValues(new Float64Array([1.5, 2.5, 3.5]), 6, 4)), [1, 2, 3]);
    assert.deepEqual(arr(convertValues(new Float64Array([3.14159]), 6, 3)), [3]); // caget_T_ai_dbr03
    // caget_T_short_dbr03/04: integers wrap.
    assert.deepEqual(arr(convertValues(new Int16Array([-1, 2, -3, 4]), 1, 3)), [
      65535,
      2,
      65533,
      4,
    ]);
    assert.deepEqual(arr(convertValues(new Int16Array([-1, 2, -3, 4]), 1, 4)), [255, 2, 253, 4]);
    assert.deepEqual(arr(convertValues(new Int16Array([-1]), 1, 5)), [-1]);
    // Out of range floats clip; NaN is 0.
    assert.deepEqual(arr(convertValues(new Float64Array([1e10, -1e10, NaN, -3.9]), 6, 5)), [
      2147483647,
      -2147483648,
      0,
      -3,
    ]);
    assert.deepEqual(arr(convertValues(new Float64Array([1e6, -1e6]), 6, 1)), [32767, -32768]);
    assert.deepEqual(arr(convertValues(new Float64Array([-5, 300]), 6, 4)), [0, 255]);
    assert.deepEqual(arr(convertValues(new Float64Array([3.14159]), 6, 2)), [Math.fround(3.14159)]);
    assert.deepEqual(arr(convertValues(new Uint8Array([104]), 4, 6)), [104]);
    const same = new Float64Array([1]);
    assert.equal(convertValues(same, 6, 6), same);
  },
});

Deno.test({
  name: "convert: enum <-> string",
  ...none,
  fn() {
    const enumStrings = ["Zero", "One", "Two"];
    assert.deepEqual(convertValues(new Uint16Array([0, 2]), 3, 0, { enumStrings }), [
      "Zero",
      "Two",
    ]); // caget_T_mbbo_dbr00
    assert.deepEqual(convertValues(new Uint16Array([7]), 3, 0, { enumStrings }), ["7"]);
    assert.deepEqual(arr(convertValues(["Two"], 0, 3, { enumStrings })), [2]); // caput_enum_string
    assert.deepEqual(arr(convertValues(["1"], 0, 3, { enumStrings })), [1]);
    assert.throws(
      () => convertValues(["Five"], 0, 3, { enumStrings }),
      (e) => e instanceof CaStatusError && e.eca === Eca.PUTFAIL,
    );
    assert.throws(() => convertValues(["3"], 0, 3, { enumStrings }), CaStatusError);
    // caput_enum_index: caput sends the index as a DOUBLE.
    assert.deepEqual(arr(convertValues(new Float64Array([1]), 6, 3)), [1]);
  },
});

Deno.test({
  name: "convert: string to number parses, and refuses text that is not a number",
  ...none,
  fn() {
    assert.deepEqual(arr(convertValues(["7.5", " 1000 ", "-2e3", ""], 0, 6)), [
      7.5,
      1000,
      -2000,
      0,
    ]);
    // As softIoc 7.0.8.1 answers (dbConvert: strtol base 10, units after the number ignored).
    assert.deepEqual(arr(convertValues(["42", "3.7", "0x10", "1e2", " 12 mm"], 0, 5)), [
      42,
      3,
      0,
      1,
      12,
    ]);
    // strtod: "7.0.8.1" is 7, hex is read, trailing text ignored.
    assert.deepEqual(arr(convertValues(["7.0.8.1", "0x10", "1.5e3x", "12 mm"], 0, 6)), [
      7,
      16,
      1500,
      12,
    ]);
    assert.deepEqual(arr(convertValues(["0x1.8p1", "1e", ".5"], 0, 6)), [3, 1, 0.5]);
    // strtoul wraps a negative number; past the type's range it overflows.
    assert.deepEqual(arr(convertValues(["-1", "255"], 0, 4)), [255, 255]);
    assert.throws(() => convertValues(["256"], 0, 4), CaStatusError);
    assert.throws(() => convertValues(["1e999"], 0, 6), CaStatusError);
    assert.throws(() => convertValues(["1e-999"], 0, 6), CaStatusError);
    assert.throws(() => convertValues(["1e39"], 0, 2), CaStatusError);
    assert.throws(() => convertValues(["  "], 0, 6), CaStatusError);
    // caput_bad_value: RSRV answers `caput T:ao abc` with ECA_PUTFAIL.
    assert.throws(
      () => convertValues(["abc"], 0, 6),
      (e) => e instanceof CaStatusError && e.eca === Eca.PUTFAIL && /abc/.test(e.message),
    );
    // caget_T_str_dbr06: reading "hello world" as DOUBLE gives ECA_GETFAIL.
    assert.throws(
      () => convertValues(["hello world"], 0, 6, { direction: "get" }),
      (e) => e instanceof CaStatusError && e.eca === Eca.GETFAIL,
    );
    assert.throws(() => convertValues(["70000"], 0, 1), CaStatusError);
    assert.deepEqual(arr(convertValues(["1.5x"], 0, 2)), [1.5]);
    assert.ok(Number.isNaN((convertValues(["nan"], 0, 6) as Float64Array)[0]));
  },
});

Deno.test("plainDecimalAt reads plain decimals exactly as Number (strtod) does", () => {
  const enc = new TextEncoder();
  const at = (text: string, pad = "\0\0\0") => {
    const b = enc.encode(`xx${text}${pad}`);
    return plainDecimalAt(b, 2, b.length);
  };
  // Random plain decimals of every shape the fast path takes.
  let seed = 12345;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const digits = (n: number) => Array.from({ length: n }, () => String(rnd(10))).join("");
  for (let k = 0; k < 20000; k++) {
    const sign = ["", "-", "+"][rnd(3)];
    const whole = digits(rnd(9));
    const frac = rnd(2) ? "." + digits(rnd(9)) : "";
    const exp = rnd(3) === 0 ? `${"eE"[rnd(2)]}${["", "-", "+"][rnd(3)]}${rnd(30)}` : "";
    const text = sign + whole + frac + exp;
    const want = /\d/.test(whole + frac) ? Number(text) : undefined;
    const got = at(text);
    if (got === undefined) {
      // Allowed only where the fast path steps aside (too many digits, big exponents).
      continue;
    }
    assert.ok(Object.is(got, want), `${JSON.stringify(text)}: ${got} != ${want}`);
  }
  // sprintf("%f") text as catime and many clients send it.
  for (let i = 0; i < 10000; i++) {
    const text = (i / 10000).toFixed(6);
    assert.equal(at(text), Number(text), text);
  }
  assert.ok(Object.is(at("-0.0"), -0));
  assert.equal(at("5."), 5);
  assert.equal(at(".5"), 0.5);
  assert.equal(at("12", ""), 12); // ends at the end of the field, without a NUL
  assert.equal(at("1e22"), 1e22);
  assert.equal(at("123456789012345"), 123456789012345);
  // Everything else is left to the full reader.
  for (
    const text of [
      "",
      ".",
      "-",
      "+.",
      " 1",
      "1 ",
      "1.5 mm",
      "inf",
      "nan",
      "0x10",
      "1e",
      "1e+",
      "1e400",
      "1e-23",
      "1234567890123456",
      "1.2.3",
    ]
  ) {
    assert.equal(at(text), undefined, JSON.stringify(text));
  }
});

Deno.test("a DBR_STRING put of a plain decimal gives what the full reader gives", () => {
  for (const text of ["0.000100", "-12.5", "3e-7", "007", "1.", "0"]) {
    const b = new TextEncoder().encode(text + "\0");
    assert.equal(
      plainDecimalAt(b, 0, b.length),
      stringToNumber(text, 6, { direction: "put" }),
      text,
    );
  }
});

Deno.test("convert: DBR_STRING of doubles and floats with a precision reads as RSRV sends it", () => {
  // Texts read with caget -d DBR_STRING from EPICS base 7.0.8.1's softIoc (ao / waveform).
  const d = (v: number, p: number) => convertValues(new Float64Array([v]), 6, 0, { precision: p });
  const f = (v: number, p: number) => convertValues(new Float32Array([v]), 2, 0, { precision: p });
  assert.deepEqual(d(1.23456789, 9), [" 1.234567890e+00"]);
  assert.deepEqual(d(12345678.123456, 6), ["12345678.123"]);
  assert.deepEqual(d(123456789012, 2), ["123456789012.00"]);
  assert.deepEqual(d(1e17, 3), [" 1.000e+17"]);
  assert.deepEqual(d(2.5, 0), ["3"]);
  assert.deepEqual(d(9999999.99999, 4), ["10000000.0000"]);
  assert.deepEqual(d(-7.77777, 20), ["-7.77777000000000029e+00"]);
  assert.deepEqual(f(3.14159, 4), ["3.1416"]);
  assert.deepEqual(f(12345678.9, 4), ["12345679.000"]);
  assert.deepEqual(f(123456789, 4), ["1.2346e+08"]);
  assert.deepEqual(f(99999999, 4), ["1.0000e+08"]);
  assert.deepEqual(f(0.00001, 9), ["9.999999747e-06"]);
  assert.deepEqual(f(-2.5, 9), ["-2.500000000e+00"]);
});
