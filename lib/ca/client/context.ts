/**
 * The CA client context: the UDP search socket, repeater registration, the search and
 * beacon bookkeeping, and one virtual circuit per server and priority shared by all
 * channels on it. Protocol decisions live in the sans-I/O parts (search.ts,
 * circuit_state.ts); this file owns the sockets and timers.
 * @module
 */

import { cancelTimer, startTimer, type Timer } from "../../core/timer.ts";
import { broadcastAddresses, ipv4ToU32 } from "../../core/net.ts";
import { ByteWriter } from "../../core/bytes.ts";
import { type CaClientConfig, readEpicsConfig } from "../../core/env.ts";
import { CaStatusError, LocalProtocolError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { CaCommand, SEQUENCE_NO_IS_VALID } from "../proto/constants.ts";
import { decodeDatagram } from "../proto/framer.ts";
import {
  decodeBeacon,
  decodeSearchReply,
  encodeRepeaterRegister,
  ipv4ToString,
} from "../proto/messages.ts";
import { CaRepeater } from "../repeater.ts";
import {
  CaChannel,
  type ChannelData,
  type ChannelHost,
  ConnectWait,
  ReadBatch,
} from "./channel.ts";
import { type CircuitHost, type CircuitLossReason, VirtualCircuit } from "./circuit.ts";
import { type Deadline, Deadlines } from "./deadlines.ts";
import { ecaName } from "./eca_names.ts";
import { BeaconTracker, SearchScheduler } from "./search.ts";

/** How to create a {@link CaContext}. */
export interface CaContextOptions {
  /** Client settings (default: from the environment). */
  config?: CaClientConfig;
  /** Where log lines go (default: nowhere). */
  logger?: Logger;
  /** User name sent in CLIENT_NAME (default: $USER or $LOGNAME). */
  user?: string;
  /** Host name sent in HOST_NAME (default: Deno.hostname()). */
  host?: string;
  /**
   * Register with a CA repeater for beacons (default true). A repeater already bound to
   * EPICS_CA_REPEATER_PORT on this host is used. When none runs, `true` (or "spawn")
   * starts one as a separate process that outlives this one, as libca starts caRepeater:
   * `cli/ca_repeater.ts` under the deno executable, else a `ca-repeater` command on PATH
   * (installed with the others); a repeater started at the same time by another client
   * finds the port taken and exits. "in-process" hosts it inside this process instead
   * (also the fallback when no process can be started); `false` does without beacons.
   */
  repeater?: boolean | "spawn" | "in-process";
  /**
   * Seconds a repeater process started by this context lingers once it has no live
   * client (default 120).
   */
  repeaterIdleExit?: number;
  /** Seconds to wait for an ECHO reply before a circuit counts as dead (default 5, as libca). */
  echoTimeout?: number;
  /**
   * Called when a circuit is lost rather than closed by us: with the server's "ip:port" and
   * whether it went away ("disconnect") or stopped answering ECHO ("unresponsive").
   */
  onCircuitLost?: (address: string, reason: CircuitLossReason) => void;
  /**
   * Called when a second server answers for a channel already found elsewhere (libca's
   * ECA_DBLCHNL warning, "Identical process variable names on multiple servers"): with
   * the name, the "ip:port" kept and the "ip:port" ignored. Default: a logger warning.
   */
  onMultiplyDefined?: (name: string, accepted: string, ignored: string) => void;
}

/**
 * The account name of this process, as libca sends it (getpwuid of the real uid, not
 * $USER, which may be unset): looked up in /etc/passwd, which spares every CA program
 * loading node:os for it.
 */
function defaultUser(): string {
  try {
    const uid = Deno.uid();
    if (uid !== null) {
      for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
        const f = line.split(":", 3);
        if (f.length === 3 && f[0] && Number(f[2]) === uid && f[2] !== "") return f[0];
      }
    }
  } catch {
    // No sys or read permission, or no passwd file: fall back to the environment.
  }
  try {
    return Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? "unknown";
  } catch {
    return "unknown";
  }
}

function defaultHost(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "localhost";
}

const now = () => performance.now() / 1000;
/** Search bytes in flight before waiting for answers (see SearchScheduler.window). */
const SEARCH_WINDOW_BYTES = 64 * 1024;
/** Search datagram size: libca's on networks (no IP fragments); larger on loopback. */
const SEARCH_DATAGRAM = 1024;
const LOOPBACK_SEARCH_DATAGRAM = 8192;

/**
 * A Channel Access client. Create channels with {@link CaContext.channel}; close the
 * context (or `await using` it) to release every socket and timer.
 * @example
 * ```ts ignore
 * import { CaContext } from "./context.ts";
 * await using ctx = new CaContext();
 * const ch = ctx.channel("T:ai");
 * const { data } = await ch.get();
 * console.log(data.value[0]);
 * ```
 */
export class CaContext implements AsyncDisposable {
  /** The CA settings in use (from `opts.config`, else from the environment). */
  readonly config: CaClientConfig;
  /** Where the context logs (default: silent). */
  readonly logger: Logger;
  /** Account name sent to servers (CLIENT_NAME). */
  readonly user: string;
  /** Host name sent to servers (HOST_NAME). */
  readonly host: string;
  /** Called when a WRITE (put without wait) is refused and the channel has no onError. */
  onError: ((channel: CaChannel, e: CaStatusError) => void) | undefined;
  readonly #useRepeater: false | "spawn" | "in-process";
  readonly #repeaterIdleExit: number;
  readonly #onCircuitLost: CaContextOptions["onCircuitLost"];
  readonly #onMultiplyDefined: CaContextOptions["onMultiplyDefined"];
  readonly #echoTimeout: number;
  readonly #channels = new Map<number, CaChannel>();
  readonly #search: SearchScheduler;
  readonly #beacons = new BeaconTracker();
  readonly #circuits = new Map<string, VirtualCircuit>();
  readonly #nameServers = new Map<string, VirtualCircuit>();
  /** The circuit the last search reply led to. */
  #lastCircuit: VirtualCircuit | undefined;
  /** The last server address turned into text, and its text. */
  #lastIp = -1;
  #lastIpText = "";
  #udp: Deno.DatagramConn | undefined;
  /** Every destination is on this host: bind loopback only. */
  #local = false;
  #udpLoop: Promise<void> | undefined;
  #destinations: Deno.NetAddr[] = [];
  #searchTimer: Timer | undefined;
  #searchTimerAt = Infinity;
  #searchQueued = false;
  #sending: Promise<void> = Promise.resolve();
  #repeater: CaRepeater | undefined;
  #repeaterTimer: Timer | undefined;
  #repeaterConfirmed = false;
  #nameServerTimer: Timer | undefined;
  /** Timeouts of gets, puts and connection waits, driven by one timer. */
  readonly #deadlines = new Deadlines();
  #deadlineTimer: Timer | undefined;
  #deadlineTimerAt = Infinity;
  #nextCid = 1;
  #nextIoid = 1;
  #nextSubid = 1;
  #closed = false;
  readonly #closedCircuits = new Set<Promise<void>>();
  readonly #channelHost: ChannelHost;
  readonly #circuitHost: CircuitHost;

  /**
   * Creates a context. Sockets open when the first channel is created.
   * @param opts settings, logger, identity and repeater use
   */
  constructor(opts: CaContextOptions = {}) {
    this.config = opts.config ?? readEpicsConfig().ca;
    this.logger = opts.logger ?? silentLogger;
    this.user = opts.user ?? defaultUser();
    this.host = opts.host ?? defaultHost();
    const rep = opts.repeater ?? true;
    this.#useRepeater = rep === true ? "spawn" : rep;
    this.#repeaterIdleExit = opts.repeaterIdleExit ?? 120;
    this.#onCircuitLost = opts.onCircuitLost;
    this.#onMultiplyDefined = opts.onMultiplyDefined;
    this.#echoTimeout = opts.echoTimeout ?? 5;
    this.#search = new SearchScheduler({ maxPeriod: this.config.maxSearchPeriod });

    this.#channelHost = {
      logger: this.logger,
      maxArrayBytes: this.config.autoArrayBytes ? undefined : this.config.maxArrayBytes,
      startSearch: (ch, delay) => this.#startSearch(ch, delay ?? 0),
      stopSearch: (ch) => {
        this.#search.remove(ch.cid);
      },
      nextIoid: () => {
        const id = this.#nextIoid;
        this.#nextIoid = (this.#nextIoid + 1) >>> 0 || 1;
        return id;
      },
      nextSubid: () => {
        const id = this.#nextSubid;
        this.#nextSubid = (this.#nextSubid + 1) >>> 0 || 1;
        return id;
      },
      channelClosed: (ch) => {
        this.#channels.delete(ch.cid);
      },
      addDeadline: (at, onExpire) => this.#addDeadline(at, onExpire),
      // The timer stays armed when the last deadline goes: it finds nothing due when it
      // fires, and sequential gets (each adding a later deadline) then need no new timer.
      // Cancelling it each time made one runtime timer per get, each held until its
      // original time (about 2 KB each: 150,000 gets grew the process by 120-260 MB).
      cancelDeadline: (d) => this.#deadlines.cancel(d),
    };
    this.#circuitHost = {
      logger: this.logger,
      now,
      circuitClosed: (c) => this.#circuitClosed(c),
      circuitLost: (c, reason) => this.#onCircuitLost?.(c.address, reason),
      tcpSearchReply: (_c, cid, ip, port) => this.#found(cid, ip, port),
      writeFailed: (ch, eca, text) => {
        const e = new CaStatusError(
          `Cannot write "${ch.name}": server returned ${ecaName(eca)}${text ? ` (${text})` : ""}`,
          eca,
          { context: text },
        );
        if (ch._writeFailed(e)) return;
        if (this.onError) this.onError(ch, e);
        else this.logger.warn(e.message);
      },
    };
  }

  /** Number of open virtual circuits to servers. */
  get circuitCount(): number {
    return this.#circuits.size;
  }

  /** True once the repeater has confirmed our registration. */
  get repeaterConfirmed(): boolean {
    return this.#repeaterConfirmed;
  }

  /**
   * Creates a channel and starts searching for it at once. Channels created in the same
   * turn of the event loop share search datagrams.
   * @param name the PV name
   * @param opts circuit priority 0..99 (default 0)
   * @returns the channel
   * @throws {Error} when the context is closed
   * @throws {LocalProtocolError} when Deno runs without `--unstable-net` (no UDP)
   */
  channel(name: string, opts: { priority?: number } = {}): CaChannel {
    if (this.#closed) throw new Error(`Cannot create channel "${name}": the context is closed`);
    this.#open();
    const cid = this.#nextCid;
    this.#nextCid = (this.#nextCid + 1) >>> 0 || 1;
    const priority = Math.max(0, Math.min(99, Math.trunc(opts.priority ?? 0)));
    const ch = new CaChannel(this.#channelHost, name, cid, priority);
    this.#channels.set(cid, ch);
    this.#startSearch(ch, 0);
    return ch;
  }

  /**
   * Waits until every channel is connected, with one timer for all of them and no
   * callback per channel: the way to wait for thousands of channels.
   * @param channels channels of this context
   * @param timeoutSec seconds to wait (default 5; 0 or less: no limit)
   * @param signal ends the wait early (resolving false) when aborted
   * @returns true when all connected, false on timeout or abort (never rejects)
   */
  waitConnected(
    channels: readonly CaChannel[],
    timeoutSec = 5,
    signal?: AbortSignal,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      const w = new ConnectWait(channels, resolve);
      if (w.done || w.missing === 0) {
        w.start(() => {});
        return;
      }
      const d = timeoutSec > 0
        ? this.#addDeadline(performance.now() + timeoutSec * 1000, () => w.end())
        : undefined;
      const onAbort = () => w.end();
      w.start(() => {
        if (d) this.#channelHost.cancelDeadline(d);
        signal?.removeEventListener("abort", onAbort);
      });
      if (signal) {
        if (signal.aborted) w.end();
        else signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }

  /**
   * Reads many channels at once: one promise and one timeout for the batch rather than
   * one per read. Channels not connected yet are waited for within the same time.
   * @param channels channels of this context
   * @param opts DBR type (default: each channel's native type), count (default: native
   *   count; 0 = as many as the server has) and timeout in seconds (default 5)
   * @returns per channel, in order: its data, or the error its read ended with
   *   (CaStatusError, TimeoutError, DisconnectedError...); never rejects
   */
  getMany(
    channels: readonly CaChannel[],
    opts: { dbrType?: number; count?: number; timeoutSec?: number } = {},
  ): Promise<Array<ChannelData | Error>> {
    const at = performance.now() + (opts.timeoutSec ?? 5) * 1000;
    return new Promise((resolve) => {
      const batch = new ReadBatch(channels.length, resolve);
      for (let i = 0; i < channels.length; i++) channels[i]._readInto(batch, i, opts, at);
      batch.start(this.#channelHost, at);
    });
  }

  // ---- timeouts --------------------------------------------------------------------

  #addDeadline(at: number, onExpire: () => void): Deadline {
    const d = this.#deadlines.add(at, onExpire);
    if (at < this.#deadlineTimerAt) this.#armDeadlines(at);
    return d;
  }

  #armDeadlines(at: number): void {
    cancelTimer(this.#deadlineTimer);
    this.#deadlineTimerAt = at;
    this.#deadlineTimer = startTimer(() => {
      this.#deadlineTimer = undefined;
      this.#deadlineTimerAt = Infinity;
      try {
        this.#deadlines.expire(performance.now());
      } catch (e) {
        this.logger.error(`CA timeout handler threw: ${(e as Error).message}`);
      }
      const next = this.#deadlines.nextAt;
      if (next !== undefined && next < this.#deadlineTimerAt) this.#armDeadlines(next);
    }, Math.max(0, at - performance.now()));
  }

  // ---- search ----------------------------------------------------------------------

  #startSearch(ch: CaChannel, delay: number): void {
    if (this.#closed) return;
    // Due at once needs no clock reading (a cost with 10,000 channels): time 0 is past.
    this.#search.add(ch.cid, ch.name, delay === 0 ? 0 : now(), delay);
    if (delay === 0) {
      // Let every channel created in this turn join the same datagrams.
      this.#queueSearchPoll();
    } else this.#armSearch(now() + delay);
  }

  /** Polls the search scheduler at the end of this turn (once, however often asked). */
  #queueSearchPoll(): void {
    if (this.#searchQueued) return;
    this.#searchQueued = true;
    queueMicrotask(() => {
      this.#searchQueued = false;
      this.#pollSearch();
    });
  }

  #armSearch(at: number): void {
    if (this.#closed || at >= this.#searchTimerAt) return;
    cancelTimer(this.#searchTimer);
    this.#searchTimerAt = at;
    this.#searchTimer = startTimer(() => {
      this.#searchTimer = undefined;
      this.#searchTimerAt = Infinity;
      this.#pollSearch();
    }, Math.max(0, (at - now()) * 1000));
  }

  #pollSearch(): void {
    if (this.#closed) return;
    // Name servers answer over TCP without sequence numbers: no window for them.
    this.#search.window = this.#nameServers.size > 0
      ? Infinity
      : Math.max(4, Math.floor(SEARCH_WINDOW_BYTES / this.#search.maxDatagram));
    const p = this.#search.poll(now());
    if (p.datagrams.length) {
      const udp = this.#udp;
      const dests = this.#destinations;
      for (const d of p.datagrams) {
        for (const ns of this.#nameServers.values()) ns.sendRaw(d);
      }
      if (udp && dests.length) {
        this.#sending = this.#sending.then(async () => {
          for (const d of p.datagrams) {
            for (const to of dests) {
              try {
                await udp.send(d, to);
              } catch (e) {
                if (this.#closed) return;
                this.logger.debug(`search to ${to.hostname}:${to.port} failed: ${e}`);
              }
            }
          }
        });
      }
    }
    if (p.nextAt !== undefined) {
      cancelTimer(this.#searchTimer);
      this.#searchTimerAt = Infinity;
      this.#armSearch(p.nextAt);
    }
  }

  /** A server answered for a search ID. */
  #found(cid: number, ip: string, port: number, at = now()): void {
    if (!this.#search.answered(cid, at)) {
      // A duplicate or late reply: the first one wins. From another server it means the
      // name exists twice on the network, which libca reports (ECA_DBLCHNL).
      const ch = this.#channels.get(cid);
      const kept = ch?._circuitAddress;
      if (ch && kept !== undefined && kept !== `${ip}:${port}`) {
        if (this.#onMultiplyDefined) this.#onMultiplyDefined(ch.name, kept, `${ip}:${port}`);
        else {
          this.logger.warn(
            `Identical process variable names on multiple servers: "${ch.name}", ` +
              `connecting to ${kept}, ignored ${ip}:${port}`,
          );
        }
      }
      return;
    }
    const ch = this.#channels.get(cid);
    if (!ch) return;
    // Replies to one batch of searches come from one server: skip the map lookup.
    let c = this.#lastCircuit;
    if (
      c && !c.closed && c.port === port && c.priority === ch.priority && c.hostname === ip
    ) {
      ch._found(c);
      return;
    }
    const key = `${ip}:${port}:${ch.priority}`;
    c = this.#circuits.get(key);
    if (!c || c.closed) {
      c = new VirtualCircuit(this.#circuitHost, {
        hostname: ip,
        port,
        priority: ch.priority,
        user: this.user,
        host: this.host,
        connTimeout: this.config.connTimeout,
        echoTimeout: this.#echoTimeout,
        maxPayload: this.config.autoArrayBytes ? undefined : this.config.maxArrayBytes + 64,
      });
      this.#circuits.set(key, c);
    }
    this.#lastCircuit = c;
    ch._found(c);
  }

  #circuitClosed(c: VirtualCircuit): void {
    if (this.#lastCircuit === c) this.#lastCircuit = undefined;
    if (c.nameServer) {
      for (const [k, v] of this.#nameServers) if (v === c) this.#nameServers.delete(k);
      this.#scheduleNameServers(5);
    } else {
      const key = `${c.hostname}:${c.port}:${c.priority}`;
      if (this.#circuits.get(key) === c) this.#circuits.delete(key);
      this.#beacons.forget(c.address);
    }
    const done = c.done.finally(() => this.#closedCircuits.delete(done));
    this.#closedCircuits.add(done);
  }

  // ---- sockets -----------------------------------------------------------------------

  #open(): void {
    if (this.#udp) return;
    // Deno keeps UDP behind its unstable "net" API: say how to turn it on rather than
    // fail with "Deno.listenDatagram is not a function".
    if (typeof Deno.listenDatagram !== "function") {
      throw new LocalProtocolError(
        "Cannot open the CA search socket: Deno.listenDatagram is unavailable; run with " +
          '--unstable-net (or add "unstable": ["net"] to deno.json)',
      );
    }
    const cfg = this.config;
    const dests: Deno.NetAddr[] = cfg.addrList.map((a) => ({
      transport: "udp",
      hostname: a.host === "localhost" ? "127.0.0.1" : a.host,
      port: a.port,
    }));
    if (cfg.autoAddrList) {
      for (const b of broadcastAddresses()) {
        dests.push({ transport: "udp", hostname: b, port: cfg.serverPort });
      }
    }
    this.#destinations = dests;
    // Stay on loopback when every destination is local.
    const local = !cfg.autoAddrList && cfg.nameServers.every((n) => isLoopback(n.host)) &&
      dests.every((d) => isLoopback(d.hostname));
    this.#local = local;
    // Every EPICS server reads datagrams of up to 64 KiB; only networks need small ones.
    // A loopback MTU is 64 KiB: fewer, larger datagrams cost both ends less.
    this.#search.maxDatagram = local ? LOOPBACK_SEARCH_DATAGRAM : SEARCH_DATAGRAM;
    this.#udp = Deno.listenDatagram({
      hostname: local ? "127.0.0.1" : "0.0.0.0",
      port: 0,
      transport: "udp",
    });
    this.#udpLoop = this.#receiveLoop(this.#udp);
    if (this.#useRepeater) this.#startRepeater();
    this.#connectNameServers();
  }

  async #receiveLoop(udp: Deno.DatagramConn): Promise<void> {
    for (;;) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [d, a] = await udp.receive();
        data = d;
        from = a as Deno.NetAddr;
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        // Some platforms report ICMP errors of earlier sends here: keep listening. The
        // pause holds the process (no receive is pending meanwhile, and the context's own
        // timers keep nothing alive): a script waiting for a connection must not end here.
        this.logger.debug(`CA search socket: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      try {
        this.#datagram(data, from);
      } catch (e) {
        this.logger.debug(
          `bad datagram from ${from.hostname}:${from.port}: ${(e as Error).message}`,
        );
      }
    }
  }

  #datagram(data: Uint8Array, from: Deno.NetAddr): void {
    // One clock reading for all the replies of a datagram.
    let at: number | undefined;
    for (const m of decodeDatagram(data)) {
      switch (m.command) {
        case CaCommand.SEARCH: {
          const r = decodeSearchReply(m);
          let ip = from.hostname;
          if (r.serverIp !== 0xffffffff && (r.minorVersion ?? 0) >= 8) {
            if (r.serverIp !== this.#lastIp) {
              this.#lastIp = r.serverIp;
              this.#lastIpText = ipv4ToString(r.serverIp);
            }
            ip = this.#lastIpText;
          }
          this.#found(r.cid, ip, r.port, at ??= now());
          break;
        }
        case CaCommand.RSRV_IS_UP: {
          const b = decodeBeacon(m);
          const ip = b.serverIp ? ipv4ToString(b.serverIp) : from.hostname;
          const port = b.port || this.config.serverPort;
          if (this.#beacons.beacon(`${ip}:${port}`, b.beaconId) && this.#search.size) {
            this.#search.reset(now());
            this.#armSearch(now());
          }
          break;
        }
        case CaCommand.REPEATER_CONFIRM:
          if (!this.#repeaterConfirmed) {
            this.#repeaterConfirmed = true;
            cancelTimer(this.#repeaterTimer);
            this.#repeaterTimer = undefined;
            this.logger.debug("CA repeater confirmed registration");
          }
          break;
        case CaCommand.VERSION:
          // A search reply's VERSION echoes the sequence number of the datagram it answers:
          // room for more searches (see SearchScheduler.window).
          if (
            m.dataType === SEQUENCE_NO_IS_VALID &&
            this.#search.sequenceAnswered(m.param1, at ??= now())
          ) this.#queueSearchPoll();
          break;
        default:
          // NOT_FOUND, the repeater's liveness probes: nothing to do.
          break;
      }
    }
  }

  #startRepeater(): void {
    const port = this.config.repeaterPort;
    try {
      // Binding the port is how libca too finds out whether a repeater runs.
      const probe = CaRepeater.start(port, {
        logger: this.logger,
        hostname: this.#local ? "127.0.0.1" : undefined,
      });
      if (this.#useRepeater === "spawn" && this.#spawnRepeater(port, probe)) {
        this.logger.debug(`started a CA repeater process on port ${port}`);
      } else {
        this.#repeater = probe;
        this.logger.debug(`started a CA repeater in this process on port ${port}`);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) {
        this.logger.debug(`cannot start a CA repeater: ${(e as Error).message}`);
      }
    }
    let tries = 0;
    const w = new ByteWriter(16);
    const register = () => {
      if (this.#closed || this.#repeaterConfirmed || !this.#udp) return;
      w.reset();
      encodeRepeaterRegister(w, { clientIp: ipv4ToU32("127.0.0.1") });
      const bytes = w.toBytes();
      const udp = this.#udp;
      this.#sending = this.#sending.then(() =>
        udp.send(bytes, { transport: "udp", hostname: "127.0.0.1", port }).then(
          () => {},
          () => {},
        )
      );
      tries++;
      // libca retries about once a second until a repeater answers.
      this.#repeaterTimer = startTimer(register, tries < 3 ? 100 : 1000);
    };
    register();
  }

  /**
   * Starts a repeater as a detached process: `cli/ca_repeater.ts` when running under the
   * deno executable from source files, else the `ca-repeater` command from PATH (as libca
   * runs caRepeater). The probe socket that found the port free is released just before.
   * @returns false when no process could be started (the caller keeps the probe)
   */
  #spawnRepeater(port: number, probe: CaRepeater): boolean {
    const exe = Deno.execPath();
    const script = new URL("../../../cli/ca_repeater.ts", import.meta.url);
    const repeaterArgs = ["--port", String(port), "--idle-exit", String(this.#repeaterIdleExit)];
    const fromSource = /(^|[\\/])deno(\.exe)?$/.test(exe) && script.protocol === "file:";
    const cmd = fromSource ? exe : "ca-repeater";
    const args = fromSource
      ? [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-sys",
        "--unstable-net",
        "--no-config",
        script.href,
        ...repeaterArgs,
      ]
      : repeaterArgs;
    void probe.close();
    try {
      const child = new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "null",
        detached: true,
      } as Deno.CommandOptions).spawn();
      child.unref();
      // Reap it if it exits while we still run (e.g. another client won the race).
      child.status.catch(() => {});
      return true;
    } catch (e) {
      this.logger.debug(`cannot spawn a CA repeater: ${(e as Error).message}`);
      try {
        this.#repeater = CaRepeater.start(port, {
          logger: this.logger,
          hostname: this.#local ? "127.0.0.1" : undefined,
        });
        return true;
      } catch {
        return false;
      }
    }
  }

  #connectNameServers(): void {
    this.#nameServerTimer = undefined;
    if (this.#closed) return;
    for (const ns of this.config.nameServers) {
      const key = `${ns.host}:${ns.port}`;
      if (this.#nameServers.has(key)) continue;
      const c = new VirtualCircuit(this.#circuitHost, {
        hostname: ns.host,
        port: ns.port,
        priority: 0,
        user: this.user,
        host: this.host,
        connTimeout: this.config.connTimeout,
        echoTimeout: this.#echoTimeout,
        nameServer: true,
      });
      this.#nameServers.set(key, c);
    }
  }

  #scheduleNameServers(delaySec: number): void {
    if (this.#closed || this.#nameServerTimer !== undefined) return;
    this.#nameServerTimer = startTimer(() => {
      this.#connectNameServers();
      // Re-send every pending search on the new connection.
      this.#search.reset(now());
      this.#armSearch(now() + 0.05);
    }, delaySec * 1000);
  }

  /** Closes every channel, circuit and socket, and stops all timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Closing the circuits releases every channel on the server at once: no
    // CLEAR_CHANNEL per channel.
    for (const ch of this.#channels.values()) ch._closeWithContext();
    this.#channels.clear();
    cancelTimer(this.#deadlineTimer);
    this.#deadlines.clear();
    cancelTimer(this.#searchTimer);
    cancelTimer(this.#repeaterTimer);
    cancelTimer(this.#nameServerTimer);
    for (const c of [...this.#circuits.values(), ...this.#nameServers.values()]) c.close();
    await Promise.allSettled([...this.#closedCircuits]);
    try {
      this.#udp?.close();
    } catch {
      // already closed
    }
    await this.#sending.catch(() => {});
    await this.#udpLoop;
    await this.#repeater?.close();
  }

  /** Same as {@link CaContext.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
