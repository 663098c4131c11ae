/**
 * The IOC as a PvProvider: `REC.FIELD` (REC alone is REC.VAL) is a channel onto one field
 * with the field's DBF type (menus as enums, links as strings), `REC.FIELD$` reads a string
 * or link field as a char array, VAL carries the record's metadata (EGU, PREC, limits,
 * alarm limits, state strings). Names may carry base's channel filters after the field
 * (`REC.VAL{"arr":{"s":2}}`, `REC.[2:4]`, `REC.{dbnd:{abs:1.5}}`; see channel_filters.ts). Both the CA and the PVA server take it; over PVA the
 * channels become NTScalar / NTEnum / NTScalarArray as QSRV maps records.
 * @module
 */

import { charsToText, cutUtf8, textToChars } from "../core/bytes.ts";
import { PutRefusedError } from "../core/errors.ts";
import {
  type PutContext,
  PvChange,
  type PvListener,
  type PvProvider,
  type PvSnapshot,
  type PvTypeInfo,
  type PvValue,
  type ServedPv,
} from "../pv/types.ts";
import { epicsTimeFromMillis } from "../core/time.ts";
import {
  type ChannelFilter,
  ChannelNameError,
  FilterChain,
  filteredType,
  parseChannelTail,
  splitChannelName,
} from "./channel_filters.ts";
import type { IocDatabase } from "./database.ts";
import { type FieldSpec, type FieldValue, SCALAR_OF_DBF } from "./record_type.ts";
import { formIndex } from "./qsrv_form.ts";
import { buildGroups, type GroupPv } from "./qsrv_group.ts";
import type { IocRecord, ValueMeta } from "./types.ts";

/** Element count of a `$` channel onto a link field. */
const LINK_CHARS = 1024;

const NO_META: ValueMeta = {};

/**
 * Fields that carry VAL's units, precision, display and control limits (base's record
 * supports answer get_units/get_graphic_double/get_control_double for them as for VAL).
 */
const VALUE_LIKE = new Set([
  "HIHI",
  "HIGH",
  "LOW",
  "LOLO",
  "LALM",
  "ALST",
  "MLST",
  "OVAL",
  "PVAL",
  "IVOV",
  "SVAL",
  "POVL",
]);

/** Record types whose support answers display limits (others report none for any field). */
const HAS_GRAPHIC = new Set([
  "ai",
  "ao",
  "calc",
  "calcout",
  "compress",
  "dfanout",
  "longin",
  "longout",
  "int64in",
  "int64out",
  "sel",
  "seq",
  "sub",
  "subArray",
  "waveform",
  "aai",
  "aao",
]);

/** The histogram fields whose precision is PREC. */
const HISTOGRAM_PREC = new Set(["ULIM", "LLIM", "SGNL", "SVAL", "WDTH"]);

/** aSub's argument arrays: inputs A..U, outputs VALA..VALU. */
const ASUB_ARG = /^(VAL)?[A-U]$/;

/** Inputs and per-step values whose limits base's record supports answer specially. */
const INPUT_LIKE = /^(L?[A-L]|DO[0-9A-F]|IHIL|ILIL|ODLY)$/;

/** Limits base reports for a field no record support describes: its type's range. */
const TYPE_RANGE: Partial<Record<string, readonly [number, number]>> = {
  CHAR: [-128, 127],
  UCHAR: [0, 255],
  SHORT: [-32768, 32767],
  USHORT: [0, 65535],
  LONG: [-2147483648, 2147483647],
  ULONG: [0, 4294967295],
  INT64: [-9223372036854775808, 9223372036854775807],
  UINT64: [0, 18446744073709551615],
  FLOAT: [-1e30, 1e30],
  DOUBLE: [-1e300, 1e300],
};

function withoutStates(m: ValueMeta): ValueMeta {
  return m.choices === undefined && m.alarm === undefined
    ? m
    : { units: m.units, precision: m.precision, display: m.display, control: m.control };
}

/** recGblGetPrec for a double field other than VAL: a PREC outside 0..15 shows as 15. */
function recGblPrec(p: number): number {
  return p < 0 || p > 15 ? 15 : p;
}

/** Seconds-valued delay fields: base's record supports answer them with fixed limits. */
const DELAY: ValueMeta = { units: "s", precision: 2, display: [10, 0], control: [0, 100000] };

/**
 * The metadata base's record supports answer specially for some non-VAL fields (measured
 * against softIoc, tests/softioc_base_parity_test.ts), or undefined for the general rules.
 */
function specialMeta(
  rec: IocRecord,
  field: FieldSpec,
  range: readonly [number, number] | undefined,
): ValueMeta | undefined {
  const type = rec.type.name;
  const name = field.name;
  const f = rec.f;
  switch (type) {
    case "histogram": {
      // Type ranges (recGblGetGraphicDouble) but for VAL (LOPR..HOPR) and WDTH; PREC for
      // the signal fields, histogramSDELprecision (2) and units "s" for SDEL.
      if (name === "VAL" || !range) return name === "VAL" ? undefined : NO_META;
      const d = name === "WDTH" ? [0, (f.ULIM as number) - (f.LLIM as number)] as const : range;
      const precision = HISTOGRAM_PREC.has(name) ? f.PREC as number : name === "SDEL" ? 2 : 0;
      return { units: name === "SDEL" ? "s" : "", precision, display: d, control: d };
    }
    case "aSub":
      // The arguments describe themselves by their links (metaLink); the rest have their
      // type's control range alone (there is no display routine for them).
      if (ASUB_ARG.test(name)) return undefined;
      return range ? { control: range } : NO_META;
    case "seq":
      if (/^DLY[1-9A-F]$/.test(name)) return DELAY;
      if (/^DOL[1-9A-F]$/.test(name)) return { ...DELAY, precision: 0 };
      if (name === "DO0") {
        return { precision: recGblPrec(f.PREC as number), display: range, control: range };
      }
      return undefined;
    case "calcout":
      // ODLY: the type's range with 0 as its low end.
      if (name === "ODLY") return { ...DELAY, display: [0, 1e300] };
      if (name === "PVAL" || name === "IVOV") {
        return {
          units: f.EGU as string,
          precision: recGblPrec(f.PREC as number),
          display: range,
          control: range,
        };
      }
      return undefined;
    case "bo":
      if (name === "HIGH") return { units: "s", precision: 2, control: [0, 100000] };
      if (name === "MLST" || name === "LALM" || name === "IVOV") return { control: [0, 65535] };
      return undefined;
    case "sel": {
      if (!/^L?[A-L]$/.test(name)) return undefined;
      // sel's inputs do not ask their links: EGU as every double field, PREC (its check
      // for these fields never matches, so recGblGetPrec's clamp applies).
      return {
        units: f.EGU as string,
        precision: recGblPrec(f.PREC as number),
        display: typeof f.HOPR === "number" ? [f.LOPR as number, f.HOPR] : [0, 0],
      };
    }
    case "longout":
    case "int64out":
      return name === "PVAL" || name === "IVOV"
        ? { units: f.EGU as string, display: range, control: range }
        : undefined;
    case "dfanout":
      return name === "LALM" || name === "ALST" || name === "MLST"
        ? {
          ...withoutStates(rec.support.meta!(rec)),
          control: [f.LOPR as number, f.HOPR as number],
        }
        : undefined;
    case "ao":
      return name === "IVOV"
        ? { ...withoutStates(rec.support.meta!(rec)), control: range }
        : undefined;
    case "waveform":
    case "aai":
    case "aao":
      if (name === "BUSY") return { display: [0, 1], control: [0, 1] };
      return name === "NORD"
        ? { display: [0, f.NELM as number], control: [0, f.NELM as number] }
        : undefined;
    case "subArray": {
      const malm = f.MALM as number;
      if (name === "BUSY") return { display: [0, 1], control: [0, 1] };
      if (name === "NORD") return { display: [0, malm], control: [0, malm] };
      if (name === "NELM") return { display: [0, malm], control: [1, malm] };
      if (name === "INDX") return { display: [0, malm - 1], control: [0, malm - 1] };
      return undefined;
    }
  }
  return undefined;
}

/** Record types whose inputs A..L (and LA..LL) describe themselves by their INPx target. */
const INPUTS_FROM_LINKS = new Set(["calc", "calcout", "sub"]);

/**
 * The input link whose target's metadata a field shows, as base's record supports ask
 * dbGetUnits/dbGetPrecision/dbGetGraphicLimits/dbGetAlarmLimits of it: INPx for calc,
 * calcout and sub fields A..L and LA..LL, DOL(n-1) for seq's DOn and LNKn.
 */
function metaLink(type: string, name: string): string | undefined {
  if (type === "aSub") {
    const m = /^(VAL)?([A-U])$/.exec(name);
    return m ? `${m[1] ? "OUT" : "INP"}${m[2]}` : undefined;
  }
  if (INPUTS_FROM_LINKS.has(type)) {
    const m = /^L?([A-L])$/.exec(name);
    return m ? `INP${m[1]}` : undefined;
  }
  if (type === "seq") {
    // Base's seq finds the group of DOn and LNKn one group too early (its link groups
    // start at DLY0): DOn and LNKn show what DOL(n-1) reads.
    const m = /^(DO|LNK)([1-9A-F])$/.exec(name);
    return m ? `DOL${(parseInt(m[2], 16) - 1).toString(16).toUpperCase()}` : undefined;
  }
  return undefined;
}

/** A loop of links (A of one calc reading A of another...) stops after this many. */
const MAX_META_DEPTH = 8;

/**
 * Metadata of a field described by a link. A DB link answers with the target field's
 * units, precision, display and alarm limits, as dbGet with those options gives them; a
 * CA link with the attributes dbCa got from its PV (a DBR_CTRL_DOUBLE get per connection;
 * for a record of this IOC the same as a DB link's, but none for a DBF_STRING PV);
 * constants, empty, hardware and CA links without attributes leave what the record
 * support pre-fills: no units, no display or alarm limits and the record's PREC (seq
 * clamps it as recGblGetPrec does). Control limits are always the field type's range
 * (recGblGetControlDouble).
 */
function linkedMeta(
  db: IocDatabase,
  rec: IocRecord,
  linkField: string,
  range: readonly [number, number] | undefined,
  depth: number,
): ValueMeta {
  const l = rec.links[linkField];
  // A CA link answers with the attributes dbCa fetched from its PV (while it has them).
  const ca = l?.kind === "pv" ? db.remoteAttributes(rec, linkField) : undefined;
  if (ca) {
    return {
      units: ca.units,
      precision: ca.precision,
      display: ca.display,
      control: range,
      alarm: { limits: ca.alarm, severities: [0, 0, 0, 0], hysteresis: 0 },
    };
  }
  const target = l?.kind === "pv" && depth < MAX_META_DEPTH ? db.record(l.record) : undefined;
  const spec = target?.type.byName.get(l?.kind === "pv" ? l.field : "");
  // A CA link to a record of this IOC goes through the in-process CA context: dbCa's
  // DBR_CTRL_DOUBLE get answers what a DB link's dbGet does, but a DBF_STRING PV (a
  // string or link field, an array of FTVL STRING) has none.
  const viaCa = l?.kind === "pv" && l.process === "CA";
  const text = spec &&
    (spec.type === "STRING" || spec.isLink || Array.isArray(target?.f[spec.name]));
  if (!target || !spec || (viaCa && text)) {
    let precision = rec.f.PREC as number;
    if (rec.type.name === "seq") precision = recGblPrec(precision);
    return { units: "", precision, display: [0, 0], control: range };
  }
  const t = fieldMeta(db, target, spec, depth + 1);
  // An array VAL (NOACCESS here) answers as its element type, which its meta accounts for.
  const floating = spec.type === "DOUBLE" || spec.type === "FLOAT" || spec.type === "NOACCESS";
  return {
    units: t.units ?? "",
    precision: floating ? t.precision ?? 0 : 0,
    display: t.display ?? [0, 0],
    control: range,
    // Attributes over CA carry the limits, not their severities.
    alarm: viaCa && t.alarm
      ? { limits: t.alarm.limits, severities: [0, 0, 0, 0], hysteresis: 0 }
      : t.alarm,
  };
}

/**
 * The metadata (units, precision, limits) base's record support answers for one field, as
 * dbGet with DBR_UNITS/DBR_PRECISION/DBR_GR_DOUBLE/DBR_CTRL_DOUBLE/DBR_AL_DOUBLE gives it.
 * @param db the database (link targets are looked up in it)
 * @param rec the record
 * @param field the field
 * @param depth how many links led here (a loop of links stops after a few)
 * @returns the metadata
 */
export function fieldMeta(db: IocDatabase, rec: IocRecord, field: FieldSpec, depth = 0): ValueMeta {
  const isVal = field.name === "VAL";
  const name = field.name;
  const own = rec.support.meta;
  const range = TYPE_RANGE[field.type];
  const special = specialMeta(rec, field, range);
  if (special) return special;
  const via = metaLink(rec.type.name, name);
  if (via) {
    const m = linkedMeta(db, rec, via, range, depth);
    // An array of integers has no precision (dbGet asks it of FLOAT/DOUBLE fields alone).
    const scalar = rec.support.arrayShape?.(rec, name)?.scalar;
    if (scalar && scalar !== "float64" && scalar !== "float32") return { ...m, precision: 0 };
    // A link field (seq's LNKn) has no precision and no control limits.
    return field.isLink ? { ...m, precision: 0, control: [0, 0] } : m;
  }
  // Links have no units, precision or limits (but seq's DOLn, see specialMeta).
  if (field.isLink) return NO_META;
  if (own && (isVal || VALUE_LIKE.has(name))) {
    const m = own(rec);
    if (isVal) return rec.type.name === "bo" ? { ...m, control: [0, 65535] } : m;
    const v = { ...withoutStates(m), precision: recGblPrec(m.precision ?? 0) };
    // Record supports that answer display limits for these fields but not control ones
    // (dfanout), or neither (calcout's OVAL), leave base's defaults: the type's range.
    if (rec.type.name === "calcout" && (name === "OVAL" || name === "POVL")) {
      return { units: v.units, precision: v.precision, display: range, control: range };
    }
    if (rec.type.name === "dfanout") return { ...v, control: range };
    return v;
  }
  const t = field.type;
  // Record types whose support has no display-limit routine report none (bi, fanout...);
  // bo reports its fields' type ranges as control limits.
  if (!HAS_GRAPHIC.has(rec.type.name)) {
    if (rec.type.name !== "bo") return NO_META;
    const c = t === "ENUM" ? [0, 65535] as const : range;
    return c ? { control: c } : NO_META;
  }
  const f = rec.f;
  if (rec.type.name === "compress" && (name === "IHIL" || name === "ILIL")) {
    // compress's input limits: EGU, PREC, LOPR..HOPR for display and control.
    const d = [f.LOPR as number, f.HOPR as number] as const;
    return {
      units: f.EGU as string,
      precision: recGblPrec(f.PREC as number),
      display: d,
      control: d,
    };
  }
  if (INPUT_LIKE.test(name) && (t === "DOUBLE" || t === "FLOAT")) {
    // Other inputs: display limits of the record (or none), no units, the type's range.
    const d = typeof f.HOPR === "number" ? [f.LOPR as number, f.HOPR] as const : [0, 0] as const;
    return { display: d, control: range };
  }
  // longin/longout give EGU to their LONG fields, int64in/int64out to their INT64 ones;
  // ai/ao to their DOUBLE fields but the conversion ones; no one to SDLY.
  const integerEgu = (t === "LONG" && rec.type.name.startsWith("long")) ||
    (t === "INT64" && rec.type.name.startsWith("int64"));
  const noEgu = (name === "SDLY" && rec.type.name === "waveform") ||
    /^(long|int64)/.test(rec.type.name) && !integerEgu ||
    ((rec.type.name === "ai" || rec.type.name === "ao") && /^(ASLO|AOFF|SMOO)$/.test(name));
  if (t === "ENUM") return { display: [0, 0], control: [0, 65535] };
  if (t === "MENU" || t === "DEVICE" || t === "STRING") return NO_META;
  const floating = t === "DOUBLE" || t === "FLOAT";
  return {
    units: (floating || integerEgu) && !noEgu && typeof f.EGU === "string" ? f.EGU : "",
    precision: floating && typeof f.PREC === "number" ? recGblPrec(f.PREC) : 0,
    display: range,
    control: range,
  };
}

/** Records whose bad `info(Q:form)` was reported (once, not per channel). */
const badFormReported = new WeakSet<IocRecord>();

/**
 * The display.form index of a record's channels: its `info(Q:form, ...)`, or 0. A value
 * that is neither a form name nor an integer is reported (naming the record) and ignored.
 * @param db where the report goes (its warn)
 * @param rec the record
 * @returns the index
 */
export function recordForm(db: IocDatabase, rec: IocRecord): number {
  const text = rec.infos.get("Q:form");
  if (text === undefined) return 0;
  try {
    return formIndex(text);
  } catch (e) {
    if (!badFormReported.has(rec)) {
      badFormReported.add(rec);
      db.warn(`${rec.name}: info(Q:form, "${text}") is not known format: ${(e as Error).message}`);
    }
    return 0;
  }
}

/** A channel onto one field of one record. */
export class FieldChannel implements ServedPv {
  /** The channel name. */
  readonly name: string;
  /** The fixed type. */
  readonly type: PvTypeInfo;
  /** The record. */
  readonly record: IocRecord;
  /** The field. */
  readonly field: FieldSpec;
  readonly #db: IocDatabase;

  /** The record's name (what RSRV's error replies name). */
  get recordName(): string {
    return this.record.name;
  }
  readonly #long: boolean;
  readonly #isVal: boolean;
  /** Whether this is a `$` channel (a string or link field as chars). */
  get long(): boolean {
    return this.#long;
  }
  readonly #viaLink: boolean;
  #listeners = new Set<PvListener>();
  #unwatch: (() => void) | undefined;

  /** Creates the channel (use {@link IocProvider.lookup}). */
  constructor(db: IocDatabase, name: string, record: IocRecord, field: FieldSpec, long: boolean) {
    this.#db = db;
    this.name = name;
    this.record = record;
    this.field = field;
    this.#long = long;
    this.#isVal = field.name === "VAL";
    this.#viaLink = metaLink(record.type.name, field.name) !== undefined;
    this.type = this.#typeInfo();
  }

  /** The channel's type, served over PVA in QSRV's layout; text puts go to dbPut's rules. */
  #typeInfo(): PvTypeInfo {
    return { ...this.#fieldType(), layout: "qsrv", parsesText: true };
  }

  #fieldType(): PvTypeInfo {
    const f = this.field;
    const rec = this.record;
    if (this.#long) {
      const size = rec.support.longString?.(rec) ?? (f.isLink ? LINK_CHARS : f.size ?? 40);
      // DBF_CHAR, signed as in base: a UTF-8 byte reads as -61 through DBR_DOUBLE and as
      // int8[] over PVA (softIocPVA's byte[]).
      return { kind: "array", scalar: "int8", maxLength: size };
    }
    if (f.isLink) return { kind: "scalar", scalar: "string", maxLength: 1, link: true };
    if (f.type === "NOACCESS") {
      const shape = rec.support.arrayShape?.(rec, f.name);
      if (shape) return { kind: "array", scalar: shape.scalar, maxLength: shape.max };
      return { kind: "scalar", scalar: "string", maxLength: 1 };
    }
    const dbf = this.#isVal ? rec.support.valueDbf?.(rec) ?? f.type : f.type;
    if (dbf === "MENU" || dbf === "DEVICE" || dbf === "ENUM") {
      return { kind: "enum", scalar: "uint16", maxLength: 1 };
    }
    return { kind: "scalar", scalar: SCALAR_OF_DBF[dbf], maxLength: 1 };
  }

  /**
   * Whether a channel made now would have another type (an mbbo's VAL once its states
   * are defined or gone): each new channel gets the type of its time, as in base.
   */
  get outdated(): boolean {
    const rec = this.record;
    if (!this.#isVal || !rec.support.valueDbf) return false;
    const dbf = rec.support.valueDbf(rec) ?? this.field.type;
    return (this.type.kind === "enum") !== (dbf === "ENUM");
  }

  #value(): PvValue {
    const rec = this.record;
    const v = this.field.isLink ? this.#db.linkText(rec, this.field.name) : rec.f[this.field.name];
    if (this.#long) {
      // A long string never written has no elements (lsi, lso, printf: get_array_info
      // gives LEN, 0 until the first write; softIocPVA serves an empty array).
      if (this.#isVal && rec.support.longString && rec.f.LEN === 0) return new Int8Array(0);
      const chars = textToChars(typeof v === "string" ? v : String(v), this.type.maxLength);
      return new Int8Array(chars.buffer, chars.byteOffset, chars.length);
    }
    if (this.type.kind === "array") {
      const shape = rec.support.arrayShape?.(rec, this.field.name);
      const n = shape ? Math.min(rec.f[shape.countField] as number, shape.max) : 0;
      const a = v as Exclude<FieldValue, number | string>;
      return a.slice(0, n) as PvValue;
    }
    if (typeof v === "string" && this.type.scalar === "string") {
      // CA strings hold 39 characters and the NUL.
      return cutUtf8(v, 39);
    }
    return v as PvValue;
  }

  #snap: PvSnapshot | undefined;
  #snapVersion = -1;

  /** The current state (cached until the record changes). */
  snapshot(): PvSnapshot {
    const rec = this.record;
    // Metadata read through a link changes with another record: no cache then.
    if (this.#snap && this.#snapVersion === rec.version && !this.#viaLink) return this.#snap;
    const snap = this.#build();
    this.#snap = snap;
    this.#snapVersion = rec.version;
    return snap;
  }

  #build(): PvSnapshot {
    const rec = this.record;
    const f = rec.f;
    const meta = this.#meta();
    const display = meta.display ?? [0, 0];
    const control = meta.control ?? display;
    const al = meta.alarm;
    let choices: readonly string[] | undefined;
    if (this.type.kind === "enum") {
      choices = this.field.type === "ENUM" ? meta.choices ?? [] : this.field.choices ?? [];
    }
    return {
      value: this.#value(),
      alarm: { severity: f.SEVR as number, status: f.STAT as number, message: f.AMSG as string },
      timeStamp: rec.time,
      display: {
        limitLow: display[0],
        limitHigh: display[1],
        description: f.DESC as string,
        units: meta.units ?? "",
        precision: meta.precision ?? 0,
        form: recordForm(this.#db, rec),
      },
      control: { limitLow: control[0], limitHigh: control[1], minStep: 0 },
      valueAlarm: {
        active: al !== undefined,
        lowAlarmLimit: al?.limits[0] ?? NaN,
        lowWarningLimit: al?.limits[1] ?? NaN,
        highWarningLimit: al?.limits[2] ?? NaN,
        highAlarmLimit: al?.limits[3] ?? NaN,
        lowAlarmSeverity: al?.severities[0] ?? 0,
        lowWarningSeverity: al?.severities[1] ?? 0,
        highWarningSeverity: al?.severities[2] ?? 0,
        highAlarmSeverity: al?.severities[3] ?? 0,
        hysteresis: al?.hysteresis ?? 0,
      },
      choices,
      enumText: this.type.kind === "enum" && this.#isVal ? rec.support.enumText?.(rec) : undefined,
    };
  }

  #meta(): ValueMeta {
    return fieldMeta(this.#db, this.record, this.field);
  }

  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: PvListener): () => void {
    this.#listeners.add(listener);
    if (!this.#unwatch) {
      this.#unwatch = this.#db.watch(this.record, this.field.name, (mask) => {
        const snap = this.snapshot();
        for (const l of this.#listeners) l(snap, mask);
      });
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#unwatch) {
        this.#unwatch();
        this.#unwatch = undefined;
      }
    };
  }

  /** Whether `ctx` may write (ACF, and not a read-only field). */
  canWrite(ctx?: PutContext): boolean {
    if (this.field.special === "SPC_NOMOD") return false;
    if (this.field.type === "NOACCESS" && !this.type.maxLength) return false;
    return this.#db.accessFor(
      this.record,
      this.field.name,
      ctx ?? { protocol: "local", user: "", host: "" },
    ) === "WRITE";
  }

  /** Tells `listener` when the record's access rights may have changed (ACF inputs, ASG). */
  watchAccess(listener: () => void): () => void {
    return this.#db.watchAccess(this.record, listener);
  }

  /** Whether `ctx` may read (ACF level READ or WRITE; NONE refuses gets and monitors). */
  canRead(ctx?: PutContext): boolean {
    return this.#db.accessFor(
      this.record,
      this.field.name,
      ctx ?? { protocol: "local", user: "", host: "" },
    ) !== "NONE";
  }

  /** Acknowledges the record's alarm (dbPut of DBR_PUT_ACKT / DBR_PUT_ACKS). */
  acknowledgeAlarm(what: "ACKT" | "ACKS", value: number, ctx: PutContext): void {
    this.#db.acknowledgeAlarm(this.record, this.field.name, what, value, ctx);
  }

  /**
   * Processes the record (dbProcess, as QSRV's "proc" group members do: PROC is not
   * written; an active record is marked to process again, RPRO).
   * @throws PutRefusedError when `ctx` may not write this field
   */
  processRecord(ctx: PutContext): void {
    if (!this.canWrite(ctx)) throw new PutRefusedError("Process not permitted", "readonly");
    const rec = this.record;
    if (rec.f.PACT) rec.f.RPRO = 1;
    else this.#db.process(rec);
  }

  /** Writes the field (dbPutField); resolves when the processing it started has completed. */
  put(value: unknown, ctx: PutContext): Promise<void> {
    let v = value as FieldValue | boolean;
    if (this.#long && typeof value === "object" && value !== null && !Array.isArray(value)) {
      v = charsToText(value as ArrayLike<number>);
    } else if (this.#long && Array.isArray(value)) {
      v = String(value[0] ?? "");
    }
    if (typeof v === "bigint") v = Number(v);
    if (typeof v === "object" && this.type.kind !== "array" && !(Array.isArray(v) && v.length)) {
      const first = (v as ArrayLike<unknown>)[0];
      if (first === undefined) {
        return Promise.reject(new PutRefusedError("Empty value", "type"));
      }
    }
    return this.#db.putRecordField(this.record, this.field.name, v, ctx);
  }
}

/** RTYP, the record type's name: no field of the .dbd tables, but every record answers it. */
const RTYP: FieldSpec = {
  name: "RTYP",
  type: "STRING",
  special: "SPC_NOMOD",
  size: 40,
  index: -1,
  isLink: false,
};

/** Every monitor mask bit: what a plain subscribe of a filtered channel listens to. */
const ALL_CHANGES = 0xf;

/**
 * A channel whose name carries filters: reads and each subscription's updates go through
 * them (a subscription's dbnd, dec, sync and utag state is its own); puts, access rights
 * and alarm acknowledgement go to the field as base's dbChannel sends them.
 */
export class FilteredChannel implements ServedPv {
  /** The channel name, filters included. */
  readonly name: string;
  /** The type after the filters (arr narrows arrays, ts may turn the value into its time). */
  readonly type: PvTypeInfo;
  /** The filters, in the order of the name. */
  readonly filters: readonly ChannelFilter[];
  readonly #inner: FieldChannel;
  readonly #chain: FilterChain;

  /** The record's name (what RSRV's error replies name). */
  get recordName(): string {
    return this.#inner.record.name;
  }

  /**
   * @param inner the channel onto the field
   * @param name the full name
   * @param filters the filters of the name
   */
  constructor(
    db: IocDatabase,
    inner: FieldChannel,
    name: string,
    filters: readonly ChannelFilter[],
  ) {
    this.#inner = inner;
    this.name = name;
    this.filters = filters;
    this.type = { ...filteredType(inner.type, filters), layout: "qsrv" };
    const rec = inner.record;
    this.#chain = new FilterChain(filters, inner.type, {
      now: () => epicsTimeFromMillis(db.now()),
      state: (s) => db.dbStateFind(s)?.value ?? false,
      utag: () => {
        const u = rec.f.UTAG as unknown;
        return typeof u === "bigint" ? u : BigInt(Math.trunc(Number(u ?? 0)));
      },
    });
  }

  /** The record. */
  get record(): IocRecord {
    return this.#inner.record;
  }

  /** The field. */
  get field(): FieldSpec {
    return this.#inner.field;
  }

  /** Whether the field's channel would now have another type (see FieldChannel). */
  get outdated(): boolean {
    return this.#inner.outdated;
  }

  /** A read through the filters. */
  snapshot(): PvSnapshot {
    const r = this.#chain.read(this.#source(this.#inner.snapshot()));
    return r.unfiltered ? this.#asType(r.snap) : this.#result(r.snap);
  }

  /** What the filters see: a `$` channel's whole buffer (base filters all its elements). */
  #source(snap: PvSnapshot): PvSnapshot {
    const v = snap.value;
    const max = this.#inner.type.maxLength;
    if (!this.#inner.long || !(v instanceof Int8Array) || v.length >= max) return snap;
    const full = new Int8Array(max);
    full.set(v);
    return { ...snap, value: full };
  }

  /**
   * What the filters made, as dbGet hands it out: the chars of a string field end in a
   * NUL at the last element and are cut after the first NUL.
   */
  #result(snap: PvSnapshot): PvSnapshot {
    const v = snap.value;
    if (!this.#inner.long || this.field.type !== "STRING" || !(v instanceof Int8Array)) {
      return snap;
    }
    if (v.length === 0) return snap;
    const out = v.slice();
    out[out.length - 1] = 0;
    return { ...snap, value: out.subarray(0, out.indexOf(0) + 1) };
  }

  /**
   * The field's own state in this channel's type, for a read the filters cut short (dbnd
   * drops reads of scalars, so base reads the field as it is and converts it).
   */
  #asType(snap: PvSnapshot): PvSnapshot {
    const t = this.type;
    const v = snap.value;
    if (t.scalar === "string" && typeof v !== "string") return { ...snap, value: String(v) };
    if (t.kind === "array" && typeof v === "number") {
      return { ...snap, value: Float64Array.of(v) };
    }
    return snap;
  }

  /** Registers a listener for every update the filters pass (none for the current state). */
  subscribe(listener: PvListener): () => void {
    return this.#open(ALL_CHANGES, listener, false);
  }

  /** A monitor: the current state, then updates within `mask`, each through the filters. */
  monitor(mask: number, listener: PvListener): () => void {
    return this.#open(mask, listener, true);
  }

  #open(mask: number, listener: PvListener, initial: boolean): () => void {
    const filter = this.#chain.subscription();
    const emit = (snap: PvSnapshot, m: number) => {
      const out = filter(this.#source(snap), m);
      if (out) listener(this.#result(out.snap), out.mask);
    };
    const stop = this.#inner.subscribe((snap, changes) => {
      const m = changes & mask;
      if (m) emit(snap, m);
    });
    // base posts the first update of a subscription through the filters, with its mask;
    // QSRV's value subscription, whose first update a PVA monitor gets, leaves out
    // DBE_PROPERTY (which dec, sync and utag let through uncounted).
    if (initial) emit(this.#inner.snapshot(), mask & ~PvChange.PROPERTY || mask);
    return stop;
  }

  /** Whether `ctx` may write. */
  canWrite(ctx?: PutContext): boolean {
    return this.#inner.canWrite(ctx);
  }

  /** Whether `ctx` may read. */
  canRead(ctx?: PutContext): boolean {
    return this.#inner.canRead(ctx);
  }

  /** Tells `listener` when the record's access rights may have changed. */
  watchAccess(listener: () => void): () => void {
    return this.#inner.watchAccess(listener);
  }

  /** Acknowledges the record's alarm. */
  acknowledgeAlarm(what: "ACKT" | "ACKS", value: number, ctx: PutContext): void {
    this.#inner.acknowledgeAlarm(what, value, ctx);
  }

  /** Writes the field, unfiltered, as base's dbChannelPutField does. */
  put(value: unknown, ctx: PutContext): Promise<void> {
    return this.#inner.put(value, ctx);
  }
}

/** Where the provider reports what base's dbChannelCreate prints about a refused name. */
export interface IocProviderOptions {
  /** errlog lines (base: the IOC's stderr), each without its newline. */
  warn?: (line: string) => void;
  /** printf text (base: stdout), newlines included. */
  print?: (text: string) => void;
}

/**
 * Serves a database's records over any protocol server that takes a provider.
 * @example
 * ```ts
 * import { IocDatabase } from "./database.ts";
 * import { IocProvider } from "./provider.ts";
 * const db = new IocDatabase();
 * db.load([{ type: "ai", name: "t", fields: [{ name: "EGU", value: "mm", file: "x", line: 1 }],
 *   infos: [], aliases: [], file: "x", line: 1 }]);
 * db.init();
 * const p = new IocProvider(db);
 * if (p.lookup("t")?.snapshot().display.units !== "mm") throw new Error();
 * if (p.lookup("t.SCAN")?.type.kind !== "enum" || p.lookup("t.NOPE")) throw new Error();
 * db.close();
 * ```
 */
export class IocProvider implements PvProvider {
  readonly #db: IocDatabase;
  readonly #channels = new Map<string, FieldChannel | FilteredChannel | null>();
  readonly #opts: IocProviderOptions;
  #groups: Map<string, GroupPv> | undefined;

  /** Creates the provider over a database (iocInit may come later). */
  constructor(db: IocDatabase, options: IocProviderOptions = {}) {
    this.#db = db;
    this.#opts = options;
  }

  /**
   * The QSRV group PVs of the records' `info(Q:group, ...)`, made on first use after
   * iocInit (problems go to the database's warn then; call this once iocInit is done to
   * report them at start-up, as QSRV does).
   * @returns the groups by name (empty before iocInit)
   */
  groups(): ReadonlyMap<string, GroupPv> {
    if (this.#groups) return this.#groups;
    if (!this.#db.initialized) return new Map();
    this.#groups = buildGroups(
      this.#db.records(),
      // Members name plain fields (a filtered name is no member QSRV would map).
      (n) => {
        const c = this.#channel(n);
        return c instanceof FieldChannel ? c : undefined;
      },
      (n) => this.#db.record(n) !== undefined,
      (m) => this.#db.warn(m),
    );
    return this.#groups;
  }

  /**
   * Finds `REC`, `REC.FIELD`, `REC.FIELD$`, `REC.` (VAL), each optionally followed by an
   * array range and filters (`REC.VAL[2:4]{"ts":{}}`), or a group (PVA only: CA does not
   * serve it). A refused name is reported once (what base prints on each attempt to create
   * its channel), as misses are remembered.
   */
  lookup(name: string): FieldChannel | FilteredChannel | GroupPv | undefined {
    return this.#channel(name) ?? this.groups().get(name);
  }

  #channel(name: string): FieldChannel | FilteredChannel | undefined {
    const hit = this.#channels.get(name);
    if (hit !== undefined && !hit?.outdated) return hit ?? undefined;
    if (!this.#db.initialized) return undefined;
    const ch = this.#make(name);
    // Remember misses too (bounded): clients search for many names that are not here.
    if (ch || this.#channels.size < 100000) this.#channels.set(name, ch ?? null);
    return ch;
  }

  #make(name: string): FieldChannel | FilteredChannel | undefined {
    // As dbChannelCreate: the record and field first, then `$`, a range and filters.
    const parts = splitChannelName(name);
    const rec = this.#db.record(parts.record);
    if (!rec) return undefined;
    const field = parts.field;
    const spec = field === "RTYP" ? RTYP : rec.type.byName.get(field);
    if (!spec) return undefined;
    if (spec.type === "NOACCESS") {
      const shaped = rec.support.arrayShape?.(rec, field) !== undefined ||
        (field === "VAL" && rec.support.longString !== undefined);
      if (!shaped) return undefined;
    }
    const long = parts.tail.startsWith("$");
    if (long && !(spec.type === "STRING" || spec.isLink || rec.support.longString)) {
      return undefined;
    }
    let filters: readonly ChannelFilter[] = [];
    if (parts.tail !== "" && parts.tail !== "$") {
      try {
        filters = parseChannelTail(parts.tail, (s) =>
          this.#db.dbStateFind(s) !== undefined).filters;
      } catch (e) {
        if (!(e instanceof ChannelNameError)) throw e;
        if (e.console && e.errlog) this.#opts.warn?.(e.console.replace(/\n$/, ""));
        else if (e.console) this.#opts.print?.(e.console);
        return undefined;
      }
    }
    const ch = new FieldChannel(this.#db, name, rec, spec, long);
    return filters.length ? new FilteredChannel(this.#db, ch, name, filters) : ch;
  }

  /** The record names and the group names (fields are reachable by lookup, not listed). */
  *names(): Iterable<string> {
    yield* this.#db.names();
    yield* this.groups().keys();
  }
}
