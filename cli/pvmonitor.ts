/**
 * pvmonitor: print every update of PV Access channels until interrupted, as EPICS 7's
 * pvmonitor does.
 *
 * ```text
 * pvmonitor [-h] [-V] [-r <request>] [-w <sec>] [-p pva|ca] [-M raw|nt|json] [-v] [-q] [-d] <PV>...
 * ```
 * @module
 */

import { EPICS_TS_VERSION } from "../lib/core/version.ts";
import { type CliIO, runMain } from "./_io.ts";
import { parseCommand, runMonitors } from "./_pva_common.ts";
import { runCaMonitors } from "./_pva_ca.ts";

const USAGE = `
Usage: pvmonitor [options] <PV name>...

options:
  -h: Help: Print this message
  -V: Print version and exit
  -r <pv request>:   Request, specifies what fields to return and options, default is ''
  -w <sec>:          Wait time, specifies timeout, default is 5.000000 second(s)
  -p <provider>:     Set default provider name, default is 'pva' ('ca' monitors Channel Access)
  -M <raw|nt|json>:  Output mode.  default is 'nt'
  -v:                Print the PV name, then each field an update changed on its own
                     line, as pvxs' pvxmonitor does
  -q:                Quiet mode, print only error messages
  -d:                Enable debug output
 deprecated options:
  -q, -t, -i, -n, -F: ignored
  -f <input file>:   errors

example: pvmonitor double01
`;

/**
 * pvmonitor's entry point (pvAccessCPP's pvmonitor is its pvget with -m).
 * @param args command-line arguments
 * @param io output streams, environment and stop signal (abort to stop)
 * @returns 0 after the signal aborts, 1 when a subscription failed or on a usage error
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const r = parseCommand(args, io, {
    tool: "pvmonitor",
    spec: "hvVRM:r:w:tmp:qdcF:f:ni",
    usage: USAGE,
    version: `epics-ts ${EPICS_TS_VERSION} pvmonitor (PV Access protocol version 2)`,
  });
  if (typeof r === "number") return r;
  const { p, c } = r;
  // Without names pvAccessCPP's pvmonitor has nothing to wait for and exits.
  if (p.rest.length === 0) return 0;
  if (c.provider === "ca") return await runCaMonitors(p.rest, c, io);
  return await runMonitors(p.rest, c, io);
}

if (import.meta.main) await runMain(main);
