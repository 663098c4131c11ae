/**
 * A tiny TCP "device" for the tsdev tutorial: it accepts connections on 127.0.0.1, counts
 * the bytes it receives and answers "*IDN?" with an identification line. Run on its own
 * (`deno run --allow-net examples/tsdev/simulator.ts`) it prints the port it listens on.
 * @module
 */

/** A running simulator. */
export interface Simulator extends AsyncDisposable {
  /** The TCP port (chosen by the system). */
  readonly port: number;
  /** Bytes received so far, over all connections. */
  readonly received: number;
  /** Text received so far. */
  readonly text: string;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Starts the simulator on 127.0.0.1, port 0 unless given. */
export function startSimulator(port = 0): Simulator {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  let received = 0;
  let text = "";
  const serveOne = async (conn: Deno.Conn) => {
    conns.add(conn);
    const buf = new Uint8Array(4096);
    const dec = new TextDecoder();
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        received += n;
        const chunk = dec.decode(buf.subarray(0, n));
        text += chunk;
        if (chunk.includes("*IDN?")) {
          await conn.write(new TextEncoder().encode("epics-ts tsdev simulator,1.0\n"));
        }
      }
    } catch {
      // The peer went away.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) serveOne(conn);
    } catch {
      // Closed.
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get received() {
      return received;
    },
    get text() {
      return text;
    },
    async close() {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
      await accepting;
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}

if (import.meta.main) {
  const sim = startSimulator(Number(Deno.args[0] ?? 0));
  console.log(`device simulator listening on 127.0.0.1:${sim.port}`);
}
