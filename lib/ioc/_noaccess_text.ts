/**
 * What dbpr prints of a DBF_NOACCESS field (the C members of a record that have no DBF
 * type). Base chooses the form from the member's C declaration in the .dbd `extra()`:
 * a pointer prints as `PTR 0x...` or `PTR (nil)`, an ELLLIST as `ELL count [first .. last]`,
 * anything else as its bytes in hex (at most 20), TIME as a date. Our records have no C
 * memory: a pointer base would have set prints a made-up address (stable for a record and
 * field), one base leaves NULL prints `(nil)`, and byte fields print the value base keeps
 * there (a calc's compiled expression, longout's output flag) or made-up pointer bytes.
 * Pure.
 * @module
 */

import type { FieldSpec } from "./record_type.ts";
import type { IocRecord } from "./types.ts";

/** What dbpr needs to know of the database around a record. */
export interface NoAccessFacts {
  /** iocInit has run (record and device supports are attached, links made). */
  readonly initialized: boolean;
  /** Access security rules are loaded (every record then has an ASP member). */
  readonly accessActive: boolean;
  /** Monitors on the record (MLIS, dbEvent's subscription list). */
  readonly monitors: number;
  /** Database links whose target is the record (BKLNK, the lockset's back links). */
  readonly backLinks: number;
  /** Whether a subroutine of this name is registered (sub's SADR). */
  readonly hasSubroutine: (name: string) => boolean;
  /** The start of a calc's compiled CALC (RPCL) or OCAL (ORPC) buffer. */
  readonly postfix: (field: "CALC" | "OCAL") => Uint8Array | undefined;
}

/** dbpr's limit on a hex field (`temp_buf[61]`: 20 bytes as "xx "). */
const HEX_MAX = 20;

/** Pointer members of every record (dbCommon.dbd), with when base has them set. */
const COMMON_POINTERS: Readonly<Record<string, (r: IocRecord, x: NoAccessFacts) => boolean>> = {
  ASP: (_r, x) => x.accessActive,
  // A process-notify (put with callback) sets PPN while it runs and PPNR from then on: our
  // puts with callback do not go through such a structure, so both stay NULL.
  PPN: () => false,
  PPNR: () => false,
  // scanAdd gives every record it puts on a scan list a scan element.
  SPVT: (r) => (r.f.SCAN as number) !== 0,
  RSET: (_r, x) => x.initialized,
  DSET: (r, x) => x.initialized && (r.type.byName.get("DTYP")?.choices?.length ?? 0) > 0,
  DPVT: devicePrivate,
  RDES: () => true,
  LSET: (_r, x) => x.initialized,
};

/** Device supports whose init keeps private data in DPVT (for the records we have). */
const DPVT_AT_INIT = new Set(["Async Soft Channel", "Db State", "General Time", "stdio"]);

function devicePrivate(r: IocRecord, x: NoAccessFacts): boolean {
  if (!x.initialized) return false;
  // seq keeps its link groups there.
  if (r.type.name === "seq") return true;
  const dtyp = r.dev?.dtyp;
  if (dtyp && DPVT_AT_INIT.has(dtyp)) return true;
  // devAiSoft marks a successful read there (it gates smoothing).
  return r.type.name === "ai" && dtyp === "Soft Channel" && r.pvt.smoothing === true;
}

/**
 * Pointer members of the record types, with when base has them set (aSub's input and
 * output arrays, the buffers of array records, long strings); a type's member not listed
 * here is a pointer base leaves NULL in a soft IOC (simulation callbacks, breakpoint
 * tables, bo's watchdog, the VAL of array records, whose data hang off BPTR).
 */
function typePointer(r: IocRecord, name: string, x: NoAccessFacts): boolean | undefined {
  const t = r.type.name;
  const init = x.initialized;
  switch (name) {
    case "VAL":
      return t === "lsi" || t === "lso" || t === "printf"
        ? true
        : ["aai", "aao", "compress", "histogram", "subArray", "waveform"].includes(t)
        ? false
        : undefined;
    case "OVAL":
      return t === "lsi" || t === "lso" ? true : undefined;
    case "BPTR":
      return init;
    case "SIMPVT":
    case "PBRK":
    case "WDPT":
    case "WPTR":
    case "CADR":
      return false;
    case "RPVT":
      return init;
    case "SPTR":
      // compress allocates running sums for ALG Average only.
      return init && t === "compress" && r.f.ALG === COMPRESS_AVERAGE;
    case "WDOG":
      return init && (r.f.SDEL as number) > 0;
    case "SADR":
      return t === "aSub" ? r.pvt.sadr !== undefined : undefined;
  }
  if (t === "aSub" && /^(?:[A-U]|VAL[A-U]|OVL[A-U])$/.test(name)) return init;
  return undefined;
}

/** compressALG_Average, the index of "Average" in compress's ALG menu. */
const COMPRESS_AVERAGE = 3;

function hashName(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h;
}

/** A made-up heap address for a record's member, stable from run to run. */
function address(rec: IocRecord, spec: FieldSpec, slot = 0): number {
  return 0x550000000000 + (hashName(rec.name) & 0xffffff) * 0x1000 + spec.index * 0x10 +
    slot * 8;
}

function ptr(set: boolean, rec: IocRecord, spec: FieldSpec): string {
  return set ? `PTR 0x${address(rec, spec).toString(16)}` : "PTR (nil)";
}

/** Bytes as dbpr's hex form: each "xx " (the last with its space too), at most 20. */
function hexBytes(bytes: ArrayLike<number>): string {
  let out = "";
  for (let i = 0; i < Math.min(bytes.length, HEX_MAX); i++) {
    out += `${(bytes[i] & 0xff).toString(16).padStart(2, "0")} `;
  }
  return out;
}

/** A pointer's 8 bytes (x86-64, little-endian), or 8 zeros for NULL. */
function pointerBytes(set: boolean, rec: IocRecord, spec: FieldSpec): string {
  const out = new Uint8Array(8);
  if (set) new DataView(out.buffer).setBigUint64(0, BigInt(address(rec, spec)), true);
  return hexBytes(out);
}

/**
 * What dbpr prints after "NAME: " for a NOACCESS field other than TIME.
 * @param rec the record
 * @param spec the field
 * @param x what is known of the database
 * @returns the text, or undefined for a field dbpr would not show
 */
export function noAccessText(
  rec: IocRecord,
  spec: FieldSpec,
  x: NoAccessFacts,
): string | undefined {
  const name = spec.name;
  switch (name) {
    case "MLIS":
    case "BKLNK": {
      const n = name === "MLIS" ? x.monitors : x.backLinks;
      if (n === 0) return "ELL 0 [(nil) .. (nil)]";
      const first = address(rec, spec, 1);
      const last = n === 1 ? first : address(rec, spec, 2);
      return `ELL ${n} [0x${first.toString(16)} .. 0x${last.toString(16)}]`;
    }
    // An epicsMutexId: a pointer, but declared through a typedef, so shown as bytes.
    case "MLOK":
      return pointerBytes(x.initialized, rec, spec);
    // No breakpoints are ever set here.
    case "BKPT":
      return "00 ";
  }
  const common = COMMON_POINTERS[name];
  if (common) return ptr(common(rec, x), rec, spec);
  const t = rec.type.name;
  if ((t === "calc" || t === "calcout") && (name === "RPCL" || name === "ORPC")) {
    const b = x.postfix(name === "RPCL" ? "CALC" : "OCAL") ?? new Uint8Array(HEX_MAX);
    return hexBytes(b);
  }
  // EVENTPVT and SUBFUNCPTR are pointer typedefs: bytes too.
  // The handle of event's VAL and of calcout's OEVT: NULL for no event ("", or 0 to 1).
  if (name === "EPVT" && (t === "event" || t === "calcout")) {
    const ev = String(t === "event" ? rec.f.VAL : rec.f.OEVT).trim();
    const n = ev === "" ? NaN : Number(ev);
    const none = ev === "" || (n >= 0 && n < 1);
    return pointerBytes(x.initialized && !none, rec, spec);
  }
  if (name === "SADR" && t === "sub") {
    const snam = String(rec.f.SNAM);
    return pointerBytes(x.initialized && snam !== "" && x.hasSubroutine(snam), rec, spec);
  }
  // longout's epicsEnum16 flag: 1 (write the output) until processing has written it.
  if (name === "OUTPVT" && t === "longout") return hexBytes([rec.pvt.wrote ? 0 : 1, 0]);
  const p = typePointer(rec, name, x);
  return p === undefined ? undefined : ptr(p, rec, spec);
}
