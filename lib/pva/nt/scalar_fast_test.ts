import assert from "node:assert/strict";
import { ByteWriter } from "../../core/bytes.ts";
import { SharedPV } from "../../pv/shared_pv.ts";
import { PvChange, type ScalarType } from "../../pv/types.ts";
import { fastBytes, genericBytes, serverBits } from "./_testing.ts";
import { isScalarValueUpdate, ScalarUpdateEncoder } from "./scalar_fast.ts";
import { NtSnapshotWriter } from "./pv_map.ts";

const NUMERIC: ScalarType[] = [
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "float32",
  "float64",
];

Deno.test({
  name: "ScalarUpdateEncoder writes the generic encoder's bytes for numeric value updates",
  permissions: "none",
  fn() {
    let t = Date.UTC(2025, 5, 1, 12, 0, 0, 123);
    for (const scalar of NUMERIC) {
      for (const array of [false, true]) {
        if (!array && (scalar === "int64" || scalar === "uint64")) continue;
        const pv = new SharedPV(`sc:${scalar}`, {
          type: scalar,
          length: array ? 300 : undefined,
          clock: () => t,
          alarm: array ? undefined : { high: 50, hihi: 100 },
        });
        const generic = new NtSnapshotWriter(pv.type);
        const fast = new ScalarUpdateEncoder(pv.type);
        for (const changes of [PvChange.VALUE | PvChange.LOG, PvChange.VALUE | PvChange.ALARM]) {
          assert(isScalarValueUpdate(pv.type, generic.type, serverBits(generic, changes)));
        }
        const bits = serverBits(generic, PvChange.VALUE | PvChange.LOG);
        const big = scalar === "int64" || scalar === "uint64";
        const posts: [unknown, Parameters<SharedPV["post"]>[1]][] = array
          ? [
            [Array.from({ length: 300 }, (_, i) => big ? BigInt(i) : i % 100), {}],
            [[1, 2, 3], { alarm: { severity: 2, status: 3, message: "" } }],
            [[], { alarm: { severity: 1, status: 1, message: "ünïcode" } }],
            [Array.from({ length: 253 }, () => 7), {}],
            [Array.from({ length: 254 }, () => 9), {}],
          ]
          : [[1, {}], [60, {}], [120, {}], [3, {
            alarm: { severity: 3, status: 9, message: "x" },
          }]];
        for (const [value, opts] of posts) {
          t += 1234.5;
          pv.post(value, opts);
          const snap = pv.snapshot();
          let encoded = false;
          const b = fastBytes((w) => encoded = fast.encode(w, snap));
          assert(encoded, `${scalar} ${array}: encoded`);
          assert.deepEqual(b, genericBytes(generic, snap, bits), `${scalar}${array ? "[]" : ""}`);
        }
      }
    }
  },
});

Deno.test({
  name: "isScalarValueUpdate: only whole value+alarm+timeStamp of numeric plain PVs",
  permissions: "none",
  fn() {
    const pv = new SharedPV("sc:x", { type: "float64" });
    const w = new NtSnapshotWriter(pv.type);
    assert(!isScalarValueUpdate(pv.type, w.type, w.changeBits(0)), "an initial update is not");
    assert(!isScalarValueUpdate(pv.type, w.type, serverBits(w, PvChange.PROPERTY)));
    assert(!isScalarValueUpdate(pv.type, w.type, serverBits(w, PvChange.VALUE, "field(value)")));
    assert(
      !isScalarValueUpdate(pv.type, w.type, serverBits(w, PvChange.VALUE, "field(value,alarm)")),
    );
    assert(
      isScalarValueUpdate(
        pv.type,
        w.type,
        serverBits(w, PvChange.VALUE, "field(value,alarm,timeStamp)"),
      ),
    );
    for (const other of [{ type: "string" }, { type: "boolean" }, { type: "int64" }] as const) {
      const p = new SharedPV("sc:o", other);
      const ow = new NtSnapshotWriter(p.type);
      assert(!isScalarValueUpdate(p.type, ow.type, serverBits(ow, PvChange.VALUE)), other.type);
    }
    const e = new SharedPV("sc:e", { type: "enum", choices: ["a", "b"] });
    const ew = new NtSnapshotWriter(e.type);
    assert(!isScalarValueUpdate(e.type, ew.type, serverBits(ew, PvChange.VALUE)));
  },
});

Deno.test({
  name: "ScalarUpdateEncoder leaves values of an unexpected JS type to the generic path",
  permissions: "none",
  fn() {
    const pv = new SharedPV("sc:y", { type: "uint16", length: 4 });
    const fast = new ScalarUpdateEncoder(pv.type);
    const w = new ByteWriter(16, true);
    const snap = { ...pv.snapshot(), value: new Float64Array(4) };
    assert(!fast.encode(w, snap) && w.length === 0);
  },
});
