/**
 * Interop: real PVA clients listing, reading and writing our server: pvxs's pvxlist and
 * pvxget, pvAccessCPP's pvlist and pvget. Each test is skipped when its tool is neither
 * on PATH nor in the local EPICS builds (/opt/epics/bin, /opt/epics/cpp-bin).
 */
import assert from "node:assert/strict";
import { cppPvlist, pvxlist, run, withServer } from "./_pva_server_tools.ts";

const DEMO_NAMES = [
  "demo:count",
  "demo:image",
  "demo:message",
  "demo:mode",
  "demo:readonly",
  "demo:temperature",
  "demo:text",
  "demo:waveform",
];

Deno.test({
  name: "server tools: pvxlist host:port lists our PVs through the built-in server channel",
  ignore: !pvxlist,
  async fn() {
    await withServer([], async (env, server) => {
      const r = await run(pvxlist!, ["-w", "5", `127.0.0.1:${server.tcpPort}`], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split("\n"), DEMO_NAMES);
    });
  },
});

Deno.test({
  name: "server tools: pvAccessCPP pvlist host:port lists our PVs",
  ignore: !cppPvlist,
  async fn() {
    await withServer([], async (env, server) => {
      const r = await run(cppPvlist!, ["-w", "5", `127.0.0.1:${server.tcpPort}`], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split("\n"), DEMO_NAMES);
    });
  },
});
