/**
 * What a command talks to: output streams, environment, and a stop signal. Commands
 * export `main(args, io)` so tests run them in-process with a captured io.
 * @module
 */

/**
 * What SIGINT and SIGTERM do to a command run as a process:
 * - `"abort"`: they abort {@link CliIO.signal} and the command shuts down by itself
 *   (pvserve closes its sockets and exits 0; pvmonitor stops its monitors and exits 0, as
 *   pvAccessCPP's pvmonitor does).
 * - `"default"`: no handler is installed, so the process dies from the signal at once
 *   with nothing printed and the shell sees 128 + the signal number (130 for Ctrl-C,
 *   143 for SIGTERM), as EPICS base's C catools do. {@link CliIO.signal} then never
 *   aborts in a real process (tests still abort it to stop a command they run in-process).
 */
export type SignalMode = "abort" | "default";

/** A command's view of the outside world. */
export interface CliIO {
  /** Writes text to standard output (flushed at once, so pipes see each line). */
  stdout(text: string): void;
  /** Writes text to standard error. */
  stderr(text: string): void;
  /** The environment variables. */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the command should stop (Ctrl-C with {@link SignalMode} "abort", or a test's end). */
  signal: AbortSignal;
  /**
   * True when the process exits as soon as `main` returns (the real process io): sockets
   * it leaves open are closed by the exit, so a command whose every request has been
   * answered may skip an orderly close. Unset in tests that run a command in-process.
   */
  exitsAfterMain?: boolean;
}

const enc = new TextEncoder();

function writeAll(fd: { writeSync(p: Uint8Array): number }, text: string): void {
  const b = enc.encode(text);
  let off = 0;
  try {
    while (off < b.length) off += fd.writeSync(b.subarray(off));
  } catch (e) {
    // The reader went away (`camonitor ... | head -1`): end quietly with the status a C
    // tool killed by SIGPIPE has, instead of a stack trace.
    if (e instanceof Deno.errors.BrokenPipe) Deno.exit(141);
    throw e;
  }
}

/**
 * The real process io: stdout/stderr, the environment, and a stop signal.
 * @param signals what SIGINT/SIGTERM do (default "abort": they abort the io's signal)
 * @returns the io
 */
export function processIO(signals: SignalMode = "abort"): CliIO {
  const ac = new AbortController();
  const stop = () => ac.abort();
  // With "default" nothing is installed: once Deno listens for a signal, the process can
  // no longer die from it.
  for (const sig of signals === "abort" ? ["SIGINT", "SIGTERM"] as const : []) {
    try {
      Deno.addSignalListener(sig, stop);
    } catch {
      // Signals are not available on every platform.
    }
  }
  let env: Record<string, string> = {};
  try {
    env = Deno.env.toObject();
  } catch {
    // No env permission: EPICS defaults apply.
  }
  return {
    stdout: (t) => writeAll(Deno.stdout, t),
    stderr: (t) => writeAll(Deno.stderr, t),
    env,
    signal: ac.signal,
    exitsAfterMain: true,
  };
}

/** A command's entry point. */
export type CliMain = (args: string[], io: CliIO) => Promise<number>;

/**
 * Runs a command as the process and exits with its status.
 * @param main the command's main
 * @param opts `signals`: what SIGINT/SIGTERM do (default "abort"; the catools pass
 *   "default" to die from them as EPICS base's tools do)
 */
export async function runMain(
  main: CliMain,
  opts: { signals?: SignalMode } = {},
): Promise<never> {
  const io = processIO(opts.signals);
  let code: number;
  try {
    code = await main(Deno.args, io);
  } catch (e) {
    io.stderr(`${(e as Error).stack ?? e}\n`);
    code = 1;
  }
  Deno.exit(code);
}

/**
 * Waits until the signal is aborted.
 * @param signal the stop signal
 */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}
