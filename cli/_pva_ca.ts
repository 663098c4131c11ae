/**
 * The `ca` provider of pvget, pvput, pvmonitor and pvinfo (`-p ca`): a Channel Access
 * channel read, written and monitored as a PVA structure, the way pvAccessCPP's ca
 * provider presents it. Pure mapping functions first; then the reads ({@link caGet}),
 * writes ({@link caPut}) and monitors ({@link runCaMonitors}) over a CA client context.
 *
 * What pvAccessCPP's ca provider builds from a channel of native type DBF_x (observed
 * against softIocPVX, field order kept):
 *
 * ```text
 * DBF_ENUM            epics:nt/NTEnum:1.0 { enum_t value, alarm_t alarm, time_t timeStamp }
 * DBF_STRING          structure { string value, alarm_t alarm, time_t timeStamp }
 * numeric, 1 element  structure { T value, alarm_t alarm, display_t display,
 *                                 control_t control, valueAlarm_t valueAlarm }
 * numeric, array      structure { T[] value, alarm_t alarm, display_t display }
 * ```
 * Numeric channels are read as DBR_CTRL_x, which has no time stamp, so a plain pvget
 * shows none; a request naming timeStamp and none of display/control/valueAlarm reads
 * DBR_TIME_x instead. A request keeps only the top-level members it names.
 * @module
 */

import { type FieldDesc, T } from "../lib/pva/proto/typedesc.ts";
import { PvValue } from "../lib/pva/proto/value.ts";
import { parseRequest } from "../lib/pva/proto/request.ts";
import { Dbr, Eca } from "../lib/ca/proto/constants.ts";
import type { DbrData } from "../lib/ca/proto/dbr_types.ts";
import { AlarmStatus, statusName } from "../lib/core/alarm.ts";
import { epicsToPosix } from "../lib/core/time.ts";
import type { CaContext, PutValue, Subscription } from "../lib/ca/client/mod.ts";
import { CaStatusError } from "../lib/core/errors.ts";
import { type CliIO, untilAborted } from "./_io.ts";
import { caMessage, circuitLossText, contextFor, utcOffsetFor } from "./_ca_cli.ts";
import { type CommonOptions, printValue } from "./_pva_common.ts";

const ALARM_T = T.struct("alarm_t", [["severity", T.int], ["status", T.int], [
  "message",
  T.string,
]]);
const TIME_T = T.struct("time_t", [["secondsPastEpoch", T.long], ["nanoseconds", T.int], [
  "userTag",
  T.int,
]]);
const DISPLAY_T = T.struct("display_t", [
  ["limitLow", T.double],
  ["limitHigh", T.double],
  ["description", T.string],
  ["format", T.string],
  ["units", T.string],
]);
const CONTROL_T = T.struct("control_t", [["limitLow", T.double], ["limitHigh", T.double], [
  "minStep",
  T.double,
]]);
const ENUM_T = T.struct("enum_t", [["index", T.int], ["choices", T.array(T.string)]]);

/** pvData's scalar type of each DBF type (DBF_CHAR is a signed byte there). */
function scalarOf(dbf: number): FieldDesc {
  switch (dbf) {
    case Dbr.STRING:
      return T.string;
    case Dbr.SHORT:
      return T.short;
    case Dbr.FLOAT:
      return T.float;
    case Dbr.CHAR:
      return T.byte;
    case Dbr.LONG:
      return T.int;
    default:
      return T.double;
  }
}

function valueAlarmT(v: FieldDesc): FieldDesc {
  return T.struct("valueAlarm_t", [
    ["active", T.boolean],
    ["lowAlarmLimit", v],
    ["lowWarningLimit", v],
    ["highWarningLimit", v],
    ["highAlarmLimit", v],
    ["lowAlarmSeverity", T.int],
    ["lowWarningSeverity", T.int],
    ["highWarningSeverity", T.int],
    ["highAlarmSeverity", T.int],
    ["hysteresis", T.byte],
  ]);
}

/** How a channel is read and shown: the type and the DBR requests that fill it. */
export interface CaPlan {
  type: FieldDesc;
  /** DBR type of the read that gives the value (TIME_x or CTRL_x). */
  dbrType: number;
  /** DBR_CTRL_ENUM, read as well for an enum's choices. */
  choicesDbr?: number;
}

const CTRL_MEMBERS = ["display", "control", "valueAlarm"];

/**
 * The structure pvAccessCPP's ca provider shows for a channel, and the reads behind it.
 * @param nativeType the channel's DBF type (0..6)
 * @param count the channel's element count
 * @param request the pvRequest ("" for everything)
 */
export function caPlan(nativeType: number, count: number, request = ""): CaPlan {
  const wanted = parseRequest(request).field?.fields;
  const keep = (members: [string, FieldDesc][]) =>
    wanted && wanted.size > 0 ? members.filter(([n]) => wanted.has(n)) : members;
  if (nativeType === Dbr.ENUM) {
    const members = keep([["value", ENUM_T], ["alarm", ALARM_T], ["timeStamp", TIME_T]]);
    return {
      type: T.struct("epics:nt/NTEnum:1.0", members),
      dbrType: Dbr.TIME_ENUM,
      choicesDbr: members.some(([n]) => n === "value") ? Dbr.CTRL_ENUM : undefined,
    };
  }
  const sc = scalarOf(nativeType);
  const value = count === 1 ? sc : T.array(sc);
  if (nativeType === Dbr.STRING) {
    const members = keep([["value", value], ["alarm", ALARM_T], ["timeStamp", TIME_T]]);
    return { type: T.struct("", members), dbrType: Dbr.TIME_STRING };
  }
  const ctrl: [string, FieldDesc][] = count === 1
    ? [["display", DISPLAY_T], ["control", CONTROL_T], ["valueAlarm", valueAlarmT(sc)]]
    : [["display", DISPLAY_T]];
  const useCtrl = !wanted || wanted.size === 0 || CTRL_MEMBERS.some((n) => wanted.has(n));
  const members = useCtrl
    ? keep([["value", value], ["alarm", ALARM_T], ...ctrl])
    : keep([["value", value], ["alarm", ALARM_T], ["timeStamp", TIME_T]]);
  return {
    type: T.struct("", members),
    dbrType: (useCtrl ? Dbr.CTRL_STRING : Dbr.TIME_STRING) + nativeType,
  };
}

/** The display format pvAccessCPP's ca provider derives from the DBR type and precision. */
function formatOf(nativeType: number, precision: number): string {
  switch (nativeType) {
    case Dbr.FLOAT:
    case Dbr.DOUBLE:
      return `F${precision + 6}.${precision}`;
    case Dbr.SHORT:
      return "I6";
    case Dbr.CHAR:
      return "I4";
    default:
      return "I12";
  }
}

/**
 * Fills the planned structure from the CA data (every field marked changed).
 * @param plan from {@link caPlan}
 * @param nativeType the channel's DBF type
 * @param data the value read (plan.dbrType)
 * @param choices the DBR_CTRL_ENUM read of an enum, when planned
 */
export function caValue(
  plan: CaPlan,
  nativeType: number,
  data: DbrData,
  choices?: DbrData,
): PvValue {
  const v = PvValue.create(plan.type);
  const m = data.meta;
  const has = (n: string) => plan.type.members.some((x) => x.name === n);
  if (has("value")) {
    const node = v.field("value");
    if (nativeType === Dbr.ENUM) {
      v.set("value.index", (data.value as Uint16Array)[0] ?? 0);
      v.set("value.choices", choices?.meta.enumStrings ?? []);
    } else if (node.type.kind === "scalar") {
      v.set("value", (data.value as ArrayLike<unknown>)[0] ?? (nativeType === 0 ? "" : 0));
    } else {
      v.set("value", Array.from(data.value as ArrayLike<unknown>));
    }
  }
  if (has("alarm")) {
    // pvAccessCPP reports any CA alarm other than UDF as a DEVICE alarm, named by the
    // CA status in the message.
    const st = m.status;
    v.set("alarm.severity", m.severity);
    v.set("alarm.status", st === 0 ? 0 : st === AlarmStatus.UDF ? 6 : 1);
    v.set("alarm.message", st === 0 ? "" : statusName(st));
  }
  if (has("timeStamp") && m.stamp) {
    // An undefined (zero) EPICS time stays zero rather than becoming 1990-01-01.
    const undef = m.stamp.secPastEpoch === 0 && m.stamp.nsec === 0;
    const p = epicsToPosix(m.stamp);
    v.set("timeStamp.secondsPastEpoch", undef ? 0 : p.secondsPastEpoch);
    v.set("timeStamp.nanoseconds", undef ? 0 : p.nanoseconds);
  }
  if (has("display")) {
    v.set("display.limitLow", m.lowerDispLimit ?? 0);
    v.set("display.limitHigh", m.upperDispLimit ?? 0);
    v.set("display.format", formatOf(nativeType, m.precision ?? 0));
    v.set("display.units", m.units ?? "");
  }
  if (has("control")) {
    v.set("control.limitLow", m.lowerCtrlLimit ?? 0);
    v.set("control.limitHigh", m.upperCtrlLimit ?? 0);
  }
  if (has("valueAlarm")) {
    v.set("valueAlarm.lowAlarmLimit", m.lowerAlarmLimit ?? 0);
    v.set("valueAlarm.lowWarningLimit", m.lowerWarningLimit ?? 0);
    v.set("valueAlarm.highWarningLimit", m.upperWarningLimit ?? 0);
    v.set("valueAlarm.highAlarmLimit", m.upperAlarmLimit ?? 0);
  }
  return v.clearChanged().markChanged();
}

/**
 * Connects to a CA channel and returns its type as the ca provider shows it (pvinfo).
 * @throws {ChannelNotFoundError} / {TimeoutError} when the channel does not connect in time
 */
export async function caInfo(ctx: CaContext, name: string, timeout: number): Promise<FieldDesc> {
  const ch = ctx.channel(name);
  await ch.connected(timeout);
  return caPlan(ch.nativeType, ch.count).type;
}

/**
 * Reads a CA channel as pvAccessCPP's ca provider presents it (pvget).
 * @throws {ChannelNotFoundError} / {TimeoutError} when the channel does not connect in time
 */
export async function caGet(
  ctx: CaContext,
  name: string,
  opts: { request: string; timeout: number },
): Promise<PvValue> {
  const ch = ctx.channel(name);
  await ch.connected(opts.timeout);
  const native = ch.nativeType;
  const plan = caPlan(native, ch.count, opts.request);
  // Count 0: as many elements as the record holds now (a waveform's NORD).
  const count = ch.count === 1 ? 1 : 0;
  const [data, choices] = await Promise.all([
    ch.get({ dbrType: plan.dbrType, count, timeoutSec: opts.timeout }),
    plan.choicesDbr === undefined
      ? undefined
      : ch.get({ dbrType: plan.choicesDbr, count: 1, timeoutSec: opts.timeout }),
  ]);
  return caValue(plan, native, data.data, choices?.data);
}

/**
 * Marks in `next` the leaf fields whose value differs from `prev` (every field when
 * there is no `prev`), as pvAccessCPP's ca provider marks a monitor update: it compares
 * each field with the last update, so a NaN (never equal to itself) shows every time.
 * @param prev the previous update, or undefined for the first one
 * @param next the new update, of the same type (its marks are replaced)
 * @returns next
 */
export function markDifferences(prev: PvValue | undefined, next: PvValue): PvValue {
  next.clearChanged();
  if (!prev || prev.type !== next.type) return next.markChanged();
  const walk = (a: PvValue, b: PvValue) => {
    if (b.type.kind === "structure") {
      const am = a.members();
      b.members().forEach(([, bm], i) => walk(am[i][1], bm));
      return;
    }
    if (!sameLeaf(a.value, b.value)) b.markChanged();
  };
  walk(prev, next);
  return next;
}

function sameLeaf(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) {
    return a === b;
  }
  const x = a as ArrayLike<unknown>;
  const y = b as ArrayLike<unknown>;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * What the ca provider writes for a put structure: its `value` (an enum's index).
 * @param put the structure built from pvput's arguments
 * @returns the value to send over CA
 */
export function caPutValue(put: PvValue): PutValue {
  const v = put.field("value");
  if (v.type.kind === "structure") return Number(v.get("index"));
  const x = v.value;
  if (typeof x === "bigint") return Number(x);
  if (typeof x !== "object" || x === null) return x as number | string | boolean;
  return Array.from(
    x as ArrayLike<number | string | boolean | bigint>,
    (e) => typeof e === "bigint" ? Number(e) : e,
  );
}

/**
 * Writes a put structure's value to a CA channel and waits for completion (pvput).
 * @throws {ChannelNotFoundError} / {TimeoutError} when the channel does not connect
 * @throws {CaStatusError} when the server or the access rights refuse the write
 */
export async function caPut(
  ctx: CaContext,
  name: string,
  put: PvValue,
  timeout: number,
): Promise<void> {
  const ch = ctx.channel(name);
  await ch.connected(timeout);
  const value = caPutValue(put);
  // libca refuses more elements than the channel holds before sending anything.
  if (typeof value === "object" && value.length > ch.count) {
    throw new CaStatusError(`Cannot write ${value.length} elements to "${name}"`, Eca.BADCOUNT);
  }
  await ch.put(value, { wait: true, timeoutSec: timeout });
}

/** What pvAccessCPP prints for a failed CA operation: ca_message's text, else ours. */
export function caErrorText(e: unknown): string | undefined {
  return e instanceof CaStatusError ? caMessage(e.eca) : undefined;
}

/**
 * pvmonitor / `pvget -m` with the ca provider: subscribes to each channel as it
 * connects and prints every update in `c.mode`, marking only what changed since the
 * last update. A lost server prints libca's "Virtual circuit disconnect" report on
 * stderr (pvAccessCPP prints no `<Disconnect>` line for CA); subscriptions resume by
 * themselves when it returns. Runs until the io signal aborts.
 * @returns 1 when a subscription reported an error, else 0
 */
export async function runCaMonitors(
  names: readonly string[],
  c: CommonOptions,
  io: CliIO,
): Promise<number> {
  const pad = Math.max(...names.map((n) => n.length));
  const utcOffset = utcOffsetFor(io.env);
  const ctx = contextFor(io, {
    onCircuitLost: (address, loss) => io.stderr(circuitLossText(address, loss, utcOffset)),
  });
  let failed = false;
  const subs: Subscription[] = [];
  const offs = names.map((name) => {
    const ch = ctx.channel(name);
    let started = false;
    let prev: PvValue | undefined;
    return ch.onConnection(async (up) => {
      if (!up) {
        prev = undefined;
        return;
      }
      if (started) return;
      started = true;
      const native = ch.nativeType;
      const plan = caPlan(native, ch.count, c.request);
      let choices: DbrData | undefined;
      if (plan.choicesDbr !== undefined) {
        try {
          choices = (await ch.get({ dbrType: plan.choicesDbr, count: 1, timeoutSec: c.timeout }))
            .data;
        } catch {
          // no choices: the enum shows its index alone
        }
      }
      if (io.signal.aborted) return;
      subs.push(ch.subscribe({ dbrType: plan.dbrType, count: ch.count === 1 ? 1 : 0 }, (u) => {
        if ("error" in u) {
          failed = true;
          io.stderr(`${name.padEnd(pad)} Error ${caMessage(u.error.eca)}\n`);
          return;
        }
        const v = markDifferences(prev, caValue(plan, native, u.data, choices));
        prev = v;
        io.stdout(printValue(name, pad, v, c));
      }));
    });
  });
  try {
    await untilAborted(io.signal);
  } finally {
    for (const off of offs) off();
    for (const s of subs) s.cancel();
    await ctx.close();
  }
  return failed ? 1 : 0;
}
