/**
 * pvRequest: the request string users type (`field(value,alarm)`,
 * `record[queueSize=4,pipeline=true]`) turned into the structure sent in every INIT,
 * and the server-side helpers that turn a received pvRequest into a field mask and
 * options.
 *
 * ```text
 * ""                                  { field: {} }
 * field(value,alarm.severity)         { field: { value: {}, alarm: { severity: {} } } }
 * value,timeStamp                     same as field(value,timeStamp)
 * record[queueSize=4,pipeline=true]   { field: {}, record: { _options: { queueSize: "4", pipeline: "true" } } }
 * field(value[opt=x])                 { field: { value: { _options: { opt: "x" } } } }
 * putField(value)getField(alarm)      { putField: {...}, getField: {...} }   (PUT_GET)
 * ```
 * Every selected field is an empty structure; option values are strings.
 * @module
 */

import { EpicsSyntaxError, LocalProtocolError } from "../../core/errors.ts";
import { BitSet } from "./bitset.ts";
import { type FieldDesc, T, TypeCode } from "./typedesc.ts";
import { bitOf, bitPaths, PvValue, typeAtBit } from "./value.ts";

/** A selection tree: each key a selected member, with its sub-selection and options. */
export interface FieldSelection {
  /** Selected members by name, each with its own sub-selection. */
  fields: Map<string, FieldSelection>;
  /** Options given in `[key=value]` after this member. */
  options: Map<string, string>;
}

/** A parsed request string. */
export interface ParsedRequest {
  /** `field(...)` selection (absent when only putField/getField were given). */
  field?: FieldSelection;
  /** `putField(...)` selection. */
  putField?: FieldSelection;
  /** `getField(...)` selection. */
  getField?: FieldSelection;
  /** `record[...]` options, in the order written. */
  record: Map<string, string>;
}

function emptySel(): FieldSelection {
  return { fields: new Map(), options: new Map() };
}

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(what: string): never {
    throw new EpicsSyntaxError(
      `Cannot parse pvRequest "${this.src}" at ${this.pos + 1}: ${what}`,
      { line: 1, column: this.pos + 1 },
    );
  }
  skipWs(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos])) this.pos++;
  }
  peek(): string {
    this.skipWs();
    return this.src[this.pos] ?? "";
  }
  eat(c: string): boolean {
    if (this.peek() === c) {
      this.pos++;
      return true;
    }
    return false;
  }
  expect(c: string): void {
    if (!this.eat(c)) this.fail(`expected "${c}"`);
  }
  name(): string {
    this.skipWs();
    const m = /^[A-Za-z0-9_:\-]+/.exec(this.src.slice(this.pos));
    if (!m) this.fail("expected a field name");
    this.pos += m[0].length;
    return m[0];
  }
  /** `[k=v,k=v]` */
  options(into: Map<string, string>): void {
    this.expect("[");
    if (this.eat("]")) return;
    for (;;) {
      this.skipWs();
      const m = /^([^=\],\s]+)\s*=\s*([^\],]*)/.exec(this.src.slice(this.pos));
      if (!m) this.fail("expected name=value");
      this.pos += m[0].length;
      into.set(m[1], m[2].trim());
      if (this.eat("]")) return;
      this.expect(",");
    }
  }
  /** A comma list of dotted paths, each optionally with `[options]` or `{sub,list}`. */
  fieldList(sel: FieldSelection, close: string): void {
    if (this.eat(close)) return;
    for (;;) {
      let node = sel;
      for (;;) {
        const n = this.name();
        let next = node.fields.get(n);
        if (!next) node.fields.set(n, next = emptySel());
        node = next;
        if (!this.eat(".")) break;
      }
      if (this.peek() === "[") this.options(node.options);
      if (this.eat("{")) this.fieldList(node, "}");
      if (close === "" && this.pos >= this.src.length) return;
      if (this.eat(close)) return;
      if (close === "" && this.peek() !== ",") return;
      this.expect(",");
    }
  }
}

/**
 * Parses a pvRequest string.
 * @param request e.g. `field(value,alarm)record[queueSize=4]`, or bare `value,alarm`
 * @returns the parsed selections and options
 * @throws {EpicsSyntaxError} on malformed text
 * @example
 * ```ts
 * import { parseRequest } from "./mod.ts";
 * const req = parseRequest("field(value,alarm.severity)record[queueSize=4]");
 * if (!req.field?.fields.has("value")) throw new Error();
 * if (!req.field.fields.get("alarm")?.fields.has("severity")) throw new Error();
 * if (req.record.get("queueSize") !== "4") throw new Error();
 * ```
 */
export function parseRequest(request: string): ParsedRequest {
  const p = new Parser(request);
  const out: ParsedRequest = { record: new Map() };
  const sel = (key: "field" | "putField" | "getField") => (out[key] ??= emptySel());
  while (p.peek() !== "") {
    const save = p.pos;
    const word = /^[A-Za-z_]+/.exec(request.slice(p.pos))?.[0] ?? "";
    p.pos += word.length;
    if (word === "record" && p.peek() === "[") {
      p.options(out.record);
    } else if (
      (word === "field" || word === "putField" || word === "getField") && p.peek() === "("
    ) {
      p.pos++;
      p.fieldList(sel(word), ")");
    } else {
      // Bare field names, e.g. "value,alarm".
      p.pos = save;
      p.fieldList(sel("field"), "");
      if (p.peek() !== "" && !/^(record|field|putField|getField)\b/.test(request.slice(p.pos))) {
        p.fail("unexpected text");
      }
    }
  }
  if (!out.field && !out.putField && !out.getField) out.field = emptySel();
  return out;
}

function selectionType(sel: FieldSelection): FieldDesc {
  const members: [string, FieldDesc][] = [];
  if (sel.options.size > 0) {
    members.push(["_options", T.struct("", [...sel.options.keys()].map((k) => [k, T.string]))]);
  }
  for (const [name, sub] of sel.fields) members.push([name, selectionType(sub)]);
  return T.struct("", members);
}

function fillOptions(v: PvValue, sel: FieldSelection): void {
  for (const [k, x] of sel.options) v.set(`_options.${k}`, x);
  for (const [name, sub] of sel.fields) fillOptions(v.field(name), sub);
}

/**
 * Builds the pvRequest structure for a request string, as pvxs clients send it
 * (`field` first, then `record`; selected fields as empty structures, options as strings).
 * @param request the request string ("" selects everything)
 * @returns the pvRequest value
 * @throws {EpicsSyntaxError} on malformed text
 * @example
 * ```ts
 * import { buildRequest } from "./request.ts";
 * const r = buildRequest("field(value)record[queueSize=4]");
 * if (r.get("record._options.queueSize") !== "4") throw new Error();
 * ```
 */
export function buildRequest(request: string | ParsedRequest = ""): PvValue {
  const p = typeof request === "string" ? parseRequest(request) : request;
  const members: [string, FieldDesc][] = [];
  const sels: [string, FieldSelection][] = [];
  for (const key of ["field", "putField", "getField"] as const) {
    const s = p[key];
    if (s) {
      members.push([key, selectionType(s)]);
      sels.push([key, s]);
    }
  }
  if (p.record.size > 0) {
    members.push([
      "record",
      T.struct("", [["_options", T.struct("", [...p.record.keys()].map((k) => [k, T.string]))]]),
    ]);
  }
  const v = PvValue.create(T.struct("", members));
  for (const [key, s] of sels) fillOptions(v.field(key), s);
  for (const [k, x] of p.record) v.set(`record._options.${k}`, x);
  v.clearChanged();
  return v;
}

/**
 * Reads `record._options` of a received pvRequest as strings (numbers and booleans sent
 * by other builders are converted).
 * @param pvRequest the pvRequest value (or null when the peer sent none)
 * @returns option name to value
 * @example
 * ```ts
 * import { buildRequest, requestOptions } from "./mod.ts";
 * const opts = requestOptions(buildRequest("record[queueSize=4,pipeline=true]"));
 * if (opts.queueSize !== "4" || opts.pipeline !== "true") throw new Error();
 * ```
 */
export function requestOptions(pvRequest: PvValue | null): Record<string, string> {
  const out: Record<string, string> = {};
  const opts = pvRequest?.tryField("record._options");
  if (!opts || opts.type.code !== TypeCode.STRUCTURE) return out;
  for (const [name, node] of opts.members()) {
    const v = node.value;
    if (v instanceof PvValue) continue;
    if (typeof v === "object" && v !== null && "index" in v) {
      const inner = (v as { value: PvValue | null }).value?.value;
      if (inner !== undefined && typeof inner !== "object") out[name] = String(inner);
      continue;
    }
    if (v !== null && typeof v !== "object") out[name] = String(v);
  }
  return out;
}

/**
 * The field mask a pvRequest selects on a data type (pvxs semantics): the root bit is
 * always set; a selected structure selects all its members; an empty or absent
 * selection selects everything; names the type lacks are ignored.
 * @param pvRequest the pvRequest (value or its type); null selects everything
 * @param type the data structure type
 * @param member which selection to use: "field", or "putField"/"getField" for PUT_GET
 * @returns the mask: selected nodes, their descendants and their ancestors
 * @throws {LocalProtocolError} when the request names fields but none exists in `type`
 * @example
 * ```ts
 * import { buildRequest, requestMask, T } from "./mod.ts";
 * const type = T.struct("", [["value", T.double], ["alarm", T.struct("", [["severity", T.int]])]]);
 * // bits: 0 root, 1 value, 2 alarm, 3 alarm.severity
 * const mask = requestMask(buildRequest("field(value)"), type);
 * if (mask.toString() !== "{0, 1}") throw new Error(mask.toString());
 * ```
 */
export function requestMask(
  pvRequest: PvValue | FieldDesc | null,
  type: FieldDesc,
  member: "field" | "putField" | "getField" = "field",
): BitSet {
  const all = new BitSet().setRange(0, type.numBits);
  const reqType = pvRequest instanceof PvValue ? pvRequest.type : pvRequest;
  const sel = reqType?.member(member);
  if (!sel || sel.code !== TypeCode.STRUCTURE) return all;
  const picks = sel.members.filter((m) => m.name !== "_options");
  if (picks.length === 0) return all;
  const mask = BitSet.of(0);
  let found = 0;
  const walk = (s: FieldDesc, prefix: string) => {
    for (const m of s.members) {
      if (m.name === "_options") continue;
      const path = prefix === "" ? m.name : `${prefix}.${m.name}`;
      const b = bitOf(type, path);
      if (b < 0) continue;
      const sub = m.type.members.filter((x) => x.name !== "_options");
      const t = typeAt(type, b);
      if (sub.length > 0 && t.code === TypeCode.STRUCTURE) {
        mask.set(b);
        walk(m.type, path);
      } else {
        found++;
        mask.setRange(b, b + t.numBits);
        // Ancestors, so that "alarm.severity" also marks "alarm".
        const paths = bitPaths(type);
        let p = paths[b];
        while (p.includes(".")) {
          p = p.slice(0, p.lastIndexOf("."));
          mask.set(bitOf(type, p));
        }
      }
    }
  };
  walk(sel, "");
  if (found === 0) throw new LocalProtocolError("pvRequest must select at least one field");
  return mask;
}

function typeAt(root: FieldDesc, bit: number): FieldDesc {
  return typeAtBit(root, bit)!;
}

/**
 * The bits to send for an update: the leaves both changed (a structure mark counts for
 * all its members) and selected by `mask`. Leaves only, as pvxs sends them.
 * @param type the data structure type
 * @param changed the value's changed marks
 * @param mask the operation's field mask from {@link requestMask}
 * @returns the BitSet to encode
 */
export function maskChanged(type: FieldDesc, changed: BitSet, mask: BitSet): BitSet {
  const out = new BitSet();
  const paths = bitPaths(type);
  const n = paths.length;
  // Walk changed bits, expanding structures, keeping selected non-structure nodes.
  for (let b = changed.nextSetBit(0); b >= 0 && b < n; b = changed.nextSetBit(b + 1)) {
    const t = typeAt(type, b);
    for (let j = b; j < b + t.numBits; j++) {
      if (mask.get(j) && typeAt(type, j).code !== TypeCode.STRUCTURE) out.set(j);
    }
  }
  return out;
}
