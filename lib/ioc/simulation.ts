/**
 * Simulation mode of the input and output records (SIMM, SIML, SIOL, SVAL, SIMS, SDLY,
 * SSCN, OLDSIMM), as EPICS base's recGblInitSimm/recGblGetSimm/recGblCheckSimm and the
 * SIMM branch of each record type's readValue/writeValue do it: SIML is read into SIMM,
 * a simulating input reads SIOL (into VAL, or RVAL when SIMM is RAW), an output writes to
 * SIOL, both raise a SIMM alarm of severity SIMS and may first wait SDLY seconds; a
 * change of SIMM swaps SCAN with SSCN unless SSCN is 65535.
 * @module
 */

import { constantForField, loadConstant } from "./const_link.ts";
import { AlarmSeverity, AlarmStatus } from "../core/alarm.ts";
import { epicsTimeFromMillis } from "../core/time.ts";
import { INT_RANGE } from "./record_type.ts";
import type { FieldValue } from "./record_type.ts";
import { copyInto } from "./records.ts";
import type { IocRecord, RecordIo } from "./types.ts";

/** menuSimm: NO, YES, RAW (menuYesNo record types stop at YES). */
export const Simm = { NO: 0, YES: 1, RAW: 2 } as const;

/** SSCN's "no scan change" value. */
const SSCN_NONE = 65535;

/** recGblSaveSimm: remembers SIMM before it may change (only when SSCN is in use). */
function saveSimm(rec: IocRecord): void {
  if (rec.f.SSCN !== SSCN_NONE) rec.f.OLDSIMM = rec.f.SIMM;
}

/** recGblCheckSimm: a changed SIMM swaps SCAN and SSCN. */
function checkSimm(rec: IocRecord, io: RecordIo): void {
  const f = rec.f;
  if (f.SSCN === SSCN_NONE || f.SIMM === f.OLDSIMM) return;
  const scan = f.SCAN as number;
  io.setScan(rec, f.SSCN as number);
  f.SSCN = scan;
}

/** Whether the record type has simulation fields. */
export function hasSimulation(rec: IocRecord): boolean {
  return rec.type.byName.has("SIMM") && rec.type.byName.has("SIML");
}

/**
 * recGblInitSimm (init_record pass 1): a constant SIML sets SIMM, swapping SCAN and SSCN
 * when that changes it.
 */
export function initSimm(rec: IocRecord, io: RecordIo): void {
  if (!hasSimulation(rec) || !io.isConstantLink(rec, "SIML")) return;
  saveSimm(rec);
  // dbLoadLink as DBF_USHORT: "1e3" is 1, "0x10" 16, "nan" and "70000" leave SIMM.
  const v = loadConstant(rec.links.SIML, "USHORT")?.value;
  if (v !== undefined) rec.f.SIMM = constantForField(v, "USHORT");
  checkSimm(rec, io);
}

/** The SPC_MOD reaction to a put of SIMM (recGblSaveSimm before, recGblCheckSimm after). */
export function simmPut(rec: IocRecord, io: RecordIo, before: FieldValue | undefined): void {
  if (rec.f.SSCN === SSCN_NONE) return;
  rec.f.OLDSIMM = before as number;
  checkSimm(rec, io);
}

/**
 * The start of base's readValue/writeValue: outside PACT, SIML is read into SIMM. Returns
 * "off" when not simulating (the device support does the I/O), "failed" for a SIMM value
 * the record type has no mode for (SOFT/INVALID alarm), a promise while SDLY delays the
 * simulated I/O (the record is asynchronous), or the mode (YES or RAW) to do it with now.
 * A simulating record has a SIMM alarm of severity SIMS.
 */
export function simulationMode(
  rec: IocRecord,
  io: RecordIo,
): "off" | "failed" | Promise<void> | 1 | 2 {
  if (!hasSimulation(rec)) return "off";
  const f = rec.f;
  if (!f.PACT) {
    saveSimm(rec);
    // A constant SIML reads as nothing (dbTryGetLink leaves SIMM as it is). A CA link that
    // is not connected fails without an alarm severity: only NSTA becomes LINK, and only
    // when nothing else was raised (recGblGetSimm).
    if (io.linkState(rec, "SIML") === 0) {
      if (!f.NSEV) f.NSTA = AlarmStatus.LINK;
    } else if (!io.isConstantLink(rec, "SIML")) {
      const r = io.getLink(rec, "SIML", "number");
      if (r && Number.isFinite(r.value as number)) f.SIMM = Math.trunc(r.value as number) & 0xffff;
    }
    checkSimm(rec, io);
  }
  const simm = f.SIMM as number;
  if (simm === Simm.NO) return "off";
  const modes = rec.type.byName.get("SIMM")?.choices?.length ?? 2;
  if (simm >= modes) {
    io.setSevr(rec, AlarmStatus.SOFT, AlarmSeverity.INVALID);
    return "failed";
  }
  io.setSevr(rec, AlarmStatus.SIMM, f.SIMS as number);
  const sdly = f.SDLY as number;
  if (!f.PACT && sdly >= 0) return new Promise<void>((resolve) => io.after(sdly, resolve));
  return simm as 1 | 2;
}

/** A number as a field of an integer DBF type holds it (C's conversion, saturated). */
function asInteger(type: string, v: number): number {
  const range = INT_RANGE[type as keyof typeof INT_RANGE];
  if (!range) return v;
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 0 : (v > 0 ? range[1] : range[0]);
  return Math.max(range[0], Math.min(range[1], Math.trunc(v)));
}

/**
 * Reads SIOL into SVAL. A constant or empty SIOL succeeds and leaves SVAL as it is (its
 * constant was loaded at init). Returns whether the read succeeded.
 */
function readSval(rec: IocRecord, io: RecordIo): boolean {
  if (io.isConstantLink(rec, "SIOL")) return true;
  const spec = rec.type.byName.get("SVAL")!;
  const r = io.getLink(rec, "SIOL", spec.type === "STRING" ? "string" : "number");
  if (!r) return false;
  rec.f.SVAL = spec.type === "STRING"
    ? String(r.value).slice(0, 39)
    : asInteger(spec.type, r.value as number);
  return true;
}

/**
 * What a simulated read leaves for the record's conversion: "noConvert" when VAL was set
 * (or the read failed), undefined when RVAL was set and the record converts it.
 */
export type SimulatedRead = "noConvert" | undefined;

type SimIn = (rec: IocRecord, io: RecordIo, mode: 1 | 2) => SimulatedRead;

/**
 * VAL from SVAL (YES) or RVAL from SVAL (RAW), for records with SVAL; `valBits` masks
 * what an enum VAL keeps (base assigns the ULONG SVAL to the 16-bit VAL).
 */
function svalInto(valBits: number | undefined): SimIn {
  return (rec, io, mode) => {
    if (!readSval(rec, io)) return "noConvert";
    const f = rec.f;
    const sval = f.SVAL as number;
    if (mode === Simm.YES) {
      f.VAL = valBits === undefined ? f.SVAL : (sval & valBits) >>> 0;
      f.UDF = 0;
      return "noConvert";
    }
    f.RVAL = rec.type.name === "bi" ? sval & 0xffff : sval;
    f.UDF = 0;
    return undefined;
  };
}

/** How each input record type reads SIOL; "device" where base still reads the device (aai). */
const SIM_IN: Readonly<Record<string, SimIn | "device">> = {
  ai(rec, io, mode) {
    if (!readSval(rec, io)) return "noConvert";
    const f = rec.f;
    const sval = f.SVAL as number;
    if (mode === Simm.YES) {
      f.VAL = sval;
      f.UDF = Number.isNaN(sval) ? 1 : 0;
      return "noConvert";
    }
    f.RVAL = asInteger("LONG", Math.floor(sval));
    return undefined;
  },
  bi: svalInto(0xffff),
  mbbi: svalInto(0xffff),
  mbbiDirect: svalInto(undefined),
  longin: svalInto(undefined),
  int64in: svalInto(undefined),
  stringin: svalInto(undefined),
  event: svalInto(undefined),
  lsi(rec, io) {
    // dbGetLinkLS straight into VAL; a constant SIOL leaves VAL.
    if (io.isConstantLink(rec, "SIOL")) {
      rec.f.UDF = 0;
      return "noConvert";
    }
    const r = io.getLink(rec, "SIOL", "string");
    if (r) {
      rec.f.VAL = String(r.value);
      rec.f.UDF = 0;
    }
    return "noConvert";
  },
  waveform(rec, io) {
    const f = rec.f;
    // A constant SIOL delivers no elements: NORD becomes 0 (dbConstGetValue).
    if (io.isConstantLink(rec, "SIOL")) {
      f.NORD = 0;
      f.UDF = 0;
      return "noConvert";
    }
    const r = io.getLink(rec, "SIOL", "array");
    if (r) {
      f.NORD = copyInto(f.VAL, r.value as ArrayLike<unknown>, r.count);
      f.UDF = 0;
    }
    return "noConvert";
  },
  aai: "device",
  histogram(rec, io) {
    // SGNL from SVAL, counted; a failed read counts nothing.
    if (!readSval(rec, io)) return "noConvert";
    rec.f.SGNL = rec.f.SVAL;
    rec.f.UDF = 0;
    return undefined;
  },
};

/**
 * A simulated read of an input record in mode YES or RAW. Returns "device" when the
 * record type reads its device even in simulation (aai), else what the record converts.
 */
export function simulatedRead(
  rec: IocRecord,
  io: RecordIo,
  mode: 1 | 2,
): SimulatedRead | "device" {
  const sim = SIM_IN[rec.type.name];
  if (sim === undefined || sim === "device") {
    simulatedTime(rec, io, true);
    return "device";
  }
  const r = sim(rec, io, mode);
  simulatedTime(rec, io, true);
  return r;
}

/**
 * recGblGetTimeStampSimm with TSE -2 ("device time"): a simulating input takes the time
 * of what SIOL reads (the current time for a constant SIOL), an output the current time.
 */
function simulatedTime(rec: IocRecord, io: RecordIo, input: boolean): void {
  if (rec.f.TSE !== -2) return;
  const t = input && !io.isConstantLink(rec, "SIOL") ? io.linkTime(rec, "SIOL") : undefined;
  rec.time = t ?? epicsTimeFromMillis(io.now());
}

/** The field each output record type writes to SIOL in mode YES and in mode RAW. */
const SIM_OUT: Readonly<Record<string, readonly [string, string?] | "device">> = {
  ao: ["OVAL", "RVAL"],
  bo: ["VAL", "RVAL"],
  mbbo: ["VAL", "RVAL"],
  mbboDirect: ["VAL", "RVAL"],
  longout: ["VAL"],
  int64out: ["VAL"],
  stringout: ["VAL"],
  lso: ["VAL"],
  // Base leaves the simulated write to the device support (the buffer is its own).
  aao: "device",
};

/**
 * A simulated write of an output record in mode YES or RAW (to SIOL). Returns "device"
 * when the record type writes through its device support even in simulation (aao).
 */
export function simulatedWrite(rec: IocRecord, io: RecordIo, mode: 1 | 2): "device" | undefined {
  simulatedTime(rec, io, false);
  const out = SIM_OUT[rec.type.name];
  if (out === undefined || out === "device") return "device";
  const field = mode === Simm.RAW && out[1] ? out[1] : out[0];
  io.putLink(rec, "SIOL", rec.f[field]);
  return undefined;
}
