/**
 * pvinfo: print the type of PV Access channels and the server that hosts them, as
 * EPICS 7's pvinfo does (`-v`: pvxs' pvxinfo form).
 *
 * ```text
 * pvinfo [-h] [-V] [-w <sec>] [-p pva|ca] [-v] [-d] <PV>...
 * ```
 * @module
 */

import { EPICS_TS_VERSION } from "../lib/core/version.ts";
import { type CliIO, runMain } from "./_io.ts";
import { clientFor, cppErrorText, errorText, parseCommand } from "./_pva_common.ts";
import { formatTypeTreeCpp, formatTypeTreePvxs } from "./_pva_format.ts";
import { ChannelNotFoundError, TimeoutError } from "../lib/core/errors.ts";
import type { FieldDesc } from "../lib/pva/proto/typedesc.ts";
import { contextFor } from "./_ca_cli.ts";
import { caInfo } from "./_pva_ca.ts";

const USAGE = `
Usage: pvinfo [options] <PV name>...


options:
  -h: Help: Print this message
  -V: Print version and exit
  -w <sec>:          Wait time, specifies timeout, default is 5.000000 second(s)
  -p <provider>:     Set default provider name, default is 'pva' ('ca' reads Channel Access)
  -v:                Print the server and the type as pvxs' pvxinfo does
  -d:                Enable debug output
  -c:                Accepted and ignored
Example: pvinfo double01
`;

/**
 * pvinfo's entry point.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns 0 when every PV answered, 1 otherwise (usage errors included, as pvAccessCPP)
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const r = parseCommand(args, io, {
    tool: "pvinfo",
    spec: "hVw:p:vdcD",
    usage: USAGE,
    version: `epics-ts ${EPICS_TS_VERSION} pvinfo (PV Access protocol version 2)`,
    // pvinfo's -w warning names pvget, as pvAccessCPP's does.
    warnAs: "pvget",
  });
  if (typeof r === "number") return r;
  const { p, c } = r;
  const names = p.rest;
  if (names.length === 0) {
    io.stderr("No pv name(s) specified. ('pvinfo -h' for help.)\n");
    return 1;
  }
  await using source = infoSource(c.provider, io);
  let failed = false;
  const pending = new Set(names.keys());
  await Promise.all(names.map(async (name, i) => {
    try {
      const { server, type } = await source.info(name, { timeout: c.timeout });
      pending.delete(i);
      if (c.mode === "delta") io.stdout(`${name} from ${server}\n${formatTypeTreePvxs(type)}`);
      else io.stdout(`${name}\nServer: ${server}\nType:\n${formatTypeTreeCpp(type)}\n`);
    } catch (e) {
      if (e instanceof ChannelNotFoundError || e instanceof TimeoutError) return;
      pending.delete(i);
      failed = true;
      io.stderr(`${name} Error: ${c.mode === "delta" ? errorText(e) : cppErrorText(e)}\n`);
    }
  }));
  if (pending.size > 0) {
    // pvxinfo says only "Timeout" (pvxget counts the outstanding operations).
    if (c.mode === "delta") io.stderr("Timeout\n");
    else {
      // pvAccessCPP reports the timeout, then each unanswered request fails as its channel
      // is destroyed (its ca provider reports nothing more).
      io.stderr("Timeout\n");
      if (c.provider === "pva") {
        for (const i of pending) io.stderr(`${names[i]} Error: channel destroyed\n`);
      }
    }
    return 1;
  }
  return failed ? 1 : 0;
}

/**
 * Where pvinfo asks: our PVA client, or a CA context through the ca provider mapping
 * (pvAccessCPP's ca provider names no server: `Server: ` stays empty).
 */
function infoSource(provider: "pva" | "ca", io: CliIO): AsyncDisposable & {
  info(name: string, o: { timeout: number }): Promise<{ server: string; type: FieldDesc }>;
} {
  if (provider === "pva") return clientFor(io);
  const ctx = contextFor(io);
  return {
    info: async (name, o) => ({ server: "", type: await caInfo(ctx, name, o.timeout) }),
    [Symbol.asyncDispose]: () => ctx.close(),
  };
}

if (import.meta.main) await runMain(main);
