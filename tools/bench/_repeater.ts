/**
 * One CA repeater, in the bench process, for the libca programs a bench starts (softIoc,
 * softIocPVX, catime, base's caget, pyepics). libca starts a `caRepeater` daemon that never
 * exits whenever nothing is bound to its EPICS_CA_REPEATER_PORT; with ours bound there
 * (127.0.0.1) it registers with ours instead, and nothing outlives the bench.
 *
 * The repeater starts on first use and holds the event loop open: a bench that uses it calls
 * {@link closeBenchRepeater} when done (or ends with Deno.exit).
 * @module
 */

import { CaRepeater } from "../../lib/ca/repeater.ts";

let repeater: CaRepeater | undefined;

/**
 * The port of this process's repeater, started now if it is not running yet.
 * @returns a UDP port on 127.0.0.1, for EPICS_CA_REPEATER_PORT
 */
export function benchRepeaterPort(): number {
  repeater ??= CaRepeater.start(0, { hostname: "127.0.0.1" });
  return repeater.port;
}

/** Stops the repeater (if it was started). */
export async function closeBenchRepeater(): Promise<void> {
  const r = repeater;
  repeater = undefined;
  await r?.close();
}
