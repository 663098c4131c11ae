/**
 * EPICS environment variables, read in one place into a typed configuration that is
 * passed down to clients and servers. Names and meanings follow EPICS base and pvxs.
 * @module
 */

/** A `host[:port]` entry of an address list. */
export interface AddrEntry {
  /** Host name or IP address. */
  host: string;
  /** UDP or TCP port. */
  port: number;
}

/** Channel Access client settings. */
export interface CaClientConfig {
  /** Where searches go (EPICS_CA_ADDR_LIST). */
  addrList: AddrEntry[];
  /** Whether broadcast addresses of local interfaces are added (EPICS_CA_AUTO_ADDR_LIST). */
  autoAddrList: boolean;
  /** TCP name servers to search through (EPICS_CA_NAME_SERVERS). */
  nameServers: AddrEntry[];
  /** Seconds of silence before a circuit is checked (EPICS_CA_CONN_TMO). */
  connTimeout: number;
  /** Expected seconds between server beacons (EPICS_CA_BEACON_PERIOD). */
  beaconPeriod: number;
  /** Port of the CA repeater (EPICS_CA_REPEATER_PORT). */
  repeaterPort: number;
  /** Default server port for searches and circuits (EPICS_CA_SERVER_PORT). */
  serverPort: number;
  /** Largest array payload in bytes (EPICS_CA_MAX_ARRAY_BYTES, at least 16384). */
  maxArrayBytes: number;
  /** Whether array size is unbounded (EPICS_CA_AUTO_ARRAY_BYTES). */
  autoArrayBytes: boolean;
  /** Longest interval between search retries, in seconds (EPICS_CA_MAX_SEARCH_PERIOD). */
  maxSearchPeriod: number;
}

/** Channel Access server settings. */
export interface CaServerConfig {
  /** TCP and UDP port the server listens on (EPICS_CAS_SERVER_PORT). */
  serverPort: number;
  /** Interfaces to bind; empty means all (EPICS_CAS_INTF_ADDR_LIST). */
  intfAddrList: string[];
  /** Client addresses whose searches are ignored (EPICS_CAS_IGNORE_ADDR_LIST). */
  ignoreAddrList: string[];
  /** Where beacons go (EPICS_CAS_BEACON_ADDR_LIST). */
  beaconAddrList: AddrEntry[];
  /**
   * Whether broadcast addresses of local interfaces get beacons (EPICS_CAS_AUTO_BEACON_ADDR_LIST).
   */
  autoBeaconAddrList: boolean;
  /** Longest interval between beacons, in seconds (EPICS_CAS_BEACON_PERIOD). */
  beaconPeriod: number;
  /** Port beacons are sent to (EPICS_CAS_BEACON_PORT). */
  beaconPort: number;
  /** Largest array payload in bytes (EPICS_CA_MAX_ARRAY_BYTES). */
  maxArrayBytes: number;
  /** When false, EPICS_CA_MAX_ARRAY_BYTES bounds every message (EPICS_CA_AUTO_ARRAY_BYTES=NO). */
  autoArrayBytes: boolean;
}

/** PV Access client settings. */
export interface PvaClientConfig {
  /** Where searches go (EPICS_PVA_ADDR_LIST). */
  addrList: AddrEntry[];
  /** Whether broadcast addresses of local interfaces are added (EPICS_PVA_AUTO_ADDR_LIST). */
  autoAddrList: boolean;
  /** TCP name servers to search through (EPICS_PVA_NAME_SERVERS). */
  nameServers: AddrEntry[];
  /** UDP port searches are sent to (EPICS_PVA_BROADCAST_PORT). */
  broadcastPort: number;
  /** Default TCP server port (EPICS_PVA_SERVER_PORT). */
  serverPort: number;
  /** Seconds of silence before a connection is checked (EPICS_PVA_CONN_TMO). */
  connTimeout: number;
}

/** PV Access server settings. */
export interface PvaServerConfig {
  /** TCP port the server listens on (EPICS_PVAS_SERVER_PORT). */
  serverPort: number;
  /** UDP port searches are received on (EPICS_PVAS_BROADCAST_PORT). */
  broadcastPort: number;
  /** Interfaces to bind; empty means all (EPICS_PVAS_INTF_ADDR_LIST). */
  intfAddrList: string[];
  /**
   * Where beacons go (EPICS_PVAS_BEACON_ADDR_LIST, else EPICS_PVA_ADDR_LIST, as pvxs);
   * entries without a port get {@link broadcastPort}.
   */
  beaconAddrList: AddrEntry[];
  /**
   * Whether broadcast addresses of local interfaces get beacons (EPICS_PVAS_AUTO_BEACON_ADDR_LIST).
   */
  autoBeaconAddrList: boolean;
  /** Seconds between beacons (EPICS_PVAS_BEACON_PERIOD). */
  beaconPeriod: number;
  /**
   * Inactivity timeout base in seconds (EPICS_PVA_CONN_TMO, default 30): like pvxs, a
   * connection that receives nothing for 4/3 of it is closed. Optional so that settings
   * written by hand need not name it; 0 turns the timeout off.
   */
  connTimeout?: number;
}

/** Every EPICS setting the toolkit uses. */
export interface EpicsConfig {
  /** Channel Access client settings. */
  ca: CaClientConfig;
  /** Channel Access server settings. */
  cas: CaServerConfig;
  /** PV Access client settings. */
  pva: PvaClientConfig;
  /** PV Access server settings. */
  pvas: PvaServerConfig;
}

/** Environment as a plain map (Deno.env.toObject() or a test's own). */
export type EnvMap = Readonly<Record<string, string | undefined>>;

function str(env: EnvMap, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === "" ? undefined : t;
}

function yesNo(env: EnvMap, name: string, fallback: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return fallback;
  return !/^(no|n|false|0)$/i.test(v);
}

function num(env: EnvMap, name: string, fallback: number, min = -Infinity): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? Math.max(min, n) : fallback;
}

function port(env: EnvMap, name: string, fallback: number): number {
  const n = num(env, name, fallback);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : fallback;
}

/**
 * Parses a whitespace-separated `host[:port]` list.
 * @param text the list, e.g. "127.0.0.1 10.0.0.255:5070"
 * @param defaultPort the port for entries without one
 * @returns the entries in order
 * @example
 * ```ts
 * import { parseAddrList } from "./mod.ts";
 * const list = parseAddrList("127.0.0.1 10.0.0.255:5070", 5064);
 * if (list[0].port !== 5064 || list[1].host !== "10.0.0.255" || list[1].port !== 5070) {
 *   throw new Error();
 * }
 * ```
 */
export function parseAddrList(text: string | undefined, defaultPort: number): AddrEntry[] {
  if (!text) return [];
  const out: AddrEntry[] = [];
  for (const item of text.split(/[\s,]+/)) {
    if (!item) continue;
    const m = /^(.*?)(?::(\d+))?$/.exec(item);
    if (!m || !m[1]) continue;
    const p = m[2] === undefined ? defaultPort : Number(m[2]);
    out.push({ host: m[1], port: p > 0 && p < 65536 ? p : defaultPort });
  }
  return out;
}

function hostList(text: string | undefined): string[] {
  return parseAddrList(text, 0).map((e) => e.host);
}

/**
 * Builds the configuration from an environment map.
 * @param env the environment; pass `Deno.env.toObject()` from a transport or command
 * @returns the typed configuration with EPICS defaults filled in
 * @example
 * ```ts
 * import { epicsConfigFrom } from "./mod.ts";
 * const cfg = epicsConfigFrom({ EPICS_CA_AUTO_ADDR_LIST: "NO", EPICS_CA_ADDR_LIST: "127.0.0.1" });
 * if (cfg.ca.autoAddrList || cfg.ca.addrList[0].host !== "127.0.0.1") throw new Error();
 * if (cfg.ca.serverPort !== 5064 || cfg.pvas.serverPort !== 5075) throw new Error();
 * ```
 */
export function epicsConfigFrom(env: EnvMap): EpicsConfig {
  const caServerPort = port(env, "EPICS_CA_SERVER_PORT", 5064);
  const repeaterPort = port(env, "EPICS_CA_REPEATER_PORT", 5065);
  const caAuto = yesNo(env, "EPICS_CA_AUTO_ADDR_LIST", true);
  const beaconPeriod = num(env, "EPICS_CA_BEACON_PERIOD", 15, 0.1);
  const maxArrayBytes = Math.max(16384, num(env, "EPICS_CA_MAX_ARRAY_BYTES", 16384));
  const casPort = port(env, "EPICS_CAS_SERVER_PORT", caServerPort);
  const ca: CaClientConfig = {
    addrList: parseAddrList(str(env, "EPICS_CA_ADDR_LIST"), caServerPort),
    autoAddrList: caAuto,
    nameServers: parseAddrList(str(env, "EPICS_CA_NAME_SERVERS"), caServerPort),
    connTimeout: num(env, "EPICS_CA_CONN_TMO", 30, 0.1),
    beaconPeriod,
    repeaterPort,
    serverPort: caServerPort,
    maxArrayBytes,
    autoArrayBytes: yesNo(env, "EPICS_CA_AUTO_ARRAY_BYTES", true),
    maxSearchPeriod: num(env, "EPICS_CA_MAX_SEARCH_PERIOD", 300, 60),
  };
  const beaconPort = port(env, "EPICS_CAS_BEACON_PORT", repeaterPort);
  const cas: CaServerConfig = {
    serverPort: casPort,
    intfAddrList: hostList(str(env, "EPICS_CAS_INTF_ADDR_LIST")),
    ignoreAddrList: hostList(str(env, "EPICS_CAS_IGNORE_ADDR_LIST")),
    beaconAddrList: parseAddrList(str(env, "EPICS_CAS_BEACON_ADDR_LIST"), beaconPort),
    autoBeaconAddrList: yesNo(env, "EPICS_CAS_AUTO_BEACON_ADDR_LIST", caAuto),
    beaconPeriod: num(env, "EPICS_CAS_BEACON_PERIOD", beaconPeriod, 0.1),
    beaconPort,
    maxArrayBytes,
    autoArrayBytes: ca.autoArrayBytes,
  };
  const pvaBroadcast = port(env, "EPICS_PVA_BROADCAST_PORT", 5076);
  const pvaServerPort = port(env, "EPICS_PVA_SERVER_PORT", 5075);
  const pvaAuto = yesNo(env, "EPICS_PVA_AUTO_ADDR_LIST", true);
  const pva: PvaClientConfig = {
    addrList: parseAddrList(str(env, "EPICS_PVA_ADDR_LIST"), pvaBroadcast),
    autoAddrList: pvaAuto,
    nameServers: parseAddrList(str(env, "EPICS_PVA_NAME_SERVERS"), pvaServerPort),
    broadcastPort: pvaBroadcast,
    serverPort: pvaServerPort,
    connTimeout: num(env, "EPICS_PVA_CONN_TMO", 30, 0.1),
  };
  const pvasBroadcast = port(env, "EPICS_PVAS_BROADCAST_PORT", pvaBroadcast);
  const pvas: PvaServerConfig = {
    serverPort: port(env, "EPICS_PVAS_SERVER_PORT", pvaServerPort),
    broadcastPort: pvasBroadcast,
    intfAddrList: hostList(str(env, "EPICS_PVAS_INTF_ADDR_LIST")),
    // As pvxs: beacons go where searches would (EPICS_PVA_ADDR_LIST) unless the server
    // has its own list, and entries without a port use the server's UDP port.
    beaconAddrList: parseAddrList(
      str(env, "EPICS_PVAS_BEACON_ADDR_LIST") ?? str(env, "EPICS_PVA_ADDR_LIST"),
      pvasBroadcast,
    ),
    autoBeaconAddrList: yesNo(env, "EPICS_PVAS_AUTO_BEACON_ADDR_LIST", pvaAuto),
    beaconPeriod: num(env, "EPICS_PVAS_BEACON_PERIOD", 15, 0.1),
    connTimeout: pva.connTimeout,
  };
  return { ca, cas, pva, pvas };
}

/**
 * Reads the configuration from the process environment. Without env permission the
 * EPICS defaults apply.
 * @returns the typed configuration
 * @example
 * ```ts
 * import { readEpicsConfig } from "./mod.ts";
 * // Without --allow-env the EPICS defaults apply.
 * if (readEpicsConfig().ca.repeaterPort <= 0) throw new Error();
 * ```
 */
export function readEpicsConfig(): EpicsConfig {
  let env: EnvMap = {};
  try {
    env = Deno.env.toObject();
  } catch {
    // No --allow-env: run with the defaults.
  }
  return epicsConfigFrom(env);
}
