/**
 * libCom's epicsMemHash over the bytes of an array field, as the waveform, aai and aao
 * records compute HASH when MPST or APST is "On Change". Pure.
 * @module
 */

const encoder = new TextEncoder();

/**
 * The bytes base hashes: `count` elements of the field's buffer as they sit in memory
 * (little-endian numbers; strings as 40-byte NUL-padded slots).
 * @param value the array (a typed array or strings)
 * @param count how many elements (NORD)
 * @returns the bytes
 */
export function arrayBytes(value: ArrayLike<unknown>, count: number): Uint8Array {
  if (ArrayBuffer.isView(value)) {
    const t = value as unknown as Uint8Array;
    const n = Math.min(count, t.length) * t.BYTES_PER_ELEMENT;
    return new Uint8Array(t.buffer, t.byteOffset, n);
  }
  const out = new Uint8Array(Math.min(count, value.length) * 40);
  for (let i = 0; i * 40 < out.length; i++) {
    out.set(encoder.encode(String(value[i] ?? "")).subarray(0, 39), i * 40);
  }
  return out;
}

/**
 * epicsMemHash(bytes, length, 0): two alternating mixing steps per byte; bytes are C chars,
 * signed on x86-64 (0x80 and up mix in sign-extended).
 * @param bytes the bytes
 * @returns the 32-bit hash
 * @example
 * ```ts
 * import { memHash } from "./_mem_hash.ts";
 * if (memHash(new Uint8Array(0)) !== 0) throw new Error();
 * ```
 */
export function memHash(bytes: Uint8Array): number {
  let hash = 0;
  let i = 0;
  while (i < bytes.length) {
    const a = (bytes[i++] << 24) >> 24;
    hash = (hash ^ ~((hash << 11) ^ a ^ (hash >>> 5))) >>> 0;
    if (i >= bytes.length) break;
    const b = (bytes[i++] << 24) >> 24;
    hash = (hash ^ ((hash << 7) ^ b ^ (hash >>> 3))) >>> 0;
  }
  return hash;
}
