/**
 * Encoders and decoders for every PVA application message. Encoders write a whole
 * message (header included) in the writer's byte order; decoders read a payload (see
 * {@link payloadReader}) in the message's byte order. Operation replies that carry data
 * decode into a value the caller supplies (the per-operation cache of the last value),
 * because the data type was announced by the INIT reply.
 * @module
 */

import type { ByteReader, ByteWriter } from "../../core/bytes.ts";
import { LocalProtocolError, RemoteProtocolError } from "../../core/errors.ts";
import { BitSet, decodeBitSet, encodeBitSet } from "./bitset.ts";
import { beginMessage, encodeControl, endMessage, PvaCommand, type PvaMessage } from "./header.ts";
import { payloadReader } from "./header.ts";
import {
  decodeCount,
  decodeString,
  decodeStringArray,
  encodeSize,
  encodeString,
  encodeStringArray,
} from "./size_string.ts";
import {
  decodeStatus,
  encodeStatus,
  isStatusSuccess,
  type PvaStatus,
  STATUS_OK,
} from "./status.ts";
import { decodeFieldDesc, encodeFieldDesc, type FieldDesc, type TypeCache } from "./typedesc.ts";
import {
  decodeValue,
  decodeValueBits,
  encodeValue,
  encodeValueBits,
  type PvValue,
} from "./value.ts";

/** Operation subcommand bits (pvAccessCPP's QOS_* names without the prefix). */
export const PvaSubcmd = {
  DEFAULT: 0x00,
  REPLY_REQUIRED: 0x01,
  BEST_EFFORT: 0x02,
  PROCESS: 0x04,
  INIT: 0x08,
  DESTROY: 0x10,
  SHARE: 0x20,
  GET: 0x40,
  GET_PUT: 0x80,
} as const;

/** MONITOR subcommands built from {@link PvaSubcmd}. */
export const MonitorSubcmd = {
  INIT: 0x08,
  INIT_PIPELINE: 0x88,
  START: 0x44,
  STOP: 0x04,
  ACK: 0x80,
  DESTROY: 0x10,
} as const;

/** SEARCH flag bits. */
export const SearchFlag = {
  REPLY_REQUIRED: 0x01,
  UNICAST: 0x80,
} as const;

/** MESSAGE (0x12) types. */
export const PvaMessageType = {
  INFO: 0,
  WARNING: 1,
  ERROR: 2,
  FATAL: 3,
} as const;

// ---------------------------------------------------------------------------
// Addresses and GUIDs

/** The 16-byte "any" address. */
export const ANY_ADDRESS: Uint8Array = new Uint8Array(16);

/**
 * An IPv4 address in the 16-byte IPv4-mapped form (`00x10 FF FF a b c d`).
 * @param ip dotted quad, e.g. "127.0.0.1"
 */
export function ipv4ToAddress(ip: string): Uint8Array {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255 && Number.isInteger(p)))) {
    throw new LocalProtocolError(`Cannot encode address "${ip}": not an IPv4 address`);
  }
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  a.set(parts, 12);
  return a;
}

/**
 * Formats a 16-byte address: dotted quad for IPv4-mapped and all-zero ("0.0.0.0"),
 * otherwise IPv6 hex groups.
 */
export function addressToString(a: Uint8Array): string {
  const v4mapped = a.subarray(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff;
  if (v4mapped) return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  if (a.every((b) => b === 0)) return "0.0.0.0";
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((a[i] << 8) | a[i + 1]).toString(16));
  return g.join(":");
}

/** Whether an address means "use the sender's address" (all zero or ::ffff:0.0.0.0). */
export function isAnyAddress(a: Uint8Array): boolean {
  return addressToString(a) === "0.0.0.0";
}

function readRaw(r: ByteReader, n: number): Uint8Array {
  return r.bytesView(n).slice();
}

function writeRaw(w: ByteWriter, b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new LocalProtocolError(`Cannot encode ${what}: need ${n} bytes`);
  w.bytes(b);
}

// ---------------------------------------------------------------------------
// UDP: search, search response, beacon, origin tag

/** CMD_SEARCH (0x03). */
export interface SearchRequest {
  /** Search sequence ID, echoed in responses. */
  sequenceId: number;
  /** {@link SearchFlag} bits. */
  flags: number;
  /** 16 bytes; any = reply to the datagram's source. */
  responseAddress: Uint8Array;
  /** UDP port to reply to. */
  responsePort: number;
  /** Protocols the client accepts (normally ["tcp"]). */
  protocols: string[];
  /** The names searched for, each with the client's search instance ID. */
  channels: { id: number; name: string }[];
}

/**
 * Writes CMD_SEARCH.
 *
 * ```text
 * u32 searchSequenceID | u8 flags | 3 x u8 reserved | 16 B responseAddress | u16 responsePort
 * Size n + n x String protocol | u16 count | count x (u32 instanceID | String name)
 * ```
 */
export function encodeSearchRequest(w: ByteWriter, m: SearchRequest): void {
  const s = beginMessage(w, PvaCommand.SEARCH, false);
  w.u32(m.sequenceId).u8(m.flags).zeros(3);
  writeRaw(w, m.responseAddress, 16, "response address");
  w.u16(m.responsePort);
  encodeStringArray(w, m.protocols);
  w.u16(m.channels.length);
  for (const c of m.channels) {
    w.u32(c.id);
    encodeString(w, c.name);
  }
  endMessage(w, s);
}

/** Reads CMD_SEARCH (see {@link encodeSearchRequest}). */
export function decodeSearchRequest(r: ByteReader): SearchRequest {
  const sequenceId = r.u32();
  const flags = r.u8();
  r.skip(3);
  const responseAddress = readRaw(r, 16);
  const responsePort = r.u16();
  const protocols = decodeStringArray(r);
  const n = r.u16();
  const channels: { id: number; name: string }[] = [];
  for (let i = 0; i < n; i++) channels.push({ id: r.u32(), name: decodeString(r) });
  return { sequenceId, flags, responseAddress, responsePort, protocols, channels };
}

/** CMD_SEARCH_RESPONSE (0x04). */
export interface SearchResponse {
  /** 12-byte server GUID. */
  guid: Uint8Array;
  /** Sequence ID of the search being answered. */
  sequenceId: number;
  /** 16-byte server address; any address = use the datagram's source. */
  serverAddress: Uint8Array;
  /** TCP port of the server. */
  serverPort: number;
  /** Transport protocol ("tcp"). */
  protocol: string;
  /** Whether the names were found (false only for explicit negative replies). */
  found: boolean;
  /** Search instance IDs of the names this response answers. */
  ids: number[];
}

/**
 * Writes CMD_SEARCH_RESPONSE.
 *
 * ```text
 * 12 B guid | u32 searchSequenceID | 16 B serverAddress | u16 serverPort | String protocol
 * u8 found | u16 count | count x u32 instanceID
 * ```
 */
export function encodeSearchResponse(w: ByteWriter, m: SearchResponse): void {
  const s = beginMessage(w, PvaCommand.SEARCH_RESPONSE, true);
  writeRaw(w, m.guid, 12, "GUID");
  w.u32(m.sequenceId);
  writeRaw(w, m.serverAddress, 16, "server address");
  w.u16(m.serverPort);
  encodeString(w, m.protocol);
  w.u8(m.found ? 1 : 0).u16(m.ids.length);
  for (const id of m.ids) w.u32(id);
  endMessage(w, s);
}

/** Reads CMD_SEARCH_RESPONSE (see {@link encodeSearchResponse}). */
export function decodeSearchResponse(r: ByteReader): SearchResponse {
  const guid = readRaw(r, 12);
  const sequenceId = r.u32();
  const serverAddress = readRaw(r, 16);
  const serverPort = r.u16();
  const protocol = decodeString(r);
  const found = r.u8() !== 0;
  // Tolerate a reply cut after "found" (old peers with no IDs).
  const n = r.remaining >= 2 ? r.u16() : 0;
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(r.u32());
  return { guid, sequenceId, serverAddress, serverPort, protocol, found, ids };
}

/** CMD_BEACON (0x00). */
export interface Beacon {
  /** 12-byte server GUID. */
  guid: Uint8Array;
  /** Flags byte (reserved). */
  flags: number;
  /** Beacon sequence number (wraps at 256). */
  sequence: number;
  /** Counter bumped when the server's channel list changes. */
  changeCount: number;
  /** 16-byte server address; any address = use the datagram's source. */
  serverAddress: Uint8Array;
  /** TCP port of the server. */
  serverPort: number;
  /** Transport protocol ("tcp"). */
  protocol: string;
  /** Optional server status (both C++ servers send none). */
  serverStatus: PvValue | null;
}

/**
 * Writes CMD_BEACON.
 *
 * ```text
 * 12 B guid | u8 flags | u8 beaconSequenceID | u16 changeCount | 16 B serverAddress
 * u16 serverPort | String protocol | FieldDesc serverStatusIF (0xFF) | [value]
 * ```
 */
export function encodeBeacon(w: ByteWriter, m: Beacon): void {
  const s = beginMessage(w, PvaCommand.BEACON, true);
  writeRaw(w, m.guid, 12, "GUID");
  w.u8(m.flags).u8(m.sequence & 0xff).u16(m.changeCount);
  writeRaw(w, m.serverAddress, 16, "server address");
  w.u16(m.serverPort);
  encodeString(w, m.protocol);
  writeAnyValue(w, m.serverStatus);
  endMessage(w, s);
}

/** Reads CMD_BEACON (see {@link encodeBeacon}). */
export function decodeBeacon(r: ByteReader, cache?: TypeCache): Beacon {
  const guid = readRaw(r, 12);
  const flags = r.u8();
  const sequence = r.u8();
  const changeCount = r.u16();
  const serverAddress = readRaw(r, 16);
  const serverPort = r.u16();
  const protocol = decodeString(r);
  const serverStatus = r.remaining > 0 ? readAnyValue(r, cache) : null;
  return { guid, flags, sequence, changeCount, serverAddress, serverPort, protocol, serverStatus };
}

/** CMD_ORIGIN_TAG (0x16): prefix of a search forwarded to the local multicast group. */
export interface OriginTag {
  /** 16-byte address of the forwarding server. */
  forwarderAddress: Uint8Array;
}

/** Writes CMD_ORIGIN_TAG: `16 B forwarderAddress`. */
export function encodeOriginTag(w: ByteWriter, m: OriginTag): void {
  const s = beginMessage(w, PvaCommand.ORIGIN_TAG, false);
  writeRaw(w, m.forwarderAddress, 16, "forwarder address");
  endMessage(w, s);
}

/** Reads CMD_ORIGIN_TAG. */
export function decodeOriginTag(r: ByteReader): OriginTag {
  return { forwarderAddress: readRaw(r, 16) };
}

// ---------------------------------------------------------------------------
// Connection setup

function writeAnyValue(w: ByteWriter, v: PvValue | null): void {
  encodeFieldDesc(w, v ? v.type : null);
  if (v) encodeValue(w, v);
}

function readAnyValue(r: ByteReader, cache?: TypeCache): PvValue | null {
  const t = decodeFieldDesc(r, cache);
  return t === null ? null : decodeValue(r, t, cache);
}

/** CONNECTION_VALIDATION (0x01) sent by the server. */
export interface ValidationRequest {
  /** Server's receive buffer size. */
  bufferSize: number;
  /** Server's introspection registry size. */
  registrySize: number;
  /** Authentication methods the server accepts, e.g. ["anonymous", "ca"]. */
  authMethods: string[];
}

/**
 * Writes the server's CONNECTION_VALIDATION.
 *
 * ```text
 * u32 serverReceiveBufferSize | u16 introspectionRegistryMaxSize | Size n + n x String
 * ```
 */
export function encodeValidationRequest(w: ByteWriter, m: ValidationRequest): void {
  const s = beginMessage(w, PvaCommand.CONNECTION_VALIDATION, true);
  w.u32(m.bufferSize).u16(m.registrySize);
  encodeStringArray(w, m.authMethods);
  endMessage(w, s);
}

/** Reads the server's CONNECTION_VALIDATION. */
export function decodeValidationRequest(r: ByteReader): ValidationRequest {
  return { bufferSize: r.u32(), registrySize: r.u16(), authMethods: decodeStringArray(r) };
}

/** CONNECTION_VALIDATION (0x01) sent by the client. */
export interface ValidationResponse {
  /** Client's receive buffer size. */
  bufferSize: number;
  /** Client's introspection registry size. */
  registrySize: number;
  /** Quality-of-service flags. */
  qos: number;
  /** The chosen authentication method. */
  authMethod: string;
  /** "ca": `{string user; string host}`; "anonymous": null. */
  authData: PvValue | null;
}

/**
 * Writes the client's CONNECTION_VALIDATION.
 *
 * ```text
 * u32 clientReceiveBufferSize | u16 registryMaxSize | u16 connectionQos | String authNZ
 * FieldDesc dataIF (0xFF = none) | [data]
 * ```
 */
export function encodeValidationResponse(w: ByteWriter, m: ValidationResponse): void {
  const s = beginMessage(w, PvaCommand.CONNECTION_VALIDATION, false);
  w.u32(m.bufferSize).u16(m.registrySize).u16(m.qos);
  encodeString(w, m.authMethod);
  writeAnyValue(w, m.authData);
  endMessage(w, s);
}

/** Reads the client's CONNECTION_VALIDATION. */
export function decodeValidationResponse(r: ByteReader, cache?: TypeCache): ValidationResponse {
  const bufferSize = r.u32();
  const registrySize = r.u16();
  const qos = r.u16();
  const authMethod = decodeString(r);
  const authData = r.remaining > 0 ? readAnyValue(r, cache) : null;
  return { bufferSize, registrySize, qos, authMethod, authData };
}

/** CONNECTION_VALIDATED (0x09), server to client: `Status`. */
export function encodeValidated(w: ByteWriter, status: PvaStatus = STATUS_OK): void {
  const s = beginMessage(w, PvaCommand.CONNECTION_VALIDATED, true);
  encodeStatus(w, status);
  endMessage(w, s);
}

/** Reads CONNECTION_VALIDATED. */
export function decodeValidated(r: ByteReader): PvaStatus {
  return decodeStatus(r);
}

/** ECHO (0x02): an arbitrary payload that the peer sends back. */
export function encodeEcho(w: ByteWriter, payload: Uint8Array, fromServer: boolean): void {
  const s = beginMessage(w, PvaCommand.ECHO, fromServer);
  w.bytes(payload);
  endMessage(w, s);
}

/** Control-message echo (spec only; peers use the ECHO command instead). */
export function encodeControlEcho(w: ByteWriter, value: number, response: boolean): void {
  encodeControl(w, response ? 4 : 3, value, response);
}

// ---------------------------------------------------------------------------
// Channels

/** CREATE_CHANNEL (0x07) request. */
export interface CreateChannelRequest {
  /** The channels to create, each with the client's channel ID. */
  channels: { cid: number; name: string }[];
}

/**
 * Writes CREATE_CHANNEL request: `u16 count | count x (u32 cid | String name)`.
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { decodeCreateChannelRequest, encodeCreateChannelRequest, PvaFramer, payloadReader } from "./mod.ts";
 * const w = new ByteWriter(64, true);
 * encodeCreateChannelRequest(w, { channels: [{ cid: 1, name: "T:ai" }] });
 * const [msg] = new PvaFramer().receive(w.toBytes());
 * const req = decodeCreateChannelRequest(payloadReader(msg));
 * if (req.channels[0].cid !== 1 || req.channels[0].name !== "T:ai") throw new Error();
 * ```
 */
export function encodeCreateChannelRequest(w: ByteWriter, m: CreateChannelRequest): void {
  const s = beginMessage(w, PvaCommand.CREATE_CHANNEL, false);
  w.u16(m.channels.length);
  for (const c of m.channels) {
    w.u32(c.cid);
    encodeString(w, c.name);
  }
  endMessage(w, s);
}

/** Reads CREATE_CHANNEL request. */
export function decodeCreateChannelRequest(r: ByteReader): CreateChannelRequest {
  const n = r.u16();
  const channels: { cid: number; name: string }[] = [];
  for (let i = 0; i < n; i++) channels.push({ cid: r.u32(), name: decodeString(r) });
  return { channels };
}

/** CREATE_CHANNEL (0x07) response. */
export interface CreateChannelResponse {
  /** Client's channel ID, echoed from the request. */
  cid: number;
  /** 0xFFFFFFFF on failure. */
  sid: number;
  /** Whether the channel was created, and why not. */
  status: PvaStatus;
}

/** Writes CREATE_CHANNEL response: `u32 cid | u32 sid | Status` (no access-rights short). */
export function encodeCreateChannelResponse(w: ByteWriter, m: CreateChannelResponse): void {
  const s = beginMessage(w, PvaCommand.CREATE_CHANNEL, true);
  w.u32(m.cid).u32(m.sid);
  encodeStatus(w, m.status);
  endMessage(w, s);
}

/** Reads CREATE_CHANNEL response (a trailing access-rights short is ignored). */
export function decodeCreateChannelResponse(r: ByteReader): CreateChannelResponse {
  return { cid: r.u32(), sid: r.u32(), status: decodeStatus(r) };
}

/** DESTROY_CHANNEL (0x08), either direction. */
export interface DestroyChannel {
  /** Server's channel ID. */
  sid: number;
  /** Client's channel ID. */
  cid: number;
}

/** Writes DESTROY_CHANNEL: `u32 sid | u32 cid`. */
export function encodeDestroyChannel(w: ByteWriter, m: DestroyChannel, fromServer: boolean): void {
  const s = beginMessage(w, PvaCommand.DESTROY_CHANNEL, fromServer);
  w.u32(m.sid).u32(m.cid);
  endMessage(w, s);
}

/** Reads DESTROY_CHANNEL. */
export function decodeDestroyChannel(r: ByteReader): DestroyChannel {
  return { sid: r.u32(), cid: r.u32() };
}

/** DESTROY_REQUEST (0x0F) and CANCEL_REQUEST (0x15): `u32 sid | u32 ioid`. */
export interface RequestIds {
  /** Server's channel ID. */
  sid: number;
  /** The operation's request ID. */
  ioid: number;
}

/**
 * Writes DESTROY_REQUEST or CANCEL_REQUEST.
 * @param command PvaCommand.DESTROY_REQUEST or PvaCommand.CANCEL_REQUEST
 */
export function encodeRequestIds(
  w: ByteWriter,
  command: typeof PvaCommand.DESTROY_REQUEST | typeof PvaCommand.CANCEL_REQUEST,
  m: RequestIds,
): void {
  const s = beginMessage(w, command, false);
  w.u32(m.sid).u32(m.ioid);
  endMessage(w, s);
}

/** Reads DESTROY_REQUEST or CANCEL_REQUEST. */
export function decodeRequestIds(r: ByteReader): RequestIds {
  return { sid: r.u32(), ioid: r.u32() };
}

/** MESSAGE (0x12): diagnostics attached to an operation. */
export interface OpMessage {
  /** The operation's request ID. */
  ioid: number;
  /** {@link PvaMessageType}. */
  type: number;
  /** The text. */
  message: string;
}

/** Writes MESSAGE: `u32 ioid | u8 type | String message`. */
export function encodeOpMessage(w: ByteWriter, m: OpMessage, fromServer = true): void {
  const s = beginMessage(w, PvaCommand.MESSAGE, fromServer);
  w.u32(m.ioid).u8(m.type);
  encodeString(w, m.message);
  endMessage(w, s);
}

/** Reads MESSAGE. */
export function decodeOpMessage(r: ByteReader): OpMessage {
  return { ioid: r.u32(), type: r.u8(), message: decodeString(r) };
}

/** GET_FIELD (0x11) request. */
export interface GetFieldRequest {
  /** Server's channel ID. */
  sid: number;
  /** The request ID, echoed in the response. */
  ioid: number;
  /** "" = the whole PV. */
  subField: string;
}

/** Writes GET_FIELD request: `u32 sid | u32 ioid | String subFieldName` (no subcommand). */
export function encodeGetFieldRequest(w: ByteWriter, m: GetFieldRequest): void {
  const s = beginMessage(w, PvaCommand.GET_FIELD, false);
  w.u32(m.sid).u32(m.ioid);
  encodeString(w, m.subField);
  endMessage(w, s);
}

/** Reads GET_FIELD request. */
export function decodeGetFieldRequest(r: ByteReader): GetFieldRequest {
  return { sid: r.u32(), ioid: r.u32(), subField: r.remaining > 0 ? decodeString(r) : "" };
}

/** GET_FIELD (0x11) response. */
export interface GetFieldResponse {
  /** The request ID from the request. */
  ioid: number;
  /** Whether the type could be given, and why not. */
  status: PvaStatus;
  /** The type (null on failure). */
  type: FieldDesc | null;
}

/** Writes GET_FIELD response: `u32 ioid | Status | [FieldDesc]`. */
export function encodeGetFieldResponse(w: ByteWriter, m: GetFieldResponse): void {
  const s = beginMessage(w, PvaCommand.GET_FIELD, true);
  w.u32(m.ioid);
  encodeStatus(w, m.status);
  if (isStatusSuccess(m.status)) encodeFieldDesc(w, m.type);
  endMessage(w, s);
}

/** Reads GET_FIELD response. */
export function decodeGetFieldResponse(r: ByteReader, cache?: TypeCache): GetFieldResponse {
  const ioid = r.u32();
  const status = decodeStatus(r);
  const type = isStatusSuccess(status) && r.remaining > 0 ? decodeFieldDesc(r, cache) : null;
  return { ioid, status, type };
}

// ---------------------------------------------------------------------------
// Operations: GET, PUT, PUT_GET, MONITOR, ARRAY, PROCESS, RPC

/** Commands that use the `sid ioid subcmd` operation framing. */
export type OpCommand =
  | typeof PvaCommand.GET
  | typeof PvaCommand.PUT
  | typeof PvaCommand.PUT_GET
  | typeof PvaCommand.MONITOR
  | typeof PvaCommand.ARRAY
  | typeof PvaCommand.PROCESS
  | typeof PvaCommand.RPC;

/** Whether `command` is one of the {@link OpCommand}s. */
export function isOpCommand(command: number): command is OpCommand {
  return command === PvaCommand.GET || command === PvaCommand.PUT ||
    command === PvaCommand.PUT_GET || command === PvaCommand.MONITOR ||
    command === PvaCommand.ARRAY || command === PvaCommand.PROCESS ||
    command === PvaCommand.RPC;
}

/**
 * An operation request (client to server). Which optional members are present depends
 * on the command and subcommand:
 * - INIT (0x08): `pvRequest`; MONITOR with 0x80 also `nfree`
 * - PUT / PUT_GET exec (0x00): `changed` + `value`
 * - MONITOR ack (0x80): `nfree`
 * - RPC exec: `args`
 * - ARRAY: `offset`, `count`, `stride`, `length`, `value`
 */
export interface OpRequest {
  /** The operation. */
  command: OpCommand;
  /** Server's channel ID. */
  sid: number;
  /** The operation's request ID. */
  ioid: number;
  /** Subcommand bits ({@link PvaSubcmd}, {@link MonitorSubcmd}). */
  subcmd: number;
  /** The pvRequest structure (INIT). */
  pvRequest?: PvValue | null;
  /** Free queue slots granted to the server (MONITOR pipeline). */
  nfree?: number;
  /** Which fields of `value` are sent (PUT, PUT_GET). */
  changed?: BitSet;
  /** The value to put, or the array slice (ARRAY). */
  value?: PvValue;
  /** The RPC argument structure. */
  args?: PvValue | null;
  /** First element of the array slice (ARRAY). */
  offset?: number;
  /** Elements to read (ARRAY get). */
  count?: number;
  /** Step between elements (ARRAY). */
  stride?: number;
  /** New array length (ARRAY set-length). */
  length?: number;
}

/**
 * Writes an operation request.
 *
 * ```text
 * u32 sid | u32 ioid | u8 subcmd, then
 *   INIT:                   FieldDesc pvRequestIF | pvRequest [| u32 nfree (MONITOR 0x80)]
 *   PUT, PUT_GET 0x00:      BitSet changed | partial value
 *   MONITOR 0x80:           u32 nfree
 *   RPC 0x00:               FieldDesc argIF | arg value
 *   ARRAY 0x40:             Size offset | Size count | Size stride
 *   ARRAY 0x00:             Size offset | Size stride | array value
 *   ARRAY 0x80:             Size length
 * ```
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { buildRequest, decodeOpRequest, encodeOpRequest, PvaCommand, PvaFramer, payloadReader, PvaSubcmd } from "./mod.ts";
 * const w = new ByteWriter(256, true);
 * encodeOpRequest(w, {
 *   command: PvaCommand.GET,
 *   sid: 1,
 *   ioid: 2,
 *   subcmd: PvaSubcmd.INIT,
 *   pvRequest: buildRequest("field(value)"),
 * });
 * const [msg] = new PvaFramer().receive(w.toBytes());
 * const op = decodeOpRequest(payloadReader(msg), PvaCommand.GET);
 * if (op.ioid !== 2 || op.subcmd !== PvaSubcmd.INIT || !op.pvRequest?.has("field.value")) {
 *   throw new Error();
 * }
 * ```
 */
export function encodeOpRequest(w: ByteWriter, m: OpRequest): void {
  const s = beginMessage(w, m.command, false);
  w.u32(m.sid).u32(m.ioid).u8(m.subcmd);
  const sub = m.subcmd;
  if (sub & PvaSubcmd.INIT) {
    writeAnyValue(w, m.pvRequest ?? null);
    if (m.command === PvaCommand.MONITOR && (sub & PvaSubcmd.GET_PUT)) w.u32(m.nfree ?? 0);
  } else {
    switch (m.command) {
      case PvaCommand.PUT:
      case PvaCommand.PUT_GET:
        if ((sub & (PvaSubcmd.GET | PvaSubcmd.GET_PUT)) === 0 && m.value) {
          const bits = m.changed ?? m.value.changed;
          encodeBitSet(w, bits);
          encodeValueBits(w, m.value, bits);
        }
        break;
      case PvaCommand.MONITOR:
        if (sub & PvaSubcmd.GET_PUT) w.u32(m.nfree ?? 0);
        break;
      case PvaCommand.RPC:
        if (m.args !== undefined) writeAnyValue(w, m.args);
        break;
      case PvaCommand.ARRAY:
        if (sub & PvaSubcmd.GET) {
          encodeSize(w, m.offset ?? 0);
          encodeSize(w, m.count ?? 0);
          encodeSize(w, m.stride ?? 1);
        } else if (sub & PvaSubcmd.GET_PUT) {
          encodeSize(w, m.length ?? 0);
        } else if ((sub & PvaSubcmd.PROCESS) === 0 && m.value) {
          encodeSize(w, m.offset ?? 0);
          encodeSize(w, m.stride ?? 1);
          encodeValue(w, m.value);
        }
        break;
    }
  }
  endMessage(w, s);
}

/** What a decoder needs from the connection and operation state. */
export interface OpDecodeContext {
  /** The connection's receive-side type cache. */
  cache?: TypeCache;
  /**
   * The value that data for operation `ioid` decodes into: the put value on the server
   * side, the per-operation cache on the client side (for PUT_GET the caller tells
   * put from get data by the subcommand). Undefined = unknown operation: the data is
   * left unread.
   */
  valueFor?: (command: OpCommand, ioid: number, subcmd: number) => PvValue | undefined;
  /** For ARRAY: the array type announced at INIT. */
  typeFor?: (command: OpCommand, ioid: number) => FieldDesc | undefined;
}

/**
 * Reads an operation request (see {@link encodeOpRequest}).
 * @param r the payload reader
 * @param command the message's command
 * @param ctx type cache and the value PUT data decodes into
 */
export function decodeOpRequest(
  r: ByteReader,
  command: OpCommand,
  ctx: OpDecodeContext = {},
): OpRequest {
  const m: OpRequest = { command, sid: r.u32(), ioid: r.u32(), subcmd: r.u8() };
  const sub = m.subcmd;
  if (sub & PvaSubcmd.INIT) {
    m.pvRequest = r.remaining > 0 ? readAnyValue(r, ctx.cache) : null;
    if (command === PvaCommand.MONITOR && (sub & PvaSubcmd.GET_PUT) && r.remaining >= 4) {
      m.nfree = r.u32();
    }
    return m;
  }
  switch (command) {
    case PvaCommand.PUT:
    case PvaCommand.PUT_GET:
      if ((sub & (PvaSubcmd.GET | PvaSubcmd.GET_PUT)) === 0 && r.remaining > 0) {
        m.changed = decodeBitSet(r);
        const v = ctx.valueFor?.(command, m.ioid, sub);
        if (v) {
          decodeValueBits(r, v, m.changed, ctx.cache);
          m.value = v;
        }
      }
      break;
    case PvaCommand.MONITOR:
      if ((sub & PvaSubcmd.GET_PUT) && r.remaining >= 4) m.nfree = r.u32();
      break;
    case PvaCommand.RPC:
      if (r.remaining > 0) m.args = readAnyValue(r, ctx.cache);
      break;
    case PvaCommand.ARRAY:
      if (sub & PvaSubcmd.GET) {
        m.offset = decodeCount(r);
        m.count = decodeCount(r);
        m.stride = decodeCount(r);
      } else if (sub & PvaSubcmd.GET_PUT) {
        m.length = decodeCount(r);
      } else if ((sub & PvaSubcmd.PROCESS) === 0 && r.remaining > 0) {
        m.offset = decodeCount(r);
        m.stride = decodeCount(r);
        const t = ctx.typeFor?.(command, m.ioid);
        if (t) m.value = decodeValue(r, t, ctx.cache);
      }
      break;
  }
  return m;
}

/**
 * An operation response (server to client). Present members by case:
 * - INIT reply: `status`, `types` (GET/PUT/MONITOR/ARRAY: one; PUT_GET: put then get)
 * - GET exec, PUT 0x40, PUT_GET (all): `status` + `changed` + `value` on success
 * - MONITOR update (0x00): `changed`, `value`, `overrun` (no status)
 * - MONITOR final (0x10): `status` (+ update members when data follows)
 * - RPC exec: `status` + `result`
 * - ARRAY: 0x40 `value`; 0x04 `length`
 */
export interface OpResponse {
  /** The operation. */
  command: OpCommand;
  /** The operation's request ID. */
  ioid: number;
  /** Subcommand bits echoed from the request. */
  subcmd: number;
  /** Outcome, for replies that carry one. */
  status?: PvaStatus;
  /** Types announced by the INIT reply (two for PUT_GET, none for PROCESS and RPC). */
  types?: (FieldDesc | null)[];
  /** Which fields of `value` are sent. */
  changed?: BitSet;
  /** The (partial) value. */
  value?: PvValue;
  /** Fields that changed more than once since the last update (MONITOR). */
  overrun?: BitSet;
  /** The RPC result. */
  result?: PvValue | null;
  /** Array length (ARRAY get-length reply). */
  length?: number;
}

function initReplyTypeCount(command: OpCommand): number {
  switch (command) {
    case PvaCommand.PUT_GET:
      return 2;
    case PvaCommand.PROCESS:
    case PvaCommand.RPC:
      return 0;
    default:
      return 1;
  }
}

/** Whether a (non-INIT) reply with this subcommand carries `BitSet + data` after the status. */
function replyHasData(command: OpCommand, sub: number): boolean {
  switch (command) {
    case PvaCommand.GET:
    case PvaCommand.PUT_GET:
      return true;
    case PvaCommand.PUT:
      return (sub & PvaSubcmd.GET) !== 0;
  }
  return false;
}

/**
 * Writes an operation response.
 *
 * ```text
 * u32 ioid | u8 subcmd, then
 *   INIT reply:            Status | [FieldDesc...]        (count by command)
 *   GET, PUT 0x40, PUT_GET: Status | [BitSet changed | partial value]
 *   PUT 0x00, PROCESS:     Status
 *   MONITOR update 0x00:   BitSet changed | partial value | BitSet overrun
 *   MONITOR final 0x10:    Status [| update]
 *   RPC 0x00:              Status | [FieldDesc resultIF | result value]
 *   ARRAY 0x40:            Status | [array value];  0x04: Status | [Size length]
 * ```
 */
export function encodeOpResponse(w: ByteWriter, m: OpResponse): void {
  const s = beginMessage(w, m.command, true);
  w.u32(m.ioid).u8(m.subcmd);
  const sub = m.subcmd;
  const status = m.status ?? STATUS_OK;
  const ok = isStatusSuccess(status);
  const writeUpdate = () => {
    const v = m.value!;
    const bits = m.changed ?? v.changed;
    encodeBitSet(w, bits);
    encodeValueBits(w, v, bits);
  };
  if (sub & PvaSubcmd.INIT) {
    encodeStatus(w, status);
    if (ok) {
      const want = initReplyTypeCount(m.command);
      const types = m.types ?? [];
      if (types.length !== want) {
        throw new LocalProtocolError(
          `Cannot encode INIT reply of 0x${m.command.toString(16)}: need ${want} types`,
        );
      }
      for (const t of types) encodeFieldDesc(w, t);
    }
  } else if (m.command === PvaCommand.MONITOR) {
    if (sub & PvaSubcmd.DESTROY) {
      encodeStatus(w, status);
      if (m.value) {
        writeUpdate();
        encodeBitSet(w, m.overrun ?? new BitSet());
      }
    } else {
      writeUpdate();
      encodeBitSet(w, m.overrun ?? new BitSet());
    }
  } else {
    encodeStatus(w, status);
    if (ok) {
      if (replyHasData(m.command, sub)) {
        if (m.value) writeUpdate();
      } else if (m.command === PvaCommand.RPC) {
        if (m.result !== undefined) writeAnyValue(w, m.result);
      } else if (m.command === PvaCommand.ARRAY) {
        if ((sub & PvaSubcmd.GET) && m.value) encodeValue(w, m.value);
        else if ((sub & PvaSubcmd.PROCESS) && m.length !== undefined) encodeSize(w, m.length);
      }
    }
  }
  endMessage(w, s);
}

/**
 * Reads an operation response (see {@link encodeOpResponse}).
 * @param r the payload reader
 * @param command the message's command
 * @param ctx type cache and the per-operation value that data merges into
 */
export function decodeOpResponse(
  r: ByteReader,
  command: OpCommand,
  ctx: OpDecodeContext = {},
): OpResponse {
  const m: OpResponse = { command, ioid: r.u32(), subcmd: r.u8() };
  const sub = m.subcmd;
  const readUpdate = () => {
    m.changed = decodeBitSet(r);
    const v = ctx.valueFor?.(command, m.ioid, sub);
    if (!v) return false;
    decodeValueBits(r, v, m.changed, ctx.cache);
    m.value = v;
    return true;
  };
  if (sub & PvaSubcmd.INIT) {
    m.status = decodeStatus(r);
    if (isStatusSuccess(m.status)) {
      const n = initReplyTypeCount(command);
      m.types = [];
      for (let i = 0; i < n && r.remaining > 0; i++) m.types.push(decodeFieldDesc(r, ctx.cache));
    }
    return m;
  }
  if (command === PvaCommand.MONITOR) {
    if (sub & PvaSubcmd.DESTROY) {
      m.status = r.remaining > 0 ? decodeStatus(r) : STATUS_OK;
      if (r.remaining > 0 && readUpdate() && r.remaining > 0) m.overrun = decodeBitSet(r);
    } else if (readUpdate()) {
      m.overrun = r.remaining > 0 ? decodeBitSet(r) : new BitSet();
    }
    return m;
  }
  m.status = decodeStatus(r);
  if (!isStatusSuccess(m.status) || r.remaining === 0) return m;
  if (replyHasData(command, sub)) {
    readUpdate();
  } else if (command === PvaCommand.RPC) {
    m.result = readAnyValue(r, ctx.cache);
  } else if (command === PvaCommand.ARRAY) {
    if (sub & PvaSubcmd.GET) {
      const t = ctx.typeFor?.(command, m.ioid);
      if (t) m.value = decodeValue(r, t, ctx.cache);
    } else if (sub & PvaSubcmd.PROCESS) {
      m.length = decodeCount(r);
    }
  }
  return m;
}

// ---------------------------------------------------------------------------
// One-call dispatch over framed messages

/** A decoded TCP or UDP message, tagged by what it is. */
export type DecodedMessage =
  | { kind: "control"; command: number; value: number; littleEndian: boolean; fromServer: boolean }
  | { kind: "beacon"; msg: Beacon }
  | { kind: "searchRequest"; msg: SearchRequest }
  | { kind: "searchResponse"; msg: SearchResponse }
  | { kind: "originTag"; msg: OriginTag }
  | { kind: "validationRequest"; msg: ValidationRequest }
  | { kind: "validationResponse"; msg: ValidationResponse }
  | { kind: "validated"; status: PvaStatus }
  | { kind: "echo"; fromServer: boolean; payload: Uint8Array }
  | { kind: "createChannelRequest"; msg: CreateChannelRequest }
  | { kind: "createChannelResponse"; msg: CreateChannelResponse }
  | { kind: "destroyChannel"; fromServer: boolean; msg: DestroyChannel }
  | { kind: "destroyRequest"; msg: RequestIds }
  | { kind: "cancelRequest"; msg: RequestIds }
  | { kind: "getFieldRequest"; msg: GetFieldRequest }
  | { kind: "getFieldResponse"; msg: GetFieldResponse }
  | { kind: "message"; fromServer: boolean; msg: OpMessage }
  | { kind: "opRequest"; msg: OpRequest }
  | { kind: "opResponse"; msg: OpResponse }
  | { kind: "unknown"; command: number; fromServer: boolean; payload: Uint8Array };

/**
 * Decodes one framed message by its command and direction bit.
 * @param m a message from {@link PvaFramer} or {@link splitDatagram}
 * @param ctx the connection's cache and operation values
 * @returns the tagged message (unknown commands come back as `kind: "unknown"`)
 * @throws {RemoteProtocolError} when the payload does not match the command
 */
export function decodeMessage(m: PvaMessage, ctx: OpDecodeContext = {}): DecodedMessage {
  if (m.control) {
    return {
      kind: "control",
      command: m.command,
      value: m.controlValue,
      littleEndian: m.littleEndian,
      fromServer: m.fromServer,
    };
  }
  const r = payloadReader(m);
  const srv = m.fromServer;
  try {
    switch (m.command) {
      case PvaCommand.BEACON:
        return { kind: "beacon", msg: decodeBeacon(r, ctx.cache) };
      case PvaCommand.SEARCH:
        return { kind: "searchRequest", msg: decodeSearchRequest(r) };
      case PvaCommand.SEARCH_RESPONSE:
        return { kind: "searchResponse", msg: decodeSearchResponse(r) };
      case PvaCommand.ORIGIN_TAG:
        return { kind: "originTag", msg: decodeOriginTag(r) };
      case PvaCommand.CONNECTION_VALIDATION:
        return srv
          ? { kind: "validationRequest", msg: decodeValidationRequest(r) }
          : { kind: "validationResponse", msg: decodeValidationResponse(r, ctx.cache) };
      case PvaCommand.CONNECTION_VALIDATED:
        return { kind: "validated", status: decodeValidated(r) };
      case PvaCommand.ECHO:
        return { kind: "echo", fromServer: srv, payload: m.payload };
      case PvaCommand.CREATE_CHANNEL:
        return srv
          ? { kind: "createChannelResponse", msg: decodeCreateChannelResponse(r) }
          : { kind: "createChannelRequest", msg: decodeCreateChannelRequest(r) };
      case PvaCommand.DESTROY_CHANNEL:
        return { kind: "destroyChannel", fromServer: srv, msg: decodeDestroyChannel(r) };
      case PvaCommand.DESTROY_REQUEST:
        return { kind: "destroyRequest", msg: decodeRequestIds(r) };
      case PvaCommand.CANCEL_REQUEST:
        return { kind: "cancelRequest", msg: decodeRequestIds(r) };
      case PvaCommand.GET_FIELD:
        return srv
          ? { kind: "getFieldResponse", msg: decodeGetFieldResponse(r, ctx.cache) }
          : { kind: "getFieldRequest", msg: decodeGetFieldRequest(r) };
      case PvaCommand.MESSAGE:
        return { kind: "message", fromServer: srv, msg: decodeOpMessage(r) };
    }
    if (isOpCommand(m.command)) {
      return srv
        ? { kind: "opResponse", msg: decodeOpResponse(r, m.command, ctx) }
        : { kind: "opRequest", msg: decodeOpRequest(r, m.command, ctx) };
    }
  } catch (e) {
    if (e instanceof RemoteProtocolError) {
      throw new RemoteProtocolError(
        `Cannot decode PVA command 0x${m.command.toString(16)}: ${e.message}`,
        { cause: e, offset: e.offset },
      );
    }
    throw e;
  }
  return { kind: "unknown", command: m.command, fromServer: srv, payload: m.payload };
}

/**
 * Encodes a message produced by {@link decodeMessage} (or built by hand) back to bytes.
 * @param w the writer; its byte order is used
 * @param d the tagged message
 */
export function encodeMessage(w: ByteWriter, d: DecodedMessage): void {
  switch (d.kind) {
    case "control":
      encodeControl(w, d.command as 0, d.value, d.fromServer);
      return;
    case "beacon":
      return encodeBeacon(w, d.msg);
    case "searchRequest":
      return encodeSearchRequest(w, d.msg);
    case "searchResponse":
      return encodeSearchResponse(w, d.msg);
    case "originTag":
      return encodeOriginTag(w, d.msg);
    case "validationRequest":
      return encodeValidationRequest(w, d.msg);
    case "validationResponse":
      return encodeValidationResponse(w, d.msg);
    case "validated":
      return encodeValidated(w, d.status);
    case "echo":
      return encodeEcho(w, d.payload, d.fromServer);
    case "createChannelRequest":
      return encodeCreateChannelRequest(w, d.msg);
    case "createChannelResponse":
      return encodeCreateChannelResponse(w, d.msg);
    case "destroyChannel":
      return encodeDestroyChannel(w, d.msg, d.fromServer);
    case "destroyRequest":
      return encodeRequestIds(w, PvaCommand.DESTROY_REQUEST, d.msg);
    case "cancelRequest":
      return encodeRequestIds(w, PvaCommand.CANCEL_REQUEST, d.msg);
    case "getFieldRequest":
      return encodeGetFieldRequest(w, d.msg);
    case "getFieldResponse":
      return encodeGetFieldResponse(w, d.msg);
    case "message":
      return encodeOpMessage(w, d.msg, d.fromServer);
    case "opRequest":
      return encodeOpRequest(w, d.msg);
    case "opResponse":
      return encodeOpResponse(w, d.msg);
    case "unknown": {
      const s = beginMessage(w, d.command, d.fromServer);
      w.bytes(d.payload);
      endMessage(w, s);
      return;
    }
  }
}
