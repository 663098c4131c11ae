import { strict as nodeAssert } from "node:assert";
import { coerceValue, handOverArray } from "./coerce.ts";

function assert(c: unknown, msg = "assertion failed"): asserts c {
  if (!c) throw new Error(msg);
}

Deno.test({
  name: "coerceValue: integer arrays into narrower integer types are range-checked",
  permissions: "none",
  fn() {
    const u16 = { kind: "array", scalar: "uint16", maxLength: 8 } as const;
    const ok = coerceValue(new Int32Array([0, 7, 65535]), u16);
    assert(ok instanceof Uint16Array && ok.join() === "0,7,65535");
    let why = "";
    try {
      coerceValue(new Int16Array([1, -1]), u16);
    } catch (e) {
      why = (e as Error).message;
    }
    assert(why === "Value -1 is outside the range of uint16", why);
    const f32 = coerceValue(new Int32Array([16777217]), {
      kind: "array",
      scalar: "float32",
      maxLength: 1,
    });
    assert(f32 instanceof Float32Array && f32[0] === 16777216, "float targets still round");
  },
});

Deno.test({
  name: "coerceValue: the range check finds a bad element in every integer source type",
  permissions: "none",
  fn() {
    const i8 = { kind: "array", scalar: "int8", maxLength: 8 } as const;
    for (const C of [Int32Array, Int16Array, Uint16Array, Uint32Array, Uint8Array]) {
      const src = new C([1, 2, 200, 3]);
      let why = "";
      try {
        coerceValue(src, i8);
      } catch (e) {
        why = (e as Error).message;
      }
      assert(why === "Value 200 is outside the range of int8", `${C.name}: ${why}`);
      const ok = coerceValue(new C([1, 2, 100, 3]), i8);
      assert(ok instanceof Int8Array && ok.join() === "1,2,100,3", C.name);
    }
  },
});

Deno.test({
  name: "coerceValue keeps a handed-over array of the right class and copies any other",
  permissions: "none",
  fn() {
    const t = { kind: "array", scalar: "float64", maxLength: 8 } as const;
    const plain = new Float64Array([1, 2]);
    const kept = coerceValue(plain, t);
    nodeAssert.notStrictEqual(kept, plain, "an array not handed over is copied");
    const given = handOverArray(new Float64Array([3, 4]));
    nodeAssert.strictEqual(coerceValue(given, t), given);
    // Taken once: a second coercion of the same array copies it.
    nodeAssert.notStrictEqual(coerceValue(given, t), given);
    const wrongClass = handOverArray(new Float32Array([5]));
    const out = coerceValue(wrongClass, t);
    nodeAssert.ok(out instanceof Float64Array && out[0] === 5);
  },
});
