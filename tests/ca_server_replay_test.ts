/**
 * Conformance of our CA server with RSRV, the CA server of an EPICS IOC.
 *
 * ../shared/vectors/ca holds conversations of EPICS base 7.0.8 `softIoc` (RSRV) with
 * catools and pyepics (libca). For each recording this test starts from SharedPVs that
 * mirror the records of ../shared/vectors/ioc/test.db (values, metadata, time stamps
 * and alarms as the recording shows them), plays the client's side against
 * {@link CaServer} over loopback, and compares our replies with RSRV's:
 *
 * - UDP: every search datagram the client sent to the server port, followed by a
 *   barrier search for a known name; the datagrams answered before the barrier's reply
 *   must equal RSRV's (apart from the TCP port advertised).
 * - TCP: the client's bytes, chunk by chunk as recorded, with the SIDs RSRV gave replaced
 *   by the ones we gave; after each chunk we wait for as many messages as RSRV had sent
 *   before the client's next chunk; at the end an ECHO proves nothing else was sent.
 *   Commands, order and header fields must match (SIDs are compared by the channel they
 *   name), and DBR payloads must match byte for byte once the bytes RSRV leaves undefined
 *   are zeroed on both sides: the RISC pads of the DBR structs, the bytes after a
 *   string's NUL, and the padding of the payload to 8 bytes.
 *
 * What is not compared, and why:
 *
 * | what                                        | why                                          |
 * |---------------------------------------------|----------------------------------------------|
 * | SID values (compared as "the SID of cid N") | each server numbers its channels its own way |
 * | RISC pads, bytes after a string's NUL, the  | RSRV leaves whatever was in its buffer there |
 * | padding of a payload to 8 bytes             |                                              |
 * | time stamps in replies sent after the       | the IOC stamped the put with its clock, we   |
 * | client's first WRITE / WRITE_NOTIFY         | stamp it with ours                           |
 * | the TCP port in search replies              | ours listens on a free port, RSRV on 5064    |
 *
 * How the records are mirrored where a SharedPV has no such behaviour of its own:
 * T:ao clips puts to DRVL/DRVH through an onPut handler; T:bo reports the DBF_ENUM range
 * 0..65535 as control limits; updates of the calc record T:calc, which scans by itself
 * in the IOC, are posted by the test with the value and stamp RSRV sent.
 *
 * Where our server still answers differently for a reason that is right for a SharedPV,
 * the expectation is rewritten through {@link EXPECTED_DIFFERENCES}, each row saying
 * why. Differences that are bugs of our server are listed in {@link KNOWN_SERVER_BUGS}:
 * those recordings assert RSRV's behaviour but only run with CA_REPLAY_KNOWN_BUGS=1
 * until the server is fixed (then delete the row). {@link DAMAGED_CAPTURES} lists
 * recordings whose capture lost bytes and what is compared of them.
 * @module
 */

import assert from "node:assert/strict";
import { fromHex, toHex } from "../lib/core/bytes.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import type { EpicsTimeStamp } from "../lib/core/time.ts";
import { CaCommand, Dbr } from "../lib/ca/proto/constants.ts";
import { dbrInfo, dbrPayloadSize, decodeDbr, isValidDbrType } from "../lib/ca/proto/dbr.ts";
import { CaFramer, decodeDatagram } from "../lib/ca/proto/framer.ts";
import { type CaMessage, headerSizeOf } from "../lib/ca/proto/header.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";

// ---- recordings ------------------------------------------------------------------------

const VECTOR_DIR = new URL("../../shared/vectors/ca/", import.meta.url);

interface Chunk {
  proto: "udp" | "tcp";
  dir: "c2s" | "s2c";
  src: number;
  dst: number;
  hex: string;
  stream?: number;
}

interface Recording {
  name: string;
  command: string;
  server_ports: number[];
  messages: Chunk[];
}

async function loadRecordings(): Promise<Recording[] | undefined> {
  const out: Recording[] = [];
  try {
    for await (const e of Deno.readDir(VECTOR_DIR)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      out.push(JSON.parse(await Deno.readTextFile(new URL(e.name, VECTOR_DIR))));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return out.sort((a, b) => a.name < b.name ? -1 : 1);
}

// ---- the IOC's records as SharedPVs ------------------------------------------------------

/** Alarm status / severity codes used below (lib/core AlarmStatus / AlarmSeverity values). */
const NO_ALARM = [0, 0] as const;
const UDF_INVALID = [17, 3] as const; // status UDF, severity INVALID
const HIHI_MAJOR = [3, 2] as const;

/** What a record holds when a recording starts: value, time stamp and [status, severity]. */
interface PvState {
  value: unknown;
  stamp: readonly [number, number];
  alarm: readonly [number, number];
}

/** The records of test.db, each as the SharedPV that comes closest to it. */
function makeRecords(putHandlers = true): Record<string, SharedPV> {
  const clip = (lo: number, hi: number) => (v: unknown) => Math.min(hi, Math.max(lo, v as number));
  const defs: [string, ConstructorParameters<typeof SharedPV>[1]][] = [
    // ai: LOPR/HOPR give both the display and the control limits of an ai.
    ["T:ai", {
      type: "float64",
      value: 3.14159,
      units: "mm",
      precision: 3,
      display: { low: -10, high: 10 },
      control: { low: -10, high: 10 },
      alarm: {
        lolo: -8,
        low: -5,
        high: 5,
        hihi: 8,
        loloSeverity: 2,
        lowSeverity: 1,
        highSeverity: 1,
        hihiSeverity: 2,
      },
    }],
    // LOW and LOLO are unset (severity NO_ALARM): an ai reports such limits as NaN.
    ["T:alarm", {
      type: "float64",
      value: 9,
      units: "mm",
      precision: 3,
      display: { low: -10, high: 10 },
      control: { low: -10, high: 10 },
      alarm: { high: 5, hihi: 8, highSeverity: 1, hihiSeverity: 2 },
    }],
    // ao: DRVL/DRVH clip a put rather than refuse it; the handler does the same.
    ["T:ao", {
      type: "float64",
      value: 1.5,
      units: "V",
      precision: 2,
      display: { low: -100, high: 100 },
      onPut: clip(-100, 100),
    }],
    ["T:ro", { type: "float64", value: 5, writable: false }],
    ["T:long", {
      type: "int32",
      value: 42,
      units: "cnt",
      // longout: with DRVL = DRVH = 0 the control limits are LOPR/HOPR; no alarm
      // severities, so no alarm limits (NaN).
      display: { low: 0, high: 1000 },
      control: { low: 0, high: 1000 },
    }],
    // bo has no control limits of its own: the IOC reports the DBF_ENUM range instead.
    ["T:bo", { type: "enum", value: 0, choices: ["Off", "On"], control: { low: 0, high: 65535 } }],
    ["T:mbbo", { type: "enum", value: 0, choices: ["Zero", "One", "Two"] }],
    ["T:str", { type: "string", value: "hello world" }],
    ["T:lso", { type: "string", value: "" }],
    ["T:wf", { type: "float64", length: 10, value: [1.5, 2.5, 3.5] }],
    ["T:float", { type: "float32", length: 1, value: [0.25] }],
    ["T:short", { type: "int16", length: 4, value: [-1, 2, -3, 4] }],
    ["T:chars", { type: "uint8", length: 256, value: "hello chars" }],
    [
      "T:big",
      {
        type: "float64",
        length: 100000,
        value: Float64Array.from({ length: 100000 }, (_, i) => i * 0.5),
      },
    ],
    ["T:calc", { type: "float64", value: 0 }],
  ];
  const out: Record<string, SharedPV> = {};
  for (const [name, opts] of defs) {
    out[name] = new SharedPV(name, putHandlers ? opts : { ...opts, onPut: undefined });
  }
  return out;
}

/** Where the IOC was before any recording: PINI processing plus init.sh's puts. */
const BASE_STATE: Record<string, PvState> = {
  "T:ai": { value: 3.14159, stamp: [0x4562e42e, 0x3579d215], alarm: NO_ALARM },
  "T:alarm": { value: 9, stamp: [0x4562e42e, 0x357a0297], alarm: HIHI_MAJOR },
  "T:ao": { value: 1.5, stamp: [0x4562e42e, 0x357a19f2], alarm: NO_ALARM },
  "T:ro": { value: 5, stamp: [0x4562e42e, 0x357a22b6], alarm: NO_ALARM },
  "T:long": { value: 42, stamp: [0x4562e42e, 0x357a33ce], alarm: NO_ALARM },
  "T:bo": { value: 0, stamp: [0x4562e42e, 0x357a281c], alarm: UDF_INVALID },
  "T:mbbo": { value: 0, stamp: [0, 0], alarm: UDF_INVALID },
  "T:str": { value: "hello world", stamp: [0x4562e42e, 0x357a5966], alarm: NO_ALARM },
  "T:lso": { value: "", stamp: [0, 0], alarm: UDF_INVALID },
  "T:wf": { value: [1.5, 2.5, 3.5], stamp: [0x4562e43f, 0x0e369edc], alarm: NO_ALARM },
  "T:float": { value: [0.25], stamp: [0x4562e43f, 0x106b5f82], alarm: NO_ALARM },
  "T:short": { value: [-1, 2, -3, 4], stamp: [0x4562e43f, 0x12bf310a], alarm: NO_ALARM },
  "T:chars": { value: "hello chars", stamp: [0x4562e43f, 0x14c6f229], alarm: NO_ALARM },
  "T:big": {
    value: Float64Array.from({ length: 100000 }, (_, i) => i * 0.5),
    stamp: [0x4562e43f, 0x31309eec],
    alarm: NO_ALARM,
  },
  "T:calc": { value: 0, stamp: [0, 0], alarm: NO_ALARM },
};

/**
 * Records whose state differs from {@link BASE_STATE} when a recording starts (earlier
 * recordings had put to them, or the calc record had counted on), as the recording's
 * first reply shows.
 */
const STATE_AT_START: Record<string, Record<string, PvState>> = {
  caput_callback: { "T:ao": { value: 7.5, stamp: [0x4562e5f6, 0x3304f303], alarm: NO_ALARM } },
  // caput -t writes before it reads: the state before the put is never seen.
  caput_terse: { "T:ao": { value: 2.5, stamp: [0x4562e5f7, 0x39364e35], alarm: NO_ALARM } },
  caput_bad_value: { "T:ao": { value: 3.5, stamp: [0x4562e5f9, 0x030faf3e], alarm: NO_ALARM } },
  caput_clip_drvh: { "T:ao": { value: 3.5, stamp: [0x4562e5f9, 0x030faf3e], alarm: NO_ALARM } },
  pyepics_put_wait: { "T:ao": { value: 100, stamp: [0x4562e601, 0x176d783f], alarm: NO_ALARM } },
  caput_enum_index: { "T:mbbo": { value: 2, stamp: [0x4562e5fc, 0x0f80a216], alarm: NO_ALARM } },
  pyepics_get: { "T:mbbo": { value: 1, stamp: [0x4562e5fd, 0x103329f3], alarm: NO_ALARM } },
  camonitor_array: {
    "T:wf": { value: [4, 5, 6], stamp: [0x4562e5fa, 0x07ed05ac], alarm: NO_ALARM },
  },
  camonitor_calc: { "T:calc": { value: 4675, stamp: [0x4562e602, 0x179e3a64], alarm: NO_ALARM } },
  camonitor_multi: { "T:calc": { value: 4692, stamp: [0x4562e604, 0x05bd3806], alarm: NO_ALARM } },
  camonitor_mask_alarm: {
    "T:calc": { value: 4708, stamp: [0x4562e605, 0x2980654e], alarm: NO_ALARM },
  },
};

function stampOf(s: readonly [number, number]): EpicsTimeStamp {
  return { secPastEpoch: s[0], nsec: s[1] };
}

/** Fresh records in the state they had when `recording` started. */
function recordsFor(recording: string, putHandlers = true): Record<string, SharedPV> {
  const pvs = makeRecords(putHandlers);
  const states = { ...BASE_STATE, ...STATE_AT_START[recording] };
  for (const [name, st] of Object.entries(states)) {
    pvs[name].post(st.value, {
      timeStamp: stampOf(st.stamp),
      alarm: { status: st.alarm[0], severity: st.alarm[1] },
    });
  }
  return pvs;
}

// ---- normalising messages for comparison ---------------------------------------------------

const COMMAND_NAMES = new Map<number, string>(
  Object.entries(CaCommand).map(([k, v]) => [v as number, k]),
);

function commandName(cmd: number): string {
  return COMMAND_NAMES.get(cmd) ?? `CMD_${cmd}`;
}

/** Requests whose param1 is the server's SID. */
const SID_REQUESTS: ReadonlySet<number> = new Set([
  CaCommand.EVENT_ADD,
  CaCommand.EVENT_CANCEL,
  CaCommand.READ,
  CaCommand.WRITE,
  CaCommand.CLEAR_CHANNEL,
  CaCommand.READ_NOTIFY,
  CaCommand.WRITE_NOTIFY,
]);

/** Replies that carry a DBR payload whose layout the header's type and count give. */
const DATA_REPLIES: ReadonlySet<number> = new Set([
  CaCommand.EVENT_ADD,
  CaCommand.READ,
  CaCommand.READ_NOTIFY,
]);

/** A message as compared: SIDs named by their channel, undefined bytes zeroed. */
interface Norm {
  command: string;
  dataType: number;
  count: number;
  param1: number | string;
  param2: number | string;
  payload: string;
  /** Only a prefix of RSRV's payload is known (a damaged capture). */
  prefix?: boolean;
}

/** How one side of the conversation gave out SIDs: SID -> the client's CID. */
type SidMap = Map<number, number>;

function sidName(sids: SidMap, sid: number): string {
  const cid = sids.get(sid);
  return cid === undefined ? `unknown sid ${sid}` : `sid of cid ${cid}`;
}

function zeroAfterNul(b: Uint8Array, start: number, size: number): void {
  const end = Math.min(b.length, start + size);
  const nul = b.subarray(start, end).indexOf(0);
  if (nul >= 0) b.fill(0, start + nul, end);
}

/**
 * Zeroes the bytes of a DBR payload that RSRV leaves undefined: RISC pads, whatever
 * follows the NUL of a string, the padding after the last element; and optionally the
 * time stamp.
 */
function zeroDontCare(payload: Uint8Array, type: number, count: number, zeroStamp: boolean) {
  if (!isValidDbrType(type)) return;
  const info = dbrInfo(type);
  for (const f of info.layout) {
    if (f.kind === "pad") payload.fill(0, f.offset, f.offset + f.size);
    else if (f.kind === "units") zeroAfterNul(payload, f.offset, f.size);
    else if (f.kind === "enumStrs") {
      for (let i = 0; i < 16; i++) zeroAfterNul(payload, f.offset + i * 26, 26);
    } else if (f.kind === "stamp" && zeroStamp) payload.fill(0, f.offset, f.offset + f.size);
  }
  if (info.valueType === Dbr.STRING) {
    for (let i = 0; i < count; i++) zeroAfterNul(payload, info.metaSize + i * 40, 40);
  }
  payload.fill(0, Math.min(payload.length, dbrPayloadSize(type, count)));
}

interface NormOptions {
  sids: SidMap;
  /** Zero the time stamps of DBR payloads (values written during the replay). */
  zeroStamp: boolean;
}

function normalize(m: CaMessage, o: NormOptions): Norm {
  const payload = m.payload.slice();
  let p1: number | string = m.param1;
  let p2: number | string = m.param2;
  let extra = "";
  switch (m.command) {
    case CaCommand.CREATE_CHAN:
      p2 = sidName(o.sids, m.param2);
      break;
    case CaCommand.READ:
    case CaCommand.CLEAR_CHANNEL:
      p1 = sidName(o.sids, m.param1);
      break;
    case CaCommand.EVENT_ADD:
      // An empty EVENT_ADD confirms a cancel and names the channel by its SID.
      if (payload.length === 0) p1 = sidName(o.sids, m.param1);
      break;
    case CaCommand.ERROR:
      // The payload starts with the offending request's header.
      if (payload.length >= 16) {
        const dv = new DataView(payload.buffer, payload.byteOffset);
        if (SID_REQUESTS.has(dv.getUint16(0))) {
          extra = ` (request's ${sidName(o.sids, dv.getUint32(8))})`;
          dv.setUint32(8, 0);
        }
        const text = dv.getUint16(2) === 0xffff ? 24 : 16;
        zeroAfterNul(payload, text, payload.length - text);
      }
      break;
  }
  if (DATA_REPLIES.has(m.command) && payload.length > 0) {
    zeroDontCare(payload, m.dataType, m.dataCount, o.zeroStamp);
  }
  return {
    command: commandName(m.command),
    dataType: m.dataType,
    count: m.dataCount,
    param1: p1,
    param2: p2,
    payload: toHex(payload) + extra,
  };
}

/** Lines saying how two normalised conversations differ (empty when they match). */
function diffConversations(expected: Norm[], actual: Norm[]): string[] {
  const out: string[] = [];
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const e = expected[i];
    const a = actual[i];
    if (!e) {
      out.push(`#${i}: extra ${a.command} ${describeNorm(a)}`);
      continue;
    }
    if (!a) {
      out.push(`#${i}: missing ${e.command} ${describeNorm(e)}`);
      continue;
    }
    const fields: string[] = [];
    for (const k of ["command", "dataType", "count", "param1", "param2"] as const) {
      if (e[k] !== a[k]) fields.push(`${k} RSRV ${e[k]} ours ${a[k]}`);
    }
    const ap = e.prefix ? a.payload.slice(0, e.payload.length) : a.payload;
    if (e.payload !== ap) fields.push(payloadDiff(e.payload, ap));
    if (fields.length) out.push(`#${i} ${e.command}: ${fields.join("; ")}`);
  }
  return out;
}

function describeNorm(m: Norm): string {
  const p = m.payload.length > 96 ? m.payload.slice(0, 96) + "..." : m.payload;
  return `type ${m.dataType} count ${m.count} p1 ${m.param1} p2 ${m.param2} payload ${p}`;
}

function payloadDiff(e: string, a: string): string {
  if (e.length <= 128 && a.length <= 128) return `payload RSRV ${e} ours ${a}`;
  let i = 0;
  while (i < e.length && e[i] === a[i]) i++;
  const at = i - (i % 2);
  return `payload (${e.length / 2} vs ${a.length / 2} bytes) differs from byte ${at / 2}: ` +
    `RSRV ${e.slice(at, at + 48)} ours ${a.slice(at, at + 48)}`;
}

// ---- replaying the TCP side ------------------------------------------------------------------

/** A raw TCP connection that frames what the server sends. */
class TcpPeer {
  readonly conn: Deno.TcpConn;
  readonly received: CaMessage[] = [];
  readonly #framer = new CaFramer();
  #wake: (() => void) | undefined;
  #loop: Promise<void>;
  #ended = false;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.#loop = this.#read();
  }

  async #read(): Promise<void> {
    try {
      for (;;) {
        const buf = new Uint8Array(256 * 1024);
        const n = await this.conn.read(buf);
        if (n === null) break;
        for (const m of this.#framer.receive(buf.subarray(0, n))) this.received.push(m);
        this.#wake?.();
      }
    } catch {
      // Closed under us at the end of the replay.
    } finally {
      this.#ended = true;
      this.#wake?.();
    }
  }

  async send(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Waits until `pred` holds or `ms` pass; returns whether it holds. */
  async until(pred: () => boolean, ms: number): Promise<boolean> {
    if (pred()) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => timer = setTimeout(r, ms));
    try {
      while (!pred() && !this.#ended) {
        const woke = new Promise<void>((r) => this.#wake = r);
        const which = await Promise.race([woke.then(() => 0), timeout.then(() => 1)]);
        if (which === 1) break;
      }
    } finally {
      clearTimeout(timer);
      this.#wake = undefined;
    }
    return pred();
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#loop;
  }
}

/**
 * How long to wait for a reply RSRV sent before concluding that ours is missing: a
 * backstop only (the wait ends as soon as the replies are in), generous for busy machines.
 */
const REPLY_WAIT_MS = 10_000;

/** The messages of a byte string with the offset of each. */
function splitMessages(bytes: Uint8Array): { m: CaMessage; offset: number }[] {
  const framer = new CaFramer();
  const out: { m: CaMessage; offset: number }[] = [];
  let offset = 0;
  for (const m of framer.receive(bytes)) {
    out.push({ m, offset });
    offset += headerSizeOf(m) + m.payload.length;
  }
  assert.equal(framer.buffered, 0, "a client chunk ends inside a message");
  return out;
}

/** The recorded conversation: RSRV's messages and the client's chunks. */
interface ServerSide {
  expected: CaMessage[];
  /** The client's chunks, each with how many messages RSRV had sent before it. */
  clientChunks: { bytes: Uint8Array; repliesBefore: number }[];
  /** Indexes of messages known only by a prefix (see {@link DAMAGED_CAPTURES}). */
  partial: Set<number>;
}

function isKnownCommand(m: CaMessage): boolean {
  return COMMAND_NAMES.has(m.command) && m.command !== CaCommand.RSRV_IS_UP;
}

/**
 * Frames RSRV's side of a recording. With `repair`, the capture is known to have lost
 * bytes inside a message: that message keeps the header and the payload bytes of the
 * chunk it started in; later chunks are dropped until one frames cleanly on its own.
 */
function frameServerSide(tcp: Chunk[], repair: boolean): ServerSide {
  const expected: CaMessage[] = [];
  const clientChunks: ServerSide["clientChunks"] = [];
  const partial = new Set<number>();
  let pending = new Uint8Array(0);
  let lost = false;
  for (const c of tcp) {
    const bytes = fromHex(c.hex);
    if (c.dir === "c2s") {
      clientChunks.push({ bytes, repliesBefore: expected.length });
      continue;
    }
    if (lost) {
      const f = new CaFramer();
      const ms = f.receive(bytes);
      if (f.buffered || !ms.length || !ms.every(isKnownCommand)) continue;
      lost = false;
      pending = new Uint8Array(0);
      expected.push(...ms);
      continue;
    }
    const all = new Uint8Array(pending.length + bytes.length);
    all.set(pending);
    all.set(bytes, pending.length);
    const f = new CaFramer();
    const ms = f.receive(all);
    expected.push(...ms);
    pending = all.subarray(all.length - f.buffered);
    if (repair && pending.length >= 24) {
      // Keep what this chunk holds of the message; the rest of it was not captured whole.
      const dv = new DataView(pending.buffer, pending.byteOffset);
      const extended = dv.getUint16(2) === 0xffff;
      partial.add(expected.length);
      expected.push({
        command: dv.getUint16(0),
        dataType: dv.getUint16(4),
        dataCount: extended ? dv.getUint32(20) : dv.getUint16(6),
        param1: dv.getUint32(8),
        param2: dv.getUint32(12),
        payload: pending.slice(extended ? 24 : 16),
      });
      lost = true;
    }
  }
  if (!repair) assert.equal(pending.length, 0, "RSRV's side ends inside a message");
  else assert.ok(partial.size > 0, "the capture framed cleanly: remove it from DAMAGED_CAPTURES");
  return { expected, clientChunks, partial };
}

interface TcpOutcome {
  expected: CaMessage[];
  partial: Set<number>;
  actual: CaMessage[];
  expectedSids: SidMap;
  actualSids: SidMap;
  /** Index in the conversation of the first reply sent after the client's first put. */
  firstAfterPut: { expected: number; actual: number };
  notes: string[];
}

/** EVENT_ADD updates that no request caused: a record that processed by itself. */
function spontaneousUpdates(expected: CaMessage[], from: number): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < expected.length; i++) {
    const m = expected[i];
    if (m.command !== CaCommand.EVENT_ADD || m.payload.length === 0) continue;
    if (i >= from && seen.has(m.param2)) out.push(i);
    seen.add(m.param2);
  }
  return out;
}

async function replayTcp(
  rec: Recording,
  port: number,
  pvs: Record<string, SharedPV>,
  afterwards?: (pvs: Record<string, SharedPV>) => void,
): Promise<TcpOutcome> {
  const tcp = rec.messages.filter((c) => c.proto === "tcp");
  // The recorded server side, framed, and how many messages it had sent before each of
  // the client's chunks.
  const { expected, clientChunks, partial } = frameServerSide(tcp, rec.name in DAMAGED_CAPTURES);
  const expectedSids: SidMap = new Map();
  const cidOfName = new Map<string, number>();
  for (const c of clientChunks) {
    for (const { m } of splitMessages(c.bytes)) {
      if (m.command === CaCommand.CREATE_CHAN) {
        cidOfName.set(new TextDecoder().decode(m.payload).replace(/\0+$/, ""), m.param1);
      }
    }
  }
  for (const m of expected) {
    if (m.command === CaCommand.CREATE_CHAN) expectedSids.set(m.param2, m.param1);
  }
  const lastChunkReplies = clientChunks.at(-1)?.repliesBefore ?? 0;
  const spontaneous = spontaneousUpdates(expected, lastChunkReplies);
  const solicited = expected.length - spontaneous.length;

  const notes: string[] = [];
  const peer = new TcpPeer(await Deno.connect({ hostname: "127.0.0.1", port }));
  const actualSids: SidMap = new Map();
  const ourSidOfCid = () => {
    const m = new Map<number, number>();
    for (const r of peer.received) {
      if (r.command === CaCommand.CREATE_CHAN) {
        m.set(r.param1, r.param2);
        actualSids.set(r.param2, r.param1);
      }
    }
    return m;
  };
  const firstAfterPut = { expected: -1, actual: -1 };
  try {
    for (let i = 0; i < clientChunks.length; i++) {
      const want = Math.min(clientChunks[i].repliesBefore, solicited);
      if (!await peer.until(() => peer.received.length >= want, REPLY_WAIT_MS)) {
        notes.push(`chunk ${i}: ${peer.received.length} replies where RSRV had sent ${want}`);
      }
      const bytes = clientChunks[i].bytes.slice();
      const dv = new DataView(bytes.buffer);
      const sidOf = ourSidOfCid();
      for (const { m, offset } of splitMessages(bytes)) {
        if (
          (m.command === CaCommand.WRITE || m.command === CaCommand.WRITE_NOTIFY) &&
          firstAfterPut.expected < 0
        ) {
          firstAfterPut.expected = clientChunks[i].repliesBefore;
          firstAfterPut.actual = peer.received.length;
        }
        if (!SID_REQUESTS.has(m.command)) continue;
        const cid = expectedSids.get(m.param1);
        const ours = cid === undefined ? undefined : sidOf.get(cid);
        if (ours === undefined) {
          notes.push(`chunk ${i}: no SID of ours for RSRV's SID ${m.param1} (cid ${cid})`);
          continue;
        }
        dv.setUint32(offset + 8, ours);
      }
      await peer.send(bytes);
    }
    if (!await peer.until(() => peer.received.length >= solicited, REPLY_WAIT_MS)) {
      notes.push(`end: ${peer.received.length} replies where RSRV had sent ${solicited}`);
    }
    // Updates the IOC produced by itself (a scanned record): post what it posted.
    const subjectOfSub = new Map<number, string>();
    for (const c of clientChunks) {
      for (const { m } of splitMessages(c.bytes)) {
        if (m.command !== CaCommand.EVENT_ADD) continue;
        const cid = expectedSids.get(m.param1);
        for (const [name, c2] of cidOfName) if (c2 === cid) subjectOfSub.set(m.param2, name);
      }
    }
    for (const idx of spontaneous) {
      const m = expected[idx];
      const pv = pvs[subjectOfSub.get(m.param2) ?? ""];
      assert.ok(pv, `no PV for subscription ${m.param2}`);
      const d = decodeDbr(m.dataType, m.dataCount, m.payload);
      const v = pv.type.kind === "array" ? d.value : d.value[0];
      pv.post(v, {
        timeStamp: d.meta.stamp,
        alarm: { status: d.meta.status, severity: d.meta.severity },
      });
      const n = peer.received.length + 1;
      if (!await peer.until(() => peer.received.length >= n, REPLY_WAIT_MS)) {
        notes.push(`no update after posting what RSRV sent as message #${idx}`);
      }
    }
    afterwards?.(pvs);
    // Let pending puts settle, then prove with an ECHO that nothing else was sent.
    await new Promise((r) => setTimeout(r, 0));
    const before = peer.received.length;
    await peer.send(new Uint8Array([0, CaCommand.ECHO, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    const echoed = () => peer.received.slice(before).some((m) => m.command === CaCommand.ECHO);
    if (!await peer.until(echoed, 2000)) notes.push("no answer to the final ECHO");
    ourSidOfCid();
  } finally {
    await peer.close();
  }
  const actual = [...peer.received];
  const echo = actual.findLastIndex((m) => m.command === CaCommand.ECHO);
  if (echo >= 0) actual.splice(echo, 1);
  return { expected, partial, actual, expectedSids, actualSids, firstAfterPut, notes };
}

// ---- replaying the UDP side ------------------------------------------------------------------

/** Search id of the barrier search that ends each UDP exchange. */
const BARRIER_ID = 0x0ba55e;

/** VERSION + SEARCH for T:ai with id {@link BARRIER_ID}: every server answers it. */
function barrierDatagram(): Uint8Array {
  const b = new Uint8Array(40);
  const dv = new DataView(b.buffer);
  dv.setUint16(4, 1); // VERSION, sequence number valid
  dv.setUint16(6, 13);
  dv.setUint32(8, BARRIER_ID);
  dv.setUint16(16, CaCommand.SEARCH);
  dv.setUint16(18, 8);
  dv.setUint16(20, 5); // DONT_REPLY
  dv.setUint16(22, 13);
  dv.setUint32(24, BARRIER_ID);
  dv.setUint32(28, BARRIER_ID);
  b.set(new TextEncoder().encode("T:ai"), 32);
  return b;
}

function isBarrierReply(d: Uint8Array): boolean {
  return decodeDatagram(d).some((m) => m.command === CaCommand.SEARCH && m.param2 === BARRIER_ID);
}

/** A search reply as compared: the advertised TCP port replaced by a name. */
function normalizeDatagram(d: Uint8Array, tcpPort: number): Norm[] {
  return decodeDatagram(d).map((m) => ({
    command: commandName(m.command),
    dataType: m.command === CaCommand.SEARCH && m.dataType === tcpPort ? -1 : m.dataType,
    count: m.dataCount,
    param1: m.param1,
    param2: m.param2,
    payload: toHex(m.payload),
  }));
}

/** Replays the recorded search datagrams; returns the differences found. */
async function replayUdp(rec: Recording, udpPort: number, tcpPort: number): Promise<string[]> {
  const serverPort = rec.server_ports[0];
  const udp = rec.messages.filter((c) => c.proto === "udp");
  const exchanges: { request: Uint8Array; replies: Uint8Array[] }[] = [];
  for (const c of udp) {
    if (c.dir === "c2s" && c.dst === serverPort) {
      exchanges.push({ request: fromHex(c.hex), replies: [] });
    } else if (c.dir === "s2c" && c.src === serverPort && exchanges.length) {
      exchanges.at(-1)!.replies.push(fromHex(c.hex));
    }
  }
  if (!exchanges.length) return [];
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: udpPort };
  const diffs: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (let i = 0; i < exchanges.length; i++) {
      await sock.send(exchanges[i].request, to);
      await sock.send(barrierDatagram(), to);
      const got: Uint8Array[] = [];
      const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), 20_000));
      for (;;) {
        const recv = sock.receive();
        recv.catch(() => {}); // rejected by close() when the barrier never came back
        const r = await Promise.race([recv, timeout]);
        if (r === "timeout") {
          diffs.push(`search ${i}: no reply to the barrier search`);
          break;
        }
        if (isBarrierReply(r[0])) break;
        got.push(r[0]);
      }
      clearTimeout(timer);
      const exp = exchanges[i].replies.map((d) => normalizeDatagram(d, serverPort));
      const act = got.map((d) => normalizeDatagram(d, tcpPort));
      if (exp.length !== act.length) {
        diffs.push(`search ${i}: ${act.length} reply datagrams where RSRV sent ${exp.length}`);
      }
      for (let j = 0; j < Math.min(exp.length, act.length); j++) {
        for (const line of diffConversations(exp[j], act[j])) {
          diffs.push(`search ${i} reply ${j} ${line}`);
        }
      }
    }
  } finally {
    clearTimeout(timer);
    sock.close();
  }
  return diffs;
}

// ---- the tests ---------------------------------------------------------------------------------

/** Recordings not replayed, and why. */
const NOT_REPLAYED: Record<string, string> = {
  ca_beacons_startup: "the IOC's own start-up beacons, no client (see ca_beacon_test.ts)",
};

/** Recordings whose capture of RSRV's side lost bytes, and what is compared instead. */
const DAMAGED_CAPTURES: Record<string, string> = {
  caget_big_full: "the capture lost about 319 kB inside the 800 kB READ_NOTIFY reply of " +
    "T:big; compared: the other messages, that reply's header and its first 290 kB",
};

/** A way our server legitimately answers differently from RSRV. */
interface ExpectedDifference {
  recording: string;
  /** What differs, as a client sees it. */
  what: string;
  /** Why a SharedPV answers so. */
  why: string;
  /** Turns RSRV's messages into what our server must send instead. */
  expect: (rsrv: Norm[]) => void;
}

/** Sets `hex` at byte `offset` of message `index`'s payload. */
function patchPayload(index: number, offset: number, hex: string): (rsrv: Norm[]) => void {
  return (rsrv) => {
    const p = rsrv[index].payload;
    rsrv[index].payload = p.slice(0, 2 * offset) + hex + p.slice(2 * offset + hex.length);
  };
}

/**
 * Documented differences from RSRV that come from the IOC's records doing things a
 * SharedPV does not. Each row must change the expectation (a stale row fails).
 */
const EXPECTED_DIFFERENCES: ExpectedDifference[] = [
  {
    recording: "caput_enum_string",
    what: "the read after `caput T:mbbo Two` (#5, DBR_TIME_STRING) reports status UDF, " +
      "severity INVALID (as before the put) where RSRV reports NO_ALARM",
    why: "processing the mbbo record on a put recomputes its alarm and clears UDF; a " +
      "SharedPV keeps the alarm it was last posted with (an enum has no alarm limits)",
    expect: patchPayload(5, 0, "00110003"),
  },
];

/**
 * Recordings where our server differs from RSRV in a way a client can notice: bugs to fix
 * in lib/ca/server (or lib/pv). They assert RSRV's behaviour and run only with
 * CA_REPLAY_KNOWN_BUGS=1; delete the row once fixed.
 */
// None known. (A read-back after a put used to see the old value when the PV had a put
// handler; synchronous puts are now applied synchronously, as an IOC record does.)
const KNOWN_SERVER_BUGS: Record<string, KnownBug> = {};

/** One known bug of our server, as seen in a recording. */
interface KnownBug {
  /** What is wrong, in a few words. */
  bug: string;
  /**
   * Also replay the recording, by default, with the put handlers removed from the
   * SharedPVs: that sidesteps the bug and keeps the rest of the conversation checked.
   */
  alsoWithoutPutHandlers?: boolean;
}

/** Posts made after the replay that must not produce any message, and why. */
const QUIET_POSTS: Record<string, { pv: string; values: number[]; why: string }> = {
  camonitor_mask_alarm: {
    pv: "T:calc",
    values: [4709, 4710, 4711, 4712, 4713],
    why: "the calc record kept counting while camonitor -m a listened; value changes " +
      "without an alarm change must not reach a DBE_ALARM subscription",
  },
};

async function replay(rec: Recording, putHandlers = true): Promise<string[]> {
  const sink = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const sinkPort = (sink.addr as Deno.NetAddr).port;
  const config = epicsConfigFrom({
    EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
    EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    EPICS_CAS_BEACON_ADDR_LIST: `127.0.0.1:${sinkPort}`,
  }).cas;
  const pvs = recordsFor(rec.name, putHandlers);
  const provider = new PvMap(Object.values(pvs));
  const server = await CaServer.start({ provider, config, port: 0 });
  try {
    const diffs = await replayUdp(rec, server.udpPort, server.tcpPort);
    if (!rec.messages.some((c) => c.proto === "tcp")) return diffs;
    const quiet = QUIET_POSTS[rec.name];
    const o = await replayTcp(rec, server.tcpPort, pvs, () => {
      if (!quiet) return;
      for (const v of quiet.values) pvs[quiet.pv].post(v);
    });
    const zeroFrom = (i: number) => (k: number) => i >= 0 && k >= i;
    const expZero = zeroFrom(o.firstAfterPut.expected);
    const actZero = zeroFrom(o.firstAfterPut.actual);
    const exp = o.expected.map((m, k) =>
      normalize(m, { sids: o.expectedSids, zeroStamp: expZero(k) })
    );
    const act = o.actual.map((m, k) => normalize(m, { sids: o.actualSids, zeroStamp: actZero(k) }));
    for (const k of o.partial) exp[k].prefix = true;
    for (const d of EXPECTED_DIFFERENCES.filter((d) => d.recording === rec.name)) {
      const before = JSON.stringify(exp);
      d.expect(exp);
      assert.notEqual(JSON.stringify(exp), before, `stale expected difference: ${d.what}`);
    }
    diffs.push(...o.notes, ...diffConversations(exp, act));
    // Wait for the server to see the client go, so the test leaves nothing open.
    for (let i = 0; i < 200 && server.circuitCount > 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    return diffs;
  } finally {
    await server.close();
    sink.close();
  }
}

const recordings = await loadRecordings();

// Reported as ignored (not passed) when the recordings are missing.
if (recordings === undefined) {
  Deno.test({
    name: "RSRV replay: ../shared/vectors/ca is absent, so the replay is skipped",
    ignore: true,
    fn() {},
  });
}

const runKnownBugs = Deno.env.get("CA_REPLAY_KNOWN_BUGS") === "1";

for (const rec of recordings ?? []) {
  if (rec.name in NOT_REPLAYED) continue;
  const known = KNOWN_SERVER_BUGS[rec.name];
  Deno.test({
    name: `RSRV replay: ${rec.name} (${rec.command})${known ? ` [known bug ${known.bug}]` : ""}`,
    ignore: known !== undefined && !runKnownBugs,
    async fn() {
      const diffs = await replay(rec);
      assert.deepEqual(diffs, [], `${rec.name} differs from RSRV:\n  ${diffs.join("\n  ")}`);
    },
  });
  if (known?.alsoWithoutPutHandlers) {
    Deno.test(`RSRV replay: ${rec.name} without put handlers (sidesteps ${known.bug})`, async () => {
      const diffs = await replay(rec, false);
      assert.deepEqual(diffs, [], `${rec.name} differs from RSRV:\n  ${diffs.join("\n  ")}`);
    });
  }
}

Deno.test("RSRV replay: every table row names a recording", {
  ignore: recordings === undefined,
}, () => {
  const names = new Set(recordings!.map((r) => r.name));
  const rows = [
    ...Object.keys(NOT_REPLAYED),
    ...Object.keys(DAMAGED_CAPTURES),
    ...EXPECTED_DIFFERENCES.map((d) => d.recording),
    ...Object.keys(KNOWN_SERVER_BUGS),
    ...Object.keys(STATE_AT_START),
    ...Object.keys(QUIET_POSTS),
  ];
  assert.deepEqual(rows.filter((n) => !names.has(n)), []);
});
