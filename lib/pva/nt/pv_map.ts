/**
 * The shared PV model (lib/pv) seen as Normative Types: which NT a PV is served as,
 * filling an NT value from a snapshot, which fields a change touches, and what a PVA
 * put or RPC hands to the model. Pure functions and plain objects.
 * @module
 */

import { LocalProtocolError } from "../../core/errors.ts";
import { epicsToPosix } from "../../core/time.ts";
import type { PvSnapshot, PvTableValue, PvTypeInfo } from "../../pv/types.ts";
import { PvChange } from "../../pv/types.ts";
import { bitOf, BitSet, type FieldDesc, PvValue, T, typeAtBit, TypeCode } from "../proto/mod.ts";
import { alarmContent, FORM_CHOICES } from "./common.ts";
import { ntEnumType } from "./enum.ts";
import { NtNdArrayFiller, ntNdArrayType } from "./ndarray.ts";
import { QSRV_PROPERTY_PATHS, qsrvType } from "./qsrv.ts";
import { ntScalarType } from "./scalar.ts";
import { ntTableType } from "./table.ts";
import { StructureFiller, structureType, type WriterOf } from "./structure.ts";

const typeCache = new Map<string, FieldDesc>();

/**
 * The NT type a PV is served as: NTEnum for enums, NTNDArray for N-d arrays, NTTable
 * for tables, NTScalarArray for arrays, NTScalar otherwise (one shared FieldDesc per
 * shape), in QSRV's layout (qsrv.ts) for a type that asks for it.
 * @param t the PV's type
 * @returns the structure type
 * @example
 * ```ts
 * import { NtId, ntTypeForPv } from "./mod.ts";
 * if (ntTypeForPv({ kind: "enum", scalar: "int16", maxLength: 1 }).id !== NtId.NTEnum) {
 *   throw new Error();
 * }
 * if (ntTypeForPv({ kind: "array", scalar: "int32", maxLength: 8 }).id !== NtId.NTScalarArray) {
 *   throw new Error();
 * }
 * ```
 */
export function ntTypeForPv(t: PvTypeInfo): FieldDesc {
  if (t.kind === "structure") {
    return structureType(t.id ?? "", t.members ?? [], memberWriter, t.layout);
  }
  const key = t.kind === "table"
    ? `table:${JSON.stringify(t.columns ?? [])}`
    : t.nt ?? `${isQsrv(t) ? "qsrv:" : ""}${t.kind}:${t.scalar}`;
  let d = typeCache.get(key);
  if (!d) {
    if (isQsrv(t)) d = qsrvType(t);
    else if (t.nt === "NTNDArray") d = ntNdArrayType();
    else if (t.kind === "table") d = ntTableType(t.columns ?? []);
    else if (t.kind === "enum") d = ntEnumType();
    else d = ntScalarType(t.scalar, { array: t.kind === "array" });
    typeCache.set(key, d);
  }
  return d;
}

/** Whether a PV is served in QSRV's layout (a plain scalar, array or enum asking for it). */
function isQsrv(t: PvTypeInfo): boolean {
  return t.layout === "qsrv" && t.nt === undefined &&
    (t.kind === "scalar" || t.kind === "array" || t.kind === "enum");
}

/** The timeStamp leaves QSRV marks in every update it posts. */
const QSRV_TIME_PATHS = [
  "timeStamp.secondsPastEpoch",
  "timeStamp.nanoseconds",
  "timeStamp.userTag",
];
/** What QSRV marks on a value or alarm event (it reads both on either), but the value. */
const QSRV_VALUE_PATHS = [
  "alarm.severity",
  "alarm.status",
  "alarm.message",
  ...QSRV_TIME_PATHS,
];

const memberWriter: WriterOf = (m) => new NtSnapshotWriter(m.type);

const VALUE_PATHS = [
  "value",
  "timeStamp",
  "alarm",
  "codec",
  "compressedSize",
  "uncompressedSize",
  "uniqueId",
  "dataTimeStamp",
  "dimension",
  "attribute",
];
const ALARM_PATHS = ["alarm"];
const PROPERTY_PATHS = ["display", "control", "valueAlarm", "descriptor"];

type Getter = (s: PvSnapshot) => unknown;

/** Setters fed by one part of a snapshot, skipped while that part is the same object. */
interface Group {
  source: (s: PvSnapshot) => unknown;
  setters: [PvValue, Getter][];
  last: unknown;
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

/**
 * Fills one reusable NT value from PV snapshots, and says which top-level fields a
 * change (the PvChange bits a PV reports) touches.
 *
 * @example
 * ```ts
 * import { NtSnapshotWriter } from "./pv_map.ts";
 * import { SharedPV } from "../../pv/shared_pv.ts";
 * const pv = new SharedPV("x", { type: "float64", value: 2.5, units: "mm" });
 * const w = new NtSnapshotWriter(pv.type);
 * const v = w.write(pv.snapshot());
 * if (v.get("value") !== 2.5 || v.get("display.units") !== "mm") throw new Error();
 * ```
 */
export class NtSnapshotWriter {
  /** The NT type. */
  readonly type: FieldDesc;
  /** The value every {@link write} fills (reused: encode it before the next write). */
  readonly value: PvValue;
  readonly #pvType: PvTypeInfo;
  readonly #groups: Group[] = [];
  readonly #bits = new Map<number, BitSet>();
  #last: PvSnapshot | undefined;
  #nd: NtNdArrayFiller | undefined;
  #struct: StructureFiller | undefined;
  #flat: number[] | undefined;
  #alarmSrc: PvSnapshot["alarm"] | undefined;
  #alarmNt: { severity: number; status: number; message: string } | undefined;
  readonly #qsrv: boolean;

  #alarmOf(a: PvSnapshot["alarm"]): { severity: number; status: number; message: string } {
    this.#alarmSrc = a;
    return this.#alarmNt = alarmContent(a);
  }

  /**
   * Builds the NT type for a PV and the value it fills.
   * @param pvType the PV's type
   */
  constructor(pvType: PvTypeInfo) {
    this.#pvType = pvType;
    this.#qsrv = isQsrv(pvType);
    this.type = ntTypeForPv(pvType);
    this.value = PvValue.create(this.type);
    const v = this.value;
    if (pvType.kind === "structure") {
      this.#struct = new StructureFiller(v, pvType.members ?? [], memberWriter, pvType.layout);
      return;
    }
    // A snapshot shares the parts a post did not touch (display, control, often the
    // alarm) with the one before: their fields are assigned again only when replaced.
    const groups = new Map<string, Group>();
    const part: Record<string, (s: PvSnapshot) => unknown> = {
      value: (s) => s.value,
      choices: (s) => s.choices,
      alarm: (s) => s.alarm,
      timeStamp: (s) => s.timeStamp,
      display: (s) => s.display,
      control: (s) => s.control,
      valueAlarm: (s) => s.valueAlarm,
      descriptor: (s) => s.display,
    };
    const add = (path: string, get: Getter) => {
      const f = v.tryField(path);
      if (!f || unfilled(path)) return;
      const top = path === "value.choices" ? "choices" : path.split(".")[0];
      let g = groups.get(top);
      if (!g) {
        g = { source: part[top], setters: [], last: undefined };
        groups.set(top, g);
        this.#groups.push(g);
      }
      g.setters.push([f, get]);
    };
    if (v.has("display.form")) v.set("display.form.choices", FORM_CHOICES);
    const el = this.type.member("value");
    // Integer limits cannot hold NaN ("no limit" in the model): send 0 as pvxs does.
    // (QSRV's limits are doubles whatever the value.)
    const lim = el && el.code !== TypeCode.DOUBLE && el.code !== TypeCode.FLOAT && !this.#qsrv
      ? finite
      : (x: number) => x;
    const layout = pvType.layout;
    // QSRV leaves some fields at zero: those a string's dbGet has no options for, and
    // those it never fills (minStep, valueAlarm's active, severities and hysteresis).
    const text = el?.code === TypeCode.STRING;
    const unfilled = this.#qsrv
      ? (path: string) =>
        /^(display|control|valueAlarm)\./.test(path) &&
        (path === "control.minStep" || path === "valueAlarm.active" ||
          path.endsWith("Severity") || path === "valueAlarm.hysteresis" ||
          (text && path !== "display.description" && path !== "display.form.index"))
      : () => false;
    if (pvType.nt === "NTNDArray") {
      // Filled as a whole by write().
    } else if (pvType.kind === "table") {
      const columns = pvType.columns ?? [];
      v.set("labels", columns.map((c) => c.label ?? c.name));
      for (const c of columns) {
        add(`value.${c.name}`, (s) => (s.value as PvTableValue)[c.name]);
      }
      add("descriptor", (s) => s.display.description);
    } else if (pvType.kind === "enum") {
      add("value.index", (s) => s.value);
      add("value.choices", (s) => s.choices ?? []);
    } else {
      add("value", (s) => s.value);
    }
    if (pvType.nt !== "NTNDArray") {
      add("alarm.severity", (s) => s.alarm.severity);
      add("alarm.status", (s) => alarmContent(s.alarm, layout).status);
      add("alarm.message", (s) => alarmContent(s.alarm, layout).message);
      add("timeStamp.secondsPastEpoch", (s) => epicsToPosix(s.timeStamp).secondsPastEpoch);
      add("timeStamp.nanoseconds", (s) => s.timeStamp.nsec);
    }
    add("display.limitLow", (s) => lim(s.display.limitLow));
    add("display.limitHigh", (s) => lim(s.display.limitHigh));
    add("display.description", (s) => s.display.description);
    add("display.units", (s) => s.display.units);
    add("display.precision", (s) => s.display.precision);
    add("display.form.index", (s) => s.display.form ?? 0);
    add("control.limitLow", (s) => lim(s.control.limitLow));
    add("control.limitHigh", (s) => lim(s.control.limitHigh));
    add("control.minStep", (s) => lim(s.control.minStep));
    add("valueAlarm.active", (s) => s.valueAlarm.active);
    add("valueAlarm.lowAlarmLimit", (s) => lim(s.valueAlarm.lowAlarmLimit));
    add("valueAlarm.lowWarningLimit", (s) => lim(s.valueAlarm.lowWarningLimit));
    add("valueAlarm.highWarningLimit", (s) => lim(s.valueAlarm.highWarningLimit));
    add("valueAlarm.highAlarmLimit", (s) => lim(s.valueAlarm.highAlarmLimit));
    add("valueAlarm.lowAlarmSeverity", (s) => s.valueAlarm.lowAlarmSeverity);
    add("valueAlarm.lowWarningSeverity", (s) => s.valueAlarm.lowWarningSeverity);
    add("valueAlarm.highWarningSeverity", (s) => s.valueAlarm.highWarningSeverity);
    add("valueAlarm.highAlarmSeverity", (s) => s.valueAlarm.highAlarmSeverity);
    add("valueAlarm.hysteresis", (s) => s.valueAlarm.hysteresis);
  }

  /**
   * Fills the value from a snapshot (skipped when it is the snapshot written last).
   * @param snap the PV's state
   * @returns the filled value ({@link NtSnapshotWriter.value})
   */
  write(snap: PvSnapshot): PvValue {
    if (snap === this.#last) return this.value;
    this.#last = snap;
    if (this.#struct) {
      this.#struct.fill(snap);
      return this.value;
    }
    for (const g of this.#groups) {
      const src = g.source(snap);
      if (src === g.last && src !== undefined) continue;
      g.last = src;
      for (const [node, get] of g.setters) node.assign(get(snap));
    }
    if (this.#pvType.nt === "NTNDArray") {
      const nd = snap.ndarray;
      const value = snap.value as Parameters<NtNdArrayFiller["fill"]>[0]["value"];
      (this.#nd ??= new NtNdArrayFiller(this.value)).fill({
        value,
        dimension: nd?.dimension ??
          (this.#flat?.[0] === value.length ? this.#flat : this.#flat = [value.length]),
        uniqueId: nd?.uniqueId ?? 0,
        dataTimeStamp: nd?.dataTimeStamp ?? snap.timeStamp,
        timeStamp: snap.timeStamp,
        alarm: snap.alarm === this.#alarmSrc ? this.#alarmNt : this.#alarmOf(snap.alarm),
        attributes: nd?.attributes,
      });
    }
    return this.value;
  }

  /**
   * The top-level fields that a change touches, as bits of {@link type}: VALUE brings
   * value, timeStamp and alarm (as QSRV sends them), ALARM the alarm, PROPERTY the
   * metadata (and an enum's choices). In QSRV's layout the leaves QSRV marks: VALUE or
   * ALARM the value (an enum's index), the alarm and the time stamp; PROPERTY the time
   * stamp and the metadata it fills; an initial update the whole structure (bit 0).
   * @param changes PvChange bits; 0 means "everything" (an initial update)
   * @returns the bits (shared: do not modify)
   */
  changeBits(changes: number): BitSet {
    if (this.#struct && changes === 0) return this.#struct.changeBits(undefined);
    let b = this.#bits.get(changes);
    if (b) return b;
    b = new BitSet();
    if (this.#qsrv) {
      if (changes === 0) b.set(0);
      const paths = [
        ...(changes & ~PvChange.PROPERTY
          ? [this.#pvType.kind === "enum" ? "value.index" : "value", ...QSRV_VALUE_PATHS]
          : []),
        ...(changes & PvChange.PROPERTY ? [...QSRV_TIME_PATHS, ...QSRV_PROPERTY_PATHS] : []),
      ];
      for (const p of paths) {
        const bit = bitOf(this.type, p);
        if (bit > 0) b.set(bit);
      }
      this.#bits.set(changes, b);
      return b;
    }
    const paths = changes === 0 ? this.type.members.map((m) => m.name) : [
      ...(changes & (PvChange.VALUE | PvChange.LOG) ? VALUE_PATHS : []),
      ...(changes & PvChange.ALARM ? ALARM_PATHS : []),
      ...(changes & PvChange.PROPERTY
        ? [...PROPERTY_PATHS, ...(this.#pvType.kind === "enum" ? ["value"] : [])]
        : []),
    ];
    for (const p of paths) {
      const bit = bitOf(this.type, p);
      if (bit > 0) b.set(bit);
    }
    this.#bits.set(changes, b);
    return b;
  }

  /**
   * The fields one update touches: for a structure PV, the members its snapshot marks
   * ({@link PvSnapshot.changed}); otherwise {@link changeBits} of the change bits.
   * @param snap the update's snapshot
   * @param changes its PvChange bits (0: everything)
   * @returns the bits (do not modify)
   */
  updateBits(snap: PvSnapshot, changes: number): BitSet {
    if (!this.#struct) return this.changeBits(changes);
    return this.#struct.changeBits(changes === 0 ? undefined : snap.changed);
  }

  /**
   * Whether a get or an initial update marks the whole structure (bit 0 alone) rather
   * than its leaves: QSRV's layout, whose gets and first monitor updates do so.
   */
  get marksWhole(): boolean {
    return this.#qsrv;
  }

  /** Whether this writes a structure PV (whose update bits depend on each snapshot). */
  get structure(): boolean {
    return this.#struct !== undefined;
  }
}

/**
 * Restricts changed bits to what a pvRequest selected: a changed node entirely inside
 * the selection stays as one bit, otherwise its selected leaves are listed.
 * @param type the structure type
 * @param changed changed nodes
 * @param selected the request mask (lib/pva/proto requestMask)
 * @returns the bits to send
 */
export function selectBits(type: FieldDesc, changed: BitSet, selected: BitSet): BitSet {
  const out = new BitSet();
  const n = type.numBits;
  for (let b = changed.nextSetBit(0); b >= 0 && b < n; b = changed.nextSetBit(b + 1)) {
    const end = b + typeAtBit(type, b)!.numBits;
    let all = true;
    for (let j = b; j < end && all; j++) all = selected.get(j);
    if (all) {
      out.set(b);
      continue;
    }
    for (let j = b; j < end; j++) {
      if (selected.get(j) && typeAtBit(type, j)!.code !== TypeCode.STRUCTURE) out.set(j);
    }
  }
  return out;
}

/**
 * Replaces structure bits by the bits of their leaves (QSRV marks leaves, and pvxs
 * tools print exactly the marked fields).
 * @param type the structure type
 * @param bits the bits
 * @returns a new BitSet of leaf bits
 */
export function leafBits(type: FieldDesc, bits: BitSet): BitSet {
  const out = new BitSet();
  const n = type.numBits;
  for (let b = bits.nextSetBit(0); b >= 0 && b < n; b = bits.nextSetBit(b + 1)) {
    const t = typeAtBit(type, b)!;
    if (t.code !== TypeCode.STRUCTURE) {
      out.set(b);
      continue;
    }
    for (let j = b + 1; j < b + t.numBits; j++) {
      if (typeAtBit(type, j)!.code !== TypeCode.STRUCTURE) out.set(j);
    }
  }
  return out;
}

/**
 * What a put to a structure PV hands to {@link ServedPv.put}: the whole put structure as
 * plain content (an `any` member as `{ value }` of its content, or null) and the dotted
 * paths of the fields the client marked ("" for the whole structure).
 */
export interface StructurePut {
  /** The put structure's content. */
  value: Record<string, unknown>;
  /** Marked fields. */
  changed: string[];
}

/** What a PVA put carries for the model. */
export interface PutExtract {
  /** Whether the put writes the value. */
  hasValue: boolean;
  /** The value to hand to ServedPv.put. */
  value?: unknown;
  /** Dotted paths of other fields the client marked (which the model cannot write). */
  others: string[];
}

function covered(changed: BitSet, type: FieldDesc, path: string): boolean {
  for (let b = bitOf(type, path); b >= 0;) {
    if (changed.get(b)) return true;
    if (b === 0) return false;
    const dot = path.lastIndexOf(".");
    path = dot < 0 ? "" : path.slice(0, dot);
    b = bitOf(type, path);
  }
  return false;
}

/**
 * Reads what a PVA put writes: the value (enum index, array, NTNDArray union content,
 * a table's marked columns as an object) and any other fields the client marked.
 * @param pvType the PV's type
 * @param v the put value as decoded (PV's NT type)
 * @param changed the put BitSet
 */
export function extractPut(pvType: PvTypeInfo, v: PvValue, changed: BitSet): PutExtract {
  const type = v.type;
  const out: PutExtract = { hasValue: false, others: [] };
  const valuePath = pvType.kind === "enum" && pvType.nt === undefined ? "value.index" : "value";
  if (pvType.kind === "structure") {
    // The PV decides what each marked field means (a QSRV group: its members' put rules).
    const marked: string[] = [];
    changed.forEach((b) => {
      if (b < type.numBits) marked.push(pathOf(type, b));
    });
    const put: StructurePut = { value: v.toJSON() as Record<string, unknown>, changed: marked };
    return { hasValue: marked.length > 0, value: put, others: [] };
  }
  if (pvType.kind === "table") {
    // Whole columns: each marked column (or all, when value or the structure is marked).
    const cols: Record<string, unknown> = {};
    for (const c of pvType.columns ?? []) {
      const p = `value.${c.name}`;
      if (covered(changed, type, p)) {
        cols[c.name] = v.get(p);
        out.hasValue = true;
      }
    }
    if (out.hasValue) out.value = cols;
  } else if (covered(changed, type, valuePath)) {
    out.hasValue = true;
    const x = v.get(valuePath);
    if (pvType.nt === "NTNDArray") {
      const u = x as unknown as { index: number; value: PvValue | null };
      if (u.index < 0 || !u.value) {
        throw new LocalProtocolError("Cannot put an empty NTNDArray value union");
      }
      out.value = u.value.value;
    } else {
      out.value = x;
    }
  }
  if (!changed.get(0)) {
    changed.forEach((b) => {
      const p = pathOf(type, b);
      if (p === "" || p === "value" || p.startsWith("value.")) return;
      out.others.push(p);
    });
  }
  return out;
}

function pathOf(type: FieldDesc, bit: number): string {
  // bitPaths is in proto; rebuild cheaply through a walk of members.
  const walk = (t: FieldDesc, base: number, prefix: string): string | undefined => {
    if (bit === base) return prefix;
    for (let i = 0; i < t.members.length; i++) {
      const m = t.members[i];
      const mb = base + t.memberBits[i];
      if (bit >= mb && bit < mb + m.type.numBits) {
        return walk(m.type, mb, prefix === "" ? m.name : `${prefix}.${m.name}`);
      }
    }
    return undefined;
  };
  return walk(type, 0, "") ?? "";
}

/**
 * Turns plain content (an RPC result) into a value, inferring types: numbers become
 * double, bigints long, strings and booleans themselves, typed arrays their own array
 * type, arrays of numbers double[], arrays of strings string[], objects structures.
 * A PvValue is returned as it is; null and undefined give null.
 * @param x the content
 * @returns the typed value, or null for null and undefined
 * @throws {LocalProtocolError} for content with no PVA type (functions, mixed arrays)
 * @example
 * ```ts
 * import { valueFromPlain } from "./mod.ts";
 * const v = valueFromPlain({ sum: 3, names: ["a", "b"] });
 * if (v?.type.member("sum")?.typeName !== "double") throw new Error();
 * if ((v.get("names") as string[])[1] !== "b") throw new Error();
 * ```
 */
export function valueFromPlain(x: unknown): PvValue | null {
  if (x === null || x === undefined) return null;
  if (x instanceof PvValue) return x;
  return PvValue.create(inferType(x), x);
}

function inferType(x: unknown): FieldDesc {
  switch (typeof x) {
    case "number":
      return T.double;
    case "bigint":
      return T.long;
    case "string":
      return T.string;
    case "boolean":
      return T.boolean;
  }
  if (ArrayBuffer.isView(x)) {
    const name = x.constructor.name;
    const code: Record<string, number> = {
      Int8Array: TypeCode.BYTE,
      Uint8Array: TypeCode.UBYTE,
      Int16Array: TypeCode.SHORT,
      Uint16Array: TypeCode.USHORT,
      Int32Array: TypeCode.INT,
      Uint32Array: TypeCode.UINT,
      BigInt64Array: TypeCode.LONG,
      BigUint64Array: TypeCode.ULONG,
      Float32Array: TypeCode.FLOAT,
      Float64Array: TypeCode.DOUBLE,
    };
    if (code[name] !== undefined) return T.array(T.code(code[name]));
  } else if (Array.isArray(x)) {
    if (x.every((e) => typeof e === "string")) return T.array(T.string);
    if (x.every((e) => typeof e === "boolean")) return T.array(T.boolean);
    if (x.every((e) => typeof e === "number")) return T.array(T.double);
  } else if (x !== null && typeof x === "object") {
    const members: [string, FieldDesc][] = [];
    for (const [k, v] of Object.entries(x)) {
      if (v === undefined) continue;
      if (v instanceof PvValue) members.push([k, v.type]);
      else members.push([k, inferType(v)]);
    }
    return T.struct("", members);
  }
  throw new LocalProtocolError(`Cannot give a PVA type to ${typeof x} content`);
}
