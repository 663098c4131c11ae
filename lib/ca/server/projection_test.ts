import assert from "node:assert/strict";
import { Dbr } from "../proto/constants.ts";
import { convertValues } from "../proto/convert.ts";
import type { DbrValues } from "../proto/dbr_types.ts";
import { coerceValue, handOverArray } from "../../pv/coerce.ts";
import { SharedPV } from "../../pv/shared_pv.ts";
import { SCALAR_TYPES } from "../../pv/types.ts";
import { caNative, putValue } from "./projection.ts";

/** What a put of `value` to an array PV gives, or the refusal's reason. */
function outcome(f: () => unknown): string {
  try {
    const v = f() as ArrayLike<number | bigint>;
    return `${v.constructor.name} ${Array.from(v, String).join(",")}`;
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
}

const ARRAYS: Record<number, (xs: number[]) => DbrValues> = {
  [Dbr.SHORT]: (xs) => new Int16Array(xs),
  [Dbr.FLOAT]: (xs) => new Float32Array(xs),
  [Dbr.ENUM]: (xs) => new Uint16Array(xs),
  [Dbr.CHAR]: (xs) => new Uint8Array(xs),
  [Dbr.LONG]: (xs) => new Int32Array(xs),
  [Dbr.DOUBLE]: (xs) => new Float64Array(xs),
};

Deno.test({
  name: "putValue: numeric array puts end as they did through the native type, fewer copies",
  permissions: "none",
  fn() {
    // Every numeric element type.
    const types = SCALAR_TYPES.filter((t) => t !== "string" && t !== "boolean");
    const sets = [[0, 1, 2], [-1, 5], [255, 256], [32767, 40000, 65535], [-70000.5, 1.5], [
      2 ** 31,
      -(2 ** 31),
    ]];
    for (const scalar of types) {
      const pv = new SharedPV("a", { type: scalar, length: 8 });
      const t = pv.type;
      const native = caNative(t).type;
      for (const [vt, make] of Object.entries(ARRAYS)) {
        for (const xs of sets) {
          const what = `${scalar} <- DBR ${vt} [${xs}]`;
          // The way before: convert to the native DBR type, then the PV's coercion.
          const before = outcome(() =>
            coerceValue(convertValues(make(xs), Number(vt) as 1, native, { direction: "put" }), t)
          );
          const now = outcome(() => {
            const value = handOverArray(make(xs) as Int16Array);
            const v = putValue(
              { value, meta: { status: 0, severity: 0 } },
              Number(vt),
              pv.snapshot(),
              t,
            );
            return coerceValue(ArrayBuffer.isView(v) && v !== value ? handOverArray(v) : v, t);
          });
          if (scalar === "int8") continue; // putInt8 has its own path, unchanged
          assert.equal(now.replace(/:.*/, ""), before.replace(/:.*/, ""), what);
          if (!now.startsWith("refused")) assert.equal(now, before, what);
        }
      }
    }
  },
});

Deno.test({
  name: "coerceValue: a handed-over int16 array in range becomes the uint16 value without a copy",
  permissions: "none",
  fn() {
    const t = { kind: "array", scalar: "uint16", maxLength: 8 } as const;
    const given = handOverArray(new Int16Array([1, 2, 32767]));
    const out = coerceValue(given, t);
    assert.ok(out instanceof Uint16Array);
    assert.equal((out as Uint16Array).buffer, given.buffer);
    assert.deepEqual(Array.from(out as Uint16Array), [1, 2, 32767]);
    // Not handed over: copied.
    const mine = new Int16Array([4]);
    assert.notEqual((coerceValue(mine, t) as Uint16Array).buffer, mine.buffer);
    // Out of range: refused, whoever owns it.
    assert.throws(() => coerceValue(handOverArray(new Int16Array([3, -1])), t), /range|-1/);
  },
});
