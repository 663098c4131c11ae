import assert from "node:assert/strict";
import { PutRefusedError } from "../core/errors.ts";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { caView, PvChange, PvMap, type PvTableValue, SharedPV } from "./mod.ts";

const ctx = { protocol: "local", user: "u", host: "h" } as const;
const clock = () => Date.UTC(2024, 0, 1);

Deno.test({
  name: "SharedPV: scalar post notifies listeners with value changes",
  permissions: "none",
  fn() {
    const pv = new SharedPV("x", { type: "float64", value: 1.5, clock });
    const seen: [unknown, number][] = [];
    const off = pv.subscribe((s, c) => seen.push([s.value, c]));
    pv.post(2.5);
    off();
    pv.post(3);
    assert.deepEqual(seen, [[2.5, PvChange.VALUE | PvChange.LOG]]);
    assert.equal(pv.value, 3);
    assert.equal(pv.snapshot().timeStamp.secPastEpoch, 1704067200 - 631152000);
  },
});

Deno.test({
  name: "SharedPV: alarm limits follow the value and flag ALARM changes",
  permissions: "none",
  fn() {
    const pv = new SharedPV("t", {
      type: "float64",
      value: 25,
      alarm: { lolo: -10, low: 0, high: 80, hihi: 100 },
      clock,
    });
    assert.equal(pv.snapshot().alarm.severity, AlarmSeverity.NO_ALARM);
    const changes: number[] = [];
    pv.subscribe((_s, c) => changes.push(c));
    pv.post(85);
    assert.deepEqual(pv.snapshot().alarm, { severity: 1, status: AlarmStatus.HIGH, message: "" });
    pv.post(150);
    assert.equal(pv.snapshot().alarm.status, AlarmStatus.HIHI);
    assert.equal(pv.snapshot().alarm.severity, AlarmSeverity.MAJOR);
    pv.post(-20);
    assert.equal(pv.snapshot().alarm.status, AlarmStatus.LOLO);
    pv.post(-5);
    assert.equal(pv.snapshot().alarm.status, AlarmStatus.LOW);
    pv.post(-4);
    pv.post(10);
    assert.equal(pv.snapshot().alarm.severity, 0);
    assert.equal(changes[0] & PvChange.ALARM, PvChange.ALARM);
    assert.equal(changes[4] & PvChange.ALARM, 0);
  },
});

Deno.test({
  name: "SharedPV: puts are validated against type, control limits and writability",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("t", { type: "float64", value: 25, control: { low: -20, high: 120 } });
    await pv.put("42.5", ctx);
    assert.equal(pv.value, 42.5);
    await assert.rejects(
      () => pv.put(500, ctx),
      (e) => e instanceof PutRefusedError && e.reason === "limits",
    );
    await assert.rejects(
      () => pv.put("abc", ctx),
      (e) => e instanceof PutRefusedError && e.reason === "type",
    );
    assert.equal(pv.value, 42.5);
    const ro = new SharedPV("r", { type: "float64", value: 5, writable: false });
    await assert.rejects(
      () => ro.put(1, ctx),
      (e) => e instanceof PutRefusedError && e.reason === "readonly",
    );
    const i16 = new SharedPV("s", { type: "int16" });
    await assert.rejects(() => i16.put(40000, ctx), PutRefusedError);
  },
});

Deno.test({
  name: "SharedPV: enums accept an index or a state name",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("m", { type: "enum", choices: ["Off", "On", "Auto"] });
    await pv.put("Auto", ctx);
    assert.equal(pv.value, 2);
    await pv.put(1, ctx);
    assert.equal(pv.value, 1);
    await pv.put("0", ctx);
    assert.equal(pv.value, 0);
    await assert.rejects(() => pv.put(3, ctx), PutRefusedError);
    await assert.rejects(() => pv.put("Maybe", ctx), PutRefusedError);
  },
});

Deno.test({
  name: "SharedPV: arrays are copied, bounded, and char arrays take strings",
  permissions: "none",
  async fn() {
    const src = new Float64Array([1, 2, 3]);
    const pv = new SharedPV("w", { type: "float64", length: 5, value: src });
    src[0] = 99;
    assert.deepEqual(Array.from(pv.value as Float64Array), [1, 2, 3]);
    await assert.rejects(() => pv.put([1, 2, 3, 4, 5, 6], ctx), PutRefusedError);
    const txt = new SharedPV("c", { type: "uint8", length: 8, value: "hi" });
    assert.deepEqual(Array.from(txt.value as Uint8Array), [104, 105, 0]);
  },
});

Deno.test({
  name: "SharedPV: a put handler can refuse or replace",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("h", {
      type: "int32",
      onPut: (v) => {
        if (v === 13) throw new Error("unlucky");
        return (v as number) * 2;
      },
    });
    await pv.put(4, ctx);
    assert.equal(pv.value, 8);
    await assert.rejects(
      () => pv.put(13, ctx),
      (e) => e instanceof PutRefusedError && e.reason === "handler" && /unlucky/.test(e.message),
    );
    assert.equal(pv.value, 8);
  },
});

Deno.test({
  name: "PvMap: lookup and duplicate names",
  permissions: "none",
  fn() {
    const m = new PvMap([new SharedPV("a", { type: "int32" })]);
    assert.equal(m.lookup("a")?.name, "a");
    assert.equal(m.lookup("b"), undefined);
    assert.throws(() => m.add(new SharedPV("a", { type: "int32" })));
  },
});

Deno.test({
  name: "SharedPV: a put with a synchronous handler is applied before put() returns",
  permissions: "none",
  async fn() {
    const pv = new SharedPV("c", {
      type: "float64",
      onPut: (v) => Math.min(100, v as number),
    });
    const done = pv.put(1000, ctx);
    assert.equal(pv.value, 100, "a read right after the put sees the new value");
    await done;
    const slow = new SharedPV("s", { type: "float64", onPut: () => Promise.resolve(7) });
    const p = slow.put(1, ctx);
    assert.equal(slow.value, 0);
    await p;
    assert.equal(slow.value, 7);
  },
});

Deno.test({
  name: "SharedPV: array posts copy (block copy for typed arrays) unless handed over",
  permissions: "none",
  fn() {
    const pv = new SharedPV("a", { type: "uint16", length: 4, clock });
    const mine = new Uint16Array([1, 2, 3]);
    pv.post(mine);
    assert.notEqual(pv.value, mine, "copied by default");
    assert.deepEqual([...(pv.value as Uint16Array)], [1, 2, 3]);
    pv.post(new Uint8Array([255, 0]));
    assert.ok(pv.value instanceof Uint16Array);
    assert.deepEqual([...(pv.value as Uint16Array)], [255, 0]);
    assert.throws(() => pv.post(new Int32Array([70000])), PutRefusedError);
    assert.throws(() => pv.post(new Int16Array([-1])), PutRefusedError);
    pv.post(mine, { transfer: true });
    assert.equal(pv.value, mine, "kept when handed over");
    const other = new Float64Array([1.6]);
    pv.post(other, { transfer: true });
    assert.notEqual(pv.value, other, "a different element type is still converted");
    assert.deepEqual([...(pv.value as Uint16Array)], [2]);
    assert.throws(() => pv.post(new Uint16Array(5), { transfer: true }), PutRefusedError);
    const s = new SharedPV("s", { type: "string", length: 2 });
    s.post(new Float64Array([1]), { transfer: true });
    assert.deepEqual(s.value, ["1"]);
  },
});

Deno.test({
  name: "SharedPV: a table holds equal-length column arrays; puts of some columns merge",
  permissions: "none",
  async fn() {
    const columns = [
      { name: "pos", type: "float64" as const, label: "Position" },
      { name: "tag", type: "string" as const },
    ];
    const t = new SharedPV("t", { type: "table", table: { columns, maxRows: 3 }, clock });
    assert.equal(t.type.kind, "table");
    assert.deepEqual(t.type.columns, columns);
    assert.deepEqual(t.value, { pos: new Float64Array(0), tag: [] });
    t.post({ pos: [1, 2], tag: ["a", "b"] });
    const v = t.value as PvTableValue;
    assert.ok(v.pos instanceof Float64Array);
    assert.deepEqual([...(v.pos as Float64Array)], [1, 2]);
    // One column of the same length: the other keeps its elements.
    await t.put({ tag: ["x", "y"] }, ctx);
    assert.deepEqual((t.value as PvTableValue).tag, ["x", "y"]);
    assert.deepEqual([...(t.value as PvTableValue).pos], [1, 2]);
    // Whole rows: every column, all the same length.
    await t.put({ pos: [5, 6, 7], tag: ["p", "q", "r"] }, ctx);
    assert.equal((t.value as PvTableValue).tag.length, 3);
    const before = t.value;
    const refused = async (x: unknown, re: RegExp) => {
      await assert.rejects(
        t.put(x, ctx),
        (e: Error) => e instanceof PutRefusedError && re.test(e.message),
      );
      assert.equal(t.value, before);
    };
    await refused({ tag: ["only", "two"] }, /Column "tag" has 2 rows, but column "pos" has 3/);
    await refused({ nope: [1] }, /no column "nope"/);
    await refused({ pos: [1, 2, 3, 4], tag: ["a", "b", "c", "d"] }, /exceeds the maximum of 3/);
    await refused({ pos: "abc" }, /must be an array/);
    await refused([1, 2], /object of column arrays/);
    await refused({ pos: ["x", "y", "z"] }, /./);
    // A post must give every column.
    assert.throws(() => t.post({ pos: [1] }), /Column "tag" is missing/);
  },
});

Deno.test({
  name: "SharedPV: bad table definitions are refused; caView hides tables from CA",
  permissions: "none",
  fn() {
    assert.throws(() => new SharedPV("t", { type: "table" }), /needs table.columns/);
    assert.throws(
      () =>
        new SharedPV("t", { type: "table", table: { columns: [{ name: "a b", type: "int32" }] } }),
      /not an identifier/,
    );
    assert.throws(
      () =>
        new SharedPV("t", {
          type: "table",
          table: { columns: [{ name: "a", type: "int32" }, { name: "a", type: "int32" }] },
        }),
      /repeated/,
    );
    assert.throws(
      () =>
        new SharedPV("t", { type: "int32", table: { columns: [{ name: "a", type: "int32" }] } }),
      /needs type "table"/,
    );
    const t = new SharedPV("t", {
      type: "table",
      table: { columns: [{ name: "a", type: "int32" }] },
    });
    const s = new SharedPV("s", { type: "int32" });
    const ca = caView(new PvMap([t, s]));
    assert.equal(ca.lookup("t"), undefined);
    assert.equal(ca.lookup("s"), s);
    assert.deepEqual([...ca.names()], ["s"]);
  },
});
