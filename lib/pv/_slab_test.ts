import { packedArray, SLAB_BYTES, SLAB_MAX_VALUE } from "./_slab.ts";
import { SharedPV } from "./shared_pv.ts";

function assert(c: unknown, msg = "assertion failed"): asserts c {
  if (!c) throw new Error(msg);
}

Deno.test({
  name: "packedArray: values of every type share blocks, 8-byte aligned, never overlapping",
  permissions: "none",
  fn() {
    const types = ["int8", "uint16", "float64", "int32", "uint64", "float32"] as const;
    const made = types.flatMap((t, i) => [packedArray(t, 3 + i), packedArray(t, 1000)]);
    for (const a of made) {
      assert(a.byteOffset % 8 === 0, "aligned");
      assert(a.byteLength === a.length * a.BYTES_PER_ELEMENT);
      assert(Array.from(a as ArrayLike<number | bigint>).every((x) => Number(x) === 0), "zeroed");
    }
    made.forEach((a, i) =>
      a instanceof BigUint64Array || a instanceof BigInt64Array
        ? a.fill(BigInt(i + 1))
        : (a as Uint8Array).fill(i + 1)
    );
    made.forEach((a, i) => {
      const ok = Array.from(a as ArrayLike<number | bigint>).every((x) => Number(x) === i + 1);
      assert(ok, `array ${i} was overwritten by a neighbour`);
    });
    assert(made.some((a) => a.buffer.byteLength === SLAB_BYTES), "small values are packed");
  },
});

Deno.test({
  name: "packedArray: empty and large values get buffers of their own",
  permissions: "none",
  fn() {
    const big = packedArray("uint8", SLAB_MAX_VALUE + 1);
    assert(big.byteOffset === 0 && big.buffer.byteLength === SLAB_MAX_VALUE + 1);
    assert(packedArray("float64", 0).length === 0);
  },
});

Deno.test({
  name: "SharedPV: a packed initial array is replaced, not overwritten, by posts and puts",
  permissions: "none",
  async fn() {
    const a = new SharedPV("slab:a", { type: "int16", length: 4, value: [1, 2, 3, 4] });
    const b = new SharedPV("slab:b", { type: "int16", length: 4, value: [5, 6, 7, 8] });
    const first = a.value as Int16Array;
    a.post([9, 9, 9, 9]);
    await b.put([0, 0, 0, 0], { protocol: "local", user: "u", host: "h" });
    assert(first.join() === "1,2,3,4", "the old snapshot keeps its value");
    assert(
      (a.value as Int16Array).join() === "9,9,9,9" && (b.value as Int16Array).join() === "0,0,0,0",
    );
  },
});

Deno.test({
  name: "SharedPV: PVs created without metadata do not share changes to it",
  permissions: "none",
  fn() {
    const a = new SharedPV("meta:a", { type: "float64" });
    const b = new SharedPV("meta:b", { type: "float64" });
    a.setMetadata({ units: "mm", control: { low: 0, high: 5 } });
    assert(a.snapshot().display.units === "mm" && a.snapshot().control.limitHigh === 5);
    assert(b.snapshot().display.units === "" && b.snapshot().control.limitHigh === 0);
    assert(a.type === b.type, "one type object for one shape");
    assert(Object.isFrozen(b.snapshot().display), "shared defaults cannot be modified");
  },
});
