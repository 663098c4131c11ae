/**
 * The PV Access client: {@link PvaClient} for long-lived use (shared connections,
 * monitors that survive server restarts), and one-call helpers that return plain
 * objects (numeric arrays stay typed arrays, viewed on the received bytes).
 *
 * ```ts ignore
 * import { pvget, pvmonitor, pvput } from "./mod.ts";
 * const v = await pvget("T:ai");            // { value: 3.14, alarm: {...}, timeStamp: {...}, ... }
 * await pvget("T:ai", { request: "field(value,alarm)" }); // { value: 3.14, alarm: {...} }
 * await pvput("T:mbbo", "Two");             // enum by choice name (or index)
 * const sub = pvmonitor("T:calc", (v) => console.log(v?.value));
 * await pvrpc("calc:add", { a: 1, b: 2 });  // NTURI arguments in, plain result out
 * await sub.close();
 * ```
 *
 * Plain objects hold only the fields the server sent: with a pvRequest such as
 * `field(value,alarm)` a server may still describe the whole structure, and the fields
 * it did not send are left out rather than filled with zeros ({@link plainObject}).
 *
 * Searching opens a UDP socket with `Deno.listenDatagram`, which Deno keeps behind its
 * unstable "net" API: run scripts that use this client with `--unstable-net` (or put
 * `"unstable": ["net"]` in deno.json). Without it the first operation throws a
 * `LocalProtocolError` saying so.
 * @module
 */

import { PvaClient, type PvaClientOptions, type PvInfo, type Subscription } from "./client.ts";
import type { MonitorEvent, MonitorOptions, OpOptions } from "./client.ts";
import { plainObject } from "./plain.ts";
import { ntUri, type QueryArg } from "./nturi.ts";
import { PvValue } from "../proto/value.ts";
import { EpicsError } from "../../core/errors.ts";
import { TypeCode } from "../proto/typedesc.ts";

export { FIRST_CID, FIRST_IOID, PvaClient } from "./client.ts";
export type {
  BatchOptions,
  MonitorEvent,
  MonitorOptions,
  OpOptions,
  PvaClientOptions,
  PvInfo,
  Subscription,
} from "./client.ts";
export { applyPutArgs, assignField, assignPut, isEnumNode } from "./put_value.ts";
export { ClientConnection } from "./connection.ts";
export { plainObject } from "./plain.ts";
export { ntUri, NTURI_ID } from "./nturi.ts";
export type { QueryArg } from "./nturi.ts";
export type { ClientConnectionOptions, ConnEvent } from "./connection.ts";
export { buildSearchDatagrams, SearchScheduler } from "./search.ts";
export type { SearchEntry, SearchScheduleOptions } from "./search.ts";

/** Options of the one-call helpers: the operation's and the client's. */
export type PvaCallOptions = OpOptions & PvaClientOptions;

/**
 * Reads a PV once and returns its content as a plain object.
 * @param name the channel name
 * @param opts `request` (e.g. `field(value,alarm)`), `timeout` (s), client settings
 * @returns the fields the server sent (with a request: the selected ones) as nested
 *   objects; int64 fields are bigints, numeric arrays typed arrays
 * @throws {ChannelNotFoundError} | {TimeoutError} | {PvaStatusError}
 * @example
 * ```ts ignore
 * const { value } = await pvget("T:ai", { request: "field(value)" });
 * ```
 */
export async function pvget(
  name: string,
  opts: PvaCallOptions = {},
): Promise<Record<string, unknown>> {
  await using c = new PvaClient(opts);
  const v = await c.get(name, opts);
  return plainObject(v, v.changed);
}

/**
 * Writes a PV once.
 * @param name the channel name
 * @param value content for `value` (enums: choice name or index; arrays: array or
 *   typed array), or a plain object of fields such as `{ value: 1, "alarm.severity": 0 }`
 * @param opts `request`, `timeout`, client settings
 * @throws {ChannelNotFoundError} | {TimeoutError} | {PvaStatusError} | {LocalProtocolError}
 * @example
 * ```ts ignore
 * await pvput("T:ao", 6.5);
 * ```
 */
export async function pvput(
  name: string,
  value: unknown,
  opts: PvaCallOptions = {},
): Promise<void> {
  await using c = new PvaClient(opts);
  await c.put(name, value, opts);
}

/**
 * Calls a PVA RPC service once.
 * @param name the channel name
 * @param args the arguments: a plain object of query arguments (sent as an NTURI whose
 *   path is `name`; numbers go as double, bigints as long), or a ready structure value
 * @param opts `request`, `timeout`, client settings
 * @returns the result structure as a plain object, or null when the service returns none
 * @throws {ChannelNotFoundError} | {TimeoutError} | {PvaStatusError} (the service
 *   refused or failed; the message carries the server's) | {LocalProtocolError}
 * @throws {EpicsError} when the result is a bare value rather than a structure (rare:
 *   read those with {@link PvaClient.rpc})
 * @example
 * ```ts ignore
 * const { value } = await pvrpc("calc:add", { a: 1, b: 2 }) ?? {};
 * ```
 */
export async function pvrpc(
  name: string,
  args: PvValue | Record<string, QueryArg> = {},
  opts: PvaCallOptions = {},
): Promise<Record<string, unknown> | null> {
  const value = args instanceof PvValue ? args : ntUri(name, args);
  await using c = new PvaClient(opts);
  const r = await c.rpc(name, value, opts);
  if (r === null) return null;
  if (r.type.code !== TypeCode.STRUCTURE) {
    throw new EpicsError(`Cannot call "${name}": result is a bare ${r.type.typeName}`);
  }
  return plainObject(r, r.changed);
}

/**
 * Reads a PV's type and server.
 * @param name the channel name
 * @param opts `timeout`, client settings
 * @returns the type (see `type.toString()`) and `host:port`
 * @example
 * ```ts ignore
 * console.log((await pvinfo("T:ai")).type.toString());
 * ```
 */
export async function pvinfo(name: string, opts: PvaCallOptions = {}): Promise<PvInfo> {
  await using c = new PvaClient(opts);
  return await c.info(name, opts);
}

/**
 * Monitors a PV: on every update `callback` gets the current content as a plain object
 * (every field the server has sent on this subscription, with the update merged in, as
 * pvxs clients keep it), and `null` while disconnected. The fields this update changed
 * are `event.value.changedPaths()`. After a reconnection the content starts afresh from
 * what the server sends then. The monitor keeps its own client; close it to stop.
 * @param name the channel name
 * @param callback receives the content and the raw event (`kind` "data" or
 *   "disconnected")
 * @param opts `request`, `queueSize`, `pipeline`, client settings
 * @returns the subscription (also `AsyncDisposable`)
 * @example
 * ```ts ignore
 * await using sub = pvmonitor("T:calc", (v) => console.log(v?.value));
 * ```
 */
export function pvmonitor(
  name: string,
  callback: (value: Record<string, unknown> | null, event: MonitorEvent) => void,
  opts: MonitorOptions & PvaClientOptions = {},
): Subscription & AsyncDisposable {
  const c = new PvaClient(opts);
  const sub = c.monitor(name, (ev) => {
    if (ev.kind === "data") callback(plainObject(ev.value, ev.received), ev);
    else if (ev.kind === "disconnected") callback(null, ev);
  }, opts);
  const close = async () => {
    await sub.close();
    await c.close();
  };
  return { close, [Symbol.asyncDispose]: close };
}
