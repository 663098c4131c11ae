/**
 * What each record type computes when processed (its record support): reading through
 * device support or links, conversions, alarms. The engine (database.ts) does the rest:
 * scanning, time stamps, alarm reset, monitors, forward links, PACT.
 * @module
 */

import { charsToText, cutUtf8, textToChars } from "../core/bytes.ts";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { CALC_ARGS, type CalcProgramLike, compile, evaluate } from "./_calc.ts";
import { castDouble, type IntegerDbf, integerDbfOf } from "./_cast.ts";
import { formatPrintf } from "./printf.ts";
import { type ConstantDbf, constantForField, loadConstant } from "./const_link.ts";
import { type FieldValue, menuChoices, recordType, SCALAR_OF_DBF } from "./record_type.ts";
import type { DbfType } from "./dbd/types.ts";
import { initSimm, simmPut, simulatedRead, simulatedWrite, simulationMode } from "./simulation.ts";
import {
  type ArrayShape,
  type IocRecord,
  type MonitorPosts,
  NO_RESULT,
  type RecordIo,
  type RecordSupport,
  type Subroutine,
  type ValueMeta,
} from "./types.ts";
import { PvChange, type ScalarType } from "../pv/types.ts";

const INVALID = AlarmSeverity.INVALID;
const LETTERS = "ABCDEFGHIJKLMNOPQRSTU".split("");
const CALC_LETTERS = LETTERS.slice(0, 12);
/**
 * The field names built from the letters, made once: a key built per use (`INP${c}`) is a
 * new string to hash and look up on every processing.
 */
const CALC_INPUTS = CALC_LETTERS.map((c) => `INP${c}`);
const CALC_LAST = CALC_LETTERS.map((c) => `L${c}`);

const VL = PvChange.VALUE | PvChange.LOG;

/** Posts `field` when it differs from its copy `last` (C's !=: a NaN always differs). */
function postChanged(rec: IocRecord, m: MonitorPosts, field: string, last: string, mask: number) {
  const f = rec.f;
  if (f[field] !== f[last]) {
    f[last] = f[field];
    m.post(field, mask);
  }
}

/** VAL with the mask of its rule and of the alarm reset, when not zero. */
function postVal(m: MonitorPosts): void {
  if (m.alarm | m.value) m.post("VAL", m.alarm | m.value);
}

/**
 * A..L that changed since LA..LL (and all of them on an alarm change when `onAlarm`,
 * as calc and calcout do), with `mask`; LA..LL follow.
 */
function postLetters(rec: IocRecord, m: MonitorPosts, mask: number, onAlarm: boolean): void {
  const f = rec.f;
  for (let i = 0; i < CALC_LETTERS.length; i++) {
    const a = CALC_LETTERS[i], la = CALC_LAST[i];
    if (f[a] !== f[la] || (onAlarm && m.alarm)) {
      m.post(a, mask);
      f[la] = f[a];
    }
  }
}

/** ai, bi, mbbi: VAL; RVAL when it moved from ORAW (ai: only with a VAL post). */
function inputRawMonitor(rec: IocRecord, m: MonitorPosts): void {
  const k = m.alarm | m.value;
  postVal(m);
  if (rec.type.name === "ai") {
    if (k) postChanged(rec, m, "RVAL", "ORAW", k);
  } else postChanged(rec, m, "RVAL", "ORAW", k | VL);
}

/** bo, mbbo: VAL, then RVAL and RBV when they moved from ORAW and ORBV. */
function outputRawMonitor(rec: IocRecord, m: MonitorPosts): void {
  const k = m.alarm | m.value | VL;
  postVal(m);
  postChanged(rec, m, "RVAL", "ORAW", k);
  postChanged(rec, m, "RBV", "ORBV", k);
}
const HEX = "0123456789ABCDEF".split("");
/** The 16 state prefixes of mbbi/mbbo fields (ZRST, ONVL, ..., FFSV). */
export const MBB_PREFIX: readonly string[] = [
  "ZR",
  "ON",
  "TW",
  "TH",
  "FR",
  "FV",
  "SX",
  "SV",
  "EI",
  "NI",
  "TE",
  "EL",
  "TV",
  "TT",
  "FT",
  "FF",
];

type F = Record<string, FieldValue>;

// ------------------------------------------------------------------ helpers

function num(f: F, k: string): number {
  return f[k] as number;
}

/**
 * Runs the device support; returns its promise when it went asynchronous. A record that
 * is active (PACT) has had its device I/O already, unless `evenIfActive` (base's aai and
 * aao call the device after a simulation delay).
 */
function runDevice(
  rec: IocRecord,
  io: RecordIo,
  evenIfActive = false,
): Promise<unknown> | undefined {
  if (rec.f.PACT && !evenIfActive) return undefined;
  const dev = rec.dev;
  if (!dev) {
    rec.pvt.devResult = undefined;
    return undefined;
  }
  let r;
  try {
    r = dev.io(rec, io);
  } catch (e) {
    io.setSevr(
      rec,
      rec.support.io === "output" ? AlarmStatus.WRITE : AlarmStatus.READ,
      INVALID,
      (e as Error).message,
    );
    rec.pvt.devResult = "noConvert";
    return undefined;
  }
  if (r instanceof Promise) return r.then((x) => (rec.pvt.devResult = x));
  rec.pvt.devResult = r;
  return undefined;
}

/**
 * base's readValue: the simulated read of SIOL (simulation.ts) or the device support's.
 * Returns a promise when the read went asynchronous (a device, or SDLY); afterwards
 * `rec.pvt.devResult` tells the conversion what was read.
 */
function readValue(rec: IocRecord, io: RecordIo): Promise<unknown> | undefined {
  const mode = simulationMode(rec, io);
  if (mode === "off") return runDevice(rec, io);
  if (mode instanceof Promise) return mode;
  if (mode === "failed") {
    rec.pvt.devResult = "noConvert";
    return undefined;
  }
  const r = simulatedRead(rec, io, mode);
  if (r === "device") return runDevice(rec, io, true);
  rec.pvt.devResult = r;
  return undefined;
}

/**
 * base's writeValue: the simulated write to SIOL or the device support's write (`device`,
 * where a record type decides whether to write at all, as longout's OOPT does).
 */
function writeValue(
  rec: IocRecord,
  io: RecordIo,
  device: DeviceWrite = runDevice,
): Promise<unknown> | undefined {
  const mode = simulationMode(rec, io);
  if (mode === "off") return device(rec, io);
  if (mode === "failed") return undefined;
  if (mode instanceof Promise) return mode;
  if (simulatedWrite(rec, io, mode) === "device") return runDevice(rec, io, true);
  return undefined;
}

/**
 * An input record's processing: the read (simulated or by the device), then `convert`
 * with whether RVAL is to be converted (false when VAL was read directly).
 */
function inputProcess(
  convert: (rec: IocRecord, io: RecordIo, fromRaw: boolean) => void,
): RecordSupport["process"] {
  return (rec, io) => {
    const p = readValue(rec, io);
    if (p) return p;
    convert(rec, io, rec.pvt.devResult !== "noConvert");
  };
}

/** A device write: the device support's, or a record type's condition around it. */
type DeviceWrite = (rec: IocRecord, io: RecordIo) => Promise<unknown> | undefined;

/** The steps of an output record's processing that differ by type. */
interface OutputSteps {
  /** Unless PACT: DOL, conversion, alarms. */
  compute(rec: IocRecord, io: RecordIo): void;
  /** What IVOA "Set output to IVOV" sets (VAL = IVOV when absent). */
  ivov?(rec: IocRecord): void;
  /** The device write (longout's OOPT decides whether there is one). */
  device?: DeviceWrite;
  /** Once written: the copies base's monitor() keeps (ORAW, OVAL, PVAL...). */
  done?(rec: IocRecord, io: RecordIo): void;
}

/** An output record's processing: compute, write (IVOA, simulation, device), then `done`. */
function outputProcess(steps: OutputSteps): RecordSupport["process"] {
  const { compute, ivov, device, done } = steps;
  return (rec, io) => {
    if (!rec.f.PACT) compute(rec, io);
    const p = writeOutput(rec, io, ivov, device);
    if (p) return p;
    done?.(rec, io);
  };
}

/** Copies fields, [to, from] pairs (the "last written" fields records keep). */
function keep(...pairs: readonly (readonly [string, string])[]): (rec: IocRecord) => void {
  return (rec) => {
    for (const [to, from] of pairs) rec.f[to] = rec.f[from];
  };
}

const KEEP_RAW = keep(["ORAW", "RVAL"]);

/**
 * The UDF alarm while VAL is undefined: severity UDFS, or `severity` where base's record
 * type fixes one (INVALID for mbbiDirect and lso). Returns whether it applied.
 */
function checkUdf(rec: IocRecord, io: RecordIo, severity?: number, message?: string): boolean {
  if (rec.f.UDF) {
    io.setSevr(rec, AlarmStatus.UDF, severity ?? rec.f.UDFS as number, message);
    return true;
  }
  return false;
}

/** HIHI/HIGH/LOW/LOLO with hysteresis around the last alarm value LALM (analog and integer records). */
function limitAlarms(rec: IocRecord, io: RecordIo): void {
  const f = rec.f;
  if (checkUdf(rec, io)) return;
  const val = num(f, "VAL");
  const hyst = num(f, "HYST");
  const lalm = num(f, "LALM");
  const hihi = num(f, "HIHI"), high = num(f, "HIGH"), low = num(f, "LOW"), lolo = num(f, "LOLO");
  const hhsv = num(f, "HHSV"), hsv = num(f, "HSV"), lsv = num(f, "LSV"), llsv = num(f, "LLSV");
  if (hhsv && (val >= hihi || (lalm === hihi && val >= hihi - hyst))) {
    if (io.setSevr(rec, AlarmStatus.HIHI, hhsv)) f.LALM = hihi;
    return;
  }
  if (llsv && (val <= lolo || (lalm === lolo && val <= lolo + hyst))) {
    if (io.setSevr(rec, AlarmStatus.LOLO, llsv)) f.LALM = lolo;
    return;
  }
  if (hsv && (val >= high || (lalm === high && val >= high - hyst))) {
    if (io.setSevr(rec, AlarmStatus.HIGH, hsv)) f.LALM = high;
    return;
  }
  if (lsv && (val <= low || (lalm === low && val <= low + hyst))) {
    if (io.setSevr(rec, AlarmStatus.LOW, lsv)) f.LALM = low;
    return;
  }
  f.LALM = val;
}

function limitsOf(f: F): ValueMeta["alarm"] {
  const lim = (sevr: string, v: string) => (num(f, sevr) ? num(f, v) : NaN);
  return {
    limits: [lim("LLSV", "LOLO"), lim("LSV", "LOW"), lim("HSV", "HIGH"), lim("HHSV", "HIHI")],
    severities: [num(f, "LLSV"), num(f, "LSV"), num(f, "HSV"), num(f, "HHSV")],
    hysteresis: num(f, "HYST"),
  };
}

function analogMeta(control: "HOPR" | "DRVH") {
  return (rec: IocRecord): ValueMeta => {
    const f = rec.f;
    const display = [num(f, "LOPR"), num(f, "HOPR")] as const;
    return {
      units: f.EGU as string,
      precision: f.PREC === undefined ? 0 : num(f, "PREC"),
      display,
      control: control === "DRVH" ? [num(f, "DRVL"), num(f, "DRVH")] : display,
      alarm: f.HHSV === undefined ? undefined : limitsOf(f),
    };
  };
}

/**
 * An output record's init: a constant DOL loaded into VAL as `dbf` (whatever OMSL says)
 * defines it. Returns whether it did (base's load may succeed without writing VAL).
 */
function initDol(
  rec: IocRecord,
  io: RecordIo,
  dbf: ConstantDbf,
  toVal = (v: number | string) => v,
): boolean {
  const l = rec.links.DOL;
  const r = loadConstant(l, dbf);
  if (r === undefined) return false;
  if (r.value !== undefined) {
    rec.f.VAL = toVal(constantForField(r.value, rec.type.byName.get("VAL")?.type ?? dbf));
  }
  if (r.failed) {
    // A `[...]` DOL base's JSON parser stops in: its message, and VAL is not defined.
    if (l?.kind === "constant" && l.error) io.warn(l.error.replace(/\n$/, ""));
    return false;
  }
  rec.f.UDF = typeof rec.f.VAL === "number" && Number.isNaN(rec.f.VAL) ? 1 : 0;
  return true;
}

/**
 * OMSL closed_loop: VAL from DOL, read as `as` (an integer type: base's cast of the double,
 * see _cast.ts). Returns whether a value was read.
 */
function fetchDol(
  rec: IocRecord,
  io: RecordIo,
  want: "number" | "string" = "number",
  as?: IntegerDbf,
): boolean {
  const f = rec.f;
  if (f.PACT || !f.OMSL || io.isConstantLink(rec, "DOL")) return false;
  const r = io.getLink(rec, "DOL", want);
  if (!r) return false;
  f.VAL = as ? castDouble(r.value as number, as) : r.value;
  f.UDF = typeof r.value === "number" && Number.isNaN(r.value) ? 1 : 0;
  return true;
}

/**
 * IVOA: with an INVALID alarm, "Continue normally" writes, "Don't drive outputs" does not,
 * "Set output to IVOV" writes IVOV (set once, not again when an asynchronous write
 * completes). Returns the write's promise when asynchronous.
 */
function writeOutput(
  rec: IocRecord,
  io: RecordIo,
  setIvov?: (rec: IocRecord) => void,
  device?: DeviceWrite,
): Promise<unknown> | undefined {
  const f = rec.f;
  if ((f.NSEV as number) >= INVALID) {
    const ivoa = f.IVOA as number | undefined;
    if (ivoa === 1) return undefined;
    if (ivoa === 2 && !f.PACT) {
      if (setIvov) setIvov(rec);
      else f.VAL = f.IVOV;
    }
  }
  return writeValue(rec, io, device);
}

/**
 * STATE and COS alarms of the binary and multi-bit records. While UDF is set, bi and mbbi
 * raise the UDF alarm alone ("stop"), bo raises it besides ("raise"); mbbo's processing has
 * dealt with it already ("skip").
 */
function stateAlarms(
  rec: IocRecord,
  io: RecordIo,
  stateSevr: number | undefined,
  udf: "stop" | "raise" | "skip",
): void {
  const f = rec.f;
  if (udf !== "skip" && checkUdf(rec, io) && udf === "stop") return;
  if (stateSevr) io.setSevr(rec, AlarmStatus.STATE, stateSevr);
  const val = num(f, "VAL");
  if (val !== num(f, "LALM")) {
    if (num(f, "COSV")) io.setSevr(rec, AlarmStatus.COS, num(f, "COSV"));
    f.LALM = val;
  }
}

function clampDrive(f: F): void {
  const drvh = num(f, "DRVH"), drvl = num(f, "DRVL");
  if (drvh > drvl) {
    const v = num(f, "VAL");
    if (v > drvh) f.VAL = drvh;
    else if (v < drvl) f.VAL = drvl;
  }
}

// ------------------------------------------------------------------ arrays

/** A typed array (or string array) for a menuFtype choice. */
export function arrayFor(ftvl: string, n: number): FieldValue {
  switch (ftvl) {
    case "STRING":
      return new Array<string>(n).fill("");
    case "CHAR":
      return new Int8Array(n);
    case "UCHAR":
      return new Uint8Array(n);
    case "SHORT":
      return new Int16Array(n);
    case "USHORT":
    case "ENUM":
      return new Uint16Array(n);
    case "LONG":
      return new Int32Array(n);
    case "ULONG":
      return new Uint32Array(n);
    case "INT64":
      return new BigInt64Array(n);
    case "UINT64":
      return new BigUint64Array(n);
    case "FLOAT":
      return new Float32Array(n);
    default:
      return new Float64Array(n);
  }
}

/** The element type of a menuFtype choice (the DBF type of the same name). */
function scalarOfFtvl(ftvl: string): ScalarType {
  return SCALAR_OF_DBF[ftvl as DbfType] ?? "float64";
}

function ftvlOf(rec: IocRecord): string {
  return menuChoices("menuFtype")[rec.f.FTVL as number] ?? "DOUBLE";
}

/**
 * Copies elements into an array field, converting (into integers as base's casts do, see
 * _cast.ts); returns how many were copied.
 */
export function copyInto(dst: FieldValue, src: ArrayLike<unknown>, n: number, at = 0): number {
  const d = dst as unknown as { length: number; [i: number]: unknown };
  const count = Math.max(0, Math.min(n, src.length, d.length - at));
  if (src.constructor === dst.constructor && ArrayBuffer.isView(src)) {
    // The same element type: nothing to convert.
    (dst as Uint8Array).set((src as unknown as Uint8Array).subarray(0, count), at);
    return count;
  }
  const int = integerDbfOf(dst);
  const big = dst instanceof BigInt64Array || dst instanceof BigUint64Array;
  const str = Array.isArray(dst);
  for (let i = 0; i < count; i++) {
    const x = src[i];
    if (str) d[at + i] = String(x);
    else if (typeof x === "bigint") d[at + i] = big ? x : Number(x);
    else if (int) {
      const v = Number(x);
      // A BigUint64Array wraps a negative INT64 as the cast does (exactly, unlike a number).
      d[at + i] = big
        ? BigInt(castDouble(v, int === "UINT64" && v < 2 ** 63 ? "INT64" : int))
        : castDouble(v, int);
    } else d[at + i] = Number(x);
  }
  return count;
}

function arrayInit(maxField: string) {
  return (rec: IocRecord, _io: RecordIo, pass: 0 | 1) => {
    const f = rec.f;
    if (pass !== 0) return;
    if (num(f, maxField) < 1) f[maxField] = 1;
    f.VAL = arrayFor(ftvlOf(rec), num(f, maxField));
    const c = rec.pvt.constantArray as unknown[] | undefined;
    if (c) {
      f.NORD = copyInto(f.VAL, c, c.length);
      f.UDF = 0;
    }
  };
}

function arrayShape(maxField: string, countField = "NORD") {
  return (rec: IocRecord, field: string): ArrayShape | undefined =>
    field !== "VAL" ? undefined : ({
      scalar: rec.type.name === "compress" ? "float64" : scalarOfFtvl(ftvlOf(rec)),
      max: num(rec.f, maxField),
      countField,
    });
}

/**
 * An array VAL's metadata: EGU (none for strings), PREC for float elements only (dbGet
 * asks precision of DBF_FLOAT/DOUBLE fields alone), LOPR..HOPR.
 */
function arrayMeta(rec: IocRecord): ValueMeta {
  const f = rec.f;
  const display = [num(f, "LOPR"), num(f, "HOPR")] as const;
  const scalar = rec.type.name === "compress" ? "float64" : scalarOfFtvl(ftvlOf(rec));
  return {
    units: scalar === "string" ? "" : f.EGU as string,
    precision: scalar === "float64" || scalar === "float32" ? num(f, "PREC") : 0,
    display,
    control: display,
  };
}

/** Reads an input link into an array VAL (soft waveform/aai input). */
function readArrayLink(rec: IocRecord, io: RecordIo, link: string): boolean {
  if (io.isConstantLink(rec, link)) return false;
  const r = io.getLink(rec, link, "array");
  if (!r) return false;
  rec.f.NORD = copyInto(rec.f.VAL, r.value as ArrayLike<unknown>, r.count);
  return true;
}

// ------------------------------------------------------------------ calc

interface CalcState {
  prog?: CalcProgramLike;
  error?: string;
  args: Float64Array;
  /**
   * The start of base's RPCL/ORPC buffer, which dbpr shows: each compile writes its
   * program over the last (a shorter one leaves the old bytes after its end), a failed one
   * only an END_EXPRESSION at the start, as postfix() does.
   */
  postfix?: Uint8Array;
  /** Whether the field was compiled yet (until its second compile, `postfix` is not made). */
  compiled?: boolean;
}

/** How much of a postfix buffer dbpr shows (its 20-byte limit on hex fields). */
export const POSTFIX_SHOWN = 20;

/**
 * A calc record's compiled expression as base's buffer holds it, for dbpr.
 * @param rec a calc or calcout record
 * @param field CALC (RPCL) or OCAL (ORPC)
 * @returns the first {@link POSTFIX_SHOWN} bytes, undefined before it was compiled
 */
export function postfixBuffer(rec: IocRecord, field: "CALC" | "OCAL"): Uint8Array | undefined {
  const key = field === "CALC" ? "calc" : `calc:${field}`;
  const s = rec.pvt[key] as CalcState | undefined;
  if (!s?.compiled) return undefined;
  return s.postfix ?? firstPostfix(s);
}

/** The buffer as one compile leaves it: its program's bytes, or zeros when it failed. */
function firstPostfix(s: CalcState): Uint8Array {
  const b = new Uint8Array(POSTFIX_SHOWN);
  if (s.prog) b.set(s.prog.postfixBytes().subarray(0, POSTFIX_SHOWN));
  return b;
}

/** One argument array for every evaluation (evaluation is synchronous). */
const SCRATCH = new Float64Array(Math.max(CALC_ARGS, 21));
/** Compiled programs by expression: many records share an expression. */
const PROGRAMS = new Map<string, CalcProgramLike>();

function calcState(rec: IocRecord, field: string): CalcState {
  const key = field === "CALC" ? "calc" : `calc:${field}`;
  let s = rec.pvt[key] as CalcState | undefined;
  if (!s) {
    s = { args: SCRATCH };
    rec.pvt[key] = s;
  }
  return s;
}

function compileCached(expression: string): CalcProgramLike {
  let p = PROGRAMS.get(expression);
  if (!p) {
    p = compile(expression);
    if (PROGRAMS.size > 10000) PROGRAMS.clear();
    PROGRAMS.set(expression, p);
  }
  return p;
}

/** Compiles a CALC-style field; with `io`, a bad expression is reported as base's init does. */
function compileField(rec: IocRecord, field: string, io?: RecordIo): void {
  const s = calcState(rec, field);
  // The buffer is made when a second compile writes over the first (dbpr shows what the
  // first left after a shorter program); until then dbpr makes it from the program.
  if (s.compiled && !s.postfix) s.postfix = firstPostfix(s);
  s.compiled = true;
  try {
    s.prog = compileCached(rec.f[field] as string);
    s.error = undefined;
    s.postfix?.set(s.prog.postfixBytes().subarray(0, POSTFIX_SHOWN));
  } catch (e) {
    if (s.postfix) s.postfix[0] = 0;
    s.prog = undefined;
    s.error = (e as Error).message;
    io?.warn(`${rec.name}.${field}: ${s.error} in expression "${rec.f[field]}"`);
  }
}

/**
 * Evaluates a CALC-style field over A..L; a failure (or an expression that did not
 * compile) raises CALC/INVALID with `message` (base's: none for calc, "calcPerform" and
 * "OCAL calcPerform" for calcout). The expression's VAL operand reads `result`, the field
 * the value goes to, as base's calcPerform reads its result pointer: OCAL's VAL is OVAL.
 */
function runCalc(
  rec: IocRecord,
  io: RecordIo,
  field: string,
  message: string,
  result = "VAL",
): number | undefined {
  const s = calcState(rec, field);
  if (!s.prog) {
    io.setSevr(rec, AlarmStatus.CALC, INVALID, message);
    return undefined;
  }
  const f = rec.f;
  for (let i = 0; i < CALC_LETTERS.length; i++) s.args[i] = num(f, CALC_LETTERS[i]);
  try {
    const v = evaluate(s.prog, s.args, num(f, result));
    for (let i = 0; i < CALC_LETTERS.length; i++) {
      if (s.args[i] !== f[CALC_LETTERS[i]]) f[CALC_LETTERS[i]] = s.args[i];
    }
    return v;
  } catch {
    io.setSevr(rec, AlarmStatus.CALC, INVALID, message);
    return undefined;
  }
}

/**
 * fetch_values of calc/calcout: every non-constant INPx into A..L (a failed read leaves
 * its letter). Returns whether all succeeded (the expression runs only then).
 */
function fetchLetters(rec: IocRecord, io: RecordIo): boolean {
  return fetchDoubles(rec, io, CALC_INPUTS, CALC_LETTERS);
}

function calcSpecial(fields: string[]) {
  return (rec: IocRecord, _io: RecordIo, field: string) => {
    if (!fields.includes(field)) return;
    const before = calcState(rec, field).prog;
    compileField(rec, field);
    const s = calcState(rec, field);
    if (!s.prog) {
      // Base refuses an invalid expression (S_db_badField) and keeps the old one.
      s.prog = before;
      s.error = undefined;
      throw new Error(`Illegal expression in ${field}`);
    }
  };
}

// ------------------------------------------------------------------ mbb

function mbbStates(rec: IocRecord): string[] {
  const out: string[] = [];
  let last = -1;
  for (let i = 0; i < 16; i++) {
    const s = rec.f[`${MBB_PREFIX[i]}ST`] as string;
    out.push(s);
    if (s !== "") last = i;
  }
  return out.slice(0, last + 1);
}

function mbbSdef(rec: IocRecord): boolean {
  for (const p of MBB_PREFIX) {
    if (rec.f[`${p}VL`] !== 0 || rec.f[`${p}ST`] !== "") return true;
  }
  return false;
}

/**
 * MASK of the multi-bit records: NOBT ones unless given; the raw soft device supports
 * make it all ones without NOBT and shift it by SHFT.
 */
function mbbMask(rec: IocRecord): void {
  const f = rec.f;
  const nobt = num(f, "NOBT");
  if (!f.MASK && nobt <= 32) f.MASK = nobt >= 32 ? 0xffffffff : 2 ** nobt - 1;
  if (rec.dev?.dtyp === "Raw Soft Channel") {
    if (nobt === 0) f.MASK = 0xffffffff;
    const shft = num(f, "SHFT");
    if (shft > 0 && shft < 32) f.MASK = (num(f, "MASK") << shft) >>> 0;
  }
}

function mbbAlarms(rec: IocRecord, io: RecordIo, udf: "stop" | "skip"): void {
  const f = rec.f;
  const val = num(f, "VAL");
  const sevr = val > 15 ? num(f, "UNSV") : num(f, `${MBB_PREFIX[val]}SV`);
  stateAlarms(rec, io, sevr, udf);
}

/**
 * The start of mbbo and mbboDirect processing (base's): VAL from a closed-loop DOL defines
 * it; a failed read, or VAL still undefined (the UDF alarm, with `udfMessage`), leaves VAL
 * and RVAL as they are, and the processing gets no time stamp. Returns whether VAL is to
 * be converted.
 */
function mbbOutputValue(rec: IocRecord, io: RecordIo, udfMessage?: string): boolean {
  const direct = rec.type.name === "mbboDirect";
  const f = rec.f;
  if (f.OMSL && !io.isConstantLink(rec, "DOL")) {
    const r = io.getLink(rec, "DOL", "number");
    if (!r) {
      io.setSevr(rec, AlarmStatus.LINK, INVALID);
      rec.pvt.keepTime = true;
      return false;
    }
    // Read as USHORT (mbbo) or ULONG (mbboDirect, whose VAL is a LONG).
    const v = r.value as number;
    f.VAL = direct ? castDouble(v, "ULONG") | 0 : castDouble(v, "USHORT");
  } else if (checkUdf(rec, io, undefined, udfMessage)) {
    rec.pvt.keepTime = true;
    return false;
  }
  f.UDF = 0;
  return true;
}

// ------------------------------------------------------------------ long strings

function longStringInit(rec: IocRecord, _io: RecordIo, pass: 0 | 1): void {
  const f = rec.f;
  if (pass !== 0) return;
  if (num(f, "SIZV") < 1) f.SIZV = 1;
  if (typeof f.VAL !== "string") f.VAL = "";
  if (typeof f.OVAL !== "string") f.OVAL = "";
  // An empty long string has LEN 0 until something is written (as base).
  const n = new TextEncoder().encode(f.VAL as string).length;
  f.LEN = n === 0 ? 0 : n + 1;
}

function longStringSize(rec: IocRecord): number {
  return num(rec.f, "SIZV");
}

// ------------------------------------------------------------------ the types

/** menuConvert choices ai and ao use (LINR). */
const LINR_SLOPE = 1;
const LINR_LINEAR = 2;

/**
 * init_record's conversion set-up of ai/ao: EOFF starts at EGUL when ESLO/EOFF are still
 * 1/0 ("old device support that doesn't know about EOFF"), except that LINR SLOPE keeps
 * them when the device support has an init_record (`devInit`).
 */
function initConversion(rec: IocRecord, devInit: boolean): void {
  const f = rec.f;
  f.INIT = 1;
  if (num(f, "ESLO") === 1 && num(f, "EOFF") === 0 && !(devInit && f.LINR === LINR_SLOPE)) {
    f.EOFF = f.EGUL;
  }
}

/**
 * SPC_LINCONV (a put to LINR, EGUF or EGUL of ai/ao): smoothing restarts (INIT); with LINR
 * LINEAR a device support that knows its raw range (`linconv`, base's special_linconv)
 * sets ESLO and EOFF from EGUF/EGUL, starting from EOFF = EGUL. None of base's soft device
 * supports has one, so for them ESLO and EOFF stay as they are.
 */
function linconvSpecial(rec: IocRecord, io: RecordIo, field: string): void {
  if (rec.type.byName.get(field)?.special !== "SPC_LINCONV") return;
  rec.f.INIT = 1;
  if (rec.f.LINR === LINR_LINEAR && rec.dev?.linconv) {
    const { EOFF: eoff, ESLO: eslo } = rec.f;
    rec.f.EOFF = rec.f.EGUL;
    rec.dev.linconv(rec, io);
    // As base's special: EOFF and ESLO posted when the device's conversion changed them.
    if (rec.f.EOFF !== eoff) io.post(rec, "EOFF", VL);
    if (rec.f.ESLO !== eslo) io.post(rec, "ESLO", VL);
  }
}

/** DTYPs of base's soft ai/ao supports that have an init_record (devAoSoftRaw has none). */
const SOFT_WITH_INIT: Readonly<Record<string, ReadonlySet<string>>> = {
  ai: new Set(["Soft Channel", "Raw Soft Channel", "Async Soft Channel"]),
  ao: new Set(["Soft Channel"]),
};

function devHasInit(rec: IocRecord): boolean {
  const dev = rec.dev;
  if (!dev) return false;
  return SOFT_WITH_INIT[rec.type.name]?.has(dev.dtyp) ?? dev.init !== undefined;
}

const ai: RecordSupport = {
  posting: "deadband",
  io: "input",
  init(rec, _io, pass) {
    if (pass === 1) initConversion(rec, devHasInit(rec));
  },
  special: linconvSpecial,
  process: inputProcess((rec, io, fromRaw) => {
    const f = rec.f;
    if (fromRaw) {
      let v = num(f, "RVAL") + num(f, "ROFF");
      if (num(f, "ASLO") !== 0) v *= num(f, "ASLO");
      v += num(f, "AOFF");
      const linr = num(f, "LINR");
      if (linr === LINR_SLOPE || linr === LINR_LINEAR) v = v * num(f, "ESLO") + num(f, "EOFF");
      const smoo = num(f, "SMOO");
      if (smoo !== 0 && !f.INIT && Number.isFinite(num(f, "VAL"))) {
        v = v * (1 - smoo) + num(f, "VAL") * smoo;
      }
      f.VAL = v;
      f.UDF = Number.isNaN(v) ? 1 : 0;
    }
    f.INIT = 0;
    limitAlarms(rec, io);
  }),
  monitor: inputRawMonitor,
  meta: analogMeta("HOPR"),
};

const ao: RecordSupport = {
  posting: "deadband",
  io: "output",
  init(rec, io, pass) {
    const f = rec.f;
    if (pass === 1) {
      initDol(rec, io, "DOUBLE");
      initConversion(rec, devHasInit(rec));
      f.OVAL = f.VAL;
      f.PVAL = f.VAL;
    }
  },
  special: linconvSpecial,
  process: outputProcess({
    compute(rec, io) {
      const f = rec.f;
      const before = num(f, "VAL");
      if (fetchDol(rec, io) && f.OIF === 1) f.VAL = before + num(f, "VAL");
      clampDrive(f);
      let v = num(f, "VAL");
      const oroc = num(f, "OROC");
      if (oroc !== 0) {
        const d = v - num(f, "OVAL");
        if (Math.abs(d) > oroc) v = num(f, "OVAL") + (d > 0 ? oroc : -oroc);
      }
      // OMOD: OVAL moved (base's convert), which posts it even without a VAL post.
      f.OMOD = f.OVAL !== v ? 1 : 0;
      f.OVAL = v;
      aoRaw(f);
      f.UDF = Number.isNaN(num(f, "VAL")) ? 1 : 0;
      limitAlarms(rec, io);
    },
    ivov(rec) {
      const f = rec.f;
      f.VAL = f.IVOV;
      f.OVAL = f.IVOV;
      aoRaw(f);
    },
    done(rec) {
      const f = rec.f;
      f.PVAL = f.OVAL;
      f.INIT = 0;
    },
  }),
  monitor(rec, m) {
    const f = rec.f;
    postVal(m);
    const k = m.alarm | m.value | (f.OMOD ? VL : 0);
    if (!k) return;
    f.OMOD = 0;
    m.post("OVAL", k);
    postChanged(rec, m, "RVAL", "ORAW", k | VL);
    postChanged(rec, m, "RBV", "ORBV", k | VL);
  },
  meta: analogMeta("DRVH"),
};

/** OVAL to RVAL: EOFF/ESLO (a zero ESLO gives 0), AOFF/ASLO, ROFF, rounded to 32 bits. */
function aoRaw(f: F): void {
  let v = num(f, "OVAL");
  const linr = num(f, "LINR");
  if (linr === LINR_SLOPE || linr === LINR_LINEAR) {
    v = num(f, "ESLO") === 0 ? 0 : (v - num(f, "EOFF")) / num(f, "ESLO");
  }
  v -= num(f, "AOFF");
  if (num(f, "ASLO") !== 0) v /= num(f, "ASLO");
  v -= num(f, "ROFF");
  if (Number.isNaN(v)) v = 0;
  f.RVAL = v >= 0
    ? (v >= 0x7fffffff - 0.5 ? 0x7fffffff : Math.trunc(v + 0.5))
    : (v > 0.5 - 0x80000000 ? Math.trunc(v - 0.5) : -0x80000000);
}

/**
 * The states of bi and bo (base's get_enum_strs): ZNAM and ONAM, only ZNAM when ONAM is
 * empty, two empty ones when both are.
 */
function binMeta(rec: IocRecord): ValueMeta {
  const znam = rec.f.ZNAM as string, onam = rec.f.ONAM as string;
  return { choices: onam === "" && znam !== "" ? [znam] : [znam, onam] };
}

/** bi/bo VAL as text: ZNAM, ONAM, or base's "Illegal_Value" for any other value. */
function binText(rec: IocRecord): string {
  const v = rec.f.VAL;
  return v === 0 ? rec.f.ZNAM as string : v === 1 ? rec.f.ONAM as string : "Illegal_Value";
}

/** mbbi/mbbo VAL as text: the state string (empty ones too) or base's "Illegal Value". */
function mbbText(rec: IocRecord): string {
  const v = num(rec.f, "VAL");
  return v <= 15 ? rec.f[`${MBB_PREFIX[v]}ST`] as string : "Illegal Value";
}

/** init_record of bi/bo/mbbi: the last-posted and last-alarm values start at VAL. */
const KEEP_STATE = keep(["MLST", "VAL"], ["LALM", "VAL"], ["ORAW", "RVAL"]);

const bi: RecordSupport = {
  posting: "change",
  io: "input",
  init(rec, _io, pass) {
    if (pass === 1) KEEP_STATE(rec);
  },
  process: inputProcess((rec, io, fromRaw) => {
    const f = rec.f;
    if (fromRaw) {
      f.VAL = num(f, "RVAL") === 0 ? 0 : 1;
      f.UDF = 0;
    }
    // A value read as it is (5 stays 5: "Illegal_Value"), as base's bi.
    stateAlarms(rec, io, f.VAL === 0 ? num(f, "ZSV") : num(f, "OSV"), "stop");
  }),
  monitor: inputRawMonitor,
  meta: binMeta,
  enumText: binText,
};

/** VAL to RVAL: MASK for any non-zero VAL, or VAL itself without a MASK (base's bo). */
function boRaw(f: F): void {
  const mask = num(f, "MASK");
  f.RVAL = mask ? (f.VAL ? mask : 0) : num(f, "VAL");
}

const bo: RecordSupport = {
  posting: "change",
  io: "output",
  init(rec, io, pass) {
    if (pass !== 1) return;
    initDol(rec, io, "USHORT", (v) => (v ? 1 : 0));
    boRaw(rec.f);
    KEEP_STATE(rec);
  },
  process: outputProcess({
    compute(rec, io) {
      const f = rec.f;
      // Only a value read from DOL (or put) defines VAL; it is kept as read (base's bo).
      fetchDol(rec, io, "number", "USHORT");
      boRaw(f);
      stateAlarms(rec, io, f.VAL === 0 ? num(f, "ZSV") : num(f, "OSV"), "raise");
    },
    ivov(rec) {
      rec.f.VAL = rec.f.IVOV;
      boRaw(rec.f);
    },
    done(rec, io) {
      const f = rec.f;
      const high = num(f, "HIGH");
      if (f.VAL === 1 && high > 0) {
        io.after(high, () => {
          if (f.VAL !== 1) return;
          f.VAL = 0;
          io.process(rec);
        });
      }
    },
  }),
  monitor: outputRawMonitor,
  meta: binMeta,
  enumText: binText,
};

/**
 * mbbi/mbbo special: a put to a state value or string redefines SDEF; a state string's
 * put posts VAL's property change (its choices), with a value change when that state is
 * the current one, as base's records do.
 */
function mbbSpecial(rec: IocRecord, io: RecordIo, field: string): void {
  if (/^(..)(VL|ST)$/.test(field)) rec.f.SDEF = mbbSdef(rec) ? 1 : 0;
  const state = field.endsWith("ST") ? MBB_PREFIX.indexOf(field.slice(0, 2)) : -1;
  if (state < 0) return;
  const current = num(rec.f, "VAL") === state;
  io.post(rec, "VAL", PvChange.PROPERTY | (current ? VL : 0));
}

const mbbi: RecordSupport = {
  posting: "change",
  io: "input",
  init(rec, _io, pass) {
    if (pass === 0) mbbMask(rec);
    if (pass === 1) {
      rec.f.SDEF = mbbSdef(rec) ? 1 : 0;
      KEEP_STATE(rec);
    }
  },
  special: mbbSpecial,
  process: inputProcess((rec, io, fromRaw) => {
    const f = rec.f;
    if (fromRaw) {
      const r = Math.floor(num(f, "RVAL") / 2 ** num(f, "SHFT"));
      if (mbbSdef(rec)) {
        let state = 65535;
        for (let i = 0; i < 16; i++) {
          if (num(f, `${MBB_PREFIX[i]}VL`) === r) {
            state = i;
            break;
          }
        }
        f.VAL = state;
      } else f.VAL = r & 0xffff;
      f.UDF = 0;
    }
    mbbAlarms(rec, io, "stop");
  }),
  monitor: inputRawMonitor,
  meta: (rec) => ({ choices: mbbStates(rec) }),
  enumText: mbbText,
};

function mbboRaw(rec: IocRecord): void {
  const f = rec.f;
  const v = num(f, "VAL");
  const raw = mbbSdef(rec) ? (v <= 15 ? num(f, `${MBB_PREFIX[v]}VL`) : 0) : v;
  f.RVAL = (raw * 2 ** num(f, "SHFT")) >>> 0;
}

const mbbo: RecordSupport = {
  posting: "change",
  io: "output",
  init(rec, io, pass) {
    if (pass === 0) mbbMask(rec);
    if (pass === 1) {
      initDol(rec, io, "USHORT");
      rec.f.SDEF = mbbSdef(rec) ? 1 : 0;
      mbboRaw(rec);
      KEEP_RAW(rec);
    }
  },
  special: mbbSpecial,
  process: outputProcess({
    compute(rec, io) {
      if (mbbOutputValue(rec, io)) mbboRaw(rec);
      mbbAlarms(rec, io, "skip");
    },
    ivov(rec) {
      rec.f.VAL = rec.f.IVOV;
      mbboRaw(rec);
    },
  }),
  monitor: outputRawMonitor,
  meta: (rec) => ({ choices: mbbStates(rec) }),
  enumText: mbbText,
  // base's mbbo (not mbbi): with no states defined (SDEF, from the ZRVL..FFVL and ZRST..FFST
  // fields), VAL is a USHORT to the channels made then (DBF_LONG over CA, uint16 over PVA).
  valueDbf: (rec) => (rec.f.SDEF ? undefined : "USHORT"),
};

const BIT_FIELDS = Array.from({ length: 32 }, (_, i) => `B${i.toString(16).toUpperCase()}`);

function setBits(rec: IocRecord): void {
  const f = rec.f;
  const v = num(f, "VAL") >>> 0;
  for (let i = 0; i < 32; i++) {
    const name = `B${i.toString(16).toUpperCase()}`;
    const bit = (v >>> i) & 1;
    if (f[name] !== bit) f[name] = bit;
  }
}

const mbbiDirect: RecordSupport = {
  posting: "change",
  io: "input",
  init(rec, _io, pass) {
    if (pass === 0) mbbMask(rec);
    // base's init_record sets B0..B1F from VAL once the device support's init_record has
    // succeeded (every soft one has one), so that a VAL from the database shows in its bits.
    else setBits(rec);
  },
  process: inputProcess((rec, io, fromRaw) => {
    const f = rec.f;
    if (fromRaw) {
      f.VAL = Math.floor(num(f, "RVAL") / 2 ** num(f, "SHFT")) | 0;
      f.UDF = 0;
    }
    // base's mbbiDirect: INVALID whatever UDFS says.
    checkUdf(rec, io, INVALID);
  }),
  monitor(rec, m) {
    // base's: B0..B1F follow VAL here, each posted when it changed (or on an alarm change).
    const f = rec.f;
    const v = num(f, "VAL") >>> 0;
    for (let i = 0; i < 32; i++) {
      const name = BIT_FIELDS[i];
      const bit = (v >>> i) & 1;
      if (f[name] !== bit) {
        f[name] = bit;
        m.post(name, m.alarm | VL);
      } else m.post(name, m.alarm);
    }
    postVal(m);
    postChanged(rec, m, "RVAL", "ORAW", m.alarm | VL);
  },
};

const mbboDirect: RecordSupport = {
  posting: "change",
  io: "output",
  init(rec, io, pass) {
    const f = rec.f;
    if (pass === 0) mbbMask(rec);
    if (pass !== 1) return;
    initDol(rec, io, "ULONG");
    if (!f.UDF) setBits(rec);
    else {
      // Bits given in the database define VAL (base's init_record).
      let v = 0;
      for (let i = 0; i < 32; i++) if (f[`B${i.toString(16).toUpperCase()}`]) v |= 2 ** i;
      if (v) {
        f.VAL = v | 0;
        f.UDF = 0;
      }
    }
    f.MLST = f.VAL;
  },
  special(rec, _io, field) {
    const f = rec.f;
    if (/^B[0-9A-F]{1,2}$/.test(field)) {
      const bit = parseInt(field.slice(1), 16);
      const v = num(f, "VAL") >>> 0;
      const m = 2 ** bit;
      f.VAL = (f[field] ? (v | m) : (v & ~m)) | 0;
      // A bit put defines VAL.
      f.UDF = 0;
    } else if (field === "VAL") setBits(rec);
  },
  process: outputProcess({
    compute(rec, io) {
      const f = rec.f;
      if (!mbbOutputValue(rec, io, "UDFS")) return;
      setBits(rec);
      f.RVAL = ((num(f, "VAL") >>> 0) * 2 ** num(f, "SHFT")) >>> 0;
    },
  }),
  monitor(rec, m) {
    const f = rec.f;
    postVal(m);
    // A bit is posted when it changed since OBIT, or with any alarm change.
    const changed = ((f.OBIT as number) ^ (f.VAL as number)) >>> 0;
    const k = m.alarm | m.value | VL;
    for (let i = 0; i < 32; i++) {
      if (m.alarm || (changed >>> i) & 1) m.post(BIT_FIELDS[i], k);
    }
    f.OBIT = f.VAL;
    postChanged(rec, m, "RVAL", "ORAW", k);
    postChanged(rec, m, "RBV", "ORBV", k);
  },
};

function intMeta(control: "HOPR" | "DRVH") {
  return analogMeta(control);
}

const longin: RecordSupport = {
  posting: "deadband",
  io: "input",
  process: inputProcess((rec, io) => {
    rec.f.VAL = Math.trunc(num(rec.f, "VAL"));
    limitAlarms(rec, io);
  }),
  meta: intMeta("HOPR"),
};

const OOPT_TEST: ((v: number, p: number) => boolean)[] = [
  () => true,
  (v, p) => v !== p,
  (v) => v === 0,
  (v) => v !== 0,
  (v, p) => v === 0 && p !== 0,
  (v, p) => v !== 0 && p === 0,
];

/** DOL, the integer VAL within DRVL..DRVH, alarms: longout and int64out. */
function integerOutput(rec: IocRecord, io: RecordIo): void {
  const f = rec.f;
  const closedLoop = f.OMSL && !io.isConstantLink(rec, "DOL");
  const as = rec.type.name === "int64out" ? "INT64" : "LONG";
  // A failed DOL read leaves VAL as it is; only a value read (or put) defines it.
  if (!closedLoop || fetchDol(rec, io, "number", as)) {
    f.VAL = Math.trunc(num(f, "VAL"));
    clampDrive(f);
  }
  limitAlarms(rec, io);
}

const longout: RecordSupport = {
  posting: "deadband",
  io: "output",
  init(rec, io, pass) {
    if (pass !== 1) return;
    initDol(rec, io, "LONG");
    rec.f.PVAL = rec.f.VAL;
  },
  process: outputProcess({
    compute: integerOutput,
    // conditional_write: OOPT decides whether the device writes; the first processing
    // always writes. A simulated write ignores OOPT (as base's).
    device(rec, io) {
      const f = rec.f;
      const write = !rec.pvt.wrote || OOPT_TEST[num(f, "OOPT")](num(f, "VAL"), num(f, "PVAL"));
      const p = write ? runDevice(rec, io) : undefined;
      if (p) return p;
      rec.pvt.wrote = true;
      f.PVAL = f.VAL;
      return undefined;
    },
  }),
  meta: intMeta("DRVH"),
};

/** int64in/int64out report their alarm limits whatever the severities (as base's). */
function rawLimitsMeta(control: "HOPR" | "DRVH") {
  const m = analogMeta(control);
  return (rec: IocRecord): ValueMeta => {
    const f = rec.f;
    const v = m(rec);
    return {
      ...v,
      alarm: {
        limits: [num(f, "LOLO"), num(f, "LOW"), num(f, "HIGH"), num(f, "HIHI")],
        severities: [num(f, "LLSV"), num(f, "LSV"), num(f, "HSV"), num(f, "HHSV")],
        hysteresis: num(f, "HYST"),
      },
    };
  };
}

const int64in: RecordSupport = { ...longin, meta: rawLimitsMeta("HOPR") };
const int64out: RecordSupport = {
  posting: "deadband",
  io: "output",
  meta: rawLimitsMeta("DRVH"),
  init(rec, io, pass) {
    if (pass === 1) initDol(rec, io, "INT64");
  },
  process: outputProcess({ compute: integerOutput }),
};

const KEEP_STRING = keep(["OVAL", "VAL"]);

const stringin: RecordSupport = {
  posting: "mpst",
  io: "input",
  init(rec, _io, pass) {
    if (pass === 1) KEEP_STRING(rec);
  },
  // base's stringin raises no UDF alarm.
  process: inputProcess((rec) => {
    const f = rec.f;
    f.VAL = String(f.VAL).slice(0, 39);
    KEEP_STRING(rec);
  }),
};

const stringout: RecordSupport = {
  posting: "mpst",
  io: "output",
  init(rec, io, pass) {
    if (pass !== 1) return;
    initDol(rec, io, "STRING");
    KEEP_STRING(rec);
  },
  process: outputProcess({
    compute(rec, io) {
      const f = rec.f;
      fetchDol(rec, io, "string");
      f.VAL = String(f.VAL).slice(0, 39);
      checkUdf(rec, io);
    },
    done: KEEP_STRING,
  }),
};

const KEEP_LONG_STRING = keep(["OVAL", "VAL"], ["OLEN", "LEN"]);

/**
 * dbGetLinkLS: reads a link into a long-string VAL. A link with no type to read (a
 * constant, none, or a CA link not connected) reads nothing and succeeds. Returns whether
 * it succeeded.
 */
function readLongString(rec: IocRecord, io: RecordIo, link: string): boolean {
  if (io.isConstantLink(rec, link) || io.linkState(rec, link) === 0) return true;
  const r = io.getLink(rec, link, "string");
  if (!r) return false;
  rec.f.VAL = r.value;
  // Written, even with "": LEN counts the NUL from now on (dbGetLinkLS sets it).
  if (rec.f.LEN === 0) rec.f.LEN = 1;
  return true;
}

/**
 * LEN after processing: the UTF-8 length of VAL (cut to SIZV) and its NUL, except for a
 * long string nothing has written yet, which keeps LEN 0 (base's lsi and lso set LEN only
 * in a put or a link read that happened; a constant or unconnected link reads nothing).
 */
function longStringLength(rec: IocRecord): void {
  const f = rec.f;
  if (f.LEN === 0 && f.VAL === "") return;
  const chars = textToChars(String(f.VAL), num(f, "SIZV"));
  f.VAL = charsToText(chars);
  f.LEN = chars.length;
}

/**
 * lsi's and lso's init with a constant INP/DOL (dbLoadLinkLS): a `{const: "text"}` link
 * gives its text; a number gives an empty string (base's JSON conversion refuses it but
 * leaves LEN 1). A string loaded this way defines VAL and is the last one (OVAL, OLEN).
 */
function initLongStringConstant(rec: IocRecord, link: string): void {
  const l = rec.links[link];
  const f = rec.f;
  if (l?.kind !== "constant") return;
  if (l.json && typeof l.value === "string") {
    f.VAL = charsToText(textToChars(l.value, num(f, "SIZV")));
  } else if (typeof l.value === "number") f.VAL = "";
  else return;
  f.LEN = new TextEncoder().encode(f.VAL as string).length + 1;
  f.UDF = 0;
  KEEP_LONG_STRING(rec);
}

const lsi: RecordSupport = {
  posting: "mpst",
  io: "input",
  init(rec, io, pass) {
    longStringInit(rec, io, pass);
    if (pass === 1) initLongStringConstant(rec, "INP");
  },
  longString: longStringSize,
  process: inputProcess((rec) => {
    longStringLength(rec);
    rec.f.OVAL = rec.f.VAL;
  }),
  monitor: longStringMonitor,
};

const lso: RecordSupport = {
  posting: "mpst",
  io: "output",
  init(rec, io, pass) {
    longStringInit(rec, io, pass);
    if (pass === 1) initLongStringConstant(rec, "DOL");
  },
  longString: longStringSize,
  process: outputProcess({
    compute(rec, io) {
      const f = rec.f;
      if (f.OMSL && readLongString(rec, io, "DOL")) f.UDF = 0;
      longStringLength(rec);
      checkUdf(rec, io, INVALID);
    },
    done: (rec) => (rec.f.OVAL = rec.f.VAL),
  }),
  monitor: longStringMonitor,
};

/** lsi, lso: LEN when it changed from OLEN, then VAL. */
function longStringMonitor(rec: IocRecord, m: MonitorPosts): void {
  postChanged(rec, m, "LEN", "OLEN", VL);
  postVal(m);
}

const readWaveform = inputProcess((rec) => {
  if (rec.pvt.readCount !== undefined) rec.pvt.readCount = undefined;
  // Any processing defines a waveform or aai, even a failed read (base's); there is no
  // UDF alarm.
  rec.f.UDF = 0;
});

const waveform: RecordSupport = {
  posting: "mpst",
  io: "input",
  init: arrayInit("NELM"),
  arrayShape: arrayShape("NELM"),
  meta: arrayMeta,
  process: (rec, io) => {
    if (!rec.f.PACT) rec.pvt.nord = rec.f.NORD;
    return readWaveform(rec, io);
  },
  // base's waveform posts a NORD the read changed once more, stamped (its device support
  // posted it as it read); aai does not.
  monitor(rec, m) {
    if (rec.f.NORD !== rec.pvt.nord) m.post("NORD", VL);
    postVal(m);
  },
};

const aai: RecordSupport = {
  ...waveform,
  init(rec, io, pass) {
    arrayInit("NELM")(rec, io, pass);
    // base's aai starts with one element when NELM is 1; devAaiSoft changes that only by
    // loading a constant (a waveform's soft support sets NORD 0 for anything else).
    if (pass === 0 && !rec.pvt.constantArray && num(rec.f, "NELM") === 1) rec.f.NORD = 1;
  },
  process: readWaveform,
  monitor: undefined,
};

const aao: RecordSupport = {
  posting: "mpst",
  io: "output",
  init(rec, io, pass) {
    arrayInit("NELM")(rec, io, pass);
    // base's aao starts with one element when NELM is 1, but devAaoSoft's init_record runs
    // in pass 0, before links are set up, when every link is constant: it empties it.
    const l = rec.links.DOL;
    // Only closed_loop loads a constant DOL (base's fetchValue).
    if (pass === 1 && rec.f.OMSL && l?.kind === "constant") {
      const c = Array.isArray(l.value) ? l.value : [l.value];
      rec.f.NORD = copyInto(rec.f.VAL, c, c.length);
      rec.f.UDF = 0;
    }
  },
  arrayShape: arrayShape("NELM"),
  meta: arrayMeta,
  process(rec, io) {
    const f = rec.f;
    if (!f.PACT) {
      // Any processing defines an aao (base's); a failed DOL read ends it with no result
      // (no write, alarm reset, monitor or FLNK). There is no UDF alarm.
      f.UDF = 0;
      const closedLoop = f.OMSL && !io.isConstantLink(rec, "DOL");
      if (closedLoop && !readArrayLink(rec, io, "DOL")) return NO_RESULT;
    }
    return writeValue(rec, io);
  },
};

const subArray: RecordSupport = {
  posting: "always",
  io: "input",
  init(rec, io, pass) {
    const f = rec.f;
    if (pass !== 0) return;
    if (num(f, "MALM") < 1) f.MALM = 1;
    if (num(f, "NELM") > num(f, "MALM")) f.NELM = f.MALM;
    arrayInit("MALM")(rec, io, pass);
    rec.pvt.buffer = arrayFor(ftvlOf(rec), num(f, "MALM"));
  },
  arrayShape: (rec, field) =>
    field !== "VAL" ? undefined : {
      scalar: scalarOfFtvl(ftvlOf(rec)),
      max: num(rec.f, "MALM"),
      countField: "NORD",
    },
  meta: arrayMeta,
  process(rec, io) {
    const f = rec.f;
    let ok = true;
    if (!f.PACT && !io.isConstantLink(rec, "INP")) {
      const r = io.getLink(rec, "INP", "array");
      ok = r !== undefined;
      if (r) {
        const src = r.value as ArrayLike<unknown>;
        const indx = num(f, "INDX");
        const nelm = Math.min(num(f, "NELM"), num(f, "MALM"));
        const avail = Math.max(0, Math.min(r.count, src.length) - indx);
        const n = Math.min(nelm, avail);
        const part = Array.prototype.slice.call(src, indx, indx + n);
        const nord = f.NORD;
        f.NORD = copyInto(f.VAL, part, n);
        // devSASoft posts a changed NORD as it reads.
        if (f.NORD !== nord) io.post(rec, "NORD", VL);
      }
    }
    // base's subArray: undefined after a failed read or with no elements.
    f.UDF = ok && num(f, "NORD") > 0 ? 0 : 1;
    checkUdf(rec, io);
  },
};

/**
 * Reads every non-constant link of `links` into the field of `into` beside it (a failed
 * read leaves that field as it was). Returns whether every read succeeded.
 */
function fetchDoubles(rec: IocRecord, io: RecordIo, links: string[], into: string[]): boolean {
  let ok = true;
  for (let i = 0; i < links.length; i++) {
    if (io.isConstantLink(rec, links[i])) continue;
    const r = io.getLink(rec, links[i], "number");
    if (r) rec.f[into[i]] = r.value as number;
    else ok = false;
  }
  return ok;
}

const calc: RecordSupport = {
  posting: "deadband",
  init(rec, io, pass) {
    if (pass === 0) compileField(rec, "CALC", io);
  },
  special: calcSpecial(["CALC"]),
  process(rec, io) {
    const f = rec.f;
    const v = fetchLetters(rec, io) ? runCalc(rec, io, "CALC", "") : undefined;
    if (v !== undefined) {
      f.VAL = v;
      f.UDF = Number.isNaN(v) ? 1 : 0;
    }
    limitAlarms(rec, io);
  },
  monitor(rec, m) {
    postVal(m);
    postLetters(rec, m, m.alarm | m.value | VL, true);
  },
  meta: analogMeta("HOPR"),
};

const calcout: RecordSupport = {
  posting: "deadband",
  init(rec, io, pass) {
    if (pass === 0) {
      compileField(rec, "CALC", io);
      // An OCAL that does not compile matters only when DOPT uses it.
      compileField(rec, "OCAL", rec.f.DOPT === 1 ? io : undefined);
    } else {
      for (const c of CALC_LETTERS) rec.f[`IN${c}V`] = io.linkState(rec, `INP${c}`);
      rec.f.OUTV = io.linkState(rec, "OUT");
      rec.f.PVAL = rec.f.VAL;
      rec.f.POVL = rec.f.OVAL;
    }
  },
  special: calcSpecial(["CALC", "OCAL"]),
  process(rec, io) {
    const f = rec.f;
    if (!f.PACT) {
      const v = fetchLetters(rec, io) ? runCalc(rec, io, "CALC", "calcPerform") : undefined;
      if (v !== undefined) {
        f.VAL = v;
        f.UDF = Number.isNaN(v) ? 1 : 0;
      }
      limitAlarms(rec, io);
      // Stamped before the output, for records downstream that take this TIME (TSEL), and
      // not again when the processing ends.
      io.timeStamp(rec);
      rec.pvt.keepTime = true;
      const oopt = num(f, "OOPT");
      const val = num(f, "VAL"), pval = num(f, "PVAL");
      const go = oopt === 1
        ? !(Math.abs(pval - val) <= num(f, "MDEL"))
        : OOPT_TEST[oopt](val, pval);
      f.PVAL = f.VAL;
      if (go) {
        const odly = num(f, "ODLY");
        if (odly > 0) {
          // As base: DLYA posted now, the output (OVAL included) after ODLY seconds, with
          // the record active meanwhile; VAL and the alarms are posted only then.
          f.DLYA = 1;
          io.post(rec, "DLYA", PvChange.VALUE);
          return new Promise<void>((resolve) => io.after(odly, resolve));
        }
        calcoutOutput(rec, io);
      }
    } else {
      io.timeStamp(rec);
      rec.pvt.keepTime = true;
      if (f.DLYA) {
        f.DLYA = 0;
        io.post(rec, "DLYA", PvChange.VALUE);
        calcoutOutput(rec, io);
      }
    }
  },
  monitor(rec, m) {
    const k = m.alarm | m.value | VL;
    postVal(m);
    postLetters(rec, m, k, true);
    postChanged(rec, m, "OVAL", "POVL", k);
  },
  meta: analogMeta("HOPR"),
};

/** calcout's execOutput: OVAL from VAL or OCAL, then OUT and OEVT as IVOA allows. */
function calcoutOutput(rec: IocRecord, io: RecordIo): void {
  const f = rec.f;
  if (num(f, "DOPT") === 1) {
    const o = runCalc(rec, io, "OCAL", "OCAL calcPerform", "OVAL");
    if (o !== undefined) {
      f.OVAL = o;
      f.UDF = Number.isNaN(o) ? 1 : 0;
    }
  } else f.OVAL = f.VAL;
  checkUdf(rec, io);
  const invalid = (f.NSEV as number) >= INVALID;
  if (invalid && f.IVOA === 1) return;
  if (invalid && f.IVOA === 2) f.OVAL = f.IVOV;
  io.putLink(rec, "OUT", f.OVAL);
  const oevt = String(f.OEVT).trim();
  if (oevt !== "") io.postEvent(oevt);
}

const sel: RecordSupport = {
  posting: "deadband",
  init(rec, io, pass) {
    // Inputs without a constant start as NaN (they are ignored by High/Low/Median).
    if (pass !== 1) return;
    for (const c of CALC_LETTERS) {
      if (io.isConstantLink(rec, `INP${c}`) && rec.links[`INP${c}`]?.kind === "constant") continue;
      rec.f[c] = NaN;
    }
  },
  process(rec, io) {
    const f = rec.f;
    const selm = num(f, "SELM");
    if (selm === 0) {
      // base's sel reads NVL, then only the input it selects, in Specified mode alone.
      let read = true;
      if (!io.isConstantLink(rec, "NVL")) {
        const r = io.getLink(rec, "NVL", "number");
        if (r) f.SELN = castDouble(r.value as number, "USHORT");
        else read = false;
      }
      const i = num(f, "SELN");
      if (read && i < CALC_LETTERS.length) {
        fetchDoubles(rec, io, [CALC_INPUTS[i]], [CALC_LETTERS[i]]);
      }
    } else fetchDoubles(rec, io, CALC_INPUTS, CALC_LETTERS);
    const vals = CALC_LETTERS.map((c) => num(f, c));
    let v: number;
    if (selm === 0) {
      const i = num(f, "SELN");
      if (i >= CALC_LETTERS.length) {
        io.setSevr(rec, AlarmStatus.SOFT, INVALID);
        limitAlarms(rec, io);
        return;
      }
      v = vals[i];
    } else {
      const ok = vals.filter((x) => !Number.isNaN(x));
      if (ok.length === 0) {
        io.setSevr(rec, AlarmStatus.CALC, INVALID);
        return;
      }
      if (selm === 1) v = Math.max(...ok);
      else if (selm === 2) v = Math.min(...ok);
      else {
        ok.sort((a, b) => a - b);
        v = ok[Math.floor(ok.length / 2)];
      }
    }
    f.VAL = v;
    f.UDF = Number.isNaN(v) ? 1 : 0;
    limitAlarms(rec, io);
  },
  monitor(rec, m) {
    postVal(m);
    const k = m.alarm | m.value | VL;
    postChanged(rec, m, "SELN", "NLST", k);
    postLetters(rec, m, k, false);
  },
  meta: analogMeta("HOPR"),
};

/** The links a selection picks: SELM All (0), Specified (1), Mask (2), with OFFS/SHFT. */
function selected(rec: IocRecord, io: RecordIo): number[] | undefined {
  const f = rec.f;
  // base's seq reads SELL only when SELM is not All; fanout and dfanout always.
  const readSell = rec.type.name !== "seq" || num(f, "SELM") !== 0;
  if (readSell && !io.isConstantLink(rec, "SELL")) {
    const r = io.getLink(rec, "SELL", "number");
    if (r) f.SELN = castDouble(r.value as number, "USHORT");
  }
  const selm = num(f, "SELM");
  if (selm === 0) return HEX.map((_, i) => i);
  if (selm === 1) {
    const i = num(f, "SELN") + num(f, "OFFS");
    if (i < 0 || i > 15) {
      io.setSevr(rec, AlarmStatus.SOFT, INVALID);
      return undefined;
    }
    return [i];
  }
  const shft = num(f, "SHFT");
  // Shifts beyond 15 bits either way are refused (SOFT/INVALID), as base's seq and fanout.
  if (shft < -15 || shft > 15) {
    io.setSevr(rec, AlarmStatus.SOFT, INVALID);
    return undefined;
  }
  let mask = num(f, "SELN");
  mask = shft >= 0 ? mask >>> shft : mask << -shft;
  return HEX.map((_, i) => i).filter((i) => (mask >>> i) & 1);
}

const fanout: RecordSupport = {
  posting: "change",
  process(rec, io) {
    rec.pvt.oldn = rec.f.SELN;
    const list = selected(rec, io);
    if (list) { for (const i of list) io.forwardLink(rec, `LNK${HEX[i]}`); }
    rec.f.UDF = 0;
  },
  // base's fanout and seq post VAL only when the alarm changed; SELN when it moved.
  monitor(rec, m) {
    if (m.alarm) m.post("VAL", m.alarm);
    if (rec.f.SELN !== rec.pvt.oldn) m.post("SELN", m.alarm | VL);
  },
};

const seq: RecordSupport = {
  posting: "change",
  init(rec, _io, pass) {
    if (pass === 1) rec.f.OLDN = rec.f.SELN;
  },
  process(rec, io) {
    const f = rec.f;
    if (f.PACT) {
      rec.f.UDF = 0;
      return;
    }
    const list = selected(rec, io);
    if (!list) {
      f.UDF = 0;
      return;
    }
    const steps = list.map((i) => HEX[i]);
    const step = (k: string) => {
      const before = f[`DO${k}`];
      if (!io.isConstantLink(rec, `DOL${k}`)) {
        const r = io.getLink(rec, `DOL${k}`, "number");
        if (r) f[`DO${k}`] = r.value as number;
      }
      io.putLink(rec, `LNK${k}`, f[`DO${k}`]);
      // DOn read from its DOLn is posted once written, when it changed.
      if (f[`DO${k}`] !== before) io.post(rec, `DO${k}`, VL);
    };
    if (steps.every((k) => num(f, `DLY${k}`) <= 0)) {
      for (const k of steps) step(k);
      f.UDF = 0;
      return;
    }
    return (async () => {
      for (const k of steps) {
        const d = num(f, `DLY${k}`);
        if (d > 0) await new Promise<void>((r) => io.after(d, r));
        step(k);
      }
    })();
  },
  monitor(rec, m) {
    if (m.alarm) m.post("VAL", m.alarm);
    postChanged(rec, m, "SELN", "OLDN", m.alarm | VL);
  },
};

const dfanout: RecordSupport = {
  posting: "deadband",
  init(rec, io, pass) {
    if (pass === 1) initDol(rec, io, "DOUBLE");
  },
  process(rec, io) {
    const f = rec.f;
    fetchDol(rec, io);
    limitAlarms(rec, io);
    const list = selected(rec, io);
    if (list) {
      for (const i of list) if (i < 8) io.putLink(rec, `OUT${LETTERS[i]}`, f.VAL);
    }
  },
  meta: analogMeta("HOPR"),
};

/** compressALG choices. */
const ALG_LOW = 0;
const ALG_HIGH = 1;
const ALG_AVERAGE = 3;
const ALG_CIRCULAR = 4;
const ALG_MEDIAN = 5;

/**
 * The compress record's state besides its fields: the ring buffer the samples go into
 * (OFF is where the next one goes, NUSE how many are valid), the sums of "Average" and
 * whether a working buffer exists yet (its size is INPN).
 */
interface CompressState {
  ring: Float64Array;
  sums: Float64Array;
  working: boolean;
  /** NUSE as the record left it (a put to VAL changes the field before `special` runs). */
  nuse: number;
}

function compressState(rec: IocRecord): CompressState {
  return rec.pvt.compress as CompressState;
}

/**
 * VAL as every reader sees it: the NUSE valid samples in order, oldest first with BALG
 * FIFO, newest first with LIFO (base's get_array_info starts the ring there), then zeros.
 */
function compressView(rec: IocRecord): void {
  const f = rec.f;
  const st = compressState(rec);
  const ring = st.ring;
  const view = f.VAL as Float64Array;
  const nsam = ring.length, nuse = num(f, "NUSE"), off = num(f, "OFF");
  const first = f.BALG === 0 ? (off + nsam - nuse) % nsam : off;
  for (let i = 0; i < nsam; i++) view[i] = i < nuse ? ring[(first + i) % nsam] : 0;
  st.nuse = nuse;
}

/** SPC_RESET (a put to RES, ALG, PBUF, BALG or N): an empty buffer, no partial result. */
function compressReset(rec: IocRecord): void {
  const f = rec.f;
  f.NUSE = 0;
  f.OFF = 0;
  f.INX = 0;
  f.CVB = 0;
  f.RES = 0;
  compressState(rec).ring.fill(0);
}

/**
 * Adds samples to the ring: FIFO writes at OFF and moves it on, LIFO moves OFF back and
 * writes there; NUSE grows up to NSAM.
 */
function compressPut(rec: IocRecord, values: ArrayLike<number>, n: number): void {
  const f = rec.f;
  const { ring } = compressState(rec);
  const nsam = ring.length;
  const fifo = f.BALG === 0;
  let off = num(f, "OFF");
  for (let i = 0; i < n; i++) {
    if (!fifo) off = (off + nsam - 1) % nsam;
    ring[off] = values[i];
    if (fifo) off = (off + 1) % nsam;
  }
  f.OFF = off;
  f.NUSE = Math.min(num(f, "NUSE") + n, nsam);
}

/** N to 1 of one group of samples (Median: the upper middle one). */
function reduce(alg: number, xs: number[]): number {
  if (alg === ALG_LOW) return Math.min(...xs);
  if (alg === ALG_HIGH) return Math.max(...xs);
  if (alg === ALG_MEDIAN) return xs.sort((a, b) => a - b)[xs.length >> 1];
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * N to 1 of an array read: samples outside ILIL..IHIL at its start are skipped (when
 * ILIL < IHIL), then each group of N becomes one sample; a last, shorter group only with
 * PBUF. Returns whether a sample was added.
 */
function compressArray(rec: IocRecord, src: number[]): boolean {
  const f = rec.f;
  const ilil = num(f, "ILIL"), ihil = num(f, "IHIL");
  let i = 0;
  if (ilil < ihil) {
    while (i < src.length && (src[i] < ilil || src[i] > ihil)) i++;
  }
  if (num(f, "N") <= 0) f.N = 1;
  let n = num(f, "N");
  let left = Math.min(src.length - i, compressState(rec).ring.length * n);
  let added = false;
  while (left > 0) {
    if (left < n && f.PBUF !== 1) break;
    n = Math.min(n, left);
    compressPut(rec, [reduce(num(f, "ALG"), src.slice(i, i + n))], 1);
    i += n;
    left -= n;
    added = true;
  }
  return added;
}

/**
 * N to 1 of scalar reads: CVB holds the running result of the INX samples so far (Median
 * is the average here, as in base); the Nth sample, or every one with PBUF, adds CVB.
 * Returns whether a sample was added.
 */
function compressScalar(rec: IocRecord, v: number): boolean {
  const f = rec.f;
  const inx = num(f, "INX");
  const cvb = num(f, "CVB");
  const alg = num(f, "ALG");
  if (alg === ALG_LOW) {
    if (v < cvb || inx === 0) f.CVB = v;
  } else if (alg === ALG_HIGH) {
    if (v > cvb || inx === 0) f.CVB = v;
  } else f.CVB = (inx * cvb + v) / (inx + 1);
  const next = inx + 1;
  const n = num(f, "N");
  if (next >= n || f.PBUF === 1) {
    compressPut(rec, [num(f, "CVB")], 1);
    f.INX = next >= n ? 0 : next;
    return true;
  }
  f.INX = next;
  return false;
}

/**
 * "Average": element-wise sums of N array reads (of up to NSAM elements); the Nth read
 * adds their means as samples. Returns whether samples were added.
 */
function compressAverage(rec: IocRecord, src: number[]): boolean {
  const f = rec.f;
  const st = compressState(rec);
  const nuse = Math.min(st.ring.length, src.length);
  const sums = st.sums;
  const inx = num(f, "INX");
  for (let i = 0; i < nuse; i++) sums[i] = inx === 0 ? src[i] : sums[i] + src[i];
  if (num(f, "N") <= 0) f.N = 1;
  const n = num(f, "N");
  if (inx + 1 < n) {
    f.INX = inx + 1;
    return false;
  }
  if (n > 1) {
    const k = 1 / n;
    for (let i = 0; i < nuse; i++) sums[i] *= k;
  }
  compressPut(rec, sums, nuse);
  f.INX = 0;
  return true;
}

/**
 * A put to VAL: the engine stored it at the start of the view with NUSE its count; base
 * writes it over the oldest samples (BALG FIFO only: with LIFO, VAL cannot be written).
 */
function compressValPut(rec: IocRecord): void {
  const f = rec.f;
  const st = compressState(rec);
  const n = num(f, "NUSE");
  const values = (f.VAL as Float64Array).slice(0, n);
  f.NUSE = st.nuse;
  if (f.BALG !== 0) {
    compressView(rec);
    throw new Error(`Field ${rec.name}.VAL cannot be modified`);
  }
  const nsam = st.ring.length, nuse = st.nuse, off = num(f, "OFF");
  const first = (off + nsam - nuse) % nsam;
  for (let i = 0; i < n; i++) st.ring[(first + i) % nsam] = values[i];
  f.OFF = (off + n) % nsam;
  f.NUSE = Math.min(nuse + n, nsam);
}

/**
 * The compress record (base's compressRecord): samples from INP go into a ring buffer of
 * NSAM, as they are (Circular Buffer), as means of N whole arrays (Average) or N to 1. A
 * processing that adds no sample yet (fewer than N) is no result: no time stamp, alarm
 * reset, monitors or forward link, and UDF stays.
 */
const compress: RecordSupport = {
  posting: "always",
  init(rec, _io, pass) {
    const f = rec.f;
    if (pass !== 0) return;
    // A constant INP is not loaded into VAL (base's compress has no such init).
    if (num(f, "NSAM") < 1) f.NSAM = 1;
    const nsam = num(f, "NSAM");
    f.VAL = new Float64Array(nsam);
    rec.pvt.compress = {
      ring: new Float64Array(nsam),
      sums: new Float64Array(nsam),
      working: false,
      nuse: 0,
    } satisfies CompressState;
    compressReset(rec);
  },
  arrayShape: arrayShape("NSAM", "NUSE"),
  meta: arrayMeta,
  special(rec, _io, field) {
    if (field === "VAL") compressValPut(rec);
    else if (rec.type.byName.get(field)?.special === "SPC_RESET") compressReset(rec);
    else return;
    compressView(rec);
  },
  process(rec, io) {
    const f = rec.f;
    const st = compressState(rec);
    const r = io.isConstantLink(rec, "INP") ? undefined : io.getLink(rec, "INP", "array");
    // How many elements the link's field holds (dbGetNelements), and how many it has now.
    const size = r ? (r.value as ArrayLike<unknown>).length : 0;
    const count = r ? Math.min(r.count, size) : 0;
    let added = true;
    if (!r || count <= 0) io.setSevr(rec, AlarmStatus.LINK, INVALID);
    else {
      if (!st.working || size !== num(f, "INPN")) {
        if (st.working) compressReset(rec);
        st.working = true;
        f.INPN = size;
      }
      const src = Array.from(r.value as ArrayLike<number>, Number).slice(0, count);
      const alg = num(f, "ALG");
      if (alg === ALG_AVERAGE) added = compressAverage(rec, src);
      else if (alg === ALG_CIRCULAR) compressPut(rec, src, src.length);
      else if (src.length > 1) added = compressArray(rec, src);
      else added = compressScalar(rec, src[0]);
    }
    compressView(rec);
    if (!added) return NO_RESULT;
    f.UDF = 0;
  },
  monitor(rec, m) {
    const f = rec.f;
    const k = m.alarm | VL;
    if (m.alarm || f.NUSE !== f.OUSE) {
      m.post("NUSE", k);
      f.OUSE = f.NUSE;
    }
    m.post("VAL", k);
  },
};

const printf: RecordSupport = {
  posting: "mpst",
  io: "output",
  init: longStringInit,
  longString: longStringSize,
  process(rec, io) {
    const f = rec.f;
    if (!f.PACT) {
      const text = formatPrintf(String(f.FMT), (i, want, dbr) => {
        const link = `INP${i}`;
        if (io.isConstantLink(rec, link)) {
          // base loads a constant for each conversion (recGblInitConstantLink as `dbr`). A
          // ULONG load that reports success without writing prints base's uninitialised
          // variable; 0 here.
          const r = loadConstant(rec.links[link], dbr);
          return r === undefined ? undefined : r.value ?? 0;
        }
        return io.getLink(rec, link, want)?.value as number | string | undefined;
      }, String(f.IVLS));
      const bytes = new TextEncoder().encode(text);
      const max = num(f, "SIZV") - 1;
      f.VAL = bytes.length > max ? new TextDecoder().decode(bytes.slice(0, max)) : text;
      f.LEN = Math.min(bytes.length, max) + 1;
      f.UDF = 0;
    }
    return writeOutput(rec, io);
  },
  monitor(_rec, m) {
    m.post("VAL", m.alarm | VL);
    m.post("LEN", m.alarm | VL);
  },
};

const event: RecordSupport = {
  posting: "change",
  io: "input",
  process: inputProcess((rec, io) => {
    const f = rec.f;
    const name = String(f.VAL).trim();
    if (name !== "") io.postEvent(name);
  }),
  // base's event record posts VAL at every processing.
  monitor(_rec, m) {
    m.post("VAL", m.alarm | PvChange.VALUE);
  },
};

// ------------------------------------------------------------------ permissive, state

const VALUE_LOG = PvChange.VALUE | PvChange.LOG;

/**
 * The monitor() of records that keep copies of what they last posted: each field of
 * `pairs` is posted, with the alarm mask, when it differs from its copy, which then takes
 * its value. An alarm change alone posts nothing (as base's permissive and state).
 */
function postOnChange(
  ...pairs: readonly (readonly [string, string])[]
): NonNullable<RecordSupport["monitor"]> {
  return (rec, m) => {
    const f = rec.f;
    for (const [field, copy] of pairs) {
      if (f[field] === f[copy]) continue;
      f[copy] = f[field];
      m.post(field, m.alarm | VALUE_LOG);
    }
  };
}

/** The permissive record: VAL and WFLG held for operators; processing only posts changes. */
const permissive: RecordSupport = {
  posting: "own",
  process(rec) {
    rec.f.UDF = 0;
  },
  monitor: postOnChange(["VAL", "OVAL"], ["WFLG", "OFLG"]),
};

/** The state record (deprecated in base): a string VAL, posted when it differs from OVAL. */
const state: RecordSupport = {
  posting: "own",
  init(rec, io, pass) {
    if (pass !== 0) return;
    io.warn(
      `WARNING: Using deprecated record type "state" for record "${rec.name}".\n` +
        "This record type will be removed beginning with EPICS 7.1. Please replace it\n" +
        "by a stringin record.",
    );
  },
  process(rec) {
    rec.f.UDF = 0;
  },
  monitor: postOnChange(["VAL", "OVAL"]),
};

// ------------------------------------------------------------------ histogram

/** C's short arithmetic: MCNT and MDEL are DBF_SHORT. */
function toShort(n: number): number {
  return (n << 16) >> 16;
}

/**
 * add_count: one more count in the bucket SGNL falls in, while collecting (CSTA). With
 * LLIM >= ULIM base sets SOFT/INVALID straight into STAT/SEVR (the alarm reset of the
 * processing then replaces them); a SGNL outside [LLIM, ULIM) is not counted.
 */
function addCount(rec: IocRecord): void {
  const f = rec.f;
  if (!f.CSTA) return;
  const llim = num(f, "LLIM"), ulim = num(f, "ULIM");
  if (llim >= ulim && num(f, "NSEV") < INVALID) {
    f.STAT = AlarmStatus.SOFT;
    f.SEVR = INVALID;
    return;
  }
  const sgnl = num(f, "SGNL");
  if (sgnl < llim || sgnl >= ulim) return;
  const buckets = f.VAL as Uint32Array;
  const temp = sgnl - llim;
  const wdth = num(f, "WDTH");
  let i = 1;
  while (i <= buckets.length && !(temp <= i * wdth)) i++;
  // Base would write past the array for a NaN SGNL (no bucket matches): not counted here.
  if (i > buckets.length) return;
  // A full bucket starts again at 1, as base's.
  buckets[i - 1] = buckets[i - 1] === 0xffffffff ? 1 : buckets[i - 1] + 1;
  f.MCNT = toShort(num(f, "MCNT") + 1);
}

/** clear_histogram: every bucket 0; the next processing posts VAL (MCNT above MDEL). */
function clearHistogram(rec: IocRecord): void {
  const f = rec.f;
  (f.VAL as Uint32Array).fill(0);
  f.MCNT = toShort(num(f, "MDEL") + 1);
  f.UDF = 0;
}

/**
 * The SDEL watchdog: every SDEL seconds VAL is posted (with a new time stamp) when counts
 * came in since the last post. Setting SDEL starts it again; a later SDEL of 0 ends it.
 */
function histogramWatchdog(rec: IocRecord, io: RecordIo): void {
  const sdel = num(rec.f, "SDEL");
  if (!(sdel > 0)) return;
  const generation = ((rec.pvt.watchdog as number | undefined) ?? 0) + 1;
  rec.pvt.watchdog = generation;
  const tick = () => {
    if (rec.pvt.watchdog !== generation) return;
    if (num(rec.f, "MCNT") > 0) {
      io.post(rec, "VAL", VALUE_LOG, true);
      rec.f.MCNT = 0;
    }
    const next = num(rec.f, "SDEL");
    if (next > 0) io.after(next, tick);
  };
  io.after(sdel, tick);
}

/**
 * The histogram record: SGNL (read from SVL by the soft device support, or put) is counted
 * into NELM buckets of width WDTH over [LLIM, ULIM); VAL, the buckets, is served as a
 * ULONG array. CMD clears, starts and stops the collection; VAL is posted when more than
 * MDEL counts came in, and every SDEL seconds when any did.
 */
const histogram: RecordSupport = {
  posting: "own",
  io: "input",
  init(rec, io, pass) {
    const f = rec.f;
    if (pass === 0) {
      if (num(f, "NELM") < 1) f.NELM = 1;
      f.VAL = new Uint32Array(num(f, "NELM"));
      f.WDTH = (num(f, "ULIM") - num(f, "LLIM")) / num(f, "NELM");
      return;
    }
    histogramWatchdog(rec, io);
  },
  arrayShape: (rec, field) =>
    field !== "VAL"
      ? undefined
      : { scalar: "uint32", max: num(rec.f, "NELM"), countField: "NELM", fixed: true },
  special(rec, io, field) {
    const f = rec.f;
    switch (field) {
      case "CMD": {
        const cmd = num(f, "CMD");
        if (cmd <= 1) clearHistogram(rec);
        else f.CSTA = cmd === 2 ? 1 : 0;
        f.CMD = 0;
        return;
      }
      case "SGNL":
        addCount(rec);
        return;
      case "ULIM":
      case "LLIM":
        f.WDTH = (num(f, "ULIM") - num(f, "LLIM")) / num(f, "NELM");
        clearHistogram(rec);
        return;
      case "SDEL":
        histogramWatchdog(rec, io);
        return;
    }
  },
  // The soft support reports a count whatever its read did; a failed simulated read none.
  process: inputProcess((rec, _io, count) => {
    if (count) addCount(rec);
  }),
  monitor(rec, m) {
    const f = rec.f;
    let mask = m.alarm;
    if (num(f, "MCNT") > num(f, "MDEL")) {
      mask |= VALUE_LOG;
      f.MCNT = 0;
    }
    m.post("VAL", mask);
  },
  meta: (rec) => {
    const d = [num(rec.f, "LOPR"), num(rec.f, "HOPR")] as const;
    return { units: "", precision: 0, display: d, control: d };
  },
};

// ------------------------------------------------------------------ aSub

/** S_db_BadSub, the status (and then VAL) of an aSub whose subroutine is not found. */
const S_DB_BAD_SUB = (511 << 16) | 35;

/** aSub's 21 arguments: inputs A..U and outputs VALA..VALU with the fields beside each. */
const ASUB_IN = LETTERS.map((c) => ({
  link: `INP${c}`,
  field: c,
  type: `FT${c}`,
  max: `NO${c}`,
  count: `NE${c}`,
}));
const ASUB_OUT = LETTERS.map((c) => ({
  link: `OUT${c}`,
  field: `VAL${c}`,
  type: `FTV${c}`,
  max: `NOV${c}`,
  count: `NEV${c}`,
  copy: `OVL${c}`,
  copyCount: `ONV${c}`,
}));
const ASUB_BY_FIELD = new Map([...ASUB_IN, ...ASUB_OUT].map((a) => [a.field, a]));

/** The menuFtype choice of an aSub argument's FTx/FTVx field. */
function asubType(rec: IocRecord, typeField: string): string {
  return menuChoices("menuFtype")[num(rec.f, typeField)] ?? "DOUBLE";
}

/**
 * fetch_values: with LFLG READ, SNAM from SUBL (a new name is looked up); then every
 * non-constant INPx into its argument (NEx elements read, at most NOx). Returns 0 or a
 * failure status (no subroutine call, no outputs then).
 */
function asubFetch(rec: IocRecord, io: RecordIo): number {
  const f = rec.f;
  if (f.LFLG === 1) {
    if (!io.isConstantLink(rec, "SUBL")) {
      const r = io.getLink(rec, "SUBL", "string");
      if (!r) return -1;
      f.SNAM = cutUtf8(String(r.value), 40);
    }
    const snam = String(f.SNAM);
    if (snam !== "" && snam !== f.ONAM) {
      const fn = io.subroutine(snam);
      if (!fn) return S_DB_BAD_SUB;
      rec.pvt.sadr = fn;
      f.ONAM = snam;
    }
  }
  for (const a of ASUB_IN) {
    if (io.isConstantLink(rec, a.link)) continue;
    const one = num(f, a.max) === 1 && asubType(rec, a.type) === "STRING";
    const r = io.getLink(rec, a.link, one ? "string" : "array");
    if (!r) return -1;
    const src = one ? [r.value] : r.value as ArrayLike<unknown>;
    f[a.count] = copyInto(f[a.field], src, one ? 1 : r.count);
  }
  return 0;
}

/** do_sub's result rules: negative raises SOFT with BRSV, anything else defines the record. */
function asubResult(rec: IocRecord, io: RecordIo, status: number): number {
  if (status < 0) io.setSevr(rec, AlarmStatus.SOFT, num(rec.f, "BRSV"));
  else rec.f.UDF = 0;
  return status;
}

/** Whether two argument arrays hold the same first `n` elements (base's memcmp). */
function sameElements(a: FieldValue, b: FieldValue, n: number): boolean {
  const x = a as ArrayLike<unknown>, y = b as ArrayLike<unknown>;
  for (let i = 0; i < n; i++) if (x[i] !== y[i] && !(x[i] !== x[i] && y[i] !== y[i])) return false;
  return true;
}

/**
 * The aSub record: up to 21 array inputs A..U (type FTx, NOx elements, NEx read) from
 * INPA..INPU, the subroutine SNAM names (registered with the database, as sub's; with
 * LFLG READ the name comes from SUBL at each processing), then outputs VALA..VALU (FTVx,
 * NOVx, NEVx) written to OUTA..OUTU when it returned 0. VAL is the returned status; EFLG
 * says when VALx are posted. A promise makes the record asynchronous: the subroutine runs
 * once, and its settled value counts as the result (a rejection as -1).
 */
const aSub: RecordSupport = {
  posting: "own",
  init(rec, io, pass) {
    const f = rec.f;
    if (pass === 0) {
      for (const a of [...ASUB_IN, ...ASUB_OUT]) {
        if (num(f, a.max) < 1) f[a.max] = 1;
        f[a.field] = arrayFor(asubType(rec, a.type), num(f, a.max));
        f[a.count] = f[a.max];
      }
      for (const a of ASUB_OUT) f[a.copyCount] = f[a.count];
      return;
    }
    const constants = rec.pvt.constantArrays as Record<string, unknown[]> | undefined;
    for (const a of ASUB_IN) {
      const c = constants?.[a.field];
      if (!c) continue;
      const n = copyInto(f[a.field], c, c.length);
      if (n > 0) f[a.count] = n;
    }
    // As base, a missing subroutine is reported and ends init_record there (iocInit goes on).
    const inam = String(f.INAM);
    if (inam !== "") {
      const init = io.subroutine(inam);
      if (!init) return recordError(io, rec, "aSubRecord::init_record - INAM subr not found");
      callInit(rec, io, inam, init);
    }
    const snam = String(f.SNAM);
    if (f.LFLG === 0 && snam !== "") {
      const fn = io.subroutine(snam);
      if (!fn) return recordError(io, rec, "aSubRecord::init_record - SNAM subr not found");
      rec.pvt.sadr = fn;
    }
    f.ONAM = snam;
    f.OVAL = f.VAL;
    for (const a of ASUB_OUT) {
      f[a.copyCount] = f[a.count];
      f[a.copy] = (f[a.field] as Exclude<FieldValue, number | string>).slice() as FieldValue;
    }
  },
  special(rec, io, field) {
    if (field !== "SNAM" || rec.f.LFLG !== 0) return;
    const snam = String(rec.f.SNAM);
    const fn = snam === "" ? undefined : io.subroutine(snam);
    rec.pvt.sadr = fn;
    if (snam !== "" && !fn) {
      recordError(io, rec, snam);
      throw new Error(`Subroutine "${snam}" is not registered`);
    }
  },
  arrayShape(rec, field) {
    const a = ASUB_BY_FIELD.get(field);
    if (!a) return undefined;
    return {
      scalar: scalarOfFtvl(asubType(rec, a.type)),
      max: num(rec.f, a.max),
      countField: a.count,
    };
  },
  process(rec, io) {
    const f = rec.f;
    let status: number;
    if (f.PACT) {
      // The subroutine's promise has settled.
      const failure = rec.pvt.subFailure;
      if (failure !== undefined) {
        subFailed(rec, io, String(f.SNAM), failure);
        status = -1;
      } else status = asubResult(rec, io, rec.pvt.subStatus as number);
      f.VAL = castDouble(status, "LONG");
    } else {
      status = asubFetch(rec, io);
      if (status === 0) {
        const fn = rec.pvt.sadr as Subroutine | undefined;
        if (String(f.SNAM) === "") status = 0;
        else if (!fn) {
          io.setSevr(rec, AlarmStatus.BAD_SUB, INVALID);
          status = S_DB_BAD_SUB;
        } else {
          let r;
          try {
            r = fn(rec, io);
          } catch (e) {
            // A throw: a failure status (no outputs), CALC/INVALID as a sub's.
            subFailed(rec, io, String(f.SNAM), e);
            r = NO_STATUS;
            status = -1;
          }
          if (r instanceof Promise) {
            return r.then(
              (x) => {
                rec.pvt.subStatus = typeof x === "number" ? x : 0;
                rec.pvt.subFailure = undefined;
              },
              (e) => (rec.pvt.subFailure = e ?? new Error("The subroutine's promise was rejected")),
            );
          }
          if (r !== NO_STATUS) status = asubResult(rec, io, typeof r === "number" ? r : 0);
        }
        f.VAL = castDouble(status, "LONG");
      }
    }
    if (status === 0) {
      for (const a of ASUB_OUT) io.putLink(rec, a.link, f[a.field], num(f, a.count));
    }
  },
  monitor(rec, m) {
    const f = rec.f;
    const mask = m.alarm | VALUE_LOG;
    if (f.VAL !== f.OVAL) {
      m.post("VAL", mask);
      f.OVAL = f.VAL;
    }
    const eflg = num(f, "EFLG");
    for (const a of ASUB_OUT) {
      if (eflg === 2) {
        m.post(a.field, mask);
        m.post(a.count, mask);
        continue;
      }
      if (eflg !== 1) continue;
      const nev = num(f, a.count);
      const changedCount = nev !== f[a.copyCount];
      if (!changedCount && sameElements(f[a.copy], f[a.field], nev)) continue;
      copyInto(f[a.copy], f[a.field] as ArrayLike<unknown>, nev);
      m.post(a.field, mask);
      if (changedCount) {
        f[a.copyCount] = nev;
        m.post(a.count, mask);
      }
    }
  },
};

// ------------------------------------------------------------------ sub

/**
 * The sub record: A..L from INPA..INPL, then the subroutine SNAM names (looked up at
 * iocInit and when SNAM is put, as base's registryFunctionFind); INAM's runs once at init.
 * No SNAM leaves the record active for ever (PACT, as base); an unknown SNAM raises
 * BAD_SUB/INVALID at each processing; a negative result SOFT with severity BRSV; a throw
 * CALC/INVALID with the message in AMSG; a promise makes the record asynchronous (the
 * subroutine runs once, its settled value is the status).
 */
const sub: RecordSupport = {
  posting: "deadband",
  init(rec, io, pass) {
    const f = rec.f;
    if (pass !== 1) return;
    // As base, a missing subroutine is reported and ends init_record there (iocInit goes on).
    const inam = String(f.INAM);
    if (inam !== "") {
      const init = io.subroutine(inam);
      if (!init) return recordError(io, rec, "Init subroutine (INAM)");
      callInit(rec, io, inam, init);
    }
    const snam = String(f.SNAM);
    if (snam === "") {
      io.warn(`${rec.name}.SNAM is empty`);
      f.PACT = 1;
      return;
    }
    rec.pvt.sadr = io.subroutine(snam);
    if (!rec.pvt.sadr) recordError(io, rec, "Proc subroutine (SNAM)");
  },
  special(rec, io, field) {
    if (field !== "SNAM") return;
    const snam = String(rec.f.SNAM);
    if (snam === "") {
      io.warn(`${rec.name}.SNAM is empty`);
      rec.f.PACT = 1;
      return;
    }
    if (rec.f.PACT && !rec.pvt.subBusy) rec.f.PACT = 0;
    rec.pvt.sadr = io.subroutine(snam);
    if (!rec.pvt.sadr) {
      recordError(io, rec, "subRecord(special) registryFunctionFind failed");
      throw new Error(`Subroutine "${snam}" is not registered`);
    }
  },
  process(rec, io) {
    const f = rec.f;
    if (f.PACT) {
      // The subroutine's promise has settled.
      const failure = rec.pvt.subFailure;
      if (failure !== undefined) subFailed(rec, io, String(f.SNAM), failure);
      else subResult(rec, io, rec.pvt.subStatus as number);
    } else if (!fetchLettersAll(rec, io)) {
      // As base: a failed input read skips the subroutine.
    } else {
      const fn = rec.pvt.sadr as Subroutine | undefined;
      if (!fn) io.setSevr(rec, AlarmStatus.BAD_SUB, INVALID);
      else {
        const name = String(f.SNAM);
        let r;
        try {
          r = fn(rec, io);
        } catch (e) {
          subFailed(rec, io, name, e);
          r = NO_STATUS;
        }
        if (r instanceof Promise) {
          rec.pvt.subBusy = true;
          return r.then(
            (x) => {
              rec.pvt.subStatus = typeof x === "number" ? x : 0;
              rec.pvt.subFailure = undefined;
            },
            (e) => (rec.pvt.subFailure = e ?? new Error("The subroutine's promise was rejected")),
          ).finally(() => (rec.pvt.subBusy = false));
        }
        if (r !== NO_STATUS) subResult(rec, io, typeof r === "number" ? r : 0);
      }
    }
    limitAlarms(rec, io);
  },
  monitor(rec, m) {
    postVal(m);
    postLetters(rec, m, m.alarm | m.value | VL, false);
  },
  meta: analogMeta("HOPR"),
};

/** What a subroutine "returned" when it threw (no status to apply). */
const NO_STATUS = Symbol("no status");

/** recGblRecordError's line for a record whose subroutine is not registered (S_db_BadSub). */
function recordError(io: RecordIo, rec: IocRecord, what: string): void {
  io.warn(`recGblRecordError: ${what} Subroutine not found PV: ${rec.name}`);
}

/**
 * A subroutine that threw or whose promise was rejected (base's have no such thing): as a
 * tsdev record's code, CALC/INVALID with the message in AMSG and a line on the console.
 */
function subFailed(rec: IocRecord, io: RecordIo, name: string, e: unknown): void {
  const text = e instanceof Error ? e.message : `Uncaught ${String(e)}`;
  io.setSevr(rec, AlarmStatus.CALC, INVALID, cutUtf8(text, 39));
  const shown = e instanceof Error ? `${e.name}: ${e.message}` : text;
  io.warn(`${rec.type.name}: ${rec.name}: ${name}: ${shown}`);
}

/** Runs an INAM subroutine: its result is ignored (as base), a throw or rejection reported. */
function callInit(rec: IocRecord, io: RecordIo, name: string, init: Subroutine): void {
  const report = (e: unknown) => {
    const shown = e instanceof Error ? `${e.name}: ${e.message}` : `Uncaught ${String(e)}`;
    io.warn(`${rec.type.name}: ${rec.name}: ${name}: ${shown}`);
  };
  try {
    const r = init(rec, io);
    if (r instanceof Promise) r.catch(report);
  } catch (e) {
    report(e);
  }
}

function subResult(rec: IocRecord, io: RecordIo, status: number): void {
  if (status < 0) io.setSevr(rec, AlarmStatus.SOFT, num(rec.f, "BRSV"));
  else rec.f.UDF = Number.isNaN(num(rec.f, "VAL")) ? 1 : 0;
}

/** fetch_values of sub: every non-constant INPx into A..L; false at the first failure. */
function fetchLettersAll(rec: IocRecord, io: RecordIo): boolean {
  for (let i = 0; i < CALC_LETTERS.length; i++) {
    const link = CALC_INPUTS[i];
    if (io.isConstantLink(rec, link)) continue;
    const r = io.getLink(rec, link, "number");
    if (!r) return false;
    rec.f[CALC_LETTERS[i]] = r.value as number;
  }
  return true;
}

/**
 * The record types whose init_record starts MLST, ALST and LALM at the initial VAL, and
 * when: ai only for a device support without an init_record (none of base's soft ones),
 * sub only once SNAM is found; calc, sel and dfanout never (their first processing posts).
 */
const INITIAL_LAST: Readonly<Record<string, (rec: IocRecord, io: RecordIo) => boolean>> = {
  ai: (rec) => !devHasInit(rec),
  ao: () => true,
  longin: () => true,
  longout: () => true,
  int64in: () => true,
  int64out: () => true,
  calcout: () => true,
  sub: (rec) => rec.pvt.sadr !== undefined,
};

/** MLST/ALST/LALM start at the initial VAL where base's init_record does that. */
function withInitialLast(name: string, support: RecordSupport): RecordSupport {
  const when = INITIAL_LAST[name];
  if (!when) return support;
  const init = support.init;
  return {
    ...support,
    init(rec, io, pass) {
      init?.(rec, io, pass);
      if (pass === 1 && when(rec, io)) {
        const v = rec.f.VAL;
        rec.f.MLST = v;
        rec.f.ALST = v;
        if (rec.type.byName.has("LALM")) rec.f.LALM = v;
      }
    },
  };
}

/** Record types with SIML/SIMM: SIMM from a constant SIML at init, SSCN swap on a SIMM put. */
function withSimulation(name: string, support: RecordSupport): RecordSupport {
  if (!recordType(name)?.byName.has("SIML")) return support;
  const { init, special } = support;
  return {
    ...support,
    init(rec, io, pass) {
      if (pass === 1) initSimm(rec, io);
      init?.(rec, io, pass);
    },
    special(rec, io, field, before) {
      if (field === "SIMM") simmPut(rec, io, before);
      else special?.(rec, io, field, before);
    },
  };
}

const ALL: Record<string, RecordSupport> = {
  ai,
  ao,
  bi,
  bo,
  longin,
  longout,
  int64in,
  int64out,
  mbbi,
  mbbo,
  mbbiDirect,
  mbboDirect,
  stringin,
  stringout,
  lsi,
  lso,
  waveform,
  aai,
  aao,
  subArray,
  calc,
  calcout,
  sel,
  seq,
  fanout,
  dfanout,
  compress,
  printf,
  event,
  sub,
  permissive,
  state,
  histogram,
  aSub,
};

/** Every record type's support, by type name. */
export const RECORD_SUPPORT: Readonly<Record<string, RecordSupport>> = Object.fromEntries(
  Object.entries(ALL).map(([k, v]) => [k, withInitialLast(k, withSimulation(k, v))]),
);
