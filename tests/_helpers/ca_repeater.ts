/**
 * A CA repeater for tests and benchmarks that run libca programs (EPICS base's caget, caput,
 * camonitor, cainfo, catime, softIoc, softIocPVX, pyepics through /usr/bin/python3).
 *
 * libca decides whether a repeater runs by trying to bind EPICS_CA_REPEATER_PORT; when it can,
 * it forks and execs `caRepeater` from PATH, a daemon that never exits (with base off PATH the
 * forked child instead prints "The executable caRepeater couldn't be located" to stderr). A
 * test that gives its programs a private repeater port therefore starts this one first, in its
 * own process, bound to 127.0.0.1 on that port, and closes it when done: libca finds the port
 * taken and registers with ours, so nothing outlives the test and stderr stays as base's is.
 *
 * Closing also checks that no `caRepeater` process carries the port in its environment (one
 * would mean a program was started before the repeater, or on another port); such a process
 * is killed and close() throws, naming it.
 * @module
 */

import { CaRepeater } from "../../lib/ca/repeater.ts";

/** A repeater running in this process for a test's libca programs. */
export interface TestRepeater extends AsyncDisposable {
  /** The UDP port it is bound to (127.0.0.1). */
  readonly port: number;
  /** `{ EPICS_CA_REPEATER_PORT }` to spread into the programs' environment. */
  readonly env: { EPICS_CA_REPEATER_PORT: string };
  /**
   * Stops it and checks that no caRepeater process was started on its port.
   * @throws Error naming the stray processes (after killing them)
   */
  close(): Promise<void>;
}

/**
 * Starts a repeater on 127.0.0.1, on a free port chosen by the system unless `port` is given.
 * Start it before the libca programs that use its port and close it (or dispose it) after
 * they have exited.
 * @param port the port to bind (0: any free one)
 * @returns the running repeater
 */
export function startTestRepeater(port = 0): TestRepeater {
  const rep = CaRepeater.start(port, { hostname: "127.0.0.1" });
  const bound = rep.port;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await rep.close();
    const strays = caRepeaterProcesses().filter((p) => p.port === bound);
    if (strays.length === 0) return;
    for (const p of strays) {
      try {
        Deno.kill(p.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    throw new Error(
      `caRepeater process(es) ${strays.map((p) => p.pid).join(", ")} were started on ` +
        `repeater port ${bound} while the test's own repeater ran (killed now)`,
    );
  };
  return {
    port: bound,
    env: { EPICS_CA_REPEATER_PORT: String(bound) },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A running caRepeater process (EPICS base's or another libca installation's). */
export interface CaRepeaterProcess {
  pid: number;
  /** Its parent's pid (1 once the daemon has detached). */
  ppid: number;
  /** EPICS_CA_REPEATER_PORT from its environment, or undefined when it has none. */
  port: number | undefined;
}

/**
 * The caRepeater processes of this machine that this user can inspect (Linux /proc; an empty
 * list elsewhere).
 * @returns one entry per process
 */
export function caRepeaterProcesses(): CaRepeaterProcess[] {
  const found: CaRepeaterProcess[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const comm = Deno.readTextFileSync(`/proc/${e.name}/comm`).trim();
      if (comm !== "caRepeater") continue;
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const environ = Deno.readTextFileSync(`/proc/${e.name}/environ`).split("\0");
      const v = environ.find((s) => s.startsWith("EPICS_CA_REPEATER_PORT="));
      found.push({ pid: Number(e.name), ppid, port: v ? Number(v.split("=")[1]) : undefined });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}
