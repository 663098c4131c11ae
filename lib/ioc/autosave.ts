/**
 * synApps autosave inside softioc: the st.cmd commands (`set_requestfile_path`,
 * `set_savefile_path`, `set_pass0_restoreFile`, `set_pass1_restoreFile`,
 * `create_monitor_set`, `create_periodic_set`, `create_triggered_set`,
 * `create_manual_set`, `manual_save`, `fdbrestore`, `makeAutosaveFiles`) over the
 * IOC's own database, with synApps' `.sav`/`.savB` files (lib/autosave), so an IOC moves
 * between synApps and softioc either way.
 *
 * - Pass 0 runs before record initialisation: the values are put as .db field values
 *   are (no processing, no arrays), so init_record sees them (an ao's VAL becomes OVAL).
 * - Pass 1 runs after init_record, before scans start and PINI: dbPut, no processing,
 *   arrays included.
 * - Save sets start after iocInit; each writes `<request file name>.sav` in the save
 *   path, the previous good file kept as `.savB`.
 * @module
 */

import { isAbsolute, join } from "node:path";
import {
  checkSav,
  parseSav,
  type SavDocument,
  type SavEntry,
  type SavKind,
} from "../autosave/sav.ts";
import { parseReq } from "../autosave/req.ts";
import type { PvSource, ReadOutcome, WriteOutcome } from "../autosave/pv_source.ts";
import type { SavRecord } from "../autosave/sav.ts";
import { type SaveReport, SaveSet, type SaveTrigger } from "../autosave/save_set.ts";
import type { IocDatabase } from "./database.ts";
import type { IocShell } from "./shell.ts";
import type { IocRecord } from "./types.ts";

const KIND_OF_DBF: Readonly<Record<string, SavKind>> = {
  STRING: "string",
  CHAR: "char",
  UCHAR: "uchar",
  SHORT: "short",
  USHORT: "ushort",
  LONG: "long",
  ULONG: "ulong",
  INT64: "int64",
  UINT64: "uint64",
  FLOAT: "float",
  DOUBLE: "double",
  ENUM: "enum",
  MENU: "menu",
  DEVICE: "menu",
  INLINK: "string",
  OUTLINK: "string",
  FWDLINK: "string",
};
const KIND_OF_SCALAR: Readonly<Record<string, SavKind>> = {
  string: "string",
  int8: "char",
  uint8: "uchar",
  int16: "short",
  uint16: "ushort",
  int32: "long",
  uint32: "ulong",
  int64: "int64",
  uint64: "uint64",
  float32: "float",
  float64: "double",
};

function splitName(name: string): { pv: string; long: boolean } {
  return name.endsWith("$") ? { pv: name.slice(0, -1), long: true } : { pv: name, long: false };
}

/**
 * synApps writes menu and enum fields as their index. Give those as numbers: softioc reads
 * a numeric text for SCAN as a period in seconds, base as the index.
 */
function savedValue(db: IocDatabase, pv: string, v: string | string[]): string | string[] | number {
  if (Array.isArray(v) || !/^\d+$/.test(v)) return v;
  try {
    const [rec, field] = db.resolve(pv);
    const t = rec.type.byName.get(field)?.type;
    return t === "MENU" || t === "DEVICE" || t === "ENUM" ? Number(v) : v;
  } catch {
    return v;
  }
}

/** The IOC's database as an autosave {@link PvSource}: reads and watches fields directly. */
export class IocPvSource implements PvSource {
  readonly #db: IocDatabase;

  /** Creates the source over a database. */
  constructor(db: IocDatabase) {
    this.#db = db;
  }

  #resolve(name: string): [IocRecord, string] | undefined {
    try {
      return this.#db.resolve(splitName(name).pv);
    } catch {
      return undefined;
    }
  }

  /** Reads the fields now (arrays at their current length). */
  read(names: readonly string[]): Promise<ReadOutcome[]> {
    return Promise.resolve(names.map((name) => this.#readOne(name)));
  }

  #readOne(name: string): ReadOutcome {
    const r = this.#resolve(name);
    // Inside an IOC synApps writes a PV it cannot find as "Search Issued".
    if (!r) return { entry: { name, error: "Search Issued" }, reason: "no such record or field" };
    const [rec, field] = r;
    const spec = rec.type.byName.get(field)!;
    const v = rec.f[field];
    if (spec.type === "NOACCESS") {
      const shape = rec.support.arrayShape?.(rec, field);
      if (shape) {
        const n = Math.min(rec.f[shape.countField] as number, (v as ArrayLike<unknown>).length);
        const arr = v as unknown as { slice(a: number, b: number): SavEntry["value"] };
        return { entry: { name, kind: KIND_OF_SCALAR[shape.scalar], value: arr.slice(0, n) } };
      }
      if (typeof v === "string") return { entry: { name, kind: "string", value: v } };
      return { entry: { name, error: "Not Connected" }, reason: "field cannot be saved" };
    }
    if (spec.isLink) {
      return { entry: { name, kind: "string", value: this.#db.linkText(rec, field) } };
    }
    return {
      entry: { name, kind: KIND_OF_DBF[spec.type] ?? "string", value: v as number | string },
    };
  }

  /** fdbrestore: puts every value as a local client would (records may process). */
  async write(records: readonly SavRecord[]): Promise<WriteOutcome[]> {
    const out: WriteOutcome[] = [];
    for (const r of records) {
      try {
        const pv = splitName(r.name).pv;
        await this.#db.putField(pv, savedValue(this.#db, pv, r.value));
        out.push({ name: r.name, ok: true });
      } catch (e) {
        out.push({ name: r.name, ok: false, reason: (e as Error).message });
      }
    }
    return out;
  }

  /** Calls `onChange` whenever one of the fields is posted. */
  watch(names: readonly string[], onChange: (name: string) => void): () => void {
    const stops: (() => void)[] = [];
    for (const name of names) {
      const r = this.#resolve(name);
      if (r) stops.push(this.#db.watch(r[0], r[1], () => onChange(name)));
    }
    return () => stops.forEach((s) => s());
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Where autosave's files are and what it reads and writes. */
export interface IocAutosaveHost {
  /** Reads a text file (undefined when there is none). */
  readFile(path: string): string | undefined;
  /** Writes a text file (makeAutosaveFiles). */
  writeFile(path: string, text: string): void;
  /** The working directory (relative paths start there). */
  cwd: string;
  /** Messages for the IOC console. */
  log(message: string): void;
}

interface SetDef {
  req: string;
  macros: string;
  trigger: SaveTrigger | "manual";
  set?: SaveSet;
}

/** synApps autosave for one IOC. */
export class IocAutosave {
  readonly #db: IocDatabase;
  readonly #host: IocAutosaveHost;
  readonly #source: IocPvSource;
  readonly #reqPath: string[] = [];
  #savePath: string;
  readonly #pass: [{ file: string; macros: string }[], { file: string; macros: string }[]] = [
    [],
    [],
  ];
  readonly #sets = new Map<string, SetDef>();
  #started = false;

  /** Creates autosave for a database. */
  constructor(db: IocDatabase, host: IocAutosaveHost) {
    this.#db = db;
    this.#host = host;
    this.#savePath = host.cwd;
    this.#source = new IocPvSource(db);
  }

  #abs(path: string): string {
    return isAbsolute(path) ? path : join(this.#host.cwd, path);
  }

  #savFile(file: string): string {
    return isAbsolute(file) ? file : join(this.#savePath, file);
  }

  /** set_requestfile_path(path[, subdir]): adds a folder searched for request files. */
  setRequestfilePath(path: string, subdir = ""): void {
    this.#reqPath.push(this.#abs(join(path, subdir)));
  }

  /** set_savefile_path(path[, subdir]): where save files go. */
  setSavefilePath(path: string, subdir = ""): void {
    this.#savePath = this.#abs(join(path, subdir));
  }

  /** set_pass0_restoreFile / set_pass1_restoreFile. */
  setRestoreFile(pass: 0 | 1, file: string, macros = ""): void {
    this.#pass[pass].push({ file, macros });
  }

  /** Reads a save file with synApps' rule (falls back to `.savB` when not valid). */
  #readSav(path: string): SavDocument | undefined {
    const tryOne = (p: string): SavDocument | string => {
      const text = this.#host.readFile(p);
      if (text === undefined) return `cannot read "${p}"`;
      const c = checkSav(text);
      if (!c.valid) return `"${p}" is not valid: ${c.reason}`;
      return parseSav(text, { file: p });
    };
    const a = tryOne(path);
    if (typeof a !== "string") return a;
    const b = tryOne(`${path}B`);
    if (typeof b !== "string") {
      this.#host.log(`autosave: ${a}; restoring from "${path}B"`);
      return b;
    }
    this.#host.log(`autosave: Cannot restore "${path}": ${a}; ${b}`);
    return undefined;
  }

  /** Pass 0: before record initialisation (call before IocDatabase.init). */
  restorePass0(): void {
    for (const { file } of this.#pass[0]) {
      const doc = this.#readSav(this.#savFile(file));
      if (!doc) continue;
      for (const r of doc.records) {
        if (Array.isArray(r.value)) {
          this.#host.log(
            `autosave: ${file}:${r.line}: ${r.name}: arrays are restored in pass 1 only`,
          );
          continue;
        }
        const { pv } = splitName(r.name);
        const value = savedValue(this.#db, pv, r.value);
        if (typeof value === "number") {
          try {
            this.#db.dbPut(pv, value);
          } catch (e) {
            this.#host.log(`autosave: ${file}:${r.line}: ${r.name}: ${(e as Error).message}`);
          }
          continue;
        }
        const dot = pv.lastIndexOf(".");
        const recName = dot > 0 ? pv.slice(0, dot) : pv;
        const field = dot > 0 ? pv.slice(dot + 1) : "VAL";
        const errors = this.#db.load([{
          type: "*",
          name: recName,
          fields: [{ name: field, value: r.value, file, line: r.line }],
          infos: [],
          aliases: [],
          file,
          line: r.line,
        }]);
        for (const e of errors) this.#host.log(`autosave: ${e.message}`);
      }
    }
  }

  /** Pass 1: after init_record, before scans and PINI (IocDatabase.init's afterRecordInit). */
  restorePass1(): void {
    for (const { file } of this.#pass[1]) {
      const doc = this.#readSav(this.#savFile(file));
      if (!doc) continue;
      for (const r of doc.records) {
        try {
          const pv = splitName(r.name).pv;
          this.#db.dbPut(pv, savedValue(this.#db, pv, r.value));
        } catch (e) {
          this.#host.log(`autosave: ${file}:${r.line}: ${r.name}: ${(e as Error).message}`);
        }
      }
    }
  }

  /** create_*_set: a save set (started at iocInit, or now when the IOC runs). */
  async createSet(req: string, trigger: SaveTrigger | "manual", macros = ""): Promise<void> {
    const def: SetDef = { req, macros, trigger };
    const old = this.#sets.get(req);
    if (old?.set) await old.set.stop({ lastSave: false });
    this.#sets.set(req, def);
    if (this.#started) await this.#start(def);
  }

  #names(def: SetDef): string[] {
    const set = parseReq(def.req, {
      readFile: (p) => this.#host.readFile(p),
      macros: def.macros,
      // The working directory last: makeAutosaveFiles writes there.
      searchPath: [...this.#reqPath, this.#host.cwd],
      allowUndefined: true,
    });
    for (const w of set.warnings) this.#host.log(`autosave: ${w}`);
    return set.entries.map((e) => e.name);
  }

  #saveSet(def: SetDef): SaveSet {
    const base = def.req.replace(/^.*\//, "").replace(/\.req$/, "");
    return new SaveSet(
      { names: this.#names(def), source: this.#source, path: join(this.#savePath, `${base}.sav`) },
      def.trigger === "manual" ? { kind: "periodic", seconds: 0 } : def.trigger,
      {
        onError: (e) => this.#host.log(`autosave: ${def.req}: ${e.message}`),
        onSave: (r: SaveReport) => {
          if (r.failed.length) {
            this.#host.log(`autosave: ${r.path}: ${r.failed.length} PV(s) not saved`);
          }
        },
      },
    );
  }

  async #start(def: SetDef): Promise<void> {
    try {
      def.set = this.#saveSet(def);
    } catch (e) {
      this.#host.log(`autosave: ${def.req}: ${(e as Error).message}`);
      return;
    }
    if (def.trigger !== "manual") await def.set.start();
  }

  /** Starts the save sets (after iocInit). */
  async start(): Promise<void> {
    this.#started = true;
    for (const def of this.#sets.values()) await this.#start(def);
  }

  /** manual_save(req): saves a set now. */
  async manualSave(req: string): Promise<void> {
    const def = this.#sets.get(req);
    if (!def) throw new Error(`No save set for "${req}"`);
    if (!def.set) throw new Error("Save sets start at iocInit");
    await def.set.save();
  }

  /** fdbrestore(file): restores a save file now, with puts that may process records. */
  async fdbrestore(file: string): Promise<void> {
    const doc = this.#readSav(this.#savFile(file));
    if (!doc) throw new Error(`Cannot restore "${file}"`);
    const out = await this.#source.write(doc.records);
    for (const o of out) {
      if (!o.ok) {
        this.#host.log(`autosave: fdbrestore: ${o.name}: ${(o as { error?: string }).error}`);
      }
    }
  }

  /** makeAutosaveFiles(): info_settings.req and info_positions.req from info items. */
  makeAutosaveFiles(): void {
    this.#host.writeFile(this.#abs("info_settings.req"), this.requestFromInfo("autosaveFields"));
    this.#host.writeFile(
      this.#abs("info_positions.req"),
      this.requestFromInfo("autosaveFields_pass0"),
    );
  }

  /** The request file text listing `REC.FIELD` for each field named in `info(name, ...)`. */
  requestFromInfo(infoName: string): string {
    const recs = [...this.#db.records()].sort((a, b) =>
      a.type.name < b.type.name ? -1 : a.type.name > b.type.name ? 1 : 0
    );
    let out = "";
    for (const rec of recs) {
      const info = rec.infos.get(infoName);
      if (info === undefined) continue;
      for (const field of info.trim().split(/\s+/)) {
        if (field === "") continue;
        const real = field.endsWith("$") ? field.slice(0, -1) : field;
        const spec = rec.type.byName.get(real);
        if (spec && (!field.endsWith("$") || spec.type === "STRING" || spec.isLink)) {
          out += `${rec.name}.${field}\n`;
        } else this.#host.log(`makeAutosaveFileFromDbInfo: ${rec.name}.${field} not found`);
      }
    }
    return out;
  }

  /** Stops the save sets, each writing a last save. */
  async stop(): Promise<void> {
    for (const def of this.#sets.values()) {
      if (def.set && def.trigger !== "manual") await def.set.stop();
    }
  }
}

/**
 * Adds synApps' autosave commands to an IOC shell.
 * @param shell the shell
 * @param autosave the IOC's autosave
 */
export function registerAutosaveCommands(shell: IocShell, autosave: IocAutosave): void {
  const num = (s: string | undefined, what: string) => {
    const n = Number(s);
    if (s === undefined || !Number.isFinite(n) || n <= 0) {
      throw new Error(`${what} must be a positive number`);
    }
    return n;
  };
  const need = (args: string[], n: number, usage: string) => {
    if (args.length < n || args.slice(0, n).some((a) => a === "")) {
      throw new Error(`Usage: ${usage}`);
    }
  };
  shell.register("set_requestfile_path", (a) => {
    need(a, 1, "set_requestfile_path path [subdir]");
    autosave.setRequestfilePath(a[0], a[1]);
  });
  shell.register("set_savefile_path", (a) => {
    need(a, 1, "set_savefile_path path [subdir]");
    autosave.setSavefilePath(a[0], a[1]);
  });
  shell.register("set_pass0_restoreFile", (a) => {
    need(a, 1, "set_pass0_restoreFile file [macros]");
    autosave.setRestoreFile(0, a[0], a[1]);
  });
  shell.register("set_pass1_restoreFile", (a) => {
    need(a, 1, "set_pass1_restoreFile file [macros]");
    autosave.setRestoreFile(1, a[0], a[1]);
  });
  shell.register("create_monitor_set", async (a) => {
    need(a, 1, "create_monitor_set file [period] [macros]");
    await autosave.createSet(
      a[0],
      { kind: "onChange", seconds: a[1] ? num(a[1], "period") : 5 },
      a[2],
    );
  });
  shell.register("create_periodic_set", async (a) => {
    need(a, 1, "create_periodic_set file [period] [macros]");
    await autosave.createSet(
      a[0],
      { kind: "periodic", seconds: a[1] ? num(a[1], "period") : 5 },
      a[2],
    );
  });
  shell.register("create_triggered_set", async (a) => {
    need(a, 2, "create_triggered_set file triggerPV [macros]");
    await autosave.createSet(a[0], { kind: "triggered", pv: a[1] }, a[2]);
  });
  shell.register("create_manual_set", async (a) => {
    need(a, 1, "create_manual_set file [macros]");
    await autosave.createSet(a[0], "manual", a[1]);
  });
  shell.register("manual_save", async (a) => {
    need(a, 1, "manual_save file");
    await autosave.manualSave(a[0]);
  });
  shell.register("fdbrestore", async (a) => {
    need(a, 1, "fdbrestore file");
    await autosave.fdbrestore(a[0]);
  });
  shell.register("makeAutosaveFiles", () => autosave.makeAutosaveFiles());
}
