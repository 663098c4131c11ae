/**
 * pvput: write PV Access channels, as EPICS 7's pvput does.
 *
 * ```text
 * pvput [-h] [-V] [-r <request>] [-w <sec>] [-p pva] [-M raw|nt|json] [-v] [-q] [-d] <PV> <value>
 * pvput ... <PV> <field>=<value> ...     pvput ... <PV> '{"value":1}'
 * pvput ... <PV> '[1,2,3]'               pvput ... <PV> <N> <v1> <v2> ...   (N ignored)
 * ```
 * Enums take an index or a choice name. Prints `Old : ` and `New : ` lines (NT mode,
 * without the PV name) unless `-q`.
 * @module
 */

import { type CliIO, runMain } from "./_io.ts";
import {
  clientFor,
  type CommonOptions,
  commonOptions,
  cppErrorText,
  errorText,
  getopt,
  requestError,
} from "./_pva_common.ts";
import { formatDelta, formatJson, formatNt, formatRaw } from "./_pva_format.ts";
import { buildPut } from "./_pva_put.ts";
import type { PvValue } from "../lib/pva/proto/value.ts";
import { ChannelNotFoundError, TimeoutError } from "../lib/core/errors.ts";

const USAGE = `Usage: pvput [options] <PV name> <values>...

  -h: Help: Print this message
  -V: Print version and exit
  -r <pv request>:   Request, specifies what fields to put and options, default is 'field(value)'
  -w <sec>:          Wait time, specifies timeout, default is 5.0 seconds
  -p <provider>:     Set default provider name, default is 'pva'
  -M <raw|nt|json>:  Output as raw data structure, NT-specific format or JSON, default is 'nt'
  -v:                Print the fields of the old and new values one per line (pvxs delta form)
  -q:                Quiet mode: no Old/New lines
  -d:                Enable debug output (ignored)

Values: <value> | <field>=<value>... | '<JSON object>' | '[<array>]' | <N> <v1> <v2>...
example: pvput double01 1.234
`;

function show(value: PvValue, c: CommonOptions): string {
  const opts = { timeZone: c.timeZone, all: true };
  switch (c.mode) {
    case "delta":
      return formatDelta("", value).slice(1);
    case "json":
      return formatJson(value, opts);
    case "raw":
      return formatRaw("", value, opts);
    default:
      return formatNt(value, opts);
  }
}

/**
 * pvput's entry point.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns 0 when the put completed, 1 otherwise (usage errors included, as pvAccessCPP)
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  // POSIX getopt: stop at the PV name so that negative values are not options.
  const p = getopt(args, "hvVM:r:w:tp:qdF:f:ns", false);
  if (p.error) {
    io.stderr(`${p.error}. ('pvput -h' for help.)\n`);
    return 1;
  }
  if (p.opts.has("h")) {
    io.stderr(USAGE);
    return 0;
  }
  if (p.opts.has("V")) {
    io.stdout("epics-ts pvput 0.1 (PV Access protocol version 2)\n");
    return 0;
  }
  if (p.opts.has("f")) {
    io.stderr("Unsupported option -f\n");
    return 1;
  }
  const c = commonOptions(p, io, "pvput");
  if (typeof c === "string") {
    io.stderr(`pvput: ${c}\n`);
    return 1;
  }
  const badRequest = requestError(c.request);
  if (badRequest !== undefined) {
    io.stderr(`failed to parse request string: ${badRequest}\n`);
    return 1;
  }
  const [name, ...values] = p.rest;
  if (name === undefined) {
    io.stderr("No pv name specified. ('pvput -h' for help.)\n");
    return 1;
  }
  if (values.length === 0) {
    io.stderr("No value(s) specified. ('pvput -h' for help.)\n");
    return 1;
  }
  const quiet = p.opts.has("q");
  const delta = c.mode === "delta";
  await using client = clientFor(io);
  const opts = { request: c.request, timeout: c.timeout };
  const notThere = (e: unknown) => e instanceof ChannelNotFoundError || e instanceof TimeoutError;
  const getText = (e: unknown) => notThere(e) ? "Timeout" : delta ? errorText(e) : cppErrorText(e);
  if (!quiet) {
    io.stdout("Old : ");
    try {
      io.stdout(show(await client.get(name, opts), c));
    } catch (e) {
      io.stderr(`Error: ${getText(e)}\n`);
      return 1;
    }
  }
  let ok = true;
  try {
    await client.put(name, (cur: PvValue) => {
      cur.copyFrom(buildPut(cur, values, io.stderr));
    }, opts);
  } catch (e) {
    if (notThere(e)) {
      io.stderr("Put timeout\n");
      return 1;
    }
    io.stderr(`Error: ${delta ? errorText(e) : cppErrorText(e)}\n`);
    ok = false;
  }
  // pvAccessCPP prints the value after the put even with -q (without the "New : ").
  if (delta && quiet) return ok ? 0 : 1;
  if (!quiet) io.stdout("New : ");
  try {
    io.stdout(show(await client.get(name, opts), c));
  } catch (e) {
    io.stderr(`Error: ${getText(e)}\n`);
    return 1;
  }
  return ok ? 0 : 1;
}

if (import.meta.main) await runMain(main);
