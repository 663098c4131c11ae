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
import { POSIX_TIME_AT_EPICS_EPOCH } from "../../core/time.ts";
import type { NumericArray, PvSnapshot } from "../../pv/types.ts";
import {
  bitOf,
  BitSet,
  encodeSize,
  encodeString,
  encodeValueBits,
  type FieldDesc,
} from "../proto/mod.ts";
import { alarmContent } from "./common.ts";
import { ND_VALUE_MEMBERS, ndValueMember } from "./ndarray.ts";
import { leafBits, type NtSnapshotWriter } from "./pv_map.ts";

/** Typed arrays are viewed as bytes in the host's order: the fast path needs it little-endian. */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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
  // Structures marked whole or by their leaves (as QSRV does) serialise the same.
  return sameBits(bits, top) || sameBits(bits, leafBits(type, top));
}

function sameBits(a: BitSet, b: BitSet): boolean {
  let i = a.nextSetBit(0), j = b.nextSetBit(0);
  while (i >= 0 && i === j) {
    i = a.nextSetBit(i + 1);
    j = b.nextSetBit(j + 1);
  }
  return i < 0 && j < 0;
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
  #alarm = { severity: 0, status: 0, message: "" };

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
      this.#codec = tmp.toBytes();
      tmp.reset();
      encodeValueBits(tmp, v, this.#tailBits);
      this.#tail = tmp.toBytes();
      this.#tailDims = dims;
      this.#tailAttrs = attrs;
    }
    const a = snap.value as NumericArray;
    encodeSize(w, selectorOf.get(ndValueMember(a))!);
    encodeSize(w, a.length);
    w.bytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    w.bytes(this.#codec);
    const bytes = a.byteLength;
    w.u32(bytes >>> 0).u32(Math.floor(bytes / 4294967296));
    w.u32(bytes >>> 0).u32(Math.floor(bytes / 4294967296));
    w.i32(nd?.uniqueId ?? 0);
    writeTime(w, nd?.dataTimeStamp ?? snap.timeStamp);
    if (snap.alarm !== this.#alarmSrc) {
      this.#alarmSrc = snap.alarm;
      this.#alarm = alarmContent(snap.alarm);
    }
    w.i32(this.#alarm.severity).i32(this.#alarm.status);
    encodeString(w, this.#alarm.message);
    writeTime(w, snap.timeStamp);
    w.bytes(this.#tail);
  }
}

function writeTime(w: ByteWriter, ts: { secPastEpoch: number; nsec: number }): void {
  const sec = ts.secPastEpoch + POSIX_TIME_AT_EPICS_EPOCH;
  w.u32(sec >>> 0).u32(Math.floor(sec / 4294967296)).i32(ts.nsec).i32(0);
}
