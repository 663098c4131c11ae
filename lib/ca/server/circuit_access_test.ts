import assert from "node:assert/strict";
import { ByteWriter } from "../../core/bytes.ts";
import { silentLogger } from "../../core/log.ts";
import { AccessRight, CaCommand } from "../proto/constants.ts";
import { CaFramer } from "../proto/framer.ts";
import { type CaMessage, encodeMessage } from "../proto/header.ts";
import { SharedPV } from "../../pv/shared_pv.ts";
import type { PutContext, PvProvider, ServedPv } from "../../pv/types.ts";
import { CaCircuit } from "./circuit.ts";

/** A PV whose rights the test changes, telling its watchers as IOC records do. */
function guarded(name: string) {
  const inner = new SharedPV(name, { type: "float64", value: 1 });
  const watchers = new Set<() => void>();
  const state = { read: true, write: true, forUser: "alice" };
  const pv: ServedPv = {
    name,
    type: inner.type,
    snapshot: () => inner.snapshot(),
    subscribe: (l) => inner.subscribe(l),
    canRead: (ctx?: PutContext) => ctx?.user !== state.forUser || state.read,
    canWrite: (ctx?: PutContext) => ctx?.user !== state.forUser || state.write,
    put: (v, ctx) => inner.put(v, ctx),
    watchAccess(l) {
      watchers.add(l);
      return () => watchers.delete(l);
    },
  };
  return {
    pv,
    state,
    watchers,
    change(read: boolean, write: boolean) {
      state.read = read;
      state.write = write;
      for (const w of [...watchers]) w();
    },
  };
}

function harness(pvs: ServedPv[]) {
  const framer = new CaFramer();
  const received: CaMessage[] = [];
  const provider: PvProvider = {
    lookup: (n) => pvs.find((p) => p.name === n),
    names: () => pvs.map((p) => p.name),
  };
  const circuit = new CaCircuit(provider, {
    write(b) {
      received.push(...framer.receive(b.slice()));
      return Promise.resolve(b.length);
    },
    close() {},
  }, {
    logger: silentLogger,
    maxPayload: 1 << 20,
    maxReplyPayload: 1 << 20,
    peer: "127.0.0.1:40000",
    tcpPort: 5064,
  });
  const send = (build: (w: ByteWriter) => void) => {
    const w = new ByteWriter();
    build(w);
    circuit.receive(w.toBytes());
  };
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { circuit, received, send, settle };
}

const z = (t: string) => new TextEncoder().encode(t + "\0");
const rights = (ms: CaMessage[]) =>
  ms.filter((m) => m.command === CaCommand.ACCESS_RIGHTS).map((m) => [m.param1, m.param2]);

Deno.test({
  name: "circuit: ACCESS_RIGHTS is sent again when a PV's rights change, only when they differ",
  permissions: "none",
  async fn() {
    const a = guarded("a");
    const h = harness([a.pv]);
    h.send((w) => {
      encodeMessage(w, { command: CaCommand.VERSION, dataType: 1, dataCount: 13 });
      encodeMessage(w, { command: CaCommand.CLIENT_NAME }, z("alice"));
      encodeMessage(w, { command: CaCommand.HOST_NAME }, z("box"));
      encodeMessage(w, { command: CaCommand.CREATE_CHAN, param1: 7, param2: 13 }, z("a"));
    });
    await h.settle();
    const RW = AccessRight.READ | AccessRight.WRITE;
    assert.deepEqual(rights(h.received), [[7, RW]]);
    a.change(true, false);
    await h.settle();
    assert.deepEqual(rights(h.received), [[7, RW], [7, AccessRight.READ]]);
    // A notification that changes nothing for this client sends nothing.
    a.change(true, false);
    await h.settle();
    assert.equal(rights(h.received).length, 2);
    a.change(false, false);
    await h.settle();
    assert.deepEqual(rights(h.received).at(-1), [7, 0]);
    // Without read access, a read is refused as RSRV refuses it.
    const sid = h.received.find((m) => m.command === CaCommand.CREATE_CHAN)!.param2;
    h.send((w) =>
      encodeMessage(w, {
        command: CaCommand.READ_NOTIFY,
        dataType: 6,
        dataCount: 1,
        param1: sid,
        param2: 9,
      })
    );
    await h.settle();
    const reply = h.received.at(-1)!;
    assert.equal(reply.command, CaCommand.READ_NOTIFY);
    assert.notEqual(reply.param1, 1, "not ECA_NORMAL");
    // casr's view of the circuit, then clearing the channel stops the watch.
    const r = h.circuit.report();
    assert.deepEqual(
      { ...r, channels: r.channels },
      {
        peer: "127.0.0.1:40000",
        user: "alice",
        host: "box",
        minorVersion: 13,
        priority: 1,
        channels: [{ name: "a", read: false, write: false, subscriptions: 0 }],
        unprocessedBytes: 0,
        undeliveredBytes: 0,
      },
    );
    h.send((w) => encodeMessage(w, { command: CaCommand.CLEAR_CHANNEL, param1: sid, param2: 7 }));
    await h.settle();
    assert.equal(a.watchers.size, 0);
    h.circuit.close();
  },
});

Deno.test({
  name: "circuit: closing drops the access watches of every channel",
  permissions: "none",
  async fn() {
    const a = guarded("a");
    const h = harness([a.pv]);
    h.send((w) => {
      encodeMessage(w, { command: CaCommand.VERSION, dataCount: 13 });
      encodeMessage(w, { command: CaCommand.CREATE_CHAN, param1: 1, param2: 13 }, z("a"));
      encodeMessage(w, { command: CaCommand.CREATE_CHAN, param1: 2, param2: 13 }, z("a"));
    });
    await h.settle();
    assert.equal(a.watchers.size, 2);
    h.circuit.close();
    assert.equal(a.watchers.size, 0);
    // A late notification after close sends nothing and does not throw.
    const before = h.received.length;
    a.change(false, false);
    await h.settle();
    assert.equal(h.received.length, before);
  },
});
