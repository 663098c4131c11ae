/**
 * A direct encoder for the most common monitor update of all: an NTScalar or
 * NTScalarArray of numbers whose value changed, which sends `value`, `alarm` and
 * `timeStamp` whole (as QSRV does), little-endian. It writes the bytes straight from the
 * PV snapshot: an array's elements are copied as one block from the typed array, the
 * alarm's bytes are kept while the snapshot carries the same alarm object. The bytes are
 * the generic path's (tests compare them); anything else (other selections, big-endian
 * peers, strings, booleans, 64-bit scalars, a value of an unexpected JS type) goes the
 * generic way.
 *
 * ```text
 * value: the element (scalar) | Size count, count × element bytes (array)
 * alarm_t alarm: int severity | int status | String message
 * time_t timeStamp: long secondsPastEpoch | int nanoseconds | int userTag
 * ```
 * @module
 */

import type { ByteWriter } from "../../core/bytes.ts";
import { NUMERIC_ARRAYS } from "../../pv/coerce.ts";
import type { PvSnapshot, PvTypeInfo, ScalarType } from "../../pv/types.ts";
import { bitOf, BitSet, type FieldDesc } from "../proto/mod.ts";
import { alarmBytes, HOST_LITTLE_ENDIAN, marksExactly, put, putCount, putTime } from "./_fast.ts";

/** Bytes of a scalar element the fast path writes (no 64-bit integers: numbers). */
const SCALAR_BYTES: Partial<Record<ScalarType, number>> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
};

/**
 * Whether updates of a PV with changed bits `bits` take the fast path: a plain numeric
 * scalar or array PV (not NTNDArray, enum or table), and exactly `value`, `alarm` and
 * `timeStamp` changed, each whole (or marked by all its leaves).
 * @param pvType the PV's type
 * @param type its NT type (ntTypeForPv)
 * @param bits the bits an update sends
 */
export function isScalarValueUpdate(pvType: PvTypeInfo, type: FieldDesc, bits: BitSet): boolean {
  if (!HOST_LITTLE_ENDIAN || pvType.nt !== undefined) return false;
  if (pvType.kind === "scalar" ? !SCALAR_BYTES[pvType.scalar] : pvType.kind !== "array") {
    return false;
  }
  if (!NUMERIC_ARRAYS[pvType.scalar]) return false;
  const v = bitOf(type, "value"), a = bitOf(type, "alarm"), t = bitOf(type, "timeStamp");
  // The layout below: value, then alarm, then timeStamp (ntScalarType's order).
  if (!(v > 0 && v < a && a < t)) return false;
  const top = BitSet.of(v, a, t);
  return marksExactly(type, bits, top);
}

/** Encodes value updates of one numeric NTScalar/NTScalarArray PV straight from snapshots. */
export class ScalarUpdateEncoder {
  readonly #scalar: ScalarType;
  readonly #array: boolean;
  readonly #arrayType: unknown;
  readonly #layout: PvTypeInfo["layout"];
  #alarmSrc: PvSnapshot["alarm"] | undefined;
  /** The alarm's bytes (severity, status, message) for #alarmSrc. */
  #alarm: Uint8Array = new Uint8Array(0);

  /**
   * An encoder for one PV type (one that {@link isScalarValueUpdate} accepts).
   * @param pvType the PV's type
   */
  constructor(pvType: PvTypeInfo) {
    this.#scalar = pvType.scalar;
    this.#array = pvType.kind === "array";
    this.#arrayType = NUMERIC_ARRAYS[pvType.scalar];
    this.#layout = pvType.layout;
  }

  /**
   * Writes the fields of one update (the data after the changed BitSet), unless the
   * snapshot's value is not what the fast path expects (another JS type).
   * @param w a little-endian writer
   * @param snap the PV's snapshot
   * @returns false when nothing was written (the caller encodes the generic way)
   */
  encode(w: ByteWriter, snap: PvSnapshot): boolean {
    const value = snap.value;
    let bytes: number;
    let n = 0;
    if (this.#array) {
      if ((value as object)?.constructor !== this.#arrayType) return false;
      bytes = (value as Uint8Array).byteLength;
      n = (value as Uint8Array).length;
    } else {
      if (typeof value !== "number") return false;
      bytes = SCALAR_BYTES[this.#scalar]!;
    }
    if (snap.alarm !== this.#alarmSrc) {
      this.#alarmSrc = snap.alarm;
      this.#alarm = alarmBytes(snap.alarm, this.#layout);
    }
    const alarm = this.#alarm;
    w.ensure(5 + bytes + alarm.length + 16);
    const buf = w.buffer;
    const dv = w.dataView;
    let o = w.length;
    if (this.#array) {
      o = putCount(buf, dv, o, n);
      const a = value as Uint8Array;
      buf.set(new Uint8Array(a.buffer, a.byteOffset, bytes), o);
      o += bytes;
    } else {
      o = putScalar(dv, o, this.#scalar, value as number);
    }
    o = put(buf, o, alarm);
    w.length = putTime(dv, o, snap.timeStamp);
    return true;
  }
}

/** Writes one element at `o` as the generic encoder does; returns the offset after it. */
function putScalar(dv: DataView, o: number, t: ScalarType, x: number): number {
  switch (t) {
    case "int8":
      dv.setInt8(o, x);
      return o + 1;
    case "uint8":
      dv.setUint8(o, x);
      return o + 1;
    case "int16":
      dv.setInt16(o, x, true);
      return o + 2;
    case "uint16":
      dv.setUint16(o, x, true);
      return o + 2;
    case "int32":
      dv.setInt32(o, x, true);
      return o + 4;
    case "uint32":
      dv.setUint32(o, x, true);
      return o + 4;
    case "float32":
      dv.setFloat32(o, x, true);
      return o + 4;
    default:
      dv.setFloat64(o, x, true);
      return o + 8;
  }
}
