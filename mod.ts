/**
 * epics-ts: EPICS Channel Access and PV Access in pure TypeScript for Deno.
 *
 * Import this module in scripts to host PVs (`serve`, `SharedPV`) and, as they arrive,
 * to talk to PVs as a client.
 * @module
 */
export * from "./lib/core/mod.ts";
