/**
 * Link text, parsed as dbParseLink reads it: empty, a constant (number, JSON array or
 * string, or `{const: ...}`), hardware addresses (`@...`, `#...`), or a PV link
 * `NAME[.FIELD] [PP|NPP|CA|CP|CPP] [NMS|MS|MSS|MSI]`. Pure.
 * @module
 */

import { parseCDouble } from "./_c_number.ts";
import { type JsonLink, type JsonLinkDbf, parseJsonLink } from "./json_link.ts";
import { Json5Error, parseJson5 } from "./json5.ts";
import { yajlError, yajlText, yajlValueError } from "./_yajl_error.ts";

/** Process modifier of a PV link. */
export type LinkProcess = "NPP" | "PP" | "CA" | "CP" | "CPP";
/** Maximize-severity modifier of a PV link. */
export type LinkSeverity = "NMS" | "MS" | "MSS" | "MSI";

/** A parsed link. */
export type LinkSpec =
  | { readonly kind: "none"; readonly text: string }
  | {
    readonly kind: "constant";
    readonly text: string;
    /** The constant: a number, a string, or an array of them. */
    readonly value: number | string | readonly (number | string)[];
    /** The `{const: ...}` link it came from, when it was one (for dbjlr). */
    readonly json?: JsonLink;
    /**
     * For a `[...]` text base's JSON parser stops in (`[1, nan]`): what dbConvertJSON prints
     * when a record loads it at init; `value` then holds the elements before the error.
     */
    readonly error?: string;
  }
  | { readonly kind: "hw"; readonly text: string }
  | {
    /** A JSON link other than `{const: ...}`: calc, state, debug, trace. */
    readonly kind: "json";
    readonly text: string;
    readonly link: JsonLink;
  }
  | {
    readonly kind: "pv";
    readonly text: string;
    /** Target record (or remote PV) name. */
    readonly record: string;
    /** Target field (default VAL). */
    readonly field: string;
    /** Whether the link names a field explicitly. */
    readonly explicitField: boolean;
    /** Processing modifier (NPP when none). */
    readonly process: LinkProcess;
    /** Severity modifier (NMS when none). */
    readonly severity: LinkSeverity;
  };

const PROCESS = new Set(["NPP", "PP", "CA", "CP", "CPP"]);
const SEVERITY = new Set(["NMS", "MS", "MSS", "MSI"]);

/** A bare JSON constant (`[1, 2]`, `"text"`), as dbParseLink takes one. */
function jsonConstant(text: string): LinkSpec | undefined {
  let v: unknown;
  try {
    const n = parseJson5(text);
    if (n.t === "string") v = n.v;
    else if (n.t === "array") {
      v = n.items.map((i) => i.t === "int" || i.t === "double" || i.t === "string" ? i.v : null);
    }
  } catch {
    // Not JSON: handled by the caller.
  }
  if (typeof v === "string") return { kind: "constant", text, value: v };
  if (Array.isArray(v) && v.every((x) => typeof x === "number" || typeof x === "string")) {
    return { kind: "constant", text, value: v };
  }
  return undefined;
}

/**
 * A `[...]` text that JSON5 cannot read: dbParseLink takes any text in brackets as a
 * constant, and only the load at init finds the error (yajl's message); the elements
 * before the one that failed are what the load wrote.
 */
function brokenArray(text: string): LinkSpec | undefined {
  try {
    parseJson5(text);
    return undefined;
  } catch (e) {
    if (!(e instanceof Json5Error)) throw e;
    const at = e.offset;
    const lexical = yajlValueError(text, at);
    const [kind, words, offset] = lexical ?? [...yajlText(e.message), at + 1];
    // The elements yajl had passed to dbConvertJSON's callbacks when it stopped.
    const before = text.slice(0, at).replace(/[\s,]+$/, "");
    const head = jsonConstant(before + "]");
    const value = head?.kind === "constant" && Array.isArray(head.value) ? head.value : [];
    return {
      kind: "constant",
      text,
      value,
      error: yajlError("dbConvertJSON", kind, words, text, offset),
    };
  }
}

/**
 * Parses link text.
 * @param text the field's text
 * @param dbf the kind of link field (JSON links accept different things in each)
 * @returns the link
 * @throws Error with the reason when modifiers are unknown, JsonLinkError (base's message)
 * for a JSON link base refuses
 * @example
 * ```ts
 * import { parseLink } from "./links.ts";
 * const l = parseLink("ioc:a.HIHI CP MS");
 * if (l.kind !== "pv" || l.field !== "HIHI" || l.process !== "CP" || l.severity !== "MS") throw new Error();
 * if (parseLink("3.5").kind !== "constant" || parseLink("").kind !== "none") throw new Error();
 * ```
 */
const NONE: LinkSpec = Object.freeze({ kind: "none", text: "" });

export function parseLink(text: string, dbf: JsonLinkDbf = "INLINK"): LinkSpec {
  if (text === "") return NONE;
  const t = text.trim();
  if (t === "") return NONE;
  if (t.startsWith("@") || t.startsWith("#")) return { kind: "hw", text: t };
  // A constant when the whole text reads as a double (dbParseLink's epicsParseDouble test):
  // "nan", "-inf", "0x10", "1e3" are constants; "5abc" and "1e999" (out of range) name PVs.
  const n = parseCDouble(t, { units: false });
  if (typeof n !== "string") return { kind: "constant", text: t, value: n.value };
  if (t.startsWith("{") && t.endsWith("}")) {
    const link = parseJsonLink(t, dbf);
    if (!link) return NONE;
    if (link.type === "const") return { kind: "constant", text: t, value: link.value, json: link };
    return { kind: "json", text: t, link };
  }
  if (t.startsWith("[") || t.startsWith("{") || t.startsWith('"')) {
    const c = jsonConstant(t) ??
      (t.startsWith("[") && t.endsWith("]") ? brokenArray(t) : undefined);
    if (c) return c;
    throw new Error(`Link "${t}" is not a constant this IOC understands`);
  }
  const words = t.split(/[\s,]+/).filter((w) => w !== "");
  const target = words[0];
  let process: LinkProcess = "NPP";
  let severity: LinkSeverity = "NMS";
  for (const w of words.slice(1)) {
    if (PROCESS.has(w)) process = w as LinkProcess;
    else if (SEVERITY.has(w)) severity = w as LinkSeverity;
    else throw new Error(`Link "${t}" has an unknown modifier "${w}"`);
  }
  const dot = target.lastIndexOf(".");
  const fieldPart = dot > 0 ? target.slice(dot + 1) : "";
  // A dot followed by a field name (letters, digits, an optional $) names the field.
  if (dot > 0 && /^[A-Z][A-Z0-9]{0,3}\$?$/.test(fieldPart)) {
    return {
      kind: "pv",
      text: t,
      record: target.slice(0, dot),
      field: fieldPart.replace(/\$$/, ""),
      explicitField: true,
      process,
      severity,
    };
  }
  return {
    kind: "pv",
    text: t,
    record: target,
    field: "VAL",
    explicitField: false,
    process,
    severity,
  };
}
