/**
 * The 8-byte PVA message header, control messages, and a framer that turns a TCP byte
 * stream into whole messages (segments reassembled).
 *
 * ```text
 * u8 magic 0xCA | u8 version | u8 flags | u8 command | u32 payload size (or control value)
 * flags: 0x01 control | 0x30 segment (0x10 first, 0x30 middle, 0x20 last)
 *        0x40 sent by server | 0x80 big-endian (bit 7 gives the order of the size field
 *        and of every number in the payload)
 * ```
 * @module
 */

import { ByteReader, ByteWriter } from "../../core/bytes.ts";
import { LocalProtocolError, RemoteProtocolError } from "../../core/errors.ts";

/** Magic first byte of every PVA message. */
export const PVA_MAGIC = 0xca;
/** Protocol version we send (pvxs and pvAccessCPP send 2). */
export const PVA_VERSION = 2;
/** Header length in bytes. */
export const PVA_HEADER_SIZE = 8;
/** Default TCP server port. */
export const PVA_SERVER_PORT = 5075;
/** Default UDP search and beacon port. */
export const PVA_BROADCAST_PORT = 5076;

/** Flag bits of the header's third byte. */
export const PvaFlag = {
  CONTROL: 0x01,
  SEGMENT_MASK: 0x30,
  SEGMENT_FIRST: 0x10,
  SEGMENT_MIDDLE: 0x30,
  SEGMENT_LAST: 0x20,
  SERVER: 0x40,
  BIG_ENDIAN: 0x80,
} as const;

/** Application command codes. */
export const PvaCommand = {
  BEACON: 0x00,
  CONNECTION_VALIDATION: 0x01,
  ECHO: 0x02,
  SEARCH: 0x03,
  SEARCH_RESPONSE: 0x04,
  AUTHNZ: 0x05,
  ACL_CHANGE: 0x06,
  CREATE_CHANNEL: 0x07,
  DESTROY_CHANNEL: 0x08,
  CONNECTION_VALIDATED: 0x09,
  GET: 0x0a,
  PUT: 0x0b,
  PUT_GET: 0x0c,
  MONITOR: 0x0d,
  ARRAY: 0x0e,
  DESTROY_REQUEST: 0x0f,
  PROCESS: 0x10,
  GET_FIELD: 0x11,
  MESSAGE: 0x12,
  MULTIPLE_DATA: 0x13,
  RPC: 0x14,
  CANCEL_REQUEST: 0x15,
  ORIGIN_TAG: 0x16,
} as const;
/** One of {@link PvaCommand}. */
export type PvaCommand = typeof PvaCommand[keyof typeof PvaCommand];

/** Control command codes (flags bit 0 set; the size field carries the value). */
export const PvaControl = {
  MARK_TOTAL_BYTES_SENT: 0,
  ACK_TOTAL_BYTES_RECEIVED: 1,
  SET_BYTE_ORDER: 2,
  ECHO_REQUEST: 3,
  ECHO_RESPONSE: 4,
} as const;
/** One of {@link PvaControl}. */
export type PvaControl = typeof PvaControl[keyof typeof PvaControl];

/** A decoded header. */
export interface PvaHeader {
  /** Protocol version byte. */
  version: number;
  /** Flags byte (control, segmentation, direction, byte order bits). */
  flags: number;
  /** Command (application) or control code. */
  command: number;
  /** Payload length, or the control value for control messages. */
  size: number;
}

/** A whole message as the framer delivers it. */
export interface PvaMessage {
  /** Protocol version byte. */
  version: number;
  /** Flags of the (first segment's) header, segmentation bits cleared. */
  flags: number;
  /** Command (application) or control code. */
  command: number;
  /** Whether this is a control message (no payload). */
  control: boolean;
  /** Whether the server sent it. */
  fromServer: boolean;
  /** Byte order of the payload. */
  littleEndian: boolean;
  /** The payload (for control messages: empty). */
  payload: Uint8Array;
  /** For control messages: the value in the size field. */
  controlValue: number;
}

/**
 * Writes a header.
 * @param w the writer; its `littleEndian` sets bit 7 and the size's byte order
 * @param h command, flags (without the byte-order bit) and size
 */
export function encodeHeader(
  w: ByteWriter,
  h: { command: number; flags?: number; size: number; version?: number },
): void {
  const flags = ((h.flags ?? 0) & ~PvaFlag.BIG_ENDIAN) | (w.littleEndian ? 0 : PvaFlag.BIG_ENDIAN);
  w.u8(PVA_MAGIC).u8(h.version ?? PVA_VERSION).u8(flags).u8(h.command).u32(h.size);
}

/**
 * Reads a header; the reader's byte order is switched to the one flags bit 7 gives.
 * @param r the reader, at the first header byte
 * @returns the header
 * @throws {RemoteProtocolError} on bad magic or version 0
 */
export function decodeHeader(r: ByteReader): PvaHeader {
  const at = r.offset;
  const magic = r.u8();
  if (magic !== PVA_MAGIC) {
    throw new RemoteProtocolError(`Cannot decode PVA header: magic 0x${hex2(magic)}`, {
      offset: at,
    });
  }
  const version = r.u8();
  if (version === 0) {
    throw new RemoteProtocolError("Cannot decode PVA header: version 0", { offset: at + 1 });
  }
  const flags = r.u8();
  const command = r.u8();
  r.littleEndian = (flags & PvaFlag.BIG_ENDIAN) === 0;
  const size = r.u32();
  return { version, flags, command, size };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/**
 * Begins an application message: writes a header with a zero size to patch later.
 * @param w the writer
 * @param command the application command
 * @param fromServer sets the direction bit
 * @returns the offset of the header, for {@link endMessage}
 */
export function beginMessage(w: ByteWriter, command: number, fromServer: boolean): number {
  const start = w.length;
  encodeHeader(w, { command, flags: fromServer ? PvaFlag.SERVER : 0, size: 0 });
  return start;
}

/**
 * Patches the payload size of a message begun with {@link beginMessage}.
 * @param w the writer
 * @param start what beginMessage returned
 */
export function endMessage(w: ByteWriter, start: number): void {
  w.dataView.setUint32(start + 4, w.length - start - PVA_HEADER_SIZE, w.littleEndian);
}

/**
 * Writes a whole application message whose payload `body` writes.
 * @param w the writer (byte order taken from it)
 * @param command the command
 * @param fromServer the direction bit
 * @param body writes the payload
 */
export function writeMessage(
  w: ByteWriter,
  command: number,
  fromServer: boolean,
  body: (w: ByteWriter) => void,
): void {
  const start = beginMessage(w, command, fromServer);
  body(w);
  endMessage(w, start);
}

/**
 * Writes a control message (8 bytes, no payload).
 * @param w the writer
 * @param command a {@link PvaControl} code
 * @param value the size-field value
 * @param fromServer the direction bit
 */
export function encodeControl(
  w: ByteWriter,
  command: PvaControl,
  value: number,
  fromServer: boolean,
): void {
  encodeHeader(w, {
    command,
    flags: PvaFlag.CONTROL | (fromServer ? PvaFlag.SERVER : 0),
    size: value >>> 0,
  });
}

/**
 * Writes the Set-byte-order control message a server sends first on a connection:
 * `CA 02 41 02 00 00 00 00` (LE) or `CA 02 C1 02 00 00 00 00` (BE).
 * @param w the writer; its byte order is the one announced
 */
export function encodeSetByteOrder(w: ByteWriter): void {
  encodeControl(w, PvaControl.SET_BYTE_ORDER, 0, true);
}

/**
 * Splits a message into segments of at most `maxPayload` bytes each (pvAccessCPP style).
 * Used to test reassembly; peers need not segment.
 * @param message one whole encoded application message
 * @param maxPayload payload bytes per segment
 * @returns the encoded segments, concatenated
 */
export function segmentMessage(message: Uint8Array, maxPayload: number): Uint8Array {
  if (maxPayload < 1) throw new LocalProtocolError("Cannot segment: maxPayload must be >= 1");
  const r = new ByteReader(message);
  const h = decodeHeader(r);
  if (h.flags & (PvaFlag.CONTROL | PvaFlag.SEGMENT_MASK)) {
    throw new LocalProtocolError("Cannot segment a control or already segmented message");
  }
  const payload = message.subarray(PVA_HEADER_SIZE, PVA_HEADER_SIZE + h.size);
  const w = new ByteWriter(message.length + 64, r.littleEndian);
  const n = Math.max(1, Math.ceil(payload.length / maxPayload));
  for (let i = 0; i < n; i++) {
    const part = payload.subarray(i * maxPayload, (i + 1) * maxPayload);
    const seg = n === 1
      ? 0
      : i === 0
      ? PvaFlag.SEGMENT_FIRST
      : i === n - 1
      ? PvaFlag.SEGMENT_LAST
      : PvaFlag.SEGMENT_MIDDLE;
    encodeHeader(w, {
      command: h.command,
      flags: h.flags | seg,
      size: part.length,
      version: h.version,
    });
    w.bytes(part);
  }
  return w.toBytes();
}

/** Options for {@link PvaFramer}. */
export interface PvaFramerOptions {
  /** Largest payload (also after reassembly) accepted; default 64 MiB. */
  maxPayload?: number;
}

/**
 * Turns a TCP byte stream into whole PVA messages. Feed it chunks as they arrive;
 * `receive` returns the messages completed so far (nothing while a frame is partial).
 * Segmented messages are joined; control messages between segments pass through.
 * Each message's byte order is its own flags bit 7. Payloads are copies, so the caller
 * may reuse its read buffer.
 *
 * @example
 * ```ts
 * import { PvaFramer } from "./header.ts";
 * const f = new PvaFramer();
 * const bytes = new Uint8Array([0xca, 2, 0x41, 2, 0, 0, 0, 0]); // Set byte order (LE)
 * if (f.receive(bytes.subarray(0, 5)).length !== 0) throw new Error("partial frame");
 * const [m] = f.receive(bytes.subarray(5));
 * if (!m.control || !m.littleEndian) throw new Error();
 * ```
 */
export class PvaFramer {
  #buf = new Uint8Array(0);
  #len = 0;
  #maxPayload: number;
  #seg: { header: PvaHeader; parts: Uint8Array[]; total: number } | undefined;
  /** Byte order announced by the peer's last Set-byte-order control message. */
  peerLittleEndian: boolean | undefined;

  /**
   * Creates a framer with nothing buffered.
   * @param options limits on what the peer may send
   */
  constructor(options: PvaFramerOptions = {}) {
    this.#maxPayload = options.maxPayload ?? 64 * 1024 * 1024;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#len;
  }

  /**
   * Bytes still to come before the frame held now is complete (after its header is in,
   * the rest of its payload; before, the rest of the header); 0 when none is held.
   */
  get missing(): number {
    if (this.#len === 0) return 0;
    if (this.#len < PVA_HEADER_SIZE) return PVA_HEADER_SIZE - this.#len;
    const b = this.#buf;
    const flags = b[2];
    if (flags & PvaFlag.CONTROL) return 0; // (never held: complete at 8 bytes)
    const size = (flags & PvaFlag.BIG_ENDIAN)
      ? (b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7]) >>> 0
      : (b[4] | b[5] << 8 | b[6] << 16 | b[7] << 24) >>> 0;
    return Math.max(0, PVA_HEADER_SIZE + size - this.#len);
  }

  /** Whether nothing is held: no partial frame and no segmented message under way. */
  get idle(): boolean {
    return this.#len === 0 && this.#seg === undefined;
  }

  /**
   * Adds bytes and returns the messages they complete.
   * @param chunk bytes read from the connection
   * @returns completed messages, in order
   * @throws {RemoteProtocolError} on bad magic, oversize payload or a segmentation violation
   */
  receive(chunk: Uint8Array): PvaMessage[] {
    this.#append(chunk);
    const out: PvaMessage[] = [];
    let pos = 0;
    while (this.#len - pos >= PVA_HEADER_SIZE) {
      const r = new ByteReader(this.#buf.subarray(pos, this.#len));
      const h = decodeHeader(r);
      const control = (h.flags & PvaFlag.CONTROL) !== 0;
      const littleEndian = r.littleEndian;
      if (control) {
        pos += PVA_HEADER_SIZE;
        if (h.command === PvaControl.SET_BYTE_ORDER) this.peerLittleEndian = littleEndian;
        out.push({
          version: h.version,
          flags: h.flags,
          command: h.command,
          control: true,
          fromServer: (h.flags & PvaFlag.SERVER) !== 0,
          littleEndian,
          payload: new Uint8Array(0),
          controlValue: h.size,
        });
        continue;
      }
      if (h.size > this.#maxPayload) {
        throw new RemoteProtocolError(
          `Cannot accept PVA message: payload of ${h.size} bytes exceeds ${this.#maxPayload}`,
          { offset: 4 },
        );
      }
      if (this.#len - pos < PVA_HEADER_SIZE + h.size) break;
      const payload = this.#buf.slice(pos + PVA_HEADER_SIZE, pos + PVA_HEADER_SIZE + h.size);
      pos += PVA_HEADER_SIZE + h.size;
      const msg = this.#segment(h, payload, littleEndian);
      if (msg) out.push(msg);
    }
    // Keep the unread tail at the front of the buffer.
    if (pos > 0) {
      this.#buf.copyWithin(0, pos, this.#len);
      this.#len -= pos;
    }
    return out;
  }

  #append(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#buf.length) {
      const next = new Uint8Array(Math.max(this.#len + chunk.length, this.#buf.length * 2, 256));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  #segment(h: PvaHeader, payload: Uint8Array, littleEndian: boolean): PvaMessage | undefined {
    const seg = h.flags & PvaFlag.SEGMENT_MASK;
    const make = (head: PvaHeader, body: Uint8Array): PvaMessage => ({
      version: head.version,
      flags: head.flags & ~PvaFlag.SEGMENT_MASK,
      command: head.command,
      control: false,
      fromServer: (head.flags & PvaFlag.SERVER) !== 0,
      littleEndian,
      payload: body,
      controlValue: 0,
    });
    if (seg === 0) {
      if (this.#seg) {
        throw new RemoteProtocolError(
          `Cannot reassemble PVA message: command 0x${hex2(h.command)} inside a segmented 0x${
            hex2(this.#seg.header.command)
          }`,
        );
      }
      return make(h, payload);
    }
    if (seg === PvaFlag.SEGMENT_FIRST) {
      if (this.#seg) {
        throw new RemoteProtocolError("Cannot reassemble PVA message: first segment twice");
      }
      this.#seg = { header: h, parts: [payload], total: payload.length };
      return undefined;
    }
    const cur = this.#seg;
    if (!cur) {
      throw new RemoteProtocolError("Cannot reassemble PVA message: segment without a first");
    }
    if (cur.header.command !== h.command) {
      throw new RemoteProtocolError(
        `Cannot reassemble PVA message: segment of 0x${hex2(h.command)} inside 0x${
          hex2(cur.header.command)
        }`,
      );
    }
    cur.parts.push(payload);
    cur.total += payload.length;
    if (cur.total > this.#maxPayload) {
      throw new RemoteProtocolError(
        `Cannot accept PVA message: reassembled payload exceeds ${this.#maxPayload} bytes`,
      );
    }
    if (seg === PvaFlag.SEGMENT_MIDDLE) return undefined;
    this.#seg = undefined;
    const whole = new Uint8Array(cur.total);
    let o = 0;
    for (const p of cur.parts) {
      whole.set(p, o);
      o += p.length;
    }
    return make(cur.header, whole);
  }
}

/**
 * Splits one UDP datagram into its messages (pvAccessCPP loops over all of them; an
 * ORIGIN_TAG may precede a SEARCH). Control or segmented messages are dropped; a message
 * whose size overruns the datagram ends the walk.
 * @param datagram the datagram bytes
 * @returns the messages found, in order
 * @throws {RemoteProtocolError} on bad magic or version 0 in the first header
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { ANY_ADDRESS, decodeSearchRequest, encodeSearchRequest, payloadReader, splitDatagram } from "./mod.ts";
 * const w = new ByteWriter(256, true);
 * encodeSearchRequest(w, {
 *   sequenceId: 1,
 *   flags: 0,
 *   responseAddress: ANY_ADDRESS,
 *   responsePort: 5076,
 *   protocols: ["tcp"],
 *   channels: [{ id: 7, name: "T:ai" }],
 * });
 * const [msg] = splitDatagram(w.toBytes());
 * const req = decodeSearchRequest(payloadReader(msg));
 * if (req.channels[0].name !== "T:ai" || req.responsePort !== 5076) throw new Error();
 * ```
 */
export function splitDatagram(datagram: Uint8Array): PvaMessage[] {
  const out: PvaMessage[] = [];
  let pos = 0;
  while (datagram.length - pos >= PVA_HEADER_SIZE) {
    const r = new ByteReader(datagram, pos);
    const h = decodeHeader(r);
    const end = pos + PVA_HEADER_SIZE + h.size;
    if ((h.flags & PvaFlag.CONTROL) !== 0) {
      pos += PVA_HEADER_SIZE;
      continue;
    }
    if (end > datagram.length) break;
    if ((h.flags & PvaFlag.SEGMENT_MASK) === 0) {
      out.push({
        version: h.version,
        flags: h.flags,
        command: h.command,
        control: false,
        fromServer: (h.flags & PvaFlag.SERVER) !== 0,
        littleEndian: r.littleEndian,
        payload: datagram.subarray(pos + PVA_HEADER_SIZE, end),
        controlValue: 0,
      });
    }
    pos = end;
  }
  return out;
}

/**
 * A reader over a message's payload, in the message's byte order.
 * @param m a framed message
 * @returns a reader at the payload's first byte
 */
export function payloadReader(m: PvaMessage): ByteReader {
  return new ByteReader(m.payload, 0, m.littleEndian);
}
