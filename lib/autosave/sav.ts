/**
 * synApps autosave `.sav` files: the writer's exact text and the reader's rules.
 *
 * ```text
 * # autosave R5.3<TAB>Automatically generated - DO NOT MODIFY - 250101-120000
 * ! 1 channel(s) not connected - or not all gets were successful
 * xxx:ao.VAL 4.1234567890123            doubles %.14g, floats %.7g, enums the index
 * xxx:ao.DESC tab\tescaped              other values: epicsStrPrintEscaped
 * xxx:calc.CALC$ 123456789+123456789    `$`: long string (up to 199 bytes)
 * #xxx:gone.VAL Not Connected           a PV that was not read
 * xxx:wf @array@ { "1" "2" "3" }        more than one element
 * <END>
 * ```
 *
 * Pure: no I/O. The clock comes in as a `Date`.
 * @module
 */

import { charsToText, cutUtf8 } from "../core/bytes.ts";
import { EpicsSyntaxError } from "../core/errors.ts";
import { escapeValue, formatG, unescapeValue } from "./text.ts";

/** The version string synApps autosave writes in the header (its SRVERSION, not the module release). */
export const SAV_VERSION = "autosave R5.3";

/** The text synApps puts after the name of a PV it could not read from outside an IOC. */
export const NOT_CONNECTED = "Not Connected";

/**
 * The DBF kind of a saved value: it decides the number format, as synApps autosave does
 * (`double` %.14g, `float` %.7g, `enum`/`menu` the index, integers in decimal, `string` the
 * text escaped). `char` arrays are written signed and `uchar` unsigned.
 */
export type SavKind =
  | "double"
  | "float"
  | "enum"
  | "menu"
  | "string"
  | "char"
  | "uchar"
  | "short"
  | "ushort"
  | "long"
  | "ulong"
  | "int64"
  | "uint64";

/** A value to save: a scalar, or an array (typed arrays for numbers, `string[]` for strings). */
export type SavValue =
  | number
  | bigint
  | string
  | boolean
  | readonly (number | bigint | string)[]
  | ArrayLike<number>;

const KIND_OF_TYPE: Record<string, SavKind> = {
  float64: "double",
  float32: "float",
  int8: "char",
  uint8: "uchar",
  char: "uchar",
  boolean: "uchar",
  int16: "short",
  uint16: "ushort",
  int32: "long",
  uint32: "ulong",
  int64: "int64",
  uint64: "uint64",
  string: "string",
  enum: "enum",
};

/**
 * The save kind of one of our PV element types (lib/pv's `float64`, `int32`, `enum`...), so
 * a server saving its own PVs writes them as synApps writes the matching DBF type.
 * @param type the element type
 * @returns the kind (`double` for an unknown type)
 * @example
 * ```ts
 * import { savKindOf } from "./sav.ts";
 * if (savKindOf("float32") !== "float" || savKindOf("enum") !== "enum") throw new Error();
 * ```
 */
export function savKindOf(type: string): SavKind {
  return KIND_OF_TYPE[type] ?? "double";
}

/** One PV of a save set with its value, or the reason it has none. */
export interface SavEntry {
  /** The name as in the request file; a trailing `$` marks a long string. */
  readonly name: string;
  /** How numbers are written (default: from the value: integers plain, others %.14g). */
  readonly kind?: SavKind;
  /** The value (ignored when `error` is set). */
  readonly value?: SavValue;
  /** Set when the PV was not read: written as `#NAME <error>` (synApps: "Not Connected"). */
  readonly error?: string;
}

/** Options of {@link formatSav}. */
export interface FormatSavOptions {
  /** The time in the header (default: the Unix epoch; callers pass `new Date()`). */
  readonly date?: Date;
  /** The version in the header (default {@link SAV_VERSION}). */
  readonly version?: string;
  /**
   * The count on the `!` line (default: the entries with an `error`); 0 omits the line.
   * synApps adds one when not every get completed.
   */
  readonly notConnected?: number;
}

/** The longest long-string value synApps writes (BUF_SIZE - 1 bytes). */
export const LONG_STRING_MAX = 199;

/** The longest string array element synApps writes (MAX_STRING_SIZE - 1). */
const STRING_ELEMENT_MAX = 39;

const pad2 = (n: number) => (n < 10 ? "0" : "") + n;

/**
 * The `%y%m%d-%H%M%S` text synApps puts in save-file headers and dated backup names
 * (local time).
 * @param d the time
 * @returns e.g. `250101-120000`
 * @example
 * ```ts
 * import { formatSavDate } from "./sav.ts";
 * if (!/^\d{6}-\d{6}$/.test(formatSavDate(new Date(2025, 0, 1, 12, 0, 0)))) throw new Error();
 * if (formatSavDate(new Date(2025, 0, 1, 12, 0, 0)) !== "250101-120000") throw new Error();
 * ```
 */
export function formatSavDate(d: Date): string {
  return pad2(d.getFullYear() % 100) + pad2(d.getMonth() + 1) + pad2(d.getDate()) + "-" +
    pad2(d.getHours()) + pad2(d.getMinutes()) + pad2(d.getSeconds());
}

/**
 * The header line of a save file, with its newline.
 * @param date the time written in it
 * @param version the version text (default {@link SAV_VERSION})
 * @returns `# autosave R5.3\tAutomatically generated - DO NOT MODIFY - YYMMDD-HHMMSS\n`
 */
export function savHeader(date: Date, version: string = SAV_VERSION): string {
  return `# ${version}\tAutomatically generated - DO NOT MODIFY - ${formatSavDate(date)}\n`;
}

function isArrayValue(v: SavValue | undefined): v is readonly (number | bigint | string)[] {
  return typeof v === "object" && v !== null && typeof (v as ArrayLike<number>).length === "number";
}

function numberText(x: number | bigint | boolean, kind: SavKind | undefined): string {
  if (typeof x === "bigint") return x.toString();
  if (typeof x === "boolean") return x ? "1" : "0";
  switch (kind) {
    case "float":
      return formatG(Math.fround(x), 7);
    case "double":
    case "int64":
    case "uint64":
      // Over CA, 64-bit integers arrive as doubles; synApps writes them %.14g.
      return formatG(x, 14);
    case "enum":
    case "menu":
    case "short":
    case "long":
    case "ushort":
    case "ulong":
    case "uchar":
      return String(Math.trunc(x));
    case "char":
      return String(Math.trunc(x) << 24 >> 24);
    default:
      return Number.isInteger(x) ? String(x) : formatG(x, 14);
  }
}

function scalarText(v: number | bigint | string | boolean, kind: SavKind | undefined): string {
  if (typeof v === "string") {
    if (kind === undefined || kind === "string") return escapeValue(v);
    const x = Number(v);
    return v.trim() !== "" && Number.isFinite(x) ? numberText(x, kind) : escapeValue(v);
  }
  return numberText(v, kind);
}

/** An array element of a STRING array, as SR_write_array_data writes it (at most 39 chars). */
function stringElement(s: string): string {
  let out = "";
  let j = 0;
  for (const ch of s) {
    if (j >= STRING_ELEMENT_MAX || ch === "\0") break;
    if (ch === '"' || ch === "\\") {
      out += "\\";
      j++; // synApps counts the escape against the limit
    }
    out += ch === "\n" ? "\\n" : ch === "\r" ? "\\r" : ch;
    j++;
  }
  return out;
}

function arrayText(v: readonly (number | bigint | string)[], kind: SavKind | undefined): string {
  let out = "@array@ { ";
  for (let i = 0; i < v.length; i++) {
    const e = v[i];
    out += '"' +
      (typeof e === "string" && (kind === undefined || kind === "string")
        ? stringElement(e)
        : typeof e === "string"
        ? numberText(Number(e), kind)
        : numberText(e, kind)) +
      '" ';
  }
  return out + "}";
}

function longStringText(v: SavValue | undefined): string {
  let s: string;
  if (typeof v === "string") s = v;
  else if (isArrayValue(v)) {
    // A char array (what CA returns for NAME$): bytes up to the first NUL.
    s = charsToText(v as ArrayLike<number>);
  } else s = v === undefined ? "" : String(v);
  const nul = s.indexOf("\0");
  if (nul >= 0) s = s.slice(0, nul);
  return escapeValue(cutUtf8(s, LONG_STRING_MAX));
}

/**
 * The value text of one entry, as synApps writes it after the name and a space.
 * @param e the entry
 * @returns the text (no newline)
 * @example
 * ```ts
 * import { formatSavValue } from "./sav.ts";
 * if (formatSavValue({ name: "a", kind: "double", value: 1 / 3 }) !== "0.33333333333333") throw new Error();
 * if (formatSavValue({ name: "b", kind: "float", value: 1.2345678 }) !== "1.234568") throw new Error();
 * if (formatSavValue({ name: "c", value: new Float64Array([1, 2.5]) }) !== '@array@ { "1" "2.5" }') throw new Error();
 * ```
 */
export function formatSavValue(e: SavEntry): string {
  if (e.error !== undefined) return e.error;
  if (e.name.endsWith("$")) return longStringText(e.value);
  const v = e.value;
  if (v === undefined) return "";
  if (isArrayValue(v)) {
    if (v.length > 1) return arrayText(v, e.kind);
    if (v.length === 0) return arrayText(v, e.kind);
    return scalarText(v[0], e.kind);
  }
  return scalarText(v as number | bigint | string | boolean, e.kind);
}

/**
 * The whole text of a save file, exactly as synApps autosave writes it: header, the `!`
 * line when some PVs were not read, one line per entry (`#NAME reason` for those), `<END>`.
 * @param entries the save set, in request-file order
 * @param options header time and version, the `!` count
 * @returns the file's text
 * @example
 * ```ts
 * import { formatSav } from "./sav.ts";
 * const text = formatSav([
 *   { name: "x:ao.PREC", kind: "short", value: 3 },
 *   { name: "x:ao.VAL", kind: "double", value: 4.12345678901234 },
 *   { name: "x:gone", error: "Not Connected" },
 * ], { date: new Date(2025, 0, 1, 12, 0, 0) });
 * const want = "# autosave R5.3\tAutomatically generated - DO NOT MODIFY - 250101-120000\n" +
 *   "! 1 channel(s) not connected - or not all gets were successful\n" +
 *   "x:ao.PREC 3\nx:ao.VAL 4.1234567890123\n#x:gone Not Connected\n<END>\n";
 * if (text !== want) throw new Error(text);
 * ```
 */
export function formatSav(entries: readonly SavEntry[], options: FormatSavOptions = {}): string {
  const parts: string[] = [savHeader(options.date ?? new Date(0), options.version)];
  let failed = 0;
  for (const e of entries) if (e.error !== undefined) failed++;
  const nc = options.notConnected ?? failed;
  if (nc > 0) parts.push(`! ${nc} channel(s) not connected - or not all gets were successful\n`);
  for (const e of entries) {
    parts.push((e.error !== undefined ? "#" : "") + e.name + " " + formatSavValue(e) + "\n");
  }
  parts.push("<END>\n");
  return parts.join("");
}

// ---- reading -----------------------------------------------------------------------------

/** One restorable line of a save file. */
export interface SavRecord {
  /** The PV name (with its `$` when it is a long string). */
  readonly name: string;
  /** The value, unescaped: text for a scalar, the elements for an `@array@` line. */
  readonly value: string | string[];
  /** 1-based line of the entry in the file. */
  readonly line: number;
}

/** A parsed save file. */
export interface SavDocument {
  /** The PVs to restore, in file order. */
  readonly records: SavRecord[];
  /** PVs written as `#NAME reason` (not read at save time), with their reason. */
  readonly commented: { name: string; reason: string; line: number }[];
  /** The version in the header (e.g. `autosave R5.3`), when there is a synApps header. */
  readonly version?: string;
  /** The date text in the header (`YYMMDD-HHMMSS`), when there is one. */
  readonly date?: string;
  /** The count on the `!` line, when there is one. */
  readonly notConnected?: number;
  /** True when the file ends as synApps requires (see {@link checkSav}). */
  readonly complete: boolean;
}

/** The verdict of {@link checkSav}. */
export interface SavCheck {
  /** True when a synApps restore would accept the file. */
  readonly valid: boolean;
  /** Why not, when not valid. */
  readonly reason?: string;
}

/**
 * synApps' validity rule for a save file: it must end with `<END>` followed by one or two
 * characters (`\n` or `\r\n`). Files from versions before R1.8, which had no end marker, are
 * not special-cased: every file today has one.
 * @param text the file's text
 * @returns valid, or why not
 * @example
 * ```ts
 * import { checkSav } from "./sav.ts";
 * if (!checkSav("# x\n<END>\n").valid || !checkSav("<END>\r\n").valid) throw new Error();
 * if (checkSav("# x\nA 1\n").valid || checkSav("<END>").valid) throw new Error();
 * ```
 */
export function checkSav(text: string): SavCheck {
  if (text.length === 0) return { valid: false, reason: "the file is empty" };
  const n = text.length;
  if (n >= 7 && text.startsWith("<END>", n - 7)) return { valid: true };
  if (n >= 6 && text.startsWith("<END>", n - 6)) return { valid: true };
  if (text.endsWith("<END>")) return { valid: false, reason: "no newline after <END>" };
  return { valid: false, reason: "no <END> marker at the end (truncated or still being written)" };
}

/** A save file that cannot be read. */
export class SavFormatError extends EpicsSyntaxError {
  /** Creates the error. */
  constructor(message: string, where: { file?: string; line?: number } = {}) {
    super(message, where);
    this.name = "SavFormatError";
  }
}

const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;

/** Reads array elements from `text` starting at `i` (just after `{`). */
function parseArray(
  lines: string[],
  li: number,
  i: number,
): { elements: string[]; lineIndex: number; closed: boolean } {
  const elements: string[] = [];
  let s = lines[li];
  for (;;) {
    // Find the next element or the end of the array, across lines.
    while (i < s.length && s[i] !== '"' && s[i] !== "}") i++;
    if (i >= s.length) {
      if (li + 1 >= lines.length) return { elements, lineIndex: li, closed: false };
      s = lines[++li];
      i = 0;
      continue;
    }
    if (s[i] === "}") return { elements, lineIndex: li, closed: true };
    // One element: up to the unescaped closing quote. `\"`, `\\` and `\}` are taken as the
    // character; other escapes (`\n`, `\r`, `\t`, `\xNN`) as epicsStrnRawFromEscaped reads them.
    i++;
    let raw = "";
    for (;;) {
      if (i >= s.length) {
        if (li + 1 >= lines.length) {
          elements.push(unescapeValue(raw));
          return { elements, lineIndex: li, closed: false };
        }
        s = lines[++li];
        i = 0;
        continue;
      }
      const c = s[i];
      if (c === '"') {
        i++;
        break;
      }
      if (c === "\\" && i + 1 < s.length) {
        const d = s[i + 1];
        if (d === '"' || d === "}") raw += "\\x" + d.charCodeAt(0).toString(16);
        else raw += c + d;
        i += 2;
        continue;
      }
      raw += c;
      i++;
    }
    elements.push(unescapeValue(raw));
  }
}

/**
 * Parses a save file as synApps' restore reads it: each line is a name of up to 80
 * characters, one separator, and the rest of the line as the value (C escapes undone);
 * `#` lines are skipped (kept in `commented`), a `!` line gives the failed count, `<END>`
 * stops reading, `@array@ { "e1" "e2" }` values are split into elements.
 * @param text the file's text
 * @param options `force`: accept a file that fails {@link checkSav} (as fdbrestoreX does);
 *   `file`: named in errors
 * @returns the document
 * @throws SavFormatError when the file is not valid and `force` is not set
 * @example
 * ```ts
 * import { parseSav } from "./sav.ts";
 * const doc = parseSav('# autosave R5.3\tAutomatically generated - DO NOT MODIFY - 250101-120000\n' +
 *   'a:DESC tab\\there\nb:wf @array@ { "1" "2" }\n#c Not Connected\n<END>\n');
 * if (doc.records[0].value !== "tab\there" || (doc.records[1].value as string[])[1] !== "2") throw new Error();
 * if (doc.commented[0].name !== "c" || doc.version !== "autosave R5.3") throw new Error();
 * ```
 */
export function parseSav(
  text: string,
  options: { force?: boolean; file?: string } = {},
): SavDocument {
  const check = checkSav(text);
  if (!check.valid && !options.force) {
    throw new SavFormatError(
      `Cannot restore ${options.file ? `"${options.file}"` : "save file"}: ${check.reason}`,
      { file: options.file },
    );
  }
  const lines = text.split("\n");
  const records: SavRecord[] = [];
  const commented: { name: string; reason: string; line: number }[] = [];
  let version: string | undefined;
  let date: string | undefined;
  let notConnected: number | undefined;
  // pyepics' AutoSaver writes values unescaped and arrays as JSON lists.
  const pyepics = text.startsWith("# File saved by pyepics");
  for (let li = 0; li < lines.length; li++) {
    let s = lines[li];
    if (s.endsWith("\r")) s = s.slice(0, -1);
    if (li === 0) {
      const m = /^# (.*)\tAutomatically generated - DO NOT MODIFY - (\S*)/.exec(s);
      if (m) {
        version = m[1];
        date = m[2];
        continue;
      }
    }
    // sscanf("%80s%c%[^\n\r]"): skip white space, take the name, one separator, the rest.
    let i = 0;
    while (i < s.length && isWs(s.charCodeAt(i))) i++;
    if (i >= s.length) continue;
    const start = i;
    while (i < s.length && !isWs(s.charCodeAt(i)) && i - start < 80) i++;
    const name = s.slice(start, i);
    const rest = i < s.length ? s.slice(i + 1) : "";
    if (name.startsWith("<END>")) break;
    if (name[0] === "#") {
      if (name.length > 1) commented.push({ name: name.slice(1), reason: rest, line: li + 1 });
      continue;
    }
    if (name[0] === "!") {
      const m = /^\s*!?\s*(\d+)/.exec(s.slice(start + 1));
      if (m) notConnected = Number(m[1]);
      continue;
    }
    if (pyepics) {
      const json = rest.startsWith("@array@") ? rest.slice(7).trim() : "";
      if (json.startsWith("[")) {
        try {
          const arr = JSON.parse(json) as unknown[];
          records.push({ name, value: arr.map((x) => String(x)), line: li + 1 });
          continue;
        } catch {
          // not JSON after all: read it the synApps way below
        }
      } else if (!rest.startsWith("@array@")) {
        records.push({ name, value: rest.trim(), line: li + 1 });
        continue;
      }
    }
    if (rest.startsWith("@array@")) {
      const open = rest.indexOf("{");
      if (open >= 0) {
        lines[li] = rest;
        const a = parseArray(lines, li, open + 1);
        if (!a.closed && !options.force) {
          throw new SavFormatError(`Cannot read the array of "${name}": no closing "}"`, {
            file: options.file,
            line: li + 1,
          });
        }
        records.push({ name, value: a.elements, line: li + 1 });
        li = a.lineIndex;
        continue;
      }
    }
    records.push({ name, value: unescapeValue(rest), line: li + 1 });
  }
  return { records, commented, version, date, notConnected, complete: check.valid };
}
