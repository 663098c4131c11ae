/**
 * The tutorial's device class: a connection to a device over TCP that counts the bytes it
 * has sent and pushes the count to I/O Intr records. It runs on its own too:
 *
 * ```sh
 * deno run --allow-net examples/tsdev/simulator.ts 4011 &
 * deno run --allow-net examples/tsdev/mydevice.ts 4011
 * ```
 * @module
 */

import { iointr } from "../../mod.ts";

/** A device at a TCP address. */
export class MyDevice {
  /** Bytes sent so far. */
  sent = 0;
  #conn: Deno.Conn | undefined;

  /** Remembers where the device is; connects later. */
  constructor(readonly ip: string, readonly port = 4011) {}

  /** Connects (again); rejects when the device does not answer within `timeout` seconds. */
  async connect(timeout = 1.0): Promise<void> {
    this.disconnect();
    const signal = AbortSignal.timeout(timeout * 1000);
    this.#conn = await Deno.connect({ hostname: this.ip, port: this.port, signal });
  }

  /** Closes the connection. */
  disconnect(): void {
    try {
      this.#conn?.close();
    } catch {
      // Already closed.
    }
    this.#conn = undefined;
  }

  /** Sends a message; rejects when not connected or when the connection broke. */
  async send(msg: string): Promise<void> {
    if (!this.#conn) throw new Error("not connected");
    const bytes = new TextEncoder().encode(msg);
    let off = 0;
    try {
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
    } catch (e) {
      this.disconnect();
      throw new Error(`socket connection broken: ${(e as Error).message}`);
    }
    this.sent += bytes.length;
    iointr("bytes_sent", this.sent);
  }
}

if (import.meta.main) {
  const device = new MyDevice("127.0.0.1", Number(Deno.args[0] ?? 4011));
  await device.connect();
  await device.send("test");
  console.log(`sent ${device.sent} bytes`);
  device.disconnect();
}
