/**
 * QSRV group PVs: `info(Q:group, {...})` in records defines structures served over PVA
 * only, whose members map to record fields. The definitions of all records are merged
 * (a later record's keys for the same group field win), then each group becomes one
 * {@link GroupPv}: a lib/pv "structure" PV whose members read {@link FieldChannel}s, so a
 * member shows exactly what that field's own channel shows.
 *
 * ```text
 * {"GRP": {"+id": "some/id:1.0", "+atomic": true,
 *          "a.b": {"+type": "scalar|plain|any|meta|proc|structure", "+channel": "VAL",
 *                  "+trigger": "*|x,y|", "+putorder": 0, "+id": "..."}}}
 * ```
 * Members are ordered by field name, then (stably) by +putorder (none first), as QSRV
 * orders them; a "" meta member puts alarm and timeStamp at the top. Monitors: a change
 * of a member's field (DBE_VALUE or DBE_ALARM) posts the members it triggers (default:
 * itself, once any member of the group names triggers: only those named), a property
 * change (DBE_PROPERTY) the member alone. Puts write members with a +putorder in that
 * order and stop at the first refusal. We are single-threaded: every read and put is
 * atomic, so +atomic changes nothing but `record._options.atomic`.
 * @module
 */

import { PutRefusedError } from "../core/errors.ts";
import {
  EMPTY_ALARM,
  EMPTY_CONTROL,
  EMPTY_DISPLAY,
  EMPTY_VALUE_ALARM,
  PvChange,
} from "../pv/types.ts";
import type {
  PutContext,
  PvAnyValue,
  PvListener,
  PvMember,
  PvMemberType,
  PvSnapshot,
  PvStructValue,
  PvTypeInfo,
  ServedPv,
} from "../pv/types.ts";
import { type Json5Node, parseJson5 } from "./json5.ts";
import type { FieldChannel } from "./provider.ts";
import type { IocRecord } from "./types.ts";

/** One group field as the JSON defines it. */
export interface GroupFieldConfig {
  /** Mapping: "scalar" (or ""), "plain", "any", "meta", "proc", "structure". */
  type: string;
  /** `REC.FIELD` (+channel, prefixed with the defining record's name and a dot). */
  channel: string;
  /** +trigger as written ("" when absent). */
  trigger: string;
  /** +putorder; undefined: not writable. */
  putorder?: number;
  /** +id of the structure holding the field. */
  id: string;
}

/** One group as the merged definitions describe it. */
export interface GroupConfig {
  /** +id of the group's structure. */
  id: string;
  /** +atomic, when some record set it. */
  atomic?: boolean;
  /** Fields by name. */
  fields: Map<string, GroupFieldConfig>;
}

/** Where a definition came from, for messages. */
interface Origin {
  record: string;
  file?: string;
  line?: number;
}

function where(o: Origin): string {
  return o.file !== undefined ? `${o.file}:${o.line}: ` : "";
}

const GROUP_KEYS = new Set(["+id", "+atomic"]);
const FIELD_KEYS = new Set(["+type", "+channel", "+trigger", "+putorder", "+id"]);

function scalarText(n: Json5Node, what: string): string {
  switch (n.t) {
    case "string":
      return n.v;
    case "int":
    case "double":
      return String(n.v);
    case "bool":
      return n.v ? "true" : "false";
    case "null":
      return "";
  }
  throw new Error(`${what} can't be an ${n.t === "map" ? "object (too deep)" : "array"}`);
}

/**
 * Merges one record's `info(Q:group, ...)` into `groups`.
 * @param groups the groups so far (changed in place)
 * @param json the info's text
 * @param origin the record (and the info's file and line)
 * @returns warnings (unknown keys); what is valid is merged
 * @throws {Error} when the text is no JSON object of groups (nothing is merged then)
 */
export function mergeGroupInfo(
  groups: Map<string, GroupConfig>,
  json: string,
  origin: Origin,
): string[] {
  const warnings: string[] = [];
  const top = parseJson5(json);
  if (top.t !== "map") throw new Error("expected an object of groups");
  // Checked whole before anything is merged, so a bad definition changes nothing.
  const staged: [string, (g: GroupConfig) => void][] = [];
  for (const [name, g] of top.entries) {
    if (name === "") throw new Error("empty group name not allowed");
    if (g.t !== "map") throw new Error(`group "${name}" must be an object`);
    for (const [key, v] of g.entries) {
      if (v.t === "map") {
        // A "" field (top-level meta data) is the one empty name allowed here.
        const opts: [string, string][] = [];
        for (const [k, x] of v.entries) {
          if (k === "") throw new Error(`empty key in group field "${name}.${key}"`);
          const text = scalarText(x, `"${name}.${key}" ${k}`);
          if (!FIELD_KEYS.has(k)) warnings.push(`Unknown group field option ${key}`);
          else opts.push([k, text]);
          if (k === "+putorder" && x.t !== "int" && x.t !== "double") {
            throw new Error(`"${name}.${key}" +putorder must be a number`);
          }
        }
        staged.push([name, (grp) => {
          const f = grp.fields.get(key) ?? { type: "", channel: "", trigger: "", id: "" };
          for (const [k, text] of opts) {
            if (k === "+type") f.type = text;
            else if (k === "+channel") f.channel = `${origin.record}.${text}`;
            else if (k === "+trigger") f.trigger = text;
            else if (k === "+id") f.id = text;
            else f.putorder = Math.trunc(Number(text));
          }
          grp.fields.set(key, f);
        }]);
      } else if (v.t === "array") {
        throw new Error(`"${name}.${key}" can't be an array`);
      } else if (key === "") {
        throw new Error(`empty key in group "${name}"`);
      } else if (!GROUP_KEYS.has(key)) {
        warnings.push(`Unknown group option ${key}`);
      } else {
        const text = scalarText(v, `"${name}" ${key}`);
        staged.push([name, (grp) => {
          if (key === "+id") grp.id = text;
          else grp.atomic = v.t === "bool" ? v.v : text !== "" && text !== "0";
        }]);
      }
    }
  }
  for (const [name, apply] of staged) {
    let grp = groups.get(name);
    if (!grp) groups.set(name, grp = { id: "", fields: new Map() });
    apply(grp);
  }
  return warnings;
}

/**
 * Reads every record's `info(Q:group, ...)`, in load order. A definition that is no valid
 * JSON object of groups is reported (naming the record, file and line) and skipped.
 * @param records the records
 * @param warn where reports go
 * @returns the merged groups by name
 */
export function groupConfigs(
  records: Iterable<IocRecord>,
  warn: (m: string) => void,
): Map<string, GroupConfig> {
  const groups = new Map<string, GroupConfig>();
  for (const rec of records) {
    const json = rec.infos.get("Q:group");
    if (json === undefined) continue;
    const at = rec.infoAt?.get("Q:group");
    const origin = { record: rec.name, file: at?.file, line: at?.line };
    try {
      const w = mergeGroupInfo(groups, json, origin);
      if (w.length) {
        warn(`${where(origin)}${rec.name}: warning(s) from info(Q:group, ...): ${w.join("; ")}`);
      }
    } catch (e) {
      warn(
        `${where(origin)}${rec.name}: Error parsing info("Q:group", ...): ${(e as Error).message}`,
      );
    }
  }
  return groups;
}

/** One member bound to its channel. */
interface Bound {
  /** Dotted path in the group ("" for top-level meta data). */
  path: string;
  cfg: GroupFieldConfig;
  channel: FieldChannel;
  /** Paths of the members a value/alarm change of this one posts (already resolved). */
  triggers: string[];
}

const MAPPINGS = new Set(["", "scalar", "plain", "any", "meta", "proc", "structure"]);

/** The structure type builder: nested members by path, with ids. */
interface Node {
  id: string;
  members: Map<string, Node | PvMemberType>;
}

function isNode(x: Node | PvMemberType): x is Node {
  return (x as Node).members instanceof Map && !("kind" in x);
}

function toMembers(n: Node): PvMember[] {
  return [...n.members].map(([name, x]) => ({
    name,
    type: isNode(x) ? { kind: "structure", id: x.id, members: toMembers(x) } : x,
  }));
}

/** A group PV (PVA only: CA does not serve structures). */
export class GroupPv implements ServedPv {
  /** The group name. */
  readonly name: string;
  /** Its structure type. */
  readonly type: PvTypeInfo;
  readonly #members: Bound[];
  /** Members in put order (those with +putorder). */
  readonly #puts: Bound[];
  readonly #atomic: boolean;
  #listeners = new Set<PvListener>();
  #stops: (() => void)[] = [];

  /**
   * Builds a group from its merged definition.
   * @param name the group name
   * @param cfg the definition
   * @param channel finds the channel a +channel names
   * @throws {Error} when the group cannot be made (a channel missing or a link field, a
   *   mapping unknown or without its +channel), saying why
   */
  constructor(name: string, cfg: GroupConfig, channel: (name: string) => FieldChannel | undefined) {
    this.name = name;
    // By field name, then (stably) by putorder with unset first: QSRV's member order.
    const fields = [...cfg.fields].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    const order = (f: GroupFieldConfig) => f.putorder ?? -Infinity;
    fields.sort(([, a], [, b]) => order(a) - order(b));
    const root: Node = { id: cfg.id, members: new Map() };
    const members: Bound[] = [];
    const hasTriggers = fields.some(([, f]) => f.trigger !== "");
    this.#atomic = hasTriggers;
    root.members.set("record", {
      kind: "structure",
      members: [{
        name: "_options",
        type: {
          kind: "structure",
          members: [
            { name: "queueSize", type: { kind: "value", scalar: "uint32", array: false } },
            { name: "atomic", type: { kind: "value", scalar: "boolean", array: false } },
          ],
        },
      }],
    });
    for (const [path, f] of fields) {
      if (!MAPPINGS.has(f.type)) throw new Error(`Unknown +type=${f.type}`);
      if (/[\[\]]/.test(path)) {
        throw new Error(`field "${path}": structure arrays are not supported`);
      }
      const parts = path === "" ? [] : path.split(".");
      if (parts.some((p) => p === "")) throw new Error(`field "${path}": empty name part`);
      // The structure holding the member (made on the way), which +id names.
      let at = root;
      for (const p of parts.slice(0, -1)) {
        let next = at.members.get(p);
        if (!next || !isNode(next)) {
          next = { id: "", members: new Map() };
          at.members.set(p, next);
        }
        at = next;
      }
      if (f.id !== "") at.id = f.id;
      if (f.type === "structure") continue;
      const mapping = f.type === "" ? "scalar" : f.type;
      if (f.channel === "") throw new Error(`+type:"${mapping}" requires +channel:`);
      const ch = channel(f.channel);
      if (!ch) throw new Error(`field "${path}": no channel "${f.channel}"`);
      if (ch.type.link) throw new Error("Can't include link fields in group");
      const leaf = parts[parts.length - 1];
      const t = ch.type;
      const plain = t.kind === "array" || t.kind === "scalar" || t.kind === "enum";
      if ((mapping === "plain" || mapping === "any") && !plain) {
        throw new Error(`field "${path}": ${f.channel} has no plain value`);
      }
      const scalar = t.kind === "enum" ? "uint16" : t.scalar;
      if (mapping === "meta") {
        const meta: [string, PvMemberType][] = [["alarm", { kind: "alarm" }], [
          "timeStamp",
          { kind: "timeStamp" },
        ]];
        if (leaf === undefined) { for (const [n, m] of meta) root.members.set(n, m); }
        else at.members.set(leaf, { id: "", members: new Map(meta) });
      } else if (mapping !== "proc") {
        if (leaf === undefined) throw new Error(`Can't attach +type ${mapping} to root`);
        at.members.set(
          leaf,
          mapping === "scalar"
            ? { kind: "pv", type: t }
            : mapping === "any"
            ? { kind: "any" }
            : { kind: "value", scalar, array: t.kind === "array" },
        );
      }
      members.push({ path, cfg: { ...f, type: mapping }, channel: ch, triggers: [] });
    }
    this.#members = members;
    this.type = {
      kind: "structure",
      scalar: "string",
      maxLength: 1,
      id: root.id,
      members: toMembers(root),
      layout: "qsrv",
    };
    this.#puts = members.filter((m) => m.cfg.putorder !== undefined);
    this.#resolveTriggers(hasTriggers, fields);
  }

  /** Problems found resolving +trigger names (the group is made without those triggers). */
  readonly problems: string[] = [];

  #resolveTriggers(hasTriggers: boolean, fields: [string, GroupFieldConfig][]): void {
    const byPath = new Map(this.#members.map((m) => [m.path, m]));
    const known = new Set(fields.map(([p]) => p));
    for (const m of this.#members) {
      if (!hasTriggers) {
        m.triggers = [m.path];
        continue;
      }
      if (m.cfg.trigger === "") continue;
      const out = new Set<string>();
      for (const target of m.cfg.trigger.split(",")) {
        if (target === "*") {
          for (const o of this.#members) out.add(o.path);
        } else if (!known.has(target)) {
          this.problems.push(
            `Group "${this.name}" defines triggers to non-existent field "${target}"`,
          );
        } else if (byPath.has(target)) out.add(target);
      }
      m.triggers = [...out];
    }
  }

  /** The value of every member, read now. */
  #value(): PvStructValue {
    const top: Record<string, unknown> = {
      record: { _options: { queueSize: 0, atomic: this.#atomic } },
    };
    for (const m of this.#members) {
      if (m.cfg.type === "proc") continue;
      const snap = m.channel.snapshot();
      let v: unknown;
      switch (m.cfg.type) {
        case "scalar":
          v = snap;
          break;
        case "plain":
          v = snap.value;
          break;
        case "any": {
          const t = m.channel.type;
          v = {
            scalar: t.kind === "enum" ? "uint16" : t.scalar,
            array: t.kind === "array",
            value: snap.value,
          } as PvAnyValue;
          break;
        }
        case "meta":
          v = { alarm: snap, timeStamp: snap };
          break;
      }
      if (m.path === "") {
        Object.assign(top, v as object);
        continue;
      }
      const parts = m.path.split(".");
      let at = top;
      for (const p of parts.slice(0, -1)) {
        at = (at[p] ??= {}) as Record<string, unknown>;
      }
      at[parts[parts.length - 1]] = v;
    }
    return top;
  }

  /** The group read now, every member included. */
  snapshot(): PvSnapshot {
    return this.#snapshotMarking(undefined);
  }

  #snapshotMarking(changed: ReadonlyMap<string, number> | undefined): PvSnapshot {
    return {
      value: this.#value(),
      // A group has no alarm or metadata of its own: its members carry theirs.
      alarm: EMPTY_ALARM,
      timeStamp: { secPastEpoch: 0, nsec: 0 },
      display: EMPTY_DISPLAY,
      control: EMPTY_CONTROL,
      valueAlarm: EMPTY_VALUE_ALARM,
      changed,
    };
  }

  /** Paths a member's post marks, and with which bits, as a meta member "" shows them. */
  #mark(out: Map<string, number>, m: Bound, mask: number): void {
    if (m.cfg.type === "proc") return;
    if (m.cfg.type === "meta") {
      // A meta member is alarm_t and time_t: marked under their own paths.
      const base = m.path === "" ? "" : `${m.path}.`;
      out.set(`${base}alarm`, (out.get(`${base}alarm`) ?? 0) | mask);
      out.set(`${base}timeStamp`, (out.get(`${base}timeStamp`) ?? 0) | mask);
      return;
    }
    out.set(m.path, (out.get(m.path) ?? 0) | mask);
  }

  #post(changed: Map<string, number>): void {
    if (changed.size === 0 || this.#listeners.size === 0) return;
    const snap = this.#snapshotMarking(changed);
    for (const l of [...this.#listeners]) l(snap, PvChange.VALUE);
  }

  /** Registers a listener; the first starts watching the members' fields. */
  subscribe(listener: PvListener): () => void {
    this.#listeners.add(listener);
    if (this.#stops.length === 0) {
      const byPath = new Map(this.#members.map((m) => [m.path, m]));
      for (const m of this.#members) {
        this.#stops.push(m.channel.subscribe((_snap, mask) => {
          // QSRV watches each member's value and properties by two subscriptions: a post
          // of both is two updates, the value's first.
          if (mask & (PvChange.VALUE | PvChange.ALARM) && m.triggers.length) {
            // A trigger posts value and alarm of every member it names, as one update.
            const changed = new Map<string, number>();
            for (const p of m.triggers) {
              this.#mark(changed, byPath.get(p)!, PvChange.VALUE | PvChange.ALARM);
            }
            this.#post(changed);
          }
          if (mask & PvChange.PROPERTY) {
            const changed = new Map<string, number>();
            this.#mark(changed, m, PvChange.PROPERTY);
            this.#post(changed);
          }
        }));
      }
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        for (const s of this.#stops) s();
        this.#stops = [];
      }
    };
  }

  /** Whether `ctx` may read every member. */
  canRead(ctx?: PutContext): boolean {
    return this.#members.every((m) => m.channel.canRead(ctx));
  }

  /** Whether some member with a +putorder may be written by `ctx`. */
  canWrite(ctx?: PutContext): boolean {
    return this.#puts.some((m) => m.channel.canWrite(ctx));
  }

  /**
   * Writes the members a put marks, in +putorder; "proc" members process their record
   * whatever is marked. Stops at the first refusal, which it rejects with.
   * @param value a {@link StructurePut}-shaped `{ value, changed }` (lib/pva/nt)
   * @param ctx who puts
   */
  async put(value: unknown, ctx: PutContext): Promise<void> {
    const p = value as { value?: Record<string, unknown>; changed?: string[] };
    const marked = new Set(p?.changed ?? []);
    const content = p?.value ?? {};
    const within = (path: string) => {
      // Marked itself or through an enclosing structure (the whole put is "").
      for (let q = path;;) {
        if (marked.has(q)) return true;
        if (q === "") return false;
        const dot = q.lastIndexOf(".");
        q = dot < 0 ? "" : q.slice(0, dot);
      }
    };
    const read = (path: string): unknown => {
      let v: unknown = content;
      for (const part of path.split(".")) v = (v as Record<string, unknown>)?.[part];
      return v;
    };
    for (const m of this.#puts) {
      const ch = m.channel;
      const rec = ch.record;
      let write: unknown = undefined;
      switch (m.cfg.type) {
        case "scalar": {
          const vp = ch.type.kind === "enum" ? `${m.path}.value.index` : `${m.path}.value`;
          if (within(vp)) write = read(vp);
          break;
        }
        case "plain":
          if (marked.has(m.path)) write = read(m.path);
          break;
        case "any":
          // QSRV takes an any member's content only from a put of the whole structure.
          if (marked.has("")) {
            const u = read(m.path);
            write = u !== null && typeof u === "object" && "value" in u
              ? (u as { value: unknown }).value
              : u;
          }
          break;
        case "meta":
          continue;
        case "proc":
          ch.processRecord(ctx);
          continue;
      }
      if (write === undefined || write === null) continue;
      if (!ch.canWrite(ctx)) {
        throw new PutRefusedError(`Put not permitted (${rec.name}.${ch.field.name})`, "readonly");
      }
      await ch.put(write, ctx);
    }
  }
}

/**
 * Builds the groups of a database after iocInit: every record's definitions merged, then
 * one {@link GroupPv} each. Problems are reported as QSRV reports them (naming the record,
 * file and line, or the group) and leave out what they concern; they never stop the IOC.
 * @param records the records
 * @param channel finds the channel a +channel names
 * @param isRecord whether a name is a record's (a group of that name is not made)
 * @param warn where reports go
 * @returns the groups by name
 */
export function buildGroups(
  records: Iterable<IocRecord>,
  channel: (name: string) => FieldChannel | undefined,
  isRecord: (name: string) => boolean,
  warn: (m: string) => void,
): Map<string, GroupPv> {
  const out = new Map<string, GroupPv>();
  for (const [name, cfg] of groupConfigs(records, warn)) {
    if (isRecord(name)) {
      warn(`${name} : Error: Group name conflicts with record name.  Ignoring...`);
      continue;
    }
    try {
      const g = new GroupPv(name, cfg, channel);
      for (const p of g.problems) warn(`Error: ${p}`);
      out.set(name, g);
    } catch (e) {
      warn(`${name}: Error Group not created: ${(e as Error).message}`);
    }
  }
  return out;
}
