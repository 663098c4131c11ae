/**
 * The pvserve layer: serve(), PV definitions (TS and YAML), device modules, the Host with
 * its IOC-stats and control PVs and polling loop, put logging, the demo.
 * @module
 */
export * from "./serve.ts";
export * from "./spec.ts";
export * from "./demo.ts";
export * from "./defs.ts";
export * from "./yaml_defs.ts";
export * from "./host.ts";
export * from "./device.ts";
export * from "./putlog.ts";
export * from "./proc_stats.ts";
export * from "./autosave.ts";
export * from "./long_string.ts";
