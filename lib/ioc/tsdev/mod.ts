/**
 * The script device support (DTYP "tsdev") and its st.cmd commands: `tsdev("code")`,
 * `tsdevImport("./mydevice.ts")` and `tsdevImport("./heavy.ts", "worker")`.
 * @module
 */

import type { IocShell } from "../shell.ts";
import type { TsdevContext } from "./tsdev.ts";

export { TSDEV_RECORD_TYPES, TsdevContext, type TsdevOptions } from "./tsdev.ts";
export { iointr, IOINTR_HOOK } from "./iointr.ts";
export { convertResult, TsdevConversionError, type ValueKind } from "./convert.ts";

/**
 * Resolves a module path as st.cmd sees it: relative to the directory of the script that
 * names it (or to `cwd` at the prompt), then as a file URL.
 * @param path the path or URL written in st.cmd
 * @param from the script's path ("<stdin>" at the prompt)
 * @param cwd the working directory (absolute)
 * @returns the module URL
 * @example
 * ```ts
 * import { resolveModule } from "./mod.ts";
 * if (resolveModule("./dev.ts", "/ioc/st.cmd", "/tmp").href !== "file:///ioc/dev.ts") throw new Error();
 * ```
 */
export function resolveModule(path: string, from: string, cwd: string): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) && !/^[a-z]:[\\/]/i.test(path)) return new URL(path);
  const dir = from.startsWith("<")
    ? cwd
    : from.startsWith("/")
    ? dirOf(from)
    : `${cwd}/${dirOf(from)}`;
  const base = new URL(`file://${dir.replace(/\/?$/, "/")}`);
  return new URL(path, base);
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/**
 * Adds `tsdev(code)` and `tsdevImport(file[, "worker"])` to an IOC shell.
 * @param shell the shell
 * @param ts the tsdev context
 * @param cwd the working directory modules resolve against at the prompt
 */
export function registerTsdevCommands(shell: IocShell, ts: TsdevContext, cwd: string): void {
  shell.register("tsdev", async (args) => {
    if (args.length !== 1) {
      // iocsh splits unquoted text at spaces, commas and parentheses: the code would be mangled.
      throw new Error('Usage: tsdev "code" (the code in double quotes, as one argument)');
    }
    await ts.run(args[0]);
  });
  shell.register("tsdevImport", async (args, where) => {
    if (args.length < 1) throw new Error('Usage: tsdevImport "file" ["worker"]');
    const worker = args[1] === "worker";
    if (args[1] !== undefined && !worker) {
      throw new Error(`Unknown mode "${args[1]}" (only "worker")`);
    }
    await ts.importModule(resolveModule(args[0], where.file, cwd), { worker });
  });
}
