/**
 * The scaffolding of a scripted CA server for client tests: a UDP socket that answers every
 * search with this server's TCP port, a TCP listener, the set of open circuits and a close
 * that ends them all. A test supplies what happens on each circuit.
 * @module
 */

import { ByteWriter } from "../../lib/core/bytes.ts";
import { CaCommand } from "../../lib/ca/proto/constants.ts";
import { decodeDatagram } from "../../lib/ca/proto/framer.ts";
import {
  decodeSearchRequest,
  encodeSearchReply,
  encodeUdpVersion,
} from "../../lib/ca/proto/messages.ts";

/** What a scripted server does with one accepted circuit (it returns when the circuit ends). */
export type CircuitScript = (conn: Deno.TcpConn) => Promise<void>;

/**
 * A loopback CA server whose circuits follow a test's script: the one given to the
 * constructor, or a subclass's {@link ScriptedCaServer.circuit}.
 */
export class ScriptedCaServer implements AsyncDisposable {
  readonly udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  readonly tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly conns = new Set<Deno.TcpConn>();
  readonly loops: Promise<void>[] = [];

  /** Starts answering searches and accepting circuits, each run by `script`. */
  constructor(readonly script?: CircuitScript) {
    this.loops.push(this.#udpLoop(), this.#acceptLoop());
  }

  /** Runs one circuit; by default the constructor's script. */
  protected circuit(conn: Deno.TcpConn): Promise<void> {
    if (!this.script) throw new Error("ScriptedCaServer needs a script or a circuit()");
    return this.script(conn);
  }

  /** The UDP port to put in EPICS_CA_ADDR_LIST. */
  get udpPort(): number {
    return (this.udp.addr as Deno.NetAddr).port;
  }

  async #udpLoop(): Promise<void> {
    const w = new ByteWriter();
    try {
      for (;;) {
        const [data, from] = await this.udp.receive();
        w.reset();
        encodeUdpVersion(w);
        for (const m of decodeDatagram(data)) {
          if (m.command !== CaCommand.SEARCH) continue;
          encodeSearchReply(w, { port: this.tcp.addr.port, cid: decodeSearchRequest(m).cid });
        }
        await this.udp.send(w.toBytes(), from);
      }
    } catch {
      // closed
    }
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const conn of this.tcp) {
        this.conns.add(conn);
        this.loops.push(this.#run(conn));
      }
    } catch {
      // closed
    }
  }

  async #run(conn: Deno.TcpConn): Promise<void> {
    try {
      await this.circuit(conn);
    } catch {
      // closed
    } finally {
      this.conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  /** Closes the sockets and every circuit, and waits for the loops to end. */
  async close(): Promise<void> {
    this.udp.close();
    this.tcp.close();
    for (const c of this.conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await Promise.allSettled(this.loops);
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
