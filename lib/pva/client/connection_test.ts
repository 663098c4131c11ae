import assert from "node:assert/strict";
import { ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import { encodeValidationRequest } from "../proto/messages.ts";
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

Deno.test({
  name: "connection: recorded pvxget session, whole chunks and byte at a time",
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
