/**
 * A minimal injectable logger. Library code logs through one of these and never prints
 * on its own: the default is silent, commands pass {@link consoleLogger}.
 * @module
 */

/** Where library code reports events worth a line in a server log. */
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** Drops every line. */
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
