/**
 * The Web Worker side of `tsdevImport(file, "worker")`: imports the module, then runs its
 * exported functions on request and posts back results (or error messages). `iointr`
 * calls inside the worker are forwarded to the IOC.
 * @module
 */

/// <reference lib="deno.worker" />

const IOINTR_HOOK = Symbol.for("epics-ts.tsdev.iointr");
const g = globalThis as unknown as Record<PropertyKey, unknown>;
const forward = (name: string, value?: unknown) => {
  if (value !== undefined) self.postMessage({ iointr: String(name), value });
  return undefined;
};
g[IOINTR_HOOK] = forward;
g.iointr = forward;

// deno-lint-ignore no-explicit-any
let mod: Record<string, any> = {};

self.onmessage = async (ev: MessageEvent) => {
  const m = ev.data;
  if (m.import !== undefined) {
    try {
      mod = await import(m.import);
      const names = Object.keys(mod).filter((k) => typeof mod[k] === "function");
      self.postMessage({ ready: names });
    } catch (e) {
      self.postMessage({ failed: `Cannot import ${m.import}: ${(e as Error).message}` });
    }
    return;
  }
  try {
    const value = await mod[m.name](...m.args);
    self.postMessage({ id: m.id, value });
  } catch (e) {
    const error = e instanceof Error
      ? { name: e.name, message: e.message }
      : { message: String(e) };
    self.postMessage({ id: m.id, error });
  }
};
