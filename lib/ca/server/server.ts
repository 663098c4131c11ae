/**
 * The Channel Access server transport: a UDP socket answering name searches and sending
 * beacons, and a TCP listener whose connections become {@link CaCircuit}s. Behaves like
 * RSRV, the IOC's CA server, for every client that talks to it.
 * @module
 */

import { stampBatch } from "../../core/clock.ts";
import { ReadBuffer } from "../../core/read_buffer.ts";
import { ByteWriter } from "../../core/bytes.ts";
import { broadcastAddresses, isAddrInUse } from "../../core/net.ts";
import { type CaServerConfig, readEpicsConfig } from "../../core/env.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { PvProvider } from "../../pv/types.ts";
import { caView } from "../../pv/provider.ts";
import { CaCircuit, type CaCircuitReport } from "./circuit.ts";
import { answerSearch, encodeBeacon } from "./search.ts";

/** How to start a {@link CaServer}. */
export interface CaServerOptions {
  /** Where PV names are looked up. */
  provider: PvProvider;
  /** Server settings (default: from the environment). */
  config?: CaServerConfig;
  /** Port for TCP and UDP; 0 picks a free one (default: config.serverPort, 5064). */
  port?: number;
  /** Where log lines go (default: nowhere). */
  logger?: Logger;
  /**
   * Updates held per scalar subscription for a lagging client (default: as many as fit in
   * 256 KiB, 2 to 64); an array subscription holds only its newest update, as RSRV does.
   */
  queueSize?: number;
}

const AUTO_ARRAY_LIMIT = 512 * 1024 * 1024;
/**
 * A circuit's read buffer: 64 KiB at rest, up to 256 KiB while reads fill it. 1000-double
 * puts streamed by one client (128 KiB batches): 75k -> 85k puts/s on a 2-CPU machine.
 */
const READ_MIN = 64 * 1024;
const READ_MAX = 256 * 1024;

/**
 * The wait after beacon `n` (0-based), in ms: 20 ms doubling each time up to the beacon
 * period, so clients notice a (re)started server at once and the rate then settles, as
 * RSRV's beacons do.
 * @param n how many beacons went out before this one
 * @param maxPeriodMs EPICS_CAS_BEACON_PERIOD in ms
 * @returns the delay before the next beacon
 */
export function beaconDelay(n: number, maxPeriodMs: number): number {
  return Math.min(20 * 2 ** Math.min(n, 30), maxPeriodMs);
}

/** What {@link CaServer.report} returns (the data of RSRV's casr). */
export interface CaServerReport {
  /** The connected clients, with the seconds since each last sent and received. */
  clients: (CaCircuitReport & { sinceSend: number; sinceReceive: number })[];
  /** One entry per interface: TCP and UDP "ip:port", and the last name search received. */
  servers: {
    tcp: string;
    udp: string;
    lastSearch: { from: string; minor: number };
  }[];
  /** Beacon destinations, "ip:port". */
  beacons: string[];
}

/** A running Channel Access server. Dispose it (or call close) to stop it. */
export class CaServer implements AsyncDisposable {
  readonly #opts: CaServerOptions;
  /** The provider without what CA cannot carry (tables): their names are unknown here. */
  readonly #provider: PvProvider;
  readonly #config: CaServerConfig;
  readonly #logger: Logger;
  #listeners: Deno.TcpListener[] = [];
  #udp: Deno.DatagramConn[] = [];
  #circuits = new Set<CaCircuit>();
  #loops = new Set<Promise<void>>();
  #beaconTimer: ReturnType<typeof setTimeout> | undefined;
  #beaconId = 0;
  #closed = false;
  #tcpPort = 0;
  #udpPort = 0;
  /** Per UDP socket: who sent the last datagram and the CA minor version it announced. */
  #lastSearch = new Map<Deno.DatagramConn, { from: string; minor: number }>();
  /** Per circuit: when it last wrote and last read (ms, for casr 4). */
  #traffic = new WeakMap<CaCircuit, { send: number; receive: number }>();

  private constructor(opts: CaServerOptions, config: CaServerConfig) {
    this.#opts = opts;
    this.#provider = caView(opts.provider);
    this.#config = config;
    this.#logger = opts.logger ?? silentLogger;
  }

  /**
   * Starts a server: binds TCP and UDP on each interface address, starts beacons.
   * @param opts provider, settings and logger
   * @returns the running server
   * @throws Deno.errors.AddrInUse etc. when no socket can be bound
   */
  static async start(opts: CaServerOptions): Promise<CaServer> {
    const config = opts.config ?? readEpicsConfig().cas;
    const s = new CaServer(opts, config);
    try {
      await s.#bind(opts.port ?? config.serverPort);
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
  get circuitCount(): number {
    return this.#circuits.size;
  }

  /** Number of open channels over all clients (iocStats CA_CONN_CNT). */
  get channelCount(): number {
    let n = 0;
    for (const c of this.#circuits) n += c.channelCount;
    return n;
  }

  /**
   * What casr reports: the clients, the sockets (with the last name search each received)
   * and where beacons go.
   */
  report(): CaServerReport {
    return {
      clients: [...this.#circuits].map((c) => {
        const t = this.#traffic.get(c);
        const now = Date.now();
        return {
          ...c.report(),
          sinceSend: t ? (now - t.send) / 1000 : 0,
          sinceReceive: t ? (now - t.receive) / 1000 : 0,
        };
      }),
      servers: this.#udp.map((u, i) => {
        const tcp = this.#listeners[i]?.addr as Deno.NetAddr | undefined;
        const udp = u.addr as Deno.NetAddr;
        return {
          tcp: tcp ? `${tcp.hostname}:${tcp.port}` : "",
          udp: `${udp.hostname}:${udp.port}`,
          lastSearch: this.#lastSearch.get(u) ?? { from: "0.0.0.0:0", minor: 0 },
        };
      }),
      beacons: this.#beaconTargets().map((t) => `${t.hostname}:${t.port}`),
    };
  }

  /** Tells every client with a channel to `name` that it is gone (SERVER_DISCONN). */
  disconnectPv(name: string): void {
    for (const c of this.#circuits) c.disconnectPv(name);
  }

  async #bind(port: number): Promise<void> {
    const hosts = this.#config.intfAddrList.length ? this.#config.intfAddrList : ["0.0.0.0"];
    for (const hostname of hosts) {
      // With port 0 the UDP socket takes the number the TCP listener got; if some other
      // socket holds that UDP port, try another number.
      for (let attempt = 0;; attempt++) {
        const want = this.#tcpPort || port;
        let listener: Deno.TcpListener;
        try {
          listener = Deno.listen({ hostname, port: want, transport: "tcp" });
        } catch (e) {
          // Like RSRV: when the preferred TCP port is taken, use any free one and advertise it.
          if (!isAddrInUse(e) || want === 0) throw e;
          listener = Deno.listen({ hostname, port: 0, transport: "tcp" });
        }
        const udpPort = this.#udpPort || port || listener.addr.port;
        let udp: Deno.DatagramConn;
        try {
          udp = Deno.listenDatagram({
            hostname,
            port: udpPort,
            transport: "udp",
            reuseAddress: true,
          });
        } catch (e) {
          listener.close();
          if (isAddrInUse(e) && port === 0 && this.#udpPort === 0 && attempt < 20) continue;
          throw e;
        }
        this.#listeners.push(listener);
        this.#tcpPort = listener.addr.port;
        this.#udp.push(udp);
        this.#udpPort = (udp.addr as Deno.NetAddr).port;
        this.#track(this.#acceptLoop(listener));
        this.#track(this.#udpLoop(udp));
        break;
      }
    }
    await Promise.resolve();
  }

  /** Keeps a task until it ends, so close() can wait for it. */
  #track(p: Promise<void>): void {
    this.#loops.add(p);
    p.finally(() => this.#loops.delete(p));
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        // Out of file descriptors and the like: report, pause, keep accepting (as RSRV does).
        this.#logger.error(`CA TCP accept failed: ${(e as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      this.#track(this.#serveConn(conn));
    }
  }

  async #serveConn(conn: Deno.TcpConn): Promise<void> {
    const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    try {
      conn.setNoDelay(true);
      conn.setKeepAlive(true);
    } catch {
      // Not fatal: some platforms refuse socket options.
    }
    const maxArray = this.#config.maxArrayBytes;
    const limit = this.#config.autoArrayBytes === false ? maxArray + 64 : AUTO_ARRAY_LIMIT;
    const traffic = { send: Date.now(), receive: Date.now() };
    const circuit = new CaCircuit(this.#provider, {
      write: (b) =>
        conn.write(b).then((n) => {
          traffic.send = Date.now();
          return n;
        }),
      close: () => conn.close(),
    }, {
      logger: this.#logger,
      maxPayload: limit,
      maxReplyPayload: limit,
      peer,
      tcpPort: this.#tcpPort,
      queueSize: this.#opts.queueSize,
      onClose: () => this.#circuits.delete(circuit),
    });
    this.#circuits.add(circuit);
    this.#traffic.set(circuit, traffic);
    this.#logger.debug(`CA client connected from ${peer}`);
    // Grows while a client streams (array puts arrive in fewer, larger reads).
    const rb = new ReadBuffer(READ_MIN, READ_MAX);
    try {
      for (;;) {
        const buf = rb.bytes;
        const n = await conn.read(buf);
        if (n === null) break;
        traffic.receive = Date.now();
        // What one read brought is stamped from one clock reading (lib/core/clock.ts).
        stampBatch(() => circuit.receive(buf.subarray(0, n)));
        rb.filled(n);
        if (circuit.closed) break;
        // Stop reading from a client that does not read its replies (TCP pushes back).
        if (!circuit.wantsMore) await circuit.whenReady();
        if (circuit.closed) break;
      }
    } catch (e) {
      if (!circuit.closed && !this.#closed) {
        this.#logger.debug(`CA circuit from ${peer} ended: ${(e as Error).message}`);
      }
    } finally {
      circuit.close();
      this.#logger.debug(`CA client ${peer} disconnected`);
    }
  }

  async #udpLoop(udp: Deno.DatagramConn): Promise<void> {
    const w = new ByteWriter(1024);
    const ignore = new Set(this.#config.ignoreAddrList);
    for (;;) {
      let data: Uint8Array;
      let from: Deno.Addr;
      try {
        [data, from] = await udp.receive();
      } catch (e) {
        if (!this.#closed) this.#logger.error(`CA UDP receive failed: ${(e as Error).message}`);
        return;
      }
      const addr = from as Deno.NetAddr;
      if (ignore.has(addr.hostname)) continue;
      // A datagram that starts with VERSION (command 0) names its protocol minor version.
      const version = data.length >= 16 && data[0] === 0 && data[1] === 0;
      this.#lastSearch.set(udp, {
        from: `${addr.hostname}:${addr.port}`,
        minor: version ? (data[6] << 8) | data[7] : 0,
      });
      let reply: Uint8Array | undefined;
      try {
        reply = answerSearch(data, this.#provider, this.#tcpPort, w);
      } catch (e) {
        this.#logger.debug(
          `bad search datagram from ${addr.hostname}:${addr.port}: ${(e as Error).message}`,
        );
        continue;
      }
      if (!reply) continue;
      try {
        await udp.send(reply, addr);
      } catch (e) {
        this.#logger.debug(
          `search reply to ${addr.hostname}:${addr.port} failed: ${(e as Error).message}`,
        );
      }
    }
  }

  #beaconTargets(): Deno.NetAddr[] {
    const out: Deno.NetAddr[] = this.#config.beaconAddrList.map((a) => ({
      transport: "udp" as const,
      hostname: a.host,
      port: a.port,
    }));
    if (this.#config.autoBeaconAddrList) {
      for (const b of broadcastAddresses(this.#config.intfAddrList)) {
        out.push({ transport: "udp", hostname: b, port: this.#config.beaconPort });
      }
    }
    return out;
  }

  #startBeacons(): void {
    const targets = this.#beaconTargets();
    const udp = this.#udp[0];
    if (!targets.length || !udp) return;
    const w = new ByteWriter(16);
    const maxPeriod = this.#config.beaconPeriod * 1000;
    let n = 0;
    // One beacon at a time: the next is timed only once this one is sent, so beacons
    // leave in the order of their ids (concurrent sends may overtake each other).
    const send = async () => {
      if (this.#closed) return;
      const bytes = encodeBeacon(w, this.#tcpPort, this.#beaconId++);
      for (const t of targets) {
        try {
          await udp.send(bytes, t);
        } catch (e) {
          if (this.#closed) return;
          this.#logger.debug(`beacon to ${t.hostname}:${t.port} failed: ${(e as Error).message}`);
        }
      }
      if (this.#closed) return;
      this.#beaconTimer = setTimeout(() => this.#track(send()), beaconDelay(n++, maxPeriod));
    };
    this.#track(send());
  }

  /** Stops the server: closes every circuit and socket and waits for its tasks to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#beaconTimer);
    for (const c of [...this.#circuits]) c.close();
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch {
        // already closed
      }
    }
    for (const u of this.#udp) {
      try {
        u.close();
      } catch {
        // already closed
      }
    }
    // Loops may add more loops while ending; wait until the set is stable.
    while (this.#loops.size > 0) await Promise.allSettled([...this.#loops]);
  }

  /** Closes the server, as {@link CaServer.close} does. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts a Channel Access server for a provider.
 * @param opts provider, settings and logger
 * @returns the running server (AsyncDisposable)
 * @example
 * ```ts
 * import { PvMap, SharedPV } from "../../pv/mod.ts";
 * import { epicsConfigFrom } from "../../core/env.ts";
 * import { startCaServer } from "./mod.ts";
 * const config = epicsConfigFrom({
 *   EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
 *   EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
 *   EPICS_CAS_BEACON_ADDR_LIST: "127.0.0.1",
 * }).cas;
 * const provider = new PvMap([new SharedPV("T:ai", { type: "float64" })]);
 * await using server = await startCaServer({ provider, config, port: 0 });
 * if (server.tcpPort === 0) throw new Error();
 * ```
 */
export function startCaServer(opts: CaServerOptions): Promise<CaServer> {
  return CaServer.start(opts);
}
