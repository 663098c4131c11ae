/**
 * The CA repeater: one per host on EPICS_CA_REPEATER_PORT. Clients register with it and it
 * fans out every beacon (and other datagrams) it receives to all of them, so that many
 * clients on one host can hear server beacons. Behaves like EPICS base's caRepeater.
 * @module
 */

import { ByteWriter } from "../core/bytes.ts";
import { ipv4ToU32 } from "../core/net.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { CaCommand } from "./proto/constants.ts";
import { writeHeader } from "./proto/header.ts";

/** A registered client: its UDP address. */
interface Client {
  hostname: string;
  port: number;
}

function key(c: Client): string {
  return `${c.hostname}:${c.port}`;
}

/** What the repeater does with one datagram. */
export interface RepeaterAction {
  /** Register the sender (and confirm to it). */
  register: boolean;
  /** Bytes to forward to every registered client other than the sender, if any. */
  forward?: Uint8Array;
}

/**
 * Decides what to do with a datagram (pure).
 *
 * ```text
 * REPEATER_REGISTER  u16 24 | u16 0 | u16 0 | u16 0 | u32 0 | u32 client IPv4
 * (a zero-length datagram registers too, as very old clients do)
 * RSRV_IS_UP with p2 = 0 gets the sender's IPv4 written into p2 before it is forwarded
 * ```
 * @param data the datagram
 * @param fromHost the sender's IPv4 address
 * @returns the action
 */
export function repeaterAction(data: Uint8Array, fromHost: string): RepeaterAction {
  if (data.length === 0) return { register: true };
  if (data.length >= 16) {
    const cmd = (data[0] << 8) | data[1];
    if (cmd === CaCommand.REPEATER_REGISTER) {
      const rest = data.subarray(16);
      return { register: true, forward: rest.length ? rest : undefined };
    }
    if (cmd === CaCommand.RSRV_IS_UP) {
      const out = data.slice();
      const v = new DataView(out.buffer);
      if (v.getUint32(12) === 0) v.setUint32(12, ipv4ToU32(fromHost));
      return { register: false, forward: out };
    }
  }
  return { register: false, forward: data };
}

/** A running repeater. */
export class CaRepeater implements AsyncDisposable {
  readonly #sock: Deno.DatagramConn;
  readonly #clients = new Map<string, Client>();
  readonly #logger: Logger;
  readonly #loop: Promise<void>;
  #closed = false;

  private constructor(sock: Deno.DatagramConn, logger: Logger) {
    this.#sock = sock;
    this.#logger = logger;
    this.#loop = this.#run();
  }

  /**
   * Binds the repeater port. Throws Deno.errors.AddrInUse when another repeater owns it.
   * @param port the repeater port (EPICS_CA_REPEATER_PORT, 5065)
   * @param opts interface to bind (default all) and logger
   * @returns the running repeater
   */
  static start(port: number, opts: { hostname?: string; logger?: Logger } = {}): CaRepeater {
    const sock = Deno.listenDatagram({
      hostname: opts.hostname ?? "0.0.0.0",
      port,
      transport: "udp",
    });
    return new CaRepeater(sock, opts.logger ?? silentLogger);
  }

  /** The bound port. */
  get port(): number {
    return (this.#sock.addr as Deno.NetAddr).port;
  }

  /** Number of registered clients. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /**
   * Drops local clients that have exited (their UDP port can be bound again).
   * @returns the number of clients left
   */
  sweep(): number {
    for (const c of [...this.#clients.values()]) {
      if (c.hostname.startsWith("127.") && this.#portFree(c)) this.#clients.delete(key(c));
    }
    return this.#clients.size;
  }

  /**
   * Resolves once the repeater has had no live client for `idleSec` seconds in a row
   * (checked every few seconds), or when it is closed. A repeater started on behalf of
   * clients uses this to go away after the last of them.
   * @param idleSec seconds without clients
   */
  async untilIdle(idleSec: number): Promise<void> {
    const step = Math.min(5, idleSec) * 1000;
    let idleSince = performance.now();
    while (!this.#closed) {
      await new Promise((r) => setTimeout(r, step));
      if (this.sweep() > 0) idleSince = performance.now();
      else if (performance.now() - idleSince >= idleSec * 1000) return;
    }
  }

  async #run(): Promise<void> {
    const w = new ByteWriter(16);
    for (;;) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [d, a] = await this.#sock.receive();
        data = d;
        from = a as Deno.NetAddr;
      } catch (e) {
        if (!this.#closed) this.#logger.error(`repeater receive failed: ${(e as Error).message}`);
        return;
      }
      const act = repeaterAction(data, from.hostname);
      if (act.register) {
        const c = { hostname: from.hostname, port: from.port };
        const isNew = !this.#clients.has(key(c));
        this.#clients.set(key(c), c);
        w.reset();
        writeHeader(w, CaCommand.REPEATER_CONFIRM, 0, 0, 0, 0, ipv4ToU32(from.hostname));
        await this.#send(w.toBytes(), c);
        if (isNew) {
          // Probe the others: the ones that are gone are dropped.
          w.reset();
          writeHeader(w, CaCommand.VERSION, 0, 0, 0, 0, 0);
          const probe = w.toBytes();
          for (const other of [...this.#clients.values()]) {
            if (key(other) !== key(c)) await this.#send(probe, other);
          }
        }
      }
      if (act.forward) {
        for (const c of [...this.#clients.values()]) {
          if (c.hostname === from.hostname && c.port === from.port) continue;
          await this.#send(act.forward, c);
        }
      }
    }
  }

  async #send(bytes: Uint8Array, c: Client): Promise<void> {
    try {
      await this.#sock.send(bytes, { transport: "udp", hostname: c.hostname, port: c.port });
    } catch {
      this.#clients.delete(key(c));
    }
    if (c.hostname.startsWith("127.") && this.#portFree(c)) this.#clients.delete(key(c));
  }

  /** A local client whose port can be bound again has exited. */
  #portFree(c: Client): boolean {
    try {
      const s = Deno.listenDatagram({ hostname: c.hostname, port: c.port, transport: "udp" });
      s.close();
      return true;
    } catch {
      return false;
    }
  }

  /** Stops the repeater. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
    await this.#loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
