import { coerceValue } from "./coerce.ts";

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
