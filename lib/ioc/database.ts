/**
 * The IOC database and its one processing engine (dbProcess): loading record definitions,
 * iocInit, scanning (Passive, Event, I/O Intr, periodic, PINI, PHAS), links (constant,
 * DB with PP/NPP, MS/NMS/MSS/MSI, CP/CPP), alarms, monitor posting with MDEL/ADEL, forward
 * links, asynchronous processing (PACT) and put completion along FLNK/PP chains.
 * Record types (lib/ioc/records) only compute; everything around them is here.
 * @module
 */

import { stampNow } from "../core/clock.ts";
import { charsToText, cutUtf8 } from "../core/bytes.ts";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { EpicsSyntaxError, PutRefusedError } from "../core/errors.ts";
import { epicsTimeFromMillis, type EpicsTimeStamp } from "../core/time.ts";
import { PvChange } from "../pv/types.ts";
import { compile } from "./_calc.ts";
import { floatText } from "./ca_link.ts";
import { castDouble, type IntegerDbf } from "./_cast.ts";
import { DeviceRegistry } from "./devices.ts";
import { parseCDouble, parseCInteger } from "./_c_number.ts";
import { arrayBytes, memHash } from "./_mem_hash.ts";
import {
  convertPutText,
  cvtDoubleToString,
  DBF_OF_SCALAR,
  FieldValueError,
  formatFieldValue,
  integerFor,
  parseFieldText,
  utf8Length,
} from "./fields.ts";
import { type LinkSpec, parseLink } from "./links.ts";
import { type ConstantDbf, constantDbfOf, constantForField, loadConstant } from "./const_link.ts";
import { type DbState, type JsonLinkDbf, JsonLinkInstance, traceParseLines } from "./json_link.ts";
import {
  type FieldSpec,
  type FieldValue,
  menuChoices,
  recordType,
  type RecordTypeInfo,
  scanPeriod,
} from "./record_type.ts";
import { fieldMeta } from "./provider.ts";
import { RECORD_SUPPORT } from "./records.ts";
import {
  type DeviceSupport,
  type IocRecord,
  type LinkRead,
  NO_RESULT,
  type RecordIo,
  type RecordSupport,
  type Subroutine,
} from "./types.ts";

/** One field of a record definition (the shape lib/ioc/parse produces). */
export interface RecordFieldDef {
  /** Field name. */
  name: string;
  /** Its text. */
  value: string;
  /** File of the definition. */
  file: string;
  /** Line of the definition. */
  line: number;
}

/** A record definition as a .db file gives it (structurally lib/ioc/parse's DbRecordDef). */
export interface RecordDef {
  /** Record type; "*" when re-opening an existing record. */
  type: string;
  /** Record name. */
  name: string;
  /** Field settings, in file order. */
  fields: RecordFieldDef[];
  /** info items. */
  infos: { name: string; value: string; file: string; line: number }[];
  /** alias names given inside the record body. */
  aliases: string[];
  /** File of the definition. */
  file: string;
  /** Line of the definition. */
  line: number;
}

/** An alias definition (`alias(rec, other)` at file level). */
export interface AliasDef {
  /** The record. */
  record: string;
  /** The other name. */
  alias: string;
  /** File. */
  file: string;
  /** Line. */
  line: number;
}

/** An error in a record definition, naming the file and line. */
export class DbDefinitionError extends EpicsSyntaxError {
  /** Creates the error. */
  constructor(message: string, file: string, line: number) {
    super(`Error in "${file}" at line ${line}: ${message}`, { file, line });
    this.name = "DbDefinitionError";
  }
}

/** iocInit refused to start; `errors` lists every problem. */
export class IocInitError extends Error {
  /** Every problem found. */
  readonly errors: readonly Error[];
  /** Creates the error. */
  constructor(errors: readonly Error[]) {
    super(
      `iocInit failed with ${errors.length} error${errors.length === 1 ? "" : "s"}:\n` +
        errors.map((e) => `  ${e.message}`).join("\n"),
    );
    this.name = "IocInitError";
    this.errors = errors;
  }
}

/** Access rights of a client to a record (lib/ioc/parse's accessFor, or anything else). */
export type AccessCheck = (
  asg: string,
  asl: number,
  user: string,
  host: string,
) => "NONE" | "READ" | "WRITE";

/** Who writes: protocol, user and host (put context). */
export interface Writer {
  /** "ca", "pva" or "local" (dbpf, links). */
  protocol: "ca" | "pva" | "local";
  /** User name. */
  user: string;
  /** Host name. */
  host: string;
}

/** How to create an {@link IocDatabase}. */
export interface IocDatabaseOptions {
  /** Extra device supports (registered after the soft ones). */
  devices?: Iterable<DeviceSupport>;
  /** Clock in milliseconds since 1970 (tests inject one). */
  clock?: () => number;
  /** Access security (default: everyone may write). */
  access?: AccessCheck;
  /** Where warnings go (iocInit notes that do not stop the IOC). */
  warn?: (message: string) => void;
  /** Factory of links to PVs not in this database (CA links); absent = such links fail. */
  remoteLinks?: RemoteLinkFactory;
  /** Where console output of links goes (the `trace` JSON link's lines); default: dropped. */
  print?: (text: string) => void;
  /** This host's name: what dbcar shows as the host of CA links to this IOC's own records. */
  hostName?: string;
  /** Subroutines sub records can name in SNAM/INAM (more can be added to `subroutines`). */
  subroutines?: Iterable<[string, Subroutine]>;
  /**
   * Finds a subroutine that is not in `subroutines` (softioc: a function of the user's
   * modules). Asked when a name is looked up: at iocInit and when SNAM is put.
   */
  findSubroutine?: (name: string) => Subroutine | undefined;
}

/** A link to a PV outside the database (CA link). */
export interface RemoteLink {
  /** Whether the remote PV is connected. */
  readonly connected: boolean;
  /** The last value seen (monitored), with its severity. */
  get(): { value: FieldValue; severity: number; status: number } | undefined;
  /** Writes a value (fire and forget); `process` writes 1 to PROC. */
  put(value: FieldValue): void;
  /** Stops the link. */
  close(): void;
  /** Optional: access rights the server gave (dbcar); absent = read and write. */
  readonly access?: { readonly read: boolean; readonly write: boolean };
  /** Optional: the server's host, as dbcar shows it. */
  readonly host?: string;
  /** Optional: how often the link lost its connection (dbcar). */
  readonly disconnects?: number;
  /**
   * Optional: the PV's attributes as dbCa fetches them once per connection (a
   * DBR_CTRL_DOUBLE get; none for DBF_STRING PVs): what dbGetUnits, dbGetPrecision,
   * dbGetGraphicLimits and dbGetAlarmLimits of the link answer. Undefined until they came.
   */
  readonly attributes?: LinkAttributes;
  /** Optional: the link also reads the PV as a string (an ENUM PV read as DBR_STRING; dbcar's IS). */
  readonly readsString?: boolean;
  /**
   * Optional: the value read as a string. For an ENUM PV, dbCa's second (DBR_STRING)
   * monitor, started by the first call (undefined until its first update); else get().
   */
  getString?(): { value: FieldValue; severity: number; status: number } | undefined;
}

/** The attributes of a CA link's PV (dbCa's units, precision, display and alarm limits). */
export interface LinkAttributes {
  units: string;
  precision: number;
  display: readonly [number, number];
  /** LOLO, LOW, HIGH, HIHI (NaN where the PV has none). */
  alarm: readonly [number, number, number, number];
}

/** Creates remote links; `onChange` fires on each monitor update (for CP/CPP links). */
export type RemoteLinkFactory = (
  pv: string,
  onChange: (() => void) | undefined,
) => RemoteLink;

/** Listener of a record field's changes: the DBE mask of the post. */
export type FieldListener = (mask: number) => void;

interface ScanList {
  period: number;
  name: string;
  records: IocRecord[];
  timer?: ReturnType<typeof setInterval>;
  dirty: boolean;
}

const BAD_NAME = /[\s.$"'{}]|^$/;
const SCAN_PASSIVE = 0;
const SCAN_EVENT = 1;
const SCAN_IOINTR = 2;
const MAX_LOCK = 10;
/** Base's callback threads by PRIO (LOW, MEDIUM, HIGH). */
const CALLBACK_THREAD = ["cbLow", "cbMedium", "cbHigh"];
const NO_SEVR = AlarmSeverity.NO_ALARM;
const INVALID = AlarmSeverity.INVALID;

type PutGroup = Set<Promise<void>>;

function byPhas(a: IocRecord, b: IocRecord): number {
  return (a.f.PHAS as number) - (b.f.PHAS as number);
}

function sameValue(a: FieldValue | undefined, b: FieldValue): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (a === undefined || typeof a !== "object" || typeof b !== "object") return false;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function copyValue(v: FieldValue): FieldValue {
  if (typeof v === "object") return v.slice() as FieldValue;
  return v;
}

/** Steps of iocInit others take part in (autosave's restore passes). */
export interface InitHooks {
  /**
   * After every record's init_record and before scans start and PINI records process
   * (autosave's pass 1); puts made here with {@link IocDatabase.dbPut} are not processed.
   */
  afterRecordInit?(): void;
}

/**
 * The record database and processing engine of a soft IOC.
 * @example
 * ```ts
 * import { IocDatabase } from "./database.ts";
 * const db = new IocDatabase();
 * db.load([
 *   { type: "ao", name: "x", fields: [{ name: "FLNK", value: "y", file: "t.db", line: 1 }],
 *     infos: [], aliases: [], file: "t.db", line: 1 },
 *   { type: "ai", name: "y", fields: [{ name: "INP", value: "x", file: "t.db", line: 2 }],
 *     infos: [], aliases: [], file: "t.db", line: 2 },
 * ]);
 * db.init();
 * await db.putField("x", 4);
 * if (db.getField("y") !== 4) throw new Error();
 * db.close();
 * ```
 */
export class IocDatabase implements RecordIo {
  /** The device supports, by DTYP. */
  readonly devices: DeviceRegistry;
  /** Subroutines by name, for sub records' SNAM and INAM (base's registryFunctionAdd). */
  readonly subroutines: Map<string, Subroutine>;
  #records = new Map<string, IocRecord>();
  #names = new Map<string, IocRecord>();
  #order: IocRecord[] = [];
  #entries: { name: string; record: IocRecord }[] = [];
  #clock: () => number;
  #access: AccessCheck | undefined;
  #warn: (m: string) => void;
  readonly #findSubroutine?: (name: string) => Subroutine | undefined;
  #remote: RemoteLinkFactory | undefined;
  #remoteLinks = new Map<string, RemoteLink>();
  #jsonLinks = new Map<string, JsonLinkInstance>();
  #accessListeners = new Map<IocRecord, Set<() => void>>();
  #states = new Map<string, DbState>();
  #print: (text: string) => void;
  /** Whether a TPRO record's processing is under way (its trace lines print). */
  #trace = false;
  /** Who processes now, as TPRO's lines name it. */
  #context = "_main_";
  #hostName: string;
  #listeners = new Map<IocRecord, Map<string, Set<FieldListener>>>();
  #cpTargets = new Map<string, IocRecord[]>();
  #scanLists = new Map<number, ScanList>();
  #events = new Map<string, IocRecord[]>();
  /** Every event name given a list (eventNameToHandle), in the order they were made. */
  #eventNames: string[] = [];
  #ioIntr = new Map<IocRecord, () => void>();
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #group: PutGroup | undefined;
  #pending = new Map<IocRecord, Promise<void>>();
  #initialized = false;
  #closed = false;
  #errors: Error[] = [];

  /** Creates an empty database. */
  constructor(options: IocDatabaseOptions = {}) {
    this.devices = new DeviceRegistry(options.devices ?? []);
    // The servers' time-stamp clock (lib/core/clock.ts), shared with SharedPV.
    this.#clock = options.clock ?? stampNow;
    this.#access = options.access;
    this.#warn = options.warn ?? (() => {});
    this.#remote = options.remoteLinks;
    this.#print = options.print ?? (() => {});
    this.#hostName = options.hostName ?? "localhost";
    this.subroutines = new Map(options.subroutines ?? []);
    this.#findSubroutine = options.findSubroutine;
  }

  /** The subroutine registered under a name, else the one `findSubroutine` finds. */
  subroutine(name: string): Subroutine | undefined {
    return this.subroutines.get(name) ?? this.#findSubroutine?.(name);
  }

  /** Prints a note that does not stop the IOC. */
  warn(message: string): void {
    this.#warn(message);
  }

  /** The TIME of the record a DB link reads; undefined for constant, hardware and CA links. */
  linkTime(rec: IocRecord, field: string): EpicsTimeStamp | undefined {
    const l = rec.links[field];
    if (!l || l.kind !== "pv" || l.process === "CA") return undefined;
    return this.#names.get(l.record)?.time;
  }

  /** Moves a record to another SCAN, updating the scan lists (simulation mode's SSCN swap). */
  setScan(rec: IocRecord, scan: number): void {
    const old = rec.f.SCAN as number;
    if (old === scan) return;
    if (this.#initialized) this.#scanDelete(rec, old, String(rec.f.EVNT));
    rec.f.SCAN = scan;
    if (this.#initialized) this.#scanAdd(rec);
    this.#post(rec, "SCAN", PvChange.VALUE | PvChange.LOG);
  }

  /** Whether iocInit has run. */
  get initialized(): boolean {
    return this.#initialized;
  }

  /** Whether access security rules are loaded (base's records then have an ASP member). */
  get accessActive(): boolean {
    return this.#access !== undefined;
  }

  /**
   * How many listeners watch a record's fields (monitors, CP links, autosave...): what
   * dbpr shows as the length of the record's monitor list, MLIS.
   */
  watcherCount(rec: IocRecord): number {
    let n = 0;
    for (const set of this.#listeners.get(rec)?.values() ?? []) n += set.size;
    return n;
  }

  /** Sets the access security check (an ACF loaded by `-a` or asSetFilename). */
  setAccess(access: AccessCheck | undefined): void {
    this.#access = access;
    this.accessChanged();
  }

  /**
   * Registers a listener told when the access rights to a record's fields may have changed
   * (asLib's client callback): the rules or an input they read changed, or the record's ASG
   * was written. Returns the function that removes it.
   */
  watchAccess(rec: IocRecord, listener: () => void): () => void {
    let set = this.#accessListeners.get(rec);
    if (!set) {
      set = new Set();
      this.#accessListeners.set(rec, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#accessListeners.delete(rec);
    };
  }

  /**
   * Tells the access listeners that rights may have changed: those of records in group
   * `asg` (records naming a group the rules lack use DEFAULT's), or of every record.
   */
  accessChanged(asg?: string, known?: (name: string) => boolean): void {
    for (const [rec, set] of [...this.#accessListeners]) {
      if (asg !== undefined) {
        let g = String(rec.f.ASG || "DEFAULT");
        if (known && !known(g)) g = "DEFAULT";
        if (g !== asg) continue;
      }
      for (const l of [...set]) l();
    }
  }

  /** Records in load order. */
  records(): readonly IocRecord[] {
    return this.#order;
  }

  /** Record names and aliases in the order they were created (dbl lists them so). */
  entries(): readonly { name: string; record: IocRecord }[] {
    return this.#entries;
  }

  /** A record by name or alias. */
  record(name: string): IocRecord | undefined {
    return this.#names.get(name);
  }

  /** Every name (records and aliases). */
  names(): IterableIterator<string> {
    return this.#names.keys();
  }

  // ---------------------------------------------------------------- loading

  /**
   * Adds record definitions (re-opened records merge into the existing one) and aliases.
   * @param defs the records, as parsed from .db files
   * @param aliases file-level aliases
   * @returns the problems found (each names file and line); what is valid is loaded
   */
  load(defs: Iterable<RecordDef>, aliases: Iterable<AliasDef> = []): DbDefinitionError[] {
    const errors: DbDefinitionError[] = [];
    if (this.#initialized) {
      const d = [...defs][0];
      errors.push(
        new DbDefinitionError(
          "Records cannot be loaded after iocInit",
          d?.file ?? "?",
          d?.line ?? 0,
        ),
      );
      return errors;
    }
    for (const def of defs) this.#loadOne(def, errors);
    for (const a of aliases) this.#alias(a.record, a.alias, a.file, a.line, errors);
    this.#errors.push(...errors);
    return errors;
  }

  #loadOne(def: RecordDef, errors: DbDefinitionError[]): void {
    let rec = this.#names.get(def.name);
    if (rec) {
      if (def.type !== "*" && def.type !== rec.type.name) {
        errors.push(
          new DbDefinitionError(
            `Record "${def.name}" of type "${rec.type.name}" redefined with type "${def.type}"`,
            def.file,
            def.line,
          ),
        );
        return;
      }
    } else {
      if (def.type === "*") {
        errors.push(
          new DbDefinitionError(`Record "${def.name}" not found (type "*")`, def.file, def.line),
        );
        return;
      }
      const type = recordType(def.type);
      const support = RECORD_SUPPORT[def.type];
      if (!type || !support) {
        errors.push(
          new DbDefinitionError(`Record type "${def.type}" not found`, def.file, def.line),
        );
        return;
      }
      if (def.name.length > 60 || BAD_NAME.test(def.name)) {
        errors.push(
          new DbDefinitionError(`Bad record name "${def.name}"`, def.file, def.line),
        );
        return;
      }
      this.#addDeviceChoices(type);
      rec = {
        name: def.name,
        type,
        support,
        f: type.newFields(),
        infos: new Map(),
        infoAt: new Map(),
        aliases: [],
        file: def.file,
        line: def.line,
        links: {},
        time: { secPastEpoch: 0, nsec: 0 },
        version: 0,
        pvt: {},
      };
      rec.f.NAME = def.name;
      this.#records.set(def.name, rec);
      this.#names.set(def.name, rec);
      this.#order.push(rec);
      this.#entries.push({ name: def.name, record: rec });
    }
    for (const fd of def.fields) {
      const spec = rec.type.byName.get(fd.name);
      if (!spec) {
        errors.push(
          new DbDefinitionError(
            `Record "${rec.name}": no field "${fd.name}" in record type "${rec.type.name}"`,
            fd.file,
            fd.line,
          ),
        );
        continue;
      }
      try {
        this.#setFromText(rec, spec, fd.value);
      } catch (e) {
        errors.push(
          new DbDefinitionError(
            `Record "${rec.name}" field ${fd.name}: ${(e as Error).message}`,
            fd.file,
            fd.line,
          ),
        );
      }
    }
    for (const i of def.infos) {
      rec.infos.set(i.name, i.value);
      rec.infoAt?.set(i.name, { file: i.file, line: i.line });
    }
    for (const a of def.aliases) this.#alias(rec.name, a, def.file, def.line, errors);
  }

  #addDeviceChoices(type: RecordTypeInfo): void {
    if (!RECORD_SUPPORT[type.name]?.io) return;
    const dtyp = type.byName.get("DTYP");
    const choices = dtyp?.choices as string[] | undefined;
    if (!choices) return;
    for (const d of this.devices.dtypsFor(type.name)) if (!choices.includes(d)) choices.push(d);
  }

  #alias(record: string, alias: string, file: string, line: number, errors: Error[]): void {
    const rec = this.#names.get(record);
    if (!rec) {
      errors.push(
        new DbDefinitionError(`Alias "${alias}": record "${record}" not found`, file, line),
      );
      return;
    }
    const other = this.#names.get(alias);
    if (other) {
      if (other !== rec) {
        errors.push(new DbDefinitionError(`Alias "${alias}" is already a name in use`, file, line));
      }
      return;
    }
    this.#names.set(alias, rec);
    rec.aliases.push(alias);
    this.#entries.push({ name: alias, record: rec });
  }

  #setFromText(rec: IocRecord, spec: FieldSpec, text: string): void {
    if (spec.type === "NOACCESS") {
      throw new FieldValueError(`Field ${spec.name} cannot be set`);
    }
    if (spec.isLink) {
      const t = text.trim();
      const l = parseLink(t, spec.type as JsonLinkDbf);
      // dbLoadRecords parses a JSON link to check it, then frees it (trace links say so).
      if (l.kind === "json") this.#printTrace(traceParseLines(l.link, true));
      rec.f[spec.name] = t;
      return;
    }
    if (spec.special === "SPC_CALC") {
      // dbPut checks an expression field as it loads: a bad one fails the load.
      try {
        compile(text);
      } catch (e) {
        throw new FieldValueError(`"${text}" is not a valid expression: ${(e as Error).message}`);
      }
    }
    rec.f[spec.name] = parseFieldText(spec, text);
    // A value given in the database defines the record (base's dbPut clears UDF for VAL).
    if (spec.name === "VAL") rec.f.UDF = 0;
  }

  /** Adds problems found outside {@link load} (parse errors, missing files): iocInit refuses to start. */
  noteErrors(errors: Iterable<Error>): void {
    this.#errors.push(...errors);
  }

  /**
   * What a link points at, as calcout's INAV..OUTV show it: 0 "Ext PV NC", 1 "Ext PV OK",
   * 2 "Local PV", 3 "Constant".
   */
  linkState(rec: IocRecord, field: string): number {
    const l = rec.links[field];
    if (l?.kind === "json") return this.#jsonLinks.get(`${rec.name}.${field}`)?.linkState ?? 3;
    if (!l || l.kind !== "pv") return 3;
    if (l.process !== "CA" && this.#names.has(l.record)) return 2;
    return this.remoteConnected(rec, field) ? 1 : 0;
  }

  /** What dbcar shows of a record's CA link; undefined when the field has none. */
  remoteInfo(rec: IocRecord, field: string):
    | {
      connected: boolean;
      read: boolean;
      write: boolean;
      host: string;
      disconnects: number;
      readsString: boolean;
    }
    | undefined {
    const l = this.#remoteLinks.get(`${rec.name}.${field}`);
    if (!l) {
      // A CP/CPP link to a record of this IOC is served here without a CA channel; in base
      // it is a CA link like the others, connected in-process with full access.
      const s = rec.links[field];
      if (!this.#initialized || s?.kind !== "pv" || !this.#names.has(s.record)) return undefined;
      if (s.process !== "CP" && s.process !== "CPP") return undefined;
      return {
        connected: true,
        read: true,
        write: true,
        host: this.#hostName,
        disconnects: 0,
        readsString: false,
      };
    }
    return {
      connected: l.connected,
      read: l.access?.read ?? true,
      write: l.access?.write ?? true,
      host: l.host ?? "",
      disconnects: l.disconnects ?? 0,
      readsString: l.readsString ?? false,
    };
  }

  /** The attributes a record's CA link fetched from its PV; undefined when none (yet). */
  remoteAttributes(rec: IocRecord, field: string): LinkAttributes | undefined {
    return this.#remoteLinks.get(`${rec.name}.${field}`)?.attributes;
  }

  /** Whether a record's link to a PV outside the database is connected. */
  remoteConnected(rec: IocRecord, field: string): boolean {
    return this.#remoteLinks.get(`${rec.name}.${field}`)?.connected ?? false;
  }

  // ---------------------------------------------------------------- iocInit

  /**
   * iocInit: links resolved, device supports found, record types initialised, scan lists
   * built, PINI records processed.
   * @throws IocInitError listing every problem (load errors included) when any is found
   */
  init(hooks: InitHooks = {}): void {
    if (this.#initialized) throw new IocInitError([new Error("iocInit has already been run")]);
    const errors: Error[] = [...this.#errors];
    for (const rec of this.#order) {
      const where = (m: string) =>
        new DbDefinitionError(`Record "${rec.name}": ${m}`, rec.file, rec.line);
      for (const spec of rec.type.linkFields) {
        const text = rec.f[spec.name] as string;
        // Empty links are not stored: a missing entry reads as "none".
        if (text === "") continue;
        try {
          const l = parseLink(text, spec.type as JsonLinkDbf);
          if (l.kind === "json") this.#printTrace(traceParseLines(l.link, false));
          if (l.kind !== "none") rec.links[spec.name] = l;
        } catch (e) {
          errors.push(where(`${spec.name}: ${(e as Error).message}`));
        }
      }
      for (const [field, l] of Object.entries(rec.links)) {
        if (l.kind === "pv") {
          const target = this.#names.get(l.record);
          if (target && l.process !== "CA") {
            if (!target.type.byName.has(l.field) && l.field !== "RTYP") {
              errors.push(where(`${field}: record "${l.record}" has no field "${l.field}"`));
            }
          } else if (!this.#remote) {
            this.#warn(`Record "${rec.name}" ${field}: PV "${l.record}" is not in this IOC`);
          }
        }
      }
      const dtypIndex = rec.f.DTYP as number;
      const dtyp = rec.type.byName.get("DTYP")?.choices?.[dtypIndex] ?? "Soft Channel";
      if (rec.support.io) {
        const dev = this.devices.find(rec.type.name, dtyp);
        if (!dev) {
          errors.push(where(`no device support "${dtyp}" for record type ${rec.type.name}`));
        } else rec.dev = dev;
      }
    }
    if (errors.length) throw new IocInitError(errors);
    // dbInitRecordLinks opens JSON links before init_record (calc constants load, states exist).
    for (const rec of this.#order) this.#openJson(rec);
    // A record undefined after loading starts with its UDF alarm in force (decided before
    // init_record, as in base: an aai whose constant INP defines it still starts INVALID).
    for (const rec of this.#order) {
      if (rec.f.UDF) {
        rec.f.STAT = AlarmStatus.UDF;
        rec.f.SEVR = rec.f.UDFS;
      }
    }
    for (const pass of [0, 1] as const) {
      for (const rec of this.#order) {
        try {
          if (pass === 0) this.#initConstants(rec);
          if (pass === 1) this.#reportConstants(rec);
          rec.support.init?.(rec, this, pass);
          if (pass === 1) rec.dev?.init?.(rec, this);
        } catch (e) {
          errors.push(
            new DbDefinitionError(
              `Record "${rec.name}": ${(e as Error).message}`,
              rec.file,
              rec.line,
            ),
          );
        }
      }
    }
    if (errors.length) throw new IocInitError(errors);
    for (const rec of this.#order) this.#linkRemote(rec);
    // init_record of event and calcout records looks up the events they post (VAL, OEVT),
    // by record type then record, before the scan lists are built.
    const byType = [...this.#order].sort((a, b) =>
      a.type.name < b.type.name ? -1 : a.type.name > b.type.name ? 1 : 0
    );
    for (const rec of byType) {
      const posts = POSTED_EVENT[rec.type.name];
      if (posts) this.eventHandle(String(rec.f[posts]));
    }
    this.#initialized = true;
    for (const rec of byType) this.#scanAdd(rec);
    hooks.afterRecordInit?.();
    this.#startScans();
    const pini = this.#order.filter((r) => {
      const p = r.f.PINI as number;
      return p === 1 || p === 2;
    }).sort(byPhas);
    for (const rec of pini) this.process(rec);
    // A CP/CPP link's first monitor update processes its record once, as base's CA links do.
    for (const rec of this.#order) {
      const cp = rec.pvt.cp as Set<string> | undefined;
      if (!cp || cp.size === 0) continue;
      const onlyCpp = [...cp].every((f) =>
        (rec.links[f] as { process?: string }).process === "CPP"
      );
      if (!onlyCpp || (rec.f.SCAN as number) === SCAN_PASSIVE) this.#scanOnce(rec);
    }
  }

  /**
   * Keeps the message of a constant whose load failed until the record's second init pass,
   * where base loads input constants (device init_record), so the messages come in its order.
   */
  #constantError(rec: IocRecord, message: string): void {
    ((rec.pvt.constantErrors ??= []) as string[]).push(message);
  }

  #reportConstants(rec: IocRecord): void {
    const errors = rec.pvt.constantErrors as string[] | undefined;
    if (!errors) return;
    rec.pvt.constantErrors = undefined;
    for (const m of errors) this.#warn(m);
  }

  /** recGblInitConstantLink for input links holding constants. */
  #initConstants(rec: IocRecord): void {
    for (const [field, l] of Object.entries(rec.links)) {
      if (l.kind !== "constant") continue;
      const spec = rec.type.byName.get(field);
      if (!spec || spec.type !== "INLINK") continue;
      const raw = field === "INP" && rec.dev?.dtyp === "Raw Soft Channel" &&
        RAW_LOADS[rec.type.name] !== undefined;
      const into = raw ? "RVAL" : defaultConstantTarget(rec, field);
      if (!into) continue;
      const ts = rec.type.byName.get(into);
      if (!ts) continue;
      if (ts.type === "NOACCESS") {
        if (l.error !== undefined) {
          // dbLoadLinkArray fails: nothing loaded (NORD stays 0), and base names the link.
          this.#constantError(rec, `${l.error}... while parsing link ${rec.name}.${field}`);
          continue;
        }
        const v = Array.isArray(l.value) ? l.value : [l.value];
        // Array fields take their constants in init_record (aSub's A..U by name).
        if (into === "VAL") rec.pvt.constantArray = v;
        else ((rec.pvt.constantArrays ??= {}) as Record<string, unknown[]>)[into] = v;
        continue;
      }
      const dbf = raw ? RAW_LOADS[rec.type.name] : constantLoadType(rec, into, ts.type);
      if (!dbf) continue;
      // A constant base refuses leaves the field as it is.
      const r = loadConstant(l, dbf);
      if (r === undefined) continue;
      if (r.value !== undefined) rec.f[into] = constantForField(r.value, ts.type);
      if (r.failed) {
        this.#constantError(rec, l.error!.replace(/\n$/, ""));
        continue;
      }
      // The soft device supports define VAL by a load; the raw ones leave UDF.
      if (into === "VAL") rec.f.UDF = 0;
    }
  }

  #openJson(rec: IocRecord, only?: string): void {
    for (const [field, l] of Object.entries(rec.links)) {
      if (l.kind !== "json" || (only !== undefined && field !== only)) continue;
      this.#jsonLinks.set(
        `${rec.name}.${field}`,
        new JsonLinkInstance(l.link, {
          state: (name) => this.dbStateCreate(name),
          setSevr: (stat, sevr, msg) => this.setSevr(rec, stat, sevr, msg),
          print: (t) => this.#print(t),
        }),
      );
    }
  }

  #printTrace(text: string): void {
    if (text) this.#print(text);
  }

  /** The opened JSON link of a record field (dbjlr reports it). */
  jsonLink(rec: IocRecord, field: string): JsonLinkInstance | undefined {
    return this.#jsonLinks.get(`${rec.name}.${field}`);
  }

  /** dbStateCreate: the named dbState flag, created (false) when missing. */
  dbStateCreate(name: string): DbState {
    let st = this.#states.get(name);
    if (!st) {
      st = { name, value: false };
      this.#states.set(name, st);
    }
    return st;
  }

  /** dbStateFind: the named flag, if it exists. */
  dbStateFind(name: string): DbState | undefined {
    return this.#states.get(name);
  }

  /** Every dbState flag, in creation order (dbStateShowAll). */
  dbStates(): readonly DbState[] {
    return [...this.#states.values()];
  }

  #linkRemote(rec: IocRecord, only?: string): void {
    for (const [field, l] of Object.entries(rec.links)) {
      if (l.kind !== "pv") continue;
      const local = this.#names.get(l.record);
      if (local && l.process !== "CA") {
        if (l.process === "CP" || l.process === "CPP") {
          const key = `${local.name}.${l.field}`;
          const list = this.#cpTargets.get(key) ?? [];
          list.push(rec);
          this.#cpTargets.set(key, list);
          if (!rec.pvt.cp) rec.pvt.cp = new Set<string>();
          (rec.pvt.cp as Set<string>).add(field);
        }
        continue;
      }
      if (only !== undefined && field !== only) continue;
      const spec = rec.type.byName.get(field);
      if (local) {
        // A CA link to a record of this IOC: base's CA client serves it in-process (dbContext),
        // with no circuit; it is connected at once, with full access.
        this.#remoteLinks.set(`${rec.name}.${field}`, this.#selfLink(rec, local, l, spec?.type));
        continue;
      }
      if (!this.#remote) continue;
      const pv = l.explicitField ? `${l.record}.${l.field}` : l.record;
      const onChange = spec?.type === "INLINK" && (l.process === "CP" || l.process === "CPP")
        ? () => {
          if (l.process === "CP" || (rec.f.SCAN as number) === SCAN_PASSIVE) this.#scanOnce(rec);
        }
        : undefined;
      const target = spec?.type === "FWDLINK" ? (l.explicitField ? pv : `${l.record}.PROC`) : pv;
      this.#remoteLinks.set(`${rec.name}.${field}`, this.#remote(target, onChange));
    }
  }

  #selfLink(
    rec: IocRecord,
    target: IocRecord,
    l: LinkSpec & { kind: "pv" },
    dbf: string | undefined,
  ): RemoteLink {
    const field = dbf === "FWDLINK" && !l.explicitField ? "PROC" : l.field;
    let closed = false;
    const cp = dbf === "INLINK" && (l.process === "CP" || l.process === "CPP");
    const update = () => {
      if (closed) return;
      if (l.process === "CP" || (rec.f.SCAN as number) === SCAN_PASSIVE) this.#scanOnce(rec);
    };
    const unwatch = cp ? this.watch(target, field, update) : undefined;
    // Like any CA monitor, the first update comes once the link is up.
    if (cp) this.after(0, update);
    return {
      connected: true,
      host: this.#hostName,
      disconnects: 0,
      get: () => {
        const v = field === "RTYP" ? target.type.name : target.f[field];
        if (v === undefined) return undefined;
        return { value: v, severity: target.f.SEVR as number, status: target.f.STAT as number };
      },
      getString() {
        const r = this.get();
        const spec = target.type.byName.get(field);
        return r && spec && isFloating(spec, r.value) ? floatText(r) : r;
      },
      put: (value) => {
        // dbCa writes from its own task: the target processes after this record is done.
        queueMicrotask(() => {
          if (!closed) {
            this.putRecordField(target, field, value).catch(() => {
              // A refused CA link put raises no alarm on the writer in base either.
            });
          }
        });
      },
      close: () => {
        closed = true;
        unwatch?.();
      },
    };
  }

  // ---------------------------------------------------------------- scanning

  #scanAdd(rec: IocRecord): void {
    const scan = rec.f.SCAN as number;
    if (scan === SCAN_PASSIVE) return;
    if (scan === SCAN_EVENT) {
      const name = this.eventHandle(String(rec.f.EVNT));
      if (name === undefined) return;
      const list = this.#events.get(name) ?? [];
      list.push(rec);
      list.sort(byPhas);
      this.#events.set(name, list);
      return;
    }
    if (scan === SCAN_IOINTR) {
      if (!rec.dev?.ioIntr) {
        this.#warn(`Record "${rec.name}": I/O Intr not supported by its device support`);
        return;
      }
      this.#ioIntr.set(rec, rec.dev.ioIntr(rec, () => this.#scanOnce(rec)));
      return;
    }
    const choice = menuChoices("menuScan")[scan] ?? "";
    const period = scanPeriod(choice.replace(/ second$/, ""));
    if (period === undefined) return;
    let list = this.#scanLists.get(period);
    if (!list) {
      list = { period, name: choice, records: [], dirty: false };
      this.#scanLists.set(period, list);
      if (this.#initialized && this.#started) this.#startList(list);
    }
    list.records.push(rec);
    list.dirty = true;
  }

  #scanDelete(rec: IocRecord, scan: number, evnt: string): void {
    if (scan === SCAN_EVENT) {
      const name = eventName(evnt);
      const list = name === undefined ? undefined : this.#events.get(name);
      if (list) this.#events.set(name!, list.filter((r) => r !== rec));
      return;
    }
    if (scan === SCAN_IOINTR) {
      this.#ioIntr.get(rec)?.();
      this.#ioIntr.delete(rec);
      return;
    }
    for (const list of this.#scanLists.values()) {
      const i = list.records.indexOf(rec);
      if (i >= 0) list.records.splice(i, 1);
    }
  }

  #started = false;

  #startScans(): void {
    this.#started = true;
    for (const list of this.#scanLists.values()) this.#startList(list);
  }

  #startList(list: ScanList): void {
    list.timer = setInterval(() => {
      if (list.dirty) {
        list.records.sort(byPhas);
        list.dirty = false;
      }
      this.#inContext(`scan-${list.period}`, () => {
        for (const rec of list.records) this.process(rec);
      });
    }, list.period * 1000);
    this.#timers.add(list.timer!);
  }

  #scanOnceQueue: IocRecord[] = [];
  #scanOnceScheduled = false;

  #scanOnce(rec: IocRecord): void {
    if (this.#closed) return;
    this.#scanOnceQueue.push(rec);
    if (this.#scanOnceScheduled) return;
    this.#scanOnceScheduled = true;
    queueMicrotask(() => {
      this.#scanOnceScheduled = false;
      const q = this.#scanOnceQueue;
      this.#scanOnceQueue = [];
      this.#inContext("scanOnce", () => {
        for (const r of q) if (!this.#closed) this.process(r);
      });
    });
  }

  /** Records scanned on a period, by period in seconds (scanppl). */
  periodicLists(): { period: number; name: string; records: readonly IocRecord[] }[] {
    return [...this.#scanLists.values()].sort((a, b) => b.period - a.period).map((l) => {
      if (l.dirty) {
        l.records.sort(byPhas);
        l.dirty = false;
      }
      return { period: l.period, name: l.name, records: l.records };
    });
  }

  /**
   * eventNameToHandle: the event's name as its list is known (blanks trimmed, a number from
   * 1 to 255 as an integer), making the list when there is none; undefined for no event
   * ("", or a number under 1).
   */
  eventHandle(text: string): string | undefined {
    const name = eventName(text);
    if (name !== undefined && !this.#eventNames.includes(name)) this.#eventNames.push(name);
    return name;
  }

  /** The event lists, newest first (as scanpel walks them), with their records by PHAS. */
  eventLists(): { name: string; records: readonly IocRecord[] }[] {
    return [...this.#eventNames].reverse().map((name) => ({
      name,
      records: this.#events.get(name) ?? [],
    }));
  }

  /** post_event: processes the records whose SCAN is Event with this EVNT. */
  postEvent(name: string): void {
    const key = eventName(String(name));
    const list = key === undefined ? undefined : this.#events.get(key);
    if (!list) return;
    // Event scans run on the callback thread of each record's PRIO.
    for (const rec of [...list]) {
      this.#inContext(CALLBACK_THREAD[rec.f.PRIO as number] ?? "cbLow", () => this.process(rec));
    }
  }

  /** Runs `fn` after `seconds`; cancelled by {@link close}. */
  after(seconds: number, fn: () => void): void {
    if (this.#closed) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#closed) fn();
    }, Math.max(0, seconds * 1000));
    this.#timers.add(t);
  }

  /** The IOC clock (ms since 1970). */
  now(): number {
    return this.#clock();
  }

  /** Stops scanning, timers and remote links. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) {
      clearInterval(t);
      clearTimeout(t);
    }
    this.#timers.clear();
    for (const stop of this.#ioIntr.values()) stop();
    this.#ioIntr.clear();
    for (const l of this.#remoteLinks.values()) l.close();
    this.#remoteLinks.clear();
    for (const l of this.#jsonLinks.values()) l.close();
    this.#jsonLinks.clear();
  }

  // ---------------------------------------------------------------- processing

  /**
   * dbProcess: processes one record now (ignoring its SCAN), then its forward link.
   * @param rec the record
   */
  process(rec: IocRecord): void {
    // TPRO: trace this processing and all it processes in turn (base traces the lock set).
    const setTrace = !this.#trace && !!rec.f.TPRO;
    if (setTrace) this.#trace = true;
    try {
      this.#process(rec);
    } finally {
      if (setTrace) this.#trace = false;
    }
  }

  /**
   * Runs `fn` with the context TPRO's lines name: base prints the CA client ("ca:user@host")
   * or the processing thread (_main_, scan-1, cbLow, scanOnce). We run on one thread: the
   * name is that of the thread base would have used.
   */
  #inContext<T>(context: string, fn: () => T): T {
    const prev = this.#context;
    this.#context = context;
    try {
      return fn();
    } finally {
      this.#context = prev;
    }
  }

  #traceLine(text: string): void {
    if (this.#trace) this.#print(`${this.#context}: ${text}\n`);
  }

  #process(rec: IocRecord): void {
    const f = rec.f;
    if (f.PACT) {
      this.#traceLine(`dbProcess of Active '${rec.name}' with RPRO=${f.RPRO}`);
      // Already active: as base's dbProcess, count the attempt (LCNT, a UCHAR, stops counting
      // once in SCAN alarm) and at the 11th, unless already INVALID, raise SCAN/INVALID
      // "Async in progress" and post it with VAL.
      rec.version++;
      if (f.STAT !== AlarmStatus.SCAN) {
        const lcnt = f.LCNT as number;
        f.LCNT = (lcnt + 1) & 0xff;
        if (lcnt >= MAX_LOCK && (f.SEVR as number) < INVALID) {
          this.setSevr(rec, AlarmStatus.SCAN, INVALID, "Async in progress");
          const mask = this.#resetAlarms(rec) | PvChange.VALUE | PvChange.LOG;
          this.#post(rec, "VAL", mask);
        }
      }
      const pending = this.#pending.get(rec);
      if (pending && this.#group) joinGroup(this.#group, pending);
      return;
    }
    f.LCNT = 0;
    // Disable: SDIS read into DISA; DISA == DISV disables.
    const sdis = rec.links.SDIS;
    if (sdis && sdis.kind === "pv") {
      const r = this.getLink(rec, "SDIS", "number");
      // Read as a SHORT (base's cast of a double).
      if (r) f.DISA = castDouble(r.value as number, "SHORT");
    }
    if (f.DISA === f.DISV) {
      this.#traceLine(`dbProcess of Disabled '${rec.name}'`);
      rec.version++;
      // As base's dbProcess: once disabled, nothing more; STAT, SEVR, then VAL are posted
      // (AMSG stays as it was).
      if (f.STAT !== AlarmStatus.DISABLE) {
        f.NSTA = 0;
        f.NSEV = 0;
        f.STAT = AlarmStatus.DISABLE;
        f.SEVR = f.DISS;
        this.#post(rec, "STAT", PvChange.VALUE);
        this.#post(rec, "SEVR", PvChange.VALUE);
        this.#post(rec, "VAL", PvChange.VALUE | PvChange.ALARM);
      }
      return;
    }
    let r: ReturnType<RecordSupport["process"]>;
    this.#traceLine(`dbProcess of '${rec.name}'`);
    try {
      r = rec.support.process(rec, this);
    } catch (e) {
      this.setSevr(rec, AlarmStatus.SOFT, INVALID, (e as Error).message);
      r = undefined;
    }
    if (r instanceof Promise) {
      this.#goAsync(rec, r);
      return;
    }
    if (r === NO_RESULT) rec.version++;
    else this.#finish(rec);
  }

  #goAsync(rec: IocRecord, p: Promise<unknown>): void {
    rec.f.PACT = 1;
    rec.version++;
    const group = this.#group;
    const done = p.then(
      () => undefined,
      (e) => {
        const write = rec.support.io === "output";
        this.setSevr(
          rec,
          write ? AlarmStatus.WRITE : AlarmStatus.READ,
          INVALID,
          (e as Error)?.message ?? String(e),
        );
      },
    ).then(() => {
      if (this.#closed) return;
      const prev = this.#group;
      this.#group = group;
      try {
        let again: ReturnType<RecordSupport["process"]> = undefined;
        try {
          again = rec.support.process(rec, this);
        } catch (e) {
          this.setSevr(rec, AlarmStatus.SOFT, INVALID, (e as Error).message);
        }
        if (again instanceof Promise || again === NO_RESULT) {
          this.#pending.delete(rec);
          rec.f.PACT = 0;
          rec.version++;
          if (again !== NO_RESULT) this.#goAsync(rec, again);
          return;
        }
        this.#finish(rec);
      } finally {
        this.#group = prev;
      }
    });
    this.#pending.set(rec, done);
    if (group) joinGroup(group, done);
  }

  /** After the record type's work: time stamp, alarms, monitors, FLNK, PACT cleared. */
  #finish(rec: IocRecord): void {
    const f = rec.f;
    rec.version++;
    // A record type may skip the time stamp of one processing (pvt.keepTime, mbbo's
    // undefined VAL).
    if (rec.pvt.keepTime) rec.pvt.keepTime = undefined;
    else this.timeStamp(rec);
    const alarmMask = this.#resetAlarms(rec);
    this.#postProcessed(rec, alarmMask);
    f.PACT = 1;
    this.forwardLink(rec, "FLNK");
    f.PACT = 0;
    this.#pending.delete(rec);
    if (f.RPRO) {
      f.RPRO = 0;
      // The reprocessing belongs to the put that asked for it (put-callback waits for it).
      const prev = this.#group;
      this.#group = (rec.pvt.rproGroup as PutGroup | undefined) ?? prev;
      rec.pvt.rproGroup = undefined;
      try {
        this.process(rec);
      } finally {
        this.#group = prev;
      }
    }
  }

  /** recGblGetTimeStamp: TIME now, or TSEL's record's TIME; TSE -2 leaves it to the device. */
  timeStamp(rec: IocRecord): void {
    const tsel = rec.links.TSEL;
    const from = tsel?.kind === "pv" ? this.#names.get(tsel.record) : undefined;
    if (from && from !== rec) rec.time = from.time;
    else if ((rec.f.TSE as number) !== -2) rec.time = epicsTimeFromMillis(this.#clock());
  }

  /** db_post_events of one field, for what a record type posts itself (calcout's DLYA). */
  post(rec: IocRecord, field: string, mask: number, stamp = false): void {
    // Mid-processing: what the field's channels show must be read afresh.
    rec.version++;
    if (stamp) rec.time = epicsTimeFromMillis(this.#clock());
    this.#post(rec, field, mask);
  }

  /**
   * recGblResetAlarms: moves NSTA/NSEV/NAMSG into STAT/SEVR/AMSG and posts them right away,
   * before the record's VAL (as base: SEVR with DBE_VALUE when it changed; STAT and AMSG,
   * and ACKS where it follows, when any of them changed). Returns PvChange.ALARM then.
   */
  #resetAlarms(rec: IocRecord): number {
    const f = rec.f;
    const prevSevr = f.SEVR as number;
    const prevStat = f.STAT as number;
    const sevr = Math.min(f.NSEV as number, INVALID);
    const stat = f.NSTA as number;
    let statMask = 0;
    // Base 7.0.8.1 leaves NAMSG as it is (it is replaced only by a worse alarm's message).
    if (f.NAMSG !== f.AMSG) {
      f.AMSG = f.NAMSG;
      statMask = PvChange.ALARM;
    }
    f.SEVR = sevr;
    f.STAT = stat;
    f.NSEV = 0;
    f.NSTA = 0;
    if (prevSevr !== sevr) {
      statMask = PvChange.ALARM;
      this.#post(rec, "SEVR", PvChange.VALUE);
    }
    if (prevStat !== stat) statMask |= PvChange.VALUE;
    if (!statMask) return 0;
    this.#post(rec, "STAT", statMask);
    this.#post(rec, "AMSG", statMask);
    if (!f.ACKT || sevr >= (f.ACKS as number)) {
      f.ACKS = sevr;
      this.#post(rec, "ACKS", PvChange.VALUE);
    }
    return PvChange.ALARM;
  }

  /** recGblSetSevr. */
  setSevr(rec: IocRecord, status: number, severity: number, message = ""): boolean {
    const f = rec.f;
    if ((f.NSEV as number) < severity) {
      f.NSEV = severity;
      f.NSTA = status;
      f.NAMSG = message;
      return true;
    }
    return false;
  }

  /** Posts VAL by the type's rule and any other watched field that changed. */
  #postProcessed(rec: IocRecord, alarmMask: number): void {
    const f = rec.f;
    let valMask = 0;
    let hashPosted = false;
    const val = f.VAL;
    switch (rec.support.posting) {
      case "deadband": {
        const v = val as number;
        const mlst = f.MLST as number;
        const alst = f.ALST as number;
        if (deadbandExceeded(v, mlst, f.MDEL as number)) {
          valMask |= PvChange.VALUE;
          f.MLST = v;
        }
        if (deadbandExceeded(v, alst, f.ADEL as number)) {
          valMask |= PvChange.LOG;
          f.ALST = v;
        }
        break;
      }
      case "change":
        if (f.MLST !== val) {
          valMask = PvChange.VALUE | PvChange.LOG;
          f.MLST = val;
        }
        break;
      case "always":
        valMask = PvChange.VALUE | PvChange.LOG;
        break;
      case "own":
        // The record type's monitor() decides, VAL included.
        break;
      case "mpst": {
        const mpst = rec.type.byName.get("MPST")?.choices?.[f.MPST as number];
        const apst = rec.type.byName.get("APST")?.choices?.[f.APST as number];
        let changed: boolean;
        if (rec.type.byName.has("HASH")) {
          // waveform, aai, aao: a change is a new epicsMemHash of the NORD elements, computed
          // (and HASH posted when it changed) only for an "On Change" MPST or APST.
          changed = false;
          if (mpst !== "Always" || apst !== "Always") {
            const h = memHash(arrayBytes(val as ArrayLike<unknown>, f.NORD as number));
            changed = h !== f.HASH;
            if (changed) {
              f.HASH = h;
              hashPosted = true;
            }
          }
        } else {
          const last = rec.pvt.lastVal as FieldValue | undefined;
          changed = !sameValue(last, val);
          if (changed) rec.pvt.lastVal = copyValue(val);
        }
        if (mpst === "Always" || changed) valMask |= PvChange.VALUE;
        if (apst === "Always" || changed) valMask |= PvChange.LOG;
        break;
      }
    }
    const cp = this.#cpTargets.size ? this.#cpTargets.get(`${rec.name}.VAL`) : undefined;
    // With posting "own", CP links follow VAL's posts (a CA monitor of DBE_VALUE|DBE_ALARM).
    const own = rec.support.posting === "own";
    if (cp && !own && (valMask | alarmMask)) this.#triggerCp(cp);
    // Only what base's record support posts: VAL and the fields its monitor() names
    // (never MLST, ALST, LALM, ORAW, PVAL, PACT...).
    const post = (field: string, mask: number) => {
      if (!mask) return;
      if (field !== "VAL") this.#post(rec, field, mask);
      else {
        if (own && cp && (mask & (PvChange.VALUE | PvChange.ALARM))) this.#triggerCp(cp);
        this.#postVal(rec, mask);
      }
    };
    const m = { alarm: alarmMask, value: valMask, post };
    if (hashPosted) this.#post(rec, "HASH", PvChange.VALUE);
    if (rec.support.monitor) rec.support.monitor(rec, m);
    else post("VAL", valMask | alarmMask);
  }

  /** Posts VAL (its CP targets were triggered by the posting rule already). */
  #postVal(rec: IocRecord, mask: number): void {
    const set = this.#listeners.get(rec)?.get("VAL");
    if (set) { for (const l of set) l(mask); }
  }

  #triggerCp(list: IocRecord[]): void {
    for (const r of list) {
      const cp = r.pvt.cp as Set<string> | undefined;
      if (!cp) continue;
      let cpp = true;
      for (const field of cp) {
        if (
          r.links[field]?.kind === "pv" && (r.links[field] as { process: string }).process === "CP"
        ) cpp = false;
      }
      if (!cpp || (r.f.SCAN as number) === SCAN_PASSIVE) this.#scanOnce(r);
    }
  }

  #post(rec: IocRecord, field: string, mask: number): void {
    const set = this.#listeners.get(rec)?.get(field);
    if (set) {
      for (const l of set) l(mask);
    }
    if (this.#cpTargets.size && mask & (PvChange.VALUE | PvChange.ALARM)) {
      const cp = this.#cpTargets.get(`${rec.name}.${field}`);
      if (cp) this.#triggerCp(cp);
    }
  }

  /**
   * Alarm acknowledgement (a CA DBR_PUT_ACKT / DBR_PUT_ACKS write, as dbPut does it):
   * "ACKT" sets whether transient alarms need acknowledging (turning it off lowers ACKS
   * to the current severity); "ACKS" clears the unacknowledged severity when `value` is
   * at least ACKS. Each change posts the field and DBE_ALARM to the whole record.
   * `field` is the one the writer's channel names (its ASL decides the access).
   * @throws PutRefusedError when the writer has no write access or puts are disabled
   */
  acknowledgeAlarm(
    rec: IocRecord,
    field: string,
    what: "ACKT" | "ACKS",
    value: number,
    who: Writer,
  ): void {
    if (this.accessFor(rec, field, who) !== "WRITE") {
      throw new PutRefusedError(`No write access to ${rec.name}`, "readonly");
    }
    if (rec.f.DISP && who.protocol !== "local") {
      throw new PutRefusedError(`Puts to ${rec.name} are disabled (DISP)`, "readonly");
    }
    const f = rec.f;
    if (what === "ACKT") {
      if (value === f.ACKT) return;
      f.ACKT = value;
      this.#post(rec, "ACKT", PvChange.VALUE | PvChange.ALARM);
      if (!value && (f.ACKS as number) > (f.SEVR as number)) {
        f.ACKS = f.SEVR;
        this.#post(rec, "ACKS", PvChange.VALUE | PvChange.ALARM);
      }
    } else {
      if (value < (f.ACKS as number)) return;
      f.ACKS = 0;
      this.#post(rec, "ACKS", PvChange.VALUE | PvChange.ALARM);
    }
    const watched = this.#listeners.get(rec);
    if (watched) { for (const set of watched.values()) for (const l of set) l(PvChange.ALARM); }
  }

  /** Posts a property change (DBE_PROPERTY) to every watched field of a record. */
  #postProperty(rec: IocRecord): void {
    const watched = this.#listeners.get(rec);
    if (!watched) return;
    for (const set of watched.values()) for (const l of set) l(PvChange.PROPERTY);
  }

  /**
   * Watches a field: the listener gets the DBE mask of each post.
   * @param rec the record
   * @param field the field name
   * @param listener called per post
   * @returns the function that stops watching
   */
  watch(rec: IocRecord, field: string, listener: FieldListener): () => void {
    let m = this.#listeners.get(rec);
    if (!m) {
      m = new Map();
      this.#listeners.set(rec, m);
    }
    let set = m.get(field);
    if (!set) {
      set = new Set();
      m.set(field, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) m.delete(field);
      if (m.size === 0) this.#listeners.delete(rec);
    };
  }

  // ---------------------------------------------------------------- links

  /** Whether a link field is empty or a constant. */
  isConstantLink(rec: IocRecord, field: string): boolean {
    const l = rec.links[field];
    return !l || l.kind === "none" || l.kind === "constant";
  }

  /** dbGetLink. */
  getLink(
    rec: IocRecord,
    field: string,
    want: "number" | "string" | "array" = "number",
  ): LinkRead | undefined {
    const l = rec.links[field];
    if (l?.kind === "json") {
      const inst = this.#jsonLinks.get(`${rec.name}.${field}`);
      const r = inst?.get(want, want === "array" ? 1 : 0);
      if (!r || r.failed) {
        // dbGetLink: a failing getValue puts the record in LINK/INVALID.
        this.setSevr(rec, AlarmStatus.LINK, INVALID);
        return undefined;
      }
      return r.value === undefined ? undefined : convertRead(r.value, want);
    }
    if (!l || l.kind !== "pv") return undefined;
    const target = l.process === "CA" ? undefined : this.#names.get(l.record);
    if (!target) {
      const remote = this.#remoteLinks.get(`${rec.name}.${field}`);
      const readable = remote?.connected && remote.access?.read !== false;
      // dbCa reads an ENUM PV asked for as a string through a DBR_STRING monitor of its own.
      const got = readable
        ? (want === "string" && remote.getString ? remote.getString() : remote.get())
        : undefined;
      if (!got) return this.#linkFailed(rec, field);
      this.#maximize(rec, l.severity, got.severity, got.status);
      return convertRead(got.value, want) ?? this.#linkFailed(rec, field);
    }
    if (l.process === "PP" && (target.f.SCAN as number) === SCAN_PASSIVE && target !== rec) {
      this.process(target);
    }
    this.#maximize(rec, l.severity, target.f.SEVR as number, target.f.STAT as number);
    const v = l.field === "RTYP" ? target.type.name : target.f[l.field];
    if (v === undefined) return this.#linkFailed(rec, field);
    const spec = target.type.byName.get(l.field);
    if (spec?.type === "MENU" || spec?.type === "DEVICE" || spec?.type === "ENUM") {
      if (want === "string") {
        return { value: enumString(target, l.field, v as number), count: 1 };
      }
    }
    if (
      l.field === "VAL" && (rec.type.name === "bi" || rec.type.name === "mbbi") && want === "number"
    ) {
      // A bi/mbbi VAL read as a number is its index.
    }
    // dbGet of a DOUBLE or FLOAT as a string writes it with the record's precision for
    // that field (get_precision), 6 digits when the record support has none.
    const precision = want === "string" && spec && isFloating(spec, v)
      ? fieldMeta(this, target, spec).precision ?? 6
      : undefined;
    if (spec?.type === "NOACCESS" || typeof v === "object") {
      if (typeof v === "string") return convertRead(v, want) ?? this.#linkFailed(rec, field);
      const shape = target.support.arrayShape?.(target, l.field);
      const count = shape
        ? (target.f[shape.countField] as number)
        : (v as ArrayLike<unknown>).length;
      return convertRead(v, want, count, precision) ?? this.#linkFailed(rec, field);
    }
    if (
      target.type.name === "bi" || target.type.name === "bo" || target.type.name.startsWith("mbb")
    ) {
      if (l.field === "VAL" && want === "string") {
        return { value: enumString(target, "VAL", v as number), count: 1 };
      }
    }
    return convertRead(v, want, undefined, precision) ?? this.#linkFailed(rec, field);
  }

  /** setLinkAlarm: a failed read raises LINK/INVALID naming the link field. */
  #linkFailed(rec: IocRecord, field: string): undefined {
    this.setSevr(rec, AlarmStatus.LINK, INVALID, `field ${field}`);
    return undefined;
  }

  #maximize(rec: IocRecord, ms: string, sevr: number, stat: number): void {
    if (ms === "NMS" || sevr === NO_SEVR) return;
    if (ms === "MSI" && sevr < INVALID) return;
    if (ms === "MSS") this.setSevr(rec, stat, sevr);
    else this.setSevr(rec, AlarmStatus.LINK, sevr);
  }

  /** dbPutLink. */
  putLink(rec: IocRecord, field: string, value: FieldValue, count?: number): void {
    const l = rec.links[field];
    if (l?.kind === "json") {
      const one = typeof value === "object" ? (value as ArrayLike<unknown>)[0] : value;
      if (count === 0) return;
      const v = typeof one === "string" ? one : Number(one ?? 0);
      const inst = this.#jsonLinks.get(`${rec.name}.${field}`);
      if (!inst?.put(v)) this.setSevr(rec, AlarmStatus.LINK, INVALID);
      return;
    }
    if (!l || l.kind !== "pv") return;
    const target = l.process === "CA" ? undefined : this.#names.get(l.record);
    if (!target) {
      const remote = this.#remoteLinks.get(`${rec.name}.${field}`);
      if (!remote?.connected || remote.access?.write === false) {
        this.setSevr(rec, AlarmStatus.LINK, INVALID);
        return;
      }
      remote.put(
        typeof value === "object" && count !== undefined
          ? value.slice(0, count) as FieldValue
          : value,
      );
      return;
    }
    try {
      this.#dbPut(target, l.field, value, count);
    } catch (e) {
      this.setSevr(rec, AlarmStatus.LINK, INVALID, (e as Error).message);
      return;
    }
    if (l.severity !== "NMS") {
      // Output links push this record's severity into the target (MS on OUT).
      const sevr = rec.f.NSEV as number;
      if (sevr > NO_SEVR && (l.severity !== "MSI" || sevr === INVALID)) {
        this.setSevr(target, l.severity === "MSS" ? rec.f.NSTA as number : AlarmStatus.LINK, sevr);
      }
    }
    if (l.field === "PROC" || (l.process === "PP" && (target.f.SCAN as number) === SCAN_PASSIVE)) {
      if (target.f.PACT) target.f.RPRO = 1;
      else this.process(target);
    }
  }

  /** dbScanFwdLink. */
  forwardLink(rec: IocRecord, field: string): void {
    const l = rec.links[field];
    if (!l || l.kind !== "pv") return;
    const target = l.process === "CA" ? undefined : this.#names.get(l.record);
    if (!target) {
      this.#remoteLinks.get(`${rec.name}.${field}`)?.put(1);
      return;
    }
    if (l.explicitField && l.field !== "PROC" && l.field !== "VAL") {
      // Only PROC (or the record itself) can be a forward link target in base.
    }
    if ((target.f.SCAN as number) === SCAN_PASSIVE || l.field === "PROC") this.process(target);
  }

  // ---------------------------------------------------------------- field access

  /**
   * dbGetField: a field's value by record name and field.
   * @param name "REC" or "REC.FIELD"
   * @returns the value
   * @throws Error when the record or field does not exist
   */
  getField(name: string): FieldValue {
    const [rec, field] = this.resolve(name);
    if (field === "RTYP") return rec.type.name;
    return rec.f[field];
  }

  /**
   * Splits "REC.FIELD" (FIELD default VAL) and finds the record.
   * @throws Error when the record or the field is unknown
   */
  resolve(name: string): [IocRecord, string] {
    let rec = this.#names.get(name);
    let field = "VAL";
    if (!rec) {
      const dot = name.lastIndexOf(".");
      if (dot > 0) {
        rec = this.#names.get(name.slice(0, dot));
        field = name.slice(dot + 1);
      }
    }
    if (!rec) throw new Error(`Record "${name}" not found`);
    if (field !== "RTYP" && !rec.type.byName.has(field)) {
      throw new Error(`Field "${field}" not found in record "${rec.name}"`);
    }
    return [rec, field];
  }

  /**
   * A channel's field as dbChannelShow names it (casr 3): DBF type and size, the DBR type it
   * is served as, and elements; undefined for names that are not fields.
   */
  channelType(
    name: string,
  ): { dbf: string; size: number; dbr: string; elements: number } | undefined {
    let rec: IocRecord, field: string;
    try {
      [rec, field] = this.resolve(name.replace(/\$$/, ""));
    } catch {
      return undefined;
    }
    const spec = rec.type.byName.get(field);
    if (!spec) return undefined;
    // A link is read as a string; 80 is sizeof(DBLINK) on the 64-bit hosts base runs on.
    if (spec.isLink) return { dbf: `DBF_${spec.type}`, size: 80, dbr: "DBF_STRING", elements: 1 };
    const shape = rec.support.arrayShape?.(rec, field);
    const own = field === "VAL" ? rec.support.valueDbf?.(rec) ?? spec.type : spec.type;
    const t = spec.type === "NOACCESS" && shape ? DBF_OF_SCALAR[shape.scalar] ?? "" : own;
    const size = t === "STRING" ? spec.size ?? 40 : SIZE_OF[t] ?? 0;
    const dbr = t === "MENU" || t === "DEVICE" ? "DBF_ENUM" : `DBF_${t}`;
    return { dbf: `DBF_${t}`, size, dbr, elements: shape?.max ?? 1 };
  }

  /** The access a writer has to a field (ACF, ASL of the field). */
  accessFor(rec: IocRecord, field: string, who: Writer): "NONE" | "READ" | "WRITE" {
    if (!this.#access || who.protocol === "local") return "WRITE";
    const spec = rec.type.byName.get(field);
    const asl = spec?.asl === 0 ? 0 : 1;
    return this.#access(String(rec.f.ASG || "DEFAULT"), asl, who.user, who.host);
  }

  /**
   * dbPutField: writes a field, reacts to it (special), processes the record when the
   * field is pp(TRUE) and the record is passive (or the field is PROC), and resolves once
   * everything this started, asynchronous records along FLNK/PP chains included, is done.
   * @param name "REC" or "REC.FIELD"
   * @param value a number, string, array, or text for the field
   * @param who the writer (access rights)
   * @throws PutRefusedError when the value does not fit or the field cannot be written
   */
  putField(
    name: string,
    value: FieldValue | boolean,
    who: Writer = { protocol: "local", user: "", host: "" },
  ): Promise<void> {
    let rec: IocRecord, field: string;
    try {
      [rec, field] = this.resolve(name);
    } catch (e) {
      return Promise.reject(new PutRefusedError((e as Error).message, "handler"));
    }
    return this.putRecordField(rec, field, value, who);
  }

  /** {@link putField} for a resolved record and field. */
  putRecordField(
    rec: IocRecord,
    field: string,
    value: FieldValue | boolean,
    who: Writer = { protocol: "local", user: "", host: "" },
  ): Promise<void> {
    let group: PutGroup;
    try {
      group = this.#putField(rec, field, value, who);
    } catch (e) {
      return Promise.reject(e);
    }
    if (group.size === 0) return Promise.resolve();
    return (async () => {
      while (group.size > 0) await Promise.all([...group]);
    })();
  }

  /**
   * dbPutField without waiting: writes the field and starts the processing it causes, and
   * returns as that processing goes asynchronous (base's dbpf returns so, while a calcout
   * waits out its ODLY).
   * @throws PutRefusedError when the value does not fit or the field cannot be written
   */
  putRecordFieldNow(
    rec: IocRecord,
    field: string,
    value: FieldValue | boolean,
    who: Writer = { protocol: "local", user: "", host: "" },
  ): void {
    this.#putField(rec, field, value, who);
  }

  /** dbPutField: the put, and the processing it starts; returns what completion waits on. */
  #putField(rec: IocRecord, field: string, value: FieldValue | boolean, who: Writer): PutGroup {
    const spec = rec.type.byName.get(field);
    if (!spec) throw new PutRefusedError(`No field ${field}`, "handler");
    if (this.accessFor(rec, field, who) !== "WRITE") {
      throw new PutRefusedError(`No write access to ${rec.name}.${field}`, "readonly");
    }
    if (rec.f.DISP && field !== "DISP" && who.protocol !== "local") {
      throw new PutRefusedError(`Puts to ${rec.name} are disabled (DISP)`, "readonly");
    }
    const group: PutGroup = new Set();
    const prev = this.#group;
    this.#group = group;
    // RSRV names the client whose put processes ("ca:user@host"); others keep the context.
    const prevContext = this.#context;
    if (who.protocol === "ca") this.#context = `ca:${who.user}@${who.host}`;
    try {
      this.#dbPut(rec, field, typeof value === "boolean" ? Number(value) : value);
      const scan = rec.f.SCAN as number;
      if (field === "PROC" || (spec.pp && scan === SCAN_PASSIVE)) {
        if (rec.f.PACT) {
          rec.f.RPRO = 1;
          rec.pvt.rproGroup = group;
          const p = this.#pending.get(rec);
          if (p) joinGroup(group, p);
        } else this.process(rec);
      }
    } catch (e) {
      throw e instanceof PutRefusedError ? e : new PutRefusedError((e as Error).message, "type");
    } finally {
      this.#group = prev;
      this.#context = prevContext;
    }
    return group;
  }

  /**
   * dbPut from inside the IOC: writes a field (special handling and posting included)
   * without processing the record and without access checks (autosave's restore).
   * @param name "REC" or "REC.FIELD"
   * @param value a number, string, array, or text for the field
   * @throws PutRefusedError when the value does not fit or the field cannot be written
   */
  dbPut(name: string, value: FieldValue): void {
    let rec: IocRecord, field: string;
    try {
      [rec, field] = this.resolve(name);
    } catch (e) {
      throw new PutRefusedError((e as Error).message, "handler");
    }
    this.#dbPut(
      rec,
      field,
      value,
      Array.isArray(value) || ArrayBuffer.isView(value)
        ? (value as ArrayLike<unknown>).length
        : undefined,
    );
  }

  /** dbPut: converts, stores, runs special handling and posts the field. */
  #dbPut(rec: IocRecord, field: string, value: FieldValue, count?: number): void {
    rec.version++;
    const spec = rec.type.byName.get(field);
    if (!spec) throw new PutRefusedError(`No field ${field} in ${rec.name}`, "handler");
    if (spec.special === "SPC_NOMOD" || field === "RTYP") {
      throw new PutRefusedError(`Field ${rec.name}.${field} cannot be modified`, "readonly");
    }
    const oldScan = rec.f.SCAN as number;
    const oldEvnt = String(rec.f.EVNT);
    // Scalars only: the special handling of array fields does not look at the old value.
    const before = spec.type === "NOACCESS" ? undefined : rec.f[field];
    if (spec.type === "NOACCESS") {
      this.#putArray(rec, spec, value, count);
    } else {
      let v: FieldValue;
      try {
        if (spec.type === "ENUM" && typeof value === "string") {
          value = enumIndex(rec, field, value);
        }
        v = toFieldValue(spec, value);
      } catch (e) {
        throw new PutRefusedError(
          `Cannot write ${rec.name}.${field}: ${(e as Error).message}`,
          e instanceof FieldValueError ? "type" : "handler",
        );
      }
      if (spec.isLink) {
        let l: LinkSpec;
        try {
          l = parseLink(v as string, spec.type as JsonLinkDbf);
        } catch (e) {
          throw new PutRefusedError((e as Error).message, "type");
        }
        const dev = this.#initialized ? this.#deviceForLink(rec, field, l) : undefined;
        if (this.#initialized && rec.dev?.linkChange) {
          try {
            rec.dev.linkChange(rec, field, v as string);
          } catch (e) {
            throw new PutRefusedError((e as Error).message, "readonly");
          }
        }
        const ioIntr = dev && (rec.f.SCAN as number) === SCAN_IOINTR;
        if (ioIntr) this.#scanDelete(rec, SCAN_IOINTR, "");
        rec.f[field] = v;
        rec.links[field] = l;
        if (dev) {
          // base's dbPutFieldLink: the device support of the DTYP now set takes over, without
          // its init_record (soft supports' add_record does nothing); PACT is cleared.
          rec.dev = dev;
          rec.f.PACT = 0;
        }
        this.#relink(rec, field);
        if (ioIntr) this.#scanAdd(rec);
      } else {
        // A DTYP put changes only the field (as base's): the device support changes with
        // the next put to INP or OUT.
        rec.f[field] = v;
      }
    }
    // A put to VAL defines it, an array VAL too (base's dbPut, for the value field).
    if (field === "VAL") rec.f.UDF = 0;
    if (this.#initialized) {
      try {
        rec.support.special?.(rec, this, field, before);
      } catch (e) {
        throw new PutRefusedError((e as Error).message, "handler");
      }
      // The event an event record or a calcout posts is looked up when it is set (special).
      if (POSTED_EVENT[rec.type.name] === field) this.eventHandle(String(rec.f[field]));
      if (spec.special === "SPC_SCAN" || field === "SCAN" || field === "EVNT" || field === "PHAS") {
        this.#scanDelete(rec, oldScan, oldEvnt);
        this.#scanAdd(rec);
      }
    }
    if (field === "ASG") {
      // asChangeGroup: the record's clients get their rights again.
      for (const l of [...this.#accessListeners.get(rec) ?? []]) l();
    }
    // base's dbPut posts every field but a process-passive VAL, even in a scanned record that
    // the put does not process: its monitors see the value when the record next processes.
    if (!(field === "VAL" && spec.pp)) this.#post(rec, field, PvChange.VALUE | PvChange.LOG);
    // After the field's own post, as base's dbPut (QSRV groups show the order).
    if (spec.prop) this.#postProperty(rec);
  }

  #putArray(rec: IocRecord, spec: FieldSpec, value: FieldValue, count?: number): void {
    const size = rec.support.longString?.(rec);
    if (size !== undefined && spec.name === "VAL") {
      // A long string: text, or a char array up to its first NUL.
      let text: string;
      if (typeof value === "string") text = value;
      else if (typeof value === "number") text = String(value);
      else if (Array.isArray(value)) text = value[0] ?? "";
      else text = charsToText(value as ArrayLike<number>, count ?? value.length);
      // dbPut takes at most SIZV chars and the record keeps a NUL: the rest is cut (we cut
      // before a character that would not fit whole).
      text = cutUtf8(text, size - 1);
      rec.f.VAL = text;
      rec.f.LEN = utf8Length(text) + 1;
      return;
    }
    const shape = rec.support.arrayShape?.(rec, spec.name);
    if (!shape) {
      throw new PutRefusedError(`Field ${rec.name}.${spec.name} cannot be written`, "readonly");
    }
    const buf = rec.f[spec.name] as unknown as {
      length: number;
      [i: number]: number | bigint | string;
    };
    const src: ArrayLike<unknown> = typeof value === "string" || typeof value === "number"
      ? [value]
      : value;
    const n = Math.min(count ?? src.length, shape.max);
    const dbf = DBF_OF_SCALAR[shape.scalar];
    const textual = Array.isArray(buf) || dbf === undefined;
    const items: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const x = src[i];
      // Text into a numeric array converts as dbPut converts a string (a one-element field
      // written by dbpf): " 0x10" is 0 in a LONG, "[3]" is refused.
      if (typeof x !== "string" || textual) items.push(x);
      else {
        try {
          items.push(convertPutText({ ...spec, type: dbf as FieldSpec["type"] }, x));
        } catch (e) {
          throw new PutRefusedError(
            `Cannot write ${rec.name}.${spec.name}: ${(e as Error).message}`,
            "type",
          );
        }
      }
    }
    for (let i = 0; i < n; i++) {
      const x = items[i];
      if (buf instanceof BigInt64Array || buf instanceof BigUint64Array) {
        buf[i] = BigInt(Math.trunc(Number(x)));
      } else if (Array.isArray(buf)) buf[i] = String(x);
      else buf[i] = Number(x);
    }
    if (!shape.fixed) rec.f[shape.countField] = n;
  }

  /**
   * dbPutFieldLink's device-support check for a put to the device link (INP or OUT) of a
   * record with device support: the support DTYP names, which must take the link's kind
   * (an INST_IO "@..." link for getenv, a constant, PV or JSON link for the soft ones;
   * registered supports judge for themselves through linkChange).
   * Returns undefined for other fields.
   */
  #deviceForLink(rec: IocRecord, field: string, l: LinkSpec): DeviceSupport | undefined {
    const dtyp = rec.type.byName.get("DTYP");
    if (!dtyp || (field !== "INP" && field !== "OUT") || !rec.dev) return undefined;
    const name = dtyp.choices?.[rec.f.DTYP as number] ?? "Soft Channel";
    const dev = this.devices.find(rec.type.name, name);
    if (!dev) {
      throw new PutRefusedError(`No device support "${name}" for ${rec.name}`, "handler");
    }
    const hw = INST_IO_DEVICES.has(name);
    if ((hw || SOFT_DEVICE_NAMES.has(name)) && hw !== (l.kind === "hw")) {
      throw new PutRefusedError(
        `Link "${l.text}" does not suit device support "${name}" of ${rec.name}`,
        "type",
      );
    }
    return dev;
  }

  #relink(rec: IocRecord, field: string): void {
    if (!this.#initialized) return;
    const key = `${rec.name}.${field}`;
    this.#remoteLinks.get(key)?.close();
    this.#remoteLinks.delete(key);
    this.#jsonLinks.get(key)?.close();
    this.#jsonLinks.delete(key);
    // Rebuild this record's CP registrations (they are found by target, so drop them all).
    for (const [k, list] of this.#cpTargets) {
      if (list.includes(rec)) this.#cpTargets.set(k, list.filter((r) => r !== rec));
    }
    rec.pvt.cp = undefined;
    const l = rec.links[field];
    if (l.kind === "none") delete rec.links[field];
    if (l.kind === "constant" && rec.type.byName.get(field)?.type === "INLINK") {
      this.#initConstants(rec);
      this.#reportConstants(rec);
    }
    this.#linkRemote(rec, field);
    this.#openJson(rec, field);
  }

  /**
   * A link field's text as dbGetField shows it after iocInit: "REC.FIELD PP MS" for PV
   * links (the target alone for forward links), the text itself otherwise.
   */
  linkText(rec: IocRecord, field: string): string {
    const l = rec.links[field];
    if (!this.#initialized || !l) return String(rec.f[field]);
    if (l.kind !== "pv") return l.text;
    const name = l.explicitField ? `${l.record}.${l.field}` : l.record;
    // A forward link keeps only the CA modifier (dbParseLink drops the others).
    if (rec.type.byName.get(field)?.type === "FWDLINK") {
      return l.process === "CA" ? `${name} CA` : name;
    }
    return `${name} ${l.process} ${l.severity}`;
  }

  /** Text of a field as dbgf/DBR_STRING show it. */
  fieldText(rec: IocRecord, field: string): string {
    if (field === "RTYP") return rec.type.name;
    const spec = rec.type.byName.get(field);
    if (!spec) return "";
    const v = rec.f[field];
    if (spec.type === "NOACCESS") return typeof v === "string" ? v : "";
    if (field === "VAL" && (spec.type === "ENUM")) return enumString(rec, field, v as number);
    if (spec.isLink) return this.linkText(rec, field);
    return formatFieldValue(spec, v);
  }
}

const SIZE_OF: Record<string, number> = {
  CHAR: 1,
  UCHAR: 1,
  SHORT: 2,
  USHORT: 2,
  ENUM: 2,
  MENU: 2,
  DEVICE: 2,
  LONG: 4,
  ULONG: 4,
  FLOAT: 4,
  INT64: 8,
  UINT64: 8,
  DOUBLE: 8,
};

function joinGroup(group: PutGroup, p: Promise<void>): void {
  if (group.has(p)) return;
  group.add(p);
  p.finally(() => group.delete(p));
}

function deadbandExceeded(v: number, last: number, deadband: number): boolean {
  if (Number.isNaN(v) !== Number.isNaN(last)) return true;
  if (!Number.isFinite(v) || !Number.isFinite(last)) {
    return v !== last && !(Number.isNaN(v) && Number.isNaN(last));
  }
  return Math.abs(v - last) > deadband;
}

/** Input record types whose init loads a constant SIOL into SVAL (recGblInitConstantLink). */
const SVAL_TYPES = new Set([
  "ai",
  "bi",
  "mbbi",
  "mbbiDirect",
  "longin",
  "int64in",
  "stringin",
  "event",
  "histogram",
]);

function defaultConstantTarget(rec: IocRecord, field: string): string | undefined {
  if (field === "INP" || field === "DOL") return rec.support.io === "output" ? undefined : "VAL";
  if (/^INP[A-U]$/.test(field)) return field.slice(3);
  if (field === "SDIS") return "DISA";
  if (field === "SVL") return "SGNL";
  if (field === "SUBL") return "SNAM";
  // SIML is loaded into SIMM by the record support (recGblInitSimm, with the SSCN swap);
  // SIOL only into the SVAL of the input types that have one.
  if (field === "SIOL") return SVAL_TYPES.has(rec.type.name) ? "SVAL" : undefined;
  if (field === "SELL") return "SELN";
  if (/^DOL[0-9A-F]$/.test(field)) return `DO${field.slice(3)}`;
  if (field === "NVL") return "SELN";
  return undefined;
}

/** Device supports whose link is an INST_IO "@..." address (base's devSoft.dbd). */
const INST_IO_DEVICES = new Set(["getenv"]);
/** base's soft device supports: their link is a constant, PV or JSON link. */
/** The field naming the event a record type posts. */
const POSTED_EVENT: Readonly<Record<string, string>> = { event: "VAL", calcout: "OEVT" };

/**
 * An event's name as eventNameToHandle keys it: blanks around it dropped; text that reads
 * as a double from 0 to 255 is a numeric event, named by its integer part (under 1: no
 * event); anything else is the name itself.
 */
export function eventName(text: string): string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const n = parseCDouble(t, { units: false });
  if (typeof n !== "string" && n.value >= 0 && n.value < 256) {
    return n.value < 1 ? undefined : String(Math.trunc(n.value));
  }
  return t;
}

const SOFT_DEVICE_NAMES = new Set(["Soft Channel", "Raw Soft Channel", "Async Soft Channel"]);

/** What the raw soft device supports load a constant INP into RVAL as. */
const RAW_LOADS: Readonly<Record<string, ConstantDbf>> = {
  ai: "LONG",
  bi: "ULONG",
  mbbi: "ULONG",
  mbbiDirect: "ULONG",
};

/**
 * The type a record support loads a constant into `into` as: the field's own type, but
 * mbbiDirect's LONG VAL and SVAL as ULONG (devMbbiDirectSoft, its init_record).
 */
function constantLoadType(rec: IocRecord, into: string, type: string): ConstantDbf | undefined {
  if (rec.type.name === "mbbiDirect" && (into === "VAL" || into === "SVAL")) return "ULONG";
  return constantDbfOf(type);
}

function coerceNumber(spec: FieldSpec, n: number): FieldValue {
  if (spec.type === "DOUBLE" || spec.type === "FLOAT") return n;
  if (spec.type === "MENU" || spec.type === "ENUM" || spec.type === "DEVICE") return Math.trunc(n);
  return integerFor(spec, n);
}

/** The integer field types a double put into is cast to (DBF_ENUM as an epicsEnum16). */
const CAST_AS: Readonly<Record<string, IntegerDbf>> = {
  CHAR: "CHAR",
  UCHAR: "UCHAR",
  SHORT: "SHORT",
  USHORT: "USHORT",
  LONG: "LONG",
  ULONG: "ULONG",
  INT64: "INT64",
  UINT64: "UINT64",
  ENUM: "USHORT",
};

/**
 * A value in a field's own type, as dbPut converts it: text parsed, doubles cast into
 * integer fields, menu indexes checked; the first element of an array.
 * @throws FieldValueError when the value does not fit
 */
export function toFieldValue(spec: FieldSpec, value: FieldValue): FieldValue {
  if (typeof value === "string") return convertPutText(spec, value);
  if (typeof value === "number") {
    if (spec.type === "STRING" || spec.isLink) {
      // A double put into a string (an ao's OUT to a stringin.VAL) is written as cvt_d_st
      // writes it for a record with no precision routine: 6 decimals. A whole number may have
      // come from an integer field, which base writes as it is; we cannot tell them apart.
      const text = Number.isInteger(value) ? String(value) : cvtDoubleToString(value, 6);
      return convertPutText(spec, text);
    }
    if (spec.type === "MENU" || spec.type === "DEVICE") {
      const n = Math.trunc(value);
      if (n < 0 || n >= (spec.choices?.length ?? 0)) {
        throw new FieldValueError(`${value} is not a choice of ${spec.menu ?? "DTYP"}`);
      }
      return n;
    }
    // A double into an integer field is cast as base's conversion does on x86-64 (out of
    // range and NaN give INT_MIN into a LONG, wrap into the smaller types), not refused.
    const as = CAST_AS[spec.type];
    if (as) return castDouble(value, as);
    return coerceNumber(spec, value);
  }
  const first = (value as ArrayLike<unknown>)[0];
  if (first === undefined) throw new FieldValueError("Empty value");
  return toFieldValue(spec, typeof first === "bigint" ? Number(first) : first as number | string);
}

function enumIndex(rec: IocRecord, field: string, text: string): number {
  const choices = field === "VAL" ? rec.support.meta?.(rec).choices : undefined;
  const i = choices ? choices.indexOf(text) : -1;
  if (i >= 0) return i;
  // Else a decimal index below the number of states (cvt_st_e), nothing after it.
  const r = parseCInteger(text, { base: 10, unsigned: true, units: false });
  if (typeof r !== "string" && r.value < BigInt(choices?.length ?? 0x10000)) {
    return Number(r.value);
  }
  throw new FieldValueError(`"${text}" is not a state of ${rec.name}.${field}`);
}

function enumString(rec: IocRecord, field: string, index: number): string {
  if (field === "VAL") {
    // A VAL served as a number (an mbbo with no states) reads as one.
    const dbf = rec.support.valueDbf?.(rec);
    if (dbf !== undefined && dbf !== "ENUM") return String(index);
    if (rec.support.enumText) return rec.support.enumText(rec);
    const choices = rec.support.meta?.(rec).choices;
    if (choices) return choices[index] ?? String(index);
  }
  const spec = rec.type.byName.get(field);
  return spec?.choices?.[index] ?? String(index);
}

/** Leading number of a string as C's strtod reads it (base's string to double conversion). */
const STRTOD =
  /^\s*([+-]?(?:0x[0-9a-f]+(?:\.[0-9a-f]*)?(?:p[+-]?\d+)?|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?|nan))/i;

/**
 * A string as dbGetLink converts it to a number: "" is 0, a leading number is read (the
 * rest is ignored, as epicsParseFloat64 with units), anything else is no number.
 */
function stringNumber(s: string): number | undefined {
  if (s === "") return 0;
  const m = STRTOD.exec(s);
  if (!m) return undefined;
  const t = m[1].toLowerCase().replace(/^([+-]?)inf(inity)?$/, "$1Infinity");
  if (/^[+-]?nan$/.test(t)) return NaN;
  if (/^[+-]?0x/.test(t)) {
    const neg = t.startsWith("-");
    const [int, frac = ""] = t.replace(/^[+-]?0x/, "").split("p")[0].split(".");
    const exp = Number(t.split("p")[1] ?? 0);
    let v = parseInt(int || "0", 16);
    for (let i = 0; i < frac.length; i++) v += parseInt(frac[i], 16) / 16 ** (i + 1);
    v *= 2 ** exp;
    return neg ? -v : v;
  }
  return Number(t);
}

/** Whether a field's value is a DOUBLE or FLOAT (an array VAL: of those). */
function isFloating(spec: FieldSpec, v: FieldValue): boolean {
  if (spec.type === "DOUBLE" || spec.type === "FLOAT") return typeof v === "number";
  return v instanceof Float64Array || v instanceof Float32Array;
}

/**
 * A value read through a link as the type asked for; undefined when it does not convert.
 * `precision` is given for a floating-point value read as a string.
 */
function convertRead(
  v: FieldValue,
  want: string,
  count?: number,
  precision?: number,
): LinkRead | undefined {
  if (want === "array") {
    if (typeof v === "object") return { value: v, count: count ?? v.length };
    return { value: [v] as unknown as FieldValue, count: 1 };
  }
  const one = typeof v === "object" ? (v as ArrayLike<number | bigint | string>)[0] : v;
  if (want === "string") {
    if (typeof one === "number" && precision !== undefined) {
      return { value: cvtDoubleToString(one, precision), count: 1 };
    }
    return { value: typeof one === "number" ? String(one) : String(one ?? ""), count: 1 };
  }
  if (typeof one === "string") {
    const n = stringNumber(one);
    return n === undefined ? undefined : { value: n, count: 1 };
  }
  return { value: one === undefined ? 0 : Number(one), count: 1 };
}
