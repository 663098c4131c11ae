/**
 * JSON links as EPICS base 7.0.8.1 has them (modules/database/src/std/link): `const`,
 * `calc` (lnkCalc: an expression over up to 12 arguments, numbers or child links, with
 * `major`/`minor` alarm expressions, `units`, `prec`, `time` and, for output links, `out`),
 * `state` (lnkState: a named dbState flag, `!` inverting it) and `debug`/`trace` (lnkDebug:
 * delegate to a child link; `trace` prints every call). Parsing follows dbJLink's rules:
 * the object's one key names the link type, and each type takes what its jlif callbacks
 * take, with base's messages for what they refuse. Any other link type (`pva`, which pvxs
 * adds, `ca`, `db`) is refused as dbJLinkInit refuses it: "Link type 'X' not found".
 *
 * Evaluation ({@link JsonLinkInstance}) is pure: the database hands in the state flags, the
 * alarm sink of the owning record and where trace lines go.
 * @module
 */

import { CALC_ARGS, type CalcProgramLike, compile, evaluate } from "./_calc.ts";
import { type Json5Node, parseJson5 } from "./json5.ts";

/** The kind of link field a JSON link is parsed for. */
export type JsonLinkDbf = "INLINK" | "OUTLINK" | "FWDLINK";

/** A parsed JSON link. */
export type JsonLink =
  | {
    readonly type: "const";
    /** The constant: a number, a string, or an array of them. */
    readonly value: number | string | readonly (number | string)[];
    /** The element type, as lnkConst reports it. */
    readonly elem: "integer" | "double" | "string";
    readonly array: boolean;
  }
  | {
    readonly type: "calc";
    readonly dbf: JsonLinkDbf;
    readonly expr?: string;
    readonly major?: string;
    readonly minor?: string;
    readonly programs: {
      readonly expr?: CalcProgramLike;
      readonly major?: CalcProgramLike;
      readonly minor?: CalcProgramLike;
    };
    /** A..L: numbers, or child input links. */
    readonly args: readonly (number | JsonLink)[];
    readonly out?: JsonLink;
    readonly units?: string;
    readonly prec: number;
    /** Index of the `time` argument (A = 0), -1 when none. */
    readonly tinp: number;
  }
  | { readonly type: "state"; readonly name: string; readonly invert: boolean }
  | {
    readonly type: "debug" | "trace";
    readonly child: JsonLink;
    /** The kind of link field the child was parsed for. */
    readonly dbf: JsonLinkDbf;
    /** The child's JSON as parsed (`trace` replays its parse callbacks). */
    readonly node: Json5Node & { t: "map" };
  };

/** A JSON link base would refuse, with base's message. */
export class JsonLinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JsonLinkError";
  }
}

const LINK_TYPES = new Set(["const", "calc", "state", "debug", "trace"]);

function describe(n: Json5Node): string {
  switch (n.t) {
    case "int":
      return `integer ${n.v}`;
    case "double":
      return `double ${gShort(n.v)}`;
    case "string":
      return `string "${n.v}"`;
    case "map":
      return "map";
    case "array":
      return "array";
    case "bool":
      return `boolean ${n.v ? 1 : 0}`;
    default:
      return "null";
  }
}

/** C's `%g`. */
export function gShort(v: number, p = 6): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const prec = Math.max(1, p);
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(prec)))));
  if (exp < -4 || exp >= prec) {
    return v.toExponential(prec - 1).replace(/\.?0+e/, "e").replace(/e([+-])(\d)$/, "e$10$2");
  }
  const s = v.toFixed(Math.max(0, prec - 1 - exp));
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/**
 * Parses a JSON link address (the text of a link field that starts with `{`).
 * @param text the field's text
 * @param dbf the kind of link field
 * @returns the link, or undefined for `{}` (an empty link)
 * @throws JsonLinkError with base's message when base would refuse it
 * @example
 * ```ts
 * import { parseJsonLink } from "./json_link.ts";
 * const l = parseJsonLink("{calc: {expr: 'A+B', args: [1, {state: '!beam'}], prec: 3}}", "INLINK");
 * if (l?.type !== "calc" || l.args.length !== 2 || l.prec !== 3) throw new Error();
 * ```
 */
export function parseJsonLink(text: string, dbf: JsonLinkDbf): JsonLink | undefined {
  let tree: Json5Node;
  try {
    tree = parseJson5(text);
  } catch (e) {
    throw new JsonLinkError(`dbJLinkInit: ${(e as Error).message}`);
  }
  if (tree.t !== "map") throw new JsonLinkError("dbJLinkInit: a JSON link must be an object");
  if (tree.entries.length === 0) return undefined;
  return linkOf(tree, dbf);
}

function linkOf(map: Json5Node & { t: "map" }, dbf: JsonLinkDbf): JsonLink {
  if (map.entries.length === 0) throw new JsonLinkError("dbJLinkInit: empty child link");
  if (map.entries.length > 1) {
    throw new JsonLinkError(`dbJLinkInit: Illegal second link key '${map.entries[1][0]}'`);
  }
  const [type, value] = map.entries[0];
  if (!LINK_TYPES.has(type)) throw new JsonLinkError(`dbJLinkInit: Link type '${type}' not found`);
  switch (type) {
    case "const":
      return constLink(value, dbf);
    case "calc":
      return calcLink(value, dbf);
    case "state":
      return stateLink(value, dbf);
    default:
      return debugLink(type as "debug" | "trace", value, dbf);
  }
}

function constLink(v: Json5Node, dbf: JsonLinkDbf): JsonLink {
  if (dbf !== "INLINK") throw new JsonLinkError("lnkConst: Only works with input links");
  const scalar = (n: Json5Node) => {
    if (n.t === "int") return { v: n.v, elem: "integer" as const };
    // lnkConst takes a boolean as the integer 0 or 1.
    if (n.t === "bool") return { v: n.v ? 1 : 0, elem: "integer" as const };
    if (n.t === "double") return { v: n.v, elem: "double" as const };
    if (n.t === "string") return { v: n.v, elem: "string" as const };
    throw new JsonLinkError(`lnkConst: Unexpected ${describe(n)}`);
  };
  if (v.t !== "array") {
    const s = scalar(v);
    return { type: "const", value: s.v, elem: s.elem, array: false };
  }
  if (v.items.some((i) => i.t === "array")) {
    throw new JsonLinkError("lnkConst: Embedded array value");
  }
  const items = v.items.map(scalar);
  const strings = items.filter((i) => i.elem === "string").length;
  if (strings > 0 && strings < items.length) {
    throw new JsonLinkError("lnkConst: Mixed data types in array");
  }
  const elem = strings > 0
    ? "string"
    : items.some((i) => i.elem === "double")
    ? "double"
    : "integer";
  return { type: "const", value: items.map((i) => i.v), elem, array: true };
}

function calcLink(v: Json5Node, dbf: JsonLinkDbf): JsonLink {
  if (dbf === "FWDLINK") throw new JsonLinkError("lnkCalc: No support for forward links");
  if (v.t !== "map") throw new JsonLinkError(`lnkCalc: Unexpected ${describe(v)}`);
  const texts: { expr?: string; major?: string; minor?: string } = {};
  const programs: { expr?: CalcProgramLike; major?: CalcProgramLike; minor?: CalcProgramLike } = {};
  let args: (number | JsonLink)[] | undefined;
  let out: JsonLink | undefined;
  let units: string | undefined;
  let prec = 15;
  let tinp = -1;
  const unexpected = (n: Json5Node): never => {
    throw new JsonLinkError(`lnkCalc: Unexpected ${describe(n)}`);
  };
  const unknown = (key: string): never => {
    throw new JsonLinkError(`lnkCalc: Unknown key "${key}"`);
  };
  const endChecks = () => {
    if (dbf === "INLINK" && !programs.expr) {
      throw new JsonLinkError("lnkCalc: No expression ('expr' key)");
    }
    if (dbf === "OUTLINK" && !out) {
      throw new JsonLinkError("lnkCalc: No output link ('out' key)");
    }
  };
  for (const [key, val] of v.entries) {
    switch (key) {
      case "expr":
      case "major":
      case "minor": {
        if (programs[key]) unknown(key); // base refuses a repeated key as an unknown one
        if (val.t !== "string") unexpected(val);
        const text = (val as { v: string }).v;
        try {
          programs[key] = compile(text);
        } catch (e) {
          const reason = (e as { reason?: string }).reason ?? (e as Error).message;
          throw new JsonLinkError(`lnkCalc: Error in calc expression, ${reason}`);
        }
        texts[key] = text;
        break;
      }
      case "args": {
        if (args?.length) unknown(key);
        if (val.t !== "array") unexpected(val);
        args = [];
        for (const item of (val as { items: readonly Json5Node[] }).items) {
          if (args.length === CALC_ARGS) {
            throw new JsonLinkError(`lnkCalc: Too many input args, limit is ${CALC_ARGS}`);
          }
          if (item.t === "int" || item.t === "double") args.push(item.v);
          else if (item.t === "map") {
            args.push(linkOf(item, "INLINK"));
            // dbJLink hands the closing brace of a child link to lnkCalc's end_map, which
            // checks for the expression (input) or output link there already: base refuses
            // `expr` or `out` written after an argument that is a link.
            endChecks();
          } else unexpected(item);
        }
        break;
      }
      case "out":
        if (dbf !== "OUTLINK" || out) unknown(key);
        if (val.t !== "map") unexpected(val);
        out = linkOf(val as Json5Node & { t: "map" }, "OUTLINK");
        break;
      case "units":
        if (units !== undefined) unknown(key);
        if (val.t !== "string") unexpected(val);
        units = (val as { v: string }).v;
        break;
      case "prec":
        if (val.t !== "int") unexpected(val);
        prec = (val as { v: number }).v;
        break;
      case "time": {
        if (val.t !== "string") unexpected(val);
        const s = (val as { v: string }).v;
        const c = s.toUpperCase();
        if (s.length !== 1 || c < "A" || c > "L") {
          throw new JsonLinkError(`lnkCalc: Bad 'time' parameter "${s}"`);
        }
        tinp = c.charCodeAt(0) - 65;
        break;
      }
      default:
        unknown(key);
    }
  }
  endChecks();
  return {
    type: "calc",
    dbf,
    ...texts,
    programs,
    args: args ?? [],
    out,
    units,
    prec,
    tinp,
  };
}

function stateLink(v: Json5Node, dbf: JsonLinkDbf): JsonLink {
  if (dbf === "FWDLINK") throw new JsonLinkError("lnkState: DBF_FWDLINK not supported");
  if (v.t !== "string") throw new JsonLinkError(`lnkState: Unexpected ${describe(v)}`);
  const invert = v.v.length > 1 && v.v[0] === "!";
  return { type: "state", name: invert ? v.v.slice(1) : v.v, invert };
}

function debugLink(type: "debug" | "trace", v: Json5Node, dbf: JsonLinkDbf): JsonLink {
  if (v.t !== "map") throw new JsonLinkError(`lnkDebug: Unexpected ${describe(v)}`);
  const childDbf = dbf === "INLINK" ? "INLINK" : "OUTLINK";
  return { type, child: linkOf(v, childDbf), dbf, node: v };
}

// ------------------------------------------------------------------ evaluation

/** A dbState flag (dbStateCreate). */
export interface DbState {
  readonly name: string;
  value: boolean;
}

/** What a JSON link needs from the database it lives in. */
export interface JsonLinkHost {
  /** dbStateCreate: the named flag, created when missing. */
  state(name: string): DbState;
  /** recGblSetSevrMsg on the record owning the link. */
  setSevr(status: number, severity: number, message: string): void;
  /** Where trace lines go (the IOC console). */
  print(text: string): void;
}

/** The DBR type a record asked for, as lnkDebug's trace names it. */
export type JsonLinkRequest = "number" | "string" | "array";

const LINK_ALARM = 14;
const MINOR = 1;
const MAJOR = 2;
const SEVERITY_NAMES = ["NO_ALARM", "MINOR", "MAJOR", "INVALID"];
const STATUS_NAMES: Record<number, string> = { 0: "NO_ALARM", 14: "LINK" };

let nextAddress = 0x1000;

/** One opened JSON link of one record field: its configuration and run-time state. */
export class JsonLinkInstance {
  readonly link: JsonLink;
  #host: JsonLinkHost;
  /** A stand-in for the C address lnkDebug's trace prints. */
  readonly address: string;
  // calc
  #args = new Float64Array(CALC_ARGS);
  #children: (JsonLinkInstance | undefined)[] = [];
  #out: JsonLinkInstance | undefined;
  #val = 0;
  #stat = 0;
  #sevr = 0;
  #amsg = "";
  // state
  #state: DbState | undefined;
  #stateVal = false;
  // debug / trace
  #child: JsonLinkInstance | undefined;

  /**
   * Opens a link (lset openLink): constants load into calc arguments, state flags are created.
   * @param link the parsed link
   * @param host the database side
   */
  constructor(link: JsonLink, host: JsonLinkHost) {
    this.link = link;
    this.#host = host;
    this.address = `0x${(nextAddress += 0x40).toString(16).padStart(12, "0")}`;
    switch (link.type) {
      case "calc":
        link.args.forEach((a, i) => {
          if (typeof a === "number") {
            this.#args[i] = a;
            this.#children.push(undefined);
            return;
          }
          const child = new JsonLinkInstance(a, host);
          this.#children.push(child);
          const loaded = child.#load();
          if (loaded !== undefined) this.#args[i] = loaded;
        });
        if (link.out) this.#out = new JsonLinkInstance(link.out, host);
        break;
      case "state":
        this.#state = host.state(link.name);
        break;
      case "debug":
      case "trace":
        {
          // lnkConst's lset has no openLink: nothing to trace for it.
          const traced = link.type === "trace" && link.child.type !== "const";
          if (traced) {
            host.print(
              `Link trace: Calling ${link.child.type}::openLink(${this.address} = jlink ${this.address})\n`,
            );
          }
          this.#child = new JsonLinkInstance(link.child, host);
          if (traced) {
            host.print(`Link trace: ${link.child.type}::openLink(${this.address}) returned\n`);
          }
        }
        break;
    }
  }

  /** lset removeLink (record deleted, IOC exit): a trace link says so for its child. */
  close(): void {
    const l = this.link;
    if (l.type === "calc") {
      for (const c of this.#children) c?.close();
      this.#out?.close();
    }
    if (!this.#child) return;
    if (l.type === "trace") {
      const name = this.#child.link.type;
      this.#host.print(`Link trace: Calling ${name}::removeLink((nil), ${this.address})\n`);
      this.#child.close();
      this.#host.print(`Link trace: ${name}::removeLink(${this.address}) returned\n`);
    } else this.#child.close();
  }

  /** dbLoadLink as DBR_DOUBLE: what a constant child gives a calc argument at open. */
  #load(): number | undefined {
    const l = this.link;
    if (l.type !== "const") return undefined;
    const first = Array.isArray(l.value) ? l.value[0] : l.value;
    if (typeof first === "number") return first;
    if (typeof first !== "string") return undefined;
    const n = Number(first.trim());
    return first.trim() !== "" && !Number.isNaN(n) ? n : undefined;
  }

  /** Whether the link is a constant (dbLinkIsConstant). */
  get constant(): boolean {
    return this.link.type === "const";
  }

  /**
   * What calcout's INAV..OUTV show: 1 "Ext PV OK" for volatile links (calc), 2 "Local PV"
   * for the others (state); debug and trace show their child's.
   */
  get linkState(): number {
    if (this.#child) return this.#child.linkState;
    return this.link.type === "calc" ? 1 : this.link.type === "const" ? 3 : 2;
  }

  /**
   * lset getValue.
   * @param want what the record asked for
   * @param count elements requested (0 for a scalar read)
   * @returns the value, or undefined when the link gives none (a constant) or failed
   * (`failed` tells which)
   */
  get(want: JsonLinkRequest, count = 0): { value?: number; failed: boolean } {
    const l = this.link;
    switch (l.type) {
      case "const":
        return { failed: false };
      case "state":
        this.#stateVal = (this.#state?.value ?? false) !== l.invert;
        return { value: this.#stateVal ? 1 : 0, failed: false };
      case "calc": {
        this.#readArgs();
        this.#stat = 0;
        this.#sevr = 0;
        this.#amsg = "";
        if (l.programs.expr) {
          try {
            this.#val = evaluate(l.programs.expr, this.#args, this.#val);
          } catch {
            return { failed: true };
          }
        }
        if (!this.#alarms(false)) return { failed: true };
        return l.programs.expr ? { value: this.#val, failed: false } : { failed: false };
      }
      default: {
        const child = this.#child!;
        if (l.type !== "trace") return child.get(want, count);
        this.#host.print(
          `Link trace: Calling ${child.link.type}::getValue(${child.address}, ${
            dbfName(want)
          }, 0x7f0000001000, ${count})\n`,
        );
        const r = child.get(want, count);
        const status = r.failed ? -1 : 0;
        this.#host.print(
          `Link trace: ${child.link.type}::getValue(${child.address}) returned ${status} (0x${
            (status >>> 0).toString(16)
          })\n`,
        );
        if (!r.failed) this.#host.print(`    Got: ${count || 1} element(s)\n`);
        return r;
      }
    }
  }

  #readArgs(): void {
    this.#children.forEach((c, i) => {
      if (!c) return;
      const r = c.get("number");
      if (r.failed) this.#host.setSevr(LINK_ALARM, 3, "");
      else if (r.value !== undefined) this.#args[i] = r.value;
    });
  }

  /** The major and minor expressions; false when one could not be evaluated. */
  #alarms(putting: boolean): boolean {
    const l = this.link;
    if (l.type !== "calc") return true;
    for (const which of ["major", "minor"] as const) {
      const p = l.programs[which];
      if (!p || (which === "minor" && this.#sevr)) continue;
      let v: number;
      try {
        v = evaluate(p, this.#args, this.#val);
      } catch {
        return false;
      }
      if (v) {
        this.#stat = LINK_ALARM;
        this.#sevr = which === "major" ? MAJOR : MINOR;
        // lnkCalc's put path keeps "post_major error" as the message for both.
        this.#amsg = putting ? "post_major error" : `post_${which} error`;
        this.#host.setSevr(this.#stat, this.#sevr, `post_${which} error`);
      }
    }
    return true;
  }

  /**
   * lset putValue.
   * @param value what the record writes (its first element)
   * @returns false when the put failed (the record gets LINK/INVALID)
   */
  put(value: number | string): boolean {
    const l = this.link;
    switch (l.type) {
      case "const":
        return false;
      case "state": {
        const v = typeof value === "string" ? value !== "" && value !== "0" : value !== 0;
        this.#stateVal = v;
        if (this.#state) this.#state.value = v !== l.invert;
        return true;
      }
      case "calc": {
        this.#readArgs();
        this.#stat = 0;
        this.#sevr = 0;
        this.#amsg = "";
        const n = typeof value === "string" ? Number(value) : value;
        if (Number.isNaN(n) && typeof value === "string") return false;
        this.#val = n;
        if (l.programs.expr) {
          try {
            this.#val = evaluate(l.programs.expr, this.#args, this.#val);
          } catch {
            return false;
          }
        }
        if (!this.#alarms(true)) return false;
        return this.#out ? this.#out.put(this.#val) : false;
      }
      default: {
        const child = this.#child!;
        if (l.type !== "trace") return child.put(value);
        this.#host.print(
          `Link trace: Calling ${child.link.type}::putValue(${child.address}, ${
            typeof value === "string" ? "DBF_STRING" : "DBF_DOUBLE"
          }, 0x7f0000001000, 1)\n`,
        );
        const ok = child.put(value);
        const status = ok ? 0 : -1;
        this.#host.print(
          `Link trace: ${child.link.type}::putValue(${child.address}) returned ${status} (0x${
            (status >>> 0).toString(16)
          })\n`,
        );
        return ok;
      }
    }
  }

  /** The units (lnkCalc getUnits); empty for links without. */
  get units(): string {
    if (this.#child) return this.#child.units;
    return this.link.type === "calc" ? this.link.units ?? "" : "";
  }

  /** The precision (lnkCalc getPrecision), undefined for links without one. */
  get precision(): number | undefined {
    if (this.#child) return this.#child.precision;
    return this.link.type === "calc" ? this.link.prec : undefined;
  }

  /**
   * The link's part of dbjlr's report, as its jlif report routine prints it.
   * @param level detail (calc shows alarms, expressions and inputs from 1, const arrays from 2)
   * @param indent spaces before each line
   * @returns the lines
   */
  report(level: number, indent: number): string {
    const pad = " ".repeat(indent);
    const l = this.link;
    switch (l.type) {
      case "const":
        return constLinkReport(l, level, indent);
      case "state":
        return `${pad}'state': "${l.name}" = ${l.invert ? "! " : ""}${
          this.#stateVal ? "TRUE" : "FALSE"
        }\n`;
      case "debug":
        return `${pad}'debug':\n` + this.#child!.report(level, indent + 2);
      case "trace": {
        const c = this.#child!;
        const name = c.link.type;
        // lnkTrace prints around the child's report (straight to the console, like base).
        return `${pad}'trace':\n` +
          `Link trace: Calling ${name}::report(${c.address}, ${level}, ${indent + 2})\n` +
          c.report(level, indent + 2) + `Link trace: ${name}::report(${c.address}) returned\n`;
      }
      case "calc": {
        let s = `${pad}'calc': "${l.expr ?? "(null)"}" = ${gShort(this.#val, l.prec)} ${
          l.units ?? ""
        }\n`;
        if (level <= 0) return s;
        if (this.#sevr) {
          s += `${pad}  Alarm: ${SEVERITY_NAMES[this.#sevr]}, ${
            STATUS_NAMES[this.#stat] ?? this.#stat
          }, "${this.#amsg}"\n`;
        }
        if (l.major !== undefined) s += `${pad}  Major expression: "${l.major}"\n`;
        if (l.minor !== undefined) s += `${pad}  Minor expression: "${l.minor}"\n`;
        if (l.tinp >= 0) {
          s += `${pad}  Timestamp input ${
            String.fromCharCode(65 + l.tinp)
          }: 1990-01-01 00:00:00.000000000\n`;
        }
        this.#children.forEach((c, i) => {
          s += `${pad}  Input ${String.fromCharCode(65 + i)}: ${gShort(this.#args[i])}\n`;
          if (c) s += c.report(level - 1, indent + 4);
        });
        if (this.#out) s += `${pad}  Output:\n` + this.#out.report(level - 1, indent + 4);
        return s;
      }
    }
  }
}

/**
 * lnkConst's report line(s) for a constant JSON link.
 * @param l the link
 * @param level detail: arrays list their elements from level 2
 * @param indent spaces before each line
 * @returns the lines
 */
export function constLinkReport(l: JsonLink, level: number, indent: number): string {
  if (l.type !== "const") return "";
  const pad = " ".repeat(indent);
  const item = (x: number | string) =>
    l.elem === "string"
      ? `"${x}"`
      : l.elem === "double"
      ? gShort(x as number)
      : String(Math.trunc(x as number));
  if (!l.array) return `${pad}'const': ${l.elem} ${item(l.value as number | string)}\n`;
  const arr = l.value as readonly (number | string)[];
  const s = `${pad}'const': array of ${arr.length} ${l.elem}${arr.length > 1 ? "s" : ""}`;
  if (level < 2 || arr.length === 0) return s + "\n";
  return `${s}\n${pad}  [${arr.map(item).join(", ")}]\n`;
}

/**
 * What lnkTrace prints while dbJLink parses a link: each parse callback of a traced child
 * (alloc_jlink, parse_string, parse_start_map, ...), with `free_jlink` after it when the
 * parse only checked the text (dbLoadRecords parses a link once to check it, iocInit again).
 * Callbacks of the child's own children are not traced, as in base; `end_child` is.
 * @param link a parsed link (trace links anywhere in it are replayed)
 * @param free whether the parse is followed by freeing the link
 * @returns the lines, empty when the link holds no trace link
 */
export function traceParseLines(link: JsonLink, free: boolean): string {
  let out = "";
  const visit = (l: JsonLink) => {
    if (l.type === "calc") {
      for (const a of l.args) if (typeof a !== "number") visit(a);
      if (l.out) visit(l.out);
    } else if (l.type === "debug" || l.type === "trace") {
      if (l.type === "trace") out += replay(l.child.type, l.node.entries[0][1], l.dbf, free);
      visit(l.child);
    }
  };
  visit(link);
  return out;
}

function replay(type: string, value: Json5Node, dbf: JsonLinkDbf, free: boolean): string {
  const a = `0x${(nextAddress += 0x40).toString(16).padStart(12, "0")}`;
  let out = `Link trace: ${type}::alloc_jlink(DBF_${dbf}) returned ${a}\n`;
  const call = (name: string, args = "", result = "jlif_continue", label = name) => {
    out += `Link trace: Calling ${type}::${label}(${a}${args})\n`;
    out += `Link trace: ${type}::${name}(${a}) returned${result ? " " + result : ""}\n`;
  };
  const scalar = (n: Json5Node) => {
    if (n.t === "string") call("parse_string", `, "${n.v}"`);
    else if (n.t === "int") call("parse_integer", `, ${n.v}`);
    else if (n.t === "double") call("parse_double", `, ${gShort(n.v)}`);
    else if (n.t === "bool") call("parse_boolean", `, ${n.v ? 1 : 0}`);
    else if (n.t === "null") call("parse_null");
  };
  const child = (kind: "inlink" | "outlink") => {
    call("parse_start_map", "", `jlif_key_child_${kind}`);
    call("end_child", `, 0x${(nextAddress += 0x40).toString(16).padStart(12, "0")}`, "");
    call("parse_end_map");
  };
  const array = (n: Json5Node & { t: "array" }, item: (i: Json5Node) => void) => {
    call("parse_start_array", "", "jlif_continue", "parse_");
    n.items.forEach(item);
    call("parse_end_array");
  };
  if (value.t === "array") array(value, scalar);
  else if (value.t !== "map") scalar(value);
  else if (type === "debug" || type === "trace") child(dbf === "INLINK" ? "inlink" : "outlink");
  else {
    call("parse_start_map", "", "jlif_key_continue");
    for (const [k, v] of value.entries) {
      call("parse_map_key", `, "${k}"`);
      if (v.t === "array") array(v, (i) => i.t === "map" ? child("inlink") : scalar(i));
      else if (v.t === "map") child("outlink");
      else scalar(v);
    }
    call("parse_end_map");
  }
  if (free) {
    out += `Link trace: Calling ${type}::free_jlink(${a})\n`;
    out += `Link trace: ${type}::free_jlink(${a}) returned\n`;
  }
  return out;
}

function dbfName(want: JsonLinkRequest): string {
  return want === "string" ? "DBF_STRING" : "DBF_DOUBLE";
}
