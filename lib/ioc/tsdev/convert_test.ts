import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { convertResult, TsdevConversionError } from "./convert.ts";

const t = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const bad = (fn: () => unknown, re: RegExp) =>
  assertThrows(fn, (e: Error) => e instanceof TsdevConversionError && re.test(e.message));

t("tsdev convert: numbers from numbers, booleans, bigints and numeric strings", () => {
  assertEquals(convertResult("double", 3.5), 3.5);
  assertEquals(convertResult("double", true), 1);
  assertEquals(convertResult("double", 7n), 7);
  assertEquals(convertResult("double", " 2.5e1 "), 25);
  assertEquals(Number.isNaN(convertResult("double", "NaN")), true);
  bad(() => convertResult("double", "abc"), /Cannot convert "abc" to a number/);
  bad(() => convertResult("double", null), /Cannot convert null/);
  bad(() => convertResult("double", {}), /an object \(Object\)/);
});

t("tsdev convert: integers are truncated and range-checked", () => {
  assertEquals(convertResult("long", 41.9), 41);
  assertEquals(convertResult("long", -2147483648), -2147483648);
  bad(() => convertResult("long", 2 ** 31), /out of range for a 32-bit integer/);
  bad(() => convertResult("long", Infinity), /Cannot convert Infinity/);
  assertEquals(convertResult("int64", 2 ** 40), 2 ** 40);
  assertEquals(convertResult("int64", 5n), 5);
  bad(() => convertResult("int64", 2n ** 63n), /out of range for a 64-bit integer/);
});

t("tsdev convert: binary, states by index or name, strings", () => {
  assertEquals(convertResult("binary", 5), 1);
  assertEquals(convertResult("binary", false), 0);
  assertEquals(convertResult("mbb", 3), 3);
  assertEquals(convertResult("mbb", "High", { states: ["Low", "High"] }), 1);
  bad(() => convertResult("mbb", "Odd", { states: ["Low", "High"] }), /Cannot convert "Odd"/);
  bad(() => convertResult("mbb", -1), /out of range for a state index/);
  assertEquals(convertResult("string", 42), "42");
  assertEquals(convertResult("longString", "x".repeat(100)), "x".repeat(100));
  bad(() => convertResult("string", undefined), /Cannot convert undefined to a string/);
  bad(() => convertResult("string", [1]), /an array of 1/);
});

t("tsdev convert: arrays from arrays, typed arrays and iterables, element by element", () => {
  assertEquals(convertResult("array", [1, "2", true]), [1, 2, 1]);
  assertEquals(convertResult("array", new Float32Array([0.5])), [0.5]);
  assertEquals(convertResult("array", new Set([3, 4])), [3, 4]);
  assertEquals(convertResult("array", ["a", 1], { stringElements: true }), ["a", "1"]);
  bad(() => convertResult("array", [1, "x"]), /Element 1: Cannot convert "x" to a number/);
  bad(() => convertResult("array", "123"), /to an array/);
  bad(() => convertResult("array", 5), /to an array/);
});
