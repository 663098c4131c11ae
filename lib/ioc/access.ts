/**
 * Access security at run time, as asLib with asCa runs it in an IOC: the INPA..INPL of each
 * ASG are monitored (records of this IOC directly, other PVs through CA links), an input
 * counts as bad while disconnected or in INVALID alarm, and each change of an input
 * recomputes the rights of the group's clients: the database tells its access listeners
 * (CA then re-sends ACCESS_RIGHTS for channels whose rights changed). `reload` replaces the
 * rules (asInit after asSetFilename), telling every client.
 * @module
 */

import { accessFor, type Acf } from "./_parse.ts";
import type { AccessCheck, IocDatabase, RemoteLink, RemoteLinkFactory } from "./database.ts";

const INVALID = 3;

interface Input {
  pv: string;
  value: number | undefined;
  stop: () => void;
}

/** The running rules of one ACF: {@link check} is the database's access check. */
export class AccessSecurity {
  #acf: Acf;
  #db: IocDatabase;
  #remote: RemoteLinkFactory | undefined;
  #inputs = new Map<string, (Input | undefined)[]>();
  #started = false;

  /**
   * @param acf the parsed rules
   * @param db the database whose records the rules guard (and whose records inputs may name)
   * @param remote CA links for inputs that are not records of this database
   */
  constructor(acf: Acf, db: IocDatabase, remote?: RemoteLinkFactory) {
    this.#acf = acf;
    this.#db = db;
    this.#remote = remote;
  }

  /** The check to give {@link IocDatabase.setAccess}. */
  readonly check: AccessCheck = (asg, asl, user, host) => {
    const group = this.#acf.asgs.has(asg) ? asg : "DEFAULT";
    const values = this.#inputs.get(group)?.map((i) => i?.value);
    return accessFor(this.#acf, asg, asl, user, host, values);
  };

  /** The values of a group's inputs now (undefined: bad or not connected). */
  inputs(asg: string): (number | undefined)[] {
    return this.#inputs.get(asg)?.map((i) => i?.value) ?? [];
  }

  /** Connects the inputs (asCaStart, at iocInit). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const [name, g] of this.#acf.asgs) {
      this.#inputs.set(name, g.inputs.map((pv) => pv ? this.#connect(name, pv) : undefined));
    }
  }

  /**
   * Replaces the rules (asInit): the inputs are connected again and every client's rights
   * recomputed.
   * @param acf the new rules
   */
  reload(acf: Acf): void {
    const wasStarted = this.#started;
    this.stop();
    this.#acf = acf;
    if (wasStarted) this.start();
    this.#db.accessChanged();
  }

  /** Disconnects the inputs (asCaStop). */
  stop(): void {
    for (const list of this.#inputs.values()) for (const i of list) i?.stop();
    this.#inputs.clear();
    this.#started = false;
  }

  #changed(asg: string): void {
    this.#db.accessChanged(asg, (n) => this.#acf.asgs.has(n));
  }

  #connect(asg: string, pv: string): Input {
    const input: Input = { pv, value: undefined, stop: () => {} };
    const set = (v: number | undefined) => {
      if (Object.is(v, input.value)) return;
      input.value = v;
      this.#changed(asg);
    };
    let local: ReturnType<IocDatabase["resolve"]> | undefined;
    try {
      local = this.#db.resolve(pv);
    } catch {
      local = undefined;
    }
    if (local) {
      const [rec, field] = local;
      const read = () => {
        const v = rec.f[field];
        const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
        return (rec.f.SEVR as number) >= INVALID ? undefined : n;
      };
      input.value = read();
      const stopValue = this.#db.watch(rec, field, () => set(read()));
      const stopSevr = field === "SEVR" ? () => {} : this.#db.watch(rec, "SEVR", () => set(read()));
      input.stop = () => {
        stopValue();
        stopSevr();
      };
      return input;
    }
    if (!this.#remote) return input;
    let link: RemoteLink | undefined = undefined;
    const update = () => {
      const got = link?.connected ? link.get() : undefined;
      if (!got || got.severity >= INVALID) return set(undefined);
      const v = got.value;
      const one = typeof v === "object" ? (v as ArrayLike<number>)[0] : v;
      set(Number(one));
    };
    link = this.#remote(pv, update);
    input.stop = () => link?.close();
    return input;
  }
}
