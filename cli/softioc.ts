/**
 * softioc: a soft IOC, run as EPICS base's softIoc / softIocPVA are run, serving its
 * records over Channel Access and PV Access at once.
 *
 * ```text
 * softioc [-m MACROS] [-d FILE.db]... [-a FILE.acf] [-x PREFIX] [-S] [--module FILE]... [ST.CMD]
 * ```
 * @module
 */

import { epicsConfigFrom } from "../lib/core/env.ts";
import { versionLine } from "../lib/core/version.ts";
import { serve, type Served } from "../lib/host/serve.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { caLinkFactory, hostsFileName } from "../lib/ioc/ca_link.ts";
import { IocDatabase, type RecordDef } from "../lib/ioc/database.ts";
import { environDevice } from "../lib/ioc/devices.ts";
import { IocProvider } from "../lib/ioc/provider.ts";
import { IocShell } from "../lib/ioc/shell.ts";
import { casrText } from "../lib/ioc/casr.ts";
import type { DeviceSupport } from "../lib/ioc/types.ts";
import { IocAutosave, registerAutosaveCommands } from "../lib/ioc/autosave.ts";
import { registerTsdevCommands, resolveModule, TsdevContext } from "../lib/ioc/tsdev/mod.ts";
import { parseAcf } from "../lib/ioc/_parse.ts";
import { AccessSecurity } from "../lib/ioc/access.ts";
import { type CliIO, runMain, untilAborted } from "./_io.ts";
import { LineEditor } from "./_line_editor.ts";

const USAGE = `Usage: softioc [-m MACROS] [-d FILE.db]... [-a FILE.acf] [-x PREFIX] [-S]
               [--module FILE]... [ST.CMD]

  -m MACROS   macro definitions "P=a,M=b" for the next -d files
  -d FILE.db  load records (as dbLoadRecords(FILE.db, MACROS))
  -a FILE.acf load access security rules
  -x PREFIX   add base's softIocExit.db records: PREFIX:exit (a sub record; writing
              0 stops the IOC with success, anything else with failure) and
              PREFIX:BaseVersion
  -S          no interactive shell
  -V          print the version and exit
  --module FILE  import a JS/TS module (its exports become global): functions for
              tsdev records' code and for sub/aSub records' SNAM and INAM
  ST.CMD      run this script (it calls iocInit); without one, iocInit runs after -d
`;

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * A server's name as libca shows it (ca_host_name): what the hosts file calls the address,
 * else the address. (libca's resolver may also ask DNS; we do not send queries for this.)
 */
function serverName(ip: string): string {
  let hosts: string | undefined;
  try {
    hosts = Deno.readTextFileSync("/etc/hosts");
  } catch {
    return ip;
  }
  return hostsFileName(hosts, ip) ?? ip;
}

/** The build-version variables iocsh sets (iocshRegisterCommon), for EPICS base 7.0.8.1. */
const EPICS_VERSION_ENV: Readonly<Record<string, string>> = {
  EPICS_VERSION_MAJOR: "7",
  EPICS_VERSION_MIDDLE: "0",
  EPICS_VERSION_MINOR: "8",
  EPICS_VERSION_PATCH: "1",
  EPICS_VERSION_SNAPSHOT: "",
  EPICS_VERSION_SITE: "",
  EPICS_VERSION_SHORT: "7.0.8.1",
  EPICS_VERSION_FULL: "7.0.8.1",
};

/** The records base's softIoc loads for `-x PREFIX` (softIocExit.db with IOC=PREFIX). */
function exitRecords(prefix: string): RecordDef[] {
  const file = "softIocExit.db";
  const rec = (type: string, name: string, line: number, fields: [string, string][]) => ({
    type,
    name,
    fields: fields.map(([n, value]) => ({ name: n, value, file, line })),
    infos: [],
    aliases: [],
    file,
    line,
  });
  return [
    rec("sub", `${prefix}:exit`, 3, [["DESC", "Exit subroutine"], ["SCAN", "Passive"], [
      "SNAM",
      "exit",
    ]]),
    rec("stringin", `${prefix}:BaseVersion`, 9, [
      ["DESC", "EPICS Base Version"],
      ["DTYP", "getenv"],
      ["INP", "@EPICS_VERSION_FULL"],
      ["PINI", "YES"],
      ["DISP", "1"],
    ]),
  ];
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Runs softioc.
 * @param args command-line arguments
 * @param io streams, environment and stop signal
 * @returns exit status
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  // -d files and -x prefixes, loaded in command-line order as base's softIoc does.
  const dbFiles: ({ file: string; macros: string } | { exitPrefix: string })[] = [];
  let macros = "";
  let acfFile: string | undefined;
  let interactive = true;
  let script: string | undefined;
  const modules: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      if (a.length > 2) return a.slice(2);
      const v = args[++i];
      if (v === undefined) throw new Error(`option ${a} needs an argument`);
      return v;
    };
    try {
      if (a === "-h" || a === "--help") {
        io.stdout(USAGE);
        return 0;
      } else if (a === "-V" || a === "--version") {
        io.stdout(`${versionLine("softioc")}\n`);
        return 0;
      } else if (a.startsWith("-m")) macros = value();
      else if (a.startsWith("-d")) dbFiles.push({ file: value(), macros });
      else if (a.startsWith("-a")) acfFile = value();
      else if (a.startsWith("-x")) dbFiles.push({ exitPrefix: value() });
      else if (a === "-S") interactive = false;
      else if (a === "--module" || a.startsWith("--module=")) {
        const v = a.startsWith("--module=") ? a.slice(9) : args[++i];
        if (v === undefined || v === "") throw new Error("option --module needs an argument");
        modules.push(v);
      } else if (a === "-s") continue;
      else if (a.startsWith("-") && a !== "-") throw new Error(`unknown option ${a}`);
      else if (script === undefined) script = a;
      else throw new Error(`unexpected argument "${a}"`);
    } catch (e) {
      io.stderr(`softioc: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
  }

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  io.signal.addEventListener("abort", onAbort, { once: true });
  let exitStatus = 0;
  const env = new Map<string, string>(
    Object.entries(io.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  // iocsh's build-version variables (iocshRegisterCommon), for "getenv" records such as -x's.
  for (const [k, v] of Object.entries(EPICS_VERSION_ENV)) env.set(k, v);
  const devices: DeviceSupport[] = [environDevice((name) => env.get(name))];
  const workers = Number(io.env.TSDEV_NUM_WORKERS ?? "3");
  const tsdev = new TsdevContext({
    workers: Number.isFinite(workers) && workers >= 1 ? workers : 3,
    log: (m) => io.stderr(`${m}\n`),
  });
  devices.push(tsdev.device);
  const ca = new CaContext({ config: epicsConfigFrom(io.env).ca, repeater: false });
  const db = new IocDatabase({
    devices,
    warn: (m) => io.stderr(`${m}\n`),
    remoteLinks: caLinkFactory(ca, { hostName: serverName }),
    print: (t) => io.stdout(t),
    hostName: hostName(),
    subroutines: [[
      "exit",
      (rec) => {
        // softIoc's exit subroutine: A = 0 exits with success, anything else with failure.
        exitStatus = rec.f.A === 0 ? 0 : 1;
        queueMicrotask(() => stop.abort());
      },
    ]],
    // sub/aSub SNAM and INAM: functions of --module/tsdevImport modules and tsdev() globals.
    findSubroutine: (name) => tsdev.subroutine(name),
  });
  // Refused channel names: base's dbChannelCreate reports them through errlog or printf.
  const provider = new IocProvider(db, {
    warn: (m) => io.stderr(`${m}\n`),
    print: (t) => io.stdout(t),
  });
  let security: AccessSecurity | undefined;
  let served: Served | undefined;
  const cwd = Deno.cwd();
  const autosave = new IocAutosave(db, {
    readFile: readText,
    writeFile: (p, t) => Deno.writeTextFileSync(p, t),
    cwd,
    log: (m) => io.stderr(`${m}\n`),
  });
  const shell = new IocShell(db, {
    readFile: readText,
    out: (t) => io.stdout(t),
    err: (t) => io.stderr(t),
    env,
    afterInit: async () => {
      security?.start();
      // QSRV makes its groups at iocInit: their definition problems show at start-up.
      provider.groups();
      served = await serve({
        pvs: provider,
        config: epicsConfigFrom(Object.fromEntries(env)),
      });

      await autosave.start();
    },
    casr: (level) => casrReport(served, level, db),
    chdir: (path) => {
      try {
        Deno.chdir(path);
        env.set("PWD", Deno.cwd());
        return true;
      } catch {
        return false;
      }
    },
    cwd: () => Deno.cwd(),
    beforeInit: () => {
      if (!security && !loadAcf("iocInit")) {
        throw new Error("iocInit: asInit Failed during initialization");
      }
      autosave.restorePass0();
    },
    afterRecordInit: () => autosave.restorePass1(),
  });
  // asSetFilename names the rules; iocInit loads them, asInit reloads them at run time. A
  // file with errors changes nothing (and fails iocInit, as asInit failing does in base).
  const loadAcf = (who: string): boolean => {
    if (acfFile === undefined) return true;
    const text = readText(acfFile);
    if (text === undefined) {
      io.stderr(`${who}: Can't open ACF file "${acfFile}"\n`);
      return false;
    }
    const { acf, errors } = parseAcf(text, { file: acfFile });
    if (errors.length) {
      for (const e of errors) io.stderr(`${e.message}\n`);
      return false;
    }
    if (security) security.reload(acf);
    else {
      security = new AccessSecurity(acf, db, caLinkFactory(ca, { hostName: serverName }));
      if (db.initialized) security.start();
    }
    db.setAccess(security.check);
    return true;
  };
  shell.register("asSetFilename", (a) => {
    acfFile = a[0];
    // As base: a name that is not absolute depends on the directory iocInit runs in.
    if (acfFile && !acfFile.startsWith("/") && !acfFile.includes(":")) {
      io.stdout("asSetFilename: Warning - relative paths won't usually work\n");
    }
  }, { args: "'ascf'", about: "Names the access security file iocInit (and asInit) loads." });
  shell.register("asInit", () => {
    if (!loadAcf("asInit")) io.stderr("asInit failed\n");
  }, { args: "", about: "Loads the access security file again, at run time." });
  registerTsdevCommands(shell, tsdev, cwd);
  registerAutosaveCommands(shell, autosave);

  try {
    if (!loadAcf("softioc")) return 1;
    for (const m of modules) {
      try {
        await tsdev.importModule(resolveModule(m, "<command line>", cwd));
      } catch (e) {
        io.stderr(`softioc: Cannot import module "${m}": ${(e as Error).message}\n`);
        return 1;
      }
    }
    for (const d of dbFiles) {
      if ("exitPrefix" in d) db.load(exitRecords(d.exitPrefix));
      else if (!shell.dbLoadRecords(d.file, d.macros)) {
        // As base's softIoc: a -d file that does not load ends the IOC before iocInit.
        io.stderr(`Error: Failed to load: ${d.file}\n`);
        return 2;
      }
    }
    if (script !== undefined) {
      const text = readText(script);
      if (text === undefined) {
        io.stderr(`softioc: Can't open "${script}"\n`);
        return 1;
      }
      if (!await shell.runScript(text, script, stop.signal)) return exitStatus;
      // An IOC that refused to start serves nothing: without a shell to fix it from, end.
      if (shell.initFailed && !interactive) return 1;
    } else if (dbFiles.length > 0) {
      await shell.iocInit();
    }
    if (stop.signal.aborted) return exitStatus;
    if (interactive) {
      const tty = Deno.stdin.isTerminal();
      if (tty) {
        const ed = new LineEditor();
        while (!stop.signal.aborted) {
          const r = await ed.read("epics> ", stop.signal);
          if ("eof" in r) break;
          if ("interrupt" in r) break;
          if (!await shell.execute(r.line)) break;
        }
      } else {
        await readStdinLines(shell, stop.signal, (t) => io.stdout(t));
      }
      return exitStatus;
    }
    await untilAborted(stop.signal);
    return exitStatus;
  } catch (e) {
    io.stderr(`softioc: ${(e as Error).message}\n`);
    return 1;
  } finally {
    io.signal.removeEventListener("abort", onAbort);
    await autosave.stop().catch((e) => io.stderr(`softioc: autosave: ${(e as Error).message}\n`));
    security?.stop();
    db.close();
    tsdev.close();
    await served?.close();
    await ca.close();
  }
}

async function readStdinLines(
  shell: IocShell,
  signal: AbortSignal,
  out: (t: string) => void,
): Promise<void> {
  const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
  const aborted = new Promise<null>((r) =>
    signal.addEventListener("abort", () => r(null), { once: true })
  );
  let rest = "";
  try {
    while (!signal.aborted) {
      const got = await Promise.race([reader.read(), aborted]);
      if (got === null || got.done) break;
      rest += got.value;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        // iocsh shows the prompt and the line it read when stdin is not a terminal.
        out(`epics> ${line}\n`);
        if (!await shell.execute(line)) return;
      }
    }
    if (rest !== "" && !signal.aborted) {
      out(`epics> ${rest}\n`);
      if (!await shell.execute(rest)) return;
    }
    // iocsh shows its prompt once more before it reads the end of the input.
    if (!signal.aborted) out("epics> ");
  } finally {
    reader.releaseLock();
  }
}

function casrReport(served: Served | undefined, level: number, db: IocDatabase): string {
  const ca = served?.ca;
  // RSRV prints nothing before it has started (casr before iocInit).
  if (!ca) return "";
  return casrText(ca.report(), level, (name) => db.channelType(name));
}

if (import.meta.main) {
  // `deno task softioc st.cmd` runs in the repository root; file names in the command line
  // and in scripts are relative to where the user typed it (INIT_CWD), as for softIoc.
  const initCwd = Deno.env.get("INIT_CWD");
  if (initCwd) Deno.chdir(initCwd);
  await runMain(main);
}
