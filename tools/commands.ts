/**
 * The toolkit's commands: their installed names and entry files. `compile` and `install`
 * (tools/build.ts) work from this one list.
 * @module
 */

/** One command: the name users type and its entry file under cli/. */
export interface CommandEntry {
  name: string;
  file: string;
}

/** Every command, in the order they are built. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: "caget", file: "cli/caget.ts" },
  { name: "caput", file: "cli/caput.ts" },
  { name: "camonitor", file: "cli/camonitor.ts" },
  { name: "cainfo", file: "cli/cainfo.ts" },
  { name: "ca-repeater", file: "cli/ca_repeater.ts" },
  { name: "pvget", file: "cli/pvget.ts" },
  { name: "pvput", file: "cli/pvput.ts" },
  { name: "pvmonitor", file: "cli/pvmonitor.ts" },
  { name: "pvinfo", file: "cli/pvinfo.ts" },
  { name: "pvserve", file: "cli/pvserve.ts" },
  { name: "softioc", file: "cli/softioc.ts" },
  { name: "putlog", file: "cli/putlog.ts" },
  { name: "autosave-save", file: "cli/autosave_save.ts" },
  { name: "autosave-restore", file: "cli/autosave_restore.ts" },
];
