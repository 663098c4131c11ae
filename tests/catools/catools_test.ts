/**
 * EPICS base's own catools (caget, caput, camonitor, cainfo) against `pvserve --demo`.
 * Runs only where those tools are on the PATH (they are not installed in CI; pyepics covers
 * libca there); skips cleanly otherwise.
 */
import assert from "node:assert/strict";
import { startPvserve } from "../_helpers/pvserve.ts";

function onPath(cmd: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

const have = onPath("caget") && onPath("caput") && onPath("camonitor") && onPath("cainfo");

async function run(env: Record<string, string>, cmd: string, ...args: string[]) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "catools: caget, caput, cainfo and camonitor against pvserve --demo",
  ignore: !have,
  async fn() {
    // startPvserve serves the repeater port its clientEnv names, so libca starts no
    // caRepeater process that would outlive the test.
    await using srv = await startPvserve(["--demo"]);
    const env = srv.clientEnv;
    let r = await run(
      env,
      "caget",
      "demo:temperature",
      "demo:mode",
      "demo:message",
      "demo:readonly",
    );
    assert.equal(
      r.stdout,
      "demo:temperature               25\n" +
        "demo:mode                      Off\n" +
        "demo:message                   hello\n" +
        "demo:readonly                  5\n",
    );
    r = await run(env, "caget", "-d", "DBR_CTRL_DOUBLE", "demo:temperature");
    assert.ok(r.stdout.includes("Units:            C\n    Precision:        2\n"), r.stdout);
    assert.ok(r.stdout.includes("Lo ctrl limit:    -20\n    Hi ctrl limit:    120\n"), r.stdout);
    assert.ok(r.stdout.includes("Hi alarm limit:   100\n"), r.stdout);
    r = await run(env, "caput", "demo:temperature", "90");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /New : demo:temperature\s+90\n/);
    r = await run(env, "caget", "-a", "demo:temperature");
    assert.match(r.stdout, / 90 HIGH MINOR\n$/);
    r = await run(env, "caput", "demo:temperature", "500");
    assert.match(r.stderr, /Channel write request failed/);
    assert.match(r.stdout, /New : demo:temperature\s+90\n/);
    r = await run(env, "caput", "demo:readonly", "1");
    assert.match(r.stderr, /Write access denied/);
    r = await run(env, "caput", "-c", "demo:mode", "Auto");
    assert.match(r.stdout, /New : demo:mode\s+Auto\n/);
    r = await run(env, "caput", "-S", "demo:text", "hi there");
    r = await run(env, "caget", "-S", "demo:text");
    assert.equal(r.stdout, "demo:text hi there\n");
    r = await run(env, "caget", "-#", "4", "demo:waveform");
    assert.match(r.stdout, /^demo:waveform 4( -?\d\S*){4}\n$/);
    r = await run(env, "cainfo", "demo:waveform");
    assert.match(r.stdout, /Native data type: DBF_DOUBLE\n/);
    assert.ok(r.stdout.includes("Element count:    1000\n"), r.stdout);
    assert.ok(r.stdout.includes("Access:           read, write\n"), r.stdout);
    r = await run(env, "caget", "-w", "0.3", "demo:nothere");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not found/);
    r = await run(env, "timeout", "1", "camonitor", "demo:count");
    const counts = r.stdout.trim().split("\n").map((l) => Number(l.trim().split(/\s+/).at(-1)));
    assert.ok(counts.length >= 5, `camonitor printed ${counts.length} lines`);
    for (let i = 1; i < counts.length; i++) assert.equal(counts[i], counts[i - 1] + 1);
  },
});
