/**
 * autosave-restore: put the values of a save file (synApps `.sav`, pyepics `.sav`,
 * epicsdev/caproto/p4p JSON) back into running IOCs over CA or PVA, or compare them.
 *
 *   autosave-restore [-p ca|pva] [-w SEC] [--dry-run] [--verify] [--force] FILE.sav
 * @module
 */

import { Command, Option } from "commander";
import { parseProgram } from "./_commander.ts";
import { diffValues, readSavFile } from "../lib/autosave/mod.ts";
import type { Difference, SavRecord, WriteOutcome } from "../lib/autosave/mod.ts";
import { type CliIO, runMain } from "./_io.ts";
import {
  closeSource,
  numberOption,
  PROGRESS_MIN,
  progressBar,
  sourceFor,
  stderrIsTerminal,
} from "./_autosave.ts";

const CMD = "autosave-restore";
const LIST_MAX = 50;
const CELL_MAX = 40;

function cell(s: string): string {
  return s.length > CELL_MAX ? s.slice(0, CELL_MAX - 3) + "..." : s;
}

/** The --dry-run / --verify table: name, current value, saved value. */
function table(diffs: readonly Difference[]): string {
  const rows = [
    ["NAME", "CURRENT", "SAVED"],
    ...diffs.map((d) => [
      d.name,
      d.current === undefined ? `(${d.reason ?? "not read"})` : cell(d.current),
      cell(d.saved),
    ]),
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`.trimEnd()).join("\n") +
    "\n";
}

/**
 * Runs autosave-restore.
 * @param args command-line arguments
 * @param io streams, environment and stop signal
 * @returns 0 when every PV was written (or, with --verify, equal), 1 when some failed (or
 *   differ, or the file and its .savB are unusable), 2 on bad usage
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const program = new Command(CMD)
    .description(
      "Write the values of an autosave file back to their PVs (synApps .sav, pyepics .sav, " +
        "epicsdev/caproto/p4p JSON)",
    )
    .argument("<file.sav>", "the save file (falls back to FILE.savB when it is not valid)")
    .addOption(new Option("-p, --provider <p>", "protocol").choices(["ca", "pva"]).default("ca"))
    .option("-w, --wait <sec>", "seconds to wait for connections and each write", "5")
    .option("--dry-run", "write nothing: print the PVs whose value differs from the saved one")
    .option("--verify", "as synApps' asVerify: compare, exit 1 on any difference")
    .option("--force", "accept a file without <END> (as fdbrestoreX), no .savB fallback")
    .option("--json", "print a machine-readable summary on stdout (per-PV status)")
    .option("--no-progress", "no progress bar, even on a terminal")
    .option("-q, --quiet", "print nothing on stderr but errors");
  const parsed = parseProgram(program, CMD, args, io);
  if (parsed !== undefined) return parsed;
  const o = program.opts<{
    provider: string;
    wait: string;
    dryRun?: boolean;
    verify?: boolean;
    force?: boolean;
    json?: boolean;
    progress: boolean;
    quiet?: boolean;
  }>();
  let timeoutSec: number;
  try {
    timeoutSec = numberOption(o.wait, "-w")!;
  } catch (e) {
    io.stderr(`${CMD}: ${(e as Error).message}\n`);
    return 2;
  }
  const file = program.args[0];
  let records: SavRecord[];
  let readPath: string;
  try {
    const r = await readSavFile(file, { force: o.force, backup: !o.force });
    if (r.fallback) io.stderr(`${CMD}: warning: ${r.fallback}; using "${r.path}"\n`);
    records = r.doc.records;
    readPath = r.path;
    if (!o.quiet && r.doc.commented.length) {
      io.stderr(
        `${CMD}: ${r.doc.commented.length} PVs were not saved (# lines) and are skipped\n`,
      );
    }
  } catch (e) {
    io.stderr(`${CMD}: ${(e as Error).message}\n`);
    return 1;
  }
  const t0 = performance.now();
  const source = sourceFor(o.provider, io);
  try {
    if (o.dryRun || o.verify) {
      const current = await source.read(records.map((r) => r.name), timeoutSec);
      const diffs = diffValues(records, current);
      if (o.json) {
        const by = new Map(diffs.map((d) => [d.name, d]));
        io.stdout(
          JSON.stringify({
            file: readPath,
            total: records.length,
            differ: diffs.length,
            pvs: records.map((r) => {
              const d = by.get(r.name);
              if (!d) return { name: r.name, status: "same" };
              return d.current === undefined
                ? { name: r.name, status: "unreadable", reason: d.reason, saved: d.saved }
                : { name: r.name, status: "differs", current: d.current, saved: d.saved };
            }),
          }) + "\n",
        );
      } else if (diffs.length) io.stdout(table(diffs));
      if (!o.quiet) {
        io.stderr(
          `${CMD}: ${diffs.length} of ${records.length} PVs differ from ${readPath}` +
            (o.dryRun ? " (dry run: nothing written)" : "") + "\n",
        );
      }
      return o.verify && diffs.length ? 1 : 0;
    }
    const bar = progressBar(
      io,
      records.length,
      CMD,
      o.progress && !o.quiet && records.length >= PROGRESS_MIN && stderrIsTerminal(),
    );
    let outcomes: WriteOutcome[];
    try {
      outcomes = await source.write(records, timeoutSec, (n) => bar.update(n));
    } finally {
      bar.stop();
    }
    const failed = outcomes.filter((x) => !x.ok);
    if (o.json) {
      io.stdout(
        JSON.stringify({
          file: readPath,
          total: records.length,
          restored: records.length - failed.length,
          failed: failed.length,
          seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
          pvs: outcomes.map((x) =>
            x.ok
              ? { name: x.name, status: "ok" }
              : { name: x.name, status: "failed", reason: x.reason }
          ),
        }) + "\n",
      );
    }
    for (const f of failed.slice(0, LIST_MAX)) io.stderr(`${CMD}: ${f.name}: ${f.reason}\n`);
    if (failed.length > LIST_MAX) io.stderr(`${CMD}: ... and ${failed.length - LIST_MAX} more\n`);
    if (!o.quiet) {
      io.stderr(
        `${CMD}: restored ${records.length - failed.length} of ${records.length} PVs from ` +
          `${readPath}` + (failed.length ? ` (${failed.length} failed)` : "") +
          ` (${((performance.now() - t0) / 1000).toFixed(2)} s)\n`,
      );
    }
    return failed.length ? 1 : 0;
  } finally {
    await closeSource(source);
  }
}

if (import.meta.main) await runMain(main);
