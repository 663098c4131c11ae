/**
 * The Channel Access server.
 * @module
 */
export * from "./server.ts";
export * from "./circuit.ts";
export * from "./projection.ts";
export * from "./search.ts";
