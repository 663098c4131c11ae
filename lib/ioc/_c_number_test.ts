import assert from "node:assert/strict";
import {
  nanText,
  parseCDouble,
  parseCFloat,
  parseCInteger,
  signBit,
  strtolInt32,
} from "./_c_number.ts";

const opts = { permissions: "none" } as const;

const int = (text: string, base: 0 | 10, unsigned = false, units = false) => {
  const r = parseCInteger(text, { base, unsigned, units });
  return typeof r === "string" ? r : r.value;
};

Deno.test({ ...opts, name: "parseCInteger: strtol's bases, blanks, signs and failures" }, () => {
  assert.equal(int("0x1F", 0), 31n);
  assert.equal(int("017", 0), 15n);
  assert.equal(int("017", 10), 17n);
  assert.equal(int(" +12 \t", 0), 12n);
  assert.equal(int("-0", 0), 0n);
  // "08" in base 0 is octal 0 followed by "8"; "0x" is 0 followed by "x".
  assert.equal(int("08", 0), "extraneous");
  assert.equal(int("0x", 0), "extraneous");
  assert.equal(int("0x10", 10), "extraneous");
  assert.equal(int("", 0), "noConversion");
  assert.equal(int(" ", 0), "noConversion");
  assert.equal(int("abc", 10), "noConversion");
  assert.equal(int("9223372036854775807", 10), 9223372036854775807n);
  assert.equal(int("-9223372036854775808", 10), -9223372036854775808n);
  assert.equal(int("9223372036854775808", 10), "overflow");
  assert.equal(int("-9223372036854775809", 10), "overflow");
});

Deno.test({ ...opts, name: "parseCInteger: strtoul negates modulo 2^64" }, () => {
  assert.equal(int("-1", 0, true), 18446744073709551615n);
  assert.equal(int("18446744073709551615", 0, true), 18446744073709551615n);
  assert.equal(int("18446744073709551616", 0, true), "overflow");
  assert.equal(int("-18446744073709551615", 0, true), 1n);
});

Deno.test({ ...opts, name: "parseCInteger: with units the rest starts after the blanks" }, () => {
  assert.deepEqual(parseCInteger("12 abc", { base: 10, unsigned: false, units: true }), {
    value: 12n,
    end: 3,
  });
  assert.deepEqual(parseCInteger("1.7", { base: 10, unsigned: false, units: true }), {
    value: 1n,
    end: 1,
  });
});

const dbl = (text: string, units = false) => {
  const r = parseCDouble(text, { units });
  return typeof r === "string" ? r : r.value;
};

Deno.test({ ...opts, name: "parseCDouble: glibc strtod forms and ERANGE" }, () => {
  assert.equal(dbl("1e3"), 1000);
  assert.equal(dbl(" .5 "), 0.5);
  assert.equal(dbl("1."), 1);
  assert.equal(dbl("0x1p3"), 8);
  assert.equal(dbl("0x10"), 16);
  assert.equal(dbl("-0x1.8p1"), -3);
  assert.equal(dbl("0x"), "extraneous");
  assert.equal(dbl("1e"), "extraneous");
  assert.equal(dbl("1e", true), 1);
  assert.equal(dbl("Infinity"), Infinity);
  assert.equal(dbl("-inf"), -Infinity);
  assert.ok(Number.isNaN(dbl("nan(0x1)") as number));
  // glibc's strtod keeps the sign of a NaN; printf then shows "-nan".
  assert.equal(nanText(dbl("-nan") as number), "-nan");
  assert.equal(nanText(dbl("nan") as number), "nan");
  assert.equal(signBit(-0), true);
  assert.equal(signBit(0), false);
  assert.ok(Object.is(dbl("-0"), -0));
  assert.equal(dbl("12abc"), "extraneous");
  assert.equal(dbl("12abc", true), 12);
  assert.equal(dbl("abc", true), "noConversion");
  assert.equal(dbl(" "), "noConversion");
  assert.equal(dbl("1e400"), "overflow");
  assert.equal(dbl("1e-400"), "underflow");
  assert.equal(dbl("0e-400"), 0);
  // glibc reports ERANGE for subnormal results; epicsParseDouble calls them overflow.
  assert.equal(dbl("4.9e-324"), "overflow");
  assert.equal(dbl("2.2e-308"), "overflow");
  assert.equal(dbl("2.2250738585072014e-308"), 2.2250738585072014e-308);
});

Deno.test({ ...opts, name: "parseCFloat: epicsParseFloat's range checks" }, () => {
  const flt = (text: string) => {
    const r = parseCFloat(text, { units: false });
    return typeof r === "string" ? r : r.value;
  };
  assert.equal(flt("0.1"), Math.fround(0.1));
  assert.equal(flt("1e39"), "overflow");
  assert.equal(flt("1e-39"), "underflow");
  // Only positive values are checked for underflow (as base does).
  assert.equal(flt("-1e-39"), Math.fround(-1e-39));
  assert.equal(flt("inf"), Infinity);
  assert.equal(flt("0"), 0);
});

Deno.test("strtolInt32 reads as strtol into an epicsInt32, and says where it stopped", () => {
  const cases: [string, number, number, number][] = [
    ["[2:4]", 1, 2, 2],
    ["[-3:]", 1, -3, 3],
    ["[0x10]", 1, 16, 5],
    ["[010]", 1, 8, 4],
    ["[0x]", 1, 0, 2],
    ["[:]", 1, 0, 1],
    [" +7z", 0, 7, 3],
    ["4294967297", 0, 1, 10],
    ["99999999999999999999", 0, -1, 20],
    ["-99999999999999999999", 0, 0, 21],
  ];
  for (const [s, at, value, end] of cases) {
    assert.deepEqual(strtolInt32(s, at), { value, end }, s);
  }
});
