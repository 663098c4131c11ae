/**
 * A script that uses the CA client library ends when its work is done: closing the context
 * leaves nothing that keeps Deno running, however long the timers it had armed (the
 * circuit's watchdog waits EPICS_CA_CONN_TMO, 30 s by default; a search for a name nobody
 * has backs off for minutes). The child is killed if it is still there after 15 s, half the
 * watchdog, and the test then fails; it normally ends in well under a second.
 */
import assert from "node:assert/strict";
import { CaServer } from "../lib/ca/server/server.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { PvMap } from "../lib/pv/provider.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import { startTestRepeater } from "./_helpers/ca_repeater.ts";
import { LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";

const SCRIPT = `
import { CaContext } from "${REPO_ROOT}/lib/ca/client/context.ts";
const ctx = new CaContext();
const ch = ctx.channel("exit:x");
const missing = ctx.channel("exit:nobody");
if (!(await ctx.waitConnected([ch], 10))) throw new Error("not connected");
const [got] = await ctx.getMany([ch], { timeoutSec: 10 });
if (got instanceof Error) throw got;
const sub = ch.subscribe({ mask: 1 }, () => {});
await ctx.waitConnected([missing], 0.2); // arms search retries that are still pending
sub.cancel();
await ctx.close();
console.log("closed");
`;

Deno.test("ca client: a script ends as soon as it has closed its context", async () => {
  await using rep = startTestRepeater();
  const env = { ...LOOPBACK_ENV, ...rep.env, EPICS_CA_CONN_TMO: "30" };
  const pv = new SharedPV("exit:x", { type: "float64", value: 1.5 });
  await using server = await CaServer.start({
    provider: new PvMap([pv]),
    config: epicsConfigFrom(env).cas,
    port: 0,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-net", "--quiet", SCRIPT],
    env: { ...env, EPICS_CA_ADDR_LIST: `127.0.0.1:${server.udpPort}` },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const guard = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, 15_000);
  const out = await child.output();
  clearTimeout(guard);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(killed, false, `the script was still running 15 s after it started: ${text}`);
  assert.equal(out.code, 0, text);
  assert.match(text, /closed/);
});
