/**
 * Interop: real PVA clients listing, reading and writing our server: pvxs's pvxlist and
 * pvxget, pvAccessCPP's pvlist and pvget. Each test is skipped when its tool is neither
 * on PATH nor in the local EPICS builds (/opt/epics/bin, /opt/epics/cpp-bin).
 */
import assert from "node:assert/strict";
import { startDemo } from "../lib/host/demo.ts";
import { PvMap } from "../lib/pv/provider.ts";
import type { ServedPv } from "../lib/pv/types.ts";
import { PvaServer } from "../lib/pva/server/mod.ts";

function findTool(tool: string, dirs: string[]): string | undefined {
  let path = "";
  try {
    path = Deno.env.get("PATH") ?? "";
  } catch {
    return undefined;
  }
  for (const dir of [...path.split(":"), ...dirs]) {
    if (!dir) continue;
    try {
      const p = `${dir}/${tool}`;
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The pvxs tools, then the pvAccessCPP ones (same names as pvxs's pvget otherwise). */
export const pvxlist = findTool("pvxlist", ["/opt/epics/bin"]);
export const pvxget = findTool("pvxget", ["/opt/epics/bin"]);
export const cppPvlist = findTool("pvlist", ["/opt/epics/cpp-bin"]);
export const cppPvget = findTool("pvget", ["/opt/epics/cpp-bin"]);

/** Serves the demo PVs (and `extra`) on loopback; `fn` gets the client environment. */
export async function withServer(
  extra: ServedPv[],
  fn: (env: Record<string, string>, server: PvaServer) => Promise<void>,
): Promise<void> {
  using demo = startDemo("demo:");
  await using server = await PvaServer.start({
    provider: new PvMap([...demo.pvs, ...extra]),
    config: {
      serverPort: 0,
      broadcastPort: 0,
      intfAddrList: ["127.0.0.1"],
      beaconAddrList: [],
      autoBeaconAddrList: false,
      beaconPeriod: 15,
    },
  });
  await fn({
    EPICS_PVA_ADDR_LIST: "127.0.0.1",
    EPICS_PVA_AUTO_ADDR_LIST: "NO",
    EPICS_PVA_BROADCAST_PORT: String(server.udpPort),
    EPICS_PVA_SERVER_PORT: String(server.tcpPort),
  }, server);
}

/** Runs a tool to completion. */
export async function run(
  tool: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(tool, {
    args,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

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
