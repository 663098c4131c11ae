/**
 * pvserve: host PVs over Channel Access and PV Access.
 *
 *   pvserve NAME=TYPE[:VALUE] ...     ad-hoc PVs (int32, float64, string, enum(A|B), char[256], ...)
 *   pvserve --demo [--prefix P]       the demo PVs
 * @module
 */

import { versionLine } from "../lib/core/version.ts";
import { Command, CommanderError } from "commander";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { EpicsSyntaxError } from "../lib/core/errors.ts";
import { consoleLogger } from "../lib/core/log.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { parsePvSpec } from "../lib/host/spec.ts";
import { startDemo } from "../lib/host/demo.ts";
import { serve } from "../lib/host/serve.ts";
import { type CliIO, runMain, untilAborted } from "./_io.ts";

/**
 * Runs pvserve until the io's signal is aborted.
 * @param args command-line arguments
 * @param io streams, environment and stop signal
 * @returns the exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const program = new Command("pvserve")
    .description("Host PVs over EPICS Channel Access and PV Access")
    .argument(
      "[pv...]",
      "PV definitions NAME=TYPE[:VALUE], e.g. x=float64:1.5 mode=enum(Off|On):On",
    )
    .option("--demo", "host the demo PVs")
    .option("--prefix <prefix>", "name prefix of the demo PVs", "demo:")
    .option("--no-ca", "do not serve over Channel Access")
    .option("--ca-port <port>", "Channel Access port (default EPICS_CAS_SERVER_PORT or 5064)")
    .option("--no-pva", "do not serve over PV Access")
    .option("--pva-port <port>", "PV Access TCP port (default EPICS_PVAS_SERVER_PORT or 5075)")
    .option("-v, --verbose", "log every connection")
    .version(versionLine("pvserve"), "-V, --version", "print the version and exit")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  try {
    program.parse(args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const opts = program.opts<
    {
      demo?: boolean;
      prefix: string;
      ca: boolean;
      caPort?: string;
      pva: boolean;
      pvaPort?: string;
      verbose?: boolean;
    }
  >();
  const pvs: SharedPV[] = [];
  try {
    for (const text of program.args) {
      const spec = parsePvSpec(text);
      pvs.push(new SharedPV(spec.name, spec.options));
    }
  } catch (e) {
    io.stderr(`pvserve: ${(e as Error).message}\n`);
    return e instanceof EpicsSyntaxError ? 2 : 1;
  }
  const demo = opts.demo ? startDemo(opts.prefix) : undefined;
  if (demo) pvs.push(...demo.pvs);
  if (pvs.length === 0) {
    io.stderr(
      "pvserve: nothing to serve: give PV definitions or --demo ('pvserve --help' for help)\n",
    );
    return 2;
  }
  const logger = consoleLogger("pvserve", opts.verbose);
  const caPort = opts.caPort === undefined ? undefined : Number(opts.caPort);
  if (caPort !== undefined && !(Number.isInteger(caPort) && caPort >= 0 && caPort < 65536)) {
    io.stderr(`pvserve: invalid --ca-port "${opts.caPort}"\n`);
    return 2;
  }
  const pvaPort = opts.pvaPort === undefined ? undefined : Number(opts.pvaPort);
  if (pvaPort !== undefined && !(Number.isInteger(pvaPort) && pvaPort >= 0 && pvaPort < 65536)) {
    io.stderr(`pvserve: invalid --pva-port "${opts.pvaPort}"\n`);
    return 2;
  }
  if (!opts.ca && !opts.pva) {
    io.stderr("pvserve: nothing to serve over: both --no-ca and --no-pva given\n");
    return 2;
  }
  let server;
  try {
    server = await serve({
      pvs,
      ca: opts.ca,
      caPort,
      pva: opts.pva,
      pvaPort,
      config: epicsConfigFrom(io.env),
      logger,
    });
  } catch (e) {
    demo?.[Symbol.dispose]();
    io.stderr(`pvserve: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  const where = (server.ca ? ` (CA on TCP port ${server.ca.tcpPort})` : "") +
    (server.pva ? ` (PVA on TCP port ${server.pva.tcpPort})` : "");
  io.stderr(`pvserve: serving ${pvs.length} PVs${where}; Ctrl-C to stop\n`);
  if (opts.verbose) { for (const pv of pvs) io.stderr(`  ${pv.name}\n`); }
  await untilAborted(io.signal);
  demo?.[Symbol.dispose]();
  await server.close();
  return 0;
}

if (import.meta.main) await runMain(main);
