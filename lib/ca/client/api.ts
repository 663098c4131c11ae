/**
 * One-call Channel Access functions in the spirit of pyepics: `caget`, `caput`,
 * `cainfo`, `camonitor`, over one shared default context and a cache of PV objects,
 * so repeated calls for a name reuse its connection.
 * @module
 */

import type { DbrMeta } from "../proto/dbr_types.ts";
import { DBR_TYPES } from "../proto/dbr.ts";
import { defaultContext, onDefaultContextClose } from "./default_context.ts";
import type { PutValue } from "./put_values.ts";
import { PV, type PvCallback, type PVOptions, type PvValueOut } from "./pv.ts";

export { closeDefaultContext, configureDefaultContext, defaultContext } from "./default_context.ts";

const cache = new Map<string, PV>();
onDefaultContextClose(() => cache.clear());

/**
 * A cached PV object for a name, created on first use (pyepics get_pv).
 * @param name the PV name
 * @param opts PV options for a new PV (callbacks are added to an existing one)
 * @returns the PV
 */
export function getPV(name: string, opts: Omit<PVOptions, "context"> = {}): PV {
  let pv = cache.get(name);
  if (!pv) {
    pv = new PV(name, { ...opts, context: defaultContext() });
    cache.set(name, pv);
  } else if (opts.callback) pv.addCallback(opts.callback);
  return pv;
}

/** Options of {@link caget}. */
export interface CagetOptions {
  /** Return text: enum state names, numbers with their precision, char arrays as strings. */
  asString?: boolean;
  /** Elements to read (default: all). */
  count?: number;
  /** Seconds to wait for connection and data (default 5). */
  timeoutSec?: number;
  /** Read fresh from the server instead of the monitored value (default false). */
  fresh?: boolean;
}

/**
 * Reads a PV's value.
 * @param name the PV name
 * @param opts text form, count, timeout
 * @returns the value: a number or string for one element, an array otherwise
 * @throws {ChannelNotFoundError} when no server has the PV
 * @throws {TimeoutError} / {CaStatusError} when the read fails
 * @example
 * ```ts ignore
 * import { caget } from "./api.ts";
 * console.log(await caget("T:ai"), await caget("T:mbbi", { asString: true }));
 * ```
 */
export async function caget(name: string, opts: CagetOptions = {}): Promise<PvValueOut> {
  const pv = getPV(name);
  return await pv.get({
    asString: opts.asString,
    count: opts.count,
    timeoutSec: opts.timeoutSec,
    useMonitor: !opts.fresh,
  });
}

/**
 * Writes a PV.
 * @param name the PV name
 * @param value number, text, array, or typed values
 * @param opts `wait` for completion (WRITE_NOTIFY); timeout in seconds (default 5, 60 with wait)
 * @throws {ChannelNotFoundError} / {TimeoutError} / {CaStatusError} when the put fails
 * @example
 * ```ts ignore
 * import { caput } from "./api.ts";
 * await caput("T:ao", 1.5, { wait: true });
 * ```
 */
export async function caput(
  name: string,
  value: PutValue,
  opts: { wait?: boolean; timeoutSec?: number } = {},
): Promise<void> {
  const pv = getPV(name);
  const t = opts.timeoutSec ?? (opts.wait ? 60 : 5);
  await pv.channel.connected(t);
  await pv.put(value, { wait: opts.wait, timeoutSec: t });
}

function fmtMeta(meta: DbrMeta | undefined): string[] {
  if (!meta) return [];
  const out: string[] = [];
  if (meta.units !== undefined) out.push(`   units      = ${meta.units}`);
  if (meta.precision !== undefined) out.push(`   precision  = ${meta.precision}`);
  if (meta.enumStrings) {
    out.push(`   enum strings:`);
    meta.enumStrings.forEach((s, i) => out.push(`       ${i} = ${s}`));
  }
  const limits: [keyof DbrMeta, string][] = [
    ["upperDispLimit", "upper_disp_limit"],
    ["lowerDispLimit", "lower_disp_limit"],
    ["upperAlarmLimit", "upper_alarm_limit"],
    ["upperWarningLimit", "upper_warning_limit"],
    ["lowerWarningLimit", "lower_warning_limit"],
    ["lowerAlarmLimit", "lower_alarm_limit"],
    ["upperCtrlLimit", "upper_ctrl_limit"],
    ["lowerCtrlLimit", "lower_ctrl_limit"],
  ];
  for (const [k, label] of limits) {
    if (meta[k] !== undefined) out.push(`   ${label.padEnd(19)} = ${meta[k]}`);
  }
  return out;
}

/**
 * Describes a PV as text: value, type, count, host, access, alarm, time stamp and
 * control metadata (pyepics cainfo).
 * @param name the PV name
 * @param opts timeout in seconds (default 5)
 * @returns the description, several lines
 */
export async function cainfo(name: string, opts: { timeoutSec?: number } = {}): Promise<string> {
  const pv = getPV(name);
  const i = await pv.info(opts.timeoutSec ?? 5);
  if (!i.connected) return `== ${name}  (not connected) ==`;
  const timeType = DBR_TYPES[pv.channel.nativeType + 14]?.name.replace(/^DBR_/, "") ?? "";
  const lines = [
    `== ${name}  (${timeType.toLowerCase()}) ==`,
    `   value      = ${i.charValue}`,
    `   count      = ${i.count}`,
    `   type       = ${i.nativeType}`,
    `   host       = ${i.host}`,
    `   access     = ${i.access}`,
    `   status     = ${i.status}`,
    `   severity   = ${i.severity}`,
    `   timestamp  = ${
      i.timestamp === undefined ? "" : new Date(i.timestamp * 1000).toISOString()
    }`,
    ...fmtMeta(i.meta),
  ];
  return lines.join("\n");
}

/**
 * Calls `callback` with the current value (when known) and every new value of a PV until the returned function is called.
 * @param name the PV name
 * @param callback called with each update (value, charValue, alarm, time stamp)
 * @returns a function that stops this monitor
 * @example
 * ```ts ignore
 * import { camonitor } from "./api.ts";
 * const stop = camonitor("T:ai", (u) => console.log(u.pvname, u.charValue));
 * ```
 */
export function camonitor(name: string, callback: PvCallback): () => void {
  const pv = getPV(name);
  const idx = pv.addCallback(callback);
  // Like a fresh monitor, start with the current value when it is already known.
  const now = pv.update;
  if (now) {
    queueMicrotask(() => {
      try {
        callback(now);
      } catch {
        // A failing user callback must not break the caller.
      }
    });
  }
  return () => pv.removeCallback(idx);
}

/**
 * Stops every monitor callback of a PV (pyepics camonitor_clear).
 * @param name the PV name
 */
export function camonitorClear(name: string): void {
  cache.get(name)?.clearCallbacks();
}
