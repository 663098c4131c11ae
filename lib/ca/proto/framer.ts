/**
 * Framing of CA messages: a TCP stream framer that completes messages across chunks,
 * and a UDP datagram splitter.
 *
 * ```text
 * stream = message*
 * message = header (16 bytes, or 24 when the u16 at offset 2 is 0xFFFF) + payload
 * payload size = the header's size field, always a multiple of 8
 * ```
 * @module
 */

import { RemoteProtocolError } from "../../core/errors.ts";
import { type CaMessage, EXTENDED_HEADER_SIZE, EXTENDED_MARKER, HEADER_SIZE } from "./header.ts";

/** Options of {@link CaFramer}. */
export interface CaFramerOptions {
  /** Largest payload accepted; larger ones throw. Default: no limit beyond the wire's. */
  maxPayload?: number;
}

/** The payload of every message without one (most requests): no view per message. */
const NO_PAYLOAD = new Uint8Array(0);

/** First allocation for a payload that spans chunks; it doubles as bytes arrive. */
const INITIAL_BODY = 64 * 1024;

function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}
function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/**
 * A message {@link CaFramer} took out of a chunk. Its payload view is made the first
 * time it is asked for: most requests' handlers never need one, and a view costs about
 * four times the rest of framing a message. `bytes`, `at` and `size` say where the
 * payload lies, for a handler that reads a few bytes of it straight from there. Like
 * the view, they refer to the chunk the message came in, which the caller may reuse.
 */
export class FramedMessage implements CaMessage {
  #payload: Uint8Array | undefined;

  /**
   * @param command the command code
   * @param dataType the data type field
   * @param dataCount the data count (the 32-bit one of an extended header)
   * @param param1 the first parameter
   * @param param2 the second parameter
   * @param bytes the bytes the payload lies in
   * @param at where it starts there
   * @param size its padded size
   */
  constructor(
    readonly command: number,
    readonly dataType: number,
    readonly dataCount: number,
    readonly param1: number,
    readonly param2: number,
    readonly bytes: Uint8Array,
    readonly at: number,
    readonly size: number,
  ) {}

  /** The whole padded payload, a view of {@link bytes}. */
  get payload(): Uint8Array {
    if (this.#payload === undefined) {
      this.#payload = this.size === 0
        ? NO_PAYLOAD
        : this.at === 0 && this.size === this.bytes.length
        ? this.bytes
        : this.bytes.subarray(this.at, this.at + this.size);
    }
    return this.#payload;
  }
}

/**
 * A message that outlives the chunk it was framed from: the same header fields and a
 * copy of the payload (a handler that holds requests back, or a reader that queues them,
 * while the chunk's buffer takes the next read).
 * @param m a message, usually one {@link CaFramer} returned
 * @returns a message of its own
 * @example
 * ```ts
 * import { CaFramer, detachedMessage } from "./framer.ts";
 * const chunk = new Uint8Array(24);
 * chunk[1] = 1; // command 1, 8 bytes of payload
 * chunk[3] = 8;
 * chunk[16] = 42;
 * const kept = detachedMessage(new CaFramer().receive(chunk)[0]);
 * chunk.fill(0);
 * if (kept.command !== 1 || kept.payload[0] !== 42) throw new Error();
 * ```
 */
export function detachedMessage(m: CaMessage): CaMessage {
  return {
    command: m.command,
    dataType: m.dataType,
    dataCount: m.dataCount,
    param1: m.param1,
    param2: m.param2,
    payload: m.payload.slice(),
  };
}

/**
 * Splits a CA TCP byte stream into messages. Feed it chunks as they arrive; each
 * call returns the messages the chunk completed. Whole messages inside one chunk are
 * returned as views of that chunk (no copy); a message split across chunks is
 * assembled in a buffer of its own that is handed over and never reused. After a
 * throw the framer's state is undefined: close the circuit.
 * @example
 * ```ts
 * import { CaFramer } from "./framer.ts";
 * const f = new CaFramer();
 * const echo = new Uint8Array(16);
 * echo[1] = 23;
 * if (f.receive(echo.subarray(0, 5)).length !== 0) throw new Error();
 * if (f.receive(echo.subarray(5))[0].command !== 23) throw new Error();
 * ```
 */
export class CaFramer {
  readonly #maxPayload: number;
  /** Header bytes of a message still being assembled. */
  readonly #head = new Uint8Array(EXTENDED_HEADER_SIZE);
  #headLen = 0;
  /** Payload of a message still being assembled (allocated once its header is known). */
  #body: Uint8Array | null = null;
  #bodyLen = 0;
  /** Declared payload size of the message being assembled. */
  #bodySize = 0;
  /** Stream offset of the start of the next chunk, for error reports. */
  #streamOffset = 0;

  /**
   * Creates a framer with nothing buffered.
   * @param opts limits on what the peer may send
   */
  constructor(opts: CaFramerOptions = {}) {
    this.#maxPayload = opts.maxPayload ?? Infinity;
  }

  /** Bytes held back while waiting for the rest of a message. */
  get buffered(): number {
    return this.#headLen + this.#bodyLen;
  }

  /**
   * Consumes a chunk of the stream.
   * @param chunk the next bytes received (may be reused by the caller afterwards only
   *   if it copies the returned payloads first: complete messages are views of it)
   * @returns the messages completed by this chunk, possibly none
   * @throws {RemoteProtocolError} when a payload size is misaligned or too large
   */
  receive(chunk: Uint8Array): CaMessage[] {
    const out: CaMessage[] = [];
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      if (this.#headLen === 0) {
        // At a message boundary: take whole messages straight out of the chunk.
        const avail = n - off;
        if (avail >= HEADER_SIZE) {
          let size = u16(chunk, off + 2);
          let count = u16(chunk, off + 6);
          let hlen = HEADER_SIZE;
          if (size === EXTENDED_MARKER) {
            if (avail >= EXTENDED_HEADER_SIZE) {
              size = u32(chunk, off + 16);
              count = u32(chunk, off + 20);
              hlen = EXTENDED_HEADER_SIZE;
            } else hlen = -1;
          }
          if (hlen > 0) {
            this.#check(size, this.#streamOffset + off);
            if (avail >= hlen + size) {
              out.push(
                new FramedMessage(
                  u16(chunk, off),
                  u16(chunk, off + 4),
                  count,
                  u32(chunk, off + 8),
                  u32(chunk, off + 12),
                  chunk,
                  off + hlen,
                  size,
                ),
              );
              off += hlen + size;
              continue;
            }
          }
        }
      }
      off = this.#slow(chunk, off, out);
    }
    this.#streamOffset += n;
    return out;
  }

  /** Assembles a message that spans chunks; returns the new chunk offset. */
  #slow(chunk: Uint8Array, off: number, out: CaMessage[]): number {
    const head = this.#head;
    if (this.#body === null) {
      // Still collecting the header.
      let need = HEADER_SIZE;
      if (this.#headLen >= 4 && u16(head, 2) === EXTENDED_MARKER) need = EXTENDED_HEADER_SIZE;
      while (this.#headLen < need && off < chunk.length) {
        head[this.#headLen++] = chunk[off++];
        if (this.#headLen === 4 && u16(head, 2) === EXTENDED_MARKER) need = EXTENDED_HEADER_SIZE;
      }
      if (this.#headLen < need) return off;
      const size = need === EXTENDED_HEADER_SIZE ? u32(head, 16) : u16(head, 2);
      this.#check(size, this.#streamOffset + off - this.#headLen);
      // Memory follows the bytes that really arrive, not what a header claims: a peer
      // declaring a huge payload and sending nothing costs little.
      this.#body = new Uint8Array(Math.min(size, INITIAL_BODY));
      this.#bodySize = size;
      this.#bodyLen = 0;
    }
    let body = this.#body;
    const take = Math.min(this.#bodySize - this.#bodyLen, chunk.length - off);
    if (take > 0) {
      if (this.#bodyLen + take > body.length) {
        let cap = body.length * 2;
        while (cap < this.#bodyLen + take) cap *= 2;
        const grown = new Uint8Array(Math.min(cap, this.#bodySize));
        grown.set(body.subarray(0, this.#bodyLen));
        body = this.#body = grown;
      }
      body.set(chunk.subarray(off, off + take), this.#bodyLen);
      this.#bodyLen += take;
      off += take;
    }
    if (this.#bodyLen === this.#bodySize) {
      const ext = this.#headLen === EXTENDED_HEADER_SIZE;
      out.push(
        new FramedMessage(
          u16(head, 0),
          u16(head, 4),
          ext ? u32(head, 20) : u16(head, 6),
          u32(head, 8),
          u32(head, 12),
          body,
          0,
          body.length,
        ),
      );
      this.#headLen = 0;
      this.#body = null;
      this.#bodyLen = 0;
    }
    return off;
  }

  #check(size: number, at: number): void {
    if (size % 8 !== 0) {
      throw new RemoteProtocolError(
        `Cannot frame CA message at stream offset ${at}: payload size ${size} is not a multiple of 8`,
        { offset: at },
      );
    }
    if (size > this.#maxPayload) {
      throw new RemoteProtocolError(
        `Cannot frame CA message at stream offset ${at}: payload size ${size} exceeds the limit of ${this.#maxPayload}`,
        { offset: at },
      );
    }
  }
}

/**
 * Splits one UDP datagram into its messages (a search datagram is VERSION followed by
 * SEARCH messages; a reply is VERSION followed by search replies). Payloads are views
 * of `bytes`.
 * @param bytes the datagram
 * @returns the messages in order
 * @throws {RemoteProtocolError} when a header or payload is cut short
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { CaCommand, decodeDatagram, encodeSearchRequest, encodeVersion } from "./mod.ts";
 * const w = new ByteWriter();
 * encodeVersion(w);
 * encodeSearchRequest(w, { cid: 7, name: "T:ai" });
 * const [version, search] = decodeDatagram(w.toBytes());
 * if (version.command !== CaCommand.VERSION || search.param1 !== 7) throw new Error();
 * ```
 */
export function decodeDatagram(bytes: Uint8Array): CaMessage[] {
  const out: CaMessage[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < HEADER_SIZE) {
      throw new RemoteProtocolError(
        `Cannot decode CA datagram: truncated header at offset ${off}`,
        { offset: off },
      );
    }
    let size = u16(bytes, off + 2);
    let count = u16(bytes, off + 6);
    let hlen = HEADER_SIZE;
    if (size === EXTENDED_MARKER) {
      if (bytes.length - off < EXTENDED_HEADER_SIZE) {
        throw new RemoteProtocolError(
          `Cannot decode CA datagram: truncated extended header at offset ${off}`,
          { offset: off },
        );
      }
      size = u32(bytes, off + 16);
      count = u32(bytes, off + 20);
      hlen = EXTENDED_HEADER_SIZE;
    }
    if (bytes.length - off - hlen < size) {
      throw new RemoteProtocolError(
        `Cannot decode CA datagram: payload of ${size} bytes at offset ${off} is truncated`,
        { offset: off },
      );
    }
    out.push({
      command: u16(bytes, off),
      dataType: u16(bytes, off + 4),
      dataCount: count,
      param1: u32(bytes, off + 8),
      param2: u32(bytes, off + 12),
      payload: bytes.subarray(off + hlen, off + hlen + size),
    });
    off += hlen + size;
  }
  return out;
}
