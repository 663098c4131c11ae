/**
 * The toolkit's commands: their installed names and entry files. `compile` and `install`
 * (tools/build.ts) work from this one list.
 * @module
 */

/** One command: the name users type and its entry file under cli/. */
export interface CommandEntry {
  name: string;
  file: string;
  /** Deno permission flags of its binary and shim (default {@link DEFAULT_PERMISSIONS}). */
  permissions?: readonly string[];
}

/**
 * What most commands need: network (CA/PVA), environment (EPICS_* variables), system info
 * (interfaces for broadcast addresses, host and user names), read (/etc/hosts, .db/.req
 * and YAML files) and run (starting a CA repeater as libca does).
 */
export const DEFAULT_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-read",
  "--allow-run",
];

/**
 * The permission flags of a command.
 * @param c the command
 * @returns its own list, else the default
 */
export function permissionsOf(c: CommandEntry): readonly string[] {
  return c.permissions ?? DEFAULT_PERMISSIONS;
}

/** Commands that also write files (autosave files, put logs): the defaults plus --allow-write. */
const WRITES: readonly string[] = [...DEFAULT_PERMISSIONS, "--allow-write"];

/** Every command, in the order they are built. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: "caget", file: "cli/caget.ts" },
  { name: "caput", file: "cli/caput.ts" },
  { name: "camonitor", file: "cli/camonitor.ts" },
  { name: "cainfo", file: "cli/cainfo.ts" },
  {
    name: "ca-repeater",
    file: "cli/ca_repeater.ts",
    permissions: ["--allow-net", "--allow-env", "--allow-sys"],
  },
  { name: "pvget", file: "cli/pvget.ts" },
  { name: "pvput", file: "cli/pvput.ts" },
  { name: "pvmonitor", file: "cli/pvmonitor.ts" },
  { name: "pvinfo", file: "cli/pvinfo.ts" },
  { name: "pvserve", file: "cli/pvserve.ts", permissions: WRITES },
  { name: "softioc", file: "cli/softioc.ts", permissions: WRITES },
  { name: "putlog", file: "cli/putlog.ts", permissions: WRITES },
  { name: "autosave-save", file: "cli/autosave_save.ts", permissions: WRITES },
  { name: "autosave-restore", file: "cli/autosave_restore.ts" },
  { name: "imagegen", file: "cli/imagegen.ts" },
];
