/**
 * `iointr` for device modules: forwards to the running IOC's tsdev context when there is
 * one, and does nothing otherwise. Deliberately free of imports, so a device module that
 * uses it loads nothing else.
 * @module
 */

/** The key under which the running IOC's `iointr` is published on globalThis. */
export const IOINTR_HOOK: unique symbol = Symbol.for("epics-ts.tsdev.iointr") as never;

/**
 * Pushes a value to the I/O Intr records subscribed to `name` when running inside a
 * softioc with tsdev records; does nothing elsewhere, so device modules run and are
 * tested on their own.
 * @param name the interrupt name the records use (`iointr('name')` in their INP)
 * @param value the value (leave out to read the last value, as records do)
 * @returns the value pushed to the running record, or undefined
 * @example
 * ```ts
 * import { iointr } from "./iointr.ts";
 * iointr("bytes_sent", 12); // outside an IOC: no effect
 * ```
 */
export function iointr(name: string, value?: unknown): unknown {
  const hook = (globalThis as Record<PropertyKey, unknown>)[IOINTR_HOOK] as
    | ((n: string, v?: unknown) => unknown)
    | undefined;
  return hook ? hook(name, value) : undefined;
}
