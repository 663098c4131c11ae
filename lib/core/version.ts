/**
 * The toolkit's version: every command's `-V` prints it, from this one place.
 * @module
 */

/** The epics-ts release (semantic versioning). */
export const EPICS_TS_VERSION = "0.1.0";

/**
 * The `-V` line of a command that has no EPICS format of its own to follow.
 * @param command the command name, e.g. "pvserve"
 * @returns e.g. "pvserve (epics-ts 0.1.0)"
 * @example
 * ```ts
 * import { EPICS_TS_VERSION, versionLine } from "./version.ts";
 * if (versionLine("pvserve") !== `pvserve (epics-ts ${EPICS_TS_VERSION})`) throw new Error();
 * ```
 */
export function versionLine(command: string): string {
  return `${command} (epics-ts ${EPICS_TS_VERSION})`;
}
