/**
 * Test helpers that run `cli/pvserve.ts` as a real subprocess on loopback, for tests that
 * talk to it with outside clients (pyepics over libca, EPICS base tools).
 * @module
 */

import { startTestRepeater } from "./ca_repeater.ts";

const ROOT = new URL("../../", import.meta.url);

/** The repository root as a file path. */
export const REPO_ROOT: string = decodeURIComponent(ROOT.pathname).replace(/\/$/, "");

/**
 * The environment every socket-opening test uses: searches, beacons and interfaces stay
 * on 127.0.0.1 for both CA and PVA.
 */
export const LOOPBACK_ENV: Readonly<Record<string, string>> = {
  EPICS_CA_AUTO_ADDR_LIST: "NO",
  EPICS_CA_ADDR_LIST: "127.0.0.1",
  EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
  EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
  EPICS_CAS_BEACON_ADDR_LIST: "127.0.0.1",
  EPICS_PVA_AUTO_ADDR_LIST: "NO",
  EPICS_PVA_ADDR_LIST: "127.0.0.1",
  EPICS_PVAS_INTF_ADDR_LIST: "127.0.0.1",
  EPICS_PVAS_AUTO_BEACON_ADDR_LIST: "NO",
  EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1",
};

function udpFree(port: number): boolean {
  try {
    const s = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
    s.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds a port that is free for both TCP and UDP on 127.0.0.1 (CA uses the same number
 * for its TCP listener and its UDP search socket). The port is released before returning,
 * so another process could take it in between; tests accept that small race.
 * @param exclude ports not to return (e.g. one already chosen for another purpose)
 * @returns the port number
 */
export function freePort(exclude: readonly number[] = []): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    if (!exclude.includes(port) && udpFree(port)) return port;
  }
  throw new Error("Cannot find a port free for both TCP and UDP on 127.0.0.1");
}

/** How to {@link startPvserve}. */
export interface StartPvserveOptions {
  /** Extra environment for the server process. */
  env?: Record<string, string>;
  /** How long to wait for the "serving" line (default 30 s: the first run may compile). */
  readyTimeoutMs?: number;
}

/** A running `pvserve` subprocess; dispose (or call `close`) to stop it. */
export interface PvserveProcess extends AsyncDisposable {
  /** The CA port given with `--ca-port` (TCP and UDP). */
  port: number;
  /** The TCP port the server says it listens on (equals `port` unless it was taken). */
  tcpPort: number;
  /**
   * The private CA repeater and beacon port; a repeater of ours serves it until `close`, so
   * no system repeater is touched and libca clients start none.
   */
  repeaterPort: number;
  /** Environment a CA client needs to find this server (loopback variables included). */
  clientEnv: Record<string, string>;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Stops the server with SIGTERM (SIGKILL after 5 s) and waits for it to exit. */
  close(): Promise<Deno.CommandStatus>;
}

/**
 * Starts `deno run -A cli/pvserve.ts <args> --ca-port <free port>` and waits until it
 * prints that it is serving.
 * @param args pvserve arguments, e.g. `["--demo"]` or `["x=float64:1"]`
 * @param options extra environment, ready timeout
 * @returns the running process
 * @throws Error when the server exits or stays silent before it is ready
 */
export async function startPvserve(
  args: string[],
  options: StartPvserveOptions = {},
): Promise<PvserveProcess> {
  // Our repeater on the private repeater port, so the libca clients the test runs against
  // this server register with it instead of starting a caRepeater that outlives the test.
  const repeater = startTestRepeater();
  const repeaterPort = repeater.port;
  const port = freePort([repeaterPort]);
  // A private PVA search port too, so parallel servers do not see each other's searches.
  const pvaBroadcastPort = freePort([port, repeaterPort]);
  const caEnv = {
    ...LOOPBACK_ENV,
    EPICS_PVA_BROADCAST_PORT: String(pvaBroadcastPort),
    EPICS_PVAS_BROADCAST_PORT: String(pvaBroadcastPort),
    EPICS_CA_SERVER_PORT: String(port),
    EPICS_CAS_SERVER_PORT: String(port),
    EPICS_CA_REPEATER_PORT: String(repeaterPort),
    EPICS_CAS_BEACON_ADDR_LIST: `127.0.0.1:${repeaterPort}`,
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      "--config",
      `${REPO_ROOT}/deno.json`,
      `${REPO_ROOT}/cli/pvserve.ts`,
      ...args,
      "--ca-port",
      String(port),
      "--pva-port",
      "0",
    ],
    cwd: REPO_ROOT,
    env: { ...caEnv, ...options.env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();

  let text = "";
  const { promise: readyPromise, resolve: ready, reject: failed } = Promise.withResolvers<
    number
  >();
  // Keep draining stderr for the whole life of the process so it can never block on a
  // full pipe; resolve "ready" when the serving line shows up.
  const drained = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      text += dec.decode(chunk, { stream: true });
      const m = /serving \d+ PVs .*CA on TCP port (\d+)/.exec(text);
      if (m) ready(Number(m[1]));
    }
    failed(new Error(`pvserve ended before it was ready; its stderr:\n${text}`));
  })();

  let closing: Promise<Deno.CommandStatus> | undefined;
  const close = () => {
    closing ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      const killTimer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already exited.
        }
      }, 5000);
      try {
        const status = await child.status;
        await drained;
        return status;
      } finally {
        clearTimeout(killTimer);
        await repeater.close();
      }
    })();
    return closing;
  };

  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(
      () => rej(new Error(`pvserve was not ready after ${timeoutMs} ms; its stderr:\n${text}`)),
      timeoutMs,
    );
  });
  let tcpPort: number;
  try {
    tcpPort = await Promise.race([readyPromise, timeout]);
  } catch (e) {
    await close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    port,
    tcpPort,
    repeaterPort,
    clientEnv: { ...caEnv },
    stderr: () => text,
    close,
    [Symbol.asyncDispose]: async () => {
      await close();
    },
  };
}
