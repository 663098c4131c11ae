/**
 * How the PVA commands print values and types. Pure functions, no I/O.
 *
 * - NT mode (default, as pvAccessCPP's pvget/pvmonitor print): one line per PV,
 *   `name time  value alarm` for NTScalar, `[a,b]` arrays, `(i) choice` enums, tables.
 * - raw mode (`-M raw`): the structure as an indented `type name value` tree.
 * - json mode (`-M json`): compact JSON of the fields the server sent.
 * - delta mode (`-v`, as pvxs' pvxget/pvxmonitor print): the name, then one
 *   `    path type = value` line per field the server marked changed.
 * - type trees for pvinfo: pvAccessCPP's indented form and pvxs' `struct "id" {` form.
 * @module
 */

import { type FieldDesc, T, TypeCode } from "../lib/pva/proto/typedesc.ts";
import type { PvUnion, PvValue } from "../lib/pva/proto/value.ts";

// ---------------------------------------------------------------------------
// Numbers

/**
 * C's `%.<prec>g`: shortest of fixed and exponent notation, trailing zeros removed.
 * @param x the number
 * @param prec significant digits (C++ streams default to 6)
 */
export function formatG(x: number, prec = 6): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const p = Math.max(1, prec);
  const e = x.toExponential(p - 1);
  const exp = Number(e.slice(e.indexOf("e") + 1));
  if (exp < -4 || exp >= p) {
    let [mant, ex] = e.split("e");
    if (mant.includes(".")) mant = mant.replace(/0+$/, "").replace(/\.$/, "");
    const n = Number(ex);
    return `${mant}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  let s = x.toFixed(Math.max(0, p - 1 - exp));
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

// ---------------------------------------------------------------------------
// Time

/** Options shared by the formatters. */
export interface FormatOptions {
  /** IANA time zone for timestamps (e.g. from TZ); default: the host's. */
  timeZone?: string;
}

const dtfCache = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(tz: string | undefined): Intl.DateTimeFormat {
  const key = tz ?? "";
  let f = dtfCache.get(key);
  if (!f) {
    const base: Intl.DateTimeFormatOptions = {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    };
    try {
      f = new Intl.DateTimeFormat("en-US", { ...base, timeZone: tz || undefined });
    } catch {
      f = new Intl.DateTimeFormat("en-US", base);
    }
    dtfCache.set(key, f);
  }
  return f;
}

/**
 * `%Y-%m-%d %H:%M:%S` plus `digits` of fractional second (truncated), in a time zone.
 * @param secondsPastEpoch POSIX seconds
 * @param nanoseconds nanoseconds
 * @param digits fraction digits (3 for pvAccessCPP, 9 for pvxs)
 */
export function formatTime(
  secondsPastEpoch: number,
  nanoseconds: number,
  digits: number,
  opts: FormatOptions = {},
): string {
  const parts: Record<string, string> = {};
  for (const p of zoneFormatter(opts.timeZone).formatToParts(new Date(secondsPastEpoch * 1000))) {
    parts[p.type] = p.value;
  }
  const frac = String(Math.max(0, Math.trunc(nanoseconds))).padStart(9, "0").slice(0, digits);
  const base =
    `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
  return digits > 0 ? `${base}.${frac}` : base;
}

// ---------------------------------------------------------------------------
// pvxs delta format

const PVXS_SCALAR: Record<number, string> = {
  [TypeCode.BOOLEAN]: "bool",
  [TypeCode.BYTE]: "int8_t",
  [TypeCode.SHORT]: "int16_t",
  [TypeCode.INT]: "int32_t",
  [TypeCode.LONG]: "int64_t",
  [TypeCode.UBYTE]: "uint8_t",
  [TypeCode.USHORT]: "uint16_t",
  [TypeCode.UINT]: "uint32_t",
  [TypeCode.ULONG]: "uint64_t",
  [TypeCode.FLOAT]: "float",
  [TypeCode.DOUBLE]: "double",
  [TypeCode.STRING]: "string",
};

/** A type's name as pvxs prints it: `double`, `int32_t[]`, `struct`, `struct[]`, `any`. */
export function pvxsTypeName(t: FieldDesc): string {
  switch (t.code) {
    case TypeCode.STRUCTURE:
      return "struct";
    case TypeCode.UNION:
      return "union";
    case TypeCode.ANY:
      return "any";
    case TypeCode.STRUCTURE_ARRAY:
      return "struct[]";
    case TypeCode.UNION_ARRAY:
      return "union[]";
    case TypeCode.ANY_ARRAY:
      return "any[]";
    case TypeCode.BOUNDED_STRING:
      return "string";
  }
  const name = PVXS_SCALAR[t.scalarCode] ?? "?";
  return t.kind === "scalarArray" ? `${name}[]` : name;
}

/** Escapes a string the way pvxs prints it inside double quotes. */
export function pvxsEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case "\\":
        out += "\\\\";
        continue;
      case '"':
        out += '\\"';
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "'":
        out += "\\'";
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out;
}

function pvxsScalar(sc: number, v: unknown): string {
  if (sc === TypeCode.STRING) return `"${pvxsEscape(String(v))}"`;
  if (sc === TypeCode.BOOLEAN) return v ? "true" : "false";
  if (sc === TypeCode.FLOAT || sc === TypeCode.DOUBLE) return formatG(v as number);
  return String(v);
}

/** Options of {@link formatDelta}. */
export interface DeltaOptions {
  /** Print at most this many array elements (pvxs `-#`), then `...`. */
  arrayLimit?: number;
}

function pvxsArray(sc: number, a: ArrayLike<unknown>, limit: number | undefined): string {
  const n = a.length;
  const shown = limit !== undefined && limit >= 0 ? Math.min(n, limit) : n;
  const items: string[] = [];
  for (let i = 0; i < shown; i++) items.push(pvxsScalar(sc, a[i]));
  if (shown < n) items.push("...");
  return `{${n}}[${items.join(", ")}]`;
}

function deltaLeaf(
  lines: string[],
  path: string,
  t: FieldDesc,
  v: unknown,
  opts: DeltaOptions,
): void {
  switch (t.code) {
    case TypeCode.STRUCTURE: {
      const node = v as PvValue;
      lines.push(`    ${path} struct${t.id ? ` "${pvxsEscape(t.id)}"` : ""}`);
      for (const [name, m] of node.members()) deltaNode(lines, `${path}.${name}`, m, opts, true);
      return;
    }
    case TypeCode.ANY: {
      lines.push(`    ${path} any`);
      const inner = v as PvValue | null;
      // pvxs shows an empty any as `path-> null`.
      if (!inner) lines.push(`    ${path}-> null`);
      else {
        deltaLeaf(
          lines,
          `${path}->`,
          inner.type,
          inner.type.code === TypeCode.STRUCTURE ? inner : inner.value,
          opts,
        );
      }
      return;
    }
    case TypeCode.UNION: {
      lines.push(`    ${path} union`);
      const u = v as PvUnion;
      if (u.value) {
        const inner = u.value;
        deltaLeaf(
          lines,
          `${path}->${u.name}`,
          inner.type,
          inner.type.code === TypeCode.STRUCTURE ? inner : inner.value,
          opts,
        );
      }
      return;
    }
    case TypeCode.STRUCTURE_ARRAY:
    case TypeCode.UNION_ARRAY:
    case TypeCode.ANY_ARRAY: {
      lines.push(`    ${path} ${pvxsTypeName(t)}`);
      const arr = v as (PvValue | PvUnion | null)[];
      arr.forEach((el, i) => {
        const p = `${path}[${i}]`;
        if (el === null) lines.push(`    ${p} null`);
        else if (t.code === TypeCode.STRUCTURE_ARRAY) deltaLeaf(lines, p, t.element!, el, opts);
        else if (t.code === TypeCode.UNION_ARRAY) deltaLeaf(lines, p, t.element!, el, opts);
        else deltaLeaf(lines, p, T_ANY, el, opts);
      });
      return;
    }
  }
  const sc = t.scalarCode;
  const text = t.kind === "scalarArray"
    ? pvxsArray(sc, v as ArrayLike<unknown>, opts.arrayLimit)
    : pvxsScalar(sc, v);
  lines.push(`    ${path} ${pvxsTypeName(t)} = ${text}`);
}

const T_ANY: FieldDesc = T.any;

function deltaNode(
  lines: string[],
  path: string,
  node: PvValue,
  opts: DeltaOptions,
  all: boolean,
): void {
  const t = node.type;
  if (t.code === TypeCode.STRUCTURE) {
    const marked = all || node.changed.get(node.bit);
    for (const [name, m] of node.members()) {
      deltaNode(lines, path === "" ? name : `${path}.${name}`, m, opts, marked);
    }
    return;
  }
  if (!all && !node.changed.get(node.bit)) return;
  deltaLeaf(lines, path, t, node.value, opts);
}

/**
 * pvxs' delta format: the PV name, then each field the value marks changed.
 *
 * ```text
 * T:ai
 *     value double = 3.14159
 *     alarm.severity int32_t = 0
 * ```
 * @param name the PV name
 * @param value the value with its changed marks
 * @returns the lines, each ending in a newline
 */
export function formatDelta(name: string, value: PvValue, opts: DeltaOptions = {}): string {
  const lines: string[] = [name];
  deltaNode(lines, "", value, opts, false);
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// Type trees

/**
 * pvxs' type tree (pvxinfo):
 * ```text
 * struct "epics:nt/NTScalar:1.0" {
 *     double value
 *     struct "alarm_t" {
 *         int32_t severity
 *     } alarm
 * }
 * ```
 */
export function formatTypeTreePvxs(type: FieldDesc): string {
  const lines: string[] = [];
  const walk = (t: FieldDesc, name: string, pad: string) => {
    const suffix = name ? ` ${name}` : "";
    const inner = t.element ?? t;
    if (inner.code === TypeCode.STRUCTURE || inner.code === TypeCode.UNION) {
      // pvxs prints the ID of a structure or union, not of an array of them (the ID
      // belongs to the element type).
      const id = inner === t && t.id ? ` "${pvxsEscape(t.id)}"` : "";
      lines.push(`${pad}${pvxsTypeName(t)}${id} {`);
      for (const m of inner.members) walk(m.type, m.name, pad + "    ");
      lines.push(`${pad}}${suffix}`);
      return;
    }
    lines.push(`${pad}${pvxsTypeName(t)}${suffix}`);
  };
  walk(type, "", "");
  return lines.join("\n") + "\n";
}

/**
 * pvAccessCPP's type tree (pvinfo): `typeID name` lines, 4 more spaces per level.
 *
 * pvData prints a structure array member as its `id[] name` line, then the element
 * structure's ID one level deeper, then the element's members below that; union members
 * go straight under the union line, a union array's element gets its own `union` line.
 * @param type the type
 * @param level indent level of the first line (pvinfo uses 1)
 * @returns the lines, each ending in a newline
 */
export function formatTypeTreeCpp(type: FieldDesc, level = 1): string {
  const lines: string[] = [];
  const pad = (n: number) => " ".repeat(4 * n);
  const fields = (t: FieldDesc, n: number) => {
    for (const m of t.members) {
      lines.push(`${pad(n)}${m.type.typeName} ${m.name}`);
      const k = m.type.kind;
      if (k === "structure" || k === "union") fields(m.type, n + 1);
      else if (k === "structureArray" || k === "unionArray") whole(m.type.element!, n + 1);
    }
  };
  const whole = (t: FieldDesc, n: number) => {
    lines.push(`${pad(n)}${t.typeName}`);
    if (t.kind === "structure" || t.kind === "union") fields(t, n + 1);
    else if (t.kind === "structureArray" || t.kind === "unionArray") whole(t.element!, n + 1);
  };
  whole(type, level);
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// pvAccessCPP (pvData) text forms

const SEVERITY = ["", "MINOR", "MAJOR", "INVALID", "UNDEFINED"];
const STATUS = ["", "DEVICE", "DRIVER", "RECORD", "DB", "CONF", "UNDEFINED", "CLIENT"];

const utf8 = new TextEncoder();

/** C's isprint() in the "C" locale: printable ASCII only. */
function isPrint(b: number): boolean {
  return b >= 0x20 && b < 0x7f;
}

const C_ESCAPES: Record<number, string> = {
  0x07: "a",
  0x08: "b",
  0x0c: "f",
  0x0a: "n",
  0x0d: "r",
  0x09: "t",
  0x0b: "v",
  0x5c: "\\",
  0x27: "'",
  0x22: '"',
};

/**
 * pvData's hex digit for `\xHH` escapes. pvData tests `< 9` where `<= 9` was meant, so
 * the digit 9 comes out as "@" (0xA9 prints as `\xA@`); we print what it prints.
 */
function pvdHexDigit(n: number): string {
  const c = n & 0xf;
  return c < 9 ? String.fromCharCode(0x30 + c) : String.fromCharCode(0x41 + c - 10);
}

/**
 * Escapes a string as pvData does: `\n`-style escapes for control characters, both
 * quotes and backslash; `\xHH` for every other byte of the UTF-8 form that is not
 * printable ASCII. With `csv`, a double quote doubles instead (`""`).
 */
export function cppEscape(s: string, csv = false): string {
  let out = "";
  for (const b of utf8.encode(s)) {
    const e = C_ESCAPES[b];
    if (e !== undefined) out += csv && b === 0x22 ? '""' : `\\${e}`;
    else if (isPrint(b)) out += String.fromCharCode(b);
    else out += `\\x${pvdHexDigit(b >> 4)}${pvdHexDigit(b)}`;
  }
  return out;
}

/**
 * pvData's `maybeQuote`: the string as is, or double-quoted and escaped when it holds a
 * space, a quote, a backslash or any byte that is not printable ASCII.
 */
export function maybeQuote(s: string): string {
  for (const b of utf8.encode(s)) {
    if (b === 0x20 || C_ESCAPES[b] !== undefined || !isPrint(b)) return `"${cppEscape(s)}"`;
  }
  return s;
}

function num(v: unknown): number {
  return typeof v === "bigint" ? Number(v) : Number(v ?? 0);
}

/** C++ `ostream << x` for one scalar, as pvData prints values (strings quoted when needed). */
function cppScalar(sc: number, v: unknown): string {
  if (sc === TypeCode.STRING) return maybeQuote(String(v));
  if (sc === TypeCode.BOOLEAN) return v ? "true" : "false";
  if (sc === TypeCode.FLOAT || sc === TypeCode.DOUBLE) return formatG(v as number);
  return String(v);
}

/** pvData's array form: `[1,2,3]`, strings `[a, "b c"]`. */
function cppArray(sc: number, a: ArrayLike<unknown>): string {
  const items: string[] = [];
  for (let i = 0; i < a.length; i++) items.push(cppScalar(sc, a[i]));
  return `[${items.join(sc === TypeCode.STRING ? ", " : ",")}]`;
}

const POSIX_TIME_AT_EPICS_EPOCH = 631152000;

/**
 * A time_t as pvData prints it (`%Y-%m-%d %H:%M:%S.%03f` of epicsTimeToStrftime):
 * times before 1990 print as 1990-01-01 (the EPICS epoch), zero seconds and nanoseconds
 * as `<undefined>`, the fraction rounded (never up into the next second), and
 * nanoseconds of a second or more as `OVF`.
 * @param secondsPastEpoch POSIX seconds
 * @param nanoseconds nanoseconds
 */
export function cppTime(
  secondsPastEpoch: number,
  nanoseconds: number,
  opts: FormatOptions = {},
): string {
  // epicsTimeStamp holds unsigned 32-bit seconds past 1990 and unsigned 32-bit nanoseconds.
  const epicsSec = secondsPastEpoch > POSIX_TIME_AT_EPICS_EPOCH
    ? (secondsPastEpoch - POSIX_TIME_AT_EPICS_EPOCH) % 2 ** 32
    : 0;
  const nsec = nanoseconds >>> 0;
  if (epicsSec === 0 && nsec === 0) return "<undefined>";
  const base = formatTime(epicsSec + POSIX_TIME_AT_EPICS_EPOCH, 0, 0, opts);
  if (nsec >= 1e9) return `${base}.OVF`;
  const frac = Math.floor(Math.min(nsec + 500000, 999999999) / 1e6);
  return `${base}.${String(frac).padStart(3, "0")}`;
}

function timeNodeText(ts: PvValue, opts: FormatOptions): string {
  const sec = num(ts.tryField("secondsPastEpoch")?.value);
  const ns = num(ts.tryField("nanoseconds")?.value);
  const tag = ts.tryField("userTag")?.value;
  const t = cppTime(sec, ns, opts);
  return `${t.padEnd(24)} ${tag !== undefined && num(tag) !== 0 ? `${tag} ` : ""}`;
}

function alarmNodeText(a: PvValue): string {
  const sev = Math.trunc(num(a.tryField("severity")?.value));
  if (sev === 0) return "";
  const st = Math.trunc(num(a.tryField("status")?.value));
  const msg = String(a.tryField("message")?.value ?? "");
  let out = `${SEVERITY[sev] ?? String(sev)} `;
  if (st !== 0) out += `${STATUS[st] ?? String(st)} `;
  if (msg !== "") out += `${msg} `;
  return out;
}

/**
 * `SEV STATUS message ` (each part followed by a space) of the `alarm` member, or "" when
 * the severity is 0 (pvData prints no status or message then).
 */
export function alarmText(value: PvValue): string {
  const a = value.tryField("alarm");
  return a && a.type.kind === "structure" ? alarmNodeText(a) : "";
}

/** The `timeStamp` member: the time padded to 24 columns and a space, then a non-zero userTag. */
export function timeText(value: PvValue, opts: FormatOptions = {}): string {
  const ts = value.tryField("timeStamp");
  return ts && ts.type.kind === "structure" ? timeNodeText(ts, opts) : "";
}

/** `(index) choice` of an enum_t, or undefined when it lacks index or choices. */
function enumText(e: PvValue): string | undefined {
  const idx = e.tryField("index");
  const ch = e.tryField("choices");
  if (!idx || idx.type.kind !== "scalar" || !ch || ch.type.kind !== "scalarArray") return undefined;
  if (ch.type.scalarCode !== TypeCode.STRING) return undefined;
  const i = num(idx.value) >>> 0; // pvData reads the index as uint32
  const choices = ch.value as string[];
  return `(${i}) ${i < choices.length ? maybeQuote(choices[i]) : "<undefined>"}`;
}

/** Options of the pvAccessCPP formatters. */
export interface CppFormatOptions extends FormatOptions {
  /**
   * Print every field (pvput) rather than only those the value marks changed and their
   * parents and children (pvget prints what the server sent, pvmonitor what changed).
   */
  all?: boolean;
}

/** Whether raw/JSON output shows `node`: marked itself, under a mark, or above one. */
function shown(node: PvValue, opts: CppFormatOptions): boolean {
  if (opts.all) return true;
  const ch = node.changed;
  if (node.isChanged()) return true;
  const end = node.bit + node.type.numBits;
  for (let b = node.bit + 1; b < end; b++) if (ch.get(b)) return true;
  return false;
}

/**
 * A value as pvAccessCPP prints it in NT mode (`-M nt`, the default), without the name
 * column: `time  value alarm` when `value` is a scalar, `time  alarm [array]` for an
 * array, `time  alarm (index) choice` for an enum_t, a table for NTTable; any other
 * structure prints in raw form.
 * @param value the value
 * @returns the text, newline-terminated
 */
export function formatNt(value: PvValue, opts: CppFormatOptions = {}): string {
  const id = value.type.typeId;
  if (id.split(".")[0] === "epics:nt/NTTable:1") {
    const t = formatTable(value, opts);
    if (t !== undefined) return t;
  } else {
    const v = value.tryField("value");
    if (v) {
      switch (v.type.kind) {
        case "scalar":
          return `${timeText(value, opts)}${cppScalar(v.type.scalarCode, v.value)} ${
            alarmText(value)
          }\n`;
        case "scalarArray":
          return `${timeText(value, opts)}${alarmText(value)}${
            cppArray(v.type.scalarCode, v.value as ArrayLike<unknown>)
          }\n`;
        case "structure": {
          const e = enumText(v);
          if (e !== undefined) return `${timeText(value, opts)}${alarmText(value)}${e}\n`;
        }
      }
    }
  }
  return formatRaw("", value, opts);
}

/** A table cell or label as pvData's CSV escaping writes it (quoted when needed). */
function csvCell(s: string): string {
  const e = cppEscape(s, true);
  return /[" ,\\]/.test(s) ? `"${e}"` : e;
}

/** A scalar converted to text as pvData's getAs<string> does (strings as they are). */
function plainScalar(sc: number, v: unknown): string {
  return sc === TypeCode.STRING ? String(v) : cppScalar(sc, v);
}

function formatTable(value: PvValue, opts: FormatOptions): string | undefined {
  const cf = value.tryField("value");
  if (!cf || cf.type.kind !== "structure") return undefined;
  const cols = cf.members();
  if (cols.length === 0 || cols.some(([, c]) => c.type.kind !== "scalarArray")) return undefined;
  let out = "";
  const hasTs = value.has("timeStamp"), hasAl = value.has("alarm");
  if (hasTs) out += `${timeText(value, opts)} `;
  if (hasAl) out += `${alarmText(value)} `;
  out += "\n";
  const given = value.tryField("labels");
  const labels = given && given.type.kind === "scalarArray"
    ? (given.value as ArrayLike<unknown>)
    : [];
  let rows = Infinity;
  const data = cols.map(([name, node], i) => {
    const a = node.value as ArrayLike<unknown>;
    const cells: string[] = [];
    for (let k = 0; k < a.length; k++) cells.push(csvCell(plainScalar(node.type.scalarCode, a[k])));
    rows = Math.min(rows, cells.length);
    const head = i < labels.length ? csvCell(String(labels[i])) : name;
    return { head, cells, width: Math.max(head.length, ...cells.map((c) => c.length)) };
  });
  const line = (pick: (c: typeof data[number]) => string) =>
    data.map((c) => pick(c).padStart(c.width)).join(" ") + "\n";
  out += line((c) => c.head);
  for (let r = 0; r < rows; r++) out += line((c) => c.cells[r]);
  return out;
}

// ---------------------------------------------------------------------------
// Raw mode

const pad4 = (level: number) => " ".repeat(4 * level);

/** pvData's plain dump of a field (used for unions and structure arrays even in raw mode). */
function dumpValue(lines: string[], t: FieldDesc, name: string, v: unknown, level: number): void {
  switch (t.kind) {
    case "scalar":
    case "scalarArray":
      lines.push(`${pad4(level)}${t.typeName} ${name} ${leafText(t, v)}`);
      return;
    case "structure": {
      const node = v as PvValue;
      lines.push(`${pad4(level)}${t.typeId} ${name}`);
      for (const [n, m] of node.members()) {
        dumpValue(lines, m.type, n, m.type.kind === "structure" ? m : m.value, level + 1);
      }
      return;
    }
    case "union":
    case "any": {
      lines.push(`${pad4(level)}${t.typeName} ${name}`);
      const inner = t.kind === "any" ? v as PvValue | null : (v as PvUnion).value;
      if (!inner) lines.push(`${pad4(level + 1)}(none)`);
      else {
        const it = inner.type;
        dumpValue(lines, it, "", it.kind === "structure" ? inner : inner.value, level + 1);
      }
      return;
    }
    default: {
      lines.push(`${pad4(level)}${t.typeName} ${name}`);
      const el = t.element ?? T_ANY;
      for (const item of v as unknown[]) {
        if (item === null) lines.push(`${pad4(level + 1)}(none)`);
        else dumpValue(lines, el, "", item, level + 1);
      }
    }
  }
}

function leafText(t: FieldDesc, v: unknown): string {
  return t.kind === "scalar"
    ? cppScalar(t.scalarCode, v)
    : cppArray(t.scalarCode, v as ArrayLike<unknown>);
}

/**
 * pvAccessCPP's raw tree (`-M raw`): the PV name and the top structure's ID, then
 * `type name value` lines four spaces deeper per level; alarm_t, time_t and enum_t
 * structures also show their summary. Only the fields the value marks (and their
 * parents and children) are printed unless `all` is set.
 * @param name the PV name column ("" to omit)
 * @param value the value
 */
export function formatRaw(name: string, value: PvValue, opts: CppFormatOptions = {}): string {
  if (!shown(value, opts)) return "";
  const lines: string[] = [];
  const walk = (fieldName: string, node: PvValue, level: number) => {
    const t = node.type;
    if (t.kind !== "structure") {
      if (t.kind === "scalar" || t.kind === "scalarArray") {
        lines.push(`${pad4(level)}${t.typeName} ${fieldName} ${leafText(t, node.value)}`);
      } else dumpValue(lines, t, fieldName, node.value, level);
      return;
    }
    let head = `${pad4(level)}${t.typeId} ${fieldName}`;
    if (t.typeId === "alarm_t") head += ` ${alarmNodeText(node)}`;
    else if (t.typeId === "time_t") head += ` ${timeNodeText(node, opts)}`;
    else if (t.typeId === "enum_t") head += ` ${enumText(node) ?? ""}`;
    lines.push(head);
    for (const [n, m] of node.members()) if (shown(m, opts)) walk(n, m, level + 1);
  };
  walk("", value, 0);
  if (name) lines[0] = `${name} ${lines[0]}`;
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// JSON mode

/** A JSON5 string as EPICS' yajl writes it: `\xHH` for control characters, UTF-8 kept. */
function json5String(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    switch (ch) {
      case "\r":
        out += "\\r";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case '"':
        out += '\\"';
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\0":
        out += "\\0";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    out += c < 0x20 ? `\\x${c.toString(16).toUpperCase().padStart(2, "0")}` : ch;
  }
  return out + '"';
}

/** A key: bare when it is an identifier (`[$_A-Za-z][$_A-Za-z0-9]*`), else quoted. */
function json5Key(k: string): string {
  return /^[$_A-Za-z][$_A-Za-z0-9]*$/.test(k) ? k : json5String(k);
}

/** yajl's double: `%.17g`, `.0` added to integral values, NaN and ±Infinity (JSON5). */
function json5Double(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+Infinity" : "-Infinity";
  const s = formatG(x, 17);
  return /^[-0-9]*$/.test(s) ? `${s}.0` : s;
}

function json5Scalar(sc: number, v: unknown): string {
  if (sc === TypeCode.STRING) return json5String(String(v));
  if (sc === TypeCode.BOOLEAN) return v ? "true" : "false";
  if (sc === TypeCode.FLOAT || sc === TypeCode.DOUBLE) return json5Double(v as number);
  // pvData writes every integer as int64 (a uint64 above 2^63 wraps negative).
  return typeof v === "bigint" ? String(BigInt.asIntN(64, v)) : String(v);
}

function json5Field(t: FieldDesc, v: unknown, opts: CppFormatOptions | undefined): string {
  switch (t.kind) {
    case "scalar":
      return json5Scalar(t.scalarCode, v);
    case "scalarArray":
      return `[${
        Array.from(v as ArrayLike<unknown>, (x) => json5Scalar(t.scalarCode, x)).join(",")
      }]`;
    case "structure":
      return json5Struct(v as PvValue, opts);
    case "union":
    case "any": {
      const inner = t.kind === "any" ? v as PvValue | null : (v as PvUnion).value;
      if (!inner) return "null";
      const it = inner.type;
      return json5Field(it, it.kind === "structure" ? inner : inner.value, undefined);
    }
    default: {
      const el = t.element ?? T_ANY;
      return `[${
        (v as unknown[]).map((item) => item === null ? "null" : json5Field(el, item, undefined))
          .join(",")
      }]`;
    }
  }
}

function json5Struct(node: PvValue, opts: CppFormatOptions | undefined): string {
  const parts: string[] = [];
  for (const [n, m] of node.members()) {
    if (opts && !shown(m, opts)) continue;
    parts.push(
      `${json5Key(n)}:${json5Field(m.type, m.type.kind === "structure" ? m : m.value, opts)}`,
    );
  }
  return `{${parts.join(",")}}`;
}

/**
 * Compact JSON5 as pvAccessCPP prints it (`-M json`): bare identifier keys, doubles with
 * 17 significant digits and `.0` on integral values, NaN and ±Infinity, `\xHH` escapes.
 * Only the fields the value marks (with their parents and children) unless `all`.
 * @param value the value
 * @returns the text, newline-terminated ("\n" alone when nothing is marked)
 */
export function formatJson(value: PvValue, opts: CppFormatOptions = {}): string {
  if (!shown(value, opts)) return "\n";
  return json5Struct(value, { all: opts.all }) + "\n";
}
