/**
 * Small IPv4 helpers shared by the clients and servers of both protocols.
 * @module
 */

/**
 * Parses dotted-quad IPv4 text into a 32-bit number.
 * @param ip e.g. "10.0.0.1"
 * @returns the address as an unsigned 32-bit number, or 0 when it is not IPv4
 * @example
 * ```ts
 * import { ipv4ToU32 } from "./net.ts";
 * if (ipv4ToU32("127.0.0.1") !== 0x7f000001) throw new Error();
 * ```
 */
export function ipv4ToU32(ip: string): number {
  const p = ip.split(".").map(Number);
  if (p.length !== 4 || p.some((x) => !(Number.isInteger(x) && x >= 0 && x <= 255))) return 0;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/**
 * Formats a 32-bit number as dotted-quad IPv4 text.
 * @param n the address
 * @returns e.g. "10.0.0.1"
 */
export function u32ToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * The broadcast address of an interface.
 * @param address the interface's IPv4 address
 * @param netmask its netmask
 * @returns the directed broadcast address
 * @example
 * ```ts
 * import { broadcastOf } from "./net.ts";
 * if (broadcastOf("192.168.1.7", "255.255.255.0") !== "192.168.1.255") throw new Error();
 * ```
 */
export function broadcastOf(address: string, netmask: string): string {
  const a = ipv4ToU32(address);
  const m = ipv4ToU32(netmask);
  return u32ToIpv4(((a & m) | (~m >>> 0)) >>> 0);
}

/**
 * Broadcast addresses of this host's non-loopback IPv4 interfaces, optionally only of the
 * listed interface addresses (as EPICS_CAS_INTF_ADDR_LIST restricts them). Needs the
 * `sys` permission; without it the list is empty.
 * @param only interface addresses to keep (empty or containing 0.0.0.0: all)
 * @returns the distinct broadcast addresses
 */
export function broadcastAddresses(only: readonly string[] = []): string[] {
  const out = new Set<string>();
  let ifs: Deno.NetworkInterfaceInfo[] = [];
  try {
    ifs = Deno.networkInterfaces();
  } catch {
    return [];
  }
  const all = only.length === 0 || only.includes("0.0.0.0");
  for (const i of ifs) {
    if (i.family !== "IPv4" || i.address.startsWith("127.")) continue;
    if (!all && !only.includes(i.address)) continue;
    out.add(broadcastOf(i.address, i.netmask));
  }
  return [...out];
}

/**
 * Whether an error says the address is already in use.
 * @param e the caught error
 * @returns true for Deno.errors.AddrInUse
 */
export function isAddrInUse(e: unknown): boolean {
  return e instanceof Deno.errors.AddrInUse;
}
