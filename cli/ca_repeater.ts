/**
 * ca-repeater: the Channel Access repeater as a command, like EPICS base's caRepeater. It
 * binds EPICS_CA_REPEATER_PORT (5065) and fans server beacons out to the CA clients of this
 * host. Clients start it on their own when none runs.
 *
 *   ca-repeater [--idle-exit SECONDS] [--port PORT]
 *
 * With --idle-exit it exits after that many seconds without any live client (clients that
 * start it pass 120, so an unused repeater does not linger forever). When the port is
 * already taken, another repeater serves this host: it exits at once with status 0, as
 * caRepeater does, so two clients starting one at the same moment leave only one.
 * @module
 */

import { epicsConfigFrom } from "../lib/core/env.ts";
import { consoleLogger } from "../lib/core/log.ts";
import { CaRepeater } from "../lib/ca/repeater.ts";
import { type CliIO, runMain } from "./_io.ts";

/**
 * Runs the repeater until stopped (or idle, with --idle-exit).
 * @param args command-line arguments
 * @param io streams, environment and stop signal
 * @returns 0 after a clean stop or when the port is taken (another repeater runs), 2 on bad
 *   usage
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  let idle = 0;
  let port = epicsConfigFrom(io.env).ca.repeaterPort;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = () => Number(args[++i]);
    if (a === "--idle-exit") idle = next();
    else if (a === "--port") port = next();
    else if (a === "-h" || a === "--help") {
      io.stderr("Usage: ca-repeater [--port PORT] [--idle-exit SECONDS]\n");
      return 0;
    } else {
      io.stderr(`ca-repeater: unknown argument "${a}"\n`);
      return 2;
    }
  }
  if (!(Number.isInteger(port) && port > 0 && port < 65536) || !(idle >= 0)) {
    io.stderr("ca-repeater: invalid --port or --idle-exit\n");
    return 2;
  }
  let rep: CaRepeater;
  try {
    rep = CaRepeater.start(port, { logger: consoleLogger("ca-repeater") });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return 0; // one already runs: nothing to do
    throw e;
  }
  const stopped = new Promise<void>((r) => io.signal.addEventListener("abort", () => r()));
  await Promise.race([stopped, idle > 0 ? rep.untilIdle(idle) : new Promise(() => {})]);
  await rep.close();
  return 0;
}

if (import.meta.main) await runMain(main);
