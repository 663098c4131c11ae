/**
 * The other save formats users have, read into the same {@link SavDocument} as synApps
 * files (values as text, arrays as element lists), and our JSON writer:
 *
 * - epicsdev JSON: `{"NAME": {"value": V, "time": ...}, ...}` (enums saved as the index);
 * - caproto's `autosave.json`: `{"NAME": {"value": V, "fields": {"description": "..."}}}`;
 * - p4p's server JSON: `{"version": 1, "pvs": [["NAME", "type", V], ...]}`;
 * - pyepics autosave `.sav` (synApps-like lines, arrays as `@array@ [1, 2]`): read by
 *   {@link parseSav} itself.
 *
 * Pure: no I/O.
 * @module
 */

import { charsToText } from "../core/bytes.ts";
import { parseSav, SavFormatError } from "./sav.ts";
import type { SavDocument, SavEntry, SavRecord } from "./sav.ts";

/** Which format a save file's text is in. */
export type SaveFormat = "synapps" | "pyepics" | "json";

/**
 * Tells a save file's format from its text: JSON starts with `{`, pyepics files with their
 * `# File saved by pyepics` header, anything else is read as synApps.
 * @param text the file's text
 * @returns the format
 */
export function detectSaveFormat(text: string): SaveFormat {
  const t = text.trimStart();
  if (t.startsWith("{")) return "json";
  if (t.startsWith("# File saved by pyepics")) return "pyepics";
  return "synapps";
}

// caproto names record fields by attribute; the common ones, as EPICS field names.
const CAPROTO_FIELDS: Record<string, string> = {
  description: "DESC",
  units: "EGU",
  precision: "PREC",
  scan: "SCAN",
  display_high: "HOPR",
  display_low: "LOPR",
  high_alarm_limit: "HIHI",
  low_alarm_limit: "LOLO",
  high_warning_limit: "HIGH",
  low_warning_limit: "LOW",
};

function jsonText(v: unknown): string | string[] | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "boolean") return v ? "1" : "0";
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const e of v) {
      const t = jsonText(e);
      if (typeof t !== "string") return undefined;
      out.push(t);
    }
    return out;
  }
  // epicsdev / p4p enums: {"index": 2, "choices": [...]}
  if (v && typeof v === "object" && "index" in v) return jsonText((v as { index: unknown }).index);
  return undefined;
}

/**
 * Parses a JSON save file (epicsdev, caproto or p4p) into a document.
 * @param text the JSON text
 * @param options `file`: named in errors
 * @returns the document (`complete` true; PVs whose value cannot be restored in `commented`)
 * @throws SavFormatError when the text is not JSON of one of these shapes
 * @example
 * ```ts
 * import { parseJsonSave } from "./formats.ts";
 * const d = parseJsonSave('{"a:ao": {"value": 1.5, "time": 1}, "a:mbbo": {"value": 2}, "a:wf": {"value": [1, 2]}}');
 * if (d.records.map((r) => r.value).join(";") !== "1.5;2;1,2") throw new Error();
 * ```
 */
export function parseJsonSave(text: string, options: { file?: string } = {}): SavDocument {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new SavFormatError(
      `Cannot read ${options.file ? `"${options.file}"` : "save file"}: ${(e as Error).message}`,
      { file: options.file },
    );
  }
  const records: SavRecord[] = [];
  const commented: { name: string; reason: string; line: number }[] = [];
  const add = (name: string, v: unknown) => {
    const t = jsonText(v);
    if (t === undefined) {
      commented.push({ name, reason: "value is not a number, text or array", line: 0 });
    } else records.push({ name, value: t, line: 0 });
  };
  if (!data || typeof data !== "object" || Array.isArray(data)) {
    throw new SavFormatError(`Cannot read ${options.file ?? "save file"}: not a JSON object`, {
      file: options.file,
    });
  }
  const obj = data as Record<string, unknown>;
  if (Array.isArray(obj.pvs) && "version" in obj) {
    for (const row of obj.pvs as unknown[]) {
      if (Array.isArray(row) && typeof row[0] === "string") add(row[0], row[row.length - 1]);
    }
    return { records, commented, complete: true };
  }
  for (const [name, entry] of Object.entries(obj)) {
    if (entry && typeof entry === "object" && !Array.isArray(entry) && "value" in entry) {
      const e = entry as { value: unknown; fields?: Record<string, unknown> };
      add(name, e.value);
      for (const [f, fv] of Object.entries(e.fields ?? {})) {
        const field = CAPROTO_FIELDS[f] ?? (/^[A-Z][A-Z0-9]{0,3}$/.test(f) ? f : undefined);
        if (field) add(`${name}.${field}`, fv);
        else commented.push({ name: `${name}.${f}`, reason: "unknown caproto field", line: 0 });
      }
    } else add(name, entry);
  }
  return { records, commented, complete: true };
}

/**
 * Parses a save file of any supported format (see {@link detectSaveFormat}).
 * @param text the file's text
 * @param options `force` (synApps files without `<END>`), `file` for errors
 * @returns the document and its format
 * @throws SavFormatError as {@link parseSav} and {@link parseJsonSave}
 */
export function parseAnySave(
  text: string,
  options: { force?: boolean; file?: string } = {},
): SavDocument & { format: SaveFormat } {
  const format = detectSaveFormat(text);
  const doc = format === "json" ? parseJsonSave(text, options) : parseSav(text, options);
  return { ...doc, format };
}

/**
 * Writes a save set as JSON in epicsdev's shape, `{"NAME": {"value": V}}` (numbers as
 * numbers, enums as the index, arrays as lists; PVs not read are left out), which
 * epicsdev and caproto can read back.
 * @param entries the save set
 * @returns the JSON text, one PV per line
 * @example
 * ```ts
 * import { formatJsonSave } from "./formats.ts";
 * const t = formatJsonSave([{ name: "a", kind: "double", value: 0.1 }, { name: "b", error: "Not Connected" }]);
 * if (t !== '{\n"a": {"value": 0.1}\n}\n') throw new Error(t);
 * ```
 */
export function formatJsonSave(entries: readonly SavEntry[]): string {
  const lines: string[] = [];
  for (const e of entries) {
    if (e.error !== undefined) continue;
    lines.push(`${JSON.stringify(e.name)}: {"value": ${JSON.stringify(jsonValue(e))}}`);
  }
  return "{\n" + lines.join(",\n") + (lines.length ? "\n" : "") + "}\n";
}

function jsonValue(e: SavEntry): unknown {
  const v = e.value;
  if (e.name.endsWith("$")) return longText(v);
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "object" && v !== null && "length" in v && typeof v !== "string") {
    return Array.from(
      v as ArrayLike<number | string>,
      (x) => typeof x === "bigint" ? Number(x) : x,
    );
  }
  if (typeof v === "number" && e.kind === "float") return Number(Math.fround(v).toPrecision(7));
  return v ?? null;
}

function longText(v: SavEntry["value"]): string {
  if (typeof v === "string") return v.split("\0")[0];
  if (v && typeof v === "object" && "length" in v) return charsToText(v as ArrayLike<number>);
  return v === undefined ? "" : String(v);
}
