/**
 * PVA Size and String encodings.
 *
 * ```text
 * Size:   0x00..0xFD          the size itself (0..253)
 *         0xFE u32            254 .. 2^31-1, in the message byte order
 *         0xFF                null (an empty string, or "no member" as a union selector)
 * String: Size byteCount | UTF-8 bytes (no NUL)
 * ```
 * @module
 */

import { type ByteReader, type ByteWriter, utf8Decode, utf8Encode } from "../../core/bytes.ts";
import { LocalProtocolError, RemoteProtocolError } from "../../core/errors.ts";

/** The largest size the 0xFE form carries (pvxs and pvDataCPP stop at 2^31-1). */
export const MAX_SIZE = 0x7fffffff;

/**
 * Writes a Size; `null` writes the one-byte null marker 0xFF.
 * @param w the writer (its byte order is used for the 32-bit form)
 * @param size 0 .. 2^31-1, or null
 * @throws {LocalProtocolError} when the size is negative, fractional or too large
 * @example
 * ```ts
 * import { ByteWriter, toHex } from "../../core/bytes.ts";
 * import { encodeSize } from "./mod.ts";
 * const w = new ByteWriter(16, true);
 * encodeSize(w, 5); // below 254: one byte
 * encodeSize(w, 1000); // 0xFE, then a u32 in the writer's byte order
 * encodeSize(w, null); // 0xFF
 * if (toHex(w.toBytes()) !== "05" + "fee8030000" + "ff") throw new Error();
 * ```
 */
export function encodeSize(w: ByteWriter, size: number | null): void {
  if (size === null) {
    w.u8(0xff);
  } else if (!Number.isInteger(size) || size < 0 || size > MAX_SIZE) {
    throw new LocalProtocolError(`Cannot encode size ${size}: outside 0..${MAX_SIZE}`);
  } else if (size < 254) {
    w.u8(size);
  } else {
    w.u8(0xfe);
    w.u32(size);
  }
}

/**
 * Reads a Size.
 * @param r the reader
 * @returns the size, or null for the 0xFF marker
 * @throws {RemoteProtocolError} when the bytes run out or the 32-bit form is negative
 */
export function decodeSize(r: ByteReader): number | null {
  const b = r.u8();
  if (b < 254) return b;
  if (b === 0xff) return null;
  const at = r.offset;
  const n = r.u32();
  // pvAccessCPP refuses negative sizes; nothing legitimate exceeds 2^31-1.
  if (n > MAX_SIZE) {
    throw new RemoteProtocolError(`Cannot decode size ${n}: negative`, { offset: at });
  }
  return n;
}

/**
 * Reads a Size where null is not allowed (array counts, member counts).
 * @throws {RemoteProtocolError} on a null size
 */
export function decodeCount(r: ByteReader): number {
  const at = r.offset;
  const n = decodeSize(r);
  if (n === null) {
    throw new RemoteProtocolError("Cannot decode count: got null size", { offset: at });
  }
  return n;
}

/** The number of bytes {@link encodeSize} writes for `size`. */
export function sizeLength(size: number | null): number {
  return size === null || size < 254 ? 1 : 5;
}

/**
 * Writes a String: Size byte count, then UTF-8 bytes.
 * @param w the writer
 * @param text the text
 * @example
 * ```ts
 * import { ByteReader, ByteWriter, toHex } from "../../core/bytes.ts";
 * import { decodeString, encodeString } from "./mod.ts";
 * const w = new ByteWriter();
 * encodeString(w, "T:ai");
 * if (toHex(w.toBytes()) !== "04543a6169") throw new Error();
 * if (decodeString(new ByteReader(w.toBytes())) !== "T:ai") throw new Error();
 * ```
 */
export function encodeString(w: ByteWriter, text: string): void {
  if (text.length === 0) {
    w.u8(0);
    return;
  }
  let ascii = text.length < 254;
  if (ascii) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
  }
  if (ascii) {
    // Fast path: one byte per character, no TextEncoder allocation.
    w.ensure(text.length + 1);
    const buf = w.buffer;
    buf[w.length++] = text.length;
    for (let i = 0; i < text.length; i++) buf[w.length++] = text.charCodeAt(i);
    return;
  }
  const b = utf8Encode(text);
  encodeSize(w, b.length);
  w.bytes(b);
}

/**
 * Reads a String; a null size (0xFF) reads as "" (the pvAccessJava habit).
 * @param r the reader
 * @returns the text
 */
export function decodeString(r: ByteReader): string {
  const n = decodeSize(r);
  if (n === null || n === 0) return "";
  return utf8Decode(r.bytesView(n));
}

/** Writes a string array: Size count, then each String. */
export function encodeStringArray(w: ByteWriter, items: readonly string[]): void {
  encodeSize(w, items.length);
  for (const s of items) encodeString(w, s);
}

/** Reads a string array: Size count, then each String. */
export function decodeStringArray(r: ByteReader): string[] {
  const n = decodeCount(r);
  // Each String takes at least one byte: refuse counts the buffer cannot hold.
  r.need(n);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = decodeString(r);
  return out;
}
