/**
 * The PV Access server transport: UDP name searches (with the local multicast
 * forwarding pvxs uses so that several servers can share the search port on one host),
 * beacons, and a TCP listener whose connections become {@link PvaServerConnection}s.
 * @module
 */

import { stampBatch } from "../../core/clock.ts";
import { broadcastAddresses } from "../../core/net.ts";
import { ByteReader, ByteWriter } from "../../core/bytes.ts";
import { type PvaServerConfig, readEpicsConfig } from "../../core/env.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { PvProvider, ServedPv } from "../../pv/types.ts";
import {
  addressToString,
  ANY_ADDRESS,
  decodeOriginTag,
  decodeSearchRequest,
  encodeBeacon,
  encodeOriginTag,
  encodeSearchRequest,
  encodeSearchResponse,
  ipv4ToAddress,
  isAnyAddress,
  PvaCommand,
  SearchFlag,
  type SearchRequest,
  splitDatagram,
} from "../proto/mod.ts";
import { PvaServerConnection, type PvaTraffic } from "./connection.ts";
import { searchReply } from "./search.ts";

/** The group pvxs forwards unicast searches to, on the loopback interface. */
export const PVA_LOCAL_MULTICAST = "224.0.0.128";

/** How to start a {@link PvaServer}. */
export interface PvaServerOptions {
  /** Where PV names are looked up. */
  provider: PvProvider;
  /** Server settings (default: from the environment). */
  config?: PvaServerConfig;
  /** TCP port; 0 picks a free one (default: config.serverPort, 5075). */
  port?: number;
  /** UDP search port; 0 picks a free one (default: config.broadcastPort, 5076). */
  udpPort?: number;
  /** Where log lines go (default: nowhere). */
  logger?: Logger;
  /** Default monitor queue depth (default 4). */
  queueSize?: number;
  /** Called per connection as PvaConnectionOptions.onDrained says (producer pacing). */
  onDrained?: (roomFor: ReadonlyMap<ServedPv, number>) => void;
  /** Whether onDrained gets each PV's room (PvaConnectionOptions.drainedRoom; default true). */
  drainedRoom?: boolean;
  /** Also call onDrained after each write (PvaConnectionOptions.drainedOnEachWrite). */
  drainedOnEachWrite?: boolean;
  /** Clock and timers of the inactivity timeout (default: the real ones; tests inject). */
  timers?: PvaTimers;
}

/** The clock and one-shot timers the server's inactivity timeout runs on. */
export interface PvaTimers {
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a pending call. */
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: PvaTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};

function randomGuid(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(12));
}

/** A running PV Access server. Dispose it (or call close) to stop it. */
export class PvaServer implements AsyncDisposable {
  readonly #opts: PvaServerOptions;
  readonly #config: PvaServerConfig;
  readonly #logger: Logger;
  /** Monitor updates and bytes sent over all connections since the start. */
  readonly traffic: PvaTraffic = { updates: 0, bytes: 0 };
  /** This instance's GUID (new on every start). */
  readonly guid: Uint8Array = randomGuid();
  #listeners: Deno.TcpListener[] = [];
  #udp: { conn: Deno.DatagramConn; host: string }[] = [];
  #mcast: Deno.DatagramConn | undefined;
  #forwarder: Deno.DatagramConn | undefined;
  #forwarderPort = -1;
  #connections = new Set<PvaServerConnection>();
  #loops: Promise<void>[] = [];
  #beaconTimer: ReturnType<typeof setTimeout> | undefined;
  #beaconSeq = 0;
  #closed = false;
  #tcpPort = 0;
  #udpPort = 0;

  private constructor(opts: PvaServerOptions, config: PvaServerConfig) {
    this.#opts = opts;
    this.#config = config;
    this.#logger = opts.logger ?? silentLogger;
  }

  /**
   * Starts a server: binds TCP and UDP on each interface address, joins the local
   * multicast group, starts beacons.
   * @param opts provider, settings and logger
   * @returns the running server
   * @throws Deno.errors.AddrInUse etc. when the sockets cannot be bound
   */
  static async start(opts: PvaServerOptions): Promise<PvaServer> {
    const config = opts.config ?? readEpicsConfig().pvas;
    const s = new PvaServer(opts, config);
    try {
      await s.#bind(opts.port ?? config.serverPort, opts.udpPort ?? config.broadcastPort);
    } catch (e) {
      await s.close();
      throw e;
    }
    s.#startBeacons();
    return s;
  }

  /** The TCP port clients connect to. */
  get tcpPort(): number {
    return this.#tcpPort;
  }

  /** The UDP port searches are answered on. */
  get udpPort(): number {
    return this.#udpPort;
  }

  /** Number of connected clients. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Number of open channels over all clients. */
  get channelCount(): number {
    let n = 0;
    for (const c of this.#connections) n += c.channelCount;
    return n;
  }

  /** Per connection: the peer, updates queued, output buffer bytes, whether a write waits. */
  connectionStats(): {
    peer: string;
    queuedUpdates: number;
    bufferBytes: number;
    writing: boolean;
  }[] {
    return [...this.#connections].map((c) => ({
      peer: c.peer,
      queuedUpdates: c.queuedUpdates,
      bufferBytes: c.bufferBytes,
      writing: c.writing,
    }));
  }

  /**
   * How many connections still have monitor updates to deliver (a write in progress, or
   * updates queued, those waiting for a pipeline acknowledgement included): 0 means every
   * client has been sent every update.
   * @param stalledMs connections that have taken nothing (no write completed, no
   *   acknowledgement) for this long are not counted: a client that stopped reading
   *   must not hold up a producer pacing itself on the others (default: count all)
   */
  busyConnections(stalledMs = Infinity): number {
    const now = (this.#opts.timers ?? REAL_TIMERS).now();
    let n = 0;
    for (const c of this.#connections) {
      if ((c.writing || c.pendingUpdates > 0) && now - c.lastProgress < stalledMs) n++;
    }
    return n;
  }

  /** Tells every client with a channel to `name` that it is gone. */
  disconnectPv(name: string): void {
    for (const c of this.#connections) c.disconnectPv(name);
  }

  async #bind(tcpPort: number, udpPort: number): Promise<void> {
    const hosts = this.#config.intfAddrList.length ? this.#config.intfAddrList : ["0.0.0.0"];
    for (const hostname of hosts) {
      let listener: Deno.TcpListener;
      const want = this.#tcpPort || tcpPort;
      try {
        listener = Deno.listen({ hostname, port: want, transport: "tcp" });
      } catch (e) {
        // Like pvxs: when the preferred port is taken, take any free one and advertise it.
        if (!(e instanceof Deno.errors.AddrInUse) || want === 0) throw e;
        listener = Deno.listen({ hostname, port: 0, transport: "tcp" });
      }
      this.#listeners.push(listener);
      this.#tcpPort = listener.addr.port;
      const udp = Deno.listenDatagram({
        hostname,
        port: this.#udpPort || udpPort,
        transport: "udp",
        reuseAddress: true,
      });
      this.#udp.push({ conn: udp, host: hostname });
      this.#udpPort = (udp.addr as Deno.NetAddr).port;
      this.#loops.push(this.#acceptLoop(listener), this.#udpLoop(udp, hostname, false));
    }
    await this.#joinLocalGroup();
  }

  /** Receives searches other local servers forward (best effort: skipped if refused). */
  async #joinLocalGroup(): Promise<void> {
    try {
      const m = Deno.listenDatagram({
        hostname: PVA_LOCAL_MULTICAST,
        port: this.#udpPort,
        transport: "udp",
        reuseAddress: true,
      });
      this.#mcast = m;
      await m.joinMulticastV4(PVA_LOCAL_MULTICAST, "127.0.0.1");
      const f = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      this.#forwarder = f;
      this.#forwarderPort = (f.addr as Deno.NetAddr).port;
      this.#loops.push(this.#udpLoop(m, "127.0.0.1", true));
    } catch (e) {
      this.#logger.debug(`local multicast forwarding unavailable: ${(e as Error).message}`);
    }
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) {
        if (this.#closed) {
          conn.close();
          break;
        }
        this.#loops.push(this.#serveConn(conn));
      }
    } catch (e) {
      if (!this.#closed) this.#logger.error(`PVA TCP listener failed: ${(e as Error).message}`);
    }
  }

  async #serveConn(conn: Deno.TcpConn): Promise<void> {
    const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    try {
      conn.setNoDelay(true);
      conn.setKeepAlive(true);
    } catch {
      // Not fatal.
    }
    const timers = this.#opts.timers ?? REAL_TIMERS;
    let idleTimer: unknown;
    const c = new PvaServerConnection(this.#opts.provider, {
      write: (b) => conn.write(b),
      close: () => conn.close(),
    }, {
      logger: this.#logger,
      peer,
      guid: this.guid,
      tcpPort: this.#tcpPort,
      queueSize: this.#opts.queueSize,
      connTimeout: this.#config.connTimeout ?? 30,
      now: () => timers.now(),
      onClose: () => {
        if (idleTimer !== undefined) timers.clearTimeout(idleTimer);
        idleTimer = undefined;
        this.#connections.delete(c);
      },
      onDrained: this.#opts.onDrained,
      drainedRoom: this.#opts.drainedRoom,
      drainedOnEachWrite: this.#opts.drainedOnEachWrite,
      traffic: this.traffic,
    });
    this.#connections.add(c);
    // One timer per connection, re-armed for the remaining time when it fires (receiving
    // only moves the deadline; no timer work per read).
    const arm = () => {
      const left = c.idleDeadline - timers.now();
      if (!Number.isFinite(left)) return;
      idleTimer = timers.setTimeout(() => {
        idleTimer = undefined;
        if (!c.checkIdle()) arm();
      }, Math.max(1, left));
    };
    arm();
    this.#logger.debug(`PVA client connected from ${peer}`);
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        stampBatch(() => c.receive(buf.subarray(0, n)));
        if (c.closed) break;
      }
    } catch (e) {
      if (!c.closed && !this.#closed) {
        this.#logger.debug(`PVA connection from ${peer} ended: ${(e as Error).message}`);
      }
    } finally {
      c.close();
      this.#logger.debug(`PVA client ${peer} disconnected`);
    }
  }

  async #udpLoop(udp: Deno.DatagramConn, host: string, multicast: boolean): Promise<void> {
    const w = new ByteWriter(1500, false);
    for (;;) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [d, a] = await udp.receive();
        data = d;
        from = a as Deno.NetAddr;
      } catch (e) {
        if (!this.#closed) this.#logger.error(`PVA UDP receive failed: ${(e as Error).message}`);
        return;
      }
      // Our own forwards come back through the group: they were answered already.
      if (multicast && from.port === this.#forwarderPort && from.hostname === "127.0.0.1") {
        continue;
      }
      try {
        await this.#datagram(data, from, host, multicast, w);
      } catch (e) {
        this.#logger.debug(
          `bad PVA datagram from ${from.hostname}:${from.port}: ${(e as Error).message}`,
        );
      }
    }
  }

  async #datagram(
    data: Uint8Array,
    from: Deno.NetAddr,
    host: string,
    multicast: boolean,
    w: ByteWriter,
  ): Promise<void> {
    let tagged = false;
    for (const m of splitDatagram(data)) {
      if (m.fromServer) continue;
      const r = new ByteReader(m.payload, 0, m.littleEndian);
      if (m.command === PvaCommand.ORIGIN_TAG) {
        if (!multicast || tagged) return;
        const tag = addressToString(decodeOriginTag(r).forwarderAddress);
        // Accept only forwards from an interface we serve (or either side "any").
        if (tag !== "0.0.0.0" && host !== "0.0.0.0" && tag !== host) return;
        tagged = true;
        continue;
      }
      if (m.command !== PvaCommand.SEARCH) continue;
      const req = decodeSearchRequest(r);
      if (!multicast && (req.flags & SearchFlag.UNICAST)) this.#forward(req, from, host);
      const reply = searchReply(req, this.#opts.provider);
      if (!reply) continue;
      w.reset();
      encodeSearchResponse(w, { ...reply, guid: this.guid, serverPort: this.#tcpPort });
      const to: Deno.NetAddr = {
        transport: "udp",
        hostname: isAnyAddress(req.responseAddress)
          ? from.hostname
          : addressToString(req.responseAddress),
        port: req.responsePort || from.port,
      };
      const sock = this.#udp.find((u) => u.host === host)?.conn ?? this.#udp[0]?.conn;
      await sock?.send(w.view(), to);
    }
  }

  /** Re-sends a unicast search to the local group so that other servers see it too. */
  #forward(req: SearchRequest, from: Deno.NetAddr, host: string): void {
    const f = this.#forwarder;
    if (!f) return;
    const w = new ByteWriter(1500, false);
    encodeOriginTag(w, {
      forwarderAddress: host === "0.0.0.0" ? ANY_ADDRESS : ipv4ToAddress(host),
    });
    encodeSearchRequest(w, {
      ...req,
      flags: req.flags & ~SearchFlag.UNICAST,
      responseAddress: isAnyAddress(req.responseAddress)
        ? ipv4ToAddress(from.hostname)
        : req.responseAddress,
      responsePort: req.responsePort || from.port,
    });
    f.send(w.view(), { transport: "udp", hostname: PVA_LOCAL_MULTICAST, port: this.#udpPort })
      .catch((e) => this.#logger.debug(`search forwarding failed: ${(e as Error).message}`));
  }

  #beaconTargets(): Deno.NetAddr[] {
    const out: Deno.NetAddr[] = this.#config.beaconAddrList.map((a) => ({
      transport: "udp" as const,
      hostname: a.host,
      port: a.port,
    }));
    if (this.#config.autoBeaconAddrList) {
      for (const b of broadcastAddresses(this.#config.intfAddrList)) {
        out.push({ transport: "udp", hostname: b, port: this.#config.broadcastPort });
      }
    }
    return out;
  }

  #startBeacons(): void {
    const targets = this.#beaconTargets();
    const udp = this.#udp[0]?.conn;
    if (!targets.length || !udp) return;
    const w = new ByteWriter(128, false);
    let sent = 0;
    const send = () => {
      if (this.#closed) return;
      w.reset();
      encodeBeacon(w, {
        guid: this.guid,
        flags: 0,
        sequence: this.#beaconSeq++ & 0xff,
        changeCount: 0,
        serverAddress: ANY_ADDRESS,
        serverPort: this.#tcpPort,
        protocol: "tcp",
        serverStatus: null,
      });
      const bytes = w.toBytes();
      for (const t of targets) {
        udp.send(bytes, t).catch((e) => {
          this.#logger.debug(`beacon to ${t.hostname}:${t.port} failed: ${(e as Error).message}`);
        });
      }
      // Like pvxs: ten beacons at the short period, then one every 180 s.
      const period = ++sent < 10
        ? this.#config.beaconPeriod
        : Math.max(180, this.#config.beaconPeriod);
      this.#beaconTimer = setTimeout(send, period * 1000);
    };
    send();
  }

  /** Stops the server: closes every connection and socket and waits for its tasks. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#beaconTimer);
    for (const c of [...this.#connections]) c.close();
    const shut = (x: { close(): void } | undefined) => {
      try {
        x?.close();
      } catch {
        // already closed
      }
    };
    for (const l of this.#listeners) shut(l);
    for (const u of this.#udp) shut(u.conn);
    shut(this.#mcast);
    shut(this.#forwarder);
    let n = -1;
    while (n !== this.#loops.length) {
      n = this.#loops.length;
      await Promise.allSettled(this.#loops);
    }
  }

  /** Same as {@link PvaServer.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts a PV Access server for a provider.
 * @param opts provider, settings and logger
 * @returns the running server (AsyncDisposable)
 * @example
 * ```ts
 * import { epicsConfigFrom } from "../../core/env.ts";
 * import { PvMap, SharedPV } from "../../pv/mod.ts";
 * import { PvaClient } from "../client/mod.ts";
 * import { startPvaServer } from "./mod.ts";
 * // Loopback only, free ports, no beacons elsewhere.
 * const serverEnv = {
 *   EPICS_PVAS_INTF_ADDR_LIST: "127.0.0.1",
 *   EPICS_PVAS_AUTO_BEACON_ADDR_LIST: "NO",
 *   EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1",
 * };
 * const pv = new SharedPV("doc:x", { type: "float64", value: 1.5 });
 * await using server = await startPvaServer({
 *   provider: new PvMap([pv]),
 *   config: epicsConfigFrom(serverEnv).pvas,
 *   port: 0,
 *   udpPort: 0,
 * });
 * // The client searches over TCP at the server's port: no UDP broadcast needed.
 * await using client = new PvaClient({
 *   env: { EPICS_PVA_AUTO_ADDR_LIST: "NO", EPICS_PVA_NAME_SERVERS: `127.0.0.1:${server.tcpPort}` },
 * });
 * await client.put("doc:x", 2.5);
 * const v = await client.get("doc:x");
 * if (v.get("value") !== 2.5 || pv.value !== 2.5) throw new Error();
 * ```
 */
export function startPvaServer(opts: PvaServerOptions): Promise<PvaServer> {
  return PvaServer.start(opts);
}
