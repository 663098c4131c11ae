/**
 * Pieces shared by the direct update encoders (scalar_fast.ts, ndarray_fast.ts): which
 * changed BitSets they accept, the cached alarm bytes, and the little-endian writes of
 * the parts every update carries.
 * @module
 */

import { ByteWriter as Writer } from "../../core/bytes.ts";
import { POSIX_TIME_AT_EPICS_EPOCH } from "../../core/time.ts";
import type { PvSnapshot } from "../../pv/types.ts";
import { type BitSet, encodeString, type FieldDesc } from "../proto/mod.ts";
import { alarmContent } from "./common.ts";
import { leafBits } from "./pv_map.ts";

/** Typed arrays are viewed as bytes in the host's order: the fast paths need it little-endian. */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Whether `bits` marks exactly the fields `top`, each whole or by all its leaves (as
 * QSRV does): both serialise the same.
 */
export function marksExactly(type: FieldDesc, bits: BitSet, top: BitSet): boolean {
  return bits.equals(top) || bits.equals(leafBits(type, top));
}

/** The alarm's bytes as an update carries them: int severity | int status | String message. */
export function alarmBytes(alarm: PvSnapshot["alarm"], layout?: "qsrv"): Uint8Array {
  const c = alarmContent(alarm, layout);
  const tmp = new Writer(16, true);
  tmp.i32(c.severity).i32(c.status);
  encodeString(tmp, c.message);
  return tmp.toBytes();
}

/** Copies small `b` into `buf` at `o`; returns the offset after it. */
export function put(buf: Uint8Array, o: number, b: Uint8Array): number {
  const n = b.length;
  if (n <= 32) { for (let i = 0; i < n; i++) buf[o + i] = b[i]; }
  else buf.set(b, o);
  return o + n;
}

/** Writes an array's Size count at `o` (room for 5 bytes); returns the offset after it. */
export function putCount(buf: Uint8Array, dv: DataView, o: number, n: number): number {
  if (n < 254) {
    buf[o] = n;
    return o + 1;
  }
  buf[o] = 254;
  dv.setUint32(o + 1, n, true);
  return o + 5;
}

/** Writes a time_t (seconds u64, nanoseconds, userTag 0) at `o`; returns the offset after it. */
export function putTime(
  dv: DataView,
  o: number,
  ts: { secPastEpoch: number; nsec: number },
): number {
  const sec = ts.secPastEpoch + POSIX_TIME_AT_EPICS_EPOCH;
  dv.setUint32(o, sec >>> 0, true);
  dv.setUint32(o + 4, Math.floor(sec / 4294967296), true);
  dv.setInt32(o + 8, ts.nsec, true);
  dv.setInt32(o + 12, 0, true);
  return o + 16;
}
