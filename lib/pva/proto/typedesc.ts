/**
 * PVA type introspection: the FieldDesc model, its encoder, and a decoder that honours
 * the per-connection type cache (0xFD define / 0xFE reuse) at any nesting depth.
 *
 * ```text
 * 0xFF                        no type
 * 0xFE u16 key                a type defined earlier on this connection with `key`
 * 0xFD u16 key FieldDesc      defines `key` (a later 0xFD overrides)
 * 0xFC u16 key i32 tag FieldDesc   (spec only)
 * code                        scalar / scalar array (0x08 variable, 0x10 bounded + Size,
 *                             0x18 fixed + Size), 0x83 bounded string + Size
 * 0x80 | 0x81                 String id | Size n | n x (String name | FieldDesc)
 * 0x82 | 0x8A                 nothing (any, any[])
 * 0x88 | 0x89                 FieldDesc of the element (structure / union)
 * ```
 * @module
 */

import type { ByteReader, ByteWriter } from "../../core/bytes.ts";
import { LocalProtocolError, RemoteProtocolError } from "../../core/errors.ts";
import { decodeCount, decodeString, encodeSize, encodeString } from "./size_string.ts";

/** Type codes as pvDataCPP/pvxs use them (see the digest §5.3). */
export const TypeCode = {
  BOOLEAN: 0x00,
  BYTE: 0x20,
  SHORT: 0x21,
  INT: 0x22,
  LONG: 0x23,
  UBYTE: 0x24,
  USHORT: 0x25,
  UINT: 0x26,
  ULONG: 0x27,
  FLOAT: 0x42,
  DOUBLE: 0x43,
  STRING: 0x60,
  STRUCTURE: 0x80,
  UNION: 0x81,
  ANY: 0x82,
  BOUNDED_STRING: 0x83,
  BOOLEAN_ARRAY: 0x08,
  BYTE_ARRAY: 0x28,
  SHORT_ARRAY: 0x29,
  INT_ARRAY: 0x2a,
  LONG_ARRAY: 0x2b,
  UBYTE_ARRAY: 0x2c,
  USHORT_ARRAY: 0x2d,
  UINT_ARRAY: 0x2e,
  ULONG_ARRAY: 0x2f,
  FLOAT_ARRAY: 0x4a,
  DOUBLE_ARRAY: 0x4b,
  STRING_ARRAY: 0x68,
  STRUCTURE_ARRAY: 0x88,
  UNION_ARRAY: 0x89,
  ANY_ARRAY: 0x8a,
} as const;
/** One of {@link TypeCode}. */
export type TypeCode = typeof TypeCode[keyof typeof TypeCode];

/** Array-ness bits of a type code. */
export const ArrayMode = {
  SCALAR: 0x00,
  VARIABLE: 0x08,
  BOUNDED: 0x10,
  FIXED: 0x18,
} as const;
/** One of {@link ArrayMode}. */
export type ArrayMode = typeof ArrayMode[keyof typeof ArrayMode];

/** Leading bytes that are not type codes. */
export const TypeCacheCode = {
  NULL_TYPE: 0xff,
  ONLY_ID: 0xfe,
  FULL_WITH_ID: 0xfd,
  FULL_TAGGED_ID: 0xfc,
} as const;

/** The kind of a FieldDesc, derived from its code. */
export type FieldKind =
  | "scalar"
  | "scalarArray"
  | "structure"
  | "union"
  | "any"
  | "structureArray"
  | "unionArray"
  | "anyArray";

/** A named member of a structure or union. */
export interface FieldMember {
  /** Member name. */
  readonly name: string;
  /** Member type. */
  readonly type: FieldDesc;
}

const SCALAR_NAMES: Record<number, string> = {
  0x00: "boolean",
  0x20: "byte",
  0x21: "short",
  0x22: "int",
  0x23: "long",
  0x24: "ubyte",
  0x25: "ushort",
  0x26: "uint",
  0x27: "ulong",
  0x42: "float",
  0x43: "double",
  0x60: "string",
};

/** Whether `code` (with array bits cleared) is a valid scalar code. */
export function isScalarCode(code: number): boolean {
  return SCALAR_NAMES[code & ~0x18] !== undefined;
}

/**
 * An immutable type description. Structures precompute their bit numbering: bit 0 is
 * the structure itself, then its members depth-first (the changed-BitSet numbering).
 */
export class FieldDesc {
  /** The type code byte, including array bits (0x10/0x18 for bounded/fixed arrays). */
  readonly code: number;
  /**
   * Structure/union type ID as sent ("" means the default, "structure" or "union"; see
   * {@link FieldDesc.typeId}). Empty for other kinds.
   */
  readonly id: string;
  /** Members of a structure or union (empty otherwise). */
  readonly members: readonly FieldMember[];
  /** Element type of a structure[] / union[]. */
  readonly element: FieldDesc | undefined;
  /** Bound of a bounded string/array, or length of a fixed array. */
  readonly bound: number | undefined;
  /** Number of bits this node takes: 1 + its descendants for structures, else 1. */
  readonly numBits: number;
  /** For structures: the bit offset of each member relative to this node. */
  readonly memberBits: readonly number[];
  #index: Map<string, number> | undefined;

  /**
   * Creates a type node; use the {@link T} helpers rather than calling this directly.
   * @param code the type code ({@link TypeCode})
   * @param opts the structure/union ID and members, the array element type, the bound
   */
  constructor(
    code: number,
    opts: { id?: string; members?: readonly FieldMember[]; element?: FieldDesc; bound?: number } =
      {},
  ) {
    this.code = code;
    const members = opts.members ?? [];
    this.members = members;
    this.element = opts.element;
    this.bound = opts.bound;
    const base = code & ~0x18;
    if (code === TypeCode.STRUCTURE || code === TypeCode.UNION) {
      this.id = opts.id ?? "";
    } else if (code === TypeCode.STRUCTURE_ARRAY || code === TypeCode.UNION_ARRAY) {
      const want = code === TypeCode.STRUCTURE_ARRAY ? TypeCode.STRUCTURE : TypeCode.UNION;
      if (!opts.element || opts.element.code !== want) {
        throw new LocalProtocolError(
          `Cannot build type 0x${code.toString(16)}: element must be code 0x${want.toString(16)}`,
        );
      }
      this.id = "";
    } else if (code === TypeCode.ANY || code === TypeCode.ANY_ARRAY) {
      this.id = "";
    } else if (code === TypeCode.BOUNDED_STRING || SCALAR_NAMES[base] !== undefined) {
      this.id = "";
    } else {
      throw new LocalProtocolError(`Cannot build type: unknown code 0x${code.toString(16)}`);
    }
    const bits: number[] = [];
    let n = 1;
    if (code === TypeCode.STRUCTURE) {
      for (const m of members) {
        bits.push(n);
        n += m.type.numBits;
      }
    }
    this.numBits = n;
    this.memberBits = bits;
  }

  /** The kind of type. */
  get kind(): FieldKind {
    switch (this.code) {
      case TypeCode.STRUCTURE:
        return "structure";
      case TypeCode.UNION:
        return "union";
      case TypeCode.ANY:
        return "any";
      case TypeCode.STRUCTURE_ARRAY:
        return "structureArray";
      case TypeCode.UNION_ARRAY:
        return "unionArray";
      case TypeCode.ANY_ARRAY:
        return "anyArray";
      case TypeCode.BOUNDED_STRING:
        return "scalar";
    }
    return (this.code & 0x18) === 0 ? "scalar" : "scalarArray";
  }

  /** Array mode bits (0 scalar, 0x08 variable, 0x10 bounded, 0x18 fixed). */
  get arrayMode(): ArrayMode {
    if (this.code >= 0x80) return (this.code & 0x08) as ArrayMode;
    return (this.code & 0x18) as ArrayMode;
  }

  /** For scalars and scalar arrays: the scalar code (bounded string reads as string). */
  get scalarCode(): number {
    if (this.code === TypeCode.BOUNDED_STRING) return TypeCode.STRING;
    return this.code & ~0x18;
  }

  /** The type ID with the default filled in ("structure"/"union" for an empty id). */
  get typeId(): string {
    if (this.id !== "") return this.id;
    if (this.code === TypeCode.STRUCTURE) return "structure";
    if (this.code === TypeCode.UNION) return "union";
    return "";
  }

  /** Index of the member called `name`, or -1. */
  indexOf(name: string): number {
    if (!this.#index) {
      this.#index = new Map();
      this.members.forEach((m, i) => this.#index!.set(m.name, i));
    }
    return this.#index.get(name) ?? -1;
  }

  /** The member type called `name`. */
  member(name: string): FieldDesc | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.members[i].type;
  }

  /** A short type name in spec terms: `double`, `short[]`, a structure's ID, `any`. */
  get typeName(): string {
    switch (this.kind) {
      case "structure":
      case "union":
        return this.typeId;
      case "any":
        return "any";
      case "structureArray":
      case "unionArray":
        return `${this.element!.typeId}[]`;
      case "anyArray":
        return "any[]";
      case "scalar":
        return this.code === TypeCode.BOUNDED_STRING
          ? `string(${this.bound})`
          : SCALAR_NAMES[this.code];
    }
    return `${SCALAR_NAMES[this.scalarCode]}[]`;
  }

  /** Whether both describe the same type (IDs "" and default compare equal). */
  equals(other: FieldDesc): boolean {
    if (this === other) return true;
    if (this.code !== other.code || this.typeId !== other.typeId || this.bound !== other.bound) {
      return false;
    }
    if (this.members.length !== other.members.length) return false;
    for (let i = 0; i < this.members.length; i++) {
      const a = this.members[i], b = other.members[i];
      if (a.name !== b.name || !a.type.equals(b.type)) return false;
    }
    if (this.element || other.element) {
      if (!this.element || !other.element || !this.element.equals(other.element)) return false;
    }
    return true;
  }

  /** An indented text rendering, like `pvxinfo` prints types. */
  toString(indent = ""): string {
    const lines: string[] = [];
    const walk = (t: FieldDesc, name: string, pad: string) => {
      lines.push(`${pad}${t.typeName}${name ? " " + name : ""}`);
      const inner = t.element ?? t;
      if (inner.code === TypeCode.STRUCTURE || inner.code === TypeCode.UNION) {
        for (const m of inner.members) walk(m.type, m.name, pad + "    ");
      }
    };
    walk(this, "", indent);
    return lines.join("\n");
  }
}

/** Member list accepted by the builders: an array of `[name, type]` pairs. */
export type MemberSpec = readonly (readonly [string, FieldDesc])[];

const scalarCache = new Map<number, FieldDesc>();

/**
 * Type builders, for servers and tests.
 * @example
 * ```ts
 * import { T } from "./typedesc.ts";
 * const t = T.struct("epics:nt/NTScalar:1.0", [["value", T.double]]);
 * if (t.numBits !== 2) throw new Error();
 * ```
 */
export const T = {
  /** A scalar or variable-array type by code (cached). */
  code(code: number): FieldDesc {
    let t = scalarCache.get(code);
    if (!t) scalarCache.set(code, t = new FieldDesc(code));
    return t;
  },
  get boolean(): FieldDesc {
    return T.code(TypeCode.BOOLEAN);
  },
  get byte(): FieldDesc {
    return T.code(TypeCode.BYTE);
  },
  get short(): FieldDesc {
    return T.code(TypeCode.SHORT);
  },
  get int(): FieldDesc {
    return T.code(TypeCode.INT);
  },
  get long(): FieldDesc {
    return T.code(TypeCode.LONG);
  },
  get ubyte(): FieldDesc {
    return T.code(TypeCode.UBYTE);
  },
  get ushort(): FieldDesc {
    return T.code(TypeCode.USHORT);
  },
  get uint(): FieldDesc {
    return T.code(TypeCode.UINT);
  },
  get ulong(): FieldDesc {
    return T.code(TypeCode.ULONG);
  },
  get float(): FieldDesc {
    return T.code(TypeCode.FLOAT);
  },
  get double(): FieldDesc {
    return T.code(TypeCode.DOUBLE);
  },
  get string(): FieldDesc {
    return T.code(TypeCode.STRING);
  },
  get any(): FieldDesc {
    return T.code(TypeCode.ANY);
  },
  get anyArray(): FieldDesc {
    return T.code(TypeCode.ANY_ARRAY);
  },
  /** A variable-size array of a scalar type. */
  array(scalar: FieldDesc): FieldDesc {
    return T.code(scalar.scalarCode | ArrayMode.VARIABLE);
  },
  /** A structure. */
  struct(id: string, members: MemberSpec): FieldDesc {
    return new FieldDesc(TypeCode.STRUCTURE, {
      id,
      members: members.map(([name, type]) => ({ name, type })),
    });
  },
  /** A (regular) union. */
  union(id: string, members: MemberSpec): FieldDesc {
    return new FieldDesc(TypeCode.UNION, {
      id,
      members: members.map(([name, type]) => ({ name, type })),
    });
  },
  /** An array of structures or unions. */
  arrayOf(element: FieldDesc): FieldDesc {
    return new FieldDesc(
      element.code === TypeCode.UNION ? TypeCode.UNION_ARRAY : TypeCode.STRUCTURE_ARRAY,
      { element },
    );
  },
  /** A bounded string (pvAccessCPP only; pvxs rejects it). */
  boundedString(bound: number): FieldDesc {
    return new FieldDesc(TypeCode.BOUNDED_STRING, { bound });
  },
  /** A bounded (mode 0x10) or fixed (0x18) scalar array (pvAccessCPP only). */
  sizedArray(scalar: FieldDesc, mode: 0x10 | 0x18, bound: number): FieldDesc {
    return new FieldDesc(scalar.scalarCode | mode, { bound });
  },
};

/**
 * The receive-side type registry of one connection and direction: keys defined by
 * 0xFD, looked up by 0xFE.
 */
export class TypeCache {
  #map = new Map<number, FieldDesc>();

  /** Defines or overrides `key`. */
  set(key: number, type: FieldDesc): void {
    this.#map.set(key, type);
  }

  /** The type defined for `key`. */
  get(key: number): FieldDesc | undefined {
    return this.#map.get(key);
  }

  /** Number of keys held. */
  get size(): number {
    return this.#map.size;
  }

  /** Forgets every key (on reconnect). */
  clear(): void {
    this.#map.clear();
  }
}

/** The deepest nesting accepted when decoding (pvxs allows 20; we are a bit lenient). */
export const MAX_TYPE_DEPTH = 64;

/**
 * Writes a FieldDesc in full form (never cached); `null` writes 0xFF.
 * @param w the writer
 * @param type the type, or null for "no type"
 * @example
 * ```ts
 * import { ByteReader, ByteWriter, toHex } from "../../core/bytes.ts";
 * import { decodeFieldDesc, encodeFieldDesc, T } from "./mod.ts";
 * const w = new ByteWriter();
 * encodeFieldDesc(w, T.double); // a scalar type is its code byte
 * if (toHex(w.toBytes()) !== "43") throw new Error();
 * w.reset();
 * const type = T.struct("my_t", [["value", T.array(T.double)]]);
 * encodeFieldDesc(w, type);
 * if (decodeFieldDesc(new ByteReader(w.toBytes()))?.toString() !== type.toString()) throw new Error();
 * ```
 */
export function encodeFieldDesc(w: ByteWriter, type: FieldDesc | null): void {
  if (type === null) {
    w.u8(TypeCacheCode.NULL_TYPE);
    return;
  }
  w.u8(type.code);
  switch (type.code) {
    case TypeCode.STRUCTURE:
    case TypeCode.UNION: {
      // The id goes out as held: "" (the default) stays "", as the peers send it.
      encodeString(w, type.id);
      encodeSize(w, type.members.length);
      for (const m of type.members) {
        encodeString(w, m.name);
        encodeFieldDesc(w, m.type);
      }
      return;
    }
    case TypeCode.STRUCTURE_ARRAY:
    case TypeCode.UNION_ARRAY:
      encodeFieldDesc(w, type.element!);
      return;
    case TypeCode.BOUNDED_STRING:
      encodeSize(w, type.bound ?? 0);
      return;
  }
  if (type.code < 0x80 && (type.code & 0x10) !== 0) encodeSize(w, type.bound ?? 0);
}

/**
 * Reads a FieldDesc, resolving and recording cache keys in `cache`.
 * @param r the reader
 * @param cache this connection's receive-side type cache
 * @returns the type, or null for 0xFF
 * @throws {RemoteProtocolError} on an unknown code, an unknown cache key, or nesting too deep
 */
export function decodeFieldDesc(r: ByteReader, cache?: TypeCache): FieldDesc | null {
  const start = r.offset;
  // The same type usually comes again (one per channel of a kind): a descriptor's bytes
  // are self-delimiting, so when the next bytes equal a recent type's bytes, they are that
  // type and need no decoding.
  const b = r.bytes;
  const le = r.littleEndian;
  for (let k = 0; k < recent.length; k++) {
    const e = recent[k];
    const eb = e.bytes;
    const len = eb.length;
    if (e.le !== le || start + len > b.length) continue;
    let i = 0;
    while (i < len && b[start + i] === eb[i]) i++;
    if (i === len) {
      r.offset = start + len;
      return e.type;
    }
  }
  const cacheUses = cacheTouches;
  const t = decodeDesc(r, cache, 0);
  // Equal bytes are an equal type: hand back the object decoded before, so that every
  // monitor of an NTScalar shares one type (and the bit layout and paths derived from it)
  // instead of holding its own copy (several kB each with 100,000 monitors). Types that
  // went through the connection's cache are left out: their bytes mean different types
  // on different connections.
  const n = r.offset - start;
  if (!t || n > INTERN_MAX_BYTES || cacheTouches !== cacheUses) return t;
  let key = le ? "l" : "b";
  for (let i = start; i < r.offset; i++) key += String.fromCharCode(b[i]);
  let seen = interned.get(key);
  if (!seen) {
    if (interned.size >= INTERN_MAX_TYPES) interned.clear();
    interned.set(key, t);
    seen = t;
  }
  if (n <= RECENT_MAX_BYTES) {
    if (recent.length >= RECENT_MAX) recent.pop();
    recent.unshift({ le, bytes: b.slice(start, r.offset), type: seen });
  }
  return seen;
}

/** The last few interned types with their wire bytes, probed before decoding. */
const recent: { le: boolean; bytes: Uint8Array; type: FieldDesc }[] = [];
// 8, not 4: a save set's GET/PUT INIT replies cycle through a handful of types (NTScalar
// double, int, string, NTEnum, an array): with 4 slots, five types in turn missed every time.
const RECENT_MAX = 8;
const RECENT_MAX_BYTES = 1024;

/** Types decoded so far by their wire bytes (bounded: cleared when full). */
const interned = new Map<string, FieldDesc>();
const INTERN_MAX_TYPES = 512;
const INTERN_MAX_BYTES = 4096;
/** Counts decodes that read or wrote a connection's type cache. */
let cacheTouches = 0;

function decodeDesc(r: ByteReader, cache: TypeCache | undefined, depth: number): FieldDesc | null {
  if (depth > MAX_TYPE_DEPTH) {
    throw new RemoteProtocolError(`Cannot decode type: nesting deeper than ${MAX_TYPE_DEPTH}`, {
      offset: r.offset,
    });
  }
  const at = r.offset;
  const code = r.u8();
  switch (code) {
    case TypeCacheCode.NULL_TYPE:
      return null;
    case TypeCacheCode.ONLY_ID: {
      cacheTouches++;
      const key = r.u16();
      const t = cache?.get(key);
      if (!t) {
        throw new RemoteProtocolError(`Cannot decode type: unknown cache key ${key}`, {
          offset: at,
        });
      }
      return t;
    }
    case TypeCacheCode.FULL_WITH_ID:
    case TypeCacheCode.FULL_TAGGED_ID: {
      cacheTouches++;
      const key = r.u16();
      if (code === TypeCacheCode.FULL_TAGGED_ID) r.i32();
      const t = decodeDesc(r, cache, depth + 1);
      if (t === null) {
        throw new RemoteProtocolError(`Cannot decode type: cache key ${key} defined as null`, {
          offset: at,
        });
      }
      cache?.set(key, t);
      return t;
    }
  }
  switch (code) {
    case TypeCode.STRUCTURE:
    case TypeCode.UNION: {
      const id = decodeString(r);
      const n = decodeCount(r);
      r.need(n);
      const members: FieldMember[] = [];
      for (let i = 0; i < n; i++) {
        const name = decodeString(r);
        const mat = r.offset;
        const t = decodeDesc(r, cache, depth + 1);
        if (t === null) {
          throw new RemoteProtocolError(`Cannot decode type: member "${name}" has no type`, {
            offset: mat,
          });
        }
        members.push({ name, type: t });
      }
      return new FieldDesc(code, { id, members });
    }
    case TypeCode.STRUCTURE_ARRAY:
    case TypeCode.UNION_ARRAY: {
      const el = decodeDesc(r, cache, depth + 1);
      const want = code === TypeCode.STRUCTURE_ARRAY ? TypeCode.STRUCTURE : TypeCode.UNION;
      if (el === null || el.code !== want) {
        throw new RemoteProtocolError(
          `Cannot decode type: array 0x${code.toString(16)} of a non-${
            want === TypeCode.STRUCTURE ? "structure" : "union"
          }`,
          { offset: at },
        );
      }
      return new FieldDesc(code, { element: el });
    }
    case TypeCode.ANY:
    case TypeCode.ANY_ARRAY:
      return T.code(code);
    case TypeCode.BOUNDED_STRING:
      return new FieldDesc(code, { bound: decodeCount(r) });
  }
  if (code < 0x80 && isScalarCode(code)) {
    if ((code & 0x10) !== 0) return new FieldDesc(code, { bound: decodeCount(r) });
    return T.code(code);
  }
  throw new RemoteProtocolError(`Cannot decode type: unknown code 0x${code.toString(16)}`, {
    offset: at,
  });
}
