/**
 * The pvserve layer: serve(), PV definitions, the demo.
 * @module
 */
export * from "./serve.ts";
export * from "./spec.ts";
export * from "./demo.ts";
