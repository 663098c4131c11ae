/**
 * The part every commander-based command (pvserve, putlog, imagegen, autosave-save,
 * autosave-restore) shares: `-V` with the toolkit's one version line, output through the
 * command's io, and commander's exits turned into our exit codes.
 * @module
 */

import { type Command, CommanderError } from "commander";
import { versionLine } from "../lib/core/version.ts";
import type { CliIO } from "./_io.ts";

/**
 * Adds `-V, --version`, routes commander's output to `io` and parses `args`.
 * @param program the command with its options and arguments declared
 * @param name the command's name for the version line
 * @param args the command-line arguments (without the program name)
 * @param io where help, version and errors go
 * @returns undefined to go on, or the exit code: 0 after -h or -V, 2 on a usage error
 */
export function parseProgram(
  program: Command,
  name: string,
  args: string[],
  io: CliIO,
): number | undefined {
  program
    .version(versionLine(name), "-V, --version", "print the version and exit")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  try {
    program.parse(args, { from: "user" });
    return undefined;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}
