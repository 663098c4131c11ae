/**
 * The Channel Access message header: the 16-byte standard form and the 24-byte
 * extended ("large") form, and a generic message encoder.
 *
 * ```text
 * standard (16 bytes)
 *   u16 command | u16 payload size | u16 data type | u16 data count | u32 param1 | u32 param2
 * extended (24 bytes, minor version >= 9)
 *   u16 command | u16 0xFFFF | u16 data type | u16 0x0000 | u32 param1 | u32 param2
 *   u32 payload size | u32 data count
 * ```
 *
 * All fields are big-endian. The payload size is always a multiple of 8.
 * @module
 */

import type { ByteWriter } from "../../core/bytes.ts";
import { LocalProtocolError } from "../../core/errors.ts";

/** Size of the standard header. */
export const HEADER_SIZE = 16;
/** Size of the extended header. */
export const EXTENDED_HEADER_SIZE = 24;
/** The payload-size value that marks an extended header. */
export const EXTENDED_MARKER = 0xffff;
/** Largest payload the extended header can describe. */
export const MAX_EXTENDED_PAYLOAD = 0xffffffe7;

/** One decoded CA message: the header fields and the full (padded) payload. */
export interface CaMessage {
  /** Command code ({@link CaCommand}). */
  command: number;
  /** Data type field (a DBR type or a command-specific value). */
  dataType: number;
  /** Data count field; the 32-bit count for an extended header. */
  dataCount: number;
  /** First 32-bit parameter (CID, SID, status, IP, ...). */
  param1: number;
  /** Second 32-bit parameter (IOID, subscription ID, ...). */
  param2: number;
  /** The whole padded payload (its length is the header's payload size). */
  payload: Uint8Array;
}

/** The header fields a message encoder takes; omitted fields are zero. */
export interface CaMessageFields {
  /** Command code ({@link CaCommand}). */
  command: number;
  /** Data type field. */
  dataType?: number;
  /** Data count field. */
  dataCount?: number;
  /** First 32-bit parameter. */
  param1?: number;
  /** Second 32-bit parameter. */
  param2?: number;
}

/**
 * Rounds a byte count up to the next multiple of 8.
 * @param n a byte count
 * @returns the padded count
 * @example
 * ```ts
 * import { padded } from "./header.ts";
 * if (padded(13) !== 16) throw new Error();
 * ```
 */
export function padded(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/**
 * True when a message with this payload size and count needs the extended header.
 * Like libca and RSRV, 0xFFFF itself already forces the extended form.
 * @param payloadSize the padded payload size
 * @param dataCount the element count
 * @returns whether the 24-byte form is needed
 */
export function needsExtendedHeader(payloadSize: number, dataCount: number): boolean {
  return payloadSize >= EXTENDED_MARKER || dataCount >= 0xffff;
}

/**
 * Writes a message header: the standard 16-byte form, or the 24-byte extended form
 * when `payloadSize >= 0xFFFF` or `dataCount >= 0xFFFF`.
 *
 * ```text
 * u16 command | u16 payloadSize | u16 dataType | u16 dataCount | u32 param1 | u32 param2
 * extended: u16 command | u16 0xFFFF | u16 dataType | u16 0 | u32 param1 | u32 param2
 *           | u32 payloadSize | u32 dataCount
 * ```
 * @param w the writer
 * @param command the command code
 * @param payloadSize the payload size, already padded to a multiple of 8
 * @param dataType the data type field
 * @param dataCount the data count field
 * @param param1 the first parameter
 * @param param2 the second parameter
 * @throws {LocalProtocolError} when the payload size is not a multiple of 8 or a field is out of range
 */
export function writeHeader(
  w: ByteWriter,
  command: number,
  payloadSize: number,
  dataType: number,
  dataCount: number,
  param1: number,
  param2: number,
): void {
  if (payloadSize % 8 !== 0 || payloadSize < 0 || payloadSize > MAX_EXTENDED_PAYLOAD) {
    throw new LocalProtocolError(
      `Cannot write CA header for command ${command}: payload size ${payloadSize} is not a padded size`,
    );
  }
  if (dataCount < 0 || dataCount > 0xffffffff || dataType < 0 || dataType > 0xffff) {
    throw new LocalProtocolError(
      `Cannot write CA header for command ${command}: type ${dataType} or count ${dataCount} out of range`,
    );
  }
  // One capacity check and direct stores: this runs for every message a server sends.
  const ext = needsExtendedHeader(payloadSize, dataCount);
  w.ensure(ext ? EXTENDED_HEADER_SIZE : HEADER_SIZE);
  const dv = w.dataView;
  const at = w.length;
  dv.setUint16(at, command);
  dv.setUint16(at + 4, dataType);
  dv.setUint32(at + 8, param1 >>> 0);
  dv.setUint32(at + 12, param2 >>> 0);
  if (ext) {
    dv.setUint16(at + 2, EXTENDED_MARKER);
    dv.setUint16(at + 6, 0);
    dv.setUint32(at + 16, payloadSize);
    dv.setUint32(at + 20, dataCount);
    w.length = at + EXTENDED_HEADER_SIZE;
  } else {
    dv.setUint16(at + 2, payloadSize);
    dv.setUint16(at + 6, dataCount);
    w.length = at + HEADER_SIZE;
  }
}

/**
 * Writes a whole message: the header, then the payload padded with zeros to a
 * multiple of 8.
 * @param w the writer
 * @param m the header fields (omitted ones are zero)
 * @param payload the unpadded payload, if any
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { encodeMessage } from "./header.ts";
 * const w = new ByteWriter();
 * encodeMessage(w, { command: 23 }); // ECHO
 * if (w.length !== 16) throw new Error();
 * ```
 */
export function encodeMessage(w: ByteWriter, m: CaMessageFields, payload?: Uint8Array): void {
  const n = payload ? payload.length : 0;
  const size = padded(n);
  writeHeader(
    w,
    m.command,
    size,
    m.dataType ?? 0,
    m.dataCount ?? 0,
    m.param1 ?? 0,
    m.param2 ?? 0,
  );
  if (payload && n) w.bytes(payload);
  if (size > n) w.zeros(size - n);
}

/**
 * Writes a decoded message back out (header plus its payload, padded if needed).
 * @param w the writer
 * @param m the message
 */
export function encodeCaMessage(w: ByteWriter, m: CaMessage): void {
  encodeMessage(w, m, m.payload);
}

/**
 * The size of the header a message needs (16 or 24).
 * @param m the message
 * @returns the header size in bytes
 */
export function headerSizeOf(m: CaMessage): number {
  return needsExtendedHeader(padded(m.payload.length), m.dataCount)
    ? EXTENDED_HEADER_SIZE
    : HEADER_SIZE;
}
