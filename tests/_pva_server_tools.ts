/**
 * Helpers for the PVA server's interop tests: finding the real EPICS tools (on PATH or
 * in the local builds /opt/epics/bin and /opt/epics/cpp-bin), serving the demo PVs on
 * loopback, running a tool.
 * @module
 */
import { startDemo } from "../lib/host/demo.ts";
import { PvMap } from "../lib/pv/provider.ts";
import type { ServedPv } from "../lib/pv/types.ts";
import { PvaServer } from "../lib/pva/server/mod.ts";

/** A tool on PATH, else in one of `dirs`. */
export function findTool(tool: string, dirs: string[]): string | undefined {
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

/** The pvxs tools, then the pvAccessCPP ones. */
export const pvxlist = findTool("pvxlist", ["/opt/epics/bin"]);
export const pvxget = findTool("pvxget", ["/opt/epics/bin"]);
export const cppPvlist = findTool("pvlist", ["/opt/epics/cpp-bin"]);
export const cppPvget = findTool("pvget", ["/opt/epics/cpp-bin"]);
export const cppPvput = findTool("pvput", ["/opt/epics/cpp-bin"]);

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
