/**
 * The PVA Status that replies carry.
 *
 * ```text
 * OK, no text (shortcut):  0xFF
 * otherwise:               u8 type | String message | String callTree
 * ```
 * @module
 */

import type { ByteReader, ByteWriter } from "../../core/bytes.ts";
import { PvaStatusError, RemoteProtocolError } from "../../core/errors.ts";
import { decodeString, encodeString } from "./size_string.ts";

/** Status types as the spec names them. */
export const PvaStatusType = {
  OK: 0,
  WARNING: 1,
  ERROR: 2,
  FATAL: 3,
} as const;
/** One of {@link PvaStatusType}. */
export type PvaStatusType = typeof PvaStatusType[keyof typeof PvaStatusType];

/** A decoded Status. */
export interface PvaStatus {
  /** OK, warning, error or fatal. */
  type: PvaStatusType;
  /** The message ("" for OK). */
  message: string;
  /** The server's call tree or stack ("" when none). */
  callTree: string;
}

/** The plain OK status (encoded as the single byte 0xFF). */
export const STATUS_OK: Readonly<PvaStatus> = Object.freeze({
  type: PvaStatusType.OK,
  message: "",
  callTree: "",
});

/**
 * Builds a status.
 * @param type the status type
 * @param message the text shown to users
 * @param callTree where it happened, for diagnostics (usually "")
 * @returns the status
 */
export function pvaStatus(type: PvaStatusType, message = "", callTree = ""): PvaStatus {
  return { type, message, callTree };
}

/**
 * Whether the status lets the optional reply data follow (OK or WARNING).
 * @param s the status
 * @returns true for OK and WARNING
 */
export function isStatusSuccess(s: PvaStatus): boolean {
  return s.type === PvaStatusType.OK || s.type === PvaStatusType.WARNING;
}

/**
 * Writes a Status, using the 0xFF shortcut for a plain OK.
 * @param w the writer
 * @param s the status
 * @example
 * ```ts
 * import { ByteReader, ByteWriter, toHex } from "../../core/bytes.ts";
 * import { decodeStatus, encodeStatus, pvaStatus, PvaStatusType, STATUS_OK } from "./mod.ts";
 * const w = new ByteWriter();
 * encodeStatus(w, STATUS_OK);
 * if (toHex(w.toBytes()) !== "ff") throw new Error();
 * w.reset();
 * encodeStatus(w, pvaStatus(PvaStatusType.ERROR, "no"));
 * const s = decodeStatus(new ByteReader(w.toBytes()));
 * if (s.type !== PvaStatusType.ERROR || s.message !== "no") throw new Error();
 * ```
 */
export function encodeStatus(w: ByteWriter, s: PvaStatus): void {
  if (s.type === PvaStatusType.OK && s.message === "" && s.callTree === "") {
    w.u8(0xff);
    return;
  }
  w.u8(s.type);
  encodeString(w, s.message);
  encodeString(w, s.callTree);
}

/**
 * Reads a Status.
 * @param r the reader
 * @returns the status
 * @throws {RemoteProtocolError} on an unknown status type
 */
export function decodeStatus(r: ByteReader): PvaStatus {
  const at = r.offset;
  const t = r.u8();
  if (t === 0xff) return { type: PvaStatusType.OK, message: "", callTree: "" };
  if (t > 3) throw new RemoteProtocolError(`Cannot decode status: type ${t}`, { offset: at });
  const message = decodeString(r);
  const callTree = decodeString(r);
  return { type: t as PvaStatusType, message, callTree };
}

/**
 * Turns a failed status into the typed error; the one place that does so.
 * @param s the status received
 * @param action what was being done, e.g. `Cannot get "T:ai"`
 * @returns a {@link PvaStatusError}, or undefined when the status is a success
 * @example
 * ```ts
 * import { PvaStatusError } from "../../core/errors.ts";
 * import { pvaStatus, PvaStatusType, STATUS_OK, statusError } from "./mod.ts";
 * if (statusError(STATUS_OK, "Cannot get \"T:ai\"") !== undefined) throw new Error();
 * const e = statusError(pvaStatus(PvaStatusType.ERROR, "denied"), "Cannot put \"T:ai\"");
 * if (!(e instanceof PvaStatusError) || e.statusType !== PvaStatusType.ERROR) throw new Error();
 * ```
 */
export function statusError(s: PvaStatus, action: string): PvaStatusError | undefined {
  if (isStatusSuccess(s)) return undefined;
  const kind = s.type === PvaStatusType.FATAL ? "fatal" : "error";
  return new PvaStatusError(`${action}: server returned ${kind} "${s.message}"`, s.type);
}
