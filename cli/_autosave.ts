/**
 * Plumbing shared by autosave-save and autosave-restore: the PV source for `-p ca|pva`, the
 * progress bar, number options.
 * @module
 */

import cliProgress from "cli-progress";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaSource, PvaSource } from "../lib/autosave/mod.ts";
import type { PvSource } from "../lib/autosave/mod.ts";
import type { CliIO } from "./_io.ts";

/** A set this large gets a progress bar when stderr is a terminal. */
export const PROGRESS_MIN = 500;

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * The PV source of `-p ca|pva`, configured from the command's environment.
 * @param provider "ca" or "pva"
 * @param io the command's io (environment)
 * @returns the source (close it when done)
 */
export function sourceFor(provider: string, io: CliIO): PvSource {
  // Options, not a ready context or client: the source then owns it, and close() releases
  // its sockets and timers (a source given a context leaves it open for its owner).
  if (provider === "pva") {
    return new PvaSource({
      env: io.env,
      user: io.env.USER ?? io.env.LOGNAME ?? "",
      host: hostName(),
    });
  }
  return new CaSource({
    config: epicsConfigFrom(io.env).ca,
    user: io.env.EPICS_CLI_USER_NAME,
    host: io.env.EPICS_CLI_HOST_NAME ?? hostName(),
    repeater: false,
  });
}

/** Closes a source made by {@link sourceFor}, with its context or client. */
export async function closeSource(source: PvSource): Promise<void> {
  await source.close();
}

/**
 * Parses a number option: a finite number >= min, or undefined when not given.
 * @throws Error naming the option when the text is not such a number
 */
export function numberOption(
  text: string | undefined,
  name: string,
  min = 0,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new Error(`invalid ${name} "${text}": expected a number >= ${min}`);
  }
  return n;
}

/** A progress bar on stderr, or nothing when it is not wanted. */
export interface Progress {
  /** Moves the bar to `done` of its total. */
  update(done: number): void;
  /** Removes the bar. */
  stop(): void;
}

/**
 * A progress bar for `total` steps, written through `io.stderr`, shown only when `show`.
 * @param io the command's io
 * @param total steps
 * @param label text before the bar
 * @param show whether to draw at all
 */
export function progressBar(io: CliIO, total: number, label: string, show: boolean): Progress {
  if (!show) return { update() {}, stop() {} };
  let columns = 80;
  try {
    columns = Deno.consoleSize().columns;
  } catch {
    // not a terminal after all: keep 80
  }
  const stream = {
    write: (s: string) => {
      io.stderr(s);
      return true;
    },
    isTTY: true,
    columns,
    on() {},
    removeListener() {},
  };
  const bar = new cliProgress.SingleBar({
    stream: stream as never,
    format: `${label} [{bar}] {value}/{total} PVs`,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}

/** Whether the process's stderr is a terminal (false in tests and pipes). */
export function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}
