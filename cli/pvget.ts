/**
 * pvget: read PV Access channels, as EPICS 7's pvget does.
 *
 * ```text
 * pvget [-h] [-V] [-r <request>] [-w <sec>] [-p pva|ca] [-M raw|nt|json] [-v] [-q] [-d] [-m] <PV>...
 * ```
 * Default output is pvAccessCPP's NT mode (`name time  value alarm`); `-v` prints pvxs'
 * delta form; `-m` keeps monitoring like pvmonitor.
 * @module
 */

import { EPICS_TS_VERSION } from "../lib/core/version.ts";
import { type CliIO, runMain } from "./_io.ts";
import {
  clientFor,
  cppErrorText,
  errorText,
  parseCommand,
  printValue,
  runMonitors,
} from "./_pva_common.ts";
import { ChannelNotFoundError, TimeoutError } from "../lib/core/errors.ts";
import type { PvValue } from "../lib/pva/proto/value.ts";
import { contextFor } from "./_ca_cli.ts";
import { caGet, runCaMonitors } from "./_pva_ca.ts";

const USAGE = `
Usage: pvget [options] <PV name>...

options:
  -h: Help: Print this message
  -V: Print version and exit
  -r <pv request>:   Request, specifies what fields to return and options, default is ''
  -w <sec>:          Wait time, specifies timeout, default is 5.000000 second(s)
  -p <provider>:     Set default provider name, default is 'pva' ('ca' reads Channel Access)
  -M <raw|nt|json>:  Output mode.  default is 'nt'
  -v:                Print the PV name, then each field the server sent on its own line,
                     as pvxs' pvxget does
  -m:                Keep watching the PVs and print every update, as pvmonitor does
  -q:                Quiet mode, print only error messages
  -d:                Enable debug output
 deprecated options:
  -q, -t, -i, -n, -F: ignored
  -f <input file>:   errors

example: pvget double01
`;

/** Version line printed by -V. */
export const VERSION = `epics-ts ${EPICS_TS_VERSION} pvget (PV Access protocol version 2)`;

/**
 * pvget's entry point.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns 0 when every PV was read, 1 otherwise (usage errors included, as pvAccessCPP)
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const r = parseCommand(args, io, {
    tool: "pvget",
    spec: "hvVRM:r:w:tmp:qdcF:f:ni",
    usage: USAGE,
    version: VERSION,
  });
  if (typeof r === "number") return r;
  const { p, c } = r;
  const names = p.rest;
  // pvAccessCPP's pvget quietly does nothing without names.
  if (names.length === 0) return 0;
  if (p.opts.has("m")) {
    if (c.provider === "ca") return await runCaMonitors(names, c, io);
    return await runMonitors(names, c, io);
  }

  const pad = Math.max(...names.map((n) => n.length));
  await using source = readerFor(c.provider, io);
  let failed = false;
  const pending = new Set(names.keys());
  // Print each result as it arrives, as pvget does.
  await Promise.all(names.map(async (n, i) => {
    try {
      const v = await source.get(n, { request: c.request, timeout: c.timeout });
      pending.delete(i);
      io.stdout(printValue(n, pad, v, c));
    } catch (e) {
      if (e instanceof ChannelNotFoundError || e instanceof TimeoutError) return;
      pending.delete(i);
      failed = true;
      if (c.mode === "delta") io.stderr(`${n} Error: ${errorText(e)}\n`);
      else {
        io.stdout(`${n.padEnd(pad)} `);
        io.stderr(`Error ${cppErrorText(e)}\n`);
      }
    }
  }));
  if (pending.size > 0) {
    if (c.mode === "delta") io.stderr(`Timeout with ${pending.size} outstanding\n`);
    else {
      // pvAccessCPP reports the timeout, then each unfinished get prints its name column
      // (and nothing after it) as it is cancelled.
      io.stderr("Timeout\n");
      for (const i of pending) io.stdout(`${names[i].padEnd(pad)} `);
    }
    return 1;
  }
  return failed ? 1 : 0;
}

/** Where pvget reads from: our PVA client, or a CA context through the ca provider mapping. */
function readerFor(
  provider: "pva" | "ca",
  io: CliIO,
): AsyncDisposable & {
  get(name: string, o: { request: string; timeout: number }): Promise<PvValue>;
} {
  if (provider === "pva") return clientFor(io);
  const ctx = contextFor(io);
  return {
    get: (name, o) => caGet(ctx, name, o),
    [Symbol.asyncDispose]: () => ctx.close(),
  };
}

if (import.meta.main) await runMain(main);
