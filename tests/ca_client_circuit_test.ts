/**
 * Loopback tests of the CA client's circuit handling: ECHO heartbeats against a server
 * that stops answering (EPICS_CA_CONN_TMO), and name resolution through a TCP name
 * server (EPICS_CA_NAME_SERVERS) with no UDP search at all.
 * @module
 */

import assert from "node:assert/strict";
import { ByteWriter } from "../lib/core/bytes.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaCommand, Dbr } from "../lib/ca/proto/constants.ts";
import { CaFramer } from "../lib/ca/proto/framer.ts";
import { encodeMessage } from "../lib/ca/proto/header.ts";
import {
  decodeCreateChanRequest,
  encodeAccessRights,
  encodeCreateChan,
  encodeReadNotifyReply,
} from "../lib/ca/proto/messages.ts";
import { CaServer } from "../lib/ca/server/server.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { ScriptedCaServer } from "./_helpers/scripted_ca_server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A scripted CA server that can be told to stop answering (but keeps the socket open). */
class MuteableServer extends ScriptedCaServer {
  answering = true;
  echoes = 0;

  protected override async circuit(conn: Deno.TcpConn): Promise<void> {
    const framer = new CaFramer();
    const buf = new Uint8Array(4096);
    const w = new ByteWriter();
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      w.reset();
      for (const m of framer.receive(buf.subarray(0, n))) {
        if (m.command === CaCommand.CREATE_CHAN) {
          const r = decodeCreateChanRequest(m);
          encodeAccessRights(w, { cid: r.cid, rights: 3 });
          encodeCreateChan(w, { cid: r.cid, sid: r.cid + 100, dataType: Dbr.DOUBLE, count: 1 });
        } else if (m.command === CaCommand.ECHO) {
          this.echoes++;
          if (this.answering) encodeMessage(w, { command: CaCommand.ECHO });
        } else if (m.command === CaCommand.READ_NOTIFY && this.answering) {
          encodeReadNotifyReply(w, {
            ioid: m.param2,
            eca: 1,
            dataType: m.dataType,
            count: 1,
            data: { value: new Float64Array([42]), meta: { status: 0, severity: 0 } },
          });
        }
      }
      if (w.length) await conn.write(w.toBytes());
    }
  }
}

Deno.test("CA client: ECHO keeps a quiet circuit alive; a mute server is dropped", async () => {
  const server = new MuteableServer();
  const ctx = new CaContext({
    repeater: false,
    // ECHO after 0.2 s of quiet; a reply may take up to 1 s (slack for a busy machine).
    echoTimeout: 1,
    config: epicsConfigFrom({
      EPICS_CA_AUTO_ADDR_LIST: "NO",
      EPICS_CA_ADDR_LIST: `127.0.0.1:${server.udpPort}`,
      EPICS_CA_CONN_TMO: "0.2",
    }).ca,
  });
  try {
    const ch = ctx.channel("any:name");
    const events: boolean[] = [];
    ch.onConnection((c) => events.push(c));
    await ch.connected(20);
    assert.equal((await ch.get()).data.value[0], 42);
    // Quiet but answering: ECHOs go out and the circuit stays up.
    await until(() => server.echoes >= 2, "two ECHOs");
    assert.deepEqual(events, [true]);
    // Mute: the next ECHO goes unanswered and the channel disconnects, then searches
    // again and reconnects to the (still listening) server.
    server.answering = false;
    const pending = ch.get({ timeoutSec: 20 }).then(() => undefined, (e: Error) => e);
    await until(() => events.length >= 2, "the disconnect");
    assert.equal(events[1], false);
    assert.equal((await pending)?.name, "DisconnectedError");
    server.answering = true;
    await until(() => events.length >= 3, "the reconnect");
    assert.deepEqual(events.slice(0, 3), [true, false, true]);
  } finally {
    await ctx.close();
    await server.close();
  }
});

Deno.test("CA client: names resolve through EPICS_CA_NAME_SERVERS over TCP", async () => {
  const pv = new SharedPV("ns:x", { type: "int32", value: 5 });
  await using server = await CaServer.start({
    provider: new PvMap([pv]),
    config: epicsConfigFrom({
      EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
      EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
    }).cas,
    port: 0,
  });
  await using ctx = new CaContext({
    repeater: false,
    config: epicsConfigFrom({
      EPICS_CA_AUTO_ADDR_LIST: "NO",
      EPICS_CA_NAME_SERVERS: `127.0.0.1:${server.tcpPort}`,
    }).ca,
  });
  const ch = ctx.channel("ns:x");
  await ch.connected(20);
  assert.equal((await ch.get()).data.value[0], 5);
  assert.equal(ch.host, `127.0.0.1:${server.tcpPort}`);
  await assert.rejects(ctx.channel("ns:missing").connected(0.3));
});
