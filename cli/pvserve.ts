/**
 * pvserve: host PVs over Channel Access and PV Access.
 *
 *   pvserve NAME=TYPE[:VALUE] ...     ad-hoc PVs (int32, float64, string, enum(A|B), char[256], ...)
 *   pvserve pvs.yaml [-f more.yaml]   PVs from definition files
 *   pvserve ./device.ts               a device module (definitions, setters, loop)
 *   pvserve --demo [--prefix P]       the demo PVs
 *
 * The IOC-stats helper PVs and epicsdev's control PVs are hosted under the prefix unless
 * --no-helpers is given; --putlog FILE / --putlog-pv NAME log every put.
 * @module
 */

import { parseProgram } from "./_commander.ts";
import { Command } from "commander";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { EpicsSyntaxError } from "../lib/core/errors.ts";
import { consoleLogger } from "../lib/core/log.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import type { PvProvider } from "../lib/pv/types.ts";
import { parsePvSpec } from "../lib/host/spec.ts";
import { startDemo } from "../lib/host/demo.ts";
import { serve } from "../lib/host/serve.ts";
import { type PvDefinition, PvDefinitionError, type Setter } from "../lib/host/defs.ts";
import { DefinitionFileError, parseDefinitionsYaml } from "../lib/host/yaml_defs.ts";
import { asDeviceModule, type DeviceModule } from "../lib/host/device.ts";
import { Host } from "../lib/host/host.ts";
import { formatPutLogLine, type PutLogEntry, withPutLog } from "../lib/host/putlog.ts";
import { PvaClient } from "../lib/pva/client/client.ts";
import {
  autosaved,
  Autosaver,
  defaultAutosavePath,
  restoreAutosave,
} from "../lib/host/autosave.ts";
import { dirname } from "node:path";
import { type CliIO, runMain, untilAborted } from "./_io.ts";

interface Options {
  file: string[];
  demo?: boolean;
  prefix?: string;
  helpers: boolean;
  ca: boolean;
  caPort?: string;
  pva: boolean;
  pvaPort?: string;
  putlog?: string;
  putlogPv?: string;
  autosave?: string | boolean;
  autosavePeriod: string;
  verbose?: boolean;
}

/** Definitions gathered from the command line, files and modules. */
interface Gathered {
  prefix?: string;
  defs: PvDefinition[];
  setters: Record<string, Setter>;
  modules: { file: string; module: DeviceModule }[];
  adhoc: SharedPV[];
}

async function gather(
  args: string[],
  files: string[],
  io: CliIO,
): Promise<Gathered | number> {
  const g: Gathered = { defs: [], setters: {}, modules: [], adhoc: [] };
  const problems: string[] = [];
  const yamlFiles = [...files];
  const moduleFiles: string[] = [];
  for (const a of args) {
    if (/\.ya?ml$/i.test(a)) yamlFiles.push(a);
    else if (/\.(ts|js|mjs|mts)$/i.test(a) && !a.includes("=")) moduleFiles.push(a);
    else {
      try {
        const spec = parsePvSpec(a);
        g.adhoc.push(new SharedPV(spec.name, spec.options));
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  }
  for (const f of yamlFiles) {
    let text: string;
    try {
      text = await Deno.readTextFile(f);
    } catch (e) {
      problems.push(`Cannot read "${f}": ${(e as Error).message}`);
      continue;
    }
    try {
      const file = parseDefinitionsYaml(text, f);
      g.prefix ??= file.prefix;
      g.defs.push(...file.pvs);
    } catch (e) {
      if (!(e instanceof DefinitionFileError)) throw e;
      problems.push(...e.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`));
    }
  }
  for (const f of moduleFiles) {
    let m: DeviceModule;
    try {
      m = asDeviceModule(await import(pathToFileURL(resolve(f)).href), f);
    } catch (e) {
      problems.push(`Cannot load device module "${f}": ${(e as Error).message}`);
      continue;
    }
    g.prefix ??= m.prefix;
    g.defs.push(...m.pvs);
    Object.assign(g.setters, m.setters ?? {});
    g.modules.push({ file: f, module: m });
  }
  if (problems.length > 0) {
    for (const p of problems) io.stderr(`pvserve: ${p}\n`);
    return 2;
  }
  return g;
}

function port(text: string | undefined, what: string, io: CliIO): number | undefined | null {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (Number.isInteger(n) && n >= 0 && n < 65536) return n;
  io.stderr(`pvserve: invalid ${what} "${text}"\n`);
  return null;
}

/** Appends put-log lines to a file (synchronously: on disk before the put is answered). */
function fileSink(path: string): { write: (line: string) => void; close: () => void } {
  const f = Deno.openSync(path, { append: true, create: true });
  const enc = new TextEncoder();
  return {
    write(line) {
      const b = enc.encode(line + "\n");
      let off = 0;
      while (off < b.length) off += f.writeSync(b.subarray(off));
    },
    close: () => f.close(),
  };
}

/**
 * Runs pvserve until the io's signal is aborted or the `server` PV is set to Exit.
 * @param args command-line arguments
 * @param io streams, environment and stop signal
 * @returns the exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const program = new Command("pvserve")
    .description("Host PVs over EPICS Channel Access and PV Access")
    .argument(
      "[pv...]",
      "PV definitions NAME=TYPE[:VALUE] (e.g. x=float64:1.5 mode=enum(Off|On):On), " +
        "YAML definition files (*.yaml) or device modules (*.ts)",
    )
    .option(
      "-f, --file <file>",
      "a YAML PV definition file (repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--demo", "host the demo PVs")
    .option("--prefix <prefix>", 'name prefix (default: the file\'s prefix; demo: "demo:")')
    .option("--no-helpers", "do not host the IOC-stats and control PVs")
    .option("--putlog <file>", "append a JSON line per put to FILE")
    .option("--putlog-pv <name>", "write a JSON line per put to the PV NAME (over PVA)")
    .option(
      "--autosave [file]",
      "save writable PVs to FILE (.sav; default under $XDG_STATE_HOME/epics-ts/autosave/) " +
        "and restore them at start",
    )
    .option("--autosave-period <s>", "seconds from a put to the save", "10")
    .option("--no-ca", "do not serve over Channel Access")
    .option("--ca-port <port>", "Channel Access port (default EPICS_CAS_SERVER_PORT or 5064)")
    .option("--no-pva", "do not serve over PV Access")
    .option("--pva-port <port>", "PV Access TCP port (default EPICS_PVAS_SERVER_PORT or 5075)")
    .option("-v, --verbose", "log every connection");
  const parsed = parseProgram(program, "pvserve", args, io);
  if (parsed !== undefined) return parsed;
  const opts = program.opts<Options>();
  const caPort = port(opts.caPort, "--ca-port", io);
  const pvaPort = port(opts.pvaPort, "--pva-port", io);
  if (caPort === null || pvaPort === null) return 2;
  if (!opts.ca && !opts.pva) {
    io.stderr("pvserve: nothing to serve over: both --no-ca and --no-pva given\n");
    return 2;
  }
  const period = Number(opts.autosavePeriod);
  if (!(period > 0 && period <= 86400)) {
    io.stderr(`pvserve: invalid --autosave-period "${opts.autosavePeriod}"\n`);
    return 2;
  }
  const g = await gather(program.args, opts.file, io);
  if (typeof g === "number") return g;
  if (g.defs.length === 0 && g.adhoc.length === 0 && !opts.demo) {
    io.stderr(
      "pvserve: nothing to serve: give PV definitions, a YAML file, a device module or --demo " +
        "('pvserve --help' for help)\n",
    );
    return 2;
  }
  const prefix = opts.prefix ?? g.prefix ?? (opts.demo ? "demo:" : "");
  let host: Host;
  try {
    host = new Host({ prefix, pvs: g.defs, setters: g.setters, helpers: opts.helpers });
    for (const pv of g.adhoc) host.provider.add(pv);
  } catch (e) {
    if (e instanceof PvDefinitionError) {
      for (const p of e.problems) {
        const name = g.defs[p.index]?.name;
        io.stderr(`pvserve: PV "${name ?? `#${p.index + 1}`}": ${p.message}\n`);
      }
      return 2;
    }
    io.stderr(`pvserve: ${(e as Error).message}\n`);
    return e instanceof EpicsSyntaxError ? 2 : 1;
  }
  const demo = opts.demo ? startDemo(prefix) : undefined;
  const cleanup: (() => void | Promise<void>)[] = [
    () => host[Symbol.dispose](),
    () => demo?.[Symbol.dispose](),
  ];
  const runCleanup = async () => {
    for (const c of cleanup.reverse()) {
      try {
        await c();
      } catch {
        // keep closing the rest
      }
    }
  };
  try {
    for (const pv of demo?.pvs ?? []) host.provider.add(pv);
  } catch (e) {
    io.stderr(`pvserve: ${(e as Error).message}\n`);
    await runCleanup();
    return 2;
  }

  let provider: PvProvider = host.provider;
  const sinks: ((e: PutLogEntry) => void)[] = [];
  if (opts.autosave) {
    const path = opts.autosave === true ? defaultAutosavePath(prefix, io.env) : opts.autosave;
    const shared = (name: string) => {
      const pv = host.provider.lookup(name);
      return pv instanceof SharedPV && autosaved(pv, prefix) ? pv : undefined;
    };
    try {
      await Deno.mkdir(dirname(path), { recursive: true });
      const r = await restoreAutosave(path, shared, (pv, v) => host.post(pv.name, v));
      if (r.file) {
        io.stderr(
          `pvserve: restored ${r.restored.length} PVs from ${r.file}` +
            (r.fallback ? ` (${r.fallback})` : "") + "\n",
        );
      }
      for (const k of r.skipped) io.stderr(`pvserve: not restored: ${k.name}: ${k.reason}\n`);
    } catch (e) {
      io.stderr(`pvserve: cannot restore from "${path}": ${(e as Error).message}\n`);
    }
    const saver = new Autosaver(
      path,
      () => [...host.provider.names()].map((n) => shared(n)).filter((p) => p !== undefined),
      {
        period,
        onSave: (e) => {
          if (e) io.stderr(`pvserve: cannot save "${path}": ${e.message}\n`);
        },
      },
    );
    cleanup.push(() => saver.close());
    sinks.push((e) => {
      if (!e.refused) saver.markDirty();
    });
  }
  if (opts.putlog) {
    try {
      const f = fileSink(opts.putlog);
      cleanup.push(() => f.close());
      sinks.push((e) => f.write(formatPutLogLine(e)));
    } catch (e) {
      io.stderr(`pvserve: cannot open put log "${opts.putlog}": ${(e as Error).message}\n`);
      await runCleanup();
      return 1;
    }
  }
  if (opts.putlogPv) {
    const target = opts.putlogPv;
    const local = host.provider.lookup(target);
    if (local instanceof SharedPV) {
      sinks.push((e) => local.post(formatPutLogLine(e)));
    } else {
      const client = new PvaClient({ env: io.env });
      cleanup.push(() => client.close());
      let chain = Promise.resolve();
      let failing = false;
      sinks.push((e) => {
        const line = formatPutLogLine(e);
        chain = chain.then(() => client.put(target, line, { timeout: 2 })).then(() => {
          if (failing) io.stderr(`pvserve: put log PV "${target}" reachable again\n`);
          failing = false;
        }, (err) => {
          if (!failing) {
            io.stderr(
              `pvserve: cannot write put log PV "${target}": ${(err as Error).message}\n`,
            );
          }
          failing = true;
        });
      });
      cleanup.push(() => chain);
    }
  }
  if (sinks.length > 0) {
    provider = withPutLog(host.provider, (e) => {
      for (const s of sinks) s(e);
    });
  }

  const logger = consoleLogger("pvserve", opts.verbose);
  let server;
  try {
    server = await serve({
      pvs: provider,
      ca: opts.ca,
      caPort,
      pva: opts.pva,
      pvaPort,
      config: epicsConfigFrom(io.env),
      logger,
    });
  } catch (e) {
    io.stderr(`pvserve: cannot start: ${(e as Error).message}\n`);
    await runCleanup();
    return 1;
  }
  cleanup.push(() => server.close());
  host.attach({ ca: server.ca, pva: server.pva });
  const count = host.provider.size;
  const where = (server.ca ? ` (CA on TCP port ${server.ca.tcpPort})` : "") +
    (server.pva ? ` (PVA on TCP port ${server.pva.tcpPort})` : "");
  io.stderr(`pvserve: serving ${count} PVs${where}; Ctrl-C to stop\n`);
  if (opts.verbose) { for (const n of host.provider.names()) io.stderr(`  ${n}\n`); }
  host.status("Started");

  for (const { file, module } of g.modules) {
    const run = async () => {
      try {
        await module.init?.(host);
        await module.loop?.(host);
      } catch (e) {
        const msg = `${file}: ${(e as Error).message}`;
        io.stderr(`pvserve: device module failed: ${msg}\n`);
        host.error(msg);
      }
    };
    const done = run();
    cleanup.push(() => {
      host.exit();
      return done;
    });
  }

  const aborted = untilAborted(io.signal);
  const why = await Promise.race([aborted.then(() => "signal"), host.exited.then(() => "exit")]);
  if (why === "exit") {
    io.stderr("pvserve: server PV set to Exit; stopping\n");
    // Let the reply to the put that asked for Exit reach its client before closing.
    await new Promise((r) => setTimeout(r, 200));
  }
  await runCleanup();
  return 0;
}

if (import.meta.main) await runMain(main);
