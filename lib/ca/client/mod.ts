/**
 * The Channel Access client.
 *
 * Two levels:
 *
 * - **One-call functions** in the spirit of pyepics, over a shared default context
 *   configured from the environment (EPICS_CA_ADDR_LIST, EPICS_CA_AUTO_ADDR_LIST,
 *   EPICS_CA_NAME_SERVERS, EPICS_CA_CONN_TMO, EPICS_CA_MAX_ARRAY_BYTES, ...):
 *   `caget(name, { asString, count, timeoutSec })`, `caput(name, value, { wait })`,
 *   `cainfo(name)`, `camonitor(name, callback)` and the {@link PV} class (get/put,
 *   `value`, `charValue`, callbacks, connection callbacks, automatic monitor, control
 *   metadata, `close()`). Call `closeDefaultContext()` when done.
 * - **Context and channels**: `new CaContext({ config, logger, user, host, repeater })`,
 *   `ctx.channel(name, { priority })` returns a {@link CaChannel} with `state`,
 *   `nativeType`, `count`, `access`, `host`, `serverMinor`, `connected(timeoutSec)`,
 *   `onConnection(cb)`, `onAccessRights(cb)`, `get({ dbrType, count, timeoutSec })`,
 *   `put(value, { dbrType, wait, timeoutSec })`, `subscribe({ dbrType, count, mask }, cb)`
 *   and `close()`. Channels created in one turn of the event loop share search
 *   datagrams; channels on one server share one virtual circuit; after a server goes
 *   away channels reconnect and subscriptions resume by themselves.
 * - **Many channels at once**: `ctx.waitConnected(channels, timeoutSec, signal)` and
 *   `ctx.getMany(channels, { dbrType, count, timeoutSec })` wait for and read a whole
 *   batch with one promise and one timeout, no callback or promise per channel; use
 *   them for thousands of PVs. Every timeout of a context shares one timer, and closing
 *   a context drops its circuits rather than clearing channels one by one.
 *
 * Errors: `ChannelNotFoundError` (no server answered within the timeout),
 * `TimeoutError`, `CaStatusError` (carries the ECA code), `DisconnectedError`
 * (the circuit went away while an operation was in flight), all from lib/core/errors.ts.
 *
 * @example
 * ```ts ignore
 * import { caget, caput, closeDefaultContext } from "./mod.ts";
 * await caput("T:ao", 2.5, { wait: true });
 * console.log(await caget("T:ao"));
 * await closeDefaultContext();
 * ```
 * @module
 */
export { CaContext } from "./context.ts";
export type { CircuitLossReason } from "./circuit.ts";
export type { CaContextOptions } from "./context.ts";
export { CaChannel, Subscription } from "./channel.ts";
export type {
  AccessRights,
  ChannelData,
  ChannelState,
  MonitorUpdate,
  SubscribeOptions,
} from "./channel.ts";
export { PV, valueToString } from "./pv.ts";
export type { PvCallback, PvInfo, PVOptions, PvUpdate, PvValueOut } from "./pv.ts";
export {
  caget,
  cainfo,
  camonitor,
  camonitorClear,
  caput,
  closeDefaultContext,
  configureDefaultContext,
  defaultContext,
  getPV,
} from "./api.ts";
export type { CagetOptions } from "./api.ts";
export { preparePut } from "./put_values.ts";
export type { PreparedPut, PutValue } from "./put_values.ts";
export { ecaName } from "./eca_names.ts";
