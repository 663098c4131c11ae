/**
 * pvmonitor: print every update of PV Access channels until interrupted, as EPICS 7's
 * pvmonitor does.
 *
 * ```text
 * pvmonitor [-h] [-V] [-r <request>] [-w <sec>] [-p pva] [-M raw|nt|json] [-v] [-q] [-d] <PV>...
 * ```
 * @module
 */

import { type CliIO, runMain } from "./_io.ts";
import { commonOptions, getopt, runMonitors } from "./_pva_common.ts";

const USAGE = `Usage: pvmonitor [options] <PV name>...

  -h: Help: Print this message
  -V: Print version and exit
  -r <pv request>:   Request, specifies what fields to return and options, default is 'field()'
  -w <sec>:          Wait time, specifies timeout, default is 5.0 seconds
  -p <provider>:     Set default provider name, default is 'pva'
  -M <raw|nt|json>:  Output as raw data structure, NT-specific format or JSON, default is 'nt'
  -v:                Print the fields each update changed, one per line (pvxs delta form)
  -q:                Quiet mode (ignored)
  -d:                Enable debug output (ignored)

example: pvmonitor double01
`;

/**
 * pvmonitor's entry point.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal (abort to stop)
 * @returns 0 after the signal aborts, 2 on a usage error
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const p = getopt(args, "hVr:w:p:M:vqdtinF:");
  if (p.error) {
    io.stderr(`${p.error}. ('pvmonitor -h' for help.)\n`);
    return 2;
  }
  if (p.opts.has("h")) {
    io.stdout(USAGE);
    return 0;
  }
  if (p.opts.has("V")) {
    io.stdout("epics-ts pvmonitor 0.1 (PV Access protocol version 2)\n");
    return 0;
  }
  const c = commonOptions(p, io);
  if (typeof c === "string") {
    io.stderr(`pvmonitor: ${c}\n`);
    return 2;
  }
  if (p.rest.length === 0) {
    io.stderr("No pv name(s) specified. ('pvmonitor -h' for help.)\n");
    return 2;
  }
  return await runMonitors(p.rest, c, io);
}

if (import.meta.main) await runMain(main);
