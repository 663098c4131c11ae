/**
 * Client-side PVA framing that lets the transport read straight into place, so a
 * large payload is copied once (kernel to its own buffer) instead of three times
 * (read buffer, reassembly buffer, payload slice).
 *
 * ```text
 * header: u8 0xCA | u8 version | u8 flags | u8 command | u32 size (flags bit 7 = big endian)
 * small message (size < largeAt): read into the scratch buffer, payload sliced out of it
 * large message: a buffer of exactly `size` bytes is allocated once the header is seen;
 *   the bytes already read are copied in and every later read lands in its remainder
 * ```
 *
 * Payloads are always fresh buffers (decoded values may view their arrays on them). A
 * large payload is placed at byte offset `pad` (0..7) of its ArrayBuffer, chosen by the
 * caller per message, so that the numeric array inside can be viewed aligned.
 * Segmented messages are joined (copied) as {@link PvaFramer} does.
 * @module
 */

import { RemoteProtocolError } from "../../core/errors.ts";
import { PVA_HEADER_SIZE, PVA_MAGIC, PvaControl, PvaFlag } from "../proto/header.ts";
import type { PvaMessage } from "../proto/header.ts";

/** Options of a {@link ReadFramer}. */
export interface ReadFramerOptions {
  /** Scratch buffer size (default 256 KiB; at least 2 x largeAt). */
  scratch?: number;
  /** Payloads of this size or more are read straight into their own buffer (64 KiB). */
  largeAt?: number;
  /** Largest payload (also after reassembly) accepted; default 64 MiB. */
  maxPayload?: number;
  /**
   * Byte offset (0..7) at which to place a large payload in its buffer. `prefix` holds
   * the payload bytes read so far (often a few; possibly none).
   */
  padFor?: (command: number, littleEndian: boolean, prefix: Uint8Array) => number;
}

interface Large {
  version: number;
  flags: number;
  command: number;
  payload: Uint8Array;
  filled: number;
}

/**
 * Turns a TCP byte stream into whole PVA messages. Either call `space()`, read into
 * it and `commit(n)`, or hand over chunks with `receive(chunk)` (copied in).
 *
 * @example
 * ```ts ignore
 * const f = new ReadFramer();
 * for (;;) {
 *   const n = await conn.read(f.space());
 *   if (n === null) break;
 *   for (const m of f.commit(n)) handle(m);
 * }
 * ```
 */
export class ReadFramer {
  #buf: Uint8Array;
  #dv: DataView;
  #start = 0;
  #end = 0;
  #largeAt: number;
  #maxPayload: number;
  #padFor: ReadFramerOptions["padFor"];
  #large: Large | undefined;
  #seg:
    | { version: number; flags: number; command: number; parts: Uint8Array[]; total: number }
    | undefined;
  /** Byte order announced by the peer's last Set-byte-order control message. */
  peerLittleEndian: boolean | undefined;

  constructor(opts: ReadFramerOptions = {}) {
    this.#largeAt = Math.max(PVA_HEADER_SIZE, opts.largeAt ?? 64 * 1024);
    const size = Math.max(opts.scratch ?? 256 * 1024, 2 * this.#largeAt + 2 * PVA_HEADER_SIZE);
    this.#buf = new Uint8Array(size);
    this.#dv = new DataView(this.#buf.buffer);
    this.#maxPayload = opts.maxPayload ?? 64 * 1024 * 1024;
    this.#padFor = opts.padFor;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#large ? this.#large.filled : this.#end - this.#start;
  }

  /**
   * Where the next read should put its bytes (never past the end of a large payload).
   * @returns a view to read into; pass the count read to {@link commit}
   */
  space(): Uint8Array {
    const l = this.#large;
    if (l) return l.payload.subarray(l.filled);
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (this.#buf.length - this.#end < this.#largeAt) {
      // Move the partial frame to the front; it is smaller than largeAt + header.
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    return this.#buf.subarray(this.#end);
  }

  /**
   * Accounts for `n` bytes read into the last {@link space} and returns the messages
   * they complete.
   * @param n bytes read
   * @returns completed messages, in order
   * @throws {RemoteProtocolError} on bad magic, oversize payload or a segmentation violation
   */
  commit(n: number): PvaMessage[] {
    const out: PvaMessage[] = [];
    const l = this.#large;
    if (l) {
      l.filled += n;
      if (l.filled < l.payload.length) return out;
      this.#large = undefined;
      this.#emit(out, l.version, l.flags, l.command, l.payload);
      return out;
    }
    this.#end += n;
    this.#parse(out);
    return out;
  }

  /**
   * Copies a chunk in and returns the messages it completes.
   * @param chunk bytes read from the connection
   * @returns completed messages, in order
   */
  receive(chunk: Uint8Array): PvaMessage[] {
    const out: PvaMessage[] = [];
    let off = 0;
    while (off < chunk.length) {
      const s = this.space();
      const k = Math.min(s.length, chunk.length - off);
      s.set(chunk.subarray(off, off + k));
      off += k;
      for (const m of this.commit(k)) out.push(m);
    }
    return out;
  }

  #parse(out: PvaMessage[]): void {
    const buf = this.#buf;
    const dv = this.#dv;
    while (this.#end - this.#start >= PVA_HEADER_SIZE) {
      const at = this.#start;
      if (buf[at] !== PVA_MAGIC) {
        throw new RemoteProtocolError(
          `Cannot decode PVA header: magic 0x${buf[at].toString(16).padStart(2, "0")}`,
          { offset: 0 },
        );
      }
      const version = buf[at + 1];
      if (version === 0) {
        throw new RemoteProtocolError("Cannot decode PVA header: version 0", { offset: 1 });
      }
      const flags = buf[at + 2];
      const command = buf[at + 3];
      const le = (flags & PvaFlag.BIG_ENDIAN) === 0;
      const size = dv.getUint32(at + 4, le);
      if (flags & PvaFlag.CONTROL) {
        this.#start += PVA_HEADER_SIZE;
        if (command === PvaControl.SET_BYTE_ORDER) this.peerLittleEndian = le;
        out.push({
          version,
          flags,
          command,
          control: true,
          fromServer: (flags & PvaFlag.SERVER) !== 0,
          littleEndian: le,
          payload: new Uint8Array(0),
          controlValue: size,
        });
        continue;
      }
      if (size > this.#maxPayload) {
        throw new RemoteProtocolError(
          `Cannot accept PVA message: payload of ${size} bytes exceeds ${this.#maxPayload}`,
          { offset: 4 },
        );
      }
      const p = at + PVA_HEADER_SIZE;
      const have = this.#end - p;
      if (size < this.#largeAt) {
        if (have < size) return;
        this.#start = p + size;
        this.#emit(out, version, flags, command, buf.slice(p, p + size));
        continue;
      }
      const prefix = buf.subarray(p, p + Math.min(have, size));
      const pad = (this.#padFor?.(command, le, prefix) ?? 0) & 7;
      const payload = new Uint8Array(new ArrayBuffer(size + pad), pad, size);
      payload.set(prefix);
      if (have >= size) {
        this.#start = p + size;
        this.#emit(out, version, flags, command, payload);
        continue;
      }
      // Read the rest straight into the payload's own buffer.
      this.#large = { version, flags, command, payload, filled: prefix.length };
      this.#start = this.#end = 0;
      return;
    }
  }

  #emit(out: PvaMessage[], version: number, flags: number, command: number, body: Uint8Array) {
    const seg = flags & PvaFlag.SEGMENT_MASK;
    const le = (flags & PvaFlag.BIG_ENDIAN) === 0;
    const make = (fl: number, cmd: number, payload: Uint8Array, ver: number): PvaMessage => ({
      version: ver,
      flags: fl & ~PvaFlag.SEGMENT_MASK,
      command: cmd,
      control: false,
      fromServer: (fl & PvaFlag.SERVER) !== 0,
      littleEndian: le,
      payload,
      controlValue: 0,
    });
    const hex = (c: number) => c.toString(16).padStart(2, "0");
    if (seg === 0) {
      if (this.#seg) {
        throw new RemoteProtocolError(
          `Cannot reassemble PVA message: command 0x${hex(command)} inside a segmented 0x${
            hex(this.#seg.command)
          }`,
        );
      }
      out.push(make(flags, command, body, version));
      return;
    }
    if (seg === PvaFlag.SEGMENT_FIRST) {
      if (this.#seg) {
        throw new RemoteProtocolError("Cannot reassemble PVA message: first segment twice");
      }
      this.#seg = { version, flags, command, parts: [body], total: body.length };
      return;
    }
    const cur = this.#seg;
    if (!cur) {
      throw new RemoteProtocolError("Cannot reassemble PVA message: segment without a first");
    }
    if (cur.command !== command) {
      throw new RemoteProtocolError(
        `Cannot reassemble PVA message: segment of 0x${hex(command)} inside 0x${hex(cur.command)}`,
      );
    }
    cur.parts.push(body);
    cur.total += body.length;
    if (cur.total > this.#maxPayload) {
      throw new RemoteProtocolError(
        `Cannot accept PVA message: reassembled payload exceeds ${this.#maxPayload} bytes`,
      );
    }
    if (seg === PvaFlag.SEGMENT_MIDDLE) return;
    this.#seg = undefined;
    const whole = new Uint8Array(cur.total);
    let o = 0;
    for (const p of cur.parts) {
      whole.set(p, o);
      o += p.length;
    }
    out.push(make(cur.flags, cur.command, whole, cur.version));
  }
}
