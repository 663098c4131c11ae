/**
 * Helpers of the lib/ioc unit tests: record definitions in one line and a started
 * database that closes itself.
 * @module
 */

import { IocDatabase, type IocDatabaseOptions, type RecordDef } from "./database.ts";

/** A record definition from "t.db" with the given fields. */
export function rec(
  type: string,
  name: string,
  fields: Record<string, string> = {},
  line = 1,
): RecordDef {
  return {
    type,
    name,
    fields: Object.entries(fields).map(([n, v]) => ({ name: n, value: v, file: "t.db", line })),
    infos: [],
    aliases: [],
    file: "t.db",
    line,
  };
}

/** A database past iocInit with a fixed clock, collecting its warnings; `using` closes it. */
export type TestIoc = IocDatabase & Disposable & { warnings: string[] };

/** Loads the records, runs iocInit and returns the database (load errors throw). */
export function startIoc(defs: RecordDef[], options: IocDatabaseOptions = {}): TestIoc {
  const warnings: string[] = [];
  const db = new IocDatabase({ clock: () => 1e12, warn: (m) => warnings.push(m), ...options });
  const errors = db.load(defs);
  if (errors.length) throw errors[0];
  db.init();
  return Object.assign(db, { [Symbol.dispose]: () => db.close(), warnings });
}
