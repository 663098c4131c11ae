/**
 * Device modules: a TypeScript file that `pvserve ./device.ts` loads. It exports its PV
 * definitions (`pvs`), optionally `prefix`, `setters` (called on puts), `init(host)` and
 * `loop(host)` (the polling loop, usually `for await (const cycle of host.loop())`).
 * @module
 */

import type { PvDefinition, Setter } from "./defs.ts";
import type { Host } from "./host.ts";

/**
 * What a device module exports.
 * @example
 * ```ts
 * import { type DeviceModule, Host } from "./mod.ts";
 * const device: DeviceModule = {
 *   prefix: "dev1:",
 *   pvs: [{ name: "gain", value: 1.0, features: "W" }, { name: "out", value: 0.0 }],
 *   setters: { gain: (v, _pv) => Math.min(v as number, 10) },
 * };
 * using host = new Host({ prefix: device.prefix, pvs: device.pvs, setters: device.setters });
 * await host.pv("gain")!.put(50, { protocol: "local", user: "", host: "" });
 * if (host.value("gain") !== 10) throw new Error();
 * ```
 */
export interface DeviceModule {
  /** The default prefix (`--prefix` overrides it). */
  prefix?: string;
  /** The PV definitions. */
  pvs: readonly PvDefinition[];
  /** Setters by PV name (without the prefix). */
  setters?: Readonly<Record<string, Setter>>;
  /** Called once serving has started, before `loop`. */
  init?: (host: Host) => void | Promise<void>;
  /** The polling loop, run while serving; returning or throwing ends it (a throw is shown on `status`). */
  loop?: (host: Host) => void | Promise<void>;
}

/**
 * Checks that a loaded module has the shape of a {@link DeviceModule}.
 * @param m the module namespace
 * @param file its name, for messages
 * @returns the module as a DeviceModule
 * @throws TypeError saying what is missing or of the wrong kind
 */
export function asDeviceModule(m: Record<string, unknown>, file: string): DeviceModule {
  const problems: string[] = [];
  if (!Array.isArray(m.pvs)) problems.push('it must export "pvs", a list of PV definitions');
  if (m.prefix !== undefined && typeof m.prefix !== "string") {
    problems.push('"prefix" must be text');
  }
  for (const k of ["init", "loop"]) {
    if (m[k] !== undefined && typeof m[k] !== "function") {
      problems.push(`"${k}" must be a function`);
    }
  }
  if (m.setters !== undefined) {
    if (m.setters === null || typeof m.setters !== "object") {
      problems.push('"setters" must map PV names to functions');
    } else {
      for (const [k, v] of Object.entries(m.setters)) {
        if (typeof v !== "function") problems.push(`setter "${k}" is not a function`);
      }
    }
  }
  if (problems.length > 0) {
    throw new TypeError(`Cannot use device module ${file}: ${problems.join("; ")}`);
  }
  return m as unknown as DeviceModule;
}
