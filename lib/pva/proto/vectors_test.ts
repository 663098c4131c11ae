import assert from "node:assert/strict";
import { ByteWriter, fromHex, toHex } from "../../core/bytes.ts";
import {
  bitPaths,
  type DecodedMessage,
  decodeMessage,
  encodeMessage,
  type FieldDesc,
  type OpCommand,
  PvaCommand,
  PvaFramer,
  type PvaMessage,
  PvValue,
  splitDatagram,
  TypeCache,
} from "./mod.ts";

// Recorded pvxs traffic lives in the shared folder next to the repository.
const VECTORS = new URL("../../../../shared/vectors/pva/", import.meta.url);

interface Vector {
  name: string;
  stdout: string;
  messages: { proto: "tcp" | "udp"; dir: "c2s" | "s2c"; hex: string; stream?: number }[];
}

function loadVectors(): Vector[] | undefined {
  try {
    const out: Vector[] = [];
    for (const e of Deno.readDirSync(VECTORS)) {
      if (e.name.endsWith(".json")) {
        out.push(JSON.parse(Deno.readTextFileSync(new URL(e.name, VECTORS))));
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return undefined;
  }
}

const vectors = loadVectors();

/** Per-stream state as a client and a server keep it: type caches and operation values. */
class StreamState {
  c2sCache = new TypeCache();
  s2cCache = new TypeCache();
  /** ioid -> command of the INIT. */
  ops = new Map<number, OpCommand>();
  /** ioid -> INIT reply types. */
  types = new Map<number, (FieldDesc | null)[]>();
  /** ioid -> the client's cached value (data replies merge into it). */
  values = new Map<number, PvValue>();
  /** ioid -> put value (server side, what a put decodes into). */
  putValues = new Map<number, PvValue>();
  c2sFramer = new PvaFramer();
  s2cFramer = new PvaFramer();

  ctx(fromServer: boolean) {
    return {
      cache: fromServer ? this.s2cCache : this.c2sCache,
      valueFor: (command: OpCommand, ioid: number, subcmd: number) => {
        const types = this.types.get(ioid);
        if (!types) return undefined;
        // PUT_GET: put data for 0x80, get data otherwise; everything else has one type.
        const t = command === PvaCommand.PUT_GET && !(subcmd & 0x80) ? types[1] : types[0];
        if (!t) return undefined;
        const map = fromServer ? this.values : this.putValues;
        let v = map.get(ioid);
        if (!v) map.set(ioid, v = PvValue.create(t));
        return v;
      },
    };
  }

  note(d: DecodedMessage): void {
    if (d.kind === "opRequest" && (d.msg.subcmd & 0x08)) this.ops.set(d.msg.ioid, d.msg.command);
    if (d.kind === "opResponse" && (d.msg.subcmd & 0x08) && d.msg.types) {
      this.types.set(d.msg.ioid, d.msg.types);
    }
  }
}

function reencode(msgs: PvaMessage[], decoded: DecodedMessage[]): Uint8Array {
  const w = new ByteWriter(256);
  msgs.forEach((m, i) => {
    w.littleEndian = m.littleEndian;
    encodeMessage(w, decoded[i]);
  });
  return w.toBytes();
}

interface Replay {
  decoded: DecodedMessage[];
  tcpMessages: number;
  udpMessages: number;
}

/** Replays a vector: decodes every message, checks that re-encoding gives the bytes back. */
function replay(v: Vector, chunking: "whole" | "bytes" = "whole"): Replay {
  const streams = new Map<number, StreamState>();
  const out: Replay = { decoded: [], tcpMessages: 0, udpMessages: 0 };
  const udpCache = new TypeCache();
  for (const [i, rec] of v.messages.entries()) {
    const bytes = fromHex(rec.hex);
    const where = `${v.name} message ${i} (${rec.proto} ${rec.dir})`;
    if (rec.proto === "udp") {
      const msgs = splitDatagram(bytes);
      assert.ok(msgs.length > 0, where);
      const dec = msgs.map((m) => decodeMessage(m, { cache: udpCache }));
      out.decoded.push(...dec);
      out.udpMessages += msgs.length;
      assert.equal(toHex(reencode(msgs, dec)), rec.hex, `${where}: re-encoded bytes differ`);
      continue;
    }
    const sid = rec.stream ?? 0;
    let st = streams.get(sid);
    if (!st) streams.set(sid, st = new StreamState());
    const framer = rec.dir === "s2c" ? st.s2cFramer : st.c2sFramer;
    const msgs: PvaMessage[] = [];
    if (chunking === "bytes") {
      for (let k = 0; k < bytes.length; k++) msgs.push(...framer.receive(bytes.subarray(k, k + 1)));
    } else {
      msgs.push(...framer.receive(bytes));
    }
    // Re-encode each message right after decoding it: later updates of the same
    // operation merge into the same cached value.
    const w = new ByteWriter(256);
    for (const m of msgs) {
      assert.equal(m.fromServer, rec.dir === "s2c", `${where}: direction bit`);
      const d = decodeMessage(m, st.ctx(m.fromServer));
      assert.notEqual(d.kind, "unknown", `${where}: unknown command ${m.command}`);
      st.note(d);
      out.decoded.push(d);
      w.littleEndian = m.littleEndian;
      encodeMessage(w, d);
    }
    out.tcpMessages += msgs.length;
    // Each recorded chunk ends on a message boundary in these recordings.
    assert.equal(framer.buffered, 0, `${where}: bytes left in the framer`);
    assert.equal(toHex(w.view()), rec.hex, `${where}: re-encoded bytes differ`);
  }
  return out;
}

Deno.test({
  name: "vectors: every recorded PVA message decodes completely and re-encodes identically",
  ignore: vectors === undefined,
  permissions: { read: true },
  fn() {
    assert.ok(vectors!.length >= 40);
    let tcp = 0, udp = 0;
    for (const v of vectors!) {
      const r = replay(v);
      tcp += r.tcpMessages;
      udp += r.udpMessages;
    }
    assert.ok(tcp > 300 && udp > 100, `tcp ${tcp} udp ${udp}`);
  },
});

Deno.test({
  name: "vectors: byte-at-a-time framing yields the same messages",
  ignore: vectors === undefined,
  permissions: { read: true },
  fn() {
    for (const v of vectors!) {
      const a = replay(v, "whole").decoded.map((d) => d.kind);
      const b = replay(v, "bytes").decoded.map((d) => d.kind);
      assert.deepEqual(b, a, v.name);
    }
  },
});

function lastData(r: Replay): PvValue {
  const d = r.decoded.filter((x) => x.kind === "opResponse" && x.msg.value).at(-1);
  assert.ok(d && d.kind === "opResponse" && d.msg.value);
  return d.msg.value;
}

function vector(name: string): Vector {
  const v = vectors!.find((x) => x.name === name);
  assert.ok(v, name);
  return v;
}

Deno.test({
  name: "vectors: pvxget T:ai NTScalar double matches the recorded output",
  ignore: vectors === undefined,
  permissions: { read: true },
  fn() {
    const r = replay(vector("pvxget_T_ai"));
    const v = lastData(r);
    assert.equal(v.type.id, "epics:nt/NTScalar:1.0");
    assert.equal(v.get("value"), 3.14159);
    assert.equal(v.get("alarm.severity"), 0);
    assert.equal(v.get("alarm.message"), "");
    assert.equal(v.get("timeStamp.secondsPastEpoch"), 1795260846n);
    assert.equal(v.get("timeStamp.nanoseconds"), 897176085);
    assert.equal(v.get("display.limitLow"), -10);
    assert.equal(v.get("display.description"), "analog in");
    assert.equal(v.get("display.units"), "mm");
    assert.equal(v.get("display.precision"), 3);
    assert.deepEqual(v.get("display.form.choices"), [
      "Default",
      "String",
      "Binary",
      "Decimal",
      "Hex",
      "Exponential",
      "Engineering",
    ]);
    assert.equal(v.get("valueAlarm.highAlarmLimit"), 8);
    // pvxs marks leaves only; the printed fields are exactly the marked ones.
    const printed = v.changedPaths();
    assert.ok(printed.includes("value") && printed.includes("valueAlarm.highAlarmLimit"));
    assert.ok(!printed.includes("alarm") && !printed.includes("valueAlarm.active"));
    // The recorded stdout lists the same paths in the same order.
    const fromStdout = vector("pvxget_T_ai").stdout.split("\n").slice(1)
      .map((l) => l.trim().split(" ")[0]).filter((p) => p !== "");
    assert.deepEqual(printed, fromStdout);
    assert.equal(bitPaths(v.type)[1], "value");
  },
});

Deno.test({
  name: "vectors: pvxget T:img group with struct arrays and an any value",
  ignore: vectors === undefined,
  permissions: { read: true },
  fn() {
    const v = lastData(replay(vector("pvxget_T_img")));
    assert.equal(v.type.id, "epics:nt/NTNDArray:1.0");
    assert.equal(v.get("record._options.atomic"), true);
    assert.equal(v.get("timeStamp.nanoseconds"), 586550974);
    const dims = v.get("dimension") as PvValue[];
    assert.deepEqual(dims.map((d) => d.get("size")), [4, 3]);
    const attrs = v.get("attribute") as PvValue[];
    assert.equal(attrs[0].get("name"), "ColorMode");
    const any = v.get("value") as PvValue;
    assert.equal(any.type.typeName, "ushort[]");
    assert.deepEqual(Array.from(any.value as Uint16Array), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  },
});

Deno.test({
  name: "vectors: monitor updates merge into the cached value; put carries value bit only",
  ignore: vectors === undefined,
  permissions: { read: true },
  fn() {
    const r = replay(vector("pvxmonitor_pipeline"));
    const updates = r.decoded.filter((d) => d.kind === "opResponse" && d.msg.subcmd === 0);
    assert.ok(updates.length >= 5);
    const last = updates.at(-1)!;
    assert.ok(last.kind === "opResponse");
    assert.deepEqual(last.msg.changed!.toArray(), [1, 7, 8, 9]);
    assert.equal(last.msg.overrun!.isEmpty, true);
    // Unchanged fields keep the value from the first, complete update.
    assert.equal((last.msg.value!.get("display.form.choices") as string[]).length, 7);
    assert.equal(last.msg.value!.get("value"), 5238);
    const init = r.decoded.find((d) => d.kind === "opRequest" && d.msg.subcmd === 0x88);
    assert.ok(init && init.kind === "opRequest");
    assert.equal(init.msg.nfree, 4);
    assert.equal(init.msg.pvRequest!.get("record._options.queueSize"), "4");
    assert.equal(init.msg.pvRequest!.get("record._options.pipeline"), "true");
    const acks = r.decoded.filter((d) => d.kind === "opRequest" && d.msg.subcmd === 0x80);
    assert.ok(acks.length > 0 && acks.every((a) => a.kind === "opRequest" && a.msg.nfree === 2));

    const p = replay(vector("pvxput_ao"));
    const put = p.decoded.find((d) => d.kind === "opRequest" && d.msg.subcmd === 0 && d.msg.value);
    assert.ok(put && put.kind === "opRequest");
    assert.deepEqual(put.msg.changed!.toArray(), [1]);
    assert.equal(put.msg.value!.get("value"), 6.5);

    const ro = replay(vector("pvxput_readonly"));
    const fail = ro.decoded.find((d) => d.kind === "opResponse" && d.msg.status?.type === 2);
    assert.ok(fail && fail.kind === "opResponse");
    assert.equal(fail.msg.status!.message, "Put not permitted");
  },
});
