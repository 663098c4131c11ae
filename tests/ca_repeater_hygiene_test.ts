/**
 * Tests leave no caRepeater behind (issue #14). libca (base's tools, softIoc, pyepics) starts
 * a `caRepeater` daemon that never exits whenever nothing holds its EPICS_CA_REPEATER_PORT,
 * and prints "caRepeater couldn't be located" on stderr when none is on PATH. Tests that give
 * libca programs a private repeater port serve it with tests/_helpers/ca_repeater.ts (which
 * also fails a test whose port gained a caRepeater process); benches with
 * tools/bench/_repeater.ts. Here: that a libca program really stays quiet and starts nothing
 * under the helper, and that no file goes back to handing libca an unserved random port.
 */
import assert from "node:assert/strict";
import { caRepeaterProcesses, startTestRepeater } from "./_helpers/ca_repeater.ts";
import { LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";
import { PYEPICS_IGNORED, pyepicsTestName, PYTHON } from "./_helpers/pyepics.ts";

function onPath(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function quietUnder(cmd: string, args: string[]): Promise<void> {
  const rep = startTestRepeater();
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      // Nothing answers on this address list: the program searches, gives up and exits.
      env: { ...LOOPBACK_ENV, EPICS_CA_ADDR_LIST: `127.0.0.1:${rep.port}`, ...rep.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } finally {
    // Throws if a caRepeater process carries the port.
    await rep.close();
  }
  const stderr = new TextDecoder().decode(out.stderr);
  assert.doesNotMatch(stderr, /caRepeater|CA Repeater/, stderr);
  assert.equal(caRepeaterProcesses().filter((p) => p.port === rep.port).length, 0);
}

Deno.test({
  name: pyepicsTestName("pyepics under the test repeater: no caRepeater started, none missed"),
  ignore: PYEPICS_IGNORED,
  async fn() {
    await quietUnder(PYTHON, [
      "-c",
      "import epics; print(epics.caget('hygiene:nobody', timeout=0.3))",
    ]);
  },
});

const CAGET = onPath("caget");

Deno.test({
  name: `base's caget under the test repeater: no caRepeater started${
    CAGET ? "" : " (ignored: caget not on PATH)"
  }`,
  ignore: !CAGET,
  async fn() {
    await quietUnder(CAGET!, ["-w", "0.3", "hygiene:nobody"]);
  },
});

/** Where libca programs are started: these files must serve every repeater port they name. */
const LIBCA_HINT = /softIoc|PYTHON|runPyepics|findTool\("ca|onPath\("ca|catime|caget!|asVerify/;
/**
 * A repeater port made up on the spot (nothing of ours bound to it), in the environment or in
 * a variable, or a fixed number.
 */
const UNSERVED = new RegExp(
  String.raw`EPICS_CA_REPEATER_PORT:\s*(String\((freePort|freeUdpPort|port \+)|"\d+")|` +
    String.raw`\brepeater\w*\s*=\s*(freePort|freeUdpPort)\(`,
  "i",
);

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

Deno.test("tests and benches that start libca programs give them only served repeater ports", async () => {
  const bad: string[] = [];
  let scanned = 0;
  for (const root of [`${REPO_ROOT}/tests`, `${REPO_ROOT}/tools/bench`]) {
    for await (const file of sources(root)) {
      const text = await Deno.readTextFile(file);
      if (!LIBCA_HINT.test(text)) continue;
      scanned++;
      text.split("\n").forEach((line, i) => {
        if (UNSERVED.test(line)) bad.push(`${file.slice(REPO_ROOT.length + 1)}:${i + 1}`);
      });
    }
  }
  assert.ok(scanned > 5, `only ${scanned} files start libca programs?`);
  assert.deepEqual(
    bad,
    [],
    "use startTestRepeater (tests/_helpers/ca_repeater.ts) or benchRepeaterPort",
  );
});
