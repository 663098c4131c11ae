/**
 * A growable byte writer and a bounds-checked byte reader. Both default to big-endian
 * (CA's only order); PVA sets `littleEndian` per connection.
 * @module
 */

import { RemoteProtocolError } from "./errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Encodes text as UTF-8. */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8 bytes (invalid sequences become U+FFFD). */
export function utf8Decode(bytes: Uint8Array): string {
  // Names and short strings are nearly always ASCII: building them in JS is several
  // times cheaper than a call into TextDecoder.
  const n = bytes.length;
  if (n <= 32) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return n === 0 ? "" : String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
  }
  return decoder.decode(bytes);
}

/**
 * Appends binary data to a buffer that grows by doubling. Reuse one writer with
 * {@link ByteWriter.reset} to avoid allocating per message.
 * @example
 * ```ts
 * import { ByteWriter, toHex } from "./mod.ts";
 * const w = new ByteWriter();
 * w.u16(6).u32(0xdeadbeef).fixedString("ab", 4);
 * if (toHex(w.toBytes()) !== "0006deadbeef61620000") throw new Error("unexpected bytes");
 * ```
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  /** Bytes written so far. */
  length = 0;
  /** Byte order for multi-byte numbers. */
  littleEndian: boolean;

  /**
   * Creates an empty writer.
   * @param initialCapacity bytes to allocate up front (at least 16)
   * @param littleEndian byte order for multi-byte numbers; false (big-endian) for CA
   */
  constructor(initialCapacity = 1024, littleEndian = false) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#buf.buffer);
    this.littleEndian = littleEndian;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Forgets what was written; keeps the allocation. */
  reset(): void {
    this.length = 0;
  }

  /** A view of the bytes written so far (valid until the next write or reset). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }

  /** The DataView over the whole backing buffer (for patching written fields). */
  get dataView(): DataView {
    return this.#view;
  }

  /** The backing buffer (for writing typed arrays in place). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Appends an unsigned 8-bit integer. */
  u8(v: number): this {
    this.ensure(1);
    this.#buf[this.length++] = v;
    return this;
  }
  /** Appends a signed 8-bit integer. */
  i8(v: number): this {
    this.ensure(1);
    this.#view.setInt8(this.length++, v);
    return this;
  }
  /** Appends an unsigned 16-bit integer. */
  u16(v: number): this {
    this.ensure(2);
    this.#view.setUint16(this.length, v, this.littleEndian);
    this.length += 2;
    return this;
  }
  /** Appends a signed 16-bit integer. */
  i16(v: number): this {
    this.ensure(2);
    this.#view.setInt16(this.length, v, this.littleEndian);
    this.length += 2;
    return this;
  }
  /** Appends an unsigned 32-bit integer. */
  u32(v: number): this {
    this.ensure(4);
    this.#view.setUint32(this.length, v, this.littleEndian);
    this.length += 4;
    return this;
  }
  /** Appends a signed 32-bit integer. */
  i32(v: number): this {
    this.ensure(4);
    this.#view.setInt32(this.length, v, this.littleEndian);
    this.length += 4;
    return this;
  }
  /** Appends a signed 64-bit integer. */
  i64(v: bigint): this {
    this.ensure(8);
    this.#view.setBigInt64(this.length, v, this.littleEndian);
    this.length += 8;
    return this;
  }
  /** Appends an unsigned 64-bit integer. */
  u64(v: bigint): this {
    this.ensure(8);
    this.#view.setBigUint64(this.length, v, this.littleEndian);
    this.length += 8;
    return this;
  }
  /** Appends an IEEE 754 single-precision float. */
  f32(v: number): this {
    this.ensure(4);
    this.#view.setFloat32(this.length, v, this.littleEndian);
    this.length += 4;
    return this;
  }
  /** Appends an IEEE 754 double-precision float. */
  f64(v: number): this {
    this.ensure(8);
    this.#view.setFloat64(this.length, v, this.littleEndian);
    this.length += 8;
    return this;
  }
  /** Appends raw bytes. */
  bytes(b: Uint8Array): this {
    const n = b.length;
    this.ensure(n);
    const buf = this.#buf;
    if (n <= 32) {
      // A loop beats TypedArray.set's call overhead on the small pieces (headers, bit sets).
      for (let i = 0, o = this.length; i < n; i++) buf[o + i] = b[i];
    } else buf.set(b, this.length);
    this.length += n;
    return this;
  }
  /** Appends `n` zero bytes. */
  zeros(n: number): this {
    this.ensure(n);
    this.#buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }
  /** Pads with zeros to the next multiple of `align` (measured from `start`). */
  padTo(align: number, start = 0): this {
    const rem = (this.length - start) % align;
    if (rem !== 0) this.zeros(align - rem);
    return this;
  }
  /**
   * Writes text into a fixed-width, NUL-padded field; text longer than `width - 1`
   * bytes is cut so the field stays NUL-terminated.
   */
  fixedString(text: string, width: number): this {
    const b = encoder.encode(text);
    const n = Math.min(b.length, width - 1);
    this.ensure(width);
    this.#buf.set(b.subarray(0, n), this.length);
    this.#buf.fill(0, this.length + n, this.length + width);
    this.length += width;
    return this;
  }
}

/**
 * Reads binary data from a byte view with bounds checks that throw {@link RemoteProtocolError}.
 * @example
 * ```ts
 * import { ByteReader, fromHex, RemoteProtocolError } from "./mod.ts";
 * const r = new ByteReader(fromHex("0006 deadbeef"));
 * if (r.u16() !== 6 || r.u32() !== 0xdeadbeef || r.remaining !== 0) throw new Error();
 * try {
 *   r.u8();
 *   throw new Error("expected a bounds error");
 * } catch (e) {
 *   if (!(e instanceof RemoteProtocolError) || e.offset !== 6) throw e;
 * }
 * ```
 */
export class ByteReader {
  /** The bytes being read. */
  readonly bytes: Uint8Array;
  /** A DataView over {@link ByteReader.bytes}. */
  readonly view: DataView;
  /** Position of the next byte to read, relative to the start of `bytes`. */
  offset: number;
  /** Byte order for multi-byte numbers. */
  littleEndian: boolean;

  /**
   * Creates a reader over a byte view.
   * @param bytes the bytes to read (not copied)
   * @param offset where to start reading
   * @param littleEndian byte order for multi-byte numbers; false (big-endian) for CA
   */
  constructor(bytes: Uint8Array, offset = 0, littleEndian = false) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
    this.littleEndian = littleEndian;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** Throws unless `n` more bytes are available. */
  need(n: number): void {
    if (this.offset + n > this.bytes.length) {
      throw new RemoteProtocolError(
        `Cannot read ${n} bytes at offset ${this.offset}: only ${this.remaining} left`,
        { offset: this.offset },
      );
    }
  }

  /** Reads an unsigned 8-bit integer. */
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++];
  }
  /** Reads a signed 8-bit integer. */
  i8(): number {
    this.need(1);
    return this.view.getInt8(this.offset++);
  }
  /** Reads an unsigned 16-bit integer. */
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.offset, this.littleEndian);
    this.offset += 2;
    return v;
  }
  /** Reads a signed 16-bit integer. */
  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.offset, this.littleEndian);
    this.offset += 2;
    return v;
  }
  /** Reads an unsigned 32-bit integer. */
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset, this.littleEndian);
    this.offset += 4;
    return v;
  }
  /** Reads a signed 32-bit integer. */
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.offset, this.littleEndian);
    this.offset += 4;
    return v;
  }
  /** Reads a signed 64-bit integer. */
  i64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.offset, this.littleEndian);
    this.offset += 8;
    return v;
  }
  /** Reads an unsigned 64-bit integer. */
  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.offset, this.littleEndian);
    this.offset += 8;
    return v;
  }
  /** Reads an IEEE 754 single-precision float. */
  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.offset, this.littleEndian);
    this.offset += 4;
    return v;
  }
  /** Reads an IEEE 754 double-precision float. */
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.offset, this.littleEndian);
    this.offset += 8;
    return v;
  }
  /** A view (not a copy) of the next `n` bytes. */
  bytesView(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  /** Skips `n` bytes. */
  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }
  /** Reads a fixed-width field and returns the text up to the first NUL. */
  fixedString(width: number): string {
    const b = this.bytesView(width);
    return cString(b);
  }
}

/**
 * Decodes the text before the first NUL (or the whole view when there is none).
 * @param b the bytes of a C string field
 * @returns the decoded text
 * @example
 * ```ts
 * import { cString } from "./mod.ts";
 * if (cString(new Uint8Array([0x68, 0x69, 0, 0x78])) !== "hi") throw new Error();
 * ```
 */
export function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  // Through utf8Decode: PV names and short strings skip the TextDecoder call.
  return utf8Decode(end < 0 ? b : b.subarray(0, end));
}

/**
 * Reads a C char array (a CA "long string", an IOC's `FIELD$`) as text: the bytes up to the
 * first NUL, as UTF-8. Elements of a wider array count by their low byte.
 * @param chars the char array
 * @param count how many elements of it hold the value (a waveform's NORD), all by default
 * @returns the text
 * @example
 * ```ts
 * import { charsToText } from "./mod.ts";
 * if (charsToText([104, 105, 0, 33]) !== "hi") throw new Error();
 * ```
 */
export function charsToText(
  chars: ArrayLike<number | bigint>,
  count: number = chars.length,
): string {
  const len = Math.min(count, chars.length);
  if (chars instanceof Uint8Array) {
    return cString(len < chars.length ? chars.subarray(0, len) : chars);
  }
  const bytes = new Uint8Array(len);
  let n = 0;
  for (; n < len; n++) {
    const c = Number(chars[n]) & 0xff;
    if (c === 0) break;
    bytes[n] = c;
  }
  return utf8Decode(bytes.subarray(0, n));
}

/**
 * Turns text into a C char array: its UTF-8 bytes and a NUL, at most `max` elements. A text
 * that does not fit is cut on a character boundary, so the bytes kept always decode to
 * whole characters; the NUL is kept when cutting (`max` 0 gives no elements at all).
 * @param text the text
 * @param max the most elements the array may have (the channel's element count)
 * @returns the bytes
 * @example
 * ```ts
 * import { textToChars } from "./mod.ts";
 * const b = textToChars("hello", 4);
 * if (b.length !== 4 || b[3] !== 0 || b[2] !== 108) throw new Error();
 * if (textToChars("\u00b5m", 2).length !== 1) throw new Error(); // µ is two bytes
 * ```
 */
export function textToChars(text: string, max = Infinity): Uint8Array {
  let b = encoder.encode(text);
  if (max < 1) return new Uint8Array(0);
  if (b.length > max - 1) {
    let end = max - 1;
    // A byte 10xxxxxx continues a character: step back to where one starts.
    while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
    b = b.subarray(0, end);
  }
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * The text cut so that its UTF-8 form has at most `maxBytes` bytes, on a character boundary
 * (what fits a C string field of `maxBytes` characters and the NUL).
 * @param text the text
 * @param maxBytes the most UTF-8 bytes
 * @returns the text, or its longest head that fits
 * @example
 * ```ts
 * import { cutUtf8 } from "./mod.ts";
 * if (cutUtf8("abcdef", 4) !== "abcd" || cutUtf8("a\u00b5b", 2) !== "a") throw new Error();
 * ```
 */
export function cutUtf8(text: string, maxBytes: number): string {
  // No UTF-16 unit takes more than three UTF-8 bytes (a surrogate pair takes four for two).
  if (text.length * 3 <= maxBytes) return text;
  const b = encoder.encode(text);
  if (b.length <= maxBytes) return text;
  return utf8Decode(textToChars(text, maxBytes + 1).subarray(0, -1));
}

/**
 * Parses a hex string ("00ff1a...") into bytes; whitespace is ignored.
 * @param hex the hex text
 * @returns the bytes
 * @example
 * ```ts
 * import { fromHex } from "./mod.ts";
 * const b = fromHex("00 ff 1a");
 * if (b.length !== 3 || b[1] !== 255) throw new Error();
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

/**
 * Formats bytes as lowercase hex.
 * @param b the bytes
 * @returns the hex text
 * @example
 * ```ts
 * import { toHex } from "./mod.ts";
 * if (toHex(new Uint8Array([0, 255, 26])) !== "00ff1a") throw new Error();
 * ```
 */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
