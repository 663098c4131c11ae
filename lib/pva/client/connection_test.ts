import assert from "node:assert/strict";
import { ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import { encodeOpResponse, encodeValidationRequest } from "../proto/messages.ts";
import { STATUS_OK } from "../proto/status.ts";
import { T } from "../proto/typedesc.ts";
import { PvValue } from "../proto/value.ts";
import { buildRequest } from "../proto/request.ts";
import { encodeSetByteOrder, PvaCommand } from "../proto/header.ts";
import { ClientConnection, type ConnEvent } from "./connection.ts";

const VECTOR = new URL("../../../../shared/vectors/pva/pvxget_T_ai.json", import.meta.url);

interface Msg {
  proto: string;
  dir: string;
  hex: string;
}

/** Drives a connection through the recorded pvxget T:ai session, feeding `chunk` bytes at a time. */
function drive(chunk: number): { events: ConnEvent[]; sent: string } {
  const rec = JSON.parse(Deno.readTextFileSync(VECTOR)) as { messages: Msg[] };
  const tcp = rec.messages.filter((m) => m.proto === "tcp");
  const c = new ClientConnection();
  const events: ConnEvent[] = [];
  let sent = "";
  const take = () => {
    const b = c.takeOutput();
    if (b) sent += toHex(b);
  };
  for (const m of tcp.filter((m) => m.dir === "s2c")) {
    const bytes = fromHex(m.hex);
    for (let i = 0; i < bytes.length; i += chunk) {
      for (const ev of c.receive(bytes.subarray(i, i + chunk))) {
        events.push(ev);
        if (ev.kind === "validated") c.createChannel(0x12345678, "T:ai");
        if (ev.kind === "channelCreated") {
          c.initOp(PvaCommand.GET, ev.sid, 0x10002000, buildRequest(""));
        }
        if (ev.kind === "opInit") c.execOp(PvaCommand.GET, 0x07050301, ev.ioid, 0);
        if (ev.kind === "opData") c.destroyOp(0x07050301, ev.ioid);
      }
      take();
    }
  }
  return { events, sent };
}

function vectorPresent(): boolean {
  try {
    Deno.statSync(VECTOR);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

const present = vectorPresent();

Deno.test({
  name: present
    ? "connection: recorded pvxget session, whole chunks and byte at a time"
    : "connection: recorded pvxget session: ../shared/vectors/pva is absent, skipped",
  ignore: !present,
  permissions: { read: true },
  fn() {
    const whole = drive(1 << 20);
    const single = drive(1);
    assert.deepEqual(single.events.map((e) => e.kind), whole.events.map((e) => e.kind));
    assert.deepEqual(whole.events.map((e) => e.kind), [
      "validated",
      "channelCreated",
      "opInit",
      "opData",
    ]);
    assert.equal(single.sent, whole.sent);
    // Validation reply ("ca", empty user and host), CREATE_CHANNEL, GET INIT, EXEC, DESTROY:
    // the bytes pvxget sent.
    assert.equal(
      whole.sent,
      "ca0200011c00000000000100ff7f000002636180000204757365726004686f7374600000" +
        "ca0200070b00000001007856341204543a6169" +
        "ca02000a15000000010305070020001008800001056669656c64800000" +
        "ca02000a09000000010305070020001000" +
        "ca02000f080000000103050700200010",
    );
    const data = whole.events[3];
    assert.ok(data.kind === "opData" && data.value);
    assert.equal(data.value.get("value"), 3.14159);
  },
});

Deno.test({
  name: "connection: requests wait for CONNECTION_VALIDATED; echo replies surface",
  permissions: "none",
  fn() {
    const c = new ClientConnection({ user: "u", host: "h" });
    c.createChannel(1, "x");
    assert.equal(c.takeOutput(), undefined);
    // A big-endian server: Set byte order, CONNECTION_VALIDATION offering "ca".
    const w = new ByteWriter(64, false);
    encodeSetByteOrder(w);
    encodeValidationRequest(w, {
      bufferSize: 0x10000,
      registrySize: 0x7fff,
      authMethods: ["anonymous", "ca"],
    });
    [...c.receive(w.toBytes())];
    const validation = c.takeOutput();
    assert.ok(validation && validation[2] === 0x80, "reply is big-endian like the server");
    assert.equal(c.takeOutput(), undefined);
    const ev = [...c.receive(fromHex("ca02c00900000001ff"))];
    assert.equal(ev[0].kind, "validated");
    const out = c.takeOutput()!;
    assert.equal(out[3], PvaCommand.CREATE_CHANNEL);
    assert.equal(ev.length, 1);
    assert.equal([...c.receive(fromHex("ca02c00200000000"))][0].kind, "echo");
  },
});

Deno.test({
  name: "connection: large monitor updates read in place; their arrays end up viewed, not copied",
  permissions: "none",
  fn() {
    const c = new ClientConnection();
    [...c.receive(
      fromHex("ca02410200000000ca0240011400000000000100ff7f0209616e6f6e796d6f7573026361"),
    )];
    [...c.receive(fromHex("ca02400901000000ff"))];
    c.initOp(PvaCommand.MONITOR, 9, 77, buildRequest(""), 4);
    const type = T.struct("epics:nt/NTScalarArray:1.0", [
      ["tag", T.ubyte],
      ["value", T.array(T.uint)],
      ["alarm", T.struct("alarm_t", [["severity", T.int]])],
    ]);
    const w = new ByteWriter(1 << 17, true);
    encodeOpResponse(w, {
      command: PvaCommand.MONITOR,
      ioid: 77,
      subcmd: 0x08,
      status: STATUS_OK,
      types: [type],
    });
    const src = PvValue.create(type);
    const seen: { value: Uint32Array; viewed: boolean }[] = [];
    const feed = (bytes: Uint8Array, step: number) => {
      for (let i = 0; i < bytes.length;) {
        const s = c.readSpace();
        const k = Math.min(s.length, step, bytes.length - i);
        s.set(bytes.subarray(i, i + k));
        i += k;
        for (const ev of c.commit(k)) {
          if (ev.kind !== "opData" || !ev.value) continue;
          const a = ev.value.get("value") as Uint32Array;
          // A view on the payload has the whole message in its buffer; a copy only itself.
          seen.push({ value: a, viewed: a.buffer.byteLength > a.byteLength });
        }
      }
    };
    feed(w.toBytes(), 1 << 20);
    for (let u = 0; u < 10; u++) {
      w.reset();
      src.set("value", new Uint32Array(20000).fill(u));
      src.set("alarm.severity", u);
      src.set("tag", u);
      // Odd offset of the array in the payload: ioid, subcmd, BitSet, tag, size.
      encodeOpResponse(w, { command: PvaCommand.MONITOR, ioid: 77, subcmd: 0, value: src });
      feed(w.toBytes(), u % 2 ? 1000 : 70000);
    }
    assert.equal(seen.length, 10);
    seen.forEach((s, u) => assert.equal(s.value[19999], u));
    assert.equal(seen[0].viewed, false, "misaligned at first: copied");
    assert.ok(seen.slice(8).every((s) => s.viewed), "aligned within 8 updates");
    assert.ok(seen.every((s) => s.value.byteOffset % 4 === 0));
    // Earlier arrays are untouched by later updates.
    assert.equal(seen[0].value[0], 0);
  },
});
