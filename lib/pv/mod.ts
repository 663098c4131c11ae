/**
 * The PV model shared by the CA and PVA servers.
 * @module
 */
export * from "./types.ts";
export * from "./coerce.ts";
export * from "./shared_pv.ts";
export * from "./provider.ts";
