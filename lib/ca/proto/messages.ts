/**
 * Typed encoders and decoders for each CA command. Header notation in the layouts:
 * `cmd / size / type / count / p1 / p2` (ca.md section 5). Every payload is padded to
 * a multiple of 8 with zeros.
 * @module
 */

import { ByteReader, type ByteWriter, cString, utf8Encode } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import {
  CA_MINOR_VERSION,
  CaCommand,
  MAX_STRING_SIZE,
  SEARCH_REPLY_USE_SOURCE,
  SearchReply,
  SEQUENCE_NO_IS_VALID,
} from "./constants.ts";
import { dbrPayloadSize, encodeDbr } from "./dbr.ts";
import type { DbrData } from "./dbr_types.ts";
import {
  type CaMessage,
  EXTENDED_HEADER_SIZE,
  EXTENDED_MARKER,
  HEADER_SIZE,
  needsExtendedHeader,
  padded,
  writeHeader,
} from "./header.ts";

/**
 * A string as a CA payload: UTF-8 bytes, a NUL, zeros up to a multiple of 8.
 * @param name the text (PV name, user name, host name)
 * @returns the padded payload
 * @example
 * ```ts
 * import { stringPayload } from "./messages.ts";
 * if (stringPayload("T:ai").length !== 8) throw new Error();
 * ```
 */
export function stringPayload(name: string): Uint8Array {
  const b = utf8Encode(name);
  const out = new Uint8Array(padded(b.length + 1));
  out.set(b);
  return out;
}

/**
 * The text of a string payload, up to the first NUL.
 * @param msg a message whose payload is a string (SEARCH, CREATE_CHAN, CLIENT_NAME, HOST_NAME)
 * @returns the text
 */
export function decodeStringPayload(msg: CaMessage): string {
  return cString(msg.payload);
}

function header(
  w: ByteWriter,
  command: number,
  size: number,
  dataType: number,
  count: number,
  p1: number,
  p2: number,
): void {
  writeHeader(w, command, size, dataType, count, p1, p2);
}

function withString(
  w: ByteWriter,
  command: number,
  dataType: number,
  count: number,
  p1: number,
  p2: number,
  text: string,
) {
  const p = stringPayload(text);
  header(w, command, p.length, dataType, count, p1, p2);
  w.bytes(p);
}

/** Writes a DBR payload after its header, zero-padded to 8. */
function withDbr(
  w: ByteWriter,
  command: number,
  dataType: number,
  count: number,
  p1: number,
  p2: number,
  data: DbrData | undefined,
): void {
  const size = dbrPayloadSize(dataType, count);
  const total = padded(size);
  header(w, command, total, dataType, count, p1, p2);
  if (data) encodeDbr(w, dataType, count, data);
  else w.zeros(size);
  if (total > size) w.zeros(total - size);
}

// ---- VERSION (0) -------------------------------------------------------------------

/** Fields of a VERSION message. */
export interface VersionFields {
  /** Minor protocol version (default 13). */
  minorVersion?: number;
  /** TCP client -> server: circuit priority 0..99 (default 0). */
  priority?: number;
}

/**
 * Writes a TCP VERSION message.
 *
 * ```text
 * cmd=0 / size=0 / type=priority (client) or 0 (server) / count=minor / p1=0 / p2=0
 * ```
 * @param w the writer
 * @param f priority and minor version
 */
export function encodeVersion(w: ByteWriter, f: VersionFields = {}): void {
  header(w, CaCommand.VERSION, 0, f.priority ?? 0, f.minorVersion ?? CA_MINOR_VERSION, 0, 0);
}

/**
 * Writes the UDP VERSION message that starts a search datagram or a search reply.
 *
 * ```text
 * cmd=0 / size=0 / type=1 (sequence number valid) / count=minor / p1=sequence / p2=0
 * ```
 * @param w the writer
 * @param f the sequence number and minor version
 */
export function encodeUdpVersion(
  w: ByteWriter,
  f: { sequence?: number; minorVersion?: number } = {},
): void {
  header(
    w,
    CaCommand.VERSION,
    0,
    SEQUENCE_NO_IS_VALID,
    f.minorVersion ?? CA_MINOR_VERSION,
    f.sequence ?? 0,
    0,
  );
}

/**
 * Reads a VERSION message (TCP or UDP).
 * @param msg the message
 * @returns minor version, priority (TCP type field) and sequence number (UDP p1)
 */
export function decodeVersion(
  msg: CaMessage,
): { minorVersion: number; priority: number; sequence: number } {
  return { minorVersion: msg.dataCount, priority: msg.dataType, sequence: msg.param1 };
}

// ---- SEARCH (6) / NOT_FOUND (14) -----------------------------------------------------

/** Fields of a SEARCH request. */
export interface SearchRequest {
  /** Search ID (libca: the channel's CID). */
  cid: number;
  /** PV name. */
  name: string;
  /** DONT_REPLY (5, default) or DO_REPLY (10). */
  replyFlag?: number;
  /** Client minor version (default 13). */
  minorVersion?: number;
}

/**
 * Writes a SEARCH request (UDP, or TCP to a name server).
 *
 * ```text
 * cmd=6 / size=padded(name+NUL) / type=reply flag / count=minor / p1=cid / p2=cid
 * payload: name, NUL-terminated, zero padded to 8
 * ```
 * @param w the writer
 * @param f the request
 * @example
 * ```ts
 * import { ByteWriter, toHex } from "../../core/bytes.ts";
 * import { encodeSearchRequest } from "./mod.ts";
 * const w = new ByteWriter();
 * encodeSearchRequest(w, { cid: 1, name: "T:ai" });
 * // cmd=6, size=8, DONT_REPLY, minor 13, cid twice, "T:ai" + NUL padded to 8
const expected = "0006 0008 0005 000d 00000001 00000001 543a616900000000";
if (toHex(w.toBytes()) !== expected.replaceAll(" ", "")) throw new Error();
 * ```
 */
export function encodeSearchRequest(w: ByteWriter, f: SearchRequest): void {
  withString(
    w,
    CaCommand.SEARCH,
    f.replyFlag ?? SearchReply.DONT_REPLY,
    f.minorVersion ?? CA_MINOR_VERSION,
    f.cid,
    f.cid,
    f.name,
  );
}

/**
 * The PV name of a SEARCH request.
 * @param msg the SEARCH message
 * @returns the name
 */
export function decodeSearchName(msg: CaMessage): string {
  return cString(msg.payload);
}

/**
 * Reads a SEARCH request.
 * @param msg the SEARCH message
 * @returns its fields
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { CaFramer, decodeSearchRequest, encodeSearchRequest } from "./mod.ts";
 * const w = new ByteWriter();
 * encodeSearchRequest(w, { cid: 9, name: "T:ai" });
 * const [msg] = new CaFramer().receive(w.toBytes());
 * const req = decodeSearchRequest(msg);
 * if (req.name !== "T:ai" || req.cid !== 9 || req.minorVersion !== 13) throw new Error();
 * ```
 */
export function decodeSearchRequest(msg: CaMessage): Required<SearchRequest> {
  return {
    cid: msg.param1,
    name: cString(msg.payload),
    replyFlag: msg.dataType,
    minorVersion: msg.dataCount,
  };
}

/** Fields of a SEARCH reply. */
export interface SearchReplyFields {
  /** The server's TCP port. */
  port: number;
  /** The search ID from the request. */
  cid: number;
  /** Server minor version (default 13; UDP form only). */
  minorVersion?: number;
  /** Server IPv4 address as u32; default 0xFFFFFFFF ("use the datagram's source"). */
  serverIp?: number;
}

/**
 * Writes a UDP SEARCH reply.
 *
 * ```text
 * cmd=6 / size=8 / type=TCP port / count=0 / p1=server IP or 0xFFFFFFFF / p2=cid
 * payload: u16 server minor version, 6 zero bytes
 * ```
 * @param w the writer
 * @param f the reply
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { CaFramer, decodeSearchReply, encodeSearchReply } from "./mod.ts";
 * const w = new ByteWriter();
 * encodeSearchReply(w, { port: 5064, cid: 9 });
 * const reply = decodeSearchReply(new CaFramer().receive(w.toBytes())[0]);
 * if (reply.port !== 5064 || reply.cid !== 9 || reply.serverIp !== 0xffffffff) throw new Error();
 * ```
 */
export function encodeSearchReply(w: ByteWriter, f: SearchReplyFields): void {
  header(w, CaCommand.SEARCH, 8, f.port, 0, f.serverIp ?? SEARCH_REPLY_USE_SOURCE, f.cid);
  w.u16(f.minorVersion ?? CA_MINOR_VERSION).zeros(6);
}

/**
 * Writes a TCP SEARCH reply (name-server circuit): no payload.
 *
 * ```text
 * cmd=6 / size=0 / type=TCP port / count=0 / p1=server IP or 0xFFFFFFFF / p2=cid
 * ```
 * @param w the writer
 * @param f the reply (minorVersion is ignored)
 */
export function encodeTcpSearchReply(w: ByteWriter, f: SearchReplyFields): void {
  header(w, CaCommand.SEARCH, 0, f.port, 0, f.serverIp ?? SEARCH_REPLY_USE_SOURCE, f.cid);
}

/**
 * Reads a SEARCH reply (UDP or TCP form).
 * @param msg the message
 * @returns port, search ID, server IP (0xFFFFFFFF = use the source) and the minor
 *   version when the payload carries one
 */
export function decodeSearchReply(
  msg: CaMessage,
): { port: number; cid: number; serverIp: number; minorVersion: number | undefined } {
  const p = msg.payload;
  return {
    port: msg.dataType,
    cid: msg.param2,
    serverIp: msg.param1,
    minorVersion: p.length >= 2 ? (p[0] << 8) | p[1] : undefined,
  };
}

/**
 * Writes NOT_FOUND (sent only for DO_REPLY searches; RSRV sends it on TCP only).
 *
 * ```text
 * cmd=14 / size=0 / type=10 (DO_REPLY) / count=client minor / p1=cid / p2=cid
 * ```
 * @param w the writer
 * @param f the search ID and the client's minor version
 */
export function encodeNotFound(w: ByteWriter, f: { cid: number; minorVersion?: number }): void {
  header(
    w,
    CaCommand.NOT_FOUND,
    0,
    SearchReply.DO_REPLY,
    f.minorVersion ?? CA_MINOR_VERSION,
    f.cid,
    f.cid,
  );
}

// ---- header-only housekeeping --------------------------------------------------------

/**
 * Writes ECHO (all fields zero). `cmd=23 / 0 / 0 / 0 / 0 / 0`
 * @param w the writer
 */
export function encodeEcho(w: ByteWriter): void {
  header(w, CaCommand.ECHO, 0, 0, 0, 0, 0);
}

/**
 * Writes READ_SYNC (obsolete echo for servers < 4.3). `cmd=10 / 0 / 0 / 0 / 0 / 0`
 * @param w the writer
 */
export function encodeReadSync(w: ByteWriter): void {
  header(w, CaCommand.READ_SYNC, 0, 0, 0, 0, 0);
}

/**
 * Writes EVENTS_OFF (pause monitor delivery). `cmd=8 / 0 / 0 / 0 / 0 / 0`
 * @param w the writer
 */
export function encodeEventsOff(w: ByteWriter): void {
  header(w, CaCommand.EVENTS_OFF, 0, 0, 0, 0, 0);
}

/**
 * Writes EVENTS_ON (resume monitor delivery). `cmd=9 / 0 / 0 / 0 / 0 / 0`
 * @param w the writer
 */
export function encodeEventsOn(w: ByteWriter): void {
  header(w, CaCommand.EVENTS_ON, 0, 0, 0, 0, 0);
}

// ---- beacons and repeater ------------------------------------------------------------

/** Fields of a beacon. */
export interface BeaconFields {
  /** Server TCP port. */
  port: number;
  /** Beacon counter. */
  beaconId: number;
  /** Server IPv4 as u32, or 0 (default: the repeater fills in the source). */
  serverIp?: number;
  /** Server minor version (default 13). */
  minorVersion?: number;
}

/**
 * Writes a beacon (RSRV_IS_UP).
 *
 * ```text
 * cmd=13 / size=0 / type=server minor / count=TCP port / p1=beacon ID / p2=server IP or 0
 * ```
 * @param w the writer
 * @param f the beacon
 */
export function encodeBeacon(w: ByteWriter, f: BeaconFields): void {
  header(
    w,
    CaCommand.RSRV_IS_UP,
    0,
    f.minorVersion ?? CA_MINOR_VERSION,
    f.port,
    f.beaconId,
    f.serverIp ?? 0,
  );
}

/**
 * Reads a beacon.
 * @param msg the RSRV_IS_UP message
 * @returns its fields
 */
export function decodeBeacon(msg: CaMessage): Required<BeaconFields> {
  return {
    minorVersion: msg.dataType,
    port: msg.dataCount,
    beaconId: msg.param1,
    serverIp: msg.param2,
  };
}

/**
 * Writes REPEATER_REGISTER.
 *
 * ```text
 * cmd=24 / size=0 / type=0 / count=0 / p1=0 / p2=client IPv4 (u32)
 * ```
 * @param w the writer
 * @param f the client's address as a u32
 */
export function encodeRepeaterRegister(w: ByteWriter, f: { clientIp: number }): void {
  header(w, CaCommand.REPEATER_REGISTER, 0, 0, 0, 0, f.clientIp);
}

/**
 * Writes REPEATER_CONFIRM.
 *
 * ```text
 * cmd=17 / size=0 / type=0 / count=0 / p1=0 / p2=address the registration came from
 * ```
 * @param w the writer
 * @param f that address as a u32
 */
export function encodeRepeaterConfirm(w: ByteWriter, f: { repeaterIp: number }): void {
  header(w, CaCommand.REPEATER_CONFIRM, 0, 0, 0, 0, f.repeaterIp);
}

/**
 * The address carried by REPEATER_REGISTER / REPEATER_CONFIRM (param2).
 * @param msg the message
 * @returns the IPv4 address as a u32
 */
export function decodeRepeaterAddress(msg: CaMessage): number {
  return msg.param2;
}

/**
 * Formats a u32 IPv4 address as dotted text.
 * @param ip the address
 * @returns "a.b.c.d"
 */
export function ipv4ToString(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join(".");
}

/**
 * Parses dotted IPv4 text into a u32.
 * @param text "a.b.c.d"
 * @returns the address, or undefined when the text is not an IPv4 address
 */
export function ipv4FromString(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

// ---- channel life cycle --------------------------------------------------------------

/**
 * Writes a CREATE_CHAN request.
 *
 * ```text
 * cmd=18 / size=padded(name+NUL) / type=0 / count=0 / p1=cid / p2=client minor version
 * payload: name, NUL-terminated, zero padded to 8
 * ```
 * @param w the writer
 * @param f the channel's CID and name
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { CaFramer, decodeCreateChanRequest, encodeCreateChanRequest } from "./mod.ts";
 * const w = new ByteWriter();
 * encodeCreateChanRequest(w, { cid: 3, name: "T:ai" });
 * const req = decodeCreateChanRequest(new CaFramer().receive(w.toBytes())[0]);
 * if (req.cid !== 3 || req.name !== "T:ai") throw new Error();
 * ```
 */
export function encodeCreateChanRequest(
  w: ByteWriter,
  f: { cid: number; name: string; minorVersion?: number },
): void {
  withString(w, CaCommand.CREATE_CHAN, 0, 0, f.cid, f.minorVersion ?? CA_MINOR_VERSION, f.name);
}

/**
 * Reads a CREATE_CHAN request.
 * @param msg the message
 * @returns CID, name and the client minor version (p2)
 */
export function decodeCreateChanRequest(
  msg: CaMessage,
): { cid: number; name: string; minorVersion: number } {
  return { cid: msg.param1, name: cString(msg.payload), minorVersion: msg.param2 };
}

/** Fields of a CREATE_CHAN reply. */
export interface CreateChanReply {
  /** Client's channel ID, echoed from the request. */
  cid: number;
  /** Server's channel ID, used by the client in later requests. */
  sid: number;
  /** Native DBR type 0..6. */
  dataType: number;
  /** Native element count (a count >= 0xFFFF uses the extended header). */
  count: number;
}

/**
 * Writes the CREATE_CHAN reply (send ACCESS_RIGHTS just before it).
 *
 * ```text
 * cmd=18 / size=0 / type=native type / count=native count / p1=cid / p2=sid
 * ```
 * @param w the writer
 * @param f the reply
 */
export function encodeCreateChan(w: ByteWriter, f: CreateChanReply): void {
  header(w, CaCommand.CREATE_CHAN, 0, f.dataType, f.count, f.cid, f.sid);
}

/**
 * Reads a CREATE_CHAN reply.
 * @param msg the message
 * @returns its fields
 */
export function decodeCreateChan(msg: CaMessage): CreateChanReply {
  return { cid: msg.param1, sid: msg.param2, dataType: msg.dataType, count: msg.dataCount };
}

/**
 * Writes CREATE_CH_FAIL. `cmd=26 / size=0 / type=0 / count=0 / p1=cid / p2=0`
 * @param w the writer
 * @param f the CID
 */
export function encodeCreateChFail(w: ByteWriter, f: { cid: number }): void {
  header(w, CaCommand.CREATE_CH_FAIL, 0, 0, 0, f.cid, 0);
}

/**
 * Writes ACCESS_RIGHTS. `cmd=22 / size=0 / type=0 / count=0 / p1=cid / p2=rights`
 * (bit 0 read, bit 1 write).
 * @param w the writer
 * @param f the CID and rights bits
 */
export function encodeAccessRights(w: ByteWriter, f: { cid: number; rights: number }): void {
  header(w, CaCommand.ACCESS_RIGHTS, 0, 0, 0, f.cid, f.rights & 3);
}

/**
 * Reads ACCESS_RIGHTS.
 * @param msg the message
 * @returns CID and rights bits (unknown bits dropped)
 */
export function decodeAccessRights(msg: CaMessage): { cid: number; rights: number } {
  return { cid: msg.param1, rights: msg.param2 & 3 };
}

/**
 * Writes SERVER_DISCONN. `cmd=27 / size=0 / type=0 / count=0 / p1=cid / p2=0`
 * @param w the writer
 * @param f the CID
 */
export function encodeServerDisconn(w: ByteWriter, f: { cid: number }): void {
  header(w, CaCommand.SERVER_DISCONN, 0, 0, 0, f.cid, 0);
}

/**
 * Writes CLEAR_CHANNEL (the request; the server echoes the same header).
 * `cmd=12 / size=0 / type=0 / count=0 / p1=sid / p2=cid`
 * @param w the writer
 * @param f the SID and CID
 */
export function encodeClearChannel(w: ByteWriter, f: { sid: number; cid: number }): void {
  header(w, CaCommand.CLEAR_CHANNEL, 0, 0, 0, f.sid, f.cid);
}

/**
 * Writes CLIENT_NAME. `cmd=20 / size=padded / 0 / 0 / 0 / 0`, payload: user name, NUL, padding.
 * @param w the writer
 * @param name the user name
 */
export function encodeClientName(w: ByteWriter, name: string): void {
  withString(w, CaCommand.CLIENT_NAME, 0, 0, 0, 0, name);
}

/**
 * Writes HOST_NAME. `cmd=21 / size=padded / 0 / 0 / 0 / 0`, payload: host name, NUL, padding.
 * @param w the writer
 * @param name the host name
 */
export function encodeHostName(w: ByteWriter, name: string): void {
  withString(w, CaCommand.HOST_NAME, 0, 0, 0, 0, name);
}

// ---- reads ---------------------------------------------------------------------------

/** Fields of a READ_NOTIFY / READ request. */
export interface ReadRequest {
  /** Server's channel ID. */
  sid: number;
  /** Client's I/O ID, echoed in the reply. */
  ioid: number;
  /** Requested DBR type. */
  dataType: number;
  /** Element count; 0 = all currently valid elements (minor >= 13). */
  count: number;
}

/**
 * Writes a READ_NOTIFY request.
 *
 * ```text
 * cmd=15 / size=0 / type=DBR type / count=elements (0 = dynamic) / p1=sid / p2=ioid
 * ```
 * @param w the writer
 * @param f the request
 */
export function encodeReadNotify(w: ByteWriter, f: ReadRequest): void {
  header(w, CaCommand.READ_NOTIFY, 0, f.dataType, f.count, f.sid, f.ioid);
}

/**
 * Writes an obsolete READ request (same layout as READ_NOTIFY, cmd=3).
 * @param w the writer
 * @param f the request
 */
export function encodeRead(w: ByteWriter, f: ReadRequest): void {
  header(w, CaCommand.READ, 0, f.dataType, f.count, f.sid, f.ioid);
}

/**
 * Reads a READ_NOTIFY (or READ) request.
 * @param msg the message
 * @returns its fields
 */
export function decodeReadRequest(msg: CaMessage): ReadRequest {
  return { sid: msg.param1, ioid: msg.param2, dataType: msg.dataType, count: msg.dataCount };
}

/** Fields of a READ_NOTIFY reply or a monitor update. */
export interface DataReply {
  /** ECA status (1 = ECA_NORMAL). */
  eca: number;
  /** DBR type of the payload. */
  dataType: number;
  /** Elements in the payload. */
  count: number;
  /** The value; omitted for an error reply (the body is then zeros). */
  data?: DbrData;
}

/**
 * Writes a READ_NOTIFY reply.
 *
 * ```text
 * cmd=15 / size=padded DBR size / type=DBR type / count=elements / p1=ECA status / p2=ioid
 * payload: the DBR structure (zeros when the read failed)
 * ```
 * @param w the writer
 * @param f the reply, with `ioid`
 */
export function encodeReadNotifyReply(w: ByteWriter, f: DataReply & { ioid: number }): void {
  withDbr(w, CaCommand.READ_NOTIFY, f.dataType, f.count, f.eca, f.ioid, f.data);
}

// ---- writes --------------------------------------------------------------------------

/** Fields of a WRITE / WRITE_NOTIFY request. */
export interface WriteRequest {
  /** Server's channel ID. */
  sid: number;
  /** DBR type of the data. */
  dataType: number;
  /** Element count. */
  count: number;
  /** The value (and, for the special types, metadata) to write. */
  data: DbrData;
}

/**
 * Writes a WRITE request (no reply on success).
 *
 * ```text
 * cmd=4 / size=padded DBR size / type=DBR type / count=elements / p1=sid / p2=cid
 * payload: the DBR structure
 * ```
 * p2 holds the CID, as libca does: servers echo it in ERROR replies. A single
 * DBR_STRING is sent in libca's short form: the text, a NUL, padding to 8.
 * @param w the writer
 * @param f the request and the channel's CID
 */
export function encodeWrite(w: ByteWriter, f: WriteRequest & { cid: number }): void {
  withPutData(w, CaCommand.WRITE, f.dataType, f.count, f.sid, f.cid, f.data);
}

/**
 * Writes put data; a single DBR_STRING goes in libca's short form (the text, a NUL
 * and padding to 8, instead of the full 40 bytes), which every server accepts.
 */
function withPutData(
  w: ByteWriter,
  command: number,
  dataType: number,
  count: number,
  p1: number,
  p2: number,
  data: DbrData,
): void {
  if (dataType === 0 && count === 1) {
    const text = utf8Encode(String(data.value[0] ?? ""));
    const n = Math.min(text.length, MAX_STRING_SIZE - 1);
    const size = padded(n + 1);
    header(w, command, size, dataType, count, p1, p2);
    w.bytes(text.subarray(0, n)).zeros(size - n);
    return;
  }
  withDbr(w, command, dataType, count, p1, p2, data);
}

/**
 * Writes a WRITE_NOTIFY request.
 *
 * ```text
 * cmd=19 / size=padded DBR size / type=DBR type / count=elements / p1=sid / p2=ioid
 * payload: the DBR structure (a single DBR_STRING in the short form, as for WRITE)
 * ```
 * @param w the writer
 * @param f the request and its IOID
 */
export function encodeWriteNotify(w: ByteWriter, f: WriteRequest & { ioid: number }): void {
  withPutData(w, CaCommand.WRITE_NOTIFY, f.dataType, f.count, f.sid, f.ioid, f.data);
}

/**
 * Writes the WRITE_NOTIFY reply.
 *
 * ```text
 * cmd=19 / size=0 / type=request type / count=request count / p1=ECA status / p2=ioid
 * ```
 * @param w the writer
 * @param f the status and the request's type, count and IOID
 */
export function encodeWriteNotifyReply(
  w: ByteWriter,
  f: { ioid: number; eca: number; dataType: number; count: number },
): void {
  header(w, CaCommand.WRITE_NOTIFY, 0, f.dataType, f.count, f.eca, f.ioid);
}

// ---- subscriptions -------------------------------------------------------------------

/** Fields of an EVENT_ADD request. */
export interface EventAddRequest {
  /** Server's channel ID. */
  sid: number;
  /** Client's subscription ID, echoed in every update. */
  subid: number;
  /** DBR type of the updates. */
  dataType: number;
  /** Element count; 0 = dynamic (minor >= 13). */
  count: number;
  /** DBE mask bits. */
  mask: number;
}

/**
 * Writes an EVENT_ADD request (subscribe).
 *
 * ```text
 * cmd=1 / size=16 / type=DBR type / count=elements / p1=sid / p2=subid
 * payload (mon_info): f32 low delta=0 | f32 high delta=0 | f32 timeout=0 | u16 mask | u16 pad
 * ```
 * @param w the writer
 * @param f the request
 */
export function encodeEventAdd(w: ByteWriter, f: EventAddRequest): void {
  header(w, CaCommand.EVENT_ADD, 16, f.dataType, f.count, f.sid, f.subid);
  w.zeros(12).u16(f.mask).u16(0);
}

/**
 * The DBE mask of an EVENT_ADD request (payload offset 12).
 * @param msg the EVENT_ADD request
 * @returns the mask, or 0 when the payload is too short
 */
export function decodeEventAddMask(msg: CaMessage): number {
  const p = msg.payload;
  return p.length >= 14 ? (p[12] << 8) | p[13] : 0;
}

/**
 * Reads an EVENT_ADD request.
 * @param msg the message
 * @returns its fields
 */
export function decodeEventAdd(msg: CaMessage): EventAddRequest {
  return {
    sid: msg.param1,
    subid: msg.param2,
    dataType: msg.dataType,
    count: msg.dataCount,
    mask: decodeEventAddMask(msg),
  };
}

/**
 * Writes a monitor update (EVENT_ADD from the server).
 *
 * ```text
 * cmd=1 / size=padded DBR size (> 0) / type=DBR type / count=elements / p1=ECA status / p2=subid
 * payload: the DBR structure (zeros when the read failed)
 * ```
 * @param w the writer
 * @param f the update, with `subid`
 */
export function encodeEventAddReply(w: ByteWriter, f: DataReply & { subid: number }): void {
  withDbr(w, CaCommand.EVENT_ADD, f.dataType, f.count, f.eca, f.subid, f.data);
}

/**
 * Writes EVENT_CANCEL.
 *
 * ```text
 * cmd=2 / size=0 / type=DBR type / count=elements / p1=sid / p2=subid
 * ```
 * @param w the writer
 * @param f the subscription
 */
export function encodeEventCancel(
  w: ByteWriter,
  f: { sid: number; subid: number; dataType: number; count: number },
): void {
  header(w, CaCommand.EVENT_CANCEL, 0, f.dataType, f.count, f.sid, f.subid);
}

/**
 * Writes the confirmation of an EVENT_CANCEL: an EVENT_ADD with no payload.
 *
 * ```text
 * cmd=1 / size=0 / type=original type / count=original count (RSRV) / p1=sid / p2=subid
 * ```
 * @param w the writer
 * @param f the cancelled subscription
 */
export function encodeEventCancelReply(
  w: ByteWriter,
  f: { sid: number; subid: number; dataType: number; count: number },
): void {
  header(w, CaCommand.EVENT_ADD, 0, f.dataType, f.count, f.sid, f.subid);
}

// ---- ERROR (11) ----------------------------------------------------------------------

/** Fields of an ERROR message. */
export interface ErrorFields {
  /** CID of the channel concerned, or 0xFFFFFFFF when unknown. */
  cid: number;
  /** ECA status code. */
  eca: number;
  /** The offending request; its header is copied into the payload. */
  request: CaMessage;
  /** Diagnostic text. */
  text: string;
}

/**
 * Writes an ERROR message.
 *
 * ```text
 * cmd=11 / size=padded / type=0 / count=0 / p1=cid or 0xFFFFFFFF / p2=ECA status
 * payload: the request's header (16 bytes, or 24 if it needed the extended form),
 *          the text NUL-terminated, zero padding
 * ```
 * @param w the writer
 * @param f the error
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { CaFramer, decodeError, Eca, encodeError } from "./mod.ts";
 * const request = {
 *   command: 15,
 *   dataType: 6,
 *   dataCount: 1,
 *   param1: 1,
 *   param2: 2,
 *   payload: new Uint8Array(),
 * };
 * const w = new ByteWriter();
 * encodeError(w, { cid: 1, eca: Eca.BADTYPE, request, text: "no such type" });
 * const err = decodeError(new CaFramer().receive(w.toBytes())[0]);
 * if (err.eca !== Eca.BADTYPE || err.request.command !== 15 || err.text !== "no such type") {
 *   throw new Error();
 * }
 * ```
 */
export function encodeError(w: ByteWriter, f: ErrorFields): void {
  const r = f.request;
  const text = utf8Encode(f.text);
  const ext = needsExtendedHeader(r.payload.length, r.dataCount);
  const hlen = ext ? EXTENDED_HEADER_SIZE : HEADER_SIZE;
  const size = padded(hlen + text.length + 1);
  header(w, CaCommand.ERROR, size, 0, 0, f.cid, f.eca);
  writeHeader(w, r.command, r.payload.length, r.dataType, r.dataCount, r.param1, r.param2);
  w.bytes(text);
  w.zeros(size - hlen - text.length);
}

/**
 * Reads an ERROR message.
 * @param msg the message
 * @returns the CID, ECA code, the embedded request header (payload empty; its
 *   `payloadSize` field says how big the request was) and the text
 * @throws {RemoteProtocolError} when the payload cannot hold a header
 */
export function decodeError(
  msg: CaMessage,
): { cid: number; eca: number; request: CaMessage & { payloadSize: number }; text: string } {
  const r = new ByteReader(msg.payload);
  if (r.remaining < HEADER_SIZE) {
    throw new RemoteProtocolError(
      `Cannot decode CA ERROR: payload of ${r.remaining} bytes holds no header`,
      {
        offset: 0,
      },
    );
  }
  const command = r.u16();
  let payloadSize = r.u16();
  const dataType = r.u16();
  let dataCount = r.u16();
  const param1 = r.u32();
  const param2 = r.u32();
  if (payloadSize === EXTENDED_MARKER && r.remaining >= 8) {
    payloadSize = r.u32();
    dataCount = r.u32();
  }
  return {
    cid: msg.param1,
    eca: msg.param2,
    request: {
      command,
      dataType,
      dataCount,
      param1,
      param2,
      payload: new Uint8Array(0),
      payloadSize,
    },
    text: cString(msg.payload.subarray(r.offset)),
  };
}
