import assert from "node:assert/strict";
import { ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import { SharedPV } from "../../pv/shared_pv.ts";
import { PvChange } from "../../pv/types.ts";
import {
  bitOf,
  buildRequest,
  decodeMessage,
  encodeFieldDesc,
  FieldDesc,
  PvaFramer,
  PvValue,
  requestMask,
} from "../proto/mod.ts";
import {
  extractPut,
  fillNtNdArray,
  ntEnumType,
  ntName,
  ntNdArrayType,
  ntScalarType,
  NtSnapshotWriter,
  ntTableType,
  ntTableValue,
  pvaAlarmStatus,
  readNtEnum,
  readNtNdArray,
  readNtScalar,
  readNtTable,
  selectBits,
  valueFromPlain,
} from "./mod.ts";

const VECTORS = new URL("../../../../shared/vectors/pva/", import.meta.url);

/** The type the pvxs server (QSRV) sent in the GET_FIELD reply of a recorded pvxinfo run. */
function recordedType(name: string): FieldDesc | undefined {
  let rec;
  try {
    rec = JSON.parse(Deno.readTextFileSync(new URL(`${name}.json`, VECTORS)));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const framer = new PvaFramer();
  for (const m of rec.messages) {
    if (m.proto !== "tcp" || m.dir !== "s2c") continue;
    for (const msg of framer.receive(fromHex(m.hex))) {
      const d = decodeMessage(msg);
      if (d.kind === "getFieldResponse") return d.msg.type ?? undefined;
    }
  }
  return undefined;
}

function bytesOf(t: FieldDesc): string {
  const w = new ByteWriter(512, true);
  encodeFieldDesc(w, t);
  return toHex(w.view());
}

const GOLDEN: [string, () => FieldDesc][] = [
  ["pvxinfo_T_ai", () => ntScalarType("float64")],
  ["pvxinfo_T_long", () => ntScalarType("int32")],
  ["pvxinfo_T_short", () => ntScalarType("int16", { array: true })],
  ["pvxinfo_T_float", () => ntScalarType("float32")],
  ["pvxinfo_T_str", () => ntScalarType("string")],
  ["pvxinfo_T_wf", () => ntScalarType("float64", { array: true })],
  ["pvxinfo_T_chars", () => ntScalarType("int8", { array: true })],
  ["pvxinfo_T_mbbo", () => ntEnumType()],
  ["pvxinfo_T_bo", () => ntEnumType()],
];

for (const [vec, build] of GOLDEN) {
  const want = recordedType(vec);
  Deno.test({
    name: want
      ? `nt: our type equals the one pvxs QSRV sends (${vec})`
      : `nt: our type equals the one pvxs QSRV sends (${vec}): recording absent, skipped`,
    ignore: !want,
    permissions: { read: true },
    fn() {
      if (!want) throw new Error(`${vec} not recorded`);
      const got = build();
      assert.equal(got.toString(), want.toString());
      assert.equal(bytesOf(got), bytesOf(want));
    },
  });
}

Deno.test({
  name: "nt: NTScalar from a SharedPV snapshot, read back by name",
  permissions: "none",
  fn() {
    const pv = new SharedPV("t", {
      type: "float64",
      value: 3.5,
      units: "mm",
      precision: 3,
      description: "d",
      display: { low: -10, high: 10 },
      control: { low: -5, high: 5 },
      alarm: { high: 3, hihi: 8 },
      clock: () => Date.UTC(2024, 0, 1) + 250,
    });
    const w = new NtSnapshotWriter(pv.type);
    const v = w.write(pv.snapshot());
    assert.equal(v.type.id, "epics:nt/NTScalar:1.0");
    const r = readNtScalar(v);
    assert.equal(r.value, 3.5);
    assert.deepEqual(r.alarm, { severity: 1, status: 1, message: "HIGH" });
    assert.equal(r.timeStamp.nsec, 250e6);
    assert.equal(v.get("timeStamp.secondsPastEpoch"), BigInt(Date.UTC(2024, 0, 1) / 1000));
    assert.equal(r.display?.units, "mm");
    assert.equal(r.display?.precision, 3);
    assert.equal(r.control?.limitHigh, 5);
    assert.equal(r.valueAlarm?.highAlarmLimit, 8);
    assert.ok(Number.isNaN(r.valueAlarm?.lowAlarmLimit));
    assert.equal((v.get("display.form.choices") as string[]).length, 7);
  },
});

Deno.test({
  name: "nt: readers use names, not positions",
  permissions: "none",
  fn() {
    // A producer with a different member order and missing optional members.
    const t = ntScalarType("float64", { display: false, control: false, valueAlarm: false });
    const reordered = PvValue.create(
      // timeStamp first, value last
      new FieldDesc(0x80, {
        id: "epics:nt/NTScalar:1.1",
        members: [
          { name: "timeStamp", type: t.member("timeStamp")! },
          { name: "alarm", type: t.member("alarm")! },
          { name: "value", type: t.member("value")! },
        ],
      }),
    );
    reordered.set("value", 7).set("alarm.severity", 2).set("timeStamp.nanoseconds", 5)
      .set("timeStamp.secondsPastEpoch", 631152000 + 100);
    const r = readNtScalar(reordered);
    assert.equal(r.value, 7);
    assert.equal(r.alarm.severity, 2);
    assert.equal(r.timeStamp.nsec, 5);
    assert.equal(r.display, undefined);
    assert.equal(ntName(reordered.type.id), "NTScalar");
    assert.equal(ntName("epics:nt/NTScalar:2.0"), "");
  },
});

Deno.test({
  name: "nt: NTEnum from a SharedPV and a put of value.index",
  permissions: "none",
  fn() {
    const pv = new SharedPV("m", { type: "enum", choices: ["Off", "On"], value: "On" });
    const w = new NtSnapshotWriter(pv.type);
    const v = w.write(pv.snapshot());
    assert.deepEqual(readNtEnum(v).choices, ["Off", "On"]);
    assert.equal(readNtEnum(v).index, 1);
    const put = PvValue.create(w.type);
    put.set("value.index", 0);
    const x = extractPut(pv.type, put, put.changed);
    assert.deepEqual(x, { hasValue: true, value: 0, others: [] });
  },
});

Deno.test({
  name: "nt: put extraction notes fields other than value",
  permissions: "none",
  fn() {
    const pv = new SharedPV("x", { type: "float64" });
    const t = new NtSnapshotWriter(pv.type).type;
    const put = PvValue.create(t);
    put.set("display.units", "V");
    const x = extractPut(pv.type, put, put.changed);
    assert.equal(x.hasValue, false);
    assert.deepEqual(x.others, ["display.units"]);
    const all = PvValue.create(t).markChanged("");
    assert.equal(extractPut(pv.type, all, all.changed).hasValue, true);
  },
});

Deno.test({
  name: "nt: change bits and pvRequest selection",
  permissions: "none",
  fn() {
    const pv = new SharedPV("x", { type: "float64" });
    const w = new NtSnapshotWriter(pv.type);
    const t = w.type;
    const value = bitOf(t, "value"), alarm = bitOf(t, "alarm"), ts = bitOf(t, "timeStamp");
    assert.deepEqual(
      w.changeBits(PvChange.VALUE).toArray(),
      [value, alarm, ts].sort((a, b) => a - b),
    );
    assert.deepEqual(w.changeBits(PvChange.ALARM).toArray(), [alarm]);
    const mask = requestMask(buildRequest("field(value,alarm.severity)"), t);
    const sel = selectBits(t, w.changeBits(PvChange.VALUE), mask);
    assert.deepEqual(sel.toArray(), [value, bitOf(t, "alarm.severity")]);
    const full = selectBits(t, w.changeBits(0), requestMask(buildRequest(""), t));
    assert.equal(full.toArray().length, t.members.length);
  },
});

Deno.test({
  name: "nt: NTNDArray fill and read back",
  permissions: "none",
  fn() {
    const v = PvValue.create(ntNdArrayType());
    const data = new Uint16Array([1, 2, 3, 4, 5, 6]);
    fillNtNdArray(v, {
      value: data,
      dimension: [3, 2],
      uniqueId: 9,
      timeStamp: { secPastEpoch: 10, nsec: 20 },
      attributes: [{ name: "ColorMode", value: 0, descriptor: "mode" }],
    });
    const r = readNtNdArray(v);
    assert.equal(r.valueType, "ushortValue");
    assert.equal(r.value, data);
    assert.deepEqual(r.dimension.map((d) => d.size), [3, 2]);
    assert.equal(r.uniqueId, 9);
    assert.equal(r.compressedSize, 12);
    assert.equal(r.uncompressedSize, 12);
    assert.deepEqual(r.dataTimeStamp, { secPastEpoch: 10, nsec: 20 });
    assert.deepEqual(r.attributes, [{
      name: "ColorMode",
      value: 0,
      descriptor: "mode",
      source: "",
    }]);
  },
});

Deno.test({
  name: "nt: NTNDArray SharedPV posts carry shape and a growing uniqueId",
  permissions: "none",
  fn() {
    const pv = new SharedPV("img", { type: "uint16", ndarray: { dimension: [4, 2] } });
    assert.equal(pv.type.maxLength, 8);
    assert.equal(pv.type.nt, "NTNDArray");
    pv.post(new Uint16Array(8).fill(3));
    pv.post(new Uint16Array(8).fill(4));
    const w = new NtSnapshotWriter(pv.type);
    const r = readNtNdArray(w.write(pv.snapshot()));
    assert.equal(r.uniqueId, 2);
    assert.deepEqual(r.dimension.map((d) => d.size), [4, 2]);
    assert.equal((r.value as Uint16Array)[0], 4);
    const put = PvValue.create(w.type);
    put.field("value").select("ushortValue", new Uint16Array(8));
    const x = extractPut(pv.type, put, put.changed);
    assert.ok(x.hasValue);
    assert.ok(x.value instanceof Uint16Array);
  },
});

Deno.test({
  name: "nt: NTTable build and read",
  permissions: "none",
  fn() {
    const cols = [{ name: "x", type: "float64" as const, label: "X" }, {
      name: "n",
      type: "string" as const,
    }];
    const v = ntTableValue(cols, { x: [1, 2], n: ["a", "b"] });
    assert.equal(v.type.id, ntTableType(cols).id);
    const r = readNtTable(v);
    assert.deepEqual(r.labels, ["X", "n"]);
    assert.deepEqual(r.names, ["x", "n"]);
    assert.deepEqual(Array.from(r.columns.x as Float64Array), [1, 2]);
    assert.throws(() => ntTableValue(cols, { x: [1], n: [] }), /rows/);
  },
});

Deno.test({
  name: "nt: alarm status mapping and plain RPC results",
  permissions: "none",
  fn() {
    assert.equal(pvaAlarmStatus(3), 1); // HIHI -> DEVICE
    assert.equal(pvaAlarmStatus(17), 2); // UDF -> DRIVER
    assert.equal(pvaAlarmStatus(14), 3); // LINK -> RECORD
    assert.equal(pvaAlarmStatus(99), 6);
    const v = valueFromPlain({ sum: 3, tag: "x", arr: new Int32Array([1]) })!;
    assert.equal(v.type.member("sum")!.typeName, "double");
    assert.equal(v.type.member("arr")!.typeName, "int[]");
    assert.equal(v.get("tag"), "x");
    assert.equal(valueFromPlain(null), null);
    assert.throws(() => valueFromPlain(() => 1));
  },
});

Deno.test({
  name:
    "nt: a table PV is served as NTTable (labels, value.<col>, descriptor) and puts whole columns",
  permissions: "none",
  fn() {
    const columns = [
      { name: "pos", type: "float64" as const, label: "Position" },
      { name: "tag", type: "string" as const },
      { name: "n", type: "int32" as const },
    ];
    const pv = new SharedPV("t", {
      type: "table",
      table: { columns },
      description: "runs",
      value: { pos: [1.5, 2.5], tag: ["a", "b"], n: [1, 2] },
    });
    const w = new NtSnapshotWriter(pv.type);
    // The same type as the NTTable builder's, in pvxs's member order.
    assert.equal(w.type.id, "epics:nt/NTTable:1.0");
    assert.deepEqual(w.type.members.map((m) => m.name), [
      "labels",
      "value",
      "descriptor",
      "alarm",
      "timeStamp",
    ]);
    assert.equal(w.type.member("value")?.member("n")?.typeName, "int[]");
    const t = readNtTable(w.write(pv.snapshot()));
    assert.deepEqual(t.labels, ["Position", "tag", "n"]);
    assert.deepEqual(t.names, ["pos", "tag", "n"]);
    assert.deepEqual([...(t.columns.pos as Float64Array)], [1.5, 2.5]);
    assert.deepEqual(t.columns.tag, ["a", "b"]);
    assert.equal(t.descriptor, "runs");
    // A post changes value, alarm, timeStamp; metadata (the descriptor) is PROPERTY.
    const vb = w.changeBits(PvChange.VALUE);
    assert.ok(vb.get(bitOf(w.type, "value")));
    assert.ok(!vb.get(bitOf(w.type, "labels")));
    assert.ok(w.changeBits(PvChange.PROPERTY).get(bitOf(w.type, "descriptor")));
    // Put extraction: the marked columns only; labels are not writable.
    const put = PvValue.create(w.type);
    put.set("value.n", [7, 8]);
    const x = extractPut(pv.type, put, put.changed);
    assert.equal(x.hasValue, true);
    assert.deepEqual(Object.keys(x.value as object), ["n"]);
    assert.deepEqual(x.others, []);
    const whole = PvValue.create(w.type);
    whole.set("value.pos", [1]);
    whole.markChanged("value");
    assert.deepEqual(
      Object.keys(extractPut(pv.type, whole, whole.changed).value as object),
      ["pos", "tag", "n"],
    );
    const lab = PvValue.create(w.type);
    lab.set("labels", ["q"]);
    assert.deepEqual(extractPut(pv.type, lab, lab.changed).others, ["labels"]);
  },
});
