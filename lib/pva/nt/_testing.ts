/**
 * Helpers of the fast-encoder tests (scalar_fast_test.ts, ndarray_fast_test.ts): the
 * bits a server sends for a change, and the generic encoder's bytes to compare with.
 * @module
 */

import { ByteWriter } from "../../core/bytes.ts";
import type { PvSnapshot } from "../../pv/types.ts";
import { type BitSet, buildRequest, encodeValueBits, requestMask } from "../proto/mod.ts";
import { leafBits, type NtSnapshotWriter, selectBits } from "./pv_map.ts";

/** The bits the server sends for a change, with the whole-record selection by default. */
export function serverBits(
  w: NtSnapshotWriter,
  changes: number,
  request: string | null = null,
): BitSet {
  const type = w.type;
  const mask = requestMask(request === null ? null : buildRequest(request), type);
  return leafBits(type, selectBits(type, w.changeBits(changes), mask));
}

/** The generic encoder's bytes of the fields `bits` marks in a snapshot (little-endian). */
export function genericBytes(w: NtSnapshotWriter, snap: PvSnapshot, bits: BitSet): Uint8Array {
  const out = new ByteWriter(64, true);
  encodeValueBits(out, w.write(snap), bits);
  return out.toBytes();
}

/** The bytes a fast encoder writes for a snapshot (little-endian). */
export function fastBytes(encode: (w: ByteWriter) => unknown): Uint8Array {
  const out = new ByteWriter(64, true);
  encode(out);
  return out.toBytes();
}
