/**
 * Link text, parsed as dbParseLink reads it: empty, a constant (number, JSON array or
 * string, or `{const: ...}`), hardware addresses (`@...`, `#...`), or a PV link
 * `NAME[.FIELD] [PP|NPP|CA|CP|CPP] [NMS|MS|MSS|MSI]`. Pure.
 * @module
 */

import { parseNumber } from "./fields.ts";

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
  }
  | { readonly kind: "hw"; readonly text: string }
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

function jsonConstant(text: string): LinkSpec | undefined {
  try {
    let v = JSON.parse(text.replace(/^\{\s*"?const"?\s*:/, '{"const":'));
    if (v !== null && typeof v === "object" && !Array.isArray(v) && "const" in v) v = v.const;
    if (typeof v === "number" || typeof v === "string") return { kind: "constant", text, value: v };
    if (Array.isArray(v) && v.every((x) => typeof x === "number" || typeof x === "string")) {
      return { kind: "constant", text, value: v };
    }
  } catch {
    // Not JSON: handled by the caller.
  }
  return undefined;
}

/**
 * Parses link text.
 * @param text the field's text
 * @returns the link
 * @throws Error with the reason when modifiers are unknown
 * @example
 * ```ts
 * import { parseLink } from "./links.ts";
 * const l = parseLink("ioc:a.HIHI CP MS");
 * if (l.kind !== "pv" || l.field !== "HIHI" || l.process !== "CP" || l.severity !== "MS") throw new Error();
 * if (parseLink("3.5").kind !== "constant" || parseLink("").kind !== "none") throw new Error();
 * ```
 */
const NONE: LinkSpec = Object.freeze({ kind: "none", text: "" });

export function parseLink(text: string): LinkSpec {
  if (text === "") return NONE;
  const t = text.trim();
  if (t === "") return NONE;
  if (t.startsWith("@") || t.startsWith("#")) return { kind: "hw", text: t };
  const n = parseNumber(t);
  if (n !== undefined && !/^[A-Za-z]/.test(t)) return { kind: "constant", text: t, value: n };
  if (t.startsWith("[") || t.startsWith("{") || t.startsWith('"')) {
    const c = jsonConstant(t);
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
