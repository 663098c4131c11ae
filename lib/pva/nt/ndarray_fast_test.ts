import assert from "node:assert/strict";
import { SharedPV } from "../../pv/shared_pv.ts";
import { PvChange } from "../../pv/types.ts";
import { fastBytes, genericBytes, serverBits } from "./_testing.ts";
import { isNdArrayValueUpdate, NdArrayUpdateEncoder } from "./ndarray_fast.ts";
import { NtSnapshotWriter } from "./pv_map.ts";

Deno.test({
  name: "NdArrayUpdateEncoder writes the generic encoder's bytes for NTNDArray value updates",
  permissions: "none",
  fn() {
    let t = Date.UTC(2025, 5, 1, 12, 0, 0, 123);
    const pv = new SharedPV("img", {
      type: "int16",
      length: 600,
      ndarray: { dimension: [30, 20], attributes: [{ name: "ColorMode", value: 0 }] },
      clock: () => t,
      alarm: { hihi: 1e9 },
    });
    const generic = new NtSnapshotWriter(pv.type);
    const type = generic.type;
    const bits = serverBits(generic, PvChange.VALUE | PvChange.LOG);
    assert(
      isNdArrayValueUpdate(type, bits),
      "the server's bits for a value change take the fast path",
    );
    // (An initial update marks the same ten fields, whole: it takes the fast path too.)
    assert(isNdArrayValueUpdate(type, generic.changeBits(0)));
    const fast = new NdArrayUpdateEncoder(new NtSnapshotWriter(pv.type));
    const dims = [10, 5];
    const posts: [unknown, Parameters<SharedPV["post"]>[1]][] = [
      [new Int16Array(600).map((_, i) => i - 300), {}],
      [new Int16Array(50).fill(7), { dimension: dims, uniqueId: 99 }],
      [new Int16Array(50).fill(-3), {
        dimension: dims,
        attributes: [{ name: "FrameNumber", value: 5, descriptor: "n" }],
      }],
      [new Int16Array(300), { dimension: [300], alarm: { severity: 2, status: 3, message: "" } }],
      [new Int16Array(300).fill(1).subarray(100, 200), { dimension: [100], transfer: true }],
    ];
    for (const [value, opts] of posts) {
      t += 1234.5;
      pv.post(value, opts);
      const snap = pv.snapshot();
      assert.deepEqual(fastBytes((w) => fast.encode(w, snap)), genericBytes(generic, snap, bits));
    }
  },
});

Deno.test({
  name: "isNdArrayValueUpdate refuses partial selections",
  permissions: "none",
  fn() {
    const pv = new SharedPV("img", { type: "uint8", ndarray: { dimension: [4] } });
    const w = new NtSnapshotWriter(pv.type);
    assert(!isNdArrayValueUpdate(w.type, serverBits(w, PvChange.VALUE, "field(value,uniqueId)")));
  },
});
