/**
 * Running an IOC as a process in tests: our softioc's command line, the loopback
 * environment an IOC (ours or EPICS base's softIoc) gets, and a run of shell commands on
 * its stdin.
 * @module
 */

import { startTestRepeater } from "./ca_repeater.ts";
import { freePort, LOOPBACK_ENV, REPO_ROOT } from "./pvserve.ts";

/** The command line that runs this checkout's softioc (program first, arguments after). */
export const SOFTIOC_CMD: readonly string[] = [
  Deno.execPath(),
  "run",
  "-A",
  "--quiet",
  "--config",
  `${REPO_ROOT}/deno.json`,
  `${REPO_ROOT}/cli/softioc.ts`,
];

/**
 * The environment of an IOC on loopback: its CA server on `port`, libca's repeater (and the
 * beacons) on `repeater`, whose repeater the caller runs ({@link startTestRepeater}), PVA
 * on a free port, and `cwd` as INIT_CWD (under `deno task`, softioc works there).
 * @param port the CA server port
 * @param repeater the repeater port
 * @param cwd the IOC's working directory
 * @returns the variables, to spread extra ones over
 */
export function iocEnv(port: number, repeater: number, cwd: string): Record<string, string> {
  const pva = freePort([port, repeater]);
  return {
    ...LOOPBACK_ENV,
    EPICS_CAS_SERVER_PORT: String(port),
    EPICS_CA_SERVER_PORT: String(port),
    EPICS_CA_REPEATER_PORT: String(repeater),
    EPICS_CAS_BEACON_ADDR_LIST: `127.0.0.1:${repeater}`,
    EPICS_PVAS_SERVER_PORT: String(pva),
    EPICS_PVAS_BROADCAST_PORT: String(pva),
    NO_COLOR: "1",
    INIT_CWD: cwd,
  };
}

/**
 * Runs an IOC that loads `db` in `cwd`, writes `commands` and `exit` to its shell, and
 * returns what it printed on stdout.
 * @param cmd the IOC's command line ({@link SOFTIOC_CMD}, or softIoc's path)
 * @param commands shell lines, each ending in a newline
 * @param cwd where the IOC runs (and `db` is)
 * @param db the database file
 * @returns its stdout
 */
export async function shellRun(
  cmd: readonly string[],
  commands: string,
  cwd: string,
  db: string,
): Promise<string> {
  // Ours for base's libca: it then starts no caRepeater of its own (one that would outlive us).
  await using rep = startTestRepeater();
  const child = new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), "-d", db],
    cwd,
    env: iocEnv(freePort([rep.port]), rep.port, cwd),
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(commands + "exit\n"));
  await w.close();
  const out = await child.output();
  return new TextDecoder().decode(out.stdout);
}

/**
 * Collects a child's stdout and stderr as text while it runs, so that neither pipe can
 * fill and block it, and so that a test can wait on what it has printed so far.
 * @param child a process spawned with both streams piped
 * @returns the text so far (`out`, `err`) and a promise of both streams' end
 */
export function captureOutput(
  child: Deno.ChildProcess,
): { text: { out: string; err: string }; drained: Promise<unknown> } {
  const text = { out: "", err: "" };
  const drain = async (s: ReadableStream<Uint8Array>, k: "out" | "err") => {
    const dec = new TextDecoder();
    for await (const c of s) text[k] += dec.decode(c, { stream: true });
  };
  return { text, drained: Promise.all([drain(child.stdout, "out"), drain(child.stderr, "err")]) };
}

/** An IOC process started by {@link startIocProcess}. */
export interface IocProcess extends AsyncDisposable {
  /** Its CA server port. */
  port: number;
  /** The environment clients (base's tools, ours) reach it with, CA and PVA. */
  env: Record<string, string>;
  /** What it printed so far. */
  text: { out: string; err: string };
  /** Its exit status, once it has ended. */
  status: Promise<Deno.CommandStatus>;
  /** Writes a line to its shell. */
  shell(line: string): Promise<void>;
}

/**
 * Starts an IOC (ours or base's softIoc/softIocPVA) on loopback, with a test repeater of its
 * own, and waits until iocInit is done (base's "iocRun" message, or the banner ours prints).
 * Disposing of it writes `exit` to its shell (or, with `-S`, sends SIGTERM), waits for it
 * (killing it after 10 s) and stops the repeater.
 * @param cmd the IOC's command line ({@link SOFTIOC_CMD}, or softIoc's path)
 * @param args its arguments (`-d file.db`...)
 * @param cwd where it runs
 * @returns the running IOC
 */
export async function startIocProcess(
  cmd: readonly string[],
  args: readonly string[],
  cwd: string,
): Promise<IocProcess> {
  const rep = startTestRepeater();
  const port = freePort([rep.port]);
  const env = iocEnv(port, rep.port, cwd);
  const child = new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), ...args],
    cwd,
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text, drained } = captureOutput(child);
  const w = child.stdin.getWriter();
  // Without a shell (-S) the IOC does not read `exit`: SIGTERM stops it.
  const noShell = args.includes("-S");
  const stop = async () => {
    try {
      if (noShell) child.kill("SIGTERM");
      else await w.write(new TextEncoder().encode("exit\n"));
      await w.close();
    } catch {
      // Already gone.
    }
    const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await child.status;
    clearTimeout(t);
    await drained;
    await rep.close();
  };
  const started = /iocRun: All initialization complete|#{20,}\n(##.*\n)+#{20,}\n/;
  const deadline = Date.now() + 30_000;
  let ended = false;
  child.status.then(() => (ended = true));
  while (!started.test(text.out + text.err)) {
    if (ended || Date.now() > deadline) {
      try {
        child.kill("SIGKILL");
      } catch {
        // It ended by itself.
      }
      await stop();
      throw new Error(`IOC did not start:\n${text.out}${text.err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    env: {
      ...env,
      EPICS_PVA_SERVER_PORT: env.EPICS_PVAS_SERVER_PORT,
      EPICS_PVA_BROADCAST_PORT: env.EPICS_PVAS_BROADCAST_PORT,
    },
    text,
    status: child.status,
    shell: (line) => w.write(new TextEncoder().encode(`${line}\n`)),
    [Symbol.asyncDispose]: stop,
  };
}
