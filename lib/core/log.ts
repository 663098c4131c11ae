/**
 * A minimal injectable logger. Library code logs through one of these and never prints
 * on its own: the default is silent, commands pass {@link consoleLogger}.
 * @module
 */

/** Where library code reports events worth a line in a server log. */
export interface Logger {
  /** Reports a failure. */
  error(message: string): void;
  /** Reports something odd that did not stop the work. */
  warn(message: string): void;
  /** Reports a normal event (a connection, a start). */
  info(message: string): void;
  /** Reports detail useful when debugging. */
  debug(message: string): void;
}

/**
 * Drops every line.
 * @example
 * ```ts
 * import { silentLogger } from "./mod.ts";
 * silentLogger.error("nobody sees this");
 * ```
 */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
};

/**
 * A logger writing to stderr with a prefix.
 * @param prefix text put before every line, e.g. "pvserve"
 * @param verbose whether debug lines are written
 * @returns the logger
 */
export function consoleLogger(prefix: string, verbose = false): Logger {
  const line = (level: string, m: string) => console.error(`${prefix}: ${level}${m}`);
  return {
    error: (m) => line("error: ", m),
    warn: (m) => line("warning: ", m),
    info: (m) => line("", m),
    debug: (m) => {
      if (verbose) line("debug: ", m);
    },
  };
}
