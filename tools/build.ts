/**
 * Builds or installs every command of tools/commands.ts.
 *
 *   deno task compile [--target T] [--out dist]   self-contained binaries (deno compile)
 *   deno task install [--root DIR]                 shims on PATH (deno install --global)
 *
 * `deno compile` downloads a Deno runtime for the target the first time, so it needs the
 * internet (or a cached runtime). Binaries and shims run with the permissions the commands
 * need (tools/commands.ts: network, environment, system info...) and the `net` unstable
 * feature for UDP. `--dry-run` prints the deno command lines instead of running them.
 * @module
 */

import { COMMANDS, DEFAULT_PERMISSIONS, permissionsOf } from "./commands.ts";

function permsFor(name: string): readonly string[] {
  const c = COMMANDS.find((x) => x.name === name);
  return c ? permissionsOf(c) : DEFAULT_PERMISSIONS;
}

/**
 * The deno arguments that build one command.
 * @param mode "compile" or "install"
 * @param name the command name
 * @param file its entry file
 * @param opts output folder / target for compile, root for install
 * @returns the argument list for the deno executable
 */
export function buildArgs(
  mode: "compile" | "install",
  name: string,
  file: string,
  opts: { out?: string; target?: string; root?: string } = {},
): string[] {
  if (mode === "compile") {
    return [
      "compile",
      ...permsFor(name),
      "--unstable-net",
      ...(opts.target ? ["--target", opts.target] : []),
      "--output",
      `${opts.out ?? "dist"}/${name}`,
      file,
    ];
  }
  return [
    "install",
    "--global",
    "--force",
    ...permsFor(name),
    "--unstable-net",
    "--config",
    "deno.json",
    ...(opts.root ? ["--root", opts.root] : []),
    "--name",
    name,
    file,
  ];
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode !== "compile" && mode !== "install") {
    console.error(
      "usage: deno run -A tools/build.ts compile|install [--out D] [--target T] [--root D] [--dry-run]",
    );
    Deno.exit(2);
  }
  const opt = (flag: string) => {
    const i = rest.indexOf(flag);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  let failed = 0;
  for (const c of COMMANDS) {
    const args = buildArgs(mode, c.name, c.file, {
      out: opt("--out"),
      target: opt("--target"),
      root: opt("--root"),
    });
    if (rest.includes("--dry-run")) {
      console.log(["deno", ...args].join(" "));
      continue;
    }
    const st = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "inherit",
      stderr: "inherit",
    })
      .output();
    if (!st.success) {
      console.error(`${mode} of ${c.name} failed`);
      failed++;
    }
  }
  Deno.exit(failed ? 1 : 0);
}
