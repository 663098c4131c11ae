/**
 * putlog: a text logger driven by a PV. Hosts PREFIXdump (default prefix `putlog0:`), a
 * writable text PV; every value written to it is appended to FILE as one line, on disk
 * before the put completes. Use it as pvserve's `--putlog-pv putlog0:dump`.
 *
 *   putlog FILE [-p PREFIX] [--max-bytes N]
 * @module
 */

import { Command } from "commander";
import { parseProgram } from "./_commander.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { consoleLogger } from "../lib/core/log.ts";
import { caView } from "../lib/pv/provider.ts";
import type { PvProvider, ServedPv } from "../lib/pv/types.ts";
import { serve } from "../lib/host/serve.ts";
import { Host } from "../lib/host/host.ts";
import { TextLog, textPv } from "../lib/host/text_log.ts";
import { type CliIO, runMain, untilAborted } from "./_io.ts";

/**
 * Runs putlog until the io's signal is aborted or its `server` PV is set to Exit.
 * @param args command-line arguments
 * @param io streams, environment and stop signal
 * @returns 0 after a clean stop, 1 on a runtime failure, 2 on bad usage
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const program = new Command("putlog")
    .description("Append every value written to PREFIXdump to FILE, one line each")
    .argument("<file>", "the log file (appended to; created when absent)")
    .option("-p, --prefix <prefix>", "PV name prefix", "putlog0:")
    .option("--max-bytes <n>", "rotate FILE to FILE.1, FILE.2, ... before it grows past N bytes")
    .option("--no-helpers", "do not host the IOC-stats and control PVs")
    .option("--ca-port <port>", "Channel Access port (default EPICS_CAS_SERVER_PORT or 5064)")
    .option("--pva-port <port>", "PV Access TCP port (default EPICS_PVAS_SERVER_PORT or 5075)")
    .option("-v, --verbose", "log every connection");
  const parsed = parseProgram(program, "putlog", args, io);
  if (parsed !== undefined) return parsed;
  const opts = program.opts<
    {
      prefix: string;
      maxBytes?: string;
      helpers: boolean;
      caPort?: string;
      pvaPort?: string;
      verbose?: boolean;
    }
  >();
  const nums: Record<string, number | undefined> = {};
  for (
    const [k, text, max] of [
      ["--max-bytes", opts.maxBytes, Number.MAX_SAFE_INTEGER],
      ["--ca-port", opts.caPort, 65535],
      ["--pva-port", opts.pvaPort, 65535],
    ] as const
  ) {
    if (text === undefined) continue;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > max || (k === "--max-bytes" && n < 1)) {
      io.stderr(`putlog: invalid ${k} "${text}"\n`);
      return 2;
    }
    nums[k] = n;
  }
  const file = program.args[0];
  let log: TextLog;
  try {
    log = new TextLog(file, { maxBytes: nums["--max-bytes"] });
  } catch (e) {
    io.stderr(`putlog: cannot open "${file}": ${(e as Error).message}\n`);
    return 1;
  }
  const host = new Host({ prefix: opts.prefix, helpers: opts.helpers });
  const dumpName = `${opts.prefix}dump`;
  const dump = textPv(dumpName, (text) => log.append(text));
  host.provider.add(dump.pva);
  const plainCa = caView(host.provider);
  const caProvider: PvProvider = {
    lookup: (name: string): ServedPv | undefined =>
      name === dumpName ? dump.ca : plainCa.lookup(name),
    names: () => plainCa.names(),
  };
  let server;
  try {
    server = await serve({
      pvs: host.provider,
      caProvider,
      caPort: nums["--ca-port"],
      pvaPort: nums["--pva-port"],
      config: epicsConfigFrom(io.env),
      logger: consoleLogger("putlog", opts.verbose),
    });
  } catch (e) {
    host[Symbol.dispose]();
    log.close();
    io.stderr(`putlog: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  host.attach({ ca: server.ca, pva: server.pva });
  host.status("Started");
  io.stderr(
    `putlog: logging ${dumpName} to ${file} (CA on TCP port ${server.ca?.tcpPort}) ` +
      `(PVA on TCP port ${server.pva?.tcpPort}); Ctrl-C to stop\n`,
  );
  const why = await Promise.race([
    untilAborted(io.signal).then(() => "signal"),
    host.exited.then(() => "exit"),
  ]);
  if (why === "exit") await new Promise((r) => setTimeout(r, 200));
  await server.close();
  host[Symbol.dispose]();
  log.close();
  return 0;
}

if (import.meta.main) await runMain(main);
