/**
 * `serve()`: host PVs over the network. Starts the Channel Access and PV Access servers
 * over one provider.
 * @module
 */

import { type EpicsConfig, readEpicsConfig } from "../core/env.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { caView, PvMap } from "../pv/provider.ts";
import type { PvProvider, ServedPv } from "../pv/types.ts";
import { CaServer } from "../ca/server/server.ts";
import { PvaServer } from "../pva/server/server.ts";
import { caLongStrings, pvaLongStrings } from "./long_string.ts";

/** How to {@link serve}. */
export interface ServeOptions {
  /** The PVs to host (or a provider that looks names up itself). */
  pvs: Iterable<ServedPv> | PvProvider;
  /**
   * What Channel Access serves, when it must differ from `pvs` (e.g. a text PV that is a
   * PVA string but a CA char waveform); default: `pvs` without tables, with the `NAME$`
   * long-string form of each string PV (see {@link caLongStrings}).
   */
  caProvider?: PvProvider;
  /** Serve over Channel Access (default true). */
  ca?: boolean;
  /** CA port override (0 = any free port); default EPICS_CAS_SERVER_PORT / 5064. */
  caPort?: number;
  /** Serve over PV Access (default true). */
  pva?: boolean;
  /** PVA TCP port override (0 = any free port); default EPICS_PVAS_SERVER_PORT / 5075. */
  pvaPort?: number;
  /** Settings (default: read from the environment). */
  config?: EpicsConfig;
  /** Where log lines go (default: nowhere). */
  logger?: Logger;
  /**
   * Called each time a PVA connection has sent what it could (PvaServerOptions.onDrained,
   * without the per-PV room map): producer pacing.
   */
  pvaOnDrained?: () => void;
}

/** Running servers; dispose to stop them. */
export interface Served extends AsyncDisposable {
  /** The provider the servers share. */
  provider: PvProvider;
  /** The Channel Access server, when enabled. */
  ca?: CaServer;
  /** The PV Access server, when enabled. */
  pva?: PvaServer;
  /** Stops every server. */
  close(): Promise<void>;
}

function isProvider(x: ServeOptions["pvs"]): x is PvProvider {
  return typeof (x as PvProvider).lookup === "function";
}

/**
 * Starts the servers for a set of PVs.
 * @param options PVs, protocols, ports
 * @returns the running servers (AsyncDisposable)
 * @throws Deno.errors.AddrInUse (or another socket error) when a server cannot bind
 * @example
 * ```ts
 * import { epicsConfigFrom } from "../core/env.ts";
 * import { SharedPV } from "../pv/mod.ts";
 * import { serve } from "./mod.ts";
 * // Loopback only, any free TCP port; real programs omit `config` to read the environment.
 * const config = epicsConfigFrom({
 *   EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
 *   EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
 *   EPICS_CAS_BEACON_ADDR_LIST: "127.0.0.1",
 *   EPICS_PVAS_INTF_ADDR_LIST: "127.0.0.1",
 *   EPICS_PVAS_AUTO_BEACON_ADDR_LIST: "NO",
 *   EPICS_PVAS_BEACON_ADDR_LIST: "127.0.0.1",
 * });
 * const pv = new SharedPV("demo:x", { type: "float64", value: 1 });
 * await using server = await serve({ pvs: [pv], config, caPort: 0, pvaPort: 0 });
 * pv.post(2);
 * if (!server.ca || !server.pva || server.provider.lookup("demo:x") !== pv) throw new Error();
 * ```
 */
export async function serve(options: ServeOptions): Promise<Served> {
  const config = options.config ?? readEpicsConfig();
  const provider = isProvider(options.pvs) ? options.pvs : new PvMap(options.pvs);
  const logger = options.logger ?? silentLogger;
  let ca: CaServer | undefined;
  if (options.ca !== false) {
    // Tables have no CA form: the CA server does not see them (PVA serves them as NTTable).
    // `NAME$` is a string PV's long string, as `REC.FIELD$` in an IOC.
    ca = await CaServer.start({
      provider: options.caProvider ?? caLongStrings(caView(provider)),
      config: config.cas,
      port: options.caPort,
      logger,
    });
  }
  let pva: PvaServer | undefined;
  if (options.pva !== false) {
    try {
      pva = await PvaServer.start({
        provider: pvaLongStrings(provider),
        config: config.pvas,
        port: options.pvaPort,
        logger,
        onDrained: options.pvaOnDrained,
        drainedRoom: false,
      });
    } catch (e) {
      await ca?.close();
      throw e;
    }
  }
  const close = async () => {
    await ca?.close();
    await pva?.close();
  };
  return { provider, ca, pva, close, [Symbol.asyncDispose]: close };
}
