/**
 * PVA values: a tree over a {@link FieldDesc} with per-field "changed" marks that map
 * one to one onto the changed BitSet (bit numbers are depth-first pre-order over the
 * structure), and the full and partial (BitSet-driven) serialisation.
 *
 * ```text
 * boolean              u8 (0 false, non-zero true)
 * integers, floats     fixed width, message byte order
 * string               String
 * scalar array         Size count | elements (fixed arrays: elements only)
 * structure            each member in order, no framing
 * union                Size selector (0xFF = none) | selected member's value
 * any                  FieldDesc | value (0xFF = none)
 * structure[]/union[]/any[]   Size count | per element u8 0 (null) or 1 + element
 * partial structure    BitSet, then for each set bit not inside an already sent subtree
 *                      the full value of that node
 * ```
 * @module
 */

import type { ByteReader, ByteWriter } from "../../core/bytes.ts";
import { LocalProtocolError, RemoteProtocolError } from "../../core/errors.ts";
import { BitSet } from "./bitset.ts";
import { decodeCount, decodeSize, decodeString, encodeSize, encodeString } from "./size_string.ts";
import {
  decodeFieldDesc,
  encodeFieldDesc,
  type FieldDesc,
  type TypeCache,
  TypeCode,
} from "./typedesc.ts";

/** A numeric array as held in a value. */
export type NumericArray =
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** The content of a union field: the selected member (index -1 = none) and its value. */
export interface PvUnion {
  /** Index of the selected member, -1 for none. */
  index: number;
  /** Member name ("" when none is selected). */
  name: string;
  /** Value of the selected member, null for none. */
  value: PvValue | null;
}

/** The JS value of one leaf. */
export type PvLeaf =
  | boolean
  | number
  | bigint
  | string
  | boolean[]
  | string[]
  | NumericArray
  | PvUnion
  | PvValue
  | null
  | (PvValue | null)[]
  | (PvUnion | null)[];

interface Layout {
  types: FieldDesc[];
  ends: Int32Array;
  parents: Int32Array;
  paths: string[];
  byPath: Map<string, number>;
}

const layouts = new WeakMap<FieldDesc, Layout>();

/** Flattens a type into its bit numbering (cached per type object). */
function layoutOf(type: FieldDesc): Layout {
  let l = layouts.get(type);
  if (l) return l;
  const n = type.numBits;
  const types = new Array<FieldDesc>(n);
  const ends = new Int32Array(n);
  const parents = new Int32Array(n);
  const paths = new Array<string>(n);
  const byPath = new Map<string, number>();
  const walk = (t: FieldDesc, bit: number, parent: number, path: string) => {
    types[bit] = t;
    ends[bit] = bit + t.numBits;
    parents[bit] = parent;
    paths[bit] = path;
    byPath.set(path, bit);
    if (t.code === TypeCode.STRUCTURE) {
      t.members.forEach((m, i) => {
        walk(m.type, bit + t.memberBits[i], bit, path === "" ? m.name : `${path}.${m.name}`);
      });
    }
  };
  walk(type, 0, -1, "");
  l = { types, ends, parents, paths, byPath };
  layouts.set(type, l);
  return l;
}

/**
 * Bit number of the field at `path` ("" is the root) in a structure's numbering.
 * @returns the bit, or -1 when no such field exists
 */
export function bitOf(type: FieldDesc, path: string): number {
  return layoutOf(type).byPath.get(path) ?? -1;
}

/**
 * The type of the node with bit number `bit` in a structure's numbering.
 * @returns the type, or undefined when `bit` is out of range
 */
export function typeAtBit(type: FieldDesc, bit: number): FieldDesc | undefined {
  return layoutOf(type).types[bit];
}

/**
 * The dotted path of every bit of a structure's numbering (bit 0 is "").
 * @param type the structure type
 */
export function bitPaths(type: FieldDesc): readonly string[] {
  return layoutOf(type).paths;
}

class Store {
  readonly layout: Layout;
  readonly vals: PvLeaf[];
  readonly changed = new BitSet();
  constructor(readonly type: FieldDesc) {
    this.layout = layoutOf(type);
    this.vals = this.layout.types.map(defaultLeaf);
  }
}

/** The default value of a leaf (structures hold null; their members hold the data). */
export function defaultLeaf(t: FieldDesc): PvLeaf {
  switch (t.code) {
    case TypeCode.STRUCTURE:
    case TypeCode.ANY:
      return null;
    case TypeCode.UNION:
      return { index: -1, name: "", value: null };
    case TypeCode.STRUCTURE_ARRAY:
    case TypeCode.UNION_ARRAY:
    case TypeCode.ANY_ARRAY:
      return [];
    case TypeCode.BOUNDED_STRING:
      return "";
  }
  if ((t.code & 0x18) === 0) {
    switch (t.code) {
      case TypeCode.BOOLEAN:
        return false;
      case TypeCode.LONG:
      case TypeCode.ULONG:
        return 0n;
      case TypeCode.STRING:
        return "";
      default:
        return 0;
    }
  }
  return makeArray(t.scalarCode, 0);
}

function makeArray(scalar: number, n: number): boolean[] | string[] | NumericArray {
  switch (scalar) {
    case TypeCode.BOOLEAN:
      return new Array<boolean>(n).fill(false);
    case TypeCode.STRING:
      return new Array<string>(n).fill("");
  }
  return new (ARRAY_CTORS[scalar])(n);
}

type ArrayCtor = {
  new (n: number): NumericArray;
  new (buf: ArrayBufferLike, off: number, n: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
};

const ARRAY_CTORS: Record<number, ArrayCtor> = {
  [TypeCode.BYTE]: Int8Array,
  [TypeCode.SHORT]: Int16Array,
  [TypeCode.INT]: Int32Array,
  [TypeCode.LONG]: BigInt64Array,
  [TypeCode.UBYTE]: Uint8Array,
  [TypeCode.USHORT]: Uint16Array,
  [TypeCode.UINT]: Uint32Array,
  [TypeCode.ULONG]: BigUint64Array,
  [TypeCode.FLOAT]: Float32Array,
  [TypeCode.DOUBLE]: Float64Array,
} as unknown as Record<number, ArrayCtor>;

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function splitPath(path: string): string {
  return path.startsWith(".") ? path.slice(1) : path;
}

/**
 * A node of a value tree: the whole structure or one of its fields. Nodes of one tree
 * share storage, so a field obtained with {@link PvValue.field} reads and writes the
 * parent's data and marks the parent's changed BitSet.
 *
 * @example
 * ```ts
 * import { PvValue, T } from "./mod.ts";
 * const v = PvValue.create(T.struct("", [["value", T.double], ["alarm", T.struct("alarm_t", [["severity", T.int]])]]));
 * v.set("value", 2.5);
 * if (v.changed.toString() !== "{1}") throw new Error();
 * ```
 */
export class PvValue {
  readonly #s: Store;
  readonly #bit: number;

  private constructor(store: Store, bit: number) {
    this.#s = store;
    this.#bit = bit;
  }

  /**
   * A new value of `type` with default content (zeros, empty strings and arrays).
   * @param type the type
   * @param init optional plain content assigned with {@link PvValue.assign}
   */
  static create(type: FieldDesc, init?: unknown): PvValue {
    const v = new PvValue(new Store(type), 0);
    if (init !== undefined) v.assign(init);
    return v;
  }

  /** This node's type. */
  get type(): FieldDesc {
    return this.#s.layout.types[this.#bit];
  }

  /** This node's bit number in the root's numbering. */
  get bit(): number {
    return this.#bit;
  }

  /** The root node of this tree. */
  get root(): PvValue {
    return this.#bit === 0 ? this : new PvValue(this.#s, 0);
  }

  /** The dotted path of this node from the root ("" for the root). */
  get path(): string {
    return this.#s.layout.paths[this.#bit];
  }

  #find(path: string): number {
    if (path === "") return this.#bit;
    const base = this.#s.layout.paths[this.#bit];
    const full = base === "" ? splitPath(path) : `${base}.${splitPath(path)}`;
    return this.#s.layout.byPath.get(full) ?? -1;
  }

  /** Whether a field exists at `path` (relative to this node). */
  has(path: string): boolean {
    return this.#find(path) >= 0;
  }

  /**
   * The node at a dotted path relative to this one.
   * @throws {LocalProtocolError} when there is no such field
   */
  field(path: string): PvValue {
    const b = this.#find(path);
    if (b < 0) throw new LocalProtocolError(`Cannot find field "${path}" in ${this.type.typeId}`);
    return b === this.#bit ? this : new PvValue(this.#s, b);
  }

  /** The node at `path`, or undefined. */
  tryField(path: string): PvValue | undefined {
    const b = this.#find(path);
    return b < 0 ? undefined : b === this.#bit ? this : new PvValue(this.#s, b);
  }

  /** The direct members of a structure node, as `[name, node]` pairs. */
  members(): [string, PvValue][] {
    const t = this.type;
    if (t.code !== TypeCode.STRUCTURE) return [];
    return t.members.map((m, i) => [m.name, new PvValue(this.#s, this.#bit + t.memberBits[i])]);
  }

  /** The leaf content of this node (for a structure: a plain object, see toJSON). */
  get value(): PvLeaf | Record<string, unknown> {
    if (this.type.code === TypeCode.STRUCTURE) return this.toJSON() as Record<string, unknown>;
    return this.#s.vals[this.#bit];
  }

  /** Sets this leaf (converted to the field type) and marks it changed. */
  set value(v: unknown) {
    this.assign(v);
  }

  /**
   * The content at `path` (see {@link PvValue.value}).
   * @throws {LocalProtocolError} when there is no such field
   */
  get(path = ""): PvLeaf | Record<string, unknown> {
    return this.field(path).value;
  }

  /**
   * Sets the content at `path` and marks what was written as changed.
   * @throws {LocalProtocolError} when there is no such field or the value does not fit
   */
  set(path: string, v: unknown): this {
    this.field(path).assign(v);
    return this;
  }

  /**
   * Writes content into this node, converting to the field types; structures take a
   * plain object (members not named are left alone). Marks every written leaf changed.
   * Unions take `{name: value}`, a {@link PvUnion}, or null; `any` takes a PvValue or null.
   */
  assign(v: unknown): this {
    const t = this.type;
    const s = this.#s;
    if (t.code === TypeCode.STRUCTURE) {
      if (v instanceof PvValue) v = v.toJSON();
      if (v === null || typeof v !== "object") {
        throw new LocalProtocolError(`Cannot assign ${typeof v} to structure "${this.path}"`);
      }
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const i = t.indexOf(k);
        if (i < 0) {
          throw new LocalProtocolError(`Cannot assign "${k}": no such field in "${this.path}"`);
        }
        new PvValue(s, this.#bit + t.memberBits[i]).assign(x);
      }
      return this;
    }
    s.vals[this.#bit] = convertLeaf(t, v, this.path);
    s.changed.set(this.#bit);
    return this;
  }

  /**
   * Selects a union member and sets its content.
   * @param member the member name (or index)
   * @param content content for the member (a PvValue of its type or plain content)
   */
  select(member: string | number, content?: unknown): this {
    const t = this.type;
    if (t.code !== TypeCode.UNION) {
      throw new LocalProtocolError(`Cannot select a member of non-union "${this.path}"`);
    }
    const i = typeof member === "number" ? member : t.indexOf(member);
    if (i < 0 || i >= t.members.length) {
      throw new LocalProtocolError(`Cannot select union member "${member}" in "${this.path}"`);
    }
    const mt = t.members[i].type;
    const val = content instanceof PvValue ? content : PvValue.create(mt, content);
    this.#s.vals[this.#bit] = { index: i, name: t.members[i].name, value: val };
    this.#s.changed.set(this.#bit);
    return this;
  }

  /** The root's changed marks (live; bit numbers are the root's numbering). */
  get changed(): BitSet {
    return this.#s.changed;
  }

  /**
   * Whether the node at `path` is marked changed, directly or through an enclosing
   * structure's mark.
   */
  isChanged(path = ""): boolean {
    const l = this.#s.layout;
    for (let b = this.field(path).#bit; b >= 0; b = l.parents[b]) {
      if (this.#s.changed.get(b)) return true;
    }
    return false;
  }

  /** Marks the node at `path` changed (a structure mark covers all its members). */
  markChanged(path = ""): this {
    this.#s.changed.set(this.field(path).#bit);
    return this;
  }

  /** Clears every changed mark of the tree. */
  clearChanged(): this {
    this.#s.changed.clearAll();
    return this;
  }

  /** Dotted paths of the marked nodes (e.g. `["value", "alarm"]`). */
  changedPaths(): string[] {
    return this.#s.changed.toArray()
      .filter((b) => b < this.#s.layout.types.length)
      .map((b) => this.#s.layout.paths[b]);
  }

  /** A deep copy of the whole tree (marks included) as a new root; returns its node at this path. */
  clone(): PvValue {
    const c = new Store(this.#s.type);
    for (let i = 0; i < c.vals.length; i++) c.vals[i] = cloneLeaf(this.#s.vals[i]);
    c.changed.or(this.#s.changed);
    return new PvValue(c, this.#bit);
  }

  /**
   * Copies content from another value of the same type: every field marked changed
   * there (bit 0 = all), or all fields when `all` is set. Marks what was copied.
   */
  copyFrom(src: PvValue, all = false): this {
    const s = this.#s, o = src.#s;
    if (!s.type.equals(o.type)) {
      throw new LocalProtocolError("Cannot copy between values of different types");
    }
    const mask = all ? BitSet.of(0) : o.changed;
    for (let b = mask.nextSetBit(0); b >= 0 && b < s.vals.length;) {
      const end = s.layout.ends[b];
      for (let j = b; j < end; j++) s.vals[j] = cloneLeaf(o.vals[j]);
      s.changed.set(b);
      b = mask.nextSetBit(end);
    }
    return this;
  }

  /** Plain JS content: structures as objects, unions as `{member: content}` or null. */
  toJSON(): unknown {
    const t = this.type;
    if (t.code !== TypeCode.STRUCTURE) return leafToJSON(this.#s.vals[this.#bit]);
    const out: Record<string, unknown> = {};
    for (const [name, node] of this.members()) out[name] = node.toJSON();
    return out;
  }

  /** @internal raw leaf storage access for the codec. */
  static _store(v: PvValue): Store {
    return v.#s;
  }
}

function leafToJSON(v: PvLeaf): unknown {
  if (v instanceof PvValue) return v.toJSON();
  if (Array.isArray(v)) return v.map((x) => leafToJSON(x as PvLeaf));
  if (v !== null && typeof v === "object" && "index" in v && "value" in v) {
    const u = v as PvUnion;
    return u.index < 0 ? null : { [u.name]: u.value?.toJSON() ?? null };
  }
  return v;
}

function cloneLeaf(v: PvLeaf): PvLeaf {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof PvValue) return v.clone();
  if (ArrayBuffer.isView(v)) return (v as NumericArray).slice();
  if (Array.isArray(v)) {
    return (v as unknown[]).map((x) => cloneLeaf(x as PvLeaf)) as PvLeaf;
  }
  const u = v as PvUnion;
  return { index: u.index, name: u.name, value: u.value ? u.value.clone() : null };
}

function convertLeaf(t: FieldDesc, v: unknown, path: string): PvLeaf {
  const fail = (): never => {
    throw new LocalProtocolError(`Cannot assign ${describe(v)} to ${t.typeName} "${path}"`);
  };
  switch (t.code) {
    case TypeCode.UNION: {
      if (v === null || v === undefined) return { index: -1, name: "", value: null };
      if (typeof v !== "object") return fail();
      if ("index" in v && "value" in v) {
        const u = v as PvUnion;
        if (u.index < 0) return { index: -1, name: "", value: null };
        const m = t.members[u.index] ?? fail();
        const val = u.value instanceof PvValue ? u.value : PvValue.create(m.type, u.value);
        return { index: u.index, name: m.name, value: val };
      }
      const keys = Object.keys(v);
      if (keys.length !== 1) return fail();
      const i = t.indexOf(keys[0]);
      if (i < 0) return fail();
      const x = (v as Record<string, unknown>)[keys[0]];
      const val = x instanceof PvValue ? x : PvValue.create(t.members[i].type, x);
      return { index: i, name: keys[0], value: val };
    }
    case TypeCode.ANY:
      if (v === null || v === undefined) return null;
      return v instanceof PvValue ? v : fail();
    case TypeCode.STRUCTURE_ARRAY:
    case TypeCode.UNION_ARRAY:
    case TypeCode.ANY_ARRAY: {
      if (!Array.isArray(v)) return fail();
      return (v as unknown[]).map((x) => {
        if (x === null || x === undefined) return null;
        if (t.code === TypeCode.ANY_ARRAY) return x instanceof PvValue ? x : fail();
        if (t.code === TypeCode.STRUCTURE_ARRAY) {
          return x instanceof PvValue ? x : PvValue.create(t.element!, x);
        }
        return convertLeaf(t.element!, x, path) as PvUnion;
      }) as PvLeaf;
    }
  }
  const sc = t.scalarCode;
  if (t.kind === "scalar") return convertScalar(sc, v) ?? fail();
  // Scalar arrays.
  if (sc === TypeCode.BOOLEAN || sc === TypeCode.STRING) {
    if (!isArrayLike(v)) return fail();
    const out = Array.from(v as ArrayLike<unknown>, (x) => convertScalar(sc, x) ?? fail());
    return out as boolean[] | string[];
  }
  const C = ARRAY_CTORS[sc];
  if (v instanceof C) return v as NumericArray;
  if (!isArrayLike(v)) return fail();
  const src = v as ArrayLike<unknown>;
  const out = new C(src.length);
  for (let i = 0; i < src.length; i++) {
    (out as unknown as unknown[])[i] = convertScalar(sc, src[i]) ?? fail();
  }
  return out;
}

function isArrayLike(v: unknown): boolean {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return `a ${v.constructor?.name ?? "object"}`;
  return `${typeof v} ${JSON.stringify(String(v)).slice(0, 40)}`;
}

function convertScalar(sc: number, v: unknown): boolean | number | bigint | string | undefined {
  switch (sc) {
    case TypeCode.BOOLEAN:
      if (typeof v === "boolean") return v;
      if (typeof v === "number" || typeof v === "bigint") return v != 0;
      if (v === "true") return true;
      if (v === "false") return false;
      return undefined;
    case TypeCode.STRING:
      return typeof v === "string" ? v : v === undefined || v === null ? undefined : String(v);
    case TypeCode.LONG:
    case TypeCode.ULONG: {
      let b: bigint;
      if (typeof v === "bigint") b = v;
      else if (typeof v === "number" && Number.isFinite(v)) b = BigInt(Math.trunc(v));
      else if (typeof v === "boolean") b = v ? 1n : 0n;
      else if (typeof v === "string" && /^\s*[-+]?(0x[0-9a-f]+|\d+)\s*$/i.test(v)) {
        b = BigInt(v.trim().replace(/^\+/, ""));
      } else return undefined;
      return sc === TypeCode.LONG ? BigInt.asIntN(64, b) : BigInt.asUintN(64, b);
    }
  }
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "bigint") n = Number(v);
  else if (typeof v === "boolean") n = v ? 1 : 0;
  else if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) n = Number(v);
  else return undefined;
  switch (sc) {
    case TypeCode.BYTE:
      return (n << 24) >> 24;
    case TypeCode.SHORT:
      return (n << 16) >> 16;
    case TypeCode.INT:
      return n | 0;
    case TypeCode.UBYTE:
      return n & 0xff;
    case TypeCode.USHORT:
      return n & 0xffff;
    case TypeCode.UINT:
      return n >>> 0;
    case TypeCode.FLOAT:
      return Math.fround(n);
    default:
      return n;
  }
}

// ---------------------------------------------------------------------------
// Serialisation

function writeScalar(w: ByteWriter, sc: number, v: unknown): void {
  switch (sc) {
    case TypeCode.BOOLEAN:
      w.u8(v ? 1 : 0);
      return;
    case TypeCode.BYTE:
      w.i8(v as number);
      return;
    case TypeCode.SHORT:
      w.i16(v as number);
      return;
    case TypeCode.INT:
      w.i32(v as number);
      return;
    case TypeCode.LONG:
      w.i64(v as bigint);
      return;
    case TypeCode.UBYTE:
      w.u8((v as number) & 0xff);
      return;
    case TypeCode.USHORT:
      w.u16(v as number);
      return;
    case TypeCode.UINT:
      w.u32(v as number);
      return;
    case TypeCode.ULONG:
      w.u64(v as bigint);
      return;
    case TypeCode.FLOAT:
      w.f32(v as number);
      return;
    case TypeCode.DOUBLE:
      w.f64(v as number);
      return;
    case TypeCode.STRING:
      encodeString(w, v as string);
      return;
  }
}

function readScalar(r: ByteReader, sc: number): boolean | number | bigint | string {
  switch (sc) {
    case TypeCode.BOOLEAN:
      return r.u8() !== 0;
    case TypeCode.BYTE:
      return r.i8();
    case TypeCode.SHORT:
      return r.i16();
    case TypeCode.INT:
      return r.i32();
    case TypeCode.LONG:
      return r.i64();
    case TypeCode.UBYTE:
      return r.u8();
    case TypeCode.USHORT:
      return r.u16();
    case TypeCode.UINT:
      return r.u32();
    case TypeCode.ULONG:
      return r.u64();
    case TypeCode.FLOAT:
      return r.f32();
    case TypeCode.DOUBLE:
      return r.f64();
    case TypeCode.STRING:
      return decodeString(r);
  }
  throw new RemoteProtocolError(`Cannot decode scalar code 0x${sc.toString(16)}`, {
    offset: r.offset,
  });
}

function writeArray(w: ByteWriter, t: FieldDesc, v: ArrayLike<unknown>): void {
  const fixed = t.arrayMode === 0x18;
  if (fixed) {
    if (v.length !== t.bound) {
      throw new LocalProtocolError(`Cannot encode fixed array of ${t.bound}: got ${v.length}`);
    }
  } else {
    encodeSize(w, v.length);
  }
  const sc = t.scalarCode;
  if (sc === TypeCode.BOOLEAN || sc === TypeCode.STRING) {
    for (let i = 0; i < v.length; i++) writeScalar(w, sc, v[i]);
    return;
  }
  const a = v as NumericArray;
  const es = a.BYTES_PER_ELEMENT;
  if (es === 1 || w.littleEndian === HOST_LE) {
    // Same byte order as the host: one block copy.
    w.bytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return;
  }
  for (let i = 0; i < a.length; i++) writeScalar(w, sc, a[i]);
}

function readArray(r: ByteReader, t: FieldDesc): boolean[] | string[] | NumericArray {
  const n = t.arrayMode === 0x18 ? t.bound! : decodeCount(r);
  const sc = t.scalarCode;
  if (sc === TypeCode.BOOLEAN || sc === TypeCode.STRING) {
    r.need(n);
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = readScalar(r, sc);
    return out;
  }
  const C = ARRAY_CTORS[sc];
  const es = C.BYTES_PER_ELEMENT;
  const bytes = r.bytesView(n * es);
  if (es === 1 || r.littleEndian === HOST_LE) {
    if ((bytes.byteOffset % es) === 0) {
      // Aligned and in host order: a view on the received payload, no copy.
      return new C(bytes.buffer, bytes.byteOffset, n);
    }
    const copy = bytes.slice();
    return new C(copy.buffer, 0, n);
  }
  const out = new C(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = r.littleEndian;
  const arr = out as unknown as (number | bigint)[];
  switch (sc) {
    case TypeCode.SHORT:
      for (let i = 0; i < n; i++) arr[i] = dv.getInt16(i * 2, le);
      break;
    case TypeCode.USHORT:
      for (let i = 0; i < n; i++) arr[i] = dv.getUint16(i * 2, le);
      break;
    case TypeCode.INT:
      for (let i = 0; i < n; i++) arr[i] = dv.getInt32(i * 4, le);
      break;
    case TypeCode.UINT:
      for (let i = 0; i < n; i++) arr[i] = dv.getUint32(i * 4, le);
      break;
    case TypeCode.LONG:
      for (let i = 0; i < n; i++) arr[i] = dv.getBigInt64(i * 8, le);
      break;
    case TypeCode.ULONG:
      for (let i = 0; i < n; i++) arr[i] = dv.getBigUint64(i * 8, le);
      break;
    case TypeCode.FLOAT:
      for (let i = 0; i < n; i++) arr[i] = dv.getFloat32(i * 4, le);
      break;
    case TypeCode.DOUBLE:
      for (let i = 0; i < n; i++) arr[i] = dv.getFloat64(i * 8, le);
      break;
  }
  return out;
}

function writeUnion(w: ByteWriter, u: PvUnion): void {
  if (u.index < 0 || u.value === null) {
    encodeSize(w, null);
    return;
  }
  encodeSize(w, u.index);
  encodeValue(w, u.value);
}

function readUnion(r: ByteReader, t: FieldDesc, cache: TypeCache | undefined): PvUnion {
  const at = r.offset;
  const sel = decodeSize(r);
  if (sel === null) return { index: -1, name: "", value: null };
  const m = t.members[sel];
  if (!m) {
    throw new RemoteProtocolError(
      `Cannot decode union ${t.typeId}: selector ${sel} of ${t.members.length} members`,
      { offset: at },
    );
  }
  return { index: sel, name: m.name, value: decodeValue(r, m.type, cache) };
}

function writeAny(w: ByteWriter, v: PvValue | null): void {
  if (v === null) {
    w.u8(0xff);
    return;
  }
  encodeFieldDesc(w, v.type);
  encodeValue(w, v);
}

function readAny(r: ByteReader, cache: TypeCache | undefined): PvValue | null {
  const t = decodeFieldDesc(r, cache);
  return t === null ? null : decodeValue(r, t, cache);
}

/** Writes one non-structure node. */
function writeLeaf(w: ByteWriter, t: FieldDesc, v: PvLeaf): void {
  switch (t.code) {
    case TypeCode.UNION:
      writeUnion(w, v as PvUnion);
      return;
    case TypeCode.ANY:
      writeAny(w, v as PvValue | null);
      return;
    case TypeCode.STRUCTURE_ARRAY:
    case TypeCode.UNION_ARRAY:
    case TypeCode.ANY_ARRAY: {
      const a = v as (PvValue | PvUnion | null)[];
      encodeSize(w, a.length);
      for (const el of a) {
        if (el === null) {
          w.u8(0);
          continue;
        }
        w.u8(1);
        if (t.code === TypeCode.STRUCTURE_ARRAY) encodeValue(w, el as PvValue);
        else if (t.code === TypeCode.UNION_ARRAY) writeUnion(w, el as PvUnion);
        else writeAny(w, el as PvValue);
      }
      return;
    }
    case TypeCode.BOUNDED_STRING:
      encodeString(w, v as string);
      return;
  }
  if ((t.code & 0x18) === 0) writeScalar(w, t.code, v);
  else writeArray(w, t, v as ArrayLike<unknown>);
}

/** Reads one non-structure node. */
function readLeaf(r: ByteReader, t: FieldDesc, cache: TypeCache | undefined): PvLeaf {
  switch (t.code) {
    case TypeCode.UNION:
      return readUnion(r, t, cache);
    case TypeCode.ANY:
      return readAny(r, cache);
    case TypeCode.STRUCTURE_ARRAY:
    case TypeCode.UNION_ARRAY:
    case TypeCode.ANY_ARRAY: {
      const n = decodeCount(r);
      r.need(n);
      const out: (PvValue | PvUnion | null)[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const at = r.offset;
        const flag = r.u8();
        if (flag === 0) {
          out[i] = null;
          continue;
        }
        if (flag !== 1) {
          throw new RemoteProtocolError(`Cannot decode array element: presence byte ${flag}`, {
            offset: at,
          });
        }
        out[i] = t.code === TypeCode.STRUCTURE_ARRAY
          ? decodeValue(r, t.element!, cache)
          : t.code === TypeCode.UNION_ARRAY
          ? readUnion(r, t.element!, cache)
          : readAny(r, cache);
      }
      return out as PvLeaf;
    }
    case TypeCode.BOUNDED_STRING:
      return decodeString(r);
  }
  if ((t.code & 0x18) === 0) return readScalar(r, t.code);
  return readArray(r, t);
}

/** Writes node `b` (and its subtree) of a store in full. */
function writeNode(w: ByteWriter, s: Store, b: number): void {
  const { types, ends } = s.layout;
  const end = ends[b];
  for (let j = b; j < end; j++) {
    const t = types[j];
    if (t.code !== TypeCode.STRUCTURE) writeLeaf(w, t, s.vals[j]);
  }
}

function readNode(r: ByteReader, s: Store, b: number, cache: TypeCache | undefined): void {
  const { types, ends } = s.layout;
  const end = ends[b];
  for (let j = b; j < end; j++) {
    const t = types[j];
    if (t.code !== TypeCode.STRUCTURE) s.vals[j] = readLeaf(r, t, cache);
  }
}

/**
 * Writes a value in full (the node and everything below it).
 * @param w the writer
 * @param v the value (root or any node)
 * @example
 * ```ts
 * import { ByteReader, ByteWriter } from "../../core/bytes.ts";
 * import { decodeValue, encodeValue, PvValue, T } from "./mod.ts";
 * const type = T.struct("", [["value", T.double], ["units", T.string]]);
 * const v = PvValue.create(type, { value: 1.5, units: "mm" });
 * const w = new ByteWriter(64, true);
 * encodeValue(w, v); // f64 value | Size+UTF-8 units
 * if (w.length !== 8 + 3) throw new Error();
 * const back = decodeValue(new ByteReader(w.toBytes(), 0, true), type);
 * if (back.get("value") !== 1.5 || back.get("units") !== "mm") throw new Error();
 * ```
 */
export function encodeValue(w: ByteWriter, v: PvValue): void {
  writeNode(w, PvValue._store(v), v.bit);
}

/**
 * Reads a full value of `type`; every field comes back marked changed (bit 0).
 * @param r the reader
 * @param type the type the peer described
 * @param cache the connection's type cache (for `any` members that carry types)
 * @returns the value
 */
export function decodeValue(r: ByteReader, type: FieldDesc, cache?: TypeCache): PvValue {
  const v = PvValue.create(type);
  const s = PvValue._store(v);
  readNode(r, s, 0, cache);
  s.changed.set(0);
  return v;
}

/**
 * Writes the fields selected by `mask` (not the BitSet itself). Each set bit sends that
 * node in full; bits inside an already sent structure are skipped.
 * @param w the writer
 * @param v the root value
 * @param mask the changed BitSet (bits beyond the structure are ignored)
 * @example
 * ```ts
 * import { ByteReader, ByteWriter } from "../../core/bytes.ts";
 * import { decodeValueBits, encodeValueBits, PvValue, T } from "./mod.ts";
 * const type = T.struct("", [["value", T.double], ["units", T.string]]);
 * const v = PvValue.create(type, { units: "mm" });
 * v.changed.clearAll();
 * v.set("value", 2);
 * const w = new ByteWriter(64, true);
 * encodeValueBits(w, v, v.changed); // only the marked field goes on the wire
 * if (w.length !== 8) throw new Error();
 * const target = PvValue.create(type);
 * decodeValueBits(new ByteReader(w.toBytes(), 0, true), target, v.changed);
 * if (target.get("value") !== 2) throw new Error();
 * ```
 */
export function encodeValueBits(w: ByteWriter, v: PvValue, mask: BitSet): void {
  const s = PvValue._store(v);
  const n = s.vals.length;
  for (let b = mask.nextSetBit(0); b >= 0 && b < n; b = mask.nextSetBit(s.layout.ends[b])) {
    writeNode(w, s, b);
  }
}

/**
 * Reads the fields selected by `mask` into an existing value of the right type (the
 * per-operation cache of the last full value) and sets its changed marks to `mask`
 * (trimmed to the structure). Fields not selected keep their previous content.
 * @param r the reader
 * @param v the root value to update
 * @param mask the BitSet that preceded the data
 * @param cache the connection's type cache
 */
export function decodeValueBits(
  r: ByteReader,
  v: PvValue,
  mask: BitSet,
  cache?: TypeCache,
): void {
  const s = PvValue._store(v);
  const n = s.vals.length;
  s.changed.clearAll();
  for (let b = mask.nextSetBit(0); b >= 0 && b < n; b = mask.nextSetBit(s.layout.ends[b])) {
    readNode(r, s, b, cache);
    s.changed.set(b);
  }
}

/**
 * Expands a mask so that each set structure bit also sets all its descendants (handy
 * for asking "is this leaf included").
 * @param type the structure type
 * @param mask the mask
 * @returns a new, expanded mask
 */
export function expandBits(type: FieldDesc, mask: BitSet): BitSet {
  const l = layoutOf(type);
  const out = new BitSet();
  mask.forEach((b) => {
    if (b < l.types.length) out.setRange(b, l.ends[b]);
  });
  return out;
}
