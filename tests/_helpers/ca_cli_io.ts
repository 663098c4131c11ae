/**
 * A captured CliIO for running the CA commands' main() in-process against a test server.
 * @module
 */
import type { CliIO } from "../../cli/_io.ts";
import { freePort, LOOPBACK_ENV } from "./pvserve.ts";

/** What {@link captureIO} returns: the io, what was written, and a stop function. */
export interface CapturedIO {
  io: CliIO;
  out: { stdout: string; stderr: string };
  stop: () => void;
}

/**
 * An io whose output is collected and whose environment points CA searches at one server
 * (loopback, a private repeater port, TZ=UTC).
 * @param udpPort the server's UDP search port
 * @param extra more environment entries (they win)
 * @returns the io, the collected output, and a function that aborts io.signal
 */
export function captureIO(udpPort: number, extra: Record<string, string> = {}): CapturedIO {
  const out = { stdout: "", stderr: "" };
  const ac = new AbortController();
  const io: CliIO = {
    stdout: (t) => out.stdout += t,
    stderr: (t) => out.stderr += t,
    env: {
      ...LOOPBACK_ENV,
      EPICS_CA_ADDR_LIST: `127.0.0.1:${udpPort}`,
      EPICS_CA_REPEATER_PORT: String(freePort([udpPort])),
      TZ: "UTC",
      ...extra,
    },
    signal: ac.signal,
  };
  return { io, out, stop: () => ac.abort() };
}
