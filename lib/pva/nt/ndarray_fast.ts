/**
 * A direct encoder for the common NTNDArray monitor update: every top-level field that a
 * value change touches (value, codec, sizes, uniqueId, both timestamps, alarm,
 * dimension, attribute) sent whole, little-endian. It writes the bytes straight from the
 * PV snapshot instead of filling a PvValue tree and walking it; the codec, dimension and
 * attribute parts are encoded by the generic encoder once and replayed while the
 * snapshot carries the same arrays (compared by identity). The bytes are the same as the
 * generic path's (tests compare them). Anything else (other selections, big-endian
 * peers) goes the generic way.
 *
 * ```text
 * union value: Size selector, Size count, count × element bytes
 * codec_t codec: String name, any parameters
 * long compressedSize | long uncompressedSize | int uniqueId
 * time_t dataTimeStamp: long secondsPastEpoch | int nanoseconds | int userTag
 * alarm_t alarm: int severity | int status | String message
 * time_t timeStamp | dimension_t[] dimension | NTAttribute[] attribute
 * ```
 * @module
 */

import type { ByteWriter } from "../../core/bytes.ts";
import { ByteWriter as Writer } from "../../core/bytes.ts";
import type { NumericArray, PvSnapshot } from "../../pv/types.ts";
import { bitOf, BitSet, encodeValueBits, type FieldDesc } from "../proto/mod.ts";
import { alarmBytes, HOST_LITTLE_ENDIAN, marksExactly, put, putCount, putTime } from "./_fast.ts";
import { ND_VALUE_MEMBERS, ndValueMember } from "./ndarray.ts";
import type { NtSnapshotWriter } from "./pv_map.ts";

export { HOST_LITTLE_ENDIAN };

/** Fields of a value update, in type order. */
const UPDATE_FIELDS = [
  "value",
  "codec",
  "compressedSize",
  "uncompressedSize",
  "uniqueId",
  "dataTimeStamp",
  "alarm",
  "timeStamp",
  "dimension",
  "attribute",
] as const;

const selectorOf = new Map<string, number>(ND_VALUE_MEMBERS.map(([n], i) => [n, i]));

/**
 * Whether a changed BitSet is the one the fast path encodes: exactly the top-level
 * update fields of an NTNDArray type, each whole (or marked by all its leaves).
 * @param type the NTNDArray type
 * @param bits the bits an update sends
 */
export function isNdArrayValueUpdate(type: FieldDesc, bits: BitSet): boolean {
  if (!HOST_LITTLE_ENDIAN) return false;
  const top = new BitSet();
  for (const f of UPDATE_FIELDS) {
    const b = bitOf(type, f);
    if (b < 0) return false;
    top.set(b);
  }
  return marksExactly(type, bits, top);
}

/** Encodes NTNDArray value updates of one channel straight from snapshots. */
export class NdArrayUpdateEncoder {
  readonly #writer: NtSnapshotWriter;
  readonly #codecBits: BitSet;
  readonly #tailBits: BitSet;
  #codec: Uint8Array | undefined;
  #tail: Uint8Array | undefined;
  #tailDims: unknown;
  #tailAttrs: unknown;
  #alarmSrc: PvSnapshot["alarm"] | undefined;
  /** The alarm's bytes (severity, status, message) for #alarmSrc. */
  #alarm: Uint8Array = new Uint8Array(0);
  #arrayType: unknown;
  #selector = 0;

  /**
   * Binds the encoder to a channel's snapshot writer (used for the cached parts).
   * @param writer the channel's NtSnapshotWriter (of an NTNDArray PV)
   */
  constructor(writer: NtSnapshotWriter) {
    this.#writer = writer;
    const t = writer.type;
    this.#codecBits = BitSet.of(bitOf(t, "codec"));
    this.#tailBits = BitSet.of(bitOf(t, "dimension"), bitOf(t, "attribute"));
  }

  /**
   * Writes the fields of one update (the data after the changed BitSet).
   * @param w a little-endian writer
   * @param snap the PV's snapshot (an N-d array PV)
   */
  encode(w: ByteWriter, snap: PvSnapshot): void {
    const nd = snap.ndarray;
    const dims = nd?.dimension;
    const attrs = nd?.attributes;
    if (!this.#codec || !this.#tail || dims !== this.#tailDims || attrs !== this.#tailAttrs) {
      // Rare: the generic encoder writes the parts that are kept.
      const v = this.#writer.write(snap);
      const tmp = new Writer(64, true);
      encodeValueBits(tmp, v, this.#codecBits);
      this.#codec = shared(tmp.toBytes());
      tmp.reset();
      encodeValueBits(tmp, v, this.#tailBits);
      this.#tail = shared(tmp.toBytes());
      this.#tailDims = dims;
      this.#tailAttrs = attrs;
    }
    const a = snap.value as NumericArray;
    if (a.constructor !== this.#arrayType) {
      this.#arrayType = a.constructor;
      this.#selector = selectorOf.get(ndValueMember(a))!;
    }
    if (snap.alarm !== this.#alarmSrc) {
      this.#alarmSrc = snap.alarm;
      this.#alarm = shared(alarmBytes(snap.alarm));
    }
    const n = a.length;
    const bytes = a.byteLength;
    const codec = this.#codec!, alarm = this.#alarm, tail = this.#tail!;
    // Everything in one go: selector, count, pixels, codec, the two sizes, uniqueId,
    // dataTimeStamp, alarm, timeStamp and the kept dimension/attribute bytes.
    w.ensure(1 + 5 + bytes + codec.length + 20 + 16 + alarm.length + 16 + tail.length);
    const buf = w.buffer;
    const dv = w.dataView;
    let o = w.length;
    buf[o++] = this.#selector; // (fewer than 254 union members)
    o = putCount(buf, dv, o, n);
    buf.set(new Uint8Array(a.buffer, a.byteOffset, bytes), o);
    o += bytes;
    o = put(buf, o, codec);
    const lo = bytes >>> 0, hi = Math.floor(bytes / 4294967296);
    dv.setUint32(o, lo, true);
    dv.setUint32(o + 4, hi, true);
    dv.setUint32(o + 8, lo, true);
    dv.setUint32(o + 12, hi, true);
    dv.setInt32(o + 16, nd?.uniqueId ?? 0, true);
    o = putTime(dv, o + 20, nd?.dataTimeStamp ?? snap.timeStamp);
    o = put(buf, o, alarm);
    o = putTime(dv, o, snap.timeStamp);
    w.length = put(buf, o, tail);
  }
}

/**
 * Encoded parts (codec, alarm, dimension/attribute bytes) by content: encoders of many
 * channels with equal parts (10,000 rows of one image) use one array, which stays in
 * cache, instead of one each met once per frame. Small parts only; bounded.
 */
const sharedParts = new Map<string, Uint8Array>();

function shared(b: Uint8Array): Uint8Array {
  if (b.length > 512) return b;
  const key = String.fromCharCode(...b);
  const have = sharedParts.get(key);
  if (have) return have;
  if (sharedParts.size >= 4096) sharedParts.clear();
  sharedParts.set(key, b);
  return b;
}
