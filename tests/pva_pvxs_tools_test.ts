/**
 * Interop: pvxs's own command-line clients (pvxget, pvxput, pvxmonitor, pvxinfo) against
 * our PVA server hosting the demo PVs. Each test is skipped when its tool is not on PATH.
 */
import assert from "node:assert/strict";
import { findTool, withServer } from "./_pva_server_tools.ts";

/** A tool on PATH only (these tests run where pvxs is installed, and skip elsewhere). */
const onPath = (tool: string) => findTool(tool, []);

/** Serves the demo PVs on loopback; `fn` gets the client environment. */
const withDemo = (fn: (env: Record<string, string>) => Promise<void>) =>
  withServer([], (env) => fn(env));

async function run(
  tool: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(tool, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const pvxget = onPath("pvxget");
const pvxput = onPath("pvxput");
const pvxinfo = onPath("pvxinfo");
const pvxmonitor = onPath("pvxmonitor");

Deno.test({
  name: "pvxs tools: pvxget reads NTScalar, NTEnum and NTNDArray",
  ignore: !pvxget,
  async fn() {
    await withDemo(async (env) => {
      const r = await run(pvxget!, ["-w", "5", "demo:temperature", "demo:mode"], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /value double = 25/);
      assert.match(r.stdout, /display.units string = "C"/);
      assert.match(r.stdout, /value.choices string\[\] = \{3\}\["Off", "On", "Auto"\]/);
      const v = await run(pvxget!, ["-w", "5", "-r", "field(value)", "demo:readonly"], env);
      assert.equal(v.stdout.trim(), "demo:readonly\n    value double = 5");
      const img = await run(
        pvxget!,
        ["-w", "5", "-r", "field(dimension,uniqueId)", "demo:image"],
        env,
      );
      assert.equal(img.code, 0, img.stderr);
      assert.match(img.stdout, /dimension\[1\].size int32_t = 256/);
    });
  },
});

Deno.test({
  name: "pvxs tools: pvxput writes, and refusals come back with the reason",
  ignore: !pvxput || !pvxget,
  async fn() {
    await withDemo(async (env) => {
      assert.equal((await run(pvxput!, ["-w", "5", "demo:temperature", "42.5"], env)).code, 0);
      const g = await run(pvxget!, ["-w", "5", "-r", "value", "demo:temperature"], env);
      assert.match(g.stdout, /value double = 42.5/);
      const lim = await run(pvxput!, ["-w", "5", "demo:temperature", "500"], env);
      assert.equal(lim.code, 1);
      assert.match(lim.stderr, /outside the control limits/);
      const ro = await run(pvxput!, ["-w", "5", "demo:readonly", "1"], env);
      assert.equal(ro.code, 1);
      assert.match(ro.stderr, /read-only/);
      assert.equal((await run(pvxput!, ["-w", "5", "demo:mode", "value.index=2"], env)).code, 0);
      const m = await run(pvxget!, ["-w", "5", "demo:mode"], env);
      assert.match(m.stdout, /value.index int32_t = 2/);
    });
  },
});

Deno.test({
  name: "pvxs tools: pvxinfo prints the NT type",
  ignore: !pvxinfo,
  async fn() {
    await withDemo(async (env) => {
      const r = await run(pvxinfo!, ["-w", "5", "demo:count"], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /struct "epics:nt\/NTScalar:1.0" \{\n {4}int32_t value/);
    });
  },
});

Deno.test({
  name: "pvxs tools: pvxmonitor receives 10 Hz updates (plain and pipelined)",
  ignore: !pvxmonitor || !onPath("timeout") || !onPath("stdbuf"),
  async fn() {
    await withDemo(async (env) => {
      for (const req of ["field(value)", "record[pipeline=true,queueSize=2]field(value)"]) {
        // Line-buffered so that what was printed survives the stop by timeout.
        const r = await run(
          "timeout",
          ["1.5", "stdbuf", "-oL", pvxmonitor!, "-r", req, "demo:count"],
          env,
        );
        const n = r.stdout.split("\n").filter((l) => l.includes("value int32_t")).length;
        assert.ok(n >= 8, `${req}: ${n} updates\n${r.stdout}${r.stderr}`);
      }
    });
  },
});
