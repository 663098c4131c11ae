/**
 * Put logging: every put to a hosted PV, over CA or PVA, becomes one JSON line with
 * epicsdev's keys (date, time, host, user, pv, new, old); refused puts are logged too,
 * with `"refused": true` and the reason.
 * @module
 */

import type { PutContext, PvProvider, PvSnapshot, PvValue, ServedPv } from "../pv/types.ts";

/** One logged put. */
export interface PutLogEntry {
  /** Local date, YYYY-MM-DD. */
  date: string;
  /** Local time, HH:MM:SS.mmm. */
  time: string;
  /** The client's host (CA HOST_NAME; PVA "ca" host or peer address). */
  host: string;
  /** The client's user (CA CLIENT_NAME; PVA "ca" account). */
  user: string;
  /** The PV name. */
  pv: string;
  /** The value after the put (refused: the value asked for); enums as their state text. */
  new: unknown;
  /** The value before the put; enums as their state text. */
  old: unknown;
  /** Present (true) when the put was refused. */
  refused?: true;
  /** Why the put was refused. */
  reason?: string;
}

/** Longest array logged in full; longer ones are cut, with a note of their length. */
const MAX_LOGGED_ELEMENTS = 100;

function plain(v: unknown, choices?: readonly string[]): unknown {
  if (choices && typeof v === "number") return choices[v] ?? v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (ArrayBuffer.isView(v) || Array.isArray(v)) {
    const a = v as ArrayLike<unknown>;
    const out: unknown[] = [];
    const n = Math.min(a.length, MAX_LOGGED_ELEMENTS);
    for (let i = 0; i < n; i++) out.push(plain(a[i]));
    if (a.length > n) out.push(`... ${a.length} elements`);
    return out;
  }
  if (v !== null && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
}

function two(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/**
 * Builds a log entry.
 * @param pv the PV's name and type
 * @param ctx who put
 * @param before the snapshot before the put
 * @param after the value after the put (or, refused, the value asked for)
 * @param ms when, in milliseconds since 1970
 * @param reason why it was refused (absent: accepted)
 * @returns the entry
 * @example
 * ```ts
 * import { formatPutLogLine, putLogEntry } from "./putlog.ts";
 * import { SharedPV } from "../pv/mod.ts";
 * const pv = new SharedPV("m", { type: "enum", choices: ["Off", "On"] });
 * const e = putLogEntry(pv, { protocol: "ca", user: "ann", host: "pc1" }, pv.snapshot(), 1, 0);
 * if (e.old !== "Off" || e.new !== "On" || e.user !== "ann") throw new Error();
 * if (!formatPutLogLine(e).startsWith('{"date":"')) throw new Error();
 * ```
 */
export function putLogEntry(
  pv: Pick<ServedPv, "name">,
  ctx: PutContext,
  before: PvSnapshot,
  after: unknown,
  ms: number,
  reason?: string,
): PutLogEntry {
  const d = new Date(ms);
  const e: PutLogEntry = {
    date: `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`,
    time: `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${
      two(d.getMilliseconds(), 3)
    }`,
    host: ctx.host,
    user: ctx.user,
    pv: pv.name,
    new: after === undefined ? null : plain(after, before.choices),
    old: plain(before.value, before.choices),
  };
  if (reason !== undefined) {
    e.refused = true;
    e.reason = reason;
  }
  return e;
}

/**
 * One JSON line (no newline) for an entry, keys in epicsdev's order.
 * @param e the entry
 * @returns the JSON text
 */
export function formatPutLogLine(e: PutLogEntry): string {
  return JSON.stringify(e);
}

/** Receives each put-log entry. */
export type PutLogSink = (entry: PutLogEntry) => void;

class LoggedPv implements ServedPv {
  readonly name: string;
  readonly type: ServedPv["type"];
  readonly #inner: ServedPv;
  readonly #sink: PutLogSink;
  readonly #now: () => number;
  rpc?: ServedPv["rpc"];

  constructor(inner: ServedPv, sink: PutLogSink, now: () => number) {
    this.#inner = inner;
    this.#sink = sink;
    this.#now = now;
    this.name = inner.name;
    this.type = inner.type;
    if (inner.rpc) this.rpc = (args, ctx) => inner.rpc!(args, ctx);
  }

  snapshot(): PvSnapshot {
    return this.#inner.snapshot();
  }

  subscribe(listener: Parameters<ServedPv["subscribe"]>[0]): () => void {
    return this.#inner.subscribe(listener);
  }

  canWrite(ctx?: PutContext): boolean {
    return this.#inner.canWrite(ctx);
  }

  canRead(ctx?: PutContext): boolean {
    return this.#inner.canRead?.(ctx) ?? true;
  }

  watchAccess(listener: () => void): () => void {
    return this.#inner.watchAccess?.(listener) ?? (() => {});
  }

  /** Logs a put the server refused before it reached {@link put} (no write access, bad data). */
  putRefused(value: unknown, ctx: PutContext, reason: string): void {
    this.#log(ctx, this.#inner.snapshot(), value, reason);
  }

  put(value: unknown, ctx: PutContext): Promise<void> {
    const before = this.#inner.snapshot();
    // The inner put runs now (synchronously where it can), so a read that follows the put
    // on the same connection sees the new value.
    return this.#inner.put(value, ctx).then(
      () => this.#log(ctx, before, this.#inner.snapshot().value),
      (e) => {
        this.#log(ctx, before, value, (e as Error).message ?? String(e));
        throw e;
      },
    );
  }

  #log(ctx: PutContext, before: PvSnapshot, after: unknown, reason?: string): void {
    try {
      this.#sink(putLogEntry(this, ctx, before, after as PvValue, this.#now(), reason));
    } catch {
      // A failing log sink must not turn an applied put into an error.
    }
  }
}

/**
 * A provider whose PVs log every put (accepted or refused) to `sink`; everything else is
 * the wrapped provider's.
 * @param provider the PVs
 * @param sink where entries go
 * @param now the clock (tests inject one)
 * @returns the logging provider (one wrapper per PV, kept for the PV's lifetime)
 * @example
 * ```ts
 * import { PvMap, SharedPV } from "../pv/mod.ts";
 * import { type PutLogEntry, withPutLog } from "./putlog.ts";
 * const log: PutLogEntry[] = [];
 * const p = withPutLog(new PvMap([new SharedPV("x", { type: "float64", value: 1 })]), (e) => log.push(e));
 * await p.lookup("x")!.put(2, { protocol: "pva", user: "bob", host: "10.0.0.5" });
 * if (log[0].old !== 1 || log[0].new !== 2 || log[0].host !== "10.0.0.5") throw new Error();
 * ```
 */
export function withPutLog(
  provider: PvProvider,
  sink: PutLogSink,
  now: () => number = Date.now,
): PvProvider {
  const wrappers = new WeakMap<ServedPv, LoggedPv>();
  return {
    lookup(name: string): ServedPv | undefined {
      const pv = provider.lookup(name);
      if (!pv) return undefined;
      let w = wrappers.get(pv);
      if (!w) wrappers.set(pv, w = new LoggedPv(pv, sink, now));
      return w;
    },
    names: () => provider.names(),
  };
}
