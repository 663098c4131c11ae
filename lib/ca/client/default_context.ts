/**
 * The shared default context behind the one-call functions and `new PV(name)`.
 * @module
 */

import { CaContext, type CaContextOptions } from "./context.ts";

let shared: CaContext | undefined;
let sharedOpts: CaContextOptions = {};
const closeHooks = new Set<() => void>();

/**
 * Sets the options of the default context (before it is first used, or after
 * {@link closeDefaultContext}).
 * @param opts config, logger, identity, repeater use
 */
export function configureDefaultContext(opts: CaContextOptions): void {
  sharedOpts = { ...opts };
}

/**
 * The shared context, created on first use from the environment (EPICS_CA_*).
 * @returns the context
 */
export function defaultContext(): CaContext {
  if (!shared) shared = new CaContext(sharedOpts);
  return shared;
}

/**
 * Runs `hook` when the default context is closed (caches drop their PVs).
 * @param hook the function
 */
export function onDefaultContextClose(hook: () => void): void {
  closeHooks.add(hook);
}

/**
 * Closes the default context with every channel and PV on it (a script calls this
 * before exiting; tests call it to release sockets). The next use creates a new one.
 */
export async function closeDefaultContext(): Promise<void> {
  for (const h of closeHooks) h();
  const c = shared;
  shared = undefined;
  await c?.close();
}
