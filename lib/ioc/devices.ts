/**
 * Device supports chosen by DTYP: the registry and the soft ones of EPICS base
 * ("Soft Channel", "Raw Soft Channel", "Async Soft Channel"). Another device support
 * (the script device support, tsdev) registers the same way.
 * @module
 */

import { cutUtf8 } from "../core/bytes.ts";
import { AlarmStatus } from "../core/alarm.ts";
import { PvChange } from "../pv/types.ts";
import { castDouble, type IntegerDbf } from "./_cast.ts";
import { copyInto } from "./records.ts";
import type { DeviceSupport, IocRecord, LinkRead, RecordIo } from "./types.ts";

/** Which field the soft supports move through the link, per record type. */
const SOFT_FIELD: Readonly<Record<string, readonly [string, "number" | "string" | "array"]>> = {
  ai: ["VAL", "number"],
  bi: ["VAL", "number"],
  mbbi: ["VAL", "number"],
  mbbiDirect: ["VAL", "number"],
  longin: ["VAL", "number"],
  int64in: ["VAL", "number"],
  stringin: ["VAL", "string"],
  lsi: ["VAL", "string"],
  event: ["VAL", "string"],
  waveform: ["VAL", "array"],
  aai: ["VAL", "array"],
  ao: ["OVAL", "number"],
  bo: ["VAL", "number"],
  mbbo: ["VAL", "number"],
  mbboDirect: ["VAL", "number"],
  longout: ["VAL", "number"],
  int64out: ["VAL", "number"],
  stringout: ["VAL", "string"],
  lso: ["VAL", "string"],
  aao: ["VAL", "array"],
  printf: ["VAL", "string"],
};
const RAW_TYPES = new Set(["ai", "bi", "mbbi", "mbbiDirect", "ao", "bo", "mbbo", "mbboDirect"]);
const INPUT_TYPES = new Set([
  "ai",
  "bi",
  "mbbi",
  "mbbiDirect",
  "longin",
  "int64in",
  "stringin",
  "lsi",
  "event",
  "waveform",
  "aai",
]);

/** The integer type base's soft supports read a number link as (dbGetLink's DBR type). */
const SOFT_READ_AS: Readonly<Record<string, IntegerDbf>> = {
  bi: "USHORT",
  mbbi: "USHORT",
  mbbiDirect: "ULONG",
  longin: "LONG",
  int64in: "INT64",
};
/** The same for the raw soft supports, which read into RVAL. */
const RAW_READ_AS: Readonly<Record<string, IntegerDbf>> = {
  ai: "LONG",
  bi: "ULONG",
  mbbi: "LONG",
  mbbiDirect: "ULONG",
};

/** Soft inputs whose read of a constant (or empty) INP defines VAL (base's dbGetLink succeeds). */
const CONSTANT_READ_DEFINES = new Set(["bi", "mbbi", "mbbiDirect", "longin", "int64in"]);
/**
 * Soft inputs whose read leaves UDF alone: lsi (base's support never touches it), waveform
 * and aai (their records clear it at every processing).
 */
const READ_LEAVES_UDF = new Set(["lsi", "waveform", "aai"]);

/** devAaiSoft/devAaoSoft read and write SIOL instead of INP/OUT while SIMM is YES. */
function simulating(rec: IocRecord): boolean {
  const t = rec.type.name;
  return (t === "aai" || t === "aao") && rec.f.SIMM === 1;
}

function softIo(raw: boolean): DeviceSupport["io"] {
  return (rec: IocRecord, ioc: RecordIo) => {
    const t = rec.type.name;
    const [field0, want] = SOFT_FIELD[t] ?? ["VAL", "number"];
    const field = raw && RAW_TYPES.has(t) ? "RVAL" : field0;
    if (INPUT_TYPES.has(t)) {
      const link = simulating(rec) ? "SIOL" : "INP";
      if (ioc.isConstantLink(rec, link)) {
        // devAiSoft answers "don't convert" and the ai then takes UDF from VAL; where base's
        // support reads the constant anyway (dbGetLink reads nothing and succeeds), VAL
        // counts as defined.
        if (t === "ai" && !raw) rec.f.UDF = Number.isNaN(rec.f.VAL as number) ? 1 : 0;
        else if (!raw && CONSTANT_READ_DEFINES.has(t)) rec.f.UDF = 0;
        return raw ? undefined : "noConvert";
      }
      // devLsiSoft's dbGetLinkLS reads nothing from a CA link not connected, and succeeds.
      if (t === "lsi" && ioc.linkState(rec, link) === 0) return "noConvert";
      const r = ioc.getLink(rec, link, want);
      // A read lsi string has LEN from now on, "" included (dbGetLinkLS sets it).
      if (r && t === "lsi" && rec.f.LEN === 0) rec.f.LEN = 1;
      if (t === "ai" && !raw) return softAiRead(rec, r);
      // A failed read leaves VAL (and RVAL) as they are: nothing to convert. base's raw
      // mbbiDirect support reports success whatever the read did.
      if (!r) return raw && t === "mbbiDirect" ? undefined : "noConvert";
      if (want === "array") {
        const nord = rec.f.NORD;
        rec.f.NORD = copyInto(rec.f.VAL, r.value as ArrayLike<unknown>, r.count);
        // devWfSoft and devAaiSoft post a changed NORD as they read (before the time stamp).
        if (rec.f.NORD !== nord) ioc.post(rec, "NORD", PvChange.VALUE | PvChange.LOG);
      } else {
        let v = r.value;
        const as = (raw ? RAW_READ_AS : SOFT_READ_AS)[t];
        if (as) {
          v = castDouble(v as number, as);
          // Then held in the field's own type: mbbiDirect's VAL is a LONG, RVALs ULONGs.
          if (!raw && t === "mbbiDirect") v |= 0;
          else if (raw && t !== "ai") v >>>= 0;
        }
        rec.f[field] = v;
        // The raw soft supports of bi, mbbi and mbbiDirect keep only MASK's bits of RVAL.
        const mask = rec.f.MASK as number;
        if (raw && mask && (t === "bi" || t === "mbbi" || t === "mbbiDirect")) {
          rec.f.RVAL = ((v as number) & mask) >>> 0;
        }
      }
      if (!raw && !READ_LEAVES_UDF.has(t)) rec.f.UDF = 0;
      return raw ? undefined : "noConvert";
    }
    const out = simulating(rec) ? "SIOL" : "OUT";
    // devMbboSoftRaw/devMbboDirectSoftRaw write RVAL through MASK.
    const value = raw && (t === "mbbo" || t === "mbboDirect")
      ? ((rec.f.RVAL as number) & (rec.f.MASK as number)) >>> 0
      : rec.f[field];
    ioc.putLink(rec, out, value, want === "array" ? rec.f.NORD as number : undefined);
    return undefined;
  };
}

/**
 * What devAiSoft (and its asynchronous twin) does with a value read: with SMOO, the new
 * value is blended into VAL, but only once a read has succeeded since init or since the
 * last failed read (a first value is taken as it is) and only while VAL is finite.
 */
function softAiRead(rec: IocRecord, r: LinkRead | undefined): "noConvert" {
  const f = rec.f;
  if (!r) {
    rec.pvt.smoothing = false;
    return "noConvert";
  }
  const v = r.value as number;
  const smoo = f.SMOO as number;
  const last = f.VAL as number;
  f.VAL = smoo !== 0 && rec.pvt.smoothing && Number.isFinite(last)
    ? v * (1 - smoo) + last * smoo
    : v;
  f.UDF = Number.isNaN(f.VAL) ? 1 : 0;
  rec.pvt.smoothing = true;
  return "noConvert";
}

/**
 * devHistogramSoft: SGNL from SVL (a constant SVL was loaded at init and defines the
 * record); every read reports a count to add, even a failed one.
 */
const HISTOGRAM_SOFT: DeviceSupport = {
  dtyp: "Soft Channel",
  recordTypes: ["histogram"],
  init(rec) {
    if (rec.links.SVL?.kind === "constant") rec.f.UDF = 0;
  },
  io(rec, ioc) {
    if (ioc.isConstantLink(rec, "SVL")) return;
    const r = ioc.getLink(rec, "SVL", "number");
    if (r) rec.f.SGNL = r.value as number;
  },
};

/** EPICS base's soft device supports. */
export const SOFT_DEVICES: readonly DeviceSupport[] = [
  { dtyp: "Soft Channel", io: softIo(false) },
  HISTOGRAM_SOFT,
  { dtyp: "Raw Soft Channel", recordTypes: [...RAW_TYPES], io: softIo(true) },
  {
    dtyp: "Async Soft Channel",
    io: (rec, ioc) => {
      const r = softIo(false)(rec, ioc);
      // Completes in a later turn, as base's callback-based soft support does.
      return Promise.resolve(r as void | "noConvert");
    },
  },
];

/**
 * Base's "getenv" device support (devSiEnviron, devLsiEnviron): a stringin or lsi whose
 * INP is `@NAME` reads the environment variable NAME; an unset one empties VAL and
 * raises UDF with severity UDFS ("No such ENV").
 * @param getenv the environment the IOC sees (its shell's, epicsEnvSet included)
 * @returns the device support
 */
export function environDevice(getenv: (name: string) => string | undefined): DeviceSupport {
  return {
    dtyp: "getenv",
    recordTypes: ["stringin", "lsi"],
    io(rec, ioc) {
      const l = rec.links.INP;
      if (l?.kind !== "hw" || !l.text.startsWith("@")) {
        throw new Error(`${rec.name}.INP must be an INST_IO link "@NAME"`);
      }
      const v = getenv(l.text.slice(1));
      const f = rec.f;
      if (v === undefined) {
        f.VAL = "";
        f.UDF = 1;
        ioc.setSevr(rec, AlarmStatus.UDF, f.UDFS as number, "No such ENV");
        if (rec.type.name === "lsi") f.LEN = 1;
        return "noConvert";
      }
      const max = rec.type.name === "lsi" ? (f.SIZV as number) - 1 : 39;
      f.VAL = cutUtf8(v, max);
      f.UDF = 0;
      if (rec.type.name === "lsi" && f.LEN === 0) f.LEN = 1;
      return "noConvert";
    },
  };
}

/** The device supports an IOC knows, by (record type, DTYP). */
export class DeviceRegistry {
  #byDtyp = new Map<string, DeviceSupport[]>();

  /** Creates the registry with the soft supports and any others. */
  constructor(extra: Iterable<DeviceSupport> = []) {
    for (const d of SOFT_DEVICES) this.register(d);
    for (const d of extra) this.register(d);
  }

  /** Adds a device support (a later one for the same DTYP and record type wins). */
  register(dev: DeviceSupport): void {
    const list = this.#byDtyp.get(dev.dtyp) ?? [];
    list.unshift(dev);
    this.#byDtyp.set(dev.dtyp, list);
  }

  /** The DTYP choices known for a record type, besides those of its .dbd table. */
  dtypsFor(recordType: string): string[] {
    const out: string[] = [];
    for (const [dtyp, list] of this.#byDtyp) {
      if (list.some((d) => !d.recordTypes || d.recordTypes.includes(recordType))) out.push(dtyp);
    }
    return out;
  }

  /** Finds the device support for a record type and DTYP. */
  find(recordType: string, dtyp: string): DeviceSupport | undefined {
    return this.#byDtyp.get(dtyp)?.find((d) =>
      !d.recordTypes || d.recordTypes.includes(recordType)
    );
  }
}
