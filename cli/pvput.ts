/**
 * pvput: write PV Access channels, as EPICS 7's pvput does.
 *
 * ```text
 * pvput [-h] [-V] [-r <request>] [-w <sec>] [-p pva|ca] [-M raw|nt|json] [-v] [-q] [-d] <PV> <value>
 * pvput ... <PV> <field>=<value> ...     pvput ... <PV> '{"value":1}'
 * pvput ... <PV> '[1,2,3]'               pvput ... <PV> <N> <v1> <v2> ...   (N ignored)
 * ```
 * Enums take an index or a choice name. Prints `Old : ` and `New : ` lines (NT mode,
 * without the PV name); `-q` prints only the new value, without its label.
 *
 * `-p ca` writes through Channel Access, showing the channel as pvAccessCPP's ca provider
 * does (see _pva_ca.ts): only the `value` (an enum's index) is written.
 *
 * Output follows pvAccessCPP's pvput, `-v` included: `-v` prints the entire structure
 * in raw mode (the later of `-v` and `-M` decides the mode). pvxs' pvxput has no output
 * to follow: it prints nothing on success, and its `-v` dumps the client configuration.
 * @module
 */

import { EPICS_TS_VERSION } from "../lib/core/version.ts";
import { type CliIO, runMain } from "./_io.ts";
import { clientFor, type CommonOptions, cppErrorText, parseCommand } from "./_pva_common.ts";
import { formatJson, formatNt, formatRaw } from "./_pva_format.ts";
import { buildPut } from "./_pva_put.ts";
import type { PvValue } from "../lib/pva/proto/value.ts";
import type { PvaClient } from "../lib/pva/client/client.ts";
import { ChannelNotFoundError, TimeoutError } from "../lib/core/errors.ts";
import { contextFor } from "./_ca_cli.ts";
import { caErrorText, caGet, caPut } from "./_pva_ca.ts";

const USAGE = `Usage: pvput [options] <PV name> <value>
       pvput [options] <PV name> <size/ignored> <value> [<value> ...]
       pvput [options] <PV name> <field>=<value> ...
       pvput [options] <PV name> <json_array>
       pvput [options] <PV name> <json_map>

options:
  -h: Help: Print this message
  -V: Print version and exit
  -r <pv request>:   Request, specifies what fields to return and options, default is ''
  -w <sec>:          Wait time, specifies timeout, default is 5.000000 second(s)
  -p <provider>:     Set default provider name, default is 'pva' ('ca' writes Channel Access)
  -M <raw|nt|json>:  Output mode.  default is 'nt'
  -v:                Show entire structure (implies Raw mode)
  -q:                Quiet mode, print only error messages
  -d:                Enable debug output
 Deprecated options:
  default: Auto - try value as enum string, then as index number
  -n, -s, -F, -t: ignored
  -f <input file>: error
 JSON support is present

Examples:

  pvput double01 1.234                   # a bare value
  pvput double01 value=1.234             # the same, naming the field

  pvput arr:pv X 1.0 2.0                 # an array: the count X is not used
  pvput arr:pv "[1.0, 2.0]"              # an array in brackets
  pvput arr:pv value="[1.0, 2.0]"

Any field value may be written in JSON.

A whole structure:

  pvput double01 '{"value":1.234}'

Several sub-structures:

  pvput group:pv some='{"value":1.234}' other='{"value":"a string"}'
`;

function show(value: PvValue, c: CommonOptions): string {
  const opts = { timeZone: c.timeZone, all: true };
  switch (c.mode) {
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
  const r = parseCommand(args, io, {
    tool: "pvput",
    spec: "hvVM:r:w:tp:qdF:f:ns",
    usage: USAGE,
    version: `epics-ts ${EPICS_TS_VERSION} pvput (PV Access protocol version 2)`,
    permute: false,
  });
  if (typeof r === "number") return r;
  const { p, c } = r;
  const [name, ...values] = p.rest;
  if (name === undefined) {
    io.stderr("No pv name specified. ('pvput -h' for help.)\n");
    return 1;
  }
  if (values.length === 0) {
    io.stderr("No value(s) specified. ('pvput -h' for help.)\n");
    return 1;
  }
  // pvAccessCPP's pvput: -v shows the entire structure in raw mode (our other commands'
  // -v is pvxs' form, but pvxput's -v only dumps the client's configuration); of -v and
  // -M, the one given last decides.
  const lastV = p.seq.findLastIndex(([k]) => k === "v");
  if (lastV >= 0) {
    const m = p.seq.findLast(([k]) => k === "M")?.[1];
    const lastM = p.seq.findLastIndex(([k]) => k === "M");
    c.mode = lastV > lastM ? "raw" : m === "nt" || m === "json" ? m : "raw";
  }
  const quiet = p.opts.has("q");
  await using client = targetFor(c.provider, io);
  const opts = { request: c.request, timeout: c.timeout };
  const getText = (e: unknown) => notThere(e) ? "Timeout" : errorOf(e);
  if (!quiet) {
    io.stdout("Old : ");
    try {
      io.stdout(show(await client.get(name, opts), c));
    } catch (e) {
      io.stderr(`Error: ${getText(e)}\n`);
      return 1;
    }
  }
  const put = await writeValues(client, name, values, c, io);
  if (put === "timeout") return 1;
  // pvAccessCPP prints the value after the put even with -q (without the "New : ").
  if (!quiet) io.stdout("New : ");
  try {
    io.stdout(show(await client.get(name, opts), c));
  } catch (e) {
    io.stderr(`Error: ${getText(e)}\n`);
    return 1;
  }
  return put === "ok" ? 0 : 1;
}

const notThere = (e: unknown) => e instanceof ChannelNotFoundError || e instanceof TimeoutError;

/** pvAccessCPP's text for a failure: CA's ca_message for a CA status, else the PVA one. */
const errorOf = (e: unknown) => caErrorText(e) ?? cppErrorText(e);

/** What pvput reads and writes: a PVA client, or the ca provider over a CA context. */
interface PutTarget extends AsyncDisposable {
  get(name: string, o: { request: string; timeout: number }): Promise<PvValue>;
  put(
    name: string,
    build: (cur: PvValue) => void,
    o: { request: string; timeout: number },
  ): Promise<void>;
}

function targetFor(provider: "pva" | "ca", io: CliIO): PutTarget {
  if (provider === "pva") return clientFor(io);
  const ctx = contextFor(io);
  return {
    get: (name, o) => caGet(ctx, name, o),
    // As pvAccessCPP's ca provider: the put structure holds the value alone, starting
    // from the channel's current one (so `display.units=x` is no field of it).
    async put(name, build, o) {
      const cur = await caGet(ctx, name, { request: "field(value)", timeout: o.timeout });
      build(cur);
      await caPut(ctx, name, cur, o.timeout);
    },
    [Symbol.asyncDispose]: () => ctx.close(),
  };
}

/**
 * pvput's write step alone: builds the value from the arguments over the PV's current
 * one and writes it, printing a failure as pvAccessCPP's pvput does (`Put timeout` when
 * the PV does not answer, else `Error: <reason>`).
 * @param client the client
 * @param name the PV name
 * @param values the value arguments
 * @returns "ok", "failed" (the put was refused or the arguments were bad) or "timeout"
 */
export async function writeValues(
  client: Pick<PvaClient, "put"> | PutTarget,
  name: string,
  values: readonly string[],
  c: CommonOptions,
  io: CliIO,
): Promise<"ok" | "failed" | "timeout"> {
  try {
    await client.put(name, (cur: PvValue) => {
      cur.copyFrom(buildPut(cur, values, io.stderr));
    }, { request: c.request, timeout: c.timeout });
    return "ok";
  } catch (e) {
    if (notThere(e)) {
      io.stderr("Put timeout\n");
      return "timeout";
    }
    io.stderr(`Error: ${errorOf(e)}\n`);
    return "failed";
  }
}

if (import.meta.main) await runMain(main);
