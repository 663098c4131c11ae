/**
 * Channel names with filters, as EPICS base 7.0.8.1's dbChannel reads them: `REC`,
 * `REC.FIELD`, `REC.` (VAL), then optionally `$` (a string or link field as chars), an
 * array range `[s]`, `[s:e]` or `[s:i:e]`, and a JSON5 map of filters
 * (`{"arr":{"s":2,"e":4}}`, `{dbnd:{abs:1.5}}`, `{"ts":{}}`, `{"dec":{"n":5}}`,
 * `{"sync":{"m":"while","s":"X"}}`, `{"utag":{"V":1}}`), in that order. The filters act
 * as base's std/filters do: arr picks elements (negative indices count from the end), dbnd
 * drops monitor updates within a deadband, ts stamps the time of the read or post (or
 * turns the value into the record's time stamp), dec passes every n-th update, sync passes
 * updates by a dbState flag, utag by the record's UTAG. Pure: no I/O, time comes in.
 * @module
 */

import { POSIX_TIME_AT_EPICS_EPOCH } from "../core/time.ts";
import type { EpicsTimeStamp } from "../core/time.ts";
import type { PvSnapshot, PvTypeInfo, PvValue } from "../pv/types.ts";
import { Json5Error, type Json5Node, parseJson5 } from "./json5.ts";
import { strtolInt32 } from "./_c_number.ts";
import { yajlError, yajlText } from "./_yajl_error.ts";

/** How the arr filter picks elements: first, step and last index (negative: from the end). */
export interface ArrFilter {
  readonly name: "arr";
  readonly start: number;
  readonly incr: number;
  readonly end: number;
}

/** The dbnd filter: a deadband on the value, absolute or in percent of the last value sent. */
export interface DbndFilter {
  readonly name: "dbnd";
  readonly mode: "abs" | "rel";
  readonly delta: number;
}

/** What the ts filter does: stamp the time of the read or post, or replace the value by the time stamp. */
export type TsMode = "generate" | "dbl" | "sec" | "nsec" | "ts" | "epics" | "iso";

/** The ts filter. */
export interface TsFilter {
  readonly name: "ts";
  readonly mode: TsMode;
  /** Seconds counted from the EPICS epoch (1990) or the POSIX one (1970). */
  readonly epoch: "epics" | "unix";
}

/** The dec filter: one monitor update of every n. */
export interface DecFilter {
  readonly name: "dec";
  readonly n: number;
}

/** The sync filter's modes. */
export type SyncMode = "before" | "first" | "last" | "after" | "while" | "unless";

/** The sync filter: updates passed or held by a dbState flag. */
export interface SyncFilter {
  readonly name: "sync";
  readonly mode: SyncMode;
  /** The dbState flag's name. */
  readonly state: string;
}

/** The utag filter: updates whose record UTAG, masked, equals a value. */
export interface UtagFilter {
  readonly name: "utag";
  readonly mask: number;
  readonly value: number;
}

/** One filter of a channel name. */
export type ChannelFilter =
  | ArrFilter
  | DbndFilter
  | TsFilter
  | DecFilter
  | SyncFilter
  | UtagFilter;

/** A channel name split at its first `.`: the record, the field and what follows the field. */
export interface ChannelNameParts {
  /** The record name (everything before the first `.`, or the whole name). */
  readonly record: string;
  /** The field name ("VAL" when the name has none). */
  readonly field: string;
  /** The text after the field name: `$`, a range and filters, or "". */
  readonly tail: string;
}

/** What follows a channel name's field, parsed. */
export interface ChannelTail {
  /** Whether `$` followed the field. */
  readonly long: boolean;
  /** The filters, in the order given. */
  readonly filters: readonly ChannelFilter[];
}

/** Why a name's filter part was refused, with the console lines base prints for it. */
export class ChannelNameError extends Error {
  /** What base prints on the IOC console, or "" when it prints nothing. */
  readonly console: string;
  /** Whether base prints it through errlog (stderr) rather than printf (stdout). */
  readonly errlog: boolean;
  /**
   * @param message what was wrong
   * @param console the console text base prints for it
   * @param errlog whether that goes through errlog
   */
  constructor(message: string, console = "", errlog = false) {
    super(message);
    this.name = "ChannelNameError";
    this.console = console;
    this.errlog = errlog;
  }
}

/** The field name part: a C identifier, as dbFindFieldPart measures it. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Splits a channel name as dbFindRecordPart and dbFindFieldPart do: the record is what
 * precedes the first `.` (a name without one is a record name alone), the field the
 * identifier after it (none: VAL), the tail whatever is left.
 * @param name the channel name
 * @returns the parts
 * @example
 * ```ts
 * import { splitChannelName } from "./channel_filters.ts";
 * const p = splitChannelName("wf.[2:4]");
 * if (p.record !== "wf" || p.field !== "VAL" || p.tail !== "[2:4]") throw new Error();
 * ```
 */
export function splitChannelName(name: string): ChannelNameParts {
  const dot = name.indexOf(".");
  if (dot < 0) return { record: name, field: "VAL", tail: "" };
  const rest = name.slice(dot + 1);
  const m = FIELD_NAME.exec(rest);
  return {
    record: name.slice(0, dot),
    field: m ? m[0] : "VAL",
    tail: rest.slice(m ? m[0].length : 0),
  };
}

/**
 * Parses what follows the field, as dbChannelCreate does: an optional `$`, then an optional
 * array range `[s]`, `[s:e]` or `[s:i:e]`, then an optional JSON5 map of filters, then nothing.
 * @param tail the text after the field name
 * @param hasState whether a dbState flag of a name exists (sync refuses others)
 * @returns the parts
 * @throws ChannelNameError when the text is not valid
 * @example
 * ```ts
 * import { parseChannelTail } from "./channel_filters.ts";
 * const t = parseChannelTail("[2:4]{ts:{}}");
 * if (t.long || t.filters.length !== 2 || t.filters[0].name !== "arr") throw new Error();
 * ```
 */
export function parseChannelTail(
  tail: string,
  hasState: (name: string) => boolean = () => false,
): ChannelTail {
  let rest = tail;
  let long = false;
  const filters: ChannelFilter[] = [];
  if (rest.startsWith("$")) {
    long = true;
    rest = rest.slice(1);
  }
  if (rest.startsWith("[")) {
    const r = parseRange(rest);
    filters.push(r.filter);
    rest = rest.slice(r.length);
  }
  if (rest.startsWith("{")) {
    filters.push(...parseFilterMap(rest, hasState));
    rest = "";
  }
  if (rest !== "") throw new ChannelNameError(`Unexpected "${rest}" after the field name`);
  return { long, filters };
}

/** `[s]`, `[s:e]`, `[s:i:e]` (any part may be empty but the lone one): parseArrayRange. */
function parseRange(s: string): { filter: ArrFilter; length: number } {
  const bad = () => new ChannelNameError(`Bad array range "${s}"`);
  let start = 0;
  let end = -1;
  let incr = 1;
  let p = 1;
  let n = strtolInt32(s, p);
  let exist = n.end > p;
  if (exist) start = n.value;
  p = n.end;
  const done = (at: number) => ({
    filter: { name: "arr", start, incr: incr <= 0 ? 1 : incr, end } as const,
    length: at + 1,
  });
  if (s[p] === "]" && exist) {
    end = start;
    return done(p);
  }
  if (s[p] !== ":") throw bad();
  p++;
  n = strtolInt32(s, p);
  exist = n.end > p;
  p = n.end;
  if (s[p] === "]") {
    if (exist) end = n.value;
    return done(p);
  }
  if (exist) incr = n.value;
  if (s[p] !== ":") throw bad();
  p++;
  n = strtolInt32(s, p);
  if (n.end > p) end = n.value;
  p = n.end;
  if (s[p] !== "]") throw bad();
  return done(p);
}

/** An option of a filter, as base's chfPlugin describes it. */
interface Option {
  name: string;
  type: "int" | "double" | "string" | "enum";
  /** Whether other JSON types are converted (chfPlugin's `convert`). */
  convert: boolean;
  /** Storage slot: options sharing one are the same setting. */
  slot: string;
  choices?: readonly string[];
  /** A tagged option also sets `tagSlot` to `tag`. */
  tagSlot?: string;
  tag?: string;
  required?: boolean;
  /** Largest string stored (the buffer size less the NUL). */
  size?: number;
}

type Settings = Record<string, number | string>;

const OPTIONS: Record<string, { opts: readonly Option[]; defaults: Settings }> = {
  arr: {
    opts: [
      { name: "s", type: "int", convert: true, slot: "s" },
      { name: "i", type: "int", convert: true, slot: "i" },
      { name: "e", type: "int", convert: true, slot: "e" },
    ],
    defaults: { s: 0, i: 1, e: -1 },
  },
  dbnd: {
    opts: [
      { name: "d", type: "double", convert: true, slot: "d" },
      { name: "m", type: "enum", convert: true, slot: "m", choices: ["abs", "rel"] },
      { name: "abs", type: "double", convert: true, slot: "d", tagSlot: "m", tag: "abs" },
      { name: "rel", type: "double", convert: true, slot: "d", tagSlot: "m", tag: "rel" },
    ],
    defaults: { d: 0, m: "abs" },
  },
  ts: {
    opts: [
      {
        name: "num",
        type: "enum",
        convert: false,
        slot: "num",
        choices: ["dbl", "sec", "nsec", "ts"],
      },
      { name: "epoch", type: "enum", convert: false, slot: "epoch", choices: ["epics", "unix"] },
      { name: "str", type: "enum", convert: false, slot: "str", choices: ["epics", "iso"] },
    ],
    defaults: { num: "", epoch: "epics", str: "" },
  },
  dec: {
    opts: [{ name: "n", type: "int", convert: false, slot: "n", required: true }],
    defaults: { n: 0 },
  },
  sync: {
    opts: [
      {
        name: "m",
        type: "enum",
        convert: true,
        slot: "m",
        required: true,
        choices: ["before", "first", "last", "after", "while", "unless"],
      },
      { name: "s", type: "string", convert: false, slot: "s", required: true, size: 19 },
      ...["before", "first", "last", "after", "while", "unless"].map((t): Option => ({
        name: t,
        type: "string",
        convert: false,
        slot: "s",
        tagSlot: "m",
        tag: t,
        required: true,
        size: 19,
      })),
    ],
    defaults: { m: "", s: "" },
  },
  utag: {
    opts: [
      { name: "M", type: "int", convert: true, slot: "M" },
      { name: "V", type: "int", convert: true, slot: "V" },
    ],
    defaults: { M: -1, V: 0 },
  },
};

/** epicsParseInt32(text, 0, &units): leading blanks, a number, anything after it. */
function parseIntText(s: string): number | undefined {
  const n = strtolInt32(s, 0);
  if (n.end === 0) return undefined;
  return n.value;
}

/** Stores one JSON value into an option, as chfPlugin's store_*_value; false refuses it. */
function store(opt: Option, v: Json5Node, into: Settings): boolean {
  const t = v.t;
  if (t === "null" || t === "map" || t === "array") return false;
  // parse_integer takes only what fits an epicsInt32, whatever the option's type.
  if (t === "int" && !(v.v >= -2147483648 && v.v <= 2147483647)) return false;
  const native = (t === "int" && opt.type === "int") ||
    (t === "double" && opt.type === "double") ||
    (t === "string" && (opt.type === "string" || opt.type === "enum"));
  if (!native && !opt.convert) return false;
  switch (opt.type) {
    case "int":
      if (t === "int") into[opt.slot] = v.v;
      else if (t === "bool") into[opt.slot] = v.v ? 1 : 0;
      else if (t === "double") {
        if (!(v.v >= -2147483648 && v.v <= 2147483647)) return false;
        into[opt.slot] = Math.trunc(v.v);
      } else {
        const n = parseIntText(v.v);
        if (n === undefined) return false;
        into[opt.slot] = n;
      }
      return true;
    case "double":
      if (t === "bool") into[opt.slot] = v.v ? 1 : 0;
      else if (t === "string") {
        const n = Number.parseFloat(v.v);
        if (Number.isNaN(n) && !/^\s*[+-]?nan/i.test(v.v)) return false;
        into[opt.slot] = n;
      } else into[opt.slot] = v.v;
      return true;
    case "string":
      if (t !== "string") return false;
      into[opt.slot] = v.v.slice(0, opt.size ?? 40);
      return true;
    case "enum": {
      const choices = opt.choices!;
      if (t === "string") {
        // chfPlugin compares the value's length only: a prefix of a choice picks it.
        const hit = choices.find((c) => c.startsWith(v.v));
        if (hit === undefined) return false;
        into[opt.slot] = hit;
        return true;
      }
      if (t === "int" && v.v >= 0 && v.v < choices.length) {
        into[opt.slot] = choices[v.v];
        return true;
      }
      return false;
    }
  }
}

/** The settings of one filter from its JSON value, or undefined when chfPlugin refuses them. */
function readOptions(filter: string, v: Json5Node): Settings | undefined {
  const def = OPTIONS[filter];
  if (v.t !== "map") return undefined;
  const into: Settings = { ...def.defaults };
  const found = new Set<string>();
  let next: Option | undefined;
  // Keys of nested maps count as the filter's own (chfPlugin keeps one level of state).
  const walk = (node: Json5Node & { t: "map" }): boolean => {
    for (const [key, value] of node.entries) {
      // chfPlugin compares the key's length only: a prefix of an option's name picks it.
      next = def.opts.find((o) => o.name.startsWith(key));
      if (!next) return false;
      found.add(next.slot);
      if (next.tagSlot) {
        found.add(next.tagSlot);
        into[next.tagSlot] = next.tag!;
      }
      if (value.t === "map") {
        if (!walk(value)) return false;
      } else if (!store(next, value, into)) return false;
    }
    return true;
  };
  if (!walk(v)) return undefined;
  for (const o of def.opts) if (o.required && !found.has(o.slot)) return undefined;
  return into;
}

/** The filter a filter map's entry names, or undefined when its options are refused. */
function makeFilter(
  name: string,
  s: Settings,
  hasState: (name: string) => boolean,
): ChannelFilter | undefined {
  switch (name) {
    case "arr":
      return {
        name,
        start: s.s as number,
        incr: (s.i as number) <= 0 ? 1 : s.i as number,
        end: s.e as number,
      };
    case "dbnd":
      return { name, mode: s.m as "abs" | "rel", delta: s.d as number };
    case "ts": {
      const mode = (s.str || s.num || "generate") as TsMode;
      return { name, mode, epoch: s.epoch as "epics" | "unix" };
    }
    case "dec":
      return (s.n as number) < 1 ? undefined : { name, n: s.n as number };
    case "sync":
      return hasState(s.s as string)
        ? { name, mode: s.m as SyncMode, state: s.s as string }
        : undefined;
    case "utag":
      return { name, mask: s.M as number, value: s.V as number };
  }
  return undefined;
}

function parseFilterMap(json: string, hasState: (name: string) => boolean): ChannelFilter[] {
  let tree: Json5Node;
  try {
    tree = parseJson5(json);
  } catch (e) {
    if (!(e instanceof Json5Error)) throw e;
    // An unfinished text is refused without a word (yajl's premature EOF is not reported).
    if (e.offset >= json.length) throw new ChannelNameError(`Unfinished filter text: ${e.message}`);
    const [kind, text] = yajlText(e.message);
    throw new ChannelNameError(
      `Bad filter text: ${e.message}`,
      yajlError("dbChannelCreate", kind, text, json, e.offset + 1) + "\n",
    );
  }
  if (tree.t !== "map") throw new ChannelNameError("Filters must be a map");
  const out: ChannelFilter[] = [];
  for (const [key, value] of tree.entries) {
    if (!(key in OPTIONS)) {
      throw new ChannelNameError(
        `No channel filter "${key}"`,
        `dbChannelCreate: Channel filter '${key}' not found\n`,
        true,
      );
    }
    const settings = readOptions(key, value);
    const f = settings && makeFilter(key, settings, hasState);
    if (!f) throw new ChannelNameError(`Bad options for channel filter "${key}"`);
    out.push(f);
  }
  return out;
}

/** wrapArrayIndices: how many elements arr picks of `n`, and the first one. */
export function arrRange(f: ArrFilter, n: number): { first: number; count: number } {
  let start = f.start;
  let end = f.end;
  if (start < 0) start = n + start;
  if (start < 0) start = 0;
  if (start > n) start = n;
  if (end < 0) end = n + end;
  if (end < 0) end = 0;
  if (end >= n) end = n - 1;
  return { first: start, count: end - start >= 0 ? 1 + Math.floor((end - start) / f.incr) : 0 };
}

/**
 * The type a channel has after its filters, as dbChannelOpen's probe works it out: arr
 * narrows arrays (not scalars), ts with `num` or `str` makes the value a number, a pair of
 * numbers or text. A single element is a scalar (QSRV serves it as NTScalar).
 * @param type the field's type
 * @param filters the filters
 * @returns the final type
 */
export function filteredType(type: PvTypeInfo, filters: readonly ChannelFilter[]): PvTypeInfo {
  let t = type;
  let n = type.kind === "array" ? type.maxLength : 1;
  for (const f of filters) {
    if (f.name === "arr" && n > 1) {
      n = arrRange(f, n).count;
      t = { ...t, maxLength: n };
    } else if (f.name === "ts" && f.mode !== "generate") {
      n = f.mode === "ts" ? 2 : 1;
      const scalar = f.mode === "dbl"
        ? "float64"
        : f.mode === "epics" || f.mode === "iso"
        ? "string"
        : "uint32";
      t = { kind: n === 2 ? "array" : "scalar", scalar, maxLength: n };
    }
  }
  if (t.kind === "array" && n === 1) {
    t = { kind: "scalar", scalar: t.scalar, maxLength: 1 };
  }
  return t;
}

const DBE_VALUE = 1;
const DBE_LOG = 2;
const DBE_PROPERTY = 8;

/** What a read or an update carries through the filters. */
export interface FieldLog {
  snap: PvSnapshot;
  /** The event's mask (0 for a read). */
  mask: number;
  /** Whether this is a read rather than a monitor update. */
  read: boolean;
}

/** What the filters need from the IOC while they run. */
export interface FilterContext {
  /** The time now (for ts). */
  now(): EpicsTimeStamp;
  /** A dbState flag's value (for sync). */
  state(name: string): boolean;
  /** The record's UTAG (for utag). */
  utag(): bigint;
  /** The local time zone's offset from UTC, in minutes east, at a time (ms since 1970). */
  zoneOffset?(ms: number): number;
}

type Step = (log: FieldLog) => FieldLog | null;

/**
 * The value dbnd compares: base deadbands only values its field logs hold by value
 * (numbers and enums); strings and arrays are referenced, and pass.
 */
function numberOf(v: PvValue): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return undefined;
}

/** One subscription's dbnd state (recGblCheckDeadband against the last value sent). */
function dbndStep(f: DbndFilter): Step {
  let last = NaN;
  let hyst = f.delta;
  return (log) => {
    const val = numberOf(log.snap.value);
    if (val === undefined) return log;
    let send = log.mask & ~(DBE_VALUE | DBE_LOG);
    let delta = 0;
    if (Number.isFinite(val) && Number.isFinite(last)) delta = Math.abs(last - val);
    else if (
      Number.isNaN(val) !== Number.isNaN(last) ||
      (!Number.isFinite(val) && !Number.isNaN(val)) !==
        (!Number.isFinite(last) && !Number.isNaN(last))
    ) delta = Infinity;
    else if (!Number.isFinite(val) && !Number.isNaN(val) && val !== last) delta = Infinity;
    if (delta > hyst) {
      send |= log.mask & (DBE_VALUE | DBE_LOG);
      last = val;
    }
    if (send && f.mode === "rel") hyst = val * f.delta / 100;
    return send ? { ...log, mask: send } : null;
  };
}

function decStep(f: DecFilter): Step {
  let i = 0;
  return (log) => {
    if (log.read || log.mask & DBE_PROPERTY) return log;
    const pass = i++ === 0;
    if (i >= f.n) i = 0;
    return pass ? log : null;
  };
}

function syncStep(f: SyncFilter, ctx: FilterContext): Step {
  let lastState = false;
  let lastLog: FieldLog | null = null;
  return (log) => {
    if (log.read || log.mask & DBE_PROPERTY) return log;
    const now = ctx.state(f.state);
    let pass: FieldLog | null = null;
    switch (f.mode) {
      case "while":
        return now ? log : null;
      case "unless":
        return now ? null : log;
      case "first":
        pass = now && !lastState ? log : null;
        lastState = now;
        return pass;
      case "after":
        pass = !now && lastState ? log : null;
        lastState = now;
        return pass;
      case "before":
        if (now && !lastState) pass = lastLog;
        break;
      case "last":
        if (!now && lastState) pass = lastLog;
        break;
    }
    // before and last pass the update that came before the change, and hold this one.
    lastLog = log;
    lastState = now;
    return pass;
  };
}

function utagStep(f: UtagFilter, ctx: FilterContext): Step {
  let first = true;
  const mask = BigInt.asUintN(64, BigInt(f.mask));
  const value = BigInt.asUintN(64, BigInt(f.value));
  return (log) => {
    if (log.read || log.mask & DBE_PROPERTY) return log;
    if (first) {
      first = false;
      return log;
    }
    return (ctx.utag() & mask) === value ? log : null;
  };
}

function tsGenerate(ctx: FilterContext): Step {
  return (log) => ({ ...log, snap: { ...log.snap, timeStamp: ctx.now() } });
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** epicsTimeToStrftime with "%Y-%m-%d %H:%M:%S.%06f" (and "T", "%z" for iso), in local time. */
export function formatStamp(
  ts: EpicsTimeStamp,
  iso: boolean,
  zoneOffset: (ms: number) => number = (ms) => -new Date(ms).getTimezoneOffset(),
): string {
  if (ts.secPastEpoch === 0 && ts.nsec === 0) return "<undefined>";
  const ms = (ts.secPastEpoch + POSIX_TIME_AT_EPICS_EPOCH) * 1000;
  const off = zoneOffset(ms);
  const d = new Date(ms + off * 60000);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.` +
    pad(Math.floor(ts.nsec / 1000), 6);
  if (!iso) return `${date} ${time}`;
  const a = Math.abs(off);
  return `${date}T${time}${off < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}

function tsConvert(f: TsFilter, ctx: FilterContext): Step {
  return (log) => {
    const ts = log.snap.timeStamp;
    const sec = f.epoch === "unix"
      ? (ts.secPastEpoch + POSIX_TIME_AT_EPICS_EPOCH) >>> 0
      : ts.secPastEpoch;
    let value: PvValue;
    switch (f.mode) {
      case "dbl":
        value = sec + ts.nsec * 1e-9;
        break;
      case "sec":
        value = sec;
        break;
      case "nsec":
        value = ts.nsec;
        break;
      case "ts":
        value = Uint32Array.of(sec, ts.nsec);
        break;
      default:
        value = formatStamp(ts, f.mode === "iso", ctx.zoneOffset);
    }
    const snap: PvSnapshot = { ...log.snap, value, choices: undefined, enumText: undefined };
    return { ...log, snap };
  };
}

function arrStep(f: ArrFilter): Step {
  return (log) => {
    const v = log.snap.value as ArrayLike<unknown> & { slice?: unknown };
    if (typeof v !== "object" || v === null || !("length" in v)) return log;
    const { first, count } = arrRange(f, v.length);
    let out: PvValue;
    if (ArrayBuffer.isView(v)) {
      const a = v as unknown as {
        constructor: new (n: number) => ArrayLike<number> & { [i: number]: unknown };
      };
      const o = new a.constructor(count) as unknown as { [i: number]: unknown };
      for (let k = 0; k < count; k++) {
        o[k] = (v as unknown as { [i: number]: unknown })[first + k * f.incr];
      }
      out = o as unknown as PvValue;
    } else {
      const o: unknown[] = [];
      for (let k = 0; k < count; k++) o.push((v as unknown[])[first + k * f.incr]);
      out = o as PvValue;
    }
    return { ...log, snap: { ...log.snap, value: out } };
  };
}

/**
 * The filters of one channel put in order: base's pre-queue chain (dbnd, dec, sync, utag,
 * ts that stamps the time) before its post-queue chain (arr and ts that converts), each
 * in the order given, where arr acts only on what is an array at its place in the chain.
 */
export class FilterChain {
  readonly #filters: readonly ChannelFilter[];
  readonly #ctx: FilterContext;
  readonly #post: Step[] = [];
  readonly #scalar: boolean;

  /**
   * @param filters the filters of the channel name
   * @param type the field's type
   * @param ctx the IOC's clock, states and UTAG
   */
  constructor(filters: readonly ChannelFilter[], type: PvTypeInfo, ctx: FilterContext) {
    this.#filters = filters;
    this.#ctx = ctx;
    let n = type.kind === "array" ? type.maxLength : 1;
    for (const f of filters) {
      if (f.name === "arr" && n > 1) {
        n = arrRange(f, n).count;
        this.#post.push(arrStep(f));
      } else if (f.name === "ts" && f.mode !== "generate") {
        n = f.mode === "ts" ? 2 : 1;
        this.#post.push(tsConvert(f, ctx));
      }
    }
    this.#scalar = filteredType(type, filters).kind === "scalar" && type.kind === "array";
  }

  /** Whether any filter is in the chain. */
  get empty(): boolean {
    return this.#filters.length === 0;
  }

  #pre(): Step[] {
    const steps: Step[] = [];
    for (const f of this.#filters) {
      if (f.name === "dbnd") steps.push(dbndStep(f));
      else if (f.name === "dec") steps.push(decStep(f));
      else if (f.name === "sync") steps.push(syncStep(f, this.#ctx));
      else if (f.name === "utag") steps.push(utagStep(f, this.#ctx));
      else if (f.name === "ts" && f.mode === "generate") steps.push(tsGenerate(this.#ctx));
    }
    return steps;
  }

  #run(steps: readonly Step[], log: FieldLog): FieldLog | null {
    let l: FieldLog | null = log;
    for (const s of steps) {
      l = s(l);
      if (!l) return null;
    }
    return l;
  }

  #finish(log: FieldLog): PvSnapshot {
    const s = log.snap;
    // One element left of an array: served as a scalar.
    if (this.#scalar && typeof s.value === "object" && "length" in s.value) {
      const v = (s.value as ArrayLike<unknown>)[0];
      return { ...s, value: (v ?? 0) as PvValue };
    }
    return s;
  }

  /**
   * A read (get) through the filters. As in base, a filter that drops a read (dbnd on a
   * scalar) ends the chain there and the field is read as it is.
   * @param snap the field's current state
   * @returns what the read returns, and whether the filters were cut short
   */
  read(snap: PvSnapshot): { snap: PvSnapshot; unfiltered: boolean } {
    const log: FieldLog = { snap, mask: 0, read: true };
    const pre = this.#run(this.#pre(), log);
    const out = pre && this.#run(this.#post, pre);
    if (!out) return { snap, unfiltered: true };
    return { snap: this.#finish(out), unfiltered: false };
  }

  /**
   * One subscription's filters (their state is its own): call the result with each update
   * and its mask; it returns what to send, or null to drop the update.
   * @returns the subscription's filter function
   */
  subscription(): (snap: PvSnapshot, mask: number) => { snap: PvSnapshot; mask: number } | null {
    const pre = this.#pre();
    return (snap, mask) => {
      const a = this.#run(pre, { snap, mask, read: false });
      const b = a && this.#run(this.#post, a);
      return b ? { snap: this.#finish(b), mask: b.mask } : null;
    };
  }
}
