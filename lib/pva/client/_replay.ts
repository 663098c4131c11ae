/**
 * A fake PVA server that plays back a recorded session (../shared/vectors/pva/*.json)
 * to a client on loopback, for tests. It answers UDP searches with the recorded
 * SEARCH_RESPONSE (IDs mapped by channel name, TCP port patched to ours), and on the TCP
 * connection sends each recorded server chunk once the client has sent as many messages
 * as the recorded client had sent before it. Everything the client sends is kept, so a
 * test can compare it with the recording byte for byte.
 * @module
 */

import { ByteWriter, fromHex } from "../../core/bytes.ts";
import { PvaCommand, PvaFramer, splitDatagram } from "../proto/header.ts";
import { decodeMessage, encodeSearchResponse, type SearchResponse } from "../proto/messages.ts";

/** One recorded message (see the vectors README). */
export interface RecordedMessage {
  t: number;
  proto: "udp" | "tcp";
  dir: "c2s" | "s2c";
  src: number;
  dst: number;
  hex: string;
  stream?: number;
}

/** One recorded command run. */
export interface Recording {
  name: string;
  command: string;
  exit: number;
  stdout: string;
  stderr: string;
  messages: RecordedMessage[];
}

/** A running replay server. */
export interface ReplayServer extends AsyncDisposable {
  /** UDP port to put in EPICS_PVA_ADDR_LIST. */
  udpPort: number;
  /** TCP port announced in search replies. */
  tcpPort: number;
  /** Bytes the client sent on TCP, in order. */
  clientBytes(): Uint8Array;
  /** The recorded client TCP bytes (first stream), concatenated. */
  recordedClientBytes(): Uint8Array;
  /** Resolves when the last recorded server chunk was sent. */
  done: Promise<void>;
  /**
   * Resolves once a client connected and every accepted connection has been closed by the
   * client: from then on {@link ReplayServer.clientBytes} holds all it sent.
   */
  clientsGone(): Promise<void>;
  close(): Promise<void>;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function searchNames(bytes: Uint8Array): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of splitDatagram(bytes)) {
    if (m.command !== PvaCommand.SEARCH) continue;
    const d = decodeMessage(m);
    if (d.kind === "searchRequest") { for (const c of d.msg.channels) out.set(c.name, c.id); }
  }
  return out;
}

/** Options of {@link startReplayServer}. */
export interface ReplayOptions {
  /** Close each connection right after the last recorded server chunk (a dying server). */
  hangUpAfterLast?: boolean;
}

/**
 * Starts a replay server for a recording on 127.0.0.1 (random ports).
 * @param rec the parsed recording
 * @param opts how to end connections
 * @returns the server; close it when done
 */
export function startReplayServer(rec: Recording, opts: ReplayOptions = {}): ReplayServer {
  const udpMsgs = rec.messages.filter((m) => m.proto === "udp");
  const firstSearch = udpMsgs.find((m) => m.dir === "c2s");
  const recordedIds = firstSearch ? searchNames(fromHex(firstSearch.hex)) : new Map();
  const reply = udpMsgs.find((m) => m.dir === "s2c");
  let recordedReply: SearchResponse | undefined;
  if (reply) {
    for (const m of splitDatagram(fromHex(reply.hex))) {
      const d = decodeMessage(m);
      if (d.kind === "searchResponse") recordedReply = d.msg;
    }
  }
  const streams = new Set(rec.messages.filter((m) => m.proto === "tcp").map((m) => m.stream ?? 0));
  const stream = Math.min(...streams);
  const tcpMsgs = rec.messages.filter((m) => m.proto === "tcp" && (m.stream ?? 0) === stream);

  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tcpPort = (listener.addr as Deno.NetAddr).port;
  const received: Uint8Array[] = [];
  const conns = new Set<Deno.TcpConn>();
  let markDone: () => void = () => {};
  const done = new Promise<void>((r) => markDone = r);
  let accepted = 0;
  let endedCount = 0;
  let goneWaiters: (() => void)[] = [];
  const connEnded = () => {
    endedCount++;
    if (endedCount === accepted) {
      for (const w of goneWaiters) w();
      goneWaiters = [];
    }
  };

  const udpLoop = (async () => {
    try {
      for (;;) {
        const [data, addr] = await udp.receive();
        if (!recordedReply) continue;
        const ids: number[] = [];
        for (const [name, id] of searchNames(data)) {
          if (recordedIds.has(name) && recordedReply.ids.includes(recordedIds.get(name)!)) {
            ids.push(id);
          }
        }
        if (ids.length === 0) continue;
        const w = new ByteWriter(128, false);
        encodeSearchResponse(w, { ...recordedReply, serverPort: tcpPort, ids });
        await udp.send(w.toBytes(), addr);
      }
    } catch {
      // closed
    }
  })();

  const serve = async (conn: Deno.TcpConn) => {
    conns.add(conn);
    accepted++;
    const framer = new PvaFramer();
    let seen = 0;
    let wanted = 0;
    let i = 0;
    let wake: (() => void) | undefined;
    let ended = false;
    const reader = (async () => {
      const buf = new Uint8Array(65536);
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          const chunk = buf.slice(0, n);
          received.push(chunk);
          seen += framer.receive(chunk).length;
          wake?.();
        }
      } catch {
        // closed
      }
      ended = true;
      connEnded();
      wake?.();
    })();
    const lastServerChunk = tcpMsgs.findLastIndex((m) => m.dir === "s2c");
    try {
      if (lastServerChunk < 0) markDone();
      while (i < tcpMsgs.length) {
        const m = tcpMsgs[i++];
        const bytes = fromHex(m.hex);
        if (m.dir === "c2s") {
          wanted += new PvaFramer().receive(bytes).length;
          while (seen < wanted) {
            if (ended) return;
            await new Promise<void>((r) => wake = r);
            wake = undefined;
          }
        } else {
          let off = 0;
          while (off < bytes.length) off += await conn.write(bytes.subarray(off));
          if (i - 1 === lastServerChunk) {
            markDone();
            if (opts.hangUpAfterLast) {
              conn.close();
              return;
            }
          }
        }
      }
    } catch {
      // client went away
    } finally {
      await reader;
      conns.delete(conn);
    }
  };

  const serving: Promise<void>[] = [];
  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) serving.push(serve(conn));
    } catch {
      // closed
    }
  })();

  const close = async () => {
    try {
      listener.close();
    } catch { /* closed */ }
    try {
      udp.close();
    } catch { /* closed */ }
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    conns.clear();
    await acceptLoop;
    await udpLoop;
    await Promise.all(serving);
  };

  return {
    udpPort: (udp.addr as Deno.NetAddr).port,
    tcpPort,
    clientBytes: () => concat(received),
    recordedClientBytes: () =>
      concat(tcpMsgs.filter((m) => m.dir === "c2s").map((m) => fromHex(m.hex))),
    done,
    clientsGone: () =>
      accepted > 0 && endedCount === accepted
        ? Promise.resolve()
        : new Promise<void>((r) => goneWaiters.push(r)),
    close,
    [Symbol.asyncDispose]: close,
  };
}
