/**
 * The printf record's formatting: C printf conversions over values read from INP0..INP9,
 * one link per conversion; a link that gives nothing prints IVLS instead. Pure.
 * @module
 */

import { nanText } from "./_c_number.ts";

const SPEC = /%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?(hh|h|ll|l)?([diouxXeEfFgGcs%])/g;

function pad(s: string, flags: string, width: number | undefined): string {
  if (width === undefined || s.length >= width) return s;
  if (flags.includes("-")) return s.padEnd(width);
  if (flags.includes("0") && /^[+-]?[0-9a-fA-F.]/.test(s) && !/[a-zA-Z]{3}/.test(s)) {
    const sign = /^[+-]/.test(s) ? s[0] : "";
    return sign + s.slice(sign.length).padStart(width - sign.length, "0");
  }
  return s.padStart(width);
}

function gFormat(v: number, p: number, alt: boolean, upper: boolean): string {
  if (!Number.isFinite(v)) return String(v);
  const prec = p === 0 ? 1 : p;
  if (v === 0) return alt ? (0).toFixed(prec - 1) : "0";
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(prec)))));
  let s: string;
  if (exp < -4 || exp >= prec) {
    s = v.toExponential(prec - 1);
    if (!alt) s = s.replace(/\.?0+e/, "e");
    s = s.replace(/e([+-])(\d)$/, "e$10$2");
  } else {
    s = v.toFixed(Math.max(0, prec - 1 - exp));
    if (!alt && s.includes(".")) s = s.replace(/\.?0+$/, "");
  }
  return upper ? s.toUpperCase() : s;
}

function special(v: number, upper: boolean): string | undefined {
  if (Number.isNaN(v)) return upper ? nanText(v).toUpperCase() : nanText(v);
  if (!Number.isFinite(v)) return (v < 0 ? "-" : "") + (upper ? "INF" : "inf");
  return undefined;
}

/** The DBR type the printf record reads a conversion's input link as. */
export type PrintfDbr =
  | "CHAR"
  | "UCHAR"
  | "SHORT"
  | "USHORT"
  | "LONG"
  | "ULONG"
  | "INT64"
  | "UINT64"
  | "FLOAT"
  | "DOUBLE"
  | "STRING";

/** printfRecord's choice of type: by conversion, then by the h/hh/l/ll length. */
function dbrOf(conv: string, len: string | undefined): PrintfDbr {
  if (conv === "s") return "STRING";
  if ("eEfFgG".includes(conv)) return len === "h" ? "FLOAT" : "DOUBLE";
  const signed = "cdi".includes(conv);
  if (conv === "c" || len === "hh") return signed ? "CHAR" : "UCHAR";
  if (len === "h") return signed ? "SHORT" : "USHORT";
  if (len === "ll") return signed ? "INT64" : "UINT64";
  return signed ? "LONG" : "ULONG";
}

/** C's %.Nf, also past 1e21 where toFixed gives exponents (a double that large is whole). */
function fixed(v: number, precision: number): string {
  if (Math.abs(v) < 1e21) return v.toFixed(precision);
  return BigInt(v).toString() + (precision > 0 ? "." + "0".repeat(precision) : "");
}

/**
 * Formats like the printf record.
 * @param fmt the FMT field
 * @param get reads input link i as a number (a bigint for a 64-bit integer) or a string,
 * given the DBR type base reads it as (undefined: nothing to read)
 * @param ivls text printed for an input that gives nothing
 * @returns the text
 * @example
 * ```ts
 * import { formatPrintf } from "./printf.ts";
 * const vals = [3, "ok", 2.5];
 * const s = formatPrintf("n=%03d %s %.2f%%", (i) => vals[i], "LNK");
 * if (s !== "n=003 ok 2.50%") throw new Error(s);
 * ```
 */
export function formatPrintf(
  fmt: string,
  get: (
    index: number,
    want: "number" | "string",
    dbr: PrintfDbr,
  ) => number | bigint | string | undefined,
  ivls = "LNK",
): string {
  let next = 0;
  return fmt.replace(
    SPEC,
    (_m, flags: string, w?: string, p?: string, len?: string, conv = "") => {
      if (conv === "%") return "%";
      const take = (want: "number" | "string", dbr: PrintfDbr) =>
        next < 10 ? get(next++, want, dbr) : undefined;
      const width = w === "*"
        ? Number(take("number", "SHORT") ?? 0)
        : w === undefined
        ? undefined
        : Number(w);
      const precision = p === "*"
        ? Number(take("number", "SHORT") ?? 0)
        : p === undefined
        ? undefined
        : Number(p);
      if (conv === "s") {
        const v = take("string", "STRING");
        if (v === undefined) return pad(ivls, flags, width);
        const s = String(v);
        return pad(precision === undefined ? s : s.slice(0, precision), flags, width);
      }
      const raw = take("number", dbrOf(conv, len));
      if (raw === undefined) return pad(ivls, flags, width);
      const v = Number(raw);
      // 64-bit integers print exactly (a bigint, as base's %lld/%llu of an epicsInt64).
      const big = typeof raw === "bigint" ? BigInt.asUintN(64, raw) : undefined;
      const sign = (s: string) =>
        v >= 0 && !s.startsWith("-")
          ? (flags.includes("+") ? "+" : flags.includes(" ") ? " " : "") + s
          : s;
      let s: string;
      switch (conv) {
        case "d":
        case "i":
          s = sign(typeof raw === "bigint" ? String(raw) : String(Math.trunc(v)));
          if (precision !== undefined) s = s.replace(/\d+/, (d) => d.padStart(precision, "0"));
          break;
        case "u":
          s = String(big ?? Math.trunc(v) >>> 0);
          break;
        case "o":
          s = (big ?? Math.trunc(v) >>> 0).toString(8);
          if (flags.includes("#")) s = "0" + s;
          break;
        case "x":
        case "X":
          s = (big ?? Math.trunc(v) >>> 0).toString(16);
          if (flags.includes("#") && v !== 0) s = "0x" + s;
          if (conv === "X") s = s.toUpperCase();
          break;
        case "c":
          s = String.fromCharCode(Math.trunc(v) & 0xff);
          break;
        case "e":
        case "E":
          s = special(v, conv === "E") ??
            sign(v.toExponential(precision ?? 6).replace(/e([+-])(\d)$/, "e$10$2"));
          if (conv === "E") s = s.toUpperCase();
          break;
        case "f":
        case "F":
          s = special(v, conv === "F") ?? sign(fixed(v, precision ?? 6));
          break;
        default:
          s = special(v, conv === "G") ??
            sign(gFormat(v, precision ?? 6, flags.includes("#"), conv === "G"));
      }
      return pad(s, flags, width);
    },
  );
}
