/**
 * The TCP transport of one virtual circuit: a thin shell around {@link CircuitState}
 * that connects, writes the queued bytes once per event-loop turn, reads, dispatches
 * events to channels and pending operations, and runs the ECHO watchdog timer.
 * @module
 */

import { cancelTimer, startTimer, type Timer } from "../../core/timer.ts";
import { CaStatusError, DisconnectedError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { CaCommand } from "../proto/constants.ts";
import { type CircuitEvent, CircuitState } from "./circuit_state.ts";
import { ecaName } from "./eca_names.ts";
import type { CaChannel, Subscription } from "./channel.ts";

/** An operation waiting for its reply (READ_NOTIFY or WRITE_NOTIFY). */
export interface Pending {
  channel: CaChannel;
  ioid: number;
  kind: "read" | "write";
  resolve(ev: Extract<CircuitEvent, { kind: "readReply" | "writeReply" }>): void;
  reject(e: Error): void;
}

/** What a circuit needs from its context. */
export interface CircuitHost {
  readonly logger: Logger;
  now(): number;
  /** The circuit is gone (after its channels were told). */
  circuitClosed(c: VirtualCircuit): void;
  /** The circuit was lost, not closed by us: the server went away or stopped answering. */
  circuitLost?(c: VirtualCircuit, reason: CircuitLossReason): void;
  /** A search reply arrived over a name-server circuit. */
  tcpSearchReply(c: VirtualCircuit, cid: number, ip: string, port: number): void;
  /** A WRITE without completion failed. */
  writeFailed(channel: CaChannel, eca: number, text: string): void;
}

/** Why a circuit was lost: libca's "Virtual circuit disconnect" or "... unresponsive". */
export type CircuitLossReason = "disconnect" | "unresponsive";

/** Options of {@link VirtualCircuit}. */
export interface VirtualCircuitOptions {
  hostname: string;
  port: number;
  priority: number;
  user: string;
  host: string;
  connTimeout: number;
  echoTimeout?: number;
  maxPayload?: number;
  /** A name-server circuit carries searches only. */
  nameServer?: boolean;
}

const READ_SIZE = 64 * 1024;

/** One TCP connection to a CA server, shared by every channel on it. */
export class VirtualCircuit {
  readonly hostname: string;
  readonly port: number;
  readonly priority: number;
  readonly nameServer: boolean;
  /** "ip:port" of the server. */
  readonly address: string;
  readonly state: CircuitState;
  readonly #host: CircuitHost;
  #conn: Deno.TcpConn | undefined;
  #connected = false;
  #closed = false;
  #flushQueued = false;
  #writing = false;
  #watchdog: Timer | undefined;
  /** Channels on this circuit by CID (waiting for CREATE_CHAN or connected). */
  readonly channels = new Map<number, CaChannel>();
  /** Operations waiting for replies, by IOID. */
  readonly pending = new Map<number, Pending>();
  /** Live subscriptions by subscription ID. */
  readonly subscriptions = new Map<number, Subscription>();
  /** Resolves when the circuit's tasks have ended. */
  readonly done: Promise<void>;

  constructor(host: CircuitHost, opts: VirtualCircuitOptions) {
    this.#host = host;
    this.hostname = opts.hostname;
    this.port = opts.port;
    this.priority = opts.priority;
    this.nameServer = opts.nameServer ?? false;
    this.address = `${opts.hostname}:${opts.port}`;
    this.state = new CircuitState({
      user: opts.user,
      host: opts.host,
      priority: opts.priority,
      connTimeout: opts.connTimeout,
      echoTimeout: opts.echoTimeout,
      maxPayload: opts.maxPayload,
    }, host.now());
    this.done = this.#run();
  }

  /** True once the TCP connection is up. */
  get connected(): boolean {
    return this.#connected;
  }

  /** True once the circuit has gone away. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Puts a channel on this circuit: CREATE_CHAN goes out now, or right after the
   * opening messages when the connection is still being made.
   * @param ch the channel
   */
  addChannel(ch: CaChannel): void {
    this.channels.set(ch.cid, ch);
    if (this.#connected) {
      this.state.createChannel(ch.cid, ch.name);
      this.flushSoon();
    }
  }

  /**
   * Takes a channel off this circuit (CLEAR_CHANNEL when it was connected); the circuit
   * closes when its last channel leaves.
   * @param ch the channel
   * @param sid its SID, when CREATE_CHAN completed
   */
  removeChannel(ch: CaChannel, sid: number | undefined): void {
    if (this.channels.get(ch.cid) !== ch) return;
    this.channels.delete(ch.cid);
    // The channel already failed its own operations and dropped its subscriptions.
    if (this.channels.size === 0 && !this.nameServer) {
      this.close();
      return;
    }
    if (sid !== undefined && this.#connected) {
      this.state.clearChannel(sid, ch.cid);
      this.flushSoon();
    }
  }

  /** Writes the queued bytes after the current turn of the event loop. */
  flushSoon(): void {
    if (this.#flushQueued || this.#writing || !this.#connected) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      for (;;) {
        const conn = this.#conn;
        if (this.#closed || !conn) return;
        const bytes = this.state.takeOutput();
        if (!bytes) return;
        let off = 0;
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
      }
    } catch (e) {
      this.#fail(`write failed: ${(e as Error).message}`);
    } finally {
      this.#writing = false;
    }
  }

  /** Queues raw bytes (search blocks on a name-server circuit). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.#connected || this.#closed) return;
    this.state.appendRaw(bytes);
    this.flushSoon();
  }

  async #run(): Promise<void> {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: this.hostname, port: this.port, transport: "tcp" });
    } catch (e) {
      this.#host.logger.debug(`CA circuit to ${this.address} failed: ${(e as Error).message}`);
      this.#fail("connect failed");
      return;
    }
    if (this.#closed) {
      conn.close();
      return;
    }
    this.#conn = conn;
    try {
      conn.setNoDelay(true);
      conn.setKeepAlive(true);
    } catch {
      // Socket options are a nicety.
    }
    this.#connected = true;
    this.state.hello();
    for (const ch of this.channels.values()) {
      this.state.createChannel(ch.cid, ch.name);
    }
    this.flushSoon();
    this.#armWatchdog(this.state.tick(this.#host.now()).nextAt);
    const buf = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) {
          this.#fail("server closed the connection");
          break;
        }
        const events = this.state.receive(buf.subarray(0, n), this.#host.now());
        for (const ev of events) this.#dispatch(ev);
        if (this.#closed) break;
      }
    } catch (e) {
      this.#fail(`read failed: ${(e as Error).message}`);
    }
  }

  #armWatchdog(at: number): void {
    cancelTimer(this.#watchdog);
    if (this.#closed) return;
    const ms = Math.max(0, (at - this.#host.now()) * 1000);
    this.#watchdog = startTimer(() => {
      const act = this.state.tick(this.#host.now());
      if (act.dead) {
        this.#fail("server did not answer ECHO", "unresponsive");
        return;
      }
      if (act.sentEcho) this.flushSoon();
      this.#armWatchdog(act.nextAt);
    }, ms);
  }

  #dispatch(ev: CircuitEvent): void {
    switch (ev.kind) {
      case "accessRights":
        this.channels.get(ev.cid)?._accessRights(ev.rights);
        return;
      case "created": {
        const ch = this.channels.get(ev.cid);
        if (ch) ch._created(this, ev.sid, ev.dataType, ev.count);
        else {
          // Not ours (any more): release it on the server, as libca does.
          this.state.clearChannel(ev.sid, ev.cid);
          this.flushSoon();
        }
        return;
      }
      case "createFailed":
      case "serverDisconn": {
        const ch = this.channels.get(ev.cid);
        if (!ch) return;
        this.channels.delete(ev.cid);
        this.#dropChannelState(ch, `server dropped channel "${ch.name}"`);
        ch._lost(ev.kind === "createFailed");
        if (this.channels.size === 0) this.close();
        return;
      }
      case "readReply":
      case "writeReply": {
        const p = this.pending.get(ev.ioid);
        if (!p) return;
        this.pending.delete(ev.ioid);
        p.resolve(ev);
        return;
      }
      case "monitor": {
        const s = this.subscriptions.get(ev.subid);
        if (!s) return;
        if (ev.eca & 1 && ev.data) {
          s._deliver({ dbrType: ev.dataType, count: ev.count, data: ev.data });
        } else {
          s._deliver({
            error: new CaStatusError(
              `Cannot update subscription on "${s.channel.name}": server returned ${
                ecaName(ev.eca)
              }`,
              ev.eca,
            ),
          });
        }
        return;
      }
      case "error":
        this.#error(ev);
        return;
      case "searchReply": {
        const ip = ev.serverIp === 0xffffffff ? this.hostname : [
          ev.serverIp >>> 24,
          (ev.serverIp >>> 16) & 255,
          (ev.serverIp >>> 8) & 255,
          ev.serverIp & 255,
        ].join(".");
        this.#host.tcpSearchReply(this, ev.cid, ip, ev.port);
        return;
      }
      case "version":
      case "cancelled":
      case "cleared":
      case "echo":
        return;
    }
  }

  #error(ev: Extract<CircuitEvent, { kind: "error" }>): void {
    const r = ev.request;
    const err = (what: string) =>
      new CaStatusError(
        `Cannot ${what}: server returned ${ecaName(ev.eca)}${ev.text ? ` (${ev.text})` : ""}`,
        ev.eca,
      );
    switch (r.command) {
      case CaCommand.READ_NOTIFY:
      case CaCommand.WRITE_NOTIFY: {
        const p = this.pending.get(r.param2);
        if (!p) break;
        this.pending.delete(r.param2);
        p.reject(
          err(`${p.kind === "read" ? "read" : "write"} "${p.channel.name}"`),
        );
        return;
      }
      case CaCommand.EVENT_ADD: {
        const s = this.subscriptions.get(r.param2);
        if (!s) break;
        s._deliver({ error: err(`subscribe to "${s.channel.name}"`) });
        return;
      }
      case CaCommand.WRITE: {
        const ch = this.channels.get(r.param2);
        if (!ch) break;
        this.#host.writeFailed(ch, ev.eca, ev.text);
        return;
      }
      case CaCommand.CREATE_CHAN: {
        const ch = this.channels.get(r.param1);
        if (!ch) break;
        this.channels.delete(ch.cid);
        ch._lost(true);
        return;
      }
    }
    this.#host.logger.warn(
      `CA server ${this.address} reported ${ecaName(ev.eca)} for command ${r.command}: ${ev.text}`,
    );
  }

  /** Fails the channel's pending operations (its subscriptions go in `_lost`). */
  #dropChannelState(ch: CaChannel, why: string): void {
    ch._failOps(() => new DisconnectedError(`Channel "${ch.name}" disconnected: ${why}`));
  }

  #fail(why: string, reason: CircuitLossReason = "disconnect"): void {
    if (this.#closed) return;
    this.#host.logger.debug(`CA circuit to ${this.address} lost: ${why}`);
    this.#host.circuitLost?.(this, reason);
    this.#shutdown(why, true);
  }

  /** Closes the circuit; channels still on it are told they lost their server. */
  close(): void {
    if (this.#closed) return;
    this.#shutdown("circuit closed", true);
  }

  #shutdown(why: string, notify: boolean): void {
    this.#closed = true;
    this.#connected = false;
    cancelTimer(this.#watchdog);
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.subscriptions.clear();
    for (const p of pending) {
      p.reject(new DisconnectedError(`Channel "${p.channel.name}" disconnected: ${why}`));
    }
    const chans = [...this.channels.values()];
    this.channels.clear();
    this.#host.circuitClosed(this);
    if (notify) { for (const ch of chans) ch._lost(false); }
  }
}
