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

import { type FieldDesc, TypeCode } from "../lib/pva/proto/typedesc.ts";
import type { NumericArray, PvUnion, PvValue } from "../lib/pva/proto/value.ts";

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
      if (inner) {
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

const T_ANY = { code: TypeCode.ANY } as FieldDesc;

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
      const id = inner.id ? ` "${pvxsEscape(inner.id)}"` : "";
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

/** pvAccessCPP's type tree (pvinfo): `typeID name` lines, 4 more spaces per level. */
export function formatTypeTreeCpp(type: FieldDesc, indent = "    "): string {
  return type.toString(indent) + "\n";
}

// ---------------------------------------------------------------------------
// pvAccessCPP NT mode

const SEVERITY = ["", "MINOR", "MAJOR", "INVALID", "UNDEFINED"];
const STATUS = ["", "DEVICE", "DRIVER", "RECORD", "DB", "CONF", "UNDEFINED", "CLIENT"];

/** Quotes and escapes a string when it holds spaces, quotes, backslashes or control bytes. */
export function maybeQuote(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length && plain; i++) {
    const c = s.charCodeAt(i);
    plain = c > 0x20 && c !== 0x7f && c !== 0x22 && c !== 0x27 && c !== 0x5c;
  }
  if (plain) return s;
  return `"${pvxsEscape(s)}"`;
}

function cppScalar(sc: number, v: unknown): string {
  if (sc === TypeCode.STRING) return maybeQuote(String(v));
  if (sc === TypeCode.BOOLEAN) return v ? "true" : "false";
  if (sc === TypeCode.FLOAT || sc === TypeCode.DOUBLE) return formatG(v as number);
  return String(v);
}

function cppArray(sc: number, a: ArrayLike<unknown>): string {
  const items: string[] = [];
  for (let i = 0; i < a.length; i++) items.push(cppScalar(sc, a[i]));
  return `[${items.join(sc === TypeCode.STRING ? ", " : ",")}]`;
}

function num(v: unknown): number {
  return typeof v === "bigint" ? Number(v) : Number(v ?? 0);
}

/** `SEV STATUS message ` (each part followed by a space), or "" with no alarm. */
export function alarmText(value: PvValue): string {
  const a = value.tryField("alarm");
  return a ? alarmNodeText(a) : "";
}

function alarmNodeText(a: PvValue): string {
  const sev = num(a.tryField("severity")?.value);
  const st = num(a.tryField("status")?.value);
  const msg = String(a.tryField("message")?.value ?? "");
  if (sev === 0 && st === 0 && msg === "") return "";
  let out = "";
  if (sev !== 0) out += `${SEVERITY[sev] ?? String(sev)} `;
  if (st !== 0) out += `${STATUS[st] ?? String(st)} `;
  if (msg !== "") out += `${msg} `;
  return out;
}

/** `<time padded to 24> ` plus `userTag ` when non-zero, or "" without a timeStamp. */
export function timeText(value: PvValue, opts: FormatOptions = {}): string {
  const ts = value.tryField("timeStamp");
  if (!ts) return "";
  const sec = num(ts.tryField("secondsPastEpoch")?.value);
  const ns = num(ts.tryField("nanoseconds")?.value);
  const tag = num(ts.tryField("userTag")?.value);
  return `${formatTime(sec, ns, 3, opts).padEnd(24)} ${tag !== 0 ? `${tag} ` : ""}`;
}

function ntKind(type: FieldDesc): string {
  const m = /^epics:nt\/(NT[A-Za-z]+):1\./.exec(type.id);
  return m ? m[1] : "";
}

/**
 * Formats a value as pvAccessCPP prints it in NT mode (without the name column).
 * Structures that are not NTScalar/NTScalarArray/NTEnum/NTTable print raw.
 * @param value the value
 * @returns the text, newline-terminated
 */
export function formatNt(value: PvValue, opts: FormatOptions = {}): string {
  const kind = ntKind(value.type);
  const v = value.tryField("value");
  if ((kind === "NTScalar" || kind === "NTScalarArray") && v && v.type.kind !== "structure") {
    if (v.type.kind === "scalar") {
      return `${timeText(value, opts)}${cppScalar(v.type.scalarCode, v.value)} ${
        alarmText(value)
      }\n`;
    }
    if (v.type.kind === "scalarArray") {
      return `${timeText(value, opts)}${alarmText(value)}${
        cppArray(v.type.scalarCode, v.value as ArrayLike<unknown>)
      }\n`;
    }
  }
  if (kind === "NTEnum" && v && v.has("index") && v.has("choices")) {
    const i = num(v.get("index"));
    const choices = v.get("choices") as string[];
    const text = i >= 0 && i < choices.length ? maybeQuote(choices[i]) : "<undefined>";
    return `${timeText(value, opts)}${alarmText(value)}(${i}) ${text}\n`;
  }
  if (kind === "NTTable" && v && v.type.kind === "structure") {
    return `${timeText(value, opts)}${alarmText(value)}\n${formatTable(value)}`;
  }
  return "\n" + formatRaw("", value, opts);
}

function csvEscape(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function formatTable(value: PvValue): string {
  const cols = value.field("value").members();
  const labels = (value.tryField("labels")?.value as string[] | undefined) ?? [];
  const data = cols.map(([name, node]) => {
    const sc = node.type.scalarCode;
    const a = node.value as ArrayLike<unknown>;
    const cells: string[] = [];
    for (let i = 0; i < a.length; i++) cells.push(csvEscape(cppScalar(sc, a[i])));
    return { head: csvEscape(labels[cols.findIndex((c) => c[0] === name)] ?? name), cells };
  });
  const rows = Math.max(0, ...data.map((c) => c.cells.length));
  const widths = data.map((c) => Math.max(c.head.length, ...c.cells.map((x) => x.length)));
  const line = (cells: string[]) => cells.map((x, k) => x.padStart(widths[k])).join(" ") + "\n";
  let out = line(data.map((c) => c.head));
  for (let r = 0; r < rows; r++) out += line(data.map((c) => c.cells[r] ?? ""));
  return out;
}

// ---------------------------------------------------------------------------
// Raw mode

function rawSummary(node: PvValue, opts: FormatOptions): string {
  switch (node.type.id) {
    case "alarm_t":
      return alarmNodeText(node);
    case "time_t": {
      const sec = num(node.tryField("secondsPastEpoch")?.value);
      const ns = num(node.tryField("nanoseconds")?.value);
      const tag = num(node.tryField("userTag")?.value);
      return `${formatTime(sec, ns, 3, opts).padEnd(24)} ${tag !== 0 ? `${tag} ` : ""}`;
    }
    case "enum_t": {
      const i = num(node.tryField("index")?.value);
      const choices = (node.tryField("choices")?.value as string[] | undefined) ?? [];
      return `(${i}) ${i >= 0 && i < choices.length ? maybeQuote(choices[i]) : "<undefined>"}`;
    }
  }
  return "";
}

/**
 * pvAccessCPP's raw tree: `name typeID ` then `type field value` lines, 4-space indents.
 * @param name the PV name ("" to omit)
 * @param value the value
 */
export function formatRaw(name: string, value: PvValue, opts: FormatOptions = {}): string {
  const lines: string[] = [];
  const walk = (fieldName: string, node: PvValue, pad: string) => {
    const t = node.type;
    if (t.code === TypeCode.STRUCTURE) {
      const head = fieldName === ""
        ? `${name ? name + " " : ""}${t.typeId} `
        : `${t.typeId} ${fieldName} ${rawSummary(node, opts)}`;
      lines.push(pad + head);
      for (const [n, m] of node.members()) walk(n, m, pad + "    ");
      return;
    }
    lines.push(`${pad}${t.typeName} ${fieldName} ${rawLeaf(t, node.value)}`);
  };
  walk("", value, "");
  return lines.join("\n") + "\n";
}

function rawLeaf(t: FieldDesc, v: unknown): string {
  switch (t.kind) {
    case "scalar":
      return t.scalarCode === TypeCode.STRING ? String(v) : cppScalar(t.scalarCode, v);
    case "scalarArray":
      return cppArray(t.scalarCode, v as ArrayLike<unknown>);
    case "any": {
      const inner = v as PvValue | null;
      return inner ? stringify(jsonOf(inner, true)) : "(none)";
    }
    case "union": {
      const u = v as PvUnion;
      return u.value ? `${u.name} ${stringify(jsonOf(u.value, true))}` : "(none)";
    }
  }
  const arr = v as unknown[];
  return `[${arr.length}]`;
}

// ---------------------------------------------------------------------------
// JSON mode

function jsonNumber(x: number, integral: boolean): string {
  if (integral) return String(Math.trunc(x));
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+Infinity" : "-Infinity";
  const s = formatG(x, 17);
  return /[.eni]/.test(s) ? s : `${s}.0`;
}

/** Placeholder type for numbers JSON must print without quotes. */
class Raw {
  constructor(readonly text: string) {}
}

function jsonLeaf(t: FieldDesc, v: unknown): unknown {
  switch (t.kind) {
    case "scalar":
      return scalarJson(t.scalarCode, v);
    case "scalarArray":
      return Array.from(v as ArrayLike<unknown>, (x) => scalarJson(t.scalarCode, x));
    case "any":
      return v ? jsonOf(v as PvValue, true) : null;
    case "union": {
      const u = v as PvUnion;
      return u.value ? jsonOf(u.value, true) : null;
    }
    default:
      return (v as (PvValue | PvUnion | null)[]).map((el) => {
        if (el === null) return null;
        if ("index" in el && "name" in el && !("type" in el)) {
          const u = el as PvUnion;
          return u.value ? jsonOf(u.value, true) : null;
        }
        return jsonOf(el as PvValue, true);
      });
  }
}

function scalarJson(sc: number, v: unknown): unknown {
  if (sc === TypeCode.STRING) return String(v);
  if (sc === TypeCode.BOOLEAN) return !!v;
  if (sc === TypeCode.FLOAT || sc === TypeCode.DOUBLE) {
    return new Raw(jsonNumber(v as number, false));
  }
  return new Raw(String(typeof v === "bigint" ? BigInt.asIntN(64, v) : v));
}

function jsonOf(node: PvValue, all: boolean): unknown {
  const t = node.type;
  if (t.code !== TypeCode.STRUCTURE) return jsonLeaf(t, node.value);
  const out: Record<string, unknown> = {};
  const marked = all || node.changed.get(node.bit);
  for (const [name, m] of node.members()) {
    if (m.type.code === TypeCode.STRUCTURE) {
      const sub = jsonOf(m, marked) as Record<string, unknown>;
      if (marked || Object.keys(sub).length > 0) out[name] = sub;
    } else if (marked || m.changed.get(m.bit)) {
      out[name] = jsonLeaf(m.type, m.value);
    }
  }
  return out;
}

function stringify(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v === null) return "null";
  if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stringify).join(",")}]`;
  const obj = v as Record<string, unknown>;
  return `{${
    Object.entries(obj).map(([k, x]) => `${JSON.stringify(k)}:${stringify(x)}`).join(",")
  }}`;
}

/**
 * Compact JSON of the fields the server sent (pvAccessCPP `-M json`): doubles with 17
 * significant digits and `.0` on integral values, NaN and ±Infinity as JSON5.
 * @param value the value
 */
export function formatJson(value: PvValue): string {
  return stringify(jsonOf(value, false)) + "\n";
}

/** @internal for tests: makes numeric arrays printable. */
export type { NumericArray };
