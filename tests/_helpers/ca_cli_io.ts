/**
 * A captured CliIO for running the CA commands' main() in-process against a test server.
 * @module
 */
import type { CliIO } from "../../cli/_io.ts";
import { startTestRepeater } from "./ca_repeater.ts";
import { LOOPBACK_ENV } from "./pvserve.ts";

/** What {@link captureIO} returns: the io, what was written, and a stop function. */
export interface CapturedIO extends AsyncDisposable {
  io: CliIO;
  out: { stdout: string; stderr: string };
  stop: () => void;
}

/**
 * An io whose output is collected and whose environment points CA searches at one server
 * (loopback, TZ=UTC). Unless `extra` names EPICS_CA_REPEATER_PORT, a CA repeater runs in
 * this process on a private port for as long as the capture lives (dispose it): a command
 * that registers with a repeater (camonitor) then finds one, as libca would, instead of
 * starting a repeater process that outlives the test.
 * @param udpPort the server's UDP search port
 * @param extra more environment entries (they win)
 * @returns the io, the collected output, a function that aborts io.signal; disposing it
 *   stops the repeater
 */
export function captureIO(udpPort: number, extra: Record<string, string> = {}): CapturedIO {
  const out = { stdout: "", stderr: "" };
  const ac = new AbortController();
  const repeater = extra.EPICS_CA_REPEATER_PORT === undefined ? startTestRepeater() : undefined;
  const io: CliIO = {
    stdout: (t) => out.stdout += t,
    stderr: (t) => out.stderr += t,
    env: {
      ...LOOPBACK_ENV,
      EPICS_CA_ADDR_LIST: `127.0.0.1:${udpPort}`,
      ...(repeater ? { EPICS_CA_REPEATER_PORT: String(repeater.port) } : {}),
      TZ: "UTC",
      ...extra,
    },
    signal: ac.signal,
  };
  return {
    io,
    out,
    stop: () => ac.abort(),
    [Symbol.asyncDispose]: async () => {
      ac.abort();
      await repeater?.close();
    },
  };
}
