import assert from "node:assert/strict";
import { ByteReader, ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import { EpicsSyntaxError, LocalProtocolError, RemoteProtocolError } from "../../core/errors.ts";
import {
  addressToString,
  bitOf,
  bitPaths,
  BitSet,
  buildRequest,
  decodeFieldDesc,
  decodeMessage,
  decodeOpResponse,
  decodeSearchRequest,
  decodeValue,
  decodeValueBits,
  encodeFieldDesc,
  encodeOpRequest,
  encodeOpResponse,
  encodeSearchRequest,
  encodeValue,
  encodeValueBits,
  type FieldDesc,
  ipv4ToAddress,
  maskChanged,
  parseRequest,
  PvaCommand,
  PvaFramer,
  PvValue,
  requestMask,
  requestOptions,
  T,
  TypeCache,
  TypeCode,
} from "./mod.ts";

function hexOf(fn: (w: ByteWriter) => void, littleEndian = false): string {
  const w = new ByteWriter(64, littleEndian);
  fn(w);
  return toHex(w.view());
}

function str(s: string): string {
  return toHex(new Uint8Array([s.length, ...new TextEncoder().encode(s)]));
}

const timeT = T.struct("time_t", [
  ["secondsPastEpoch", T.long],
  ["nanoseconds", T.int],
  ["userTag", T.int],
]);
const alarmT = T.struct("alarm_t", [["severity", T.int], ["status", T.int], ["message", T.string]]);
const ntScalar = T.struct("epics:nt/NTScalar:1.0", [
  ["value", T.double],
  ["alarm", alarmT],
  ["timeStamp", timeT],
]);

Deno.test({
  name: "type codes: every scalar and array type encodes as one byte and decodes back",
  permissions: "none",
  fn() {
    const codes = Object.values(TypeCode).filter((c) =>
      c !== TypeCode.STRUCTURE && c !== TypeCode.UNION && c !== TypeCode.STRUCTURE_ARRAY &&
      c !== TypeCode.UNION_ARRAY && c !== TypeCode.BOUNDED_STRING
    );
    assert.equal(codes.length, 26);
    for (const c of codes) {
      const hex = hexOf((w) => encodeFieldDesc(w, T.code(c)));
      assert.equal(hex, c.toString(16).padStart(2, "0"));
      assert.equal(decodeFieldDesc(new ByteReader(fromHex(hex)))!.code, c);
    }
    assert.equal(T.array(T.double).typeName, "double[]");
    assert.equal(T.code(TypeCode.ULONG_ARRAY).kind, "scalarArray");
    assert.equal(hexOf((w) => encodeFieldDesc(w, null)), "ff");
    assert.equal(decodeFieldDesc(new ByteReader(fromHex("ff"))), null);
    assert.throws(() => decodeFieldDesc(new ByteReader(fromHex("44"))), RemoteProtocolError);
  },
});

Deno.test({
  name: "type cache: 0xFD defines, 0xFE reuses, at any depth (digest time_t example, BE)",
  permissions: "none",
  fn() {
    const timeFull = "80" + str("time_t") + "03" + str("secondsPastEpoch") + "23" +
      str("nanoseconds") + "22" + str("userTag") + "22";
    assert.equal(hexOf((w) => encodeFieldDesc(w, timeT)), timeFull);
    const cache = new TypeCache();
    // Top level define, then a structure whose members reuse key 1, a structure array of
    // a newly defined key 2, and a union whose member is key 1 again.
    const wire = "fd0001" + timeFull +
      "80" + str("outer") + "04" +
      str("a") + "fe0001" +
      str("b") + "88" + "fd0002" + "80" + str("el") + "01" + str("x") + "21" +
      str("c") + "81" + str("u") + "02" + str("t") + "fe0001" + str("d") + "43" +
      str("d") + "89" + "fd0003" + "81" + "00" + "01" + str("e") + "fe0002";
    const r = new ByteReader(fromHex(wire));
    const first = decodeFieldDesc(r, cache)!;
    const outer = decodeFieldDesc(r, cache)!;
    assert.equal(r.remaining, 0);
    assert.ok(first.equals(timeT));
    assert.equal(outer.member("a"), first);
    assert.equal(outer.member("b")!.element!.id, "el");
    assert.equal(outer.member("c")!.member("t"), first);
    assert.equal(outer.member("d")!.element!.member("e"), cache.get(2));
    assert.equal(cache.size, 3);
    // Reuse across messages; an unknown key is a protocol error.
    assert.equal(decodeFieldDesc(new ByteReader(fromHex("fe0002")), cache), cache.get(2));
    assert.throws(
      () => decodeFieldDesc(new ByteReader(fromHex("fe0009")), cache),
      RemoteProtocolError,
    );
    // Little-endian keys.
    const c2 = new TypeCache();
    decodeFieldDesc(new ByteReader(fromHex("fd0100" + "43"), 0, true), c2);
    assert.equal(c2.get(1)!.code, TypeCode.DOUBLE);
    // A later 0xFD with the same key overrides.
    decodeFieldDesc(new ByteReader(fromHex("fd0100" + "22"), 0, true), c2);
    assert.equal(c2.get(1)!.code, TypeCode.INT);
  },
});

Deno.test({
  name: "types: bounded string 0x83, bounded and fixed arrays (pvAccessCPP), depth limit",
  permissions: "none",
  fn() {
    const t = decodeFieldDesc(new ByteReader(fromHex("8310")))!;
    assert.equal(t.code, 0x83);
    assert.equal(t.bound, 16);
    const fixed = decodeFieldDesc(new ByteReader(fromHex("5b03")))!;
    assert.equal(fixed.arrayMode, 0x18);
    assert.equal(fixed.scalarCode, TypeCode.DOUBLE);
    const v = decodeValue(
      new ByteReader(fromHex("3ff0000000000000" + "4000000000000000" + "4008000000000000")),
      fixed,
    );
    assert.deepEqual(Array.from(v.value as Float64Array), [1, 2, 3]);
    assert.equal(hexOf((w) => encodeFieldDesc(w, T.sizedArray(T.int, 0x10, 5))), "3205");
    let deep = "";
    for (let i = 0; i < 70; i++) deep += "80000101" + "61";
    assert.throws(() => decodeFieldDesc(new ByteReader(fromHex(deep + "43"))), RemoteProtocolError);
  },
});

Deno.test({
  name: "values: bit numbering of NTScalar and partial encoding skips covered subtrees",
  permissions: "none",
  fn() {
    assert.deepEqual(bitPaths(ntScalar), [
      "",
      "value",
      "alarm",
      "alarm.severity",
      "alarm.status",
      "alarm.message",
      "timeStamp",
      "timeStamp.secondsPastEpoch",
      "timeStamp.nanoseconds",
      "timeStamp.userTag",
    ]);
    const v = PvValue.create(ntScalar, {
      value: 1.5,
      alarm: { severity: 2, status: 3, message: "HIHI" },
      timeStamp: { secondsPastEpoch: 10, nanoseconds: 20 },
    });
    const full = hexOf((w) => encodeValue(w, v));
    assert.equal(
      full,
      "3ff8000000000000" + "00000002" + "00000003" + str("HIHI") + "000000000000000a" + "00000014" +
        "00000000",
    );
    // {0,1,2} sends the structure once.
    assert.equal(hexOf((w) => encodeValueBits(w, v, BitSet.of(0, 1, 2))), full);
    // {2,3} sends alarm once; {1,8} value and nanoseconds.
    assert.equal(
      hexOf((w) => encodeValueBits(w, v, BitSet.of(2, 3))),
      "00000002000000030448494849",
    );
    assert.equal(
      hexOf((w) => encodeValueBits(w, v, BitSet.of(1, 8, 40))),
      "3ff800000000000000000014",
    );
    // Decoding a delta keeps unselected fields.
    const cached = v.clone();
    decodeValueBits(
      new ByteReader(fromHex("4000000000000000" + "00000063")),
      cached,
      BitSet.of(1, 8),
    );
    assert.equal(cached.get("value"), 2);
    assert.equal(cached.get("timeStamp.nanoseconds"), 99);
    assert.equal(cached.get("alarm.message"), "HIHI");
    assert.deepEqual(cached.changedPaths(), ["value", "timeStamp.nanoseconds"]);
    assert.equal(cached.isChanged("alarm.severity"), false);
    cached.clearChanged().markChanged("alarm");
    assert.equal(cached.isChanged("alarm.severity"), true);
    assert.equal(cached.field("alarm").get("message"), "HIHI");
    assert.equal(cached.field("timeStamp").field("userTag").path, "timeStamp.userTag");
    assert.equal(bitOf(ntScalar, "timeStamp.userTag"), 9);
    assert.throws(() => cached.get("nope"), LocalProtocolError);
    assert.throws(() => cached.set("value", "abc"), LocalProtocolError);
  },
});

Deno.test({
  name: "values: structure arrays with nulls (digest example), unions, any, typed arrays",
  permissions: "none",
  fn() {
    const el = T.struct("", [["a", T.short], ["b", T.short]]);
    const t = T.struct("", [["arr", T.arrayOf(el)]]);
    const v = PvValue.create(t, {
      arr: [{ a: 0x1111, b: 0x2222 }, null, { a: 0x3333, b: 0x4444 }],
    });
    assert.equal(hexOf((w) => encodeValue(w, v)), "03011111222200013333" + "4444");
    const back = decodeValue(new ByteReader(fromHex("030111112222000133334444")), t);
    assert.deepEqual(back.toJSON(), v.toJSON());

    const u = T.union("", [["i", T.int], ["s", T.string], ["d", T.array(T.double)]]);
    const ut = T.struct("", [["u", u], ["any", T.any], ["ua", T.arrayOf(u)], ["aa", T.anyArray]]);
    const uv = PvValue.create(ut);
    assert.equal(hexOf((w) => encodeValue(w, uv)), "ff" + "ff" + "00" + "00");
    uv.field("u").select("s", "hi");
    uv.set("any", PvValue.create(T.int, 5));
    uv.set("ua", [{ i: 7 }, null]);
    uv.set("aa", [PvValue.create(T.string, "x")]);
    const hex = hexOf((w) => encodeValue(w, uv));
    assert.equal(
      hex,
      "01026869" + "2200000005" + "02" + "010000000007" + "00" + "01" + "01" + "60" + "0178",
    );
    const rt = decodeValue(new ByteReader(fromHex(hex)), ut);
    assert.deepEqual(rt.toJSON(), { u: { s: "hi" }, any: 5, ua: [{ i: 7 }, null], aa: ["x"] });

    // Numeric arrays in both byte orders, including unaligned input.
    const at = T.struct("", [["s", T.array(T.short)], ["d", T.array(T.double)], [
      "l",
      T.array(T.long),
    ]]);
    const av = PvValue.create(at, { s: [1, -2], d: [0.5], l: [3n] });
    for (const littleEndian of [true, false]) {
      const w = new ByteWriter(8, littleEndian);
      encodeValue(w, av);
      const buf = new Uint8Array(w.length + 1);
      buf.set(w.view(), 1);
      const dv = decodeValue(new ByteReader(buf, 1, littleEndian), at);
      assert.ok(dv.get("s") instanceof Int16Array);
      assert.deepEqual(Array.from(dv.get("s") as Int16Array), [1, -2]);
      assert.deepEqual(Array.from(dv.get("d") as Float64Array), [0.5]);
      assert.deepEqual(Array.from(dv.get("l") as BigInt64Array), [3n]);
    }
    assert.equal(
      hexOf((w) => encodeValue(w, av.field("s"))),
      "020001fffe",
    );
  },
});

Deno.test({
  name: "pvRequest: strings parse into the structures pvxs sends (bytes from vectors)",
  permissions: "none",
  fn() {
    const enc = (s: string) => {
      const v = buildRequest(s);
      return hexOf((w) => {
        encodeFieldDesc(w, v.type);
        encodeValue(w, v);
      }, true);
    };
    // pvxget (no -r), pvxget -r 'field(value)', pvxmonitor -r 'record[pipeline=true,queueSize=4]'
    assert.equal(enc(""), "800001056669656c64800000");
    assert.equal(enc("field(value)"), "800001056669656c648000010576616c7565800000");
    assert.equal(
      enc("record[pipeline=true,queueSize=4]"),
      "800002056669656c64800000067265636f7264800001085f6f7074696f6e7380000208706970656c696e65" +
        "6009717565756553697a656004747275650134",
    );
    assert.deepEqual(
      buildRequest("value, timeStamp").type.equals(buildRequest("field(value,timeStamp)").type),
      true,
    );
    const p = parseRequest("field(alarm.severity,value[opt=x])record[queueSize=10]");
    assert.deepEqual([...p.field!.fields.keys()], ["alarm", "value"]);
    assert.deepEqual([...p.field!.fields.get("alarm")!.fields.keys()], ["severity"]);
    assert.equal(p.field!.fields.get("value")!.options.get("opt"), "x");
    const v = buildRequest(p);
    assert.equal(v.get("field.value._options.opt"), "x");
    assert.deepEqual(requestOptions(v), { queueSize: "10" });
    const pg = buildRequest("putField(value)getField(value,alarm)");
    assert.deepEqual(pg.type.members.map((m) => m.name), ["putField", "getField"]);
    assert.throws(() => parseRequest("field(value"), EpicsSyntaxError);
    assert.throws(() => parseRequest("record[x]"), EpicsSyntaxError);
  },
});

Deno.test({
  name: "pvRequest: field masks and the bits an update sends",
  permissions: "none",
  fn() {
    const all = requestMask(buildRequest(""), ntScalar);
    assert.deepEqual(all.toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(requestMask(buildRequest("field(value)"), ntScalar).toArray(), [0, 1]);
    assert.deepEqual(
      requestMask(buildRequest("field(alarm.severity,timeStamp,nope)"), ntScalar).toArray(),
      [0, 2, 3, 6, 7, 8, 9],
    );
    assert.throws(() => requestMask(buildRequest("field(nope)"), ntScalar), LocalProtocolError);
    assert.deepEqual(requestMask(null, ntScalar).cardinality, 10);
    // Everything changed, only value requested: value alone, not the root.
    assert.deepEqual(maskChanged(ntScalar, BitSet.of(0), BitSet.of(0, 1)).toArray(), [1]);
    assert.deepEqual(maskChanged(ntScalar, BitSet.of(2, 1), all).toArray(), [1, 3, 4, 5]);
  },
});

Deno.test({
  name: "messages: the digest's search datagram, and an op exchange in both byte orders",
  permissions: "none",
  fn() {
    const w = new ByteWriter(64, false);
    encodeSearchRequest(w, {
      sequenceId: 0x66696e64,
      flags: 0,
      responseAddress: new Uint8Array(16),
      responsePort: 50000,
      protocols: ["tcp"],
      channels: [{ id: 7, name: "pv:x" }],
    });
    assert.equal(
      toHex(w.view()),
      "ca0280030000002a" + "66696e64" + "00000000" + "00".repeat(16) + "c350" + "0103746370" +
        "0001" + "00000007" + "0470763a78",
    );
    const back = decodeSearchRequest(new ByteReader(w.view().subarray(8)));
    assert.equal(back.channels[0].name, "pv:x");
    assert.equal(addressToString(ipv4ToAddress("127.0.0.1")), "127.0.0.1");

    for (const littleEndian of [true, false]) {
      const ow = new ByteWriter(64, littleEndian);
      encodeOpResponse(ow, {
        command: PvaCommand.GET,
        ioid: 1,
        subcmd: 0x08,
        types: [ntScalar],
      });
      const v = PvValue.create(ntScalar).set("value", 4.25).set("alarm.message", "x");
      encodeOpResponse(ow, { command: PvaCommand.GET, ioid: 1, subcmd: 0, value: v });
      encodeOpRequest(ow, {
        command: PvaCommand.MONITOR,
        sid: 5,
        ioid: 2,
        subcmd: 0x88,
        pvRequest: buildRequest("record[queueSize=4]"),
        nfree: 4,
      });
      const msgs = new PvaFramer().receive(ow.view());
      assert.equal(msgs.length, 3);
      const op: { type?: FieldDesc; cached?: PvValue } = {};
      const ctx = {
        cache: new TypeCache(),
        valueFor: () => op.cached ??= PvValue.create(op.type!),
      };
      const init = decodeMessage(msgs[0], ctx);
      assert.ok(init.kind === "opResponse");
      op.type = init.msg.types![0]!;
      assert.ok(op.type.equals(ntScalar));
      const data = decodeMessage(msgs[1], ctx);
      assert.ok(data.kind === "opResponse");
      assert.deepEqual(data.msg.changed!.toArray(), [1, 5]);
      assert.equal(data.msg.value!.get("value"), 4.25);
      assert.equal(data.msg.value!.get("alarm.message"), "x");
      const mon = decodeMessage(msgs[2], ctx);
      assert.ok(mon.kind === "opRequest");
      assert.equal(mon.msg.nfree, 4);
      assert.deepEqual(requestOptions(mon.msg.pvRequest!), { queueSize: "4" });
    }
    // An error reply carries no data even when a value is given.
    const ew = new ByteWriter(16, true);
    encodeOpResponse(ew, {
      command: PvaCommand.GET,
      ioid: 9,
      subcmd: 0,
      status: { type: 2, message: "no", callTree: "" },
      value: PvValue.create(ntScalar),
    });
    const er = decodeOpResponse(new ByteReader(ew.view().subarray(8), 0, true), PvaCommand.GET);
    assert.equal(er.status!.message, "no");
    assert.equal(er.value, undefined);
  },
});

Deno.test({
  name: "types: a repeated descriptor is the same object, read to its end; others still decode",
  permissions: "none",
  fn() {
    const other = T.struct("other_t", [["value", T.int]]);
    const w = new ByteWriter(64, false);
    encodeFieldDesc(w, ntScalar);
    encodeFieldDesc(w, ntScalar);
    encodeFieldDesc(w, other);
    encodeFieldDesc(w, ntScalar);
    w.u8(0x42);
    const r = new ByteReader(w.toBytes());
    const a = decodeFieldDesc(r)!;
    const b = decodeFieldDesc(r)!;
    assert.equal(a, b);
    assert.equal(toHex(encodeToBytes(a)), toHex(encodeToBytes(ntScalar)));
    const o = decodeFieldDesc(r)!;
    assert.equal(o.id, "other_t");
    assert.equal(decodeFieldDesc(r), a);
    assert.equal(r.u8(), 0x42);
    assert.equal(r.remaining, 0);
    // Same bytes read little-endian where a size would differ are decoded afresh.
    const le = decodeFieldDesc(new ByteReader(encodeToBytes(ntScalar), 0, true))!;
    assert.equal(toHex(encodeToBytes(le)), toHex(encodeToBytes(ntScalar)));
  },
});

function encodeToBytes(t: Parameters<typeof encodeFieldDesc>[1]): Uint8Array {
  const w = new ByteWriter(64, false);
  encodeFieldDesc(w, t);
  return w.toBytes();
}
