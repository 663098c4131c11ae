/**
 * Replays every recorded CA conversation in ../shared/vectors/ca through the codec:
 * framing, header re-encoding and the DBR payload codec. Skipped when the vectors
 * folder is absent.
 */
import assert from "node:assert/strict";
import { ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import { CaCommand, MAX_ENUM_STRING_SIZE, MAX_STRING_SIZE, MAX_UNITS_SIZE } from "./constants.ts";
import { dbrInfo, decodeDbr, encodeDbr } from "./dbr.ts";
import { CaFramer, decodeDatagram } from "./framer.ts";
import { type CaMessage, encodeCaMessage, padded } from "./header.ts";

interface VectorMessage {
  proto: "udp" | "tcp";
  dir: "c2s" | "s2c";
  hex: string;
  stream?: number;
}
interface VectorFile {
  name: string;
  messages: VectorMessage[];
}

// Repo root is three levels above this folder; the vectors sit beside the repo.
const VECTOR_DIR = new URL("../../../../shared/vectors/ca/", import.meta.url);

async function loadVectors(): Promise<VectorFile[] | undefined> {
  try {
    const files: VectorFile[] = [];
    for await (const e of Deno.readDir(VECTOR_DIR)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      files.push(JSON.parse(await Deno.readTextFile(new URL(e.name, VECTOR_DIR))));
    }
    return files.sort((a, b) => a.name.localeCompare(b.name));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw e;
  }
}

const vectors = await loadVectors();

/**
 * Recordings whose capture lost bytes: caget_big_full's 800 kB reply is missing about
 * 320 kB in the middle (the recorder's buffer, not the server), so its server stream
 * ends inside that message.
 */
const TRUNCATED_STREAMS = new Set(["caget_big_full 0/s2c"]);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function reencode(msgs: CaMessage[]): Uint8Array {
  const w = new ByteWriter();
  for (const m of msgs) encodeCaMessage(w, m);
  return w.toBytes();
}

/**
 * A copy of a DBR payload with the bytes a peer may fill with anything set to zero:
 * RISC pads, bytes after the NUL in fixed-width strings, unused enum entries and the
 * trailing padding. RSRV leaves stack garbage in several of these (for instance the
 * pad of DBR_TIME_DOUBLE and the tail of DBR_STRING), so a byte-exact comparison is
 * made against this canonical form. Uses only the layout table, not the codec.
 */
function canonical(type: number, count: number, payload: Uint8Array): Uint8Array {
  const row = dbrInfo(type);
  const out = payload.slice();
  const used = row.metaSize + count * row.elemSize;
  out.fill(0, Math.min(used, out.length));
  const clearAfterNul = (at: number, width: number) => {
    const end = Math.min(at + width, out.length);
    const nul = out.subarray(at, end).indexOf(0);
    if (nul >= 0) out.fill(0, at + nul, end);
  };
  let noStr = 0;
  for (const f of row.layout) {
    if (f.kind === "pad") out.fill(0, f.offset, f.offset + f.size);
    else if (f.kind === "units") clearAfterNul(f.offset, MAX_UNITS_SIZE);
    else if (f.kind === "noStr") noStr = (out[f.offset] << 8) | out[f.offset + 1];
    else if (f.kind === "enumStrs") {
      for (let i = 0; i < 16; i++) {
        const at = f.offset + i * MAX_ENUM_STRING_SIZE;
        if (i < noStr) clearAfterNul(at, MAX_ENUM_STRING_SIZE);
        else out.fill(0, at, at + MAX_ENUM_STRING_SIZE);
      }
    }
  }
  if (row.valueType === 0) {
    for (let i = 0; i < count; i++) {
      clearAfterNul(row.metaSize + i * MAX_STRING_SIZE, MAX_STRING_SIZE);
    }
  }
  return out;
}

function checkDbr(file: string, m: CaMessage): void {
  const what = `${file}: cmd ${m.command} type ${m.dataType} count ${m.dataCount}`;
  const data = decodeDbr(m.dataType, m.dataCount, m.payload);
  const w = new ByteWriter();
  encodeDbr(w, m.dataType, m.dataCount, data);
  w.padTo(8);
  const expected = canonical(m.dataType, m.dataCount, m.payload);
  // libca's short DBR_STRING writes are shorter than 40 bytes: compare the common part.
  const got = w.toBytes().subarray(0, expected.length);
  assert.equal(toHex(got), toHex(expected), what);
}

// Reported as ignored (not passed) when the recordings are missing.
if (vectors === undefined) {
  Deno.test({
    name: "vectors: ../shared/vectors/ca is absent, so the replay is skipped",
    ignore: true,
    fn() {},
  });
}

for (const v of vectors ?? []) {
  Deno.test({
    name: `vectors: ${v.name} frames, re-encodes and decodes its DBR payloads`,
    permissions: { read: true },
    fn() {
      const streams = new Map<string, Uint8Array[]>();
      for (const [i, m] of v.messages.entries()) {
        const bytes = fromHex(m.hex);
        if (m.proto === "udp") {
          const msgs = decodeDatagram(bytes);
          assert.equal(toHex(reencode(msgs)), m.hex, `${v.name}: datagram ${i}`);
          continue;
        }
        const key = `${m.stream ?? 0}/${m.dir}`;
        if (!streams.has(key)) streams.set(key, []);
        streams.get(key)!.push(bytes);
      }
      for (const [key, chunks] of streams) {
        const framer = new CaFramer();
        const msgs: CaMessage[] = [];
        for (const c of chunks) msgs.push(...framer.receive(c));
        const whole = concat(chunks);
        if (TRUNCATED_STREAMS.has(`${v.name} ${key}`)) {
          assert.ok(framer.buffered > 0, `${v.name} ${key}: expected a cut-off message`);
          const done = reencode(msgs);
          assert.equal(toHex(done), toHex(whole.subarray(0, done.length)));
          assert.equal(done.length + framer.buffered, whole.length);
          continue;
        }
        assert.equal(framer.buffered, 0, `${v.name} ${key}: bytes left over`);
        assert.equal(toHex(reencode(msgs)), toHex(whole), `${v.name} ${key}: re-encoding`);
        const dir = key.split("/")[1];
        for (const m of msgs) {
          assert.equal(m.payload.length % 8, 0);
          const isReply = dir === "s2c" &&
            (m.command === CaCommand.READ_NOTIFY || m.command === CaCommand.EVENT_ADD) &&
            m.payload.length > 0;
          const isWrite = dir === "c2s" &&
            (m.command === CaCommand.WRITE || m.command === CaCommand.WRITE_NOTIFY);
          if (isReply || isWrite) checkDbr(v.name, m);
          if (isReply) {
            assert.equal(
              m.payload.length,
              padded(dbrInfo(m.dataType).metaSize + m.dataCount * dbrInfo(m.dataType).elemSize),
            );
          }
        }
        if (whole.length <= 1 << 16) {
          // Byte at a time gives the same messages.
          const f2 = new CaFramer();
          const one: CaMessage[] = [];
          for (let i = 0; i < whole.length; i++) one.push(...f2.receive(whole.subarray(i, i + 1)));
          assert.equal(toHex(reencode(one)), toHex(whole), `${v.name} ${key}: byte at a time`);
        }
      }
    },
  });
}
