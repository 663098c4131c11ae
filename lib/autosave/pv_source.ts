/**
 * Where a save set's values come from and go to: the {@link PvSource} interface, and its
 * two network forms, over Channel Access ({@link CaSource}) and PV Access
 * ({@link PvaSource}). Every channel of a set is created at once and waited for with one
 * timeout; reads and writes go out together. A server that hosts the PVs itself (pvserve,
 * softioc) can implement PvSource over its own PV map instead.
 * @module
 */

import { textToChars } from "../core/bytes.ts";
import { CaContext } from "../ca/client/mod.ts";
import type { CaChannel, CaContextOptions } from "../ca/client/mod.ts";
import { assignPut, PvaClient } from "../pva/client/mod.ts";
import type { PvaClientOptions } from "../pva/client/mod.ts";
import { TypeCode } from "../pva/proto/typedesc.ts";
import type { PvValue } from "../pva/proto/value.ts";
import { NOT_CONNECTED } from "./sav.ts";
import type { SavEntry, SavKind, SavRecord } from "./sav.ts";

/** One PV read for a save: the entry to write, and why it has no value when it has none. */
export interface ReadOutcome {
  /** The entry (`error` set to "Not Connected" when not read, as synApps writes it). */
  readonly entry: SavEntry;
  /** Why it was not read (not found, no read access, timeout...). */
  readonly reason?: string;
}

/** One PV written by a restore. */
export interface WriteOutcome {
  /** The PV name. */
  readonly name: string;
  /** True when the server accepted the value. */
  readonly ok: boolean;
  /** Why not: not found, refused (with the server's status), bad value. */
  readonly reason?: string;
}

/** Options of {@link PvSource.watch}. */
export interface WatchOptions {
  /** Report the first update of each subscription too (default: only later ones). */
  includeFirst?: boolean;
}

/** Reads and writes the PVs of a save set. */
export interface PvSource {
  /**
   * Reads every PV at once (arrays with their current element count).
   * @param names PV names (a trailing `$`: the field as a long string)
   * @param timeoutSec one timeout for connecting and reading all of them
   * @returns one outcome per name, in order
   */
  read(names: readonly string[], timeoutSec: number): Promise<ReadOutcome[]>;
  /**
   * Writes saved values back (enums by index, arrays with their count, long strings).
   * @param records the values, as read from a save file
   * @param timeoutSec one timeout for connecting; each write waits at most this long
   * @param onProgress called with the number of writes finished so far
   * @returns one outcome per record, in order
   */
  write(
    records: readonly SavRecord[],
    timeoutSec: number,
    onProgress?: (done: number) => void,
  ): Promise<WriteOutcome[]>;
  /**
   * Calls `onChange` whenever one of the PVs posts a new value (a monitor set).
   * @param names the PVs
   * @param onChange called with the PV's name
   * @param options `includeFirst`: also for the first update of each subscription (the
   *   value when it started), which is skipped otherwise
   * @returns a function that stops watching
   */
  watch(
    names: readonly string[],
    onChange: (name: string) => void,
    options?: WatchOptions,
  ): () => void;
  /** Releases the channels and connections. */
  close(): Promise<void>;
}

// CA native value types (DBR_STRING..DBR_DOUBLE) as autosave kinds.
const CA_KINDS: SavKind[] = ["string", "short", "float", "enum", "uchar", "long", "double"];

const isNumText = (s: string) => s.trim() !== "" && Number.isFinite(Number(s));

/** The value to put for a saved text, given the channel's native type and count. */
function caPutValue(
  rec: SavRecord,
  nativeType: number,
  count: number,
): string | number | string[] | number[] {
  const v = rec.value;
  if (rec.name.endsWith("$")) return Array.isArray(v) ? v.join(" ") : v;
  if (Array.isArray(v)) {
    if (nativeType === 0) return v;
    const nums = v.map(Number);
    if (nums.some((x, i) => !Number.isFinite(x) && !/^-?(inf|nan)/i.test(v[i]))) {
      throw new Error(`bad value: not numbers`);
    }
    return nums;
  }
  if (nativeType === 0) return v;
  if (nativeType === 4 && count > 1) return v; // text into a char waveform
  if (isNumText(v)) return Number(v);
  if (/^[-+]?(inf|infinity|nan)$/i.test(v.trim())) return Number(v.trim().replace(/^\+/, ""));
  if (nativeType === 3) return v; // an enum state name: the server looks it up
  throw new Error(`bad value "${v}" for a numeric PV`);
}

function describeError(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  // "Cannot write "X": server returned ECA_PUTFAIL" -> keep the part after the name
  const i = m.indexOf('": ');
  return i >= 0 ? m.slice(i + 3) : m;
}

/** A {@link PvSource} over Channel Access: one context, one channel per name, batched reads. */
export class CaSource implements PvSource {
  readonly #ctx: CaContext;
  readonly #own: boolean;
  readonly #channels = new Map<string, CaChannel>();

  /**
   * @param ctx a context to use (kept open by {@link close}), or options to create one
   */
  constructor(ctx: CaContext | CaContextOptions = {}) {
    this.#own = !(ctx instanceof CaContext);
    this.#ctx = ctx instanceof CaContext ? ctx : new CaContext(ctx);
  }

  #channelsFor(names: readonly string[]): CaChannel[] {
    return names.map((n) => {
      let ch = this.#channels.get(n);
      if (!ch) {
        ch = this.#ctx.channel(n);
        this.#channels.set(n, ch);
      }
      return ch;
    });
  }

  /** Reads every PV at once. */
  async read(names: readonly string[], timeoutSec: number): Promise<ReadOutcome[]> {
    const chans = this.#channelsFor(names);
    await this.#ctx.waitConnected(chans, timeoutSec);
    const live: CaChannel[] = [];
    const liveAt: number[] = [];
    const out: ReadOutcome[] = new Array(names.length);
    for (let i = 0; i < chans.length; i++) {
      const ch = chans[i];
      if (ch.state !== "connected") {
        out[i] = { entry: { name: names[i], error: NOT_CONNECTED }, reason: "not found" };
      } else if (!ch.access.read) {
        out[i] = { entry: { name: names[i], error: NOT_CONNECTED }, reason: "no read access" };
      } else {
        live.push(ch);
        liveAt.push(i);
      }
    }
    // Scalars and arrays in two batches: arrays ask for their current length (count 0).
    const scal = live.filter((c) => c.count <= 1);
    const arr = live.filter((c) => c.count > 1);
    const [rs, ra] = await Promise.all([
      scal.length ? this.#ctx.getMany(scal, { timeoutSec }) : [],
      arr.length ? this.#ctx.getMany(arr, { timeoutSec, count: 0 }) : [],
    ]);
    const results = new Map<CaChannel, (typeof rs)[number]>();
    scal.forEach((c, i) => results.set(c, rs[i]));
    arr.forEach((c, i) => results.set(c, ra[i]));
    for (let k = 0; k < live.length; k++) {
      const i = liveAt[k];
      const ch = live[k];
      const r = results.get(ch)!;
      if (r instanceof Error) {
        out[i] = { entry: { name: names[i], error: NOT_CONNECTED }, reason: describeError(r) };
        continue;
      }
      const kind = CA_KINDS[ch.nativeType] ?? "double";
      const value = r.data.value;
      out[i] = {
        entry: {
          name: names[i],
          kind,
          value: ch.count <= 1 && !names[i].endsWith("$") ? value[0] : value,
        },
      };
    }
    return out;
  }

  /** Writes saved values back, all at once, each put waiting for the server's answer. */
  async write(
    records: readonly SavRecord[],
    timeoutSec: number,
    onProgress?: (done: number) => void,
  ): Promise<WriteOutcome[]> {
    const chans = this.#channelsFor(records.map((r) => r.name));
    await this.#ctx.waitConnected(chans, timeoutSec);
    let done = 0;
    const tick = <T>(x: T): T => {
      onProgress?.(++done);
      return x;
    };
    return await Promise.all(
      records.map(async (rec, i) => tick(await this.#put(rec, chans[i], timeoutSec))),
    );
  }

  async #put(rec: SavRecord, ch: CaChannel, timeoutSec: number): Promise<WriteOutcome> {
    {
      if (ch.state !== "connected") return { name: rec.name, ok: false, reason: "not found" };
      if (!ch.access.write) return { name: rec.name, ok: false, reason: "no write access" };
      let value;
      try {
        value = caPutValue(rec, ch.nativeType, ch.count);
      } catch (e) {
        return { name: rec.name, ok: false, reason: (e as Error).message };
      }
      try {
        await ch.put(value, { wait: true, timeoutSec });
        return { name: rec.name, ok: true };
      } catch (e) {
        return { name: rec.name, ok: false, reason: `refused: ${describeError(e)}` };
      }
    }
  }

  /** Subscribes to every PV; `onChange` on each update after the first (or on all). */
  watch(
    names: readonly string[],
    onChange: (name: string) => void,
    options: WatchOptions = {},
  ): () => void {
    const chans = this.#channelsFor(names);
    const seen = new Set<string>();
    const subs = chans.map((ch, i) =>
      ch.subscribe({ mask: 1 }, () => {
        // The first update of a subscription is the current value, not a change.
        if (options.includeFirst || seen.has(names[i])) onChange(names[i]);
        else seen.add(names[i]);
      })
    );
    return () => subs.forEach((s) => s.cancel());
  }

  /** Closes the channels (and the context when this source created it). */
  async close(): Promise<void> {
    if (this.#own) await this.#ctx.close();
    else for (const ch of this.#channels.values()) await ch.close();
    this.#channels.clear();
  }
}

const PVA_KINDS: Partial<Record<number, SavKind>> = {
  [TypeCode.BOOLEAN]: "uchar",
  [TypeCode.BYTE]: "char",
  [TypeCode.UBYTE]: "uchar",
  [TypeCode.SHORT]: "short",
  [TypeCode.USHORT]: "ushort",
  [TypeCode.INT]: "long",
  [TypeCode.UINT]: "ulong",
  [TypeCode.LONG]: "int64",
  [TypeCode.ULONG]: "uint64",
  [TypeCode.FLOAT]: "float",
  [TypeCode.DOUBLE]: "double",
  [TypeCode.STRING]: "string",
  [TypeCode.BOUNDED_STRING]: "string",
};

function pvaEntry(name: string, v: PvValue): SavEntry {
  const node = v.tryField("value");
  if (!node) return { name, error: NOT_CONNECTED };
  const code = node.type.code;
  if (code === TypeCode.STRUCTURE) {
    const idx = node.tryField("index");
    if (idx) return { name, kind: "enum", value: Number(idx.value) };
    return { name, error: NOT_CONNECTED };
  }
  // Arrays: the element type is the scalar code with the array bit (0x08) set.
  const scalarCode = code & 0x08 && code < 0x80 ? code & ~0x08 : code;
  const kind = PVA_KINDS[scalarCode] ?? "double";
  const raw = node.value as unknown;
  if (typeof raw === "boolean") return { name, kind, value: raw ? 1 : 0 };
  return { name, kind, value: raw as SavEntry["value"] };
}

/**
 * The put of a long string over PVA: into a byte array (an IOC's `REC.FIELD$`, as our
 * softioc serves it) its UTF-8 bytes and a NUL, as synApps puts DBR_CHAR; else the text.
 */
function longStringPut(text: string): (cur: PvValue) => void {
  return (cur) => {
    const node = cur.tryField("value");
    const code = node?.type.code ?? 0;
    const elem = code & 0x08 && code < 0x80 ? code & ~0x08 : -1;
    if (node && (elem === TypeCode.UBYTE || elem === TypeCode.BYTE)) {
      const chars = textToChars(text);
      node.assign(elem === TypeCode.BYTE ? new Int8Array(chars.buffer) : chars);
    } else assignPut(cur, text);
  };
}

function pvaPutValue(rec: SavRecord): unknown {
  const v = rec.value;
  if (rec.name.endsWith("$")) return longStringPut(Array.isArray(v) ? v.join(" ") : v);
  if (Array.isArray(v)) return v.every(isNumText) ? v.map(Number) : v;
  return isNumText(v) ? Number(v) : v;
}

/** A {@link PvSource} over PV Access: one client, every get or put in flight at once. */
export class PvaSource implements PvSource {
  readonly #client: PvaClient;
  readonly #own: boolean;

  /**
   * @param client a client to use (kept open by {@link close}), or options to create one
   */
  constructor(client: PvaClient | PvaClientOptions = {}) {
    this.#own = !(client instanceof PvaClient);
    this.#client = client instanceof PvaClient ? client : new PvaClient(client);
  }

  /** Reads every PV at once. */
  async read(names: readonly string[], timeoutSec: number): Promise<ReadOutcome[]> {
    const got = await this.#client.getMany(names, {
      request: "field(value)",
      timeout: timeoutSec,
    });
    return got.map((g, i) => {
      if (g instanceof Error) {
        const reason = g.name === "ChannelNotFoundError" ? "not found" : describeError(g);
        return { entry: { name: names[i], error: NOT_CONNECTED }, reason };
      }
      const entry = pvaEntry(names[i], g);
      return entry.error ? { entry, reason: "no value field" } : { entry };
    });
  }

  /** Writes saved values back, all at once. */
  async write(
    records: readonly SavRecord[],
    timeoutSec: number,
    onProgress?: (done: number) => void,
  ): Promise<WriteOutcome[]> {
    const done = await this.#client.putMany(
      records.map((r) => r.name),
      records.map(pvaPutValue),
      { timeout: timeoutSec, onProgress },
    );
    return done.map((e, i) => {
      if (e === undefined) return { name: records[i].name, ok: true };
      const reason = e.name === "ChannelNotFoundError"
        ? "not found"
        : e.name === "LocalProtocolError"
        ? `bad value: ${describeError(e)}`
        : `refused: ${describeError(e)}`;
      return { name: records[i].name, ok: false, reason };
    });
  }

  /** Monitors every PV; `onChange` on each update after the first (or on all). */
  watch(
    names: readonly string[],
    onChange: (name: string) => void,
    options: WatchOptions = {},
  ): () => void {
    const seen = new Set<string>();
    const subs = names.map((n) =>
      this.#client.monitor(n, (ev) => {
        if (ev.kind !== "data") return;
        if (options.includeFirst || seen.has(n)) onChange(n);
        else seen.add(n);
      }, { request: "field(value)" })
    );
    return () => subs.forEach((s) => void s.close());
  }

  /** Closes the client when this source created it. */
  async close(): Promise<void> {
    if (this.#own) await this.#client.close();
  }
}
