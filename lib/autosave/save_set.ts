/**
 * Save sets: read every PV of a request set and write the save file, once or as synApps'
 * `create_periodic_set` / `create_monitor_set` / `create_triggered_set` do. Usable without
 * the command line: give it names, a {@link PvSource} and a file.
 * @module
 */

import { formatJsonSave } from "./formats.ts";
import { writeSavFile } from "./files.ts";
import type { WriteSavOptions, WriteSavResult } from "./files.ts";
import type { PvSource, ReadOutcome } from "./pv_source.ts";
import { formatSav } from "./sav.ts";

/** What one save did. */
export interface SaveReport {
  /** The file written. */
  readonly path: string;
  /** PVs in the set. */
  readonly total: number;
  /** The PVs not read, with why (they are written as `#NAME Not Connected`). */
  readonly failed: { name: string; reason: string }[];
  /** Every PV's outcome, in order. */
  readonly outcomes: ReadOutcome[];
  /** The files written (backup, dated, sequence). */
  readonly written: WriteSavResult;
  /** Milliseconds from the start of the reads to the end of the write. */
  readonly ms: number;
}

/** Options of {@link saveOnce} and {@link SaveSet}. */
export interface SaveSetOptions {
  /** The PV names, in request-file order. */
  readonly names: readonly string[];
  /** Where values come from. */
  readonly source: PvSource;
  /** The save file. */
  readonly path: string;
  /** `synapps` (default) or `json` (epicsdev's shape). */
  readonly format?: "synapps" | "json";
  /** Backup, dated copy and sequence files (see {@link writeSavFile}). */
  readonly write?: Omit<WriteSavOptions, "dated"> & { dated?: boolean };
  /** One timeout, seconds, for connecting and reading the whole set (default 5). */
  readonly timeoutSec?: number;
  /** The clock for header dates (default `() => new Date()`). */
  readonly now?: () => Date;
}

/**
 * Reads the set and writes its save file once.
 * @param options names, source, file, format, timeout
 * @returns what was read and written
 * @throws SavWriteError when the file cannot be written (the old one is kept)
 * @example
 * ```ts ignore
 * import { CaSource, loadReqFile, saveOnce } from "./mod.ts";
 * const set = loadReqFile("auto_settings.req", { macros: "P=xxx:" });
 * const source = new CaSource();
 * const r = await saveOnce({ names: set.entries.map((e) => e.name), source, path: "auto_settings.sav" });
 * await source.close();
 * ```
 */
export async function saveOnce(options: SaveSetOptions): Promise<SaveReport> {
  const t0 = performance.now();
  const outcomes = await options.source.read(options.names, options.timeoutSec ?? 5);
  const entries = outcomes.map((o) => o.entry);
  const date = (options.now ?? (() => new Date()))();
  const text = options.format === "json" ? formatJsonSave(entries) : formatSav(entries, { date });
  const { dated, ...w } = options.write ?? {};
  const written = await writeSavFile(options.path, text, { ...w, dated: dated ? date : undefined });
  const failed: { name: string; reason: string }[] = [];
  for (const o of outcomes) {
    if (o.entry.error !== undefined) {
      failed.push({ name: o.entry.name, reason: o.reason ?? o.entry.error });
    }
  }
  return {
    path: options.path,
    total: options.names.length,
    failed,
    outcomes,
    written,
    ms: performance.now() - t0,
  };
}

/** How a running set decides to save. */
export type SaveTrigger =
  /** Every `seconds` (create_periodic_set). */
  | { kind: "periodic"; seconds: number }
  /** At most every `seconds`, when some PV changed (create_monitor_set). */
  | { kind: "onChange"; seconds: number }
  /** Whenever the trigger PV posts (create_triggered_set). */
  | { kind: "triggered"; pv: string };

/**
 * A save set that keeps running: saves at start, then as its trigger says, until
 * {@link SaveSet.stop}, which writes a last save. Saves never overlap; a failed save is
 * reported through `onError` and the set keeps running.
 * @example
 * ```ts ignore
 * const set = new SaveSet({ names, source, path: "x.sav" }, { kind: "onChange", seconds: 5 },
 *   { onSave: (r) => console.log(r.path), onError: (e) => console.error(e.message) });
 * await set.start();
 * // ...
 * await set.stop();
 * ```
 */
export class SaveSet {
  readonly #options: SaveSetOptions;
  readonly #trigger: SaveTrigger;
  readonly #onSave?: (r: SaveReport) => void;
  readonly #onError?: (e: Error) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #unwatch: (() => void) | undefined;
  #dirty = false;
  #running: Promise<void> = Promise.resolve();
  #pending = false;
  #stopped = false;
  #saves = 0;

  /**
   * @param options what to save and where
   * @param trigger when to save
   * @param handlers called after each save and on each failed save
   */
  constructor(
    options: SaveSetOptions,
    trigger: SaveTrigger,
    handlers: { onSave?: (r: SaveReport) => void; onError?: (e: Error) => void } = {},
  ) {
    this.#options = options;
    this.#trigger = trigger;
    this.#onSave = handlers.onSave;
    this.#onError = handlers.onError;
  }

  /** Saves done so far. */
  get saves(): number {
    return this.#saves;
  }

  /** Saves once now (queued after a save in progress; two requests meanwhile make one save). */
  save(): Promise<void> {
    if (this.#pending) return this.#running;
    this.#pending = true;
    this.#running = this.#running.then(async () => {
      this.#pending = false;
      this.#dirty = false;
      try {
        const r = await saveOnce(this.#options);
        this.#saves++;
        this.#onSave?.(r);
      } catch (e) {
        this.#onError?.(e as Error);
      }
    });
    return this.#running;
  }

  /** Makes the first save and starts the trigger. */
  async start(): Promise<void> {
    const t = this.#trigger;
    if (t.kind === "onChange") {
      // Watch before the first save and count every update, the first of each
      // subscription too (a save clears the mark before it reads): a change made after
      // the save read a PV either posts an update or is the value a late first update
      // carries, so none is lost; a first update that only repeats the saved value costs
      // one extra save.
      this.#unwatch = this.#options.source.watch(this.#options.names, () => {
        this.#dirty = true;
      }, { includeFirst: true });
      await this.save();
      if (this.#stopped) return;
      this.#timer = setInterval(() => {
        if (this.#dirty) void this.save();
      }, Math.max(0.01, t.seconds) * 1000);
      return;
    }
    await this.save();
    if (this.#stopped) return;
    if (t.kind === "periodic") {
      this.#timer = setInterval(() => void this.save(), Math.max(0.01, t.seconds) * 1000);
    } else {
      this.#unwatch = this.#options.source.watch([t.pv], () => void this.save());
    }
  }

  /** Stops the trigger and writes a last save (as autosave does at a clean exit). */
  async stop(options: { lastSave?: boolean } = {}): Promise<void> {
    if (this.#stopped) return await this.#running;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#unwatch?.();
    if (options.lastSave ?? true) await this.save();
    else await this.#running;
  }
}
