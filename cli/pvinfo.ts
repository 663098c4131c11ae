/**
 * pvinfo: print the type of PV Access channels and the server that hosts them, as
 * EPICS 7's pvinfo does (`-v`: pvxs' pvxinfo form).
 *
 * ```text
 * pvinfo [-h] [-V] [-w <sec>] [-p pva] [-v] [-d] <PV>...
 * ```
 * @module
 */

import { type CliIO, runMain } from "./_io.ts";
import { clientFor, commonOptions, errorText, getopt } from "./_pva_common.ts";
import { formatTypeTreeCpp, formatTypeTreePvxs } from "./_pva_format.ts";
import { ChannelNotFoundError, TimeoutError } from "../lib/core/errors.ts";

const USAGE = `Usage: pvinfo [options] <PV name>...

  -h: Help: Print this message
  -V: Print version and exit
  -w <sec>:          Wait time, specifies timeout, default is 5.0 seconds
  -p <provider>:     Set default provider name, default is 'pva'
  -v:                Print the type as pvxs' pvxinfo does
  -d:                Enable debug output (ignored)

example: pvinfo double01
`;

/**
 * pvinfo's entry point.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns 0 when every PV answered, 1 otherwise, 2 on a usage error
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const p = getopt(args, "hVw:p:vdD");
  if (p.error) {
    io.stderr(`${p.error}. ('pvinfo -h' for help.)\n`);
    return 2;
  }
  if (p.opts.has("h")) {
    io.stdout(USAGE);
    return 0;
  }
  if (p.opts.has("V")) {
    io.stdout("epics-ts pvinfo 0.1 (PV Access protocol version 2)\n");
    return 0;
  }
  const c = commonOptions(p, io);
  if (typeof c === "string") {
    io.stderr(`pvinfo: ${c}\n`);
    return 2;
  }
  if (p.rest.length === 0) {
    io.stderr("No pv name(s) specified. ('pvinfo -h' for help.)\n");
    return 2;
  }
  await using client = clientFor(io);
  const results = await Promise.allSettled(
    p.rest.map((n) => client.info(n, { timeout: c.timeout })),
  );
  let failed = 0;
  let timedOut = 0;
  results.forEach((r, i) => {
    const name = p.rest[i];
    if (r.status === "fulfilled") {
      const { server, type } = r.value;
      if (c.mode === "delta") io.stdout(`${name} from ${server}\n${formatTypeTreePvxs(type)}`);
      else io.stdout(`${name}\nServer: ${server}\nType:\n${formatTypeTreeCpp(type)}\n`);
      return;
    }
    failed++;
    if (
      c.mode === "delta" &&
      (r.reason instanceof ChannelNotFoundError || r.reason instanceof TimeoutError)
    ) {
      timedOut++;
    } else {
      io.stderr(`${name} Error: ${errorText(r.reason)}\n`);
    }
  });
  if (timedOut > 0) io.stderr(`Timeout with ${timedOut} outstanding\n`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) await runMain(main);
