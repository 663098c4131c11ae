/**
 * What a command talks to: output streams, environment, and a stop signal. Commands
 * export `main(args, io)` so tests run them in-process with a captured io.
 * @module
 */

/** A command's view of the outside world. */
export interface CliIO {
  /** Writes text to standard output (flushed at once, so pipes see each line). */
  stdout(text: string): void;
  /** Writes text to standard error. */
  stderr(text: string): void;
  /** The environment variables. */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the command should stop (Ctrl-C, or a test's end). */
  signal: AbortSignal;
}

const enc = new TextEncoder();

function writeAll(fd: { writeSync(p: Uint8Array): number }, text: string): void {
  const b = enc.encode(text);
  let off = 0;
  while (off < b.length) off += fd.writeSync(b.subarray(off));
}

/**
 * The real process io: stdout/stderr, the environment, and a signal aborted by SIGINT/SIGTERM.
 * @returns the io
 */
export function processIO(): CliIO {
  const ac = new AbortController();
  const stop = () => ac.abort();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
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
  };
}

/** A command's entry point. */
export type CliMain = (args: string[], io: CliIO) => Promise<number>;

/**
 * Runs a command as the process and exits with its status.
 * @param main the command's main
 */
export async function runMain(main: CliMain): Promise<never> {
  const io = processIO();
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
