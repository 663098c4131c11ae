/**
 * Our clients fed malformed replies by a scripted server, and a server that dies in the
 * middle of a reply: each request fails with a typed error (never a hang, never an
 * unhandled exception), and the client keeps working with a good server afterwards.
 * CA: a scripted server answering searches and CREATE_CHAN, with a chosen READ_NOTIFY
 * answer. PVA: a recorded pvxs session replayed with the reply cut or damaged.
 */
import assert from "node:assert/strict";
import { ByteWriter } from "../lib/core/bytes.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { EpicsError } from "../lib/core/errors.ts";
import { CaCommand, Dbr } from "../lib/ca/proto/constants.ts";
import { CaFramer } from "../lib/ca/proto/framer.ts";
import { type CaMessage, writeHeader } from "../lib/ca/proto/header.ts";
import {
  decodeCreateChanRequest,
  encodeAccessRights,
  encodeCreateChan,
  encodeReadNotifyReply,
  encodeVersion,
} from "../lib/ca/proto/messages.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { type Recording, startReplayServer } from "../lib/pva/client/_replay.ts";
import { PvaClient } from "../lib/pva/client/client.ts";
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";
import { ScriptedCaServer } from "./_helpers/scripted_ca_server.ts";

/** How the scripted server answers a READ_NOTIFY: bytes to write, then maybe hang up. */
type ReadAnswer = (m: CaMessage) => { bytes: Uint8Array; hangUp?: boolean };

/** A CA server that answers searches and CREATE_CHAN (one DOUBLE), and reads as told. */
function scriptedServer(answer: ReadAnswer): ScriptedCaServer {
  return new ScriptedCaServer(async (conn) => {
    const framer = new CaFramer();
    const buf = new Uint8Array(4096);
    const w = new ByteWriter();
    const write = async (b: Uint8Array) => {
      let off = 0;
      while (off < b.length) off += await conn.write(b.subarray(off));
    };
    w.reset();
    encodeVersion(w);
    await write(w.toBytes());
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      for (const m of framer.receive(buf.subarray(0, n))) {
        w.reset();
        if (m.command === CaCommand.CREATE_CHAN) {
          const r = decodeCreateChanRequest(m);
          encodeAccessRights(w, { cid: r.cid, rights: 3 });
          encodeCreateChan(w, { cid: r.cid, sid: 7, dataType: Dbr.DOUBLE, count: 1 });
          await write(w.toBytes());
        } else if (m.command === CaCommand.READ_NOTIFY) {
          const a = answer(m);
          await write(a.bytes);
          if (a.hangUp) return;
        }
      }
    }
  });
}

function goodReply(m: CaMessage, value = 42): Uint8Array {
  const w = new ByteWriter();
  encodeReadNotifyReply(w, {
    ioid: m.param2,
    eca: 1,
    dataType: m.dataType,
    count: 1,
    data: { value: new Float64Array([value]), meta: { status: 0, severity: 0 } },
  });
  return w.toBytes();
}

const CA_CASES: Array<[string, ReadAnswer]> = [
  ["a READ_NOTIFY reply whose body is shorter than its DBR type needs", (m) => {
    const w = new ByteWriter();
    writeHeader(w, CaCommand.READ_NOTIFY, 8, Dbr.TIME_DOUBLE, 1000, 1, m.param2);
    w.zeros(8);
    return { bytes: w.toBytes() };
  }],
  ["an unknown command code", () => {
    const w = new ByteWriter();
    writeHeader(w, 0x7777, 0, 0, 0, 0, 0);
    return { bytes: w.toBytes() };
  }],
  ["a payload size that is not a multiple of 8", (m) => {
    const w = new ByteWriter();
    writeHeader(w, CaCommand.READ_NOTIFY, 5, Dbr.DOUBLE, 1, 1, m.param2);
    w.zeros(5);
    return { bytes: w.toBytes() };
  }],
  ["a huge declared payload (extended header)", (m) => {
    const w = new ByteWriter();
    // Extended header: size 0xFFFF and count 0 mark the two u32 that follow.
    writeHeader(w, CaCommand.READ_NOTIFY, 0xffff, Dbr.DOUBLE, 0, 1, m.param2);
    w.u32(0x7ffffff8).u32(1);
    return { bytes: w.toBytes() };
  }],
  ["a server that dies in the middle of the reply", (m) => {
    const whole = goodReply(m);
    return { bytes: whole.subarray(0, 20), hangUp: true };
  }],
];

for (const [what, answer] of CA_CASES) {
  Deno.test(`CA client fed ${what}: the get fails with a typed error, the client lives on`, async () => {
    await using bad = scriptedServer(answer);
    const good = new SharedPV("good:x", { type: "float64", value: 5 });
    await using server = await CaServer.start({
      provider: new PvMap([good]),
      config: epicsConfigFrom(LOOPBACK_ENV).cas,
      port: 0,
    });
    await using ctx = new CaContext({
      repeater: false,
      config: epicsConfigFrom({
        ...LOOPBACK_ENV,
        EPICS_CA_ADDR_LIST: `127.0.0.1:${bad.udpPort} 127.0.0.1:${server.udpPort}`,
      }).ca,
    });
    const ch = ctx.channel("bad:x");
    await ch.connected(20);
    const err = await ch.get({ timeoutSec: 20 }).then(() => undefined, (e: Error) => e);
    assert.ok(err instanceof EpicsError, `${what}: ${err}`);
    assert.notEqual(err.name, "TimeoutError", `${what}: the client noticed, not just timed out`);
    // The client keeps working with a good server.
    const ok = ctx.channel("good:x");
    await ok.connected(20);
    assert.equal((await ok.get({ timeoutSec: 20 })).data.value[0], 5);
  });
}

// ---- PVA: a recorded pvxget session, replayed damaged ----------------------------------

const PVA_VECTOR = new URL("../../shared/vectors/pva/pvxget_T_ai.json", import.meta.url);

function loadRecording(): Recording | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(PVA_VECTOR));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

const recording = loadRecording();

/** The recording with its last server chunk (the GET data) replaced. */
function withLastReply(rec: Recording, hex: (h: string) => string): Recording {
  const i = rec.messages.findLastIndex((m) => m.proto === "tcp" && m.dir === "s2c");
  return {
    ...rec,
    messages: rec.messages.map((m, j) => j === i ? { ...m, hex: hex(m.hex) } : m),
  };
}

const PVA_CASES: Array<[string, (h: string) => string, boolean]> = [
  // Cut in the middle of the value, then the server closes.
  ["a server that dies in the middle of the GET reply", (h) => h.slice(0, h.length / 2), true],
  // The declared size grows past what follows: the client waits, then the server closes.
  ["a GET reply whose size claims more than is sent", (h) => {
    const size = (parseInt(h.slice(8, 16), 16) + 64).toString(16).padStart(8, "0");
    return h.slice(0, 8) + size + h.slice(16);
  }, true],
  // Garbage after the header, ioid and subcommand (a reply for an unknown ioid would be
  // ignored, as pvxs does): the status and value cannot decode.
  [
    "a GET reply with a garbage body",
    (h) => h.slice(0, 26) + "ff".repeat((h.length - 26) / 2),
    false,
  ],
];

for (const [what, damage, hangUp] of PVA_CASES) {
  Deno.test({
    name: recording
      ? `PVA client fed ${what}: the get fails with an error`
      : `PVA client fed ${what}: ../shared/vectors/pva is absent, skipped`,
    ignore: !recording,
    async fn() {
      const rec = withLastReply(recording!, damage);
      await using srv = startReplayServer(rec, { hangUpAfterLast: hangUp });
      await using c = new PvaClient({
        env: { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_ADDR_LIST: `127.0.0.1:${srv.udpPort}` },
        user: "",
        host: "",
      });
      const err = await c.get("T:ai", { timeout: 20 }).then(() => undefined, (e: Error) => e);
      assert.ok(err instanceof Error, `${what}: the get must fail`);
      assert.notEqual(err.name, "TimeoutError", `${what}: the client noticed, not just timed out`);
    },
  });
}
