/**
 * pvget: read PV Access channels, as EPICS 7's pvget does.
 *
 * ```text
 * pvget [-h] [-V] [-r <request>] [-w <sec>] [-p pva] [-M raw|nt|json] [-v] [-q] [-d] [-m] <PV>...
 * ```
 * Default output is pvAccessCPP's NT mode (`name time  value alarm`); `-v` prints pvxs'
 * delta form; `-m` keeps monitoring like pvmonitor.
 * @module
 */

import { type CliIO, runMain } from "./_io.ts";
import {
  clientFor,
  commonOptions,
  errorText,
  getopt,
  printValue,
  runMonitors,
} from "./_pva_common.ts";
import { ChannelNotFoundError, TimeoutError } from "../lib/core/errors.ts";

const USAGE = `Usage: pvget [options] <PV name>...

  -h: Help: Print this message
  -V: Print version and exit
  -r <pv request>:   Request, specifies what fields to return and options, default is 'field()'
  -w <sec>:          Wait time, specifies timeout, default is 5.0 seconds
  -p <provider>:     Set default provider name, default is 'pva'
  -M <raw|nt|json>:  Output as raw data structure, NT-specific format or JSON, default is 'nt'
  -v:                Print the fields the server sent, one per line (pvxs delta form)
  -q:                Quiet mode (ignored)
  -d:                Enable debug output (ignored)
  -m:                Monitor mode

example: pvget double01
`;

/** Version line printed by -V. */
export const VERSION = "epics-ts pvget 0.1 (PV Access protocol version 2)";

/**
 * pvget's entry point.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns 0 when every PV was read, 1 otherwise, 2 on a usage error
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const p = getopt(args, "hVr:w:p:M:vqdmtinF:f:");
  if (p.error) {
    io.stderr(`${p.error}. ('pvget -h' for help.)\n`);
    return 2;
  }
  if (p.opts.has("h")) {
    io.stdout(USAGE);
    return 0;
  }
  if (p.opts.has("V")) {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  if (p.opts.has("f")) {
    io.stderr("pvget: -f is not supported\n");
    return 2;
  }
  const c = commonOptions(p, io);
  if (typeof c === "string") {
    io.stderr(`pvget: ${c}\n`);
    return 2;
  }
  const names = p.rest;
  if (names.length === 0) {
    io.stderr("No pv name(s) specified. ('pvget -h' for help.)\n");
    return 2;
  }
  if (p.opts.has("m")) return await runMonitors(names, c, io);

  const pad = Math.max(...names.map((n) => n.length));
  await using client = clientFor(io);
  const results = await Promise.allSettled(
    names.map((n) => client.get(n, { request: c.request, timeout: c.timeout })),
  );
  let failed = 0;
  let timedOut = 0;
  results.forEach((r, i) => {
    if (r.status === "fulfilled") {
      io.stdout(printValue(names[i], pad, r.value, c));
      return;
    }
    failed++;
    const e = r.reason;
    if (e instanceof ChannelNotFoundError || e instanceof TimeoutError) timedOut++;
    else io.stderr(`${names[i]} Error: ${errorText(e)}\n`);
  });
  if (timedOut > 0) io.stderr(`Timeout with ${timedOut} outstanding\n`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) await runMain(main);
