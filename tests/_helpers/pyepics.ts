/**
 * Running pyepics (python3 over the real libca) from a test: whether it is installed, a
 * test name that says why a test is ignored, and a script run whose `RESULT {json}` line is
 * returned parsed.
 * @module
 */

import { LOOPBACK_ENV } from "./pvserve.ts";
import { startTestRepeater } from "./ca_repeater.ts";

/** The Python that has pyepics (Debian's python3-pyepics). */
export const PYTHON = "/usr/bin/python3";

function problem(): string | undefined {
  try {
    const r = new Deno.Command(PYTHON, {
      args: ["-c", "import epics"],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    return r.success ? undefined : new TextDecoder().decode(r.stderr).trim().split("\n").pop();
  } catch (e) {
    return (e as Error).message;
  }
}

/** Why pyepics cannot run here, or undefined when it can. */
export const PY_PROBLEM: string | undefined = problem();

/** In CI pyepics must be there: tests that need it run (and fail) rather than being ignored. */
const IN_CI = Boolean(Deno.env.get("CI"));

/** Whether a pyepics test is to be ignored. */
export const PYEPICS_IGNORED: boolean = PY_PROBLEM !== undefined && !IN_CI;

/**
 * A test's name, with the reason when it is ignored.
 * @param name what the test checks
 * @returns the name to register
 */
export function pyepicsTestName(name: string): string {
  return PYEPICS_IGNORED ? `${name} (ignored: pyepics unavailable: ${PY_PROBLEM})` : name;
}

/**
 * Runs a Python script on loopback and returns what it printed as `RESULT {json}`.
 * @param script the program; it prints one line `RESULT ` + json.dumps(...)
 * @param env variables added to the loopback environment (EPICS_CA_ADDR_LIST and so on); when
 *   it names no EPICS_CA_REPEATER_PORT, a repeater of ours serves a private one for the run
 * @returns the parsed result
 * @throws Error with the script's output when there is no RESULT line
 */
export async function runPyepics(
  script: string,
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  // libca starts a caRepeater that never exits unless one answers on its repeater port: a
  // caller that names no port gets a private one served here for the run.
  await using repeater = env.EPICS_CA_REPEATER_PORT === undefined ? startTestRepeater() : undefined;
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", script],
    env: { ...LOOPBACK_ENV, PYTHONDONTWRITEBYTECODE: "1", ...repeater?.env, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`no result: ${text} ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(line.slice(7));
}

/**
 * Waits until a condition holds, polling; fails naming what it waited for.
 * @param what the condition, for the error
 * @param cond checked every 20 ms
 * @param ms how long to wait at most
 */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 15000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
