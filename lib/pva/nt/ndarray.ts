/**
 * NTNDArray (areaDetector images): builder in pvxs's member order, a filler from plain
 * content, and a by-name reader.
 *
 * ```text
 * epics:nt/NTNDArray:1.0
 *   union value { boolean[] booleanValue; byte[] byteValue; short[] shortValue;
 *                 int[] intValue; long[] longValue; ubyte[] ubyteValue;
 *                 ushort[] ushortValue; uint[] uintValue; ulong[] ulongValue;
 *                 float[] floatValue; double[] doubleValue }
 *   codec_t codec { string name; any parameters }
 *   long compressedSize | long uncompressedSize | int uniqueId | time_t dataTimeStamp
 *   alarm_t alarm | time_t timeStamp
 *   dimension_t[] dimension { int size; int offset; int fullSize; int binning; boolean reverse }
 *   epics:nt/NTAttribute:1.0[] attribute { string name; any value; string[] tags;
 *        string descriptor; alarm_t alarm; time_t timeStamp; int sourceType; string source }
 * ```
 * Width is dimension[0].size, height dimension[1].size; with codec.name "" the value
 * holds the pixels row by row.
 * @module
 */

import { LocalProtocolError } from "../../core/errors.ts";
import { type EpicsTimeStamp, epicsToPosix } from "../../core/time.ts";
import type { NumericArray, PvNdAttribute } from "../../pv/types.ts";
import { type FieldDesc, PvValue, T, TypeCode } from "../proto/mod.ts";
import {
  alarmT,
  isStruct,
  type NtAlarm,
  NtId,
  readAlarm,
  readNumber,
  readString,
  readTimeStamp,
  timeT,
} from "./common.ts";

/** The value union's members, in wire order (the selector is the index). */
export const ND_VALUE_MEMBERS = [
  ["booleanValue", TypeCode.BOOLEAN],
  ["byteValue", TypeCode.BYTE],
  ["shortValue", TypeCode.SHORT],
  ["intValue", TypeCode.INT],
  ["longValue", TypeCode.LONG],
  ["ubyteValue", TypeCode.UBYTE],
  ["ushortValue", TypeCode.USHORT],
  ["uintValue", TypeCode.UINT],
  ["ulongValue", TypeCode.ULONG],
  ["floatValue", TypeCode.FLOAT],
  ["doubleValue", TypeCode.DOUBLE],
] as const;

const ELEMENT_BYTES: Record<number, number> = {
  [TypeCode.BOOLEAN]: 1,
  [TypeCode.BYTE]: 1,
  [TypeCode.UBYTE]: 1,
  [TypeCode.SHORT]: 2,
  [TypeCode.USHORT]: 2,
  [TypeCode.INT]: 4,
  [TypeCode.UINT]: 4,
  [TypeCode.FLOAT]: 4,
  [TypeCode.LONG]: 8,
  [TypeCode.ULONG]: 8,
  [TypeCode.DOUBLE]: 8,
};

/** `dimension_t`. */
export const dimensionT: FieldDesc = T.struct("dimension_t", [
  ["size", T.int],
  ["offset", T.int],
  ["fullSize", T.int],
  ["binning", T.int],
  ["reverse", T.boolean],
]);

/** NTAttribute as NTNDArray carries it. */
export const ntAttributeT: FieldDesc = T.struct(NtId.NTAttribute, [
  ["name", T.string],
  ["value", T.any],
  ["tags", T.array(T.string)],
  ["descriptor", T.string],
  ["alarm", alarmT],
  ["timeStamp", timeT],
  ["sourceType", T.int],
  ["source", T.string],
]);

let cached: FieldDesc | undefined;

/**
 * The NTNDArray type (one shared instance).
 * @example
 * ```ts
 * import { ntNdArrayType } from "./ndarray.ts";
 * if (ntNdArrayType().member("value")?.members.length !== 11) throw new Error();
 * ```
 */
export function ntNdArrayType(): FieldDesc {
  return cached ??= T.struct(NtId.NTNDArray, [
    ["value", T.union("", ND_VALUE_MEMBERS.map(([n, c]) => [n, T.array(T.code(c))]))],
    ["codec", T.struct("codec_t", [["name", T.string], ["parameters", T.any]])],
    ["compressedSize", T.long],
    ["uncompressedSize", T.long],
    ["uniqueId", T.int],
    ["dataTimeStamp", timeT],
    ["alarm", alarmT],
    ["timeStamp", timeT],
    ["dimension", T.arrayOf(dimensionT)],
    ["attribute", T.arrayOf(ntAttributeT)],
  ]);
}

/**
 * The union member that holds arrays of this kind.
 * @example
 * ```ts
 * import { ndValueMember } from "./mod.ts";
 * if (ndValueMember(new Float32Array(1)) !== "floatValue") throw new Error();
 * ```
 */
export function ndValueMember(a: NumericArray | boolean[]): string {
  if (Array.isArray(a)) return "booleanValue";
  if (a instanceof Int8Array) return "byteValue";
  if (a instanceof Uint8Array) return "ubyteValue";
  if (a instanceof Int16Array) return "shortValue";
  if (a instanceof Uint16Array) return "ushortValue";
  if (a instanceof Int32Array) return "intValue";
  if (a instanceof Uint32Array) return "uintValue";
  if (a instanceof BigInt64Array) return "longValue";
  if (a instanceof BigUint64Array) return "ulongValue";
  if (a instanceof Float32Array) return "floatValue";
  if (a instanceof Float64Array) return "doubleValue";
  throw new LocalProtocolError("Cannot put this array in an NTNDArray");
}

/** Plain content of an NTNDArray, as {@link fillNtNdArray} takes it. */
export interface NtNdArrayContent {
  /** The pixel data; its array type picks the union member. */
  value: NumericArray | boolean[];
  /** Dimension sizes, fastest varying first. */
  dimension: readonly number[];
  /** Frame counter. */
  uniqueId?: number;
  /** When the data was taken (default: `timeStamp`). */
  dataTimeStamp?: EpicsTimeStamp;
  /** When the value was posted. */
  timeStamp?: EpicsTimeStamp;
  /** The alarm, with a CA-style status code. */
  alarm?: { severity: number; status: number; message: string };
  /** Named attributes (NTAttribute entries). */
  attributes?: readonly PvNdAttribute[];
  /** Codec name ("" = uncompressed). */
  codec?: string;
}

function attributeValue(x: number | string | boolean): PvValue {
  const t = typeof x === "string" ? T.string : typeof x === "boolean" ? T.boolean : T.double;
  return PvValue.create(t, x);
}

function timeContent(ts: EpicsTimeStamp) {
  const p = epicsToPosix(ts);
  return { secondsPastEpoch: p.secondsPastEpoch, nanoseconds: p.nanoseconds, userTag: 0 };
}

/**
 * Writes content into an NTNDArray value (marks what it writes).
 * @param v a value of {@link ntNdArrayType}
 * @param c the content
 * @example
 * ```ts
 * import { PvValue } from "../proto/mod.ts";
 * import { fillNtNdArray, ntNdArrayType, readNtNdArray } from "./mod.ts";
 * const v = PvValue.create(ntNdArrayType());
 * fillNtNdArray(v, { value: new Uint16Array(6), dimension: [3, 2], uniqueId: 7 });
 * const img = readNtNdArray(v);
 * if (img.valueType !== "ushortValue" || img.dimension[1].size !== 2) throw new Error();
 * if (img.uncompressedSize !== 12 || img.uniqueId !== 7) throw new Error();
 * ```
 */
export function fillNtNdArray(v: PvValue, c: NtNdArrayContent): void {
  const member = ndValueMember(c.value);
  v.field("value").select(member, c.value);
  const elBytes = Array.isArray(c.value) ? 1 : c.value.BYTES_PER_ELEMENT;
  const bytes = c.value.length * elBytes;
  v.set("codec.name", c.codec ?? "");
  v.set("compressedSize", bytes);
  v.set("uncompressedSize", bytes);
  v.set("uniqueId", c.uniqueId ?? 0);
  if (c.dataTimeStamp ?? c.timeStamp) {
    v.field("dataTimeStamp").assign(timeContent((c.dataTimeStamp ?? c.timeStamp)!));
  }
  if (c.timeStamp) v.field("timeStamp").assign(timeContent(c.timeStamp));
  if (c.alarm) v.field("alarm").assign(c.alarm);
  v.set(
    "dimension",
    c.dimension.map((size) => ({ size, offset: 0, fullSize: size, binning: 1, reverse: false })),
  );
  v.set(
    "attribute",
    (c.attributes ?? []).map((a) =>
      PvValue.create(ntAttributeT, {
        name: a.name,
        value: attributeValue(a.value),
        descriptor: a.descriptor ?? "",
        source: a.source ?? "",
      })
    ),
  );
}

/**
 * Fills one reusable NTNDArray value again and again, as a server does for each update
 * of an image or row PV: field nodes are looked up once, the pixel array is referenced
 * (not copied), and the dimension and attribute arrays are rebuilt only when the
 * caller hands different arrays than the last time (compared by identity).
 * @example
 * ```ts
 * import { NtNdArrayFiller, ntNdArrayType, readNtNdArray } from "./mod.ts";
 * import { PvValue } from "../proto/mod.ts";
 * const v = PvValue.create(ntNdArrayType());
 * const fill = new NtNdArrayFiller(v);
 * const dims = [3, 2];
 * fill.fill({ value: new Int16Array(6), dimension: dims, uniqueId: 1 });
 * fill.fill({ value: new Int16Array(6), dimension: dims, uniqueId: 2 });
 * const img = readNtNdArray(v);
 * if (img.uniqueId !== 2 || img.dimension[0].size !== 3 || img.compressedSize !== 12) {
 *   throw new Error();
 * }
 * ```
 */
export class NtNdArrayFiller {
  readonly #v: PvValue;
  readonly #value: PvValue;
  readonly #members = new Map<string, PvValue>();
  readonly #codec: PvValue;
  readonly #compressed: PvValue;
  readonly #uncompressed: PvValue;
  readonly #uniqueId: PvValue;
  readonly #times: [PvValue, PvValue, PvValue][];
  readonly #alarm: [PvValue, PvValue, PvValue];
  #dims: readonly number[] | undefined;
  #attrs: readonly PvNdAttribute[] | undefined | null = null;
  #lastBytes = -1;
  #lastCodec: string | undefined;

  /**
   * Binds the filler to a value.
   * @param v a value of {@link ntNdArrayType}
   */
  constructor(v: PvValue) {
    this.#v = v;
    this.#value = v.field("value");
    this.#codec = v.field("codec.name");
    this.#compressed = v.field("compressedSize");
    this.#uncompressed = v.field("uncompressedSize");
    this.#uniqueId = v.field("uniqueId");
    const ts = (p: string): [PvValue, PvValue, PvValue] => [
      v.field(`${p}.secondsPastEpoch`),
      v.field(`${p}.nanoseconds`),
      v.field(`${p}.userTag`),
    ];
    this.#times = [ts("dataTimeStamp"), ts("timeStamp")];
    this.#alarm = [v.field("alarm.severity"), v.field("alarm.status"), v.field("alarm.message")];
  }

  /**
   * Writes the content (same meaning as {@link fillNtNdArray}; marks every field).
   * @param c the content
   */
  fill(c: NtNdArrayContent): void {
    const member = ndValueMember(c.value);
    let m = this.#members.get(member);
    if (!m) {
      const i = this.#value.type.indexOf(member);
      m = PvValue.create(this.#value.type.members[i].type);
      this.#members.set(member, m);
    }
    m.assign(c.value);
    this.#value.select(member, m);
    const elBytes = Array.isArray(c.value) ? 1 : c.value.BYTES_PER_ELEMENT;
    const bytes = c.value.length * elBytes;
    if (bytes !== this.#lastBytes) {
      this.#lastBytes = bytes;
      this.#compressed.assign(bytes);
      this.#uncompressed.assign(bytes);
    }
    const codec = c.codec ?? "";
    if (codec !== this.#lastCodec) {
      this.#lastCodec = codec;
      this.#codec.assign(codec);
    }
    this.#uniqueId.assign(c.uniqueId ?? 0);
    const stamps = [c.dataTimeStamp ?? c.timeStamp, c.timeStamp];
    for (let i = 0; i < 2; i++) {
      const ts = stamps[i];
      if (!ts) continue;
      const p = epicsToPosix(ts);
      const [sec, ns, tag] = this.#times[i];
      sec.assign(p.secondsPastEpoch);
      ns.assign(p.nanoseconds);
      tag.assign(0);
    }
    if (c.alarm) {
      this.#alarm[0].assign(c.alarm.severity);
      this.#alarm[1].assign(c.alarm.status);
      this.#alarm[2].assign(c.alarm.message);
    }
    // Rebuilt only when the caller hands new arrays; marked changed every time.
    if (c.dimension !== this.#dims) {
      this.#dims = c.dimension;
      this.#v.set(
        "dimension",
        c.dimension.map((size) => ({
          size,
          offset: 0,
          fullSize: size,
          binning: 1,
          reverse: false,
        })),
      );
    } else this.#v.changed.set(this.#dimBit ??= bitOfField(this.#v, "dimension"));
    if (c.attributes !== this.#attrs) {
      this.#attrs = c.attributes;
      this.#v.set("attribute", attributeValues(c.attributes));
    } else this.#v.changed.set(this.#attrBit ??= bitOfField(this.#v, "attribute"));
    this.#v.changed.set(this.#codecBit ??= bitOfField(this.#v, "codec.name"));
    this.#v.changed.set(this.#compressed.bit);
    this.#v.changed.set(this.#uncompressed.bit);
  }

  #dimBit: number | undefined;
  #attrBit: number | undefined;
  #codecBit: number | undefined;
}

function bitOfField(v: PvValue, path: string): number {
  return v.field(path).bit;
}

function attributeValues(attrs: readonly PvNdAttribute[] | undefined): PvValue[] {
  return (attrs ?? []).map((a) =>
    PvValue.create(ntAttributeT, {
      name: a.name,
      value: attributeValue(a.value),
      descriptor: a.descriptor ?? "",
      source: a.source ?? "",
    })
  );
}

/** One dimension as read. */
export interface NtDimension {
  /** Elements along this dimension. */
  size: number;
  /** Offset of this region in the full frame. */
  offset: number;
  /** Size of the full frame along this dimension. */
  fullSize: number;
  /** Binning factor. */
  binning: number;
  /** Whether the order along this dimension is reversed. */
  reverse: boolean;
}

/** What {@link readNtNdArray} finds. */
export interface NtNdArrayData {
  /** The selected array (undefined when the union is empty). */
  value: NumericArray | boolean[] | undefined;
  /** The union member selected, e.g. "ushortValue" ("" when none). */
  valueType: string;
  /** Codec name ("" = uncompressed). */
  codec: string;
  /** Bytes of the (possibly compressed) data. */
  compressedSize: number;
  /** Bytes of the data once decompressed. */
  uncompressedSize: number;
  /** Dimensions, fastest varying first. */
  dimension: NtDimension[];
  /** Frame counter. */
  uniqueId: number;
  /** When the data was taken. */
  dataTimeStamp: EpicsTimeStamp;
  /** The alarm. */
  alarm: NtAlarm;
  /** When the value was posted. */
  timeStamp: EpicsTimeStamp;
  /** Named attributes, with plain values. */
  attributes: { name: string; value: unknown; descriptor: string; source: string }[];
}

/**
 * Reads an NTNDArray by member name (field order differs between producers).
 * @param v the received value
 * @returns the content; members the producer left out are zero or empty
 */
export function readNtNdArray(v: PvValue): NtNdArrayData {
  const u = v.tryField("value")?.value as
    | { index: number; name: string; value: PvValue | null }
    | PvValue
    | null
    | undefined;
  let value: NumericArray | boolean[] | undefined;
  let valueType = "";
  if (u instanceof PvValue) {
    // A variant ("any") value, as QSRV groups send it.
    value = u.value as NumericArray;
    valueType = u.type.typeName;
  } else if (u && typeof u === "object" && "index" in u && u.value) {
    value = u.value.value as NumericArray;
    valueType = u.name;
  }
  const dims = v.tryField("dimension")?.value;
  const dimension: NtDimension[] = [];
  if (Array.isArray(dims)) {
    for (const d of dims) {
      if (!(d instanceof PvValue)) continue;
      dimension.push({
        size: readNumber(d, "size"),
        offset: readNumber(d, "offset"),
        fullSize: readNumber(d, "fullSize", readNumber(d, "size")),
        binning: readNumber(d, "binning", 1),
        reverse: d.tryField("reverse")?.value === true,
      });
    }
  }
  const attrs = v.tryField("attribute")?.value;
  const attributes: NtNdArrayData["attributes"] = [];
  if (Array.isArray(attrs)) {
    for (const a of attrs) {
      if (!(a instanceof PvValue)) continue;
      const av = a.tryField("value")?.value;
      attributes.push({
        name: readString(a, "name"),
        value: av instanceof PvValue ? av.toJSON() : av,
        descriptor: readString(a, "descriptor"),
        source: readString(a, "source"),
      });
    }
  }
  return {
    value,
    valueType,
    codec: readString(v, "codec.name"),
    compressedSize: readNumber(v, "compressedSize"),
    uncompressedSize: readNumber(v, "uncompressedSize"),
    dimension,
    uniqueId: readNumber(v, "uniqueId"),
    dataTimeStamp: isStruct(v.tryField("dataTimeStamp"))
      ? readTimeStamp(v, "dataTimeStamp")
      : readTimeStamp(v),
    alarm: readAlarm(v),
    timeStamp: readTimeStamp(v),
    attributes,
  };
}

/**
 * Bytes per element of an NTNDArray value member.
 * @param member a union member name, e.g. "ushortValue"
 */
export function ndElementBytes(member: string): number {
  const m = ND_VALUE_MEMBERS.find(([n]) => n === member);
  return m ? ELEMENT_BYTES[m[1]] : 0;
}
