/**
 * Shared foundations: configuration, time, alarms, bytes, errors, logging.
 * @module
 */
export * from "./errors.ts";
export * from "./time.ts";
export * from "./alarm.ts";
export * from "./bytes.ts";
export * from "./env.ts";
export * from "./log.ts";
export * from "./net.ts";
export * from "./macros.ts";
export * from "./version.ts";
