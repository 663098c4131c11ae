/**
 * A name -> PV map that both protocol servers look names up in.
 * @module
 */

import { LocalProtocolError } from "../core/errors.ts";
import type { PvProvider, ServedPv } from "./types.ts";

/** A provider over a fixed or growing set of PVs. */
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
