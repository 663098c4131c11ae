/**
 * autosave-save: read every PV of a synApps request file over CA or PVA and write the save
 * file synApps autosave would write.
 *
 *   autosave-save [-m MACROS] [-I DIR]... [-p ca|pva] [-w SEC] [-o OUT.sav] FILE.req
 *   autosave-save ... --every SEC | --on-change SEC | --trigger PV     (keeps running)
 * @module
 */

import { Command, Option } from "commander";
import { parseProgram } from "./_commander.ts";
import { basename } from "node:path";
import { loadReqFile, ReqFileError, saveOnce, SaveSet } from "../lib/autosave/mod.ts";
import type { SaveReport, SaveSetOptions, SaveTrigger } from "../lib/autosave/mod.ts";
import { type CliIO, runMain, untilAborted } from "./_io.ts";
import { closeSource, numberOption, sourceFor } from "./_autosave.ts";

const CMD = "autosave-save";
/** Not-read PVs listed one by one on stderr, at most. */
const LIST_MAX = 20;

/** The save file synApps names for a request file: its basename, `.req` -> `.sav`. */
export function defaultSaveName(req: string, format: string): string {
  const b = basename(req).replace(/\.req$/, "");
  return b + (format === "json" ? ".json" : ".sav");
}

function summary(r: SaveReport): string {
  const nc = r.failed.length;
  return `${CMD}: wrote ${r.path}: ${r.total} PVs, ${r.total - nc} saved` +
    (nc ? `, ${nc} not connected` : "") + ` (${(r.ms / 1000).toFixed(2)} s)\n`;
}

function report(io: CliIO, r: SaveReport, json: boolean, quiet: boolean): void {
  if (json) {
    io.stdout(
      JSON.stringify({
        file: r.path,
        backup: r.written.backupPath ?? null,
        total: r.total,
        saved: r.total - r.failed.length,
        failed: r.failed.length,
        seconds: Number((r.ms / 1000).toFixed(3)),
        pvs: r.outcomes.map((o) =>
          o.entry.error === undefined
            ? { name: o.entry.name, status: "ok" }
            : { name: o.entry.name, status: "failed", reason: o.reason ?? o.entry.error }
        ),
      }) + "\n",
    );
  }
  if (quiet) return;
  for (const f of r.failed.slice(0, LIST_MAX)) io.stderr(`${CMD}: ${f.name}: ${f.reason}\n`);
  if (r.failed.length > LIST_MAX) {
    io.stderr(`${CMD}: ... and ${r.failed.length - LIST_MAX} more not connected\n`);
  }
  io.stderr(summary(r));
}

/**
 * Runs autosave-save.
 * @param args command-line arguments
 * @param io streams, environment and stop signal
 * @returns 0 when every PV was read, 1 when some were not (the file is still written) or the
 *   file could not be written, 2 on bad usage or a bad request file
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const collect = (v: string, prev: string[]) => [...prev, v];
  const program = new Command(CMD)
    .description(
      "Save the PVs of a synApps autosave request file (.req) to a save file (.sav) that " +
        "synApps autosave can restore",
    )
    .argument("<file.req>", "the request file")
    .option("-m, --macros <macros>", "macros for the request file, e.g. P=xxx:,M=m1", "")
    .option("-I, --include <dir>", "folder searched for request files (repeatable)", collect, [])
    .addOption(new Option("-p, --provider <p>", "protocol").choices(["ca", "pva"]).default("ca"))
    .option("-w, --wait <sec>", "seconds to wait for connections and reads", "5")
    .option("-o, --output <file>", "save file (default: the request file's name, .sav, here)")
    .addOption(
      new Option("--format <f>", "file format").choices(["synapps", "json"]).default("synapps"),
    )
    .option("--allow-undefined", "keep undefined macros as text, as synApps does (with a warning)")
    .addOption(new Option("--backup <kind>", "also write a dated copy").choices(["dated"]))
    .option("--no-savb", "do not keep the previous good file as .savB")
    .option("--seq <n>", "also write sequence files FILE.sav0 .. FILE.sav<n-1>")
    .option("--every <sec>", "keep running: save every SEC seconds (periodic set)")
    .option("--on-change <sec>", "keep running: save at most every SEC s when a PV changed")
    .option("--trigger <pv>", "keep running: save whenever PV posts a value (triggered set)")
    .option("--json", "print a machine-readable summary on stdout (per-PV status)")
    .option("-q, --quiet", "print nothing on stderr but errors");
  const parsed = parseProgram(program, CMD, args, io);
  if (parsed !== undefined) return parsed;
  const o = program.opts<{
    macros: string;
    include: string[];
    provider: string;
    wait: string;
    output?: string;
    format: "synapps" | "json";
    allowUndefined?: boolean;
    backup?: string;
    savb: boolean;
    seq?: string;
    every?: string;
    onChange?: string;
    trigger?: string;
    json?: boolean;
    quiet?: boolean;
  }>();
  const reqFile = program.args[0];
  let timeoutSec: number, seq: number | undefined, every: number | undefined;
  let onChange: number | undefined;
  try {
    timeoutSec = numberOption(o.wait, "-w")!;
    seq = numberOption(o.seq, "--seq", 1);
    every = numberOption(o.every, "--every", 0.01);
    onChange = numberOption(o.onChange, "--on-change", 0.01);
  } catch (e) {
    io.stderr(`${CMD}: ${(e as Error).message}\n`);
    return 2;
  }
  const modes = [every, onChange, o.trigger].filter((x) => x !== undefined).length;
  if (modes > 1) {
    io.stderr(`${CMD}: choose one of --every, --on-change and --trigger\n`);
    return 2;
  }
  let names: string[];
  try {
    const set = loadReqFile(reqFile, {
      macros: o.macros,
      searchPath: o.include.length ? o.include : ["."],
      allowUndefined: o.allowUndefined,
    });
    if (!o.quiet) { for (const w of set.warnings) io.stderr(`${CMD}: warning: ${w}\n`); }
    names = set.entries.map((e) => e.name);
  } catch (e) {
    io.stderr(`${CMD}: ${(e as Error).message}\n`);
    return e instanceof ReqFileError ? 2 : 1;
  }
  const source = sourceFor(o.provider, io);
  const options: SaveSetOptions = {
    names,
    source,
    path: o.output ?? defaultSaveName(reqFile, o.format),
    format: o.format,
    timeoutSec,
    write: { backup: o.savb, dated: o.backup === "dated", seq },
  };
  try {
    if (modes === 0) {
      let r: SaveReport;
      try {
        r = await saveOnce(options);
      } catch (e) {
        io.stderr(`${CMD}: ${(e as Error).message}\n`);
        return 1;
      }
      report(io, r, !!o.json, !!o.quiet);
      return r.failed.length ? 1 : 0;
    }
    const trigger: SaveTrigger = every !== undefined
      ? { kind: "periodic", seconds: every }
      : onChange !== undefined
      ? { kind: "onChange", seconds: onChange }
      : { kind: "triggered", pv: o.trigger! };
    let last: SaveReport | undefined;
    let writeFailed = false;
    const set = new SaveSet(options, trigger, {
      onSave: (r) => {
        last = r;
        writeFailed = false;
        report(io, r, !!o.json, !!o.quiet);
      },
      onError: (e) => {
        writeFailed = true;
        io.stderr(`${CMD}: ${e.message}\n`);
      },
    });
    await set.start();
    if (!o.quiet) {
      io.stderr(`${CMD}: saving ${names.length} PVs (${describe(trigger)}); Ctrl-C to stop\n`);
    }
    await untilAborted(io.signal);
    await set.stop();
    if (writeFailed) return 1;
    return last && last.failed.length ? 1 : 0;
  } finally {
    await closeSource(source);
  }
}

function describe(t: SaveTrigger): string {
  if (t.kind === "periodic") return `every ${t.seconds} s`;
  if (t.kind === "onChange") return `on change, at most every ${t.seconds} s`;
  return `when ${t.pv} posts`;
}

if (import.meta.main) await runMain(main);
