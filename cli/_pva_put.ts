/**
 * How pvput turns its command-line values into a put structure, the way pvAccessCPP's
 * pvput does (so that what is sent, the warnings and the error texts are the same):
 *
 * - `<value>`: the `value` field; a scalar takes one value, an array takes
 *   `<count> <v1> <v2>...` (the count is ignored), an enum_t a choice name or an index.
 * - `<field>=<value>...`: named fields (dotted paths); `[a,b]` sets an array, `{...}` JSON.
 *   An argument whose field does not exist is taken as a bare value when `value` is a
 *   string, else it is reported and skipped.
 * - `[a,b]` alone: the `value` array; `{...}` alone: JSON for the whole structure.
 *
 * Text becomes numbers as pvData's parseToPOD does (strtol/strtoul/strtod with base
 * prefixes, whitespace allowed around, range checks) with the same messages.
 * Pure: no I/O (warnings go to a callback).
 * @module
 */

import { LocalProtocolError } from "../lib/core/errors.ts";
import { type FieldDesc, TypeCode } from "../lib/pva/proto/typedesc.ts";
import { PvValue } from "../lib/pva/proto/value.ts";

/** A put argument pvput could not use; the message is pvAccessCPP's. */
export class PutArgError extends LocalProtocolError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "PutArgError";
  }
}

const fail = (msg: string): never => {
  throw new PutArgError(msg);
};

const NO_DIGITS = "parseToPOD: No digits to convert";
const EXTRANEOUS = "parseToPOD: Extraneous characters";
const TOO_LARGE = "parseToPOD: Too large to represent";
const TOO_SMALL = "parseToPOD: Too small to represent";

const isSpace = (c: string | undefined) => c !== undefined && " \t\n\v\f\r".includes(c);

/** Skips trailing whitespace; anything else left over is an error. */
function checkRest(s: string, at: number): void {
  while (isSpace(s[at])) at++;
  if (at < s.length) fail(EXTRANEOUS);
}

/**
 * strtol/strtoul with base 0: optional sign, `0x` hex, leading-0 octal, else decimal.
 * @returns the magnitude with its sign and where parsing stopped, or undefined
 */
function strtoInt(s: string): { neg: boolean; mag: bigint; end: number } | undefined {
  let i = 0;
  while (isSpace(s[i])) i++;
  let neg = false;
  if (s[i] === "+" || s[i] === "-") neg = s[i++] === "-";
  let base = 10;
  let digits = /[0-9]/;
  if (
    s[i] === "0" && (s[i + 1] === "x" || s[i + 1] === "X") && /[0-9a-fA-F]/.test(s[i + 2] ?? "")
  ) {
    base = 16;
    digits = /[0-9a-fA-F]/;
    i += 2;
  } else if (s[i] === "0") {
    base = 8;
    digits = /[0-7]/;
  }
  const start = i;
  while (i < s.length && digits.test(s[i])) i++;
  if (i === start) return undefined;
  let mag = 0n;
  for (const ch of s.slice(start, i)) mag = mag * BigInt(base) + BigInt(parseInt(ch, 16));
  return { neg, mag, end: i };
}

const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** epicsParseLong on a 64-bit host: the signed value, or pvData's error. */
function parseLong(s: string): bigint {
  const r = strtoInt(s) ?? fail(NO_DIGITS);
  const v = r.neg ? -r.mag : r.mag;
  if (v > I64_MAX || v < -I64_MAX - 1n) fail(TOO_LARGE);
  checkRest(s, r.end);
  return v;
}

/** epicsParseULong on a 64-bit host: a negative number wraps, as strtoul does. */
function parseULong(s: string): bigint {
  const r = strtoInt(s) ?? fail(NO_DIGITS);
  if (r.mag > U64_MAX) fail(TOO_LARGE);
  checkRest(s, r.end);
  return r.neg ? (U64_MAX + 1n - r.mag) & U64_MAX : r.mag;
}

/** strtod: decimal or hex floats, inf/infinity, nan; the value and where it stopped. */
function strtod(s: string): { v: number; end: number } | undefined {
  let i = 0;
  while (isSpace(s[i])) i++;
  const m =
    /^([+-]?)(?:(infinity|inf)|(nan)(?:\([0-9a-z_]*\))?|0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?|(\d*\.?\d*(?:e[+-]?\d+)?))/i
      .exec(s.slice(i));
  if (!m) return undefined;
  const sign = m[1] === "-" ? -1 : 1;
  if (m[2]) return { v: sign * Infinity, end: i + m[0].length };
  if (m[3]) return { v: NaN, end: i + m[0].length };
  if (m[4] !== undefined && (m[4] + (m[5] ?? "")).length > 0) {
    const frac = m[5] ?? "";
    const v = (parseInt(m[4] || "0", 16) + (frac ? parseInt(frac, 16) / 16 ** frac.length : 0)) *
      2 ** Number(m[6] ?? 0);
    return { v: sign * v, end: i + m[0].length };
  }
  if (m[4] !== undefined) return { v: 0, end: i + m[1].length + 1 }; // "0x": the 0 only
  let num = m[7] ?? "";
  // A dangling exponent ("1e", "1e+") is not part of the number.
  const e = /[eE][+-]?$/.exec(num);
  if (e) num = num.slice(0, -e[0].length);
  if (!/\d/.test(num)) return undefined;
  return { v: sign * Number(num), end: i + m[1].length + num.length };
}

/** epicsParseDouble: overflow and underflow reported as pvData reports them. */
function parseDouble(s: string): number {
  const r = strtod(s) ?? fail(NO_DIGITS);
  const text = s.slice(0, r.end);
  if (!Number.isFinite(r.v) && !/inf|nan/i.test(text)) fail(TOO_LARGE);
  if (r.v === 0 && /[1-9]/.test(text.replace(/[eEpP][+-]?\d+$/, ""))) fail(TOO_SMALL);
  checkRest(s, r.end);
  return r.v;
}

const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;

/**
 * Converts command-line text to a scalar of code `sc` as pvData's parseToPOD does.
 * @param sc the scalar type code
 * @param text the text
 * @returns number, bigint (64-bit integers), boolean or string
 * @throws {PutArgError} with pvData's message when the text does not convert
 */
export function parseToPod(sc: number, text: string): number | bigint | boolean | string {
  switch (sc) {
    case TypeCode.STRING:
      return text;
    case TypeCode.BOOLEAN: {
      const l = text.toLowerCase();
      if (l === "true") return true;
      if (l === "false") return false;
      return fail("parseToPOD: string no match true/false");
    }
    case TypeCode.DOUBLE:
      return parseDouble(text);
    case TypeCode.FLOAT: {
      const v = parseDouble(text);
      const a = Math.abs(v);
      if (v > 0 && a <= FLT_MIN) fail(TOO_SMALL);
      if (Number.isFinite(v) && a >= FLT_MAX) fail(TOO_LARGE);
      return v;
    }
    case TypeCode.LONG:
      return parseLong(text);
    case TypeCode.ULONG:
      return parseULong(text);
  }
  const signed = sc === TypeCode.BYTE || sc === TypeCode.SHORT || sc === TypeCode.INT;
  const bits = sc === TypeCode.BYTE || sc === TypeCode.UBYTE
    ? 8n
    : sc === TypeCode.SHORT || sc === TypeCode.USHORT
    ? 16n
    : 32n;
  if (signed) {
    const v = parseLong(text);
    if (v < -(1n << (bits - 1n)) || v >= 1n << (bits - 1n)) fail(TOO_LARGE);
    return Number(v);
  }
  const v = parseULong(text);
  // epicsParseUInt8/16/32 let through what strtoul wrapped from a small negative number.
  const max = (1n << bits) - 1n;
  if (v > max && v <= (U64_MAX ^ max)) fail(TOO_LARGE);
  return Number(v & max);
}

/**
 * pvput's little parser of `[1, 2, "a b"]`: numbers and words unquoted, strings in double
 * quotes without escapes.
 * @param text the argument, starting with "["
 * @param warn receives what pvput prints on stderr before it gives up
 * @returns the element texts
 */
export function parseJsonArray(text: string, warn: (line: string) => void): string[] {
  const out: string[] = [];
  let i = 1;
  const early = () => {
    warn(`Unexpected end of input: ${text.slice(i)}\n`);
    fail("Unexpected end of input");
  };
  const unknown = () => {
    warn(`Unknown token '${text[i]}' in "${text.slice(i)}"`);
    fail("Unknown token");
  };
  const word = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c);
  for (;;) {
    while (text[i] === " ") i++;
    if (i >= text.length) early();
    const c = text[i];
    if (word(c) || c === "+" || c === "-") {
      const start = i;
      while (word(text[i]) || text[i] === "." || text[i] === "+" || text[i] === "-") i++;
      if (i >= text.length) early();
      out.push(text.slice(start, i));
    } else if (c === '"') {
      const start = ++i;
      while (i < text.length && text[i] !== '"') i++;
      if (i >= text.length) early();
      out.push(text.slice(start, i));
      i++;
    } else if (c !== "]") unknown();
    while (text[i] === " ") i++;
    if (text[i] === ",") i++;
    else if (text[i] === "]") break;
    else unknown();
  }
  return out;
}

/**
 * Sets a scalar array from texts and marks it. pvData converts a list of more than one
 * text element by element and puts `failed to parse element at index 0: ` before the
 * reason, always naming index 0 whichever element failed; a single text is converted
 * without that prefix (checked with pvAccessCPP's pvput: `[1.5,x]`, `3 1 x 3` and
 * `value=[1,x]` get the prefix, `[x]` does not).
 */
function putArrayFrom(node: PvValue, items: readonly string[]): void {
  const sc = node.type.scalarCode;
  node.value = items.map((x) => {
    try {
      return parseToPod(sc, x);
    } catch (e) {
      if (items.length < 2 || !(e instanceof PutArgError)) throw e;
      throw new PutArgError(`failed to parse element at index 0: ${e.message}`);
    }
  });
  node.markChanged();
}

/** Sets a scalar from text and marks it. */
function putScalarFrom(node: PvValue, text: string): void {
  node.value = parseToPod(node.type.scalarCode, text);
  node.markChanged();
}

// ---------------------------------------------------------------------------
// JSON into a structure (pvData's parseJSON)

/** A JSON scalar converted to a field of code `sc` as pvData's castUnsafe does. */
function castJson(sc: number, v: number | bigint | boolean | string): unknown {
  if (typeof v === "string") return parseToPod(sc, v);
  // pvData converts booleans only to booleans and strings.
  if ((typeof v === "boolean") !== (sc === TypeCode.BOOLEAN) && sc !== TypeCode.STRING) {
    fail("castUnsafeV: Conversion not supported");
  }
  if (sc === TypeCode.STRING) {
    if (typeof v === "boolean") return v ? "true" : "false";
    return typeof v === "bigint" ? String(v) : formatShortG(v);
  }
  if (sc === TypeCode.BOOLEAN) return typeof v === "boolean" ? v : v !== 0 && v !== 0n;
  const n = typeof v === "boolean" ? (v ? 1 : 0) : v;
  if (sc === TypeCode.FLOAT || sc === TypeCode.DOUBLE) return Number(n);
  const big = typeof n === "bigint" ? n : BigInt(Math.trunc(n));
  switch (sc) {
    case TypeCode.LONG:
      return BigInt.asIntN(64, big);
    case TypeCode.ULONG:
      return BigInt.asUintN(64, big);
    case TypeCode.BYTE:
      return Number(BigInt.asIntN(8, big));
    case TypeCode.SHORT:
      return Number(BigInt.asIntN(16, big));
    case TypeCode.INT:
      return Number(BigInt.asIntN(32, big));
    case TypeCode.UBYTE:
      return Number(BigInt.asUintN(8, big));
    case TypeCode.USHORT:
      return Number(BigInt.asUintN(16, big));
    default:
      return Number(BigInt.asUintN(32, big));
  }
}

/** `%g` with 6 digits, as a C++ stream writes a double into a string. */
function formatShortG(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(6)))));
  const s = e < -4 || e >= 6
    ? x.toExponential(5).replace(/\.?0+e/, "e").replace(/e([+-])(\d)$/, "e$10$2")
    : x.toFixed(Math.max(0, 5 - e));
  return s.includes(".") && !s.includes("e") ? s.replace(/\.?0+$/, "") : s;
}

type Scalar = number | bigint | boolean | string;

/**
 * Parses JSON into `target` as pvData's parseJSON does, assigning as it reads (so a bad
 * key is reported before a later syntax error, as with yajl's callbacks) and marking
 * each assigned field. The dialect is what EPICS' yajl accepts: JSON plus comments, bare
 * identifier keys, single-quoted strings, trailing commas, hex integers, `+`, Infinity
 * and NaN. Integers (no fraction or exponent) are kept exact. Syntax errors only
 * approximate yajl's messages.
 * @param text the JSON text
 * @param target the structure (or field) to assign into
 */
export function parseJsonInto(text: string, target: PvValue): void {
  let i = 0;
  const incomplete = (): never => fail("Error while completing parsing");
  const bad = (): never =>
    fail("Error on line 1 : parse error: unallowed token at this point in JSON text");
  const end = () => i >= text.length && incomplete();
  const ws = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i])) i++;
      if (text.startsWith("//", i)) {
        const e = text.indexOf("\n", i);
        i = e < 0 ? text.length : e + 1;
      } else if (text.startsWith("/*", i)) {
        const e = text.indexOf("*/", i + 2);
        if (e < 0) incomplete();
        i = e + 2;
      } else return;
    }
  };
  const SIMPLE: Record<string, string> = {
    n: "\n",
    r: "\r",
    t: "\t",
    b: "\b",
    f: "\f",
    v: "\v",
    "0": "\0",
  };
  const str = (): string => {
    const q = text[i++];
    let out = "";
    while (i < text.length && text[i] !== q) {
      if (text[i] !== "\\") {
        out += text[i++];
        continue;
      }
      const c = text[++i];
      i++;
      if (c === "u" || c === "x") {
        const n = c === "u" ? 4 : 2;
        out += String.fromCharCode(parseInt(text.slice(i, i + n), 16));
        i += n;
      } else out += SIMPLE[c] ?? c ?? "";
    }
    end();
    i++;
    return out;
  };
  /** A scalar token, or null for `null`. */
  const scalar = (): Scalar | null => {
    if (text[i] === '"' || text[i] === "'") return str();
    const m =
      /^(true|false|null|[+-]?(?:Infinity|NaN|0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))/
        .exec(text.slice(i));
    if (!m) return bad();
    i += m[0].length;
    const t = m[0];
    if (t === "true" || t === "false") return t === "true";
    if (t === "null") return null;
    const neg = t.startsWith("-");
    const body = t.replace(/^[+-]/, "");
    if (body === "Infinity") return neg ? -Infinity : Infinity;
    if (body === "NaN") return NaN;
    if (/^0x/i.test(body)) return (neg ? -1n : 1n) * BigInt(body);
    if (/[.eE]/.test(body)) return Number(t);
    return (neg ? -1n : 1n) * BigInt(body);
  };
  const object = (node: PvValue) => {
    i++;
    for (;;) {
      ws();
      end();
      if (text[i] === "}") {
        i++;
        return;
      }
      let key: string;
      if (text[i] === '"' || text[i] === "'") key = str();
      else {
        const m = /^[$_A-Za-z][$_A-Za-z0-9]*/.exec(text.slice(i));
        if (!m) return bad();
        key = m[0];
        i += key.length;
      }
      const member = memberOf(node, key);
      ws();
      end();
      if (text[i++] !== ":") bad();
      value(member);
      ws();
      end();
      if (text[i] === ",") i++;
      else if (text[i] !== "}") bad();
    }
  };
  const array = (node: PvValue) => {
    const t = node.type;
    if (t.kind !== "scalarArray" && t.kind !== "structureArray") fail("Can't assign array");
    i++;
    const items: unknown[] = Array.from(node.value as ArrayLike<unknown>);
    for (;;) {
      ws();
      end();
      if (text[i] === "]") {
        i++;
        node.value = items;
        node.markChanged();
        return;
      }
      if (text[i] === "{") {
        if (t.kind !== "structureArray") fail("Can't map (sub)structure");
        const el = PvValue.create(t.element as FieldDesc);
        object(el);
        items.push(el);
      } else if (text[i] === "[") fail("Can't assign array");
      else {
        const v = scalar();
        if (v === null) fail("NULL value not permitted");
        if (t.kind !== "scalarArray") fail("Can't assign value");
        items.push(castJson(t.scalarCode, v!));
      }
      ws();
      end();
      if (text[i] === ",") i++;
      else if (text[i] !== "]") bad();
    }
  };
  const value = (node: PvValue) => {
    ws();
    end();
    if (text[i] === "{") {
      if (node.type.kind !== "structure") fail("Can't map (sub)structure");
      return object(node);
    }
    if (text[i] === "[") return array(node);
    const v = scalar();
    if (v === null) return fail("NULL value not permitted");
    const t = node.type;
    if (t.kind === "scalar") {
      node.value = castJson(t.scalarCode, v);
      node.markChanged();
    } else if (t.kind === "scalarArray") {
      // A lone scalar appends one element (pvData leaves the array unmarked then).
      node.value = [...Array.from(node.value as ArrayLike<unknown>), castJson(t.scalarCode, v)];
    } else fail("Can't assign value");
  };
  value(target);
  ws();
  if (i < text.length) fail("Error on line 1 : parse error: trailing garbage");
}

function memberOf(node: PvValue, key: string): PvValue {
  const where = node.path;
  const bad = (why: string): never => fail(`At ${where} : Failed to get field: ${key} (${why})\n`);
  if (key.includes(" ")) bad("No spaces allowed in field name");
  const parts = key.split(".");
  let cur = node;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === "") bad("Zero-length field name encountered");
    const next = cur.type.kind === "structure" ? cur.tryField(parts[i]) : undefined;
    if (!next) {
      if (cur.type.kind !== "structure") bad(`${parts.slice(0, i).join(".")} is not a structure`);
      bad(`${parts.slice(0, i + 1).join(".")} not found`);
    }
    cur = next!;
  }
  return cur;
}

// ---------------------------------------------------------------------------

function isEnumT(node: PvValue): boolean {
  return node.type.kind === "structure" && node.type.typeId === "enum_t";
}

/**
 * Builds the put structure from pvput's value arguments.
 * @param previous the channel's current value (enum choices come from it)
 * @param values the value arguments
 * @param warn receives the warning lines pvput prints on stderr
 * @returns a new value of the same type with what to send marked changed
 * @throws {PutArgError} with pvput's message when the arguments cannot be used
 */
export function buildPut(
  previous: PvValue,
  values: readonly string[],
  warn: (line: string) => void,
): PvValue {
  const root = PvValue.create(previous.type);
  const bare: string[] = [];
  const pairs: [string, string][] = [];
  const valueNode = root.tryField("value");
  for (const arg of values) {
    const sep = arg.indexOf("=");
    if (sep < 0) {
      bare.push(arg);
      continue;
    }
    const name = arg.slice(0, sep);
    if (name !== "" && root.has(name)) pairs.push([name, arg.slice(sep + 1)]);
    else if (valueNode) {
      // "a=b" for a string PV is a value containing "=".
      if (valueNode.type.kind === "scalar" && valueNode.type.typeName === "string") bare.push(arg);
      else warn(`${name} : Warning: no such field. Ignoring it.\n`);
    }
  }
  if (bare.length > 0 && pairs.length > 0) fail("Can't mix bare values and field=value pairs");
  if (bare.length === 0 && pairs.length === 0) fail("No valid value(s) specified");
  if (bare.length === 1 && bare[0].startsWith("[")) {
    pairs.push(["value", bare.pop()!]);
  }

  if (bare.length === 1 && bare[0].startsWith("{")) {
    parseJsonInto(bare[0], root);
  } else if (pairs.length === 0) {
    if (!valueNode) fail("Structure has no .value");
    const v = valueNode!;
    switch (v.type.kind) {
      case "scalar":
        if (bare.length !== 1) fail("Can't assign multiple values to scalar");
        putScalarFrom(v, bare[0]);
        break;
      case "scalarArray":
        // The first word is the element count of the old tools; it is ignored.
        putArrayFrom(v, bare.slice(1));
        break;
      default: {
        if (!isEnumT(v)) fail("Don't know how to set field .value");
        if (bare.length !== 1) fail("Can't assign multiple values to enum");
        const idx = v.field("index");
        const choices = (previous.tryField("value.choices")?.value as string[] | undefined) ?? [];
        const at = choices.indexOf(bare[0]);
        if (at >= 0) {
          idx.value = at;
          idx.markChanged();
        } else putScalarFrom(idx, bare[0]);
      }
    }
  } else {
    for (const [name, text] of pairs) {
      const node = root.tryField(name);
      if (!node) {
        warn(`${name} : Warning: no such field\n`);
      } else if (text.startsWith("[")) {
        const items = parseJsonArray(text, warn);
        if (node.type.kind !== "scalarArray") {
          warn(`${name} : Error not a scalar array field\n`);
          fail("Not a scalar array field");
        }
        putArrayFrom(node, items);
      } else if (text.startsWith("{")) {
        parseJsonInto(text, node);
      } else if (node.type.kind !== "scalar") {
        warn(`${name} : Error: need a scalar field\n`);
      } else {
        putScalarFrom(node, text);
      }
    }
  }
  return root;
}
