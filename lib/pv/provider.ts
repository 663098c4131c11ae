/**
 * A name -> PV map that both protocol servers look names up in.
 * @module
 */

import { LocalProtocolError } from "../core/errors.ts";
import type { PvProvider, ServedPv } from "./types.ts";

/**
 * A provider over a fixed or growing set of PVs.
 * @example
 * ```ts
 * import { PvMap, SharedPV } from "./mod.ts";
 * const pvs = new PvMap([new SharedPV("a", { type: "int32" })]);
 * pvs.add(new SharedPV("b", { type: "string", value: "hello" }));
 * if (pvs.size !== 2 || pvs.lookup("b")?.snapshot().value !== "hello") throw new Error();
 * if (!pvs.remove("a") || pvs.lookup("a") !== undefined) throw new Error();
 * ```
 */
export class PvMap implements PvProvider {
  #pvs = new Map<string, ServedPv>();

  /** Creates the map, optionally with some PVs. */
  constructor(pvs: Iterable<ServedPv> = []) {
    for (const pv of pvs) this.add(pv);
  }

  /**
   * Adds a PV.
   * @throws LocalProtocolError when the name is taken
   */
  add(pv: ServedPv): void {
    if (this.#pvs.has(pv.name)) throw new LocalProtocolError(`PV "${pv.name}" is already hosted`);
    this.#pvs.set(pv.name, pv);
  }

  /** Removes a PV by name; returns whether it was there. */
  remove(name: string): boolean {
    return this.#pvs.delete(name);
  }

  /** Finds a hosted PV by name. */
  lookup(name: string): ServedPv | undefined {
    return this.#pvs.get(name);
  }

  /** The hosted names. */
  names(): Iterable<string> {
    return this.#pvs.keys();
  }

  /** Number of PVs. */
  get size(): number {
    return this.#pvs.size;
  }
}

/**
 * Whether Channel Access can serve a PV: every kind but tables and structures, which have
 * no DBR form.
 * @param pv the PV
 * @returns false for tables and structures
 */
export function caCanServe(pv: ServedPv): boolean {
  return pv.type.kind !== "table" && pv.type.kind !== "structure";
}

/**
 * The provider as the Channel Access server should see it: PVs CA cannot carry (tables,
 * served over PVA as NTTable only) are absent, so CA searches for them go unanswered and
 * creating a channel fails (CREATE_CH_FAIL) as for any unknown name.
 * @param provider the provider both servers share
 * @returns a view of it without those PVs
 * @example
 * ```ts
 * import { caView, PvMap, SharedPV } from "./mod.ts";
 * const t = new SharedPV("t", { type: "table", table: { columns: [{ name: "x", type: "float64" }] } });
 * const ca = caView(new PvMap([t, new SharedPV("s", { type: "int32" })]));
 * if (ca.lookup("t") !== undefined || [...ca.names()].join() !== "s") throw new Error();
 * ```
 */
export function caView(provider: PvProvider): PvProvider {
  return {
    lookup(name: string): ServedPv | undefined {
      const pv = provider.lookup(name);
      return pv && caCanServe(pv) ? pv : undefined;
    },
    *names(): Iterable<string> {
      for (const n of provider.names()) {
        const pv = provider.lookup(n);
        if (pv && caCanServe(pv)) yield n;
      }
    },
  };
}
