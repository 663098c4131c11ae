/**
 * The PVA BitSet: which fields of a structure a message carries.
 *
 * ```text
 * Size nBytes | floor(nBytes/8) x u64 word (message byte order) | nBytes%8 tail bytes
 * bit i lives in word i>>6 at position i&63; tail bytes hold the next bits LSB-first
 * ```
 *
 * Little-endian messages therefore carry a plain LSB-first byte string; in big-endian
 * messages every complete 8-byte group is byte-reversed while the tail is not.
 * @module
 */

import type { ByteReader, ByteWriter } from "../../core/bytes.ts";
import { decodeCount, encodeSize } from "./size_string.ts";

/**
 * A growable set of non-negative integers stored as 32-bit words.
 * @example
 * ```ts
 * import { BitSet } from "./mod.ts";
 * const b = BitSet.of(1, 3).set(40);
 * if (!b.get(3) || b.get(2) || b.cardinality !== 3 || b.length !== 41) throw new Error();
 * ```
 */
export class BitSet {
  #words: number[] = [];

  /**
   * Builds a set holding the given bits.
   * @param bits bit numbers
   */
  static of(...bits: number[]): BitSet {
    const s = new BitSet();
    for (const b of bits) s.set(b);
    return s;
  }

  /** Sets bit `i`. */
  set(i: number): this {
    const w = i >>> 5;
    while (this.#words.length <= w) this.#words.push(0);
    this.#words[w] |= 1 << (i & 31);
    return this;
  }

  /** Sets bits `from` (inclusive) to `to` (exclusive). */
  setRange(from: number, to: number): this {
    for (let i = from; i < to; i++) this.set(i);
    return this;
  }

  /** Clears bit `i`. */
  clear(i: number): this {
    const w = i >>> 5;
    if (w < this.#words.length) this.#words[w] &= ~(1 << (i & 31));
    return this;
  }

  /** Clears every bit. */
  clearAll(): this {
    this.#words.length = 0;
    return this;
  }

  /** Whether bit `i` is set. */
  get(i: number): boolean {
    const w = i >>> 5;
    return w < this.#words.length && (this.#words[w] & (1 << (i & 31))) !== 0;
  }

  /** Whether no bit is set. */
  get isEmpty(): boolean {
    return this.#words.every((w) => w === 0);
  }

  /** Number of set bits. */
  get cardinality(): number {
    let n = 0;
    for (let w of this.#words) {
      while (w !== 0) {
        w &= w - 1;
        n++;
      }
    }
    return n;
  }

  /** One more than the highest set bit (0 when empty). */
  get length(): number {
    for (let w = this.#words.length - 1; w >= 0; w--) {
      const v = this.#words[w];
      if (v !== 0) return w * 32 + 32 - Math.clz32(v);
    }
    return 0;
  }

  /**
   * The first set bit at or after `from`, or -1.
   * @param from where to start looking
   */
  nextSetBit(from: number): number {
    if (from < 0) from = 0;
    let w = from >>> 5;
    if (w >= this.#words.length) return -1;
    let v = this.#words[w] & (~0 << (from & 31));
    for (;;) {
      if (v !== 0) return w * 32 + 31 - Math.clz32(v & -v);
      if (++w >= this.#words.length) return -1;
      v = this.#words[w];
    }
  }

  /** Adds every bit of `other`. */
  or(other: BitSet): this {
    other.forEach((i) => this.set(i));
    return this;
  }

  /** Keeps only bits also in `other`. */
  and(other: BitSet): this {
    for (let i = this.nextSetBit(0); i >= 0; i = this.nextSetBit(i + 1)) {
      if (!other.get(i)) this.clear(i);
    }
    return this;
  }

  /** Clears every bit at or above `n`. */
  truncate(n: number): this {
    for (let i = this.nextSetBit(n); i >= 0; i = this.nextSetBit(i + 1)) this.clear(i);
    return this;
  }

  /** Calls `fn` for each set bit in increasing order. */
  forEach(fn: (bit: number) => void): void {
    for (let i = this.nextSetBit(0); i >= 0; i = this.nextSetBit(i + 1)) fn(i);
  }

  /** The set bits in increasing order. */
  toArray(): number[] {
    const out: number[] = [];
    this.forEach((i) => out.push(i));
    return out;
  }

  /** An independent copy. */
  clone(): BitSet {
    const c = new BitSet();
    c.#words = this.#words.slice();
    return c;
  }

  /** Whether both sets hold the same bits. */
  equals(other: BitSet): boolean {
    const a = this.#words, b = other.#words;
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return false;
    return true;
  }

  /** The set as LSB-first bytes, trailing zero bytes trimmed. */
  toBytes(): Uint8Array {
    const out = new Uint8Array((this.length + 7) >>> 3);
    for (let i = 0; i < out.length; i++) out[i] = (this.#words[i >>> 2] >>> ((i & 3) * 8)) & 0xff;
    return out;
  }

  /**
   * Builds a set from LSB-first bytes.
   * @param bytes bit 0 is the low bit of byte 0
   */
  static fromBytes(bytes: Uint8Array): BitSet {
    const s = new BitSet();
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0) continue;
      const w = i >>> 2;
      while (s.#words.length <= w) s.#words.push(0);
      s.#words[w] |= b << ((i & 3) * 8);
    }
    return s;
  }

  /** Formats as `{1, 7, 8}`. */
  toString(): string {
    return `{${this.toArray().join(", ")}}`;
  }
}

/**
 * Writes a BitSet (trimmed of trailing zero bytes; the empty set is one 0x00 byte).
 * @param w the writer; its byte order decides the order of the full 64-bit words
 * @param bits the set
 * @example
 * ```ts
 * import { ByteWriter, toHex } from "../../core/bytes.ts";
 * import { BitSet, encodeBitSet } from "./mod.ts";
 * const w = new ByteWriter(16, true);
 * encodeBitSet(w, BitSet.of(0, 9)); // Size 2, then bits 0..7 and 8..15, least significant first
 * if (toHex(w.toBytes()) !== "020102") throw new Error();
 * ```
 */
export function encodeBitSet(w: ByteWriter, bits: BitSet): void {
  const b = bits.toBytes();
  encodeSize(w, b.length);
  const full = b.length & ~7;
  if (w.littleEndian) {
    w.bytes(b);
    return;
  }
  w.ensure(b.length);
  const buf = w.buffer;
  for (let g = 0; g < full; g += 8) {
    for (let k = 0; k < 8; k++) buf[w.length + g + k] = b[g + 7 - k];
  }
  buf.set(b.subarray(full), w.length + full);
  w.length += b.length;
}

/**
 * Reads a BitSet.
 * @param r the reader; its byte order decides the order of the full 64-bit words
 * @returns the set
 * @example
 * ```ts
 * import { ByteReader, fromHex } from "../../core/bytes.ts";
 * import { decodeBitSet } from "./mod.ts";
 * const bits = decodeBitSet(new ByteReader(fromHex("020102"), 0, true));
 * if (bits.toString() !== "{0, 9}") throw new Error(bits.toString());
 * ```
 */
export function decodeBitSet(r: ByteReader): BitSet {
  const n = decodeCount(r);
  const raw = r.bytesView(n);
  if (r.littleEndian) return BitSet.fromBytes(raw);
  const b = raw.slice();
  const full = n & ~7;
  for (let g = 0; g < full; g += 8) {
    for (let k = 0; k < 8; k++) b[g + k] = raw[g + 7 - k];
  }
  return BitSet.fromBytes(b);
}
