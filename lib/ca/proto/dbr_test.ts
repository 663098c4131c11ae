import assert from "node:assert/strict";
import { ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import { LocalProtocolError, RemoteProtocolError } from "../../core/errors.ts";
import { Dbr } from "./constants.ts";
import {
  DBR_TYPES,
  dbrInfo,
  dbrName,
  dbrPayloadSize,
  dbrPlainType,
  dbrTypeByName,
  dbrValueClass,
  decodeDbr,
  encodeDbr,
} from "./dbr.ts";
import type { DbrData } from "./dbr_types.ts";

const none = { permissions: "none" } as const;

function enc(type: number, count: number, data: DbrData): string {
  const w = new ByteWriter();
  encodeDbr(w, type, count, data);
  return toHex(w.toBytes());
}

Deno.test({
  name: "dbr: meta and element sizes match ca.md section 7.2",
  ...none,
  fn() {
    // [meta, elem] for ids 0..38, from the db_access.h structs.
    const expected = [
      [0, 40],
      [0, 2],
      [0, 4],
      [0, 2],
      [0, 1],
      [0, 4],
      [0, 8],
      [4, 40],
      [4, 2],
      [4, 4],
      [4, 2],
      [5, 1],
      [4, 4],
      [8, 8],
      [12, 40],
      [14, 2],
      [12, 4],
      [14, 2],
      [15, 1],
      [12, 4],
      [16, 8],
      [4, 40],
      [24, 2],
      [40, 4],
      [422, 2],
      [19, 1],
      [36, 4],
      [64, 8],
      [4, 40],
      [28, 2],
      [48, 4],
      [422, 2],
      [21, 1],
      [44, 4],
      [80, 8],
      [0, 2],
      [0, 2],
      [8, 40],
      [0, 40],
    ]; // deno-fmt-ignore
    assert.equal(DBR_TYPES.length, 39);
    assert.deepEqual(DBR_TYPES.map((r) => [r.metaSize, r.elemSize]), expected);
    // Worked sizes of section 7.4.
    assert.equal(dbrPayloadSize(Dbr.TIME_SHORT, 3), 20);
    assert.equal(dbrPayloadSize(Dbr.STS_CHAR, 10), 15);
    assert.equal(dbrPayloadSize(Dbr.CTRL_ENUM, 1), 424);
    assert.equal(dbrPayloadSize(Dbr.GR_DOUBLE, 1000), 8064);
    assert.equal(dbrPayloadSize(Dbr.TIME_DOUBLE, 0), 16);
  },
});

Deno.test({
  name: "dbr: names, families and classes",
  ...none,
  fn() {
    assert.equal(dbrName(20), "DBR_TIME_DOUBLE");
    assert.equal(dbrName(1), "DBR_SHORT");
    assert.equal(dbrTypeByName("DBR_TIME_DOUBLE"), 20);
    assert.equal(dbrTypeByName("TIME_DOUBLE"), 20);
    assert.equal(dbrTypeByName("time_double"), 20);
    assert.equal(dbrTypeByName("20"), 20);
    assert.equal(dbrTypeByName("DBR_CTRL_INT"), 29);
    assert.equal(dbrTypeByName("DBR_NOPE"), undefined);
    assert.equal(dbrTypeByName("39"), undefined);
    assert.equal(dbrPlainType(6, "ctrl"), 34);
    assert.equal(dbrPlainType(4), 4);
    assert.equal(dbrInfo(24).family, "gr");
    assert.equal(dbrInfo(37).family, "special");
    assert.deepEqual([0, 7, 14, 21, 28, 37, 38].map(dbrValueClass), Array(7).fill("string"));
    assert.deepEqual(
      [2, 6, 9, 13, 16, 20, 23, 27, 30, 34].map(dbrValueClass),
      Array(10).fill("float"),
    );
    assert.deepEqual([1, 3, 4, 5, 35, 36].map(dbrValueClass), Array(6).fill("int"));
    assert.throws(() => dbrInfo(39), LocalProtocolError);
  },
});

Deno.test({
  name: "dbr: TIME_DOUBLE golden (caget_T_ai_dbr20: 3.14159 at 2026-11-21 11:34:06.897176)",
  ...none,
  fn() {
    // RSRV left a stray 0x26 in the RISC pad (offset 12); we send zeros there.
    const wire = fromHex("000000004562e42e3579d21500000026400921f9f01b866e");
    const d = decodeDbr(Dbr.TIME_DOUBLE, 1, wire);
    assert.ok(d.value instanceof Float64Array);
    assert.equal(d.value[0], 3.14159);
    assert.deepEqual(d.meta, {
      status: 0,
      severity: 0,
      stamp: { secPastEpoch: 0x4562e42e, nsec: 897176085 },
    });
    // 0x4562e42e s after 1990 = 2026-11-21 11:34:06 UTC
    assert.equal(
      new Date((0x4562e42e + 631152000) * 1000).toISOString(),
      "2026-11-21T11:34:06.000Z",
    );
    assert.equal(enc(Dbr.TIME_DOUBLE, 1, d), "000000004562e42e3579d21500000000400921f9f01b866e");
  },
});

Deno.test({
  name: "dbr: CTRL_DOUBLE golden (caget_T_ai_dbr34: mm, PREC 3, limits)",
  ...none,
  fn() {
    const hex =
      "00000000000300006d6d0000000000004024000000000000c024000000000000402000000000000040140000" +
      "00000000c014000000000000c0200000000000004024000000000000c024000000000000400921f9f01b866e";
    const d = decodeDbr(Dbr.CTRL_DOUBLE, 1, fromHex(hex));
    assert.deepEqual(d.meta, {
      status: 0,
      severity: 0,
      precision: 3,
      units: "mm",
      upperDispLimit: 10,
      lowerDispLimit: -10,
      upperAlarmLimit: 8,
      upperWarningLimit: 5,
      lowerWarningLimit: -5,
      lowerAlarmLimit: -8,
      upperCtrlLimit: 10,
      lowerCtrlLimit: -10,
    });
    assert.equal(d.value[0], 3.14159);
    assert.equal(enc(Dbr.CTRL_DOUBLE, 1, d), hex);
  },
});

Deno.test({
  name:
    "dbr: CTRL_LONG golden (caget_T_long_dbr33) and CTRL_FLOAT NaN limits (caget_T_float_dbr30)",
  ...none,
  fn() {
    const hex =
      "00000000636e740000000000000003e80000000000000000000000000000000000000000000003e8000000000000002a";
    const d = decodeDbr(Dbr.CTRL_LONG, 1, fromHex(hex));
    assert.equal(d.meta.units, "cnt");
    assert.equal(d.meta.upperDispLimit, 1000);
    assert.equal(d.meta.upperCtrlLimit, 1000);
    assert.ok(d.value instanceof Int32Array);
    assert.equal(d.value[0], 42);
    assert.equal(enc(Dbr.CTRL_LONG, 1, d), hex);
    const f = decodeDbr(
      Dbr.CTRL_FLOAT,
      1,
      fromHex(
        "0000000000000001000000000000000000000000000000007fc000007fc000007fc000007fc0000000000000000000003e800000",
      ),
    );
    assert.ok(Number.isNaN(f.meta.upperAlarmLimit));
    assert.equal(f.meta.precision, 0);
    assert.equal(f.value[0], 0.25);
  },
});

Deno.test({
  name: "dbr: GR_ENUM golden (caget_T_mbbo_dbr24: UDF/INVALID, Zero One Two)",
  ...none,
  fn() {
    const wire = new Uint8Array(424);
    wire.set(fromHex("0011000300035a65726f"), 0);
    wire.set(fromHex("4f6e65"), 6 + 26);
    wire.set(fromHex("54776f"), 6 + 52);
    const d = decodeDbr(Dbr.GR_ENUM, 1, wire);
    assert.deepEqual(d.meta, { status: 17, severity: 3, enumStrings: ["Zero", "One", "Two"] });
    assert.ok(d.value instanceof Uint16Array);
    assert.equal(d.value[0], 0);
    assert.equal(enc(Dbr.GR_ENUM, 1, d), toHex(wire));
    assert.equal(enc(Dbr.CTRL_ENUM, 1, d), toHex(wire));
  },
});

Deno.test({
  name: "dbr: strings (caget_T_str_dbr14) and GR/CTRL_STRING use the STS layout",
  ...none,
  fn() {
    const hex = "000000004562e42e357a5966" + "68656c6c6f20776f726c64".padEnd(80, "0");
    const d = decodeDbr(Dbr.TIME_STRING, 1, fromHex(hex));
    assert.deepEqual(d.value, ["hello world"]);
    assert.equal(enc(Dbr.TIME_STRING, 1, d), hex);
    const sts = enc(Dbr.CTRL_STRING, 2, { value: ["a", "b"], meta: { status: 1, severity: 2 } });
    assert.equal(sts.length, (4 + 80) * 2);
    assert.equal(sts.slice(0, 10), "0001000261");
    // A 41-character string is cut to 39 plus the NUL.
    const long = decodeDbr(
      Dbr.STRING,
      1,
      fromHex(enc(Dbr.STRING, 1, { value: ["x".repeat(41)], meta: { status: 0, severity: 0 } })),
    );
    assert.equal(long.value[0], "x".repeat(39));
    // libca's short string write (caput_string: "new string" in 16 bytes).
    assert.deepEqual(decodeDbr(Dbr.STRING, 1, fromHex("6e657720737472696e67000000000000")).value, [
      "new string",
    ]);
  },
});

Deno.test({
  name: "dbr: char waveform (caget_T_chars_dbr32) is a view; short arrays are zero-filled",
  ...none,
  fn() {
    const wire = new Uint8Array(21 + 256);
    wire.set(new TextEncoder().encode("hello chars"), 21);
    const d = decodeDbr(Dbr.CTRL_CHAR, 256, wire);
    assert.ok(d.value instanceof Uint8Array);
    assert.equal(d.value.buffer, wire.buffer);
    assert.equal(new TextDecoder().decode((d.value as Uint8Array).subarray(0, 11)), "hello chars");
    assert.equal(enc(Dbr.CTRL_CHAR, 256, d), toHex(wire));
    // Fewer values than count: the rest is zero.
    assert.equal(
      enc(Dbr.TIME_SHORT, 3, { value: new Int16Array([-1]), meta: { status: 0, severity: 0 } })
        .slice(28),
      "ffff00000000",
    );
    // More values than count: only count are written.
    assert.equal(
      enc(Dbr.SHORT, 1, { value: new Int16Array([1, 2]), meta: { status: 0, severity: 0 } }),
      "0001",
    );
  },
});

Deno.test({
  name: "dbr: arrays and alignment (caget_T_short_dbr29, odd offsets copy)",
  ...none,
  fn() {
    const hex = "00000000000000000000000000000000000000000000000000000000ffff0002fffd0004";
    const d = decodeDbr(Dbr.CTRL_SHORT, 4, fromHex(hex));
    assert.deepEqual([...d.value as Int16Array], [-1, 2, -3, 4]);
    // A payload at an odd byte offset still decodes.
    const buf = new Uint8Array(1 + 16);
    buf.set(fromHex("3ff8000000000000c004000000000000"), 1);
    assert.deepEqual([...decodeDbr(Dbr.DOUBLE, 2, buf.subarray(1)).value as Float64Array], [
      1.5,
      -2.5,
    ]);
    assert.throws(() => decodeDbr(Dbr.DOUBLE, 3, buf.subarray(1)), RemoteProtocolError);
    // count 0: metadata only.
    const z = decodeDbr(Dbr.TIME_LONG, 0, new Uint8Array(16));
    assert.equal(z.value.length, 0);
  },
});

Deno.test({
  name: "dbr: special types PUT_ACKT/ACKS, STSACK_STRING, CLASS_NAME",
  ...none,
  fn() {
    const ackt = decodeDbr(Dbr.PUT_ACKT, 1, fromHex("0001000000000000"));
    assert.ok(ackt.value instanceof Uint16Array);
    assert.equal(ackt.value[0], 1);
    assert.equal(
      enc(Dbr.PUT_ACKS, 1, { value: new Uint16Array([2]), meta: { status: 0, severity: 0 } }),
      "0002",
    );
    const stsack = enc(Dbr.STSACK_STRING, 1, {
      value: ["HIGH"],
      meta: { status: 4, severity: 1, ackt: 1, acks: 2 },
    });
    assert.equal(stsack.slice(0, 24), "0004000100010002" + "48494748");
    const d = decodeDbr(Dbr.STSACK_STRING, 1, fromHex(stsack));
    assert.deepEqual(d.meta, { status: 4, severity: 1, ackt: 1, acks: 2 });
    assert.deepEqual(d.value, ["HIGH"]);
    assert.deepEqual(
      decodeDbr(
        Dbr.CLASS_NAME,
        1,
        fromHex(enc(Dbr.CLASS_NAME, 1, { value: ["ai"], meta: { status: 0, severity: 0 } })),
      ).value,
      ["ai"],
    );
  },
});

Deno.test({
  name: "dbr: every type round-trips values and metadata",
  ...none,
  fn() {
    for (const row of DBR_TYPES) {
      const count = 3;
      const value = row.valueType === 0 ? ["a", "bb", "ccc"] : new Float64Array([1, 2, 3]);
      const meta = {
        status: 3,
        severity: 2,
        stamp: { secPastEpoch: 123, nsec: 456 },
        units: "V",
        precision: 4,
        upperDispLimit: 9,
        lowerDispLimit: 1,
        upperAlarmLimit: 8,
        upperWarningLimit: 7,
        lowerWarningLimit: 3,
        lowerAlarmLimit: 2,
        upperCtrlLimit: 6,
        lowerCtrlLimit: 4,
        enumStrings: ["x", "y"],
        ackt: 1,
        acks: 2,
      };
      const bytes = fromHex(enc(row.id, count, { value, meta }));
      assert.equal(bytes.length, dbrPayloadSize(row.id, count), row.name);
      const d = decodeDbr(row.id, count, bytes);
      assert.deepEqual(
        Array.from(d.value as ArrayLike<unknown>, String),
        [...value].map(String),
        row.name,
      );
      for (const f of row.layout) {
        if (f.kind === "pad") continue;
        if (f.kind === "limit") {
          assert.equal(d.meta[f.name!], meta[f.name! as keyof typeof meta], row.name);
        }
      }
      if (row.family !== "plain" && row.id !== 35 && row.id !== 36 && row.id !== 38) {
        assert.equal(d.meta.status, 3, row.name);
        assert.equal(d.meta.severity, 2, row.name);
      }
      if (row.family === "time") assert.deepEqual(d.meta.stamp, meta.stamp);
    }
  },
});

Deno.test({
  name: "dbr: a single number decodes as the first element of the same bytes as an array",
  permissions: "none",
  fn() {
    // The count-1 shortcut of decodeDbr against its general path (count 2), for the plain,
    // STS and TIME numeric types over byte patterns with signs, NaNs and large integers.
    const patterns = [0x00, 0x7f, 0x80, 0xff, 0x3c, 0xc1];
    for (let type = 0; type <= 20; type++) {
      const row = dbrInfo(type);
      if (row.valueType === 0) continue;
      for (const b of patterns) {
        const payload = new Uint8Array(row.metaSize + 2 * row.elemSize);
        for (let i = 0; i < payload.length; i++) payload[i] = (b + i * 37) & 0xff;
        const one = decodeDbr(type, 1, payload);
        const two = decodeDbr(type, 2, payload);
        assert.deepEqual(one.meta, two.meta, `${row.name} meta, pattern ${b}`);
        assert.equal(one.value.length, 1);
        assert.equal(one.value.constructor, two.value.constructor);
        assert.ok(Object.is(one.value[0], two.value[0]), `${row.name} value, pattern ${b}`);
      }
    }
  },
});

Deno.test({
  name: "dbr: 16-bit arrays of any length and payload offset decode to the big-endian values",
  ...none,
  fn() {
    for (const [type, signed] of [[Dbr.SHORT, true], [Dbr.ENUM, false], [Dbr.TIME_SHORT, true]]) {
      const meta = dbrInfo(type as number).metaSize;
      for (const count of [1, 2, 15, 16, 17, 1000, 1001]) {
        for (const shift of [0, 1, 2]) {
          // The payload sits `shift` bytes into a larger buffer, as in a framer's block.
          const buf = new Uint8Array(shift + meta + 2 * count + 3);
          const dv = new DataView(buf.buffer);
          const want: number[] = [];
          for (let i = 0; i < count; i++) {
            const v = ((i * 2654435761) >>> 0) & 0xffff;
            dv.setUint16(shift + meta + 2 * i, v);
            want.push(signed && v >= 0x8000 ? v - 0x10000 : v);
          }
          const payload = buf.subarray(shift, shift + meta + 2 * count);
          const { value } = decodeDbr(type as number, count, payload);
          assert.ok(value instanceof (signed ? Int16Array : Uint16Array));
          assert.deepEqual([...(value as Int16Array)], want, `type ${type} x${count} +${shift}`);
          // The decoded array is the caller's own: the payload is not aliased.
          buf.fill(0);
          assert.deepEqual([...(value as Int16Array)], want);
        }
      }
    }
  },
});
