/**
 * A small raw Channel Access client for tests and benchmarks, built straight on the CA
 * codec in lib/ca/proto: one TCP circuit to 127.0.0.1, explicit SIDs, IOIDs and subids,
 * no retries and no search. It can also send arbitrary bytes, which is what the fuzz
 * test needs, and wait for any message that matches a predicate.
 * @module
 */

import { ByteWriter } from "../lib/core/bytes.ts";
import {
  CaStatusError,
  ChannelNotFoundError,
  DisconnectedError,
  TimeoutError,
} from "../lib/core/errors.ts";
import { CaCommand, Eca, SearchReply } from "../lib/ca/proto/constants.ts";
import { decodeDbr } from "../lib/ca/proto/dbr.ts";
import type { DbrData, DbrValues } from "../lib/ca/proto/dbr_types.ts";
import { CaFramer, decodeDatagram } from "../lib/ca/proto/framer.ts";
import type { CaMessage } from "../lib/ca/proto/header.ts";
import {
  decodeAccessRights,
  decodeCreateChan,
  decodeError,
  decodeSearchReply,
  encodeClearChannel,
  encodeClientName,
  encodeCreateChanRequest,
  encodeEcho,
  encodeEventAdd,
  encodeEventCancel,
  encodeHostName,
  encodeReadNotify,
  encodeSearchRequest,
  encodeUdpVersion,
  encodeVersion,
  encodeWrite,
  encodeWriteNotify,
} from "../lib/ca/proto/messages.ts";

/** What CREATE_CHAN told us about a channel. */
export interface RawChannel {
  cid: number;
  sid: number;
  /** Native DBR value type 0..6. */
  nativeType: number;
  /** Native element count. */
  count: number;
  /** ACCESS_RIGHTS bits (1 read, 2 write). */
  access: number;
}

/** A READ_NOTIFY reply or a monitor update. */
export interface RawData {
  /** ECA status from the reply. */
  status: number;
  /** Elements in the payload. */
  count: number;
  data: DbrData;
}

/** Options of {@link RawCaClient.connect}. */
export interface RawCaClientOptions {
  /** Host to connect to (default 127.0.0.1). */
  host?: string;
  /** CLIENT_NAME (default "raw"). */
  user?: string;
  /** HOST_NAME (default "localhost"). */
  hostName?: string;
  /** Timeout of request/reply methods in ms (default 5000). */
  timeoutMs?: number;
  /** Send VERSION, CLIENT_NAME and HOST_NAME first (default true). */
  handshake?: boolean;
}

interface Waiter {
  match: (m: CaMessage) => boolean;
  resolve: (m: CaMessage) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One subscription's callback. */
export type RawUpdateHandler = (update: RawData) => void;

/** A raw CA client over one TCP circuit. */
export class RawCaClient implements AsyncDisposable {
  readonly #conn: Deno.TcpConn;
  readonly #framer = new CaFramer();
  readonly #w = new ByteWriter(4096);
  readonly #timeoutMs: number;
  #waiters: Waiter[] = [];
  #subs = new Map<number, { dataType: number; onUpdate: RawUpdateHandler }>();
  #taps = new Set<(m: CaMessage) => void>();
  #rights = new Map<number, number>();
  #nextId = 1;
  #closed = false;
  #loop: Promise<void>;
  #sendChain: Promise<unknown> = Promise.resolve();
  /** The server's VERSION minor, once received. */
  serverMinor = 0;
  /** ERROR messages that no request was waiting for. */
  readonly errors: CaMessage[] = [];

  private constructor(conn: Deno.TcpConn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
    this.#loop = this.#readLoop();
  }

  /**
   * Connects and (unless `handshake: false`) sends VERSION, CLIENT_NAME and HOST_NAME.
   * @param port the server's TCP port
   * @param opts host, names and the default timeout
   * @returns the connected client
   */
  static async connect(port: number, opts: RawCaClientOptions = {}): Promise<RawCaClient> {
    const conn = await Deno.connect({ hostname: opts.host ?? "127.0.0.1", port });
    conn.setNoDelay(true);
    const c = new RawCaClient(conn, opts.timeoutMs ?? 5000);
    if (opts.handshake === false) return c;
    const w = c.#w;
    w.reset();
    encodeVersion(w);
    encodeClientName(w, opts.user ?? "raw");
    encodeHostName(w, opts.hostName ?? "localhost");
    await c.send(w.toBytes());
    return c;
  }

  /** Whether the circuit has ended (either side closed it). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves when the read side has ended. */
  get done(): Promise<void> {
    return this.#loop;
  }

  /** Allocates a fresh ID for a cid, ioid or subid. */
  nextId(): number {
    return this.#nextId++;
  }

  /**
   * Writes raw bytes in order with other sends.
   * @param bytes what to send (copied first, so the caller may reuse its buffer)
   * @throws {DisconnectedError} when the circuit is closed
   */
  send(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new DisconnectedError("Cannot send: circuit closed"));
    const copy = bytes.slice();
    const p = this.#sendChain.then(async () => {
      let off = 0;
      while (off < copy.length) off += await this.#conn.write(copy.subarray(off));
    });
    this.#sendChain = p.catch(() => {});
    return p.catch((e) => {
      throw new DisconnectedError(`Cannot send: ${(e as Error).message}`, { cause: e });
    });
  }

  /** Encodes with the client's writer and sends the result. */
  #encodeAndSend(encode: (w: ByteWriter) => void): Promise<void> {
    const w = this.#w;
    w.reset();
    encode(w);
    return this.send(w.view());
  }

  /**
   * Registers a function that sees every message received (before replies are matched).
   * @param tap the function
   * @returns the function that removes it
   */
  tap(tap: (m: CaMessage) => void): () => void {
    this.#taps.add(tap);
    return () => this.#taps.delete(tap);
  }

  /**
   * Waits for the next message matching `match`.
   * @param match the predicate
   * @param timeoutMs how long to wait (default: the client's timeout)
   * @returns the message (its payload is a copy owned by the caller)
   * @throws {TimeoutError} when none arrives in time
   * @throws {DisconnectedError} when the circuit ends first
   */
  nextMessage(match: (m: CaMessage) => boolean, timeoutMs = this.#timeoutMs): Promise<CaMessage> {
    if (this.#closed) {
      return Promise.reject(new DisconnectedError("Cannot wait for a message: circuit closed"));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((x) => x !== waiter);
          reject(new TimeoutError(`No matching CA message within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * Creates a channel.
   * @param name the PV name
   * @returns cid, sid, native type and count, access rights
   * @throws {ChannelNotFoundError} on CREATE_CH_FAIL
   */
  async createChannel(name: string): Promise<RawChannel> {
    const cid = this.nextId();
    const reply = this.nextMessage((m) =>
      (m.command === CaCommand.CREATE_CHAN || m.command === CaCommand.CREATE_CH_FAIL) &&
      m.param1 === cid
    );
    await this.#encodeAndSend((w) => encodeCreateChanRequest(w, { cid, name }));
    const m = await reply;
    if (m.command === CaCommand.CREATE_CH_FAIL) throw new ChannelNotFoundError(name);
    const c = decodeCreateChan(m);
    return {
      cid,
      sid: c.sid,
      nativeType: c.dataType,
      count: c.count,
      access: this.#rights.get(cid) ?? 0,
    };
  }

  /**
   * Reads with READ_NOTIFY.
   * @param sid the channel's SID
   * @param dbrType the DBR type wanted
   * @param count elements wanted (0: all current)
   * @returns status, count and decoded data
   * @throws {CaStatusError} when the server answers with ERROR or a failure status
   */
  async read(sid: number, dbrType: number, count: number): Promise<RawData> {
    const ioid = this.nextId();
    const reply = this.nextMessage((m) =>
      (m.command === CaCommand.READ_NOTIFY && m.param2 === ioid) || isErrorFor(m, ioid)
    );
    await this.#encodeAndSend((w) => encodeReadNotify(w, { sid, ioid, dataType: dbrType, count }));
    const m = await reply;
    throwIfError(m, "read");
    if ((m.param1 & 1) === 0) {
      throw new CaStatusError(`Cannot read SID ${sid}: status ${m.param1}`, m.param1);
    }
    return {
      status: m.param1,
      count: m.dataCount,
      data: decodeDbr(m.dataType, m.dataCount, m.payload),
    };
  }

  /**
   * Writes with WRITE, or WRITE_NOTIFY and waits for the reply.
   * @param sid the channel's SID
   * @param dbrType the DBR type of `values`
   * @param values the elements
   * @param opts notify: wait for the completion status; cid: goes in WRITE's p2
   * @returns the ECA status of a notified write (ECA_NORMAL for a plain write)
   * @throws {CaStatusError} when a notified write fails
   */
  async write(
    sid: number,
    dbrType: number,
    values: DbrValues,
    opts: { notify?: boolean; cid?: number } = {},
  ): Promise<number> {
    const data: DbrData = { value: values, meta: { status: 0, severity: 0 } };
    const count = values.length;
    if (!opts.notify) {
      await this.#encodeAndSend((w) =>
        encodeWrite(w, { sid, cid: opts.cid ?? 0, dataType: dbrType, count, data })
      );
      return Eca.NORMAL;
    }
    const ioid = this.nextId();
    const reply = this.nextMessage((m) =>
      (m.command === CaCommand.WRITE_NOTIFY && m.param2 === ioid) || isErrorFor(m, ioid)
    );
    await this.#encodeAndSend((w) =>
      encodeWriteNotify(w, { sid, ioid, dataType: dbrType, count, data })
    );
    const m = await reply;
    throwIfError(m, "write");
    if ((m.param1 & 1) === 0) {
      throw new CaStatusError(`Cannot write SID ${sid}: status ${m.param1}`, m.param1);
    }
    return m.param1;
  }

  /**
   * Subscribes with EVENT_ADD; updates go to `onUpdate` until {@link cancel}.
   * @param sid the channel's SID
   * @param dbrType the DBR type of updates
   * @param count elements per update (0: all current)
   * @param mask DBE mask bits
   * @param onUpdate called with each decoded update
   * @returns the subid
   */
  async subscribe(
    sid: number,
    dbrType: number,
    count: number,
    mask: number,
    onUpdate: RawUpdateHandler,
  ): Promise<number> {
    const subid = this.nextId();
    this.#subs.set(subid, { dataType: dbrType, onUpdate });
    await this.#encodeAndSend((w) =>
      encodeEventAdd(w, { sid, subid, dataType: dbrType, count, mask })
    );
    return subid;
  }

  /**
   * Cancels a subscription and waits for the server's confirmation.
   * @param sid the channel's SID
   * @param subid the subscription
   */
  async cancel(sid: number, subid: number): Promise<void> {
    const sub = this.#subs.get(subid);
    const reply = this.nextMessage((m) =>
      (m.command === CaCommand.EVENT_ADD && m.param2 === subid && m.payload.length === 0) ||
      m.command === CaCommand.ERROR
    );
    await this.#encodeAndSend((w) =>
      encodeEventCancel(w, { sid, subid, dataType: sub?.dataType ?? 0, count: 0 })
    );
    const m = await reply;
    this.#subs.delete(subid);
    throwIfError(m, "cancel");
  }

  /**
   * Clears a channel and waits for the server's echo.
   * @param sid the channel's SID
   * @param cid the channel's CID
   */
  async clear(sid: number, cid: number): Promise<void> {
    const reply = this.nextMessage((m) =>
      (m.command === CaCommand.CLEAR_CHANNEL && m.param1 === sid) || m.command === CaCommand.ERROR
    );
    await this.#encodeAndSend((w) => encodeClearChannel(w, { sid, cid }));
    throwIfError(await reply, "clear");
  }

  /** Sends ECHO and waits for it to come back (a round trip through the circuit). */
  async echo(): Promise<void> {
    const reply = this.nextMessage((m) => m.command === CaCommand.ECHO);
    await this.#encodeAndSend(encodeEcho);
    await reply;
  }

  /** Closes the circuit and waits for the read side to end. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // The peer closed it already.
      }
    }
    await this.#loop;
    await this.#sendChain;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        // Copy: the framer returns views, and callers may keep payloads.
        for (const m of this.#framer.receive(buf.slice(0, n))) this.#dispatch(m);
      }
    } catch {
      // Reset by the peer or closed locally: either way the circuit is over.
    }
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    }
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(new DisconnectedError("CA circuit closed"));
    }
    this.#waiters = [];
  }

  #dispatch(m: CaMessage): void {
    for (const t of this.#taps) t(m);
    switch (m.command) {
      case CaCommand.VERSION:
        this.serverMinor = m.dataCount;
        break;
      case CaCommand.ACCESS_RIGHTS: {
        const r = decodeAccessRights(m);
        this.#rights.set(r.cid, r.rights);
        break;
      }
      case CaCommand.EVENT_ADD: {
        const sub = this.#subs.get(m.param2);
        if (sub && m.payload.length > 0) {
          sub.onUpdate({
            status: m.param1,
            count: m.dataCount,
            data: decodeDbr(m.dataType, m.dataCount, m.payload),
          });
        }
        break;
      }
    }
    const i = this.#waiters.findIndex((w) => w.match(m));
    if (i >= 0) {
      const w = this.#waiters[i];
      this.#waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(m);
    } else if (m.command === CaCommand.ERROR && this.errors.length < 1000) {
      this.errors.push(m);
    }
  }
}

/** Whether `m` is an ERROR about a request whose p2 (ioid) is `ioid`. */
function isErrorFor(m: CaMessage, ioid: number): boolean {
  if (m.command !== CaCommand.ERROR || m.payload.length < 16) return false;
  return decodeError(m).request.param2 === ioid;
}

function throwIfError(m: CaMessage, what: string): void {
  if (m.command !== CaCommand.ERROR) return;
  const e = decodeError(m);
  throw new CaStatusError(`Cannot ${what}: server sent ERROR ${e.eca}: ${e.text}`, e.eca);
}

/** One answer to a UDP search. */
export interface RawSearchReply {
  name: string;
  /** The TCP port the server advertises. */
  port: number;
  /** The search ID (index into the names, plus one). */
  cid: number;
}

/**
 * Sends one search datagram (VERSION + one SEARCH per name, DONT_REPLY) to
 * 127.0.0.1:port and returns the names the server's reply datagram holds. A server
 * answers one search datagram with one reply datagram for every name it hosts, so the
 * first reply is all there is: nothing waits for a time window. Without any reply (no
 * name hosted) it returns empty after `timeoutMs`, a backstop; callers that expect
 * nothing found should send a hosted name too.
 * @param port the server's UDP port
 * @param names the PV names to look for
 * @param timeoutMs the backstop (default 20 s)
 * @returns one entry per name found
 */
export async function udpSearch(
  port: number,
  names: string[],
  timeoutMs = 20_000,
): Promise<RawSearchReply[]> {
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const out: RawSearchReply[] = [];
  try {
    const w = new ByteWriter(1024);
    encodeUdpVersion(w, { sequence: 1 });
    names.forEach((name, i) =>
      encodeSearchRequest(w, { cid: i + 1, name, replyFlag: SearchReply.DONT_REPLY })
    );
    await udp.send(w.toBytes(), { transport: "udp", hostname: "127.0.0.1", port });
    const deadline = Date.now() + timeoutMs;
    while (out.length < names.length) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<null>((r) => {
        timer = setTimeout(() => r(null), left);
      });
      const got = await Promise.race([udp.receive(), timeout]);
      clearTimeout(timer);
      if (!got) break;
      let msgs: CaMessage[];
      try {
        msgs = decodeDatagram(got[0]);
      } catch {
        continue;
      }
      for (const m of msgs) {
        if (m.command !== CaCommand.SEARCH) continue;
        const r = decodeSearchReply(m);
        const name = names[r.cid - 1];
        if (name !== undefined) out.push({ name, port: r.port, cid: r.cid });
      }
      if (out.length > 0) break; // the server's one reply datagram
    }
  } finally {
    udp.close();
  }
  return out;
}
