/**
 * The interfaces between the processing engine, record types and device supports.
 * @module
 */

import type { EpicsTimeStamp } from "../core/time.ts";
import type { ScalarType } from "../pv/types.ts";
import type { LinkSpec } from "./links.ts";
import type { FieldValue, RecordTypeInfo } from "./record_type.ts";
import type { DbfType } from "./dbd/types.ts";

/** One record of the database. */
export interface IocRecord {
  /** Record name. */
  readonly name: string;
  /** Its type's fields and defaults. */
  readonly type: RecordTypeInfo;
  /** The record type's code. */
  readonly support: RecordSupport;
  /** Field values; fields never set read their initial value through the prototype. */
  readonly f: Record<string, FieldValue>;
  /** `info(name, "value")` items. */
  readonly infos: Map<string, string>;
  /** Where each info item was last set (file and line), for messages about its value. */
  readonly infoAt?: Map<string, { readonly file: string; readonly line: number }>;
  /** Other names of the record. */
  readonly aliases: string[];
  /** Where the record was first defined. */
  readonly file: string;
  /** Line of that definition. */
  readonly line: number;
  /** Parsed links by field name (set by iocInit and by puts to link fields). */
  links: Record<string, LinkSpec>;
  /** Time of the last processing (TIME). */
  time: EpicsTimeStamp;
  /** Bumped whenever processing or a put may have changed fields (snapshot caches check it). */
  version: number;
  /** Device support chosen by DTYP (records with INP/OUT and DTYP). */
  dev?: DeviceSupport;
  /** Private state of the record type and its device support. */
  readonly pvt: Record<string, unknown>;
}

/** What a record type shows as VAL's metadata (EGU, PREC, limits, alarm limits, states). */
export interface ValueMeta {
  /** Engineering units. */
  units?: string;
  /** Display precision. */
  precision?: number;
  /** Display limits (HOPR/LOPR). */
  display?: readonly [number, number];
  /** Control limits (DRVL/DRVH or HOPR/LOPR). */
  control?: readonly [number, number];
  /** Alarm limits [LOLO, LOW, HIGH, HIGH] and severities [LLSV, LSV, HSV, HHSV]. */
  alarm?: {
    readonly limits: readonly [number, number, number, number];
    readonly severities: readonly [number, number, number, number];
    readonly hysteresis: number;
  };
  /** Enum state strings (bi/bo/mbbi/mbbo). */
  choices?: readonly string[];
}

/** How VAL changes are posted to monitors after processing. */
export type ValuePosting =
  /** MDEL/ADEL deadbands against MLST/ALST (analog and integer records). */
  | "deadband"
  /** When VAL differs from MLST (binary and multi-bit records). */
  | "change"
  /** Every processing. */
  | "always"
  /** As the MPST/APST menus say ("Always" or "On Change"). */
  | "mpst"
  /**
   * As the record type's {@link RecordSupport.monitor} says (permissive, state, histogram,
   * aSub, whose monitor() posts VAL only for a value change, or other fields too).
   */
  | "own";

/** The shape of an array VAL (waveform, aai, aao, subArray, compress, lsi, lso, printf). */
export interface ArrayShape {
  /** Element type. */
  readonly scalar: ScalarType;
  /** Number of elements the record holds (NELM, SIZV...). */
  readonly max: number;
  /** Field holding the current element count (NORD, LEN...). */
  readonly countField: string;
  /** Whether the count stays at `max` whatever a put writes (histogram's VAL is NELM long). */
  readonly fixed?: boolean;
}

/**
 * What a record type's `process` returns when the processing has no result yet (a compress
 * record short of N samples): as base's record support returning early, there is no time
 * stamp, alarm reset, monitor or forward link, and the record is not active.
 */
export const NO_RESULT = "noResult";

/**
 * What a record type's {@link RecordSupport.monitor} gets after processing: the DBE mask
 * the alarm reset gave, the one VAL's posting rule gave, and the poster of fields.
 */
export interface MonitorPosts {
  /** DBE_ALARM when STAT, SEVR or AMSG changed (recGblResetAlarms' result), else 0. */
  readonly alarm: number;
  /** DBE_VALUE / DBE_LOG as VAL's posting rule (deadbands, MPST/APST...) found. */
  readonly value: number;
  /** db_post_events of one field with a mask (a zero mask reaches nobody). */
  post(field: string, mask: number): void;
}

/** What a record type provides: fields are data (lib/ioc/dbd); this is the code. */
export interface RecordSupport {
  /** The posting rule for VAL. */
  readonly posting: ValuePosting;
  /** Whether the type has INP (input) or OUT (output) device support. */
  readonly io?: "input" | "output";
  /** init_record: pass 0 before links are usable, pass 1 after. Throws to fail iocInit. */
  init?(rec: IocRecord, ioc: RecordIo, pass: 0 | 1): void;
  /**
   * Does one processing. Returns a promise when the work went asynchronous (the engine
   * sets PACT and calls `process` again, with PACT set, once it resolves), or
   * {@link NO_RESULT}.
   */
  process(rec: IocRecord, ioc: RecordIo): void | typeof NO_RESULT | Promise<unknown>;
  /**
   * base's monitor(): posts VAL and the other fields the record type posts after a
   * processing (RVAL, OVAL, A..L, SELN, bits...), updating the copies it compares them
   * with (ORAW, POVL, LA..LL...). Absent: VAL alone, when its mask is not zero.
   */
  monitor?(rec: IocRecord, m: MonitorPosts): void;
  /**
   * Called after a put changed a field (SPC_MOD/SPC_CALC style reactions), with the
   * field's value before the put. Throws to refuse.
   */
  special?(rec: IocRecord, ioc: RecordIo, field: string, before?: FieldValue): void;
  /** VAL's metadata. */
  meta?(rec: IocRecord): ValueMeta;
  /** An enum VAL as text (base's get_enum_str: also for values without a state string). */
  enumText?(rec: IocRecord): string;
  /**
   * The DBF type a channel to VAL gets when it is created, where the record type changes
   * it from the field's own (base's cvt_dbaddr: an mbbo with no states serves a USHORT).
   */
  valueDbf?(rec: IocRecord): DbfType | undefined;
  /**
   * The shape of an array field (VAL of the array records; aSub's A..U and VALA..VALU),
   * or undefined for a field that is no array.
   */
  arrayShape?(rec: IocRecord, field: string): ArrayShape | undefined;
  /** The size in bytes (with the NUL) of a long-string VAL (lsi, lso, printf). */
  longString?(rec: IocRecord): number;
}

/** Result of reading a link. */
export interface LinkRead {
  /** The value read. */
  value: FieldValue;
  /** Element count of an array read. */
  count: number;
}

/** Engine services offered to record types and device supports. */
export interface RecordIo {
  /**
   * Reads an input link, processing a passive target for PP and raising LINK alarms for
   * MS/MSS/MSI. Returns undefined for empty, constant and hardware links or on failure
   * (a failure also raises a LINK/INVALID alarm).
   */
  getLink(
    rec: IocRecord,
    field: string,
    want?: "number" | "string" | "array",
  ): LinkRead | undefined;
  /** What a link points at: 0 remote not connected, 1 remote connected, 2 local, 3 constant. */
  linkState(rec: IocRecord, field: string): number;
  /** Whether a link field holds nothing but a constant (or nothing). */
  isConstantLink(rec: IocRecord, field: string): boolean;
  /** Writes to an output link; a failure raises a LINK/INVALID alarm. */
  putLink(rec: IocRecord, field: string, value: FieldValue, count?: number): void;
  /** Processes what a forward-style link (FLNK, LNKx) points at. */
  forwardLink(rec: IocRecord, field: string): void;
  /** recGblSetSevr: raises the new alarm when worse than what processing has raised so far. */
  setSevr(rec: IocRecord, status: number, severity: number, message?: string): boolean;
  /** Posts a database event (the event record, `post_event`). */
  postEvent(name: string): void;
  /** Runs `fn` after `seconds` (calcout ODLY, seq DLYn); cancelled when the IOC stops. */
  after(seconds: number, fn: () => void): void;
  /** Processes a record now (dbProcess), e.g. a bo's HIGH reset. */
  process(rec: IocRecord): void;
  /** The IOC clock, in milliseconds since 1970. */
  now(): number;
  /** The time stamp of what a DB link reads (dbGetTimeStamp); undefined for other links. */
  linkTime(rec: IocRecord, field: string): EpicsTimeStamp | undefined;
  /** Moves a record to another SCAN (scanDelete, new SCAN, scanAdd), as simulation mode's SSCN does. */
  setScan(rec: IocRecord, scan: number): void;
  /** A subroutine registered under this name (sub records' SNAM and INAM). */
  subroutine(name: string): Subroutine | undefined;
  /**
   * db_post_events for a field the record type posts itself, outside the engine's posting
   * after processing (calcout's DLYA as its output delay starts and ends, histogram's SDEL
   * watchdog), with a new time stamp first when `stamp` is true.
   */
  post(rec: IocRecord, field: string, mask: number, stamp?: boolean): void;
  /** recGblGetTimeStamp: TIME now (or from TSEL's record, as TSE says). */
  timeStamp(rec: IocRecord): void;
  /** Prints a note from a record support that does not stop the IOC (base's errlogPrintf). */
  warn(message: string): void;
}

/**
 * A subroutine of a sub or aSub record (registered by name, as base's registryFunctionAdd):
 * it reads A..L (aSub: A..U) and writes VAL (aSub: VALA..VALU) or any field through
 * `rec.f`. Its result is the status: negative raises a SOFT alarm of severity BRSV (aSub:
 * non-zero skips the outputs). A throw raises CALC/INVALID with the message in AMSG. A
 * promise makes the record asynchronous until it settles; its value is the status (a
 * rejection counts as a throw). Functions of a record view: see user_subroutine.ts.
 */
export type Subroutine = (
  rec: IocRecord,
  ioc: RecordIo,
) => number | void | Promise<number | void>;

/** A device support: chosen by a record's DTYP, it reads or writes the hardware. */
export interface DeviceSupport {
  /** The DTYP choice string. */
  readonly dtyp: string;
  /** Record types it supports (undefined = any with INP/OUT). */
  readonly recordTypes?: readonly string[];
  /** init_record; throw to fail iocInit for this record. */
  init?(rec: IocRecord, ioc: RecordIo): void;
  /**
   * Reads (input records) or writes (output records). Returning "noConvert" tells ai
   * (and others with raw values) that VAL was set directly; a promise makes the record
   * asynchronous until it settles (rejection raises a READ/WRITE INVALID alarm).
   */
  io(rec: IocRecord, ioc: RecordIo): void | "noConvert" | Promise<void | "noConvert">;
  /**
   * special_linconv of ai/ao: with LINR LINEAR, after a put to LINR, EGUF or EGUL, sets
   * ESLO (and EOFF, which starts at EGUL) from EGUF/EGUL and the raw range the device
   * knows. Base's soft supports have none.
   */
  linconv?(rec: IocRecord, ioc: RecordIo): void;
  /** Registers for I/O Intr scanning; returns the function that unregisters. */
  ioIntr?(rec: IocRecord, trigger: () => void): () => void;
  /**
   * Called before a put changes a link field after iocInit; throws to refuse the change
   * (as base refuses link changes when a device support has no add/del_record).
   */
  linkChange?(rec: IocRecord, field: string, text: string): void;
}
