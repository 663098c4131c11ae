/**
 * Structure PVs (lib/pv kind "structure", an IOC's QSRV group) as a PVA structure: the
 * type built from the members, filling a value from a snapshot, the bits an update marks.
 * A `pv` member is the NT structure a PV of its type is served as (one shared
 * {@link NtSnapshotWriter} per member fills it); `alarm` and `timeStamp` members are
 * `alarm_t` and `time_t`; `any` is a variant union. Pure.
 *
 * ```text
 * structure <id> { <member> ... }     value members: scalar or scalar[]
 *                                     any members:   any (the content's own type)
 *                                     pv members:    epics:nt/NTScalar:1.0 ... (as the PV)
 * ```
 * @module
 */

import { epicsToPosix } from "../../core/time.ts";
import type {
  PvAnyValue,
  PvMember,
  PvSnapshot,
  PvStructValue,
  PvTypeInfo,
} from "../../pv/types.ts";
import { PvChange } from "../../pv/types.ts";
import { bitOf, BitSet, type FieldDesc, PvValue, T } from "../proto/mod.ts";
import { alarmContent, alarmT, scalarDesc, timeT } from "./common.ts";
import { qsrvTimeT } from "./qsrv.ts";
import type { NtSnapshotWriter } from "./pv_map.ts";

/** The NT writer that fills a `pv` member (each member gets its own). */
export type WriterOf = (m: { readonly kind: "pv"; readonly type: PvTypeInfo }) => NtSnapshotWriter;

/** One leaf-level member with how it is filled and which bits a change marks. */
interface Slot {
  path: string;
  member: PvMember;
  node: PvValue;
  writer?: NtSnapshotWriter;
}

/**
 * The PVA structure type of a structure PV's members.
 * @param id the structure ID ("" for none)
 * @param members the members
 * @param writerOf the NT writer of a `pv` member (its type is that writer's)
 * @param layout "qsrv": `timeStamp` members are QSRV's (a structure without an id)
 * @returns the structure type
 */
export function structureType(
  id: string,
  members: readonly PvMember[],
  writerOf: WriterOf,
  layout?: "qsrv",
): FieldDesc {
  return T.struct(
    id,
    members.map((m): [string, FieldDesc] => {
      const t = m.type;
      switch (t.kind) {
        case "value":
          return [m.name, t.array ? T.array(scalarDesc(t.scalar)) : scalarDesc(t.scalar)];
        case "any":
          return [m.name, T.any];
        case "pv":
          return [m.name, writerOf(t).type];
        case "alarm":
          return [m.name, alarmT];
        case "timeStamp":
          return [m.name, layout === "qsrv" ? qsrvTimeT : timeT];
        case "structure":
          return [m.name, structureType(t.id ?? "", t.members, writerOf, layout)];
      }
    }),
  );
}

/** Fills a structure PV's value from its snapshots and says what an update marks. */
export class StructureFiller {
  readonly #slots: Slot[] = [];
  readonly #byPath = new Map<string, Slot>();
  readonly #root: PvValue;
  readonly #layout: "qsrv" | undefined;

  /**
   * @param root the value to fill (of {@link structureType}'s type)
   * @param members the members
   * @param writerOf the NT writer of a `pv` member
   * @param layout "qsrv": `alarm` members as QSRV fills them (common.ts alarmContent)
   */
  constructor(
    root: PvValue,
    members: readonly PvMember[],
    writerOf: WriterOf,
    layout?: "qsrv",
  ) {
    this.#root = root;
    this.#layout = layout;
    const walk = (ms: readonly PvMember[], prefix: string) => {
      for (const m of ms) {
        const path = prefix === "" ? m.name : `${prefix}.${m.name}`;
        if (m.type.kind === "structure") {
          walk(m.type.members, path);
          continue;
        }
        const slot: Slot = { path, member: m, node: root.field(path) };
        if (m.type.kind === "pv") slot.writer = writerOf(m.type);
        this.#slots.push(slot);
        this.#byPath.set(path, slot);
      }
    };
    walk(members, "");
  }

  /** Fills every member from the snapshot's value. */
  fill(snap: PvSnapshot): void {
    const top = snap.value as PvStructValue;
    for (const s of this.#slots) {
      let v: unknown = top;
      for (const part of s.path.split(".")) v = (v as Record<string, unknown>)?.[part];
      if (v === undefined) continue;
      const t = s.member.type;
      switch (t.kind) {
        case "value":
          s.node.assign(v);
          break;
        case "any": {
          const a = v as PvAnyValue;
          s.node.assign(
            a === null ? null : PvValue.create(
              a.array ? T.array(scalarDesc(a.scalar)) : scalarDesc(a.scalar),
              a.value,
            ),
          );
          break;
        }
        case "pv":
          s.node.assign(s.writer!.write(v as PvSnapshot).toJSON());
          break;
        case "alarm":
          s.node.assign(alarmContent((v as PvSnapshot).alarm, this.#layout));
          break;
        case "timeStamp": {
          const ts = (v as PvSnapshot).timeStamp;
          s.node.assign({
            secondsPastEpoch: epicsToPosix(ts).secondsPastEpoch,
            nanoseconds: ts.nsec,
          });
          break;
        }
      }
    }
  }

  /**
   * The bits an update marks: per changed member, a `pv` member's value, alarm and
   * timeStamp (VALUE), alarm (ALARM), timeStamp and metadata (PROPERTY), as QSRV marks a
   * group member; a `value` or `any` member on VALUE; an `alarm` member on ALARM and a
   * `timeStamp` member always (in QSRV's layout an `any` member marks bit 0).
   * @param changed member path -> PvChange bits; undefined: everything
   * @returns the bits
   */
  changeBits(changed: ReadonlyMap<string, number> | undefined): BitSet {
    const out = new BitSet();
    if (!changed) {
      out.set(0);
      return out;
    }
    for (const [path, mask] of changed) {
      const s = this.#byPath.get(path);
      if (!s) continue;
      const base = s.node.bit;
      switch (s.member.type.kind) {
        case "value":
          if (mask & PvChange.VALUE) out.set(base);
          break;
        case "any":
          // QSRV marks an any member by the bit its detached content has: 0, the whole
          // structure (pvxmonitor prints the whole group for such an update).
          if (mask & PvChange.VALUE) out.set(this.#layout === "qsrv" ? 0 : base);
          break;
        case "alarm":
          if (mask & PvChange.ALARM) out.set(base);
          break;
        case "timeStamp":
          out.set(base);
          break;
        case "pv": {
          const w = s.writer!;
          const own = new BitSet();
          if (mask & ~PvChange.PROPERTY) own.or(w.changeBits(mask & ~PvChange.PROPERTY));
          if (mask & PvChange.PROPERTY) {
            own.or(w.changeBits(PvChange.PROPERTY));
            const tb = bitOf(w.type, "timeStamp");
            if (tb > 0) own.set(tb);
          }
          // The member's own bits, moved to where it sits in the group.
          own.forEach((b) => out.set(base + b));
          break;
        }
      }
    }
    return out;
  }
}
