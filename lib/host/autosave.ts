/**
 * Autosave of a host's writable PVs in synApps `.sav` format (lib/autosave): restore before
 * serving, save a few seconds after any successful put and on a clean exit. Enums are
 * saved by index, so a changed choice list still restores; writes are atomic and the
 * previous good file is kept as `.savB`, so a kill -9 at any moment leaves a good file.
 * @module
 */

import { join } from "node:path";
import { formatSav, type SavEntry, type SavKind } from "../autosave/sav.ts";
import { readSavFile, SavReadError, writeSavFile } from "../autosave/files.ts";
import type { ScalarType, ServedPv } from "../pv/types.ts";
import type { SharedPV } from "../pv/shared_pv.ts";

const KINDS: Record<ScalarType, SavKind> = {
  float64: "double",
  float32: "float",
  int8: "char",
  uint8: "uchar",
  int16: "short",
  uint16: "ushort",
  int32: "long",
  uint32: "ulong",
  int64: "int64",
  uint64: "uint64",
  string: "string",
  boolean: "uchar",
};

/** Control PVs that describe this run, not settings: never saved or restored. */
const NOT_SAVED = new Set(["server", "status"]);

/**
 * Whether a PV is saved: writable, not a table or image, not a run-state control PV.
 * @param pv the PV
 * @param prefix the host's prefix (to recognise its control PVs)
 */
export function autosaved(pv: ServedPv, prefix = ""): boolean {
  if (!pv.canWrite()) return false;
  if (pv.type.kind === "table" || pv.type.nt === "NTNDArray") return false;
  return !(pv.name.startsWith(prefix) && NOT_SAVED.has(pv.name.slice(prefix.length)));
}

/**
 * The save-file entry of a PV (enums by index).
 * @param pv the PV
 * @returns the entry
 * @example
 * ```ts
 * import { SharedPV } from "../pv/mod.ts";
 * import { savEntry } from "./autosave.ts";
 * const e = savEntry(new SharedPV("m", { type: "enum", choices: ["A", "B"], value: 1 }));
 * if (e.kind !== "enum" || e.value !== 1) throw new Error();
 * ```
 */
export function savEntry(pv: ServedPv): SavEntry {
  const v = pv.snapshot().value;
  const kind: SavKind = pv.type.kind === "enum" ? "enum" : KINDS[pv.type.scalar];
  const value = typeof v === "boolean"
    ? Number(v)
    : Array.isArray(v) && typeof v[0] === "boolean"
    ? (v as boolean[]).map(Number)
    : v;
  return { name: pv.name, kind, value: value as SavEntry["value"] };
}

/**
 * The save file's text for these PVs.
 * @param pvs the PVs to save, in order
 * @param date the header's time
 * @returns the `.sav` text
 */
export function formatAutosave(pvs: Iterable<ServedPv>, date: Date): string {
  return formatSav([...pvs].map(savEntry), { date });
}

/** What {@link restoreAutosave} did. */
export interface RestoreReport {
  /** The file read (the `.sav` or its `.savB`), undefined when there was none. */
  file?: string;
  /** Why the backup was read instead, when it was. */
  fallback?: string;
  /** Names restored. */
  restored: string[];
  /** Names in the file that could not be restored, with the reason. */
  skipped: { name: string; reason: string }[];
}

/**
 * Restores saved values into the PVs (posting them; setters are not called, as an IOC
 * restores before its records process). A missing file restores nothing.
 * @param path the `.sav` file
 * @param lookup finds a PV by name
 * @param post applies a restored value (default: the PV's own post)
 * @returns what was restored and skipped
 * @throws SavReadError when the file and its backup exist but neither is a valid save file
 */
export async function restoreAutosave(
  path: string,
  lookup: (name: string) => SharedPV | undefined,
  post: (pv: SharedPV, value: unknown) => void = (pv, v) => pv.post(v),
): Promise<RestoreReport> {
  const report: RestoreReport = { restored: [], skipped: [] };
  let read;
  try {
    read = await readSavFile(path);
  } catch (e) {
    if (e instanceof SavReadError && !(await exists(path)) && !(await exists(path + "B"))) {
      return report;
    }
    throw e;
  }
  report.file = read.path;
  report.fallback = read.fallback;
  for (const r of read.doc.records) {
    const name = r.name.replace(/\$$/, "");
    const pv = lookup(name);
    if (!pv) {
      report.skipped.push({ name, reason: "no such PV" });
      continue;
    }
    try {
      let v: unknown = r.value;
      if (pv.type.kind === "enum") v = Number(v);
      else if (pv.type.kind === "array" && typeof v === "string") v = v === "" ? [] : [v];
      if (pv.type.scalar === "boolean") {
        v = Array.isArray(v) ? v.map((x) => Number(x) !== 0) : Number(v) !== 0;
      }
      post(pv, v);
      report.restored.push(name);
    } catch (e) {
      report.skipped.push({ name, reason: (e as Error).message });
    }
  }
  return report;
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** How to run an {@link Autosaver}. */
export interface AutosaverOptions {
  /** Seconds from the first unsaved put to the save (default 10). */
  period?: number;
  /** Told of each save or failure (for logs). */
  onSave?: (error?: Error) => void;
}

/**
 * Saves a set of PVs to a `.sav` file within `period` seconds after {@link markDirty}, and
 * on {@link close}. Saves never overlap; each is atomic with a `.savB` backup.
 */
export class Autosaver implements AsyncDisposable {
  /** The save file. */
  readonly path: string;
  readonly #pvs: () => Iterable<ServedPv>;
  readonly #period: number;
  readonly #onSave?: (error?: Error) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dirty = false;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  /**
   * Creates the saver (nothing is written until a put marks it dirty).
   * @param path the `.sav` file
   * @param pvs the PVs to save (read at each save)
   * @param options period and save callback
   */
  constructor(path: string, pvs: () => Iterable<ServedPv>, options: AutosaverOptions = {}) {
    this.path = path;
    this.#pvs = pvs;
    this.#period = options.period ?? 10;
    this.#onSave = options.onSave;
  }

  /** Notes that a value changed: a save follows within the period. */
  markDirty(): void {
    if (this.#closed) return;
    this.#dirty = true;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.save();
    }, this.#period * 1000);
  }

  /**
   * Saves now (after any save in progress).
   * @returns when the file is written (errors go to onSave, never rejected)
   */
  save(): Promise<void> {
    this.#dirty = false;
    this.#chain = this.#chain.then(async () => {
      try {
        await writeSavFile(this.path, formatAutosave(this.#pvs(), new Date()));
        this.#onSave?.();
      } catch (e) {
        this.#onSave?.(e as Error);
      }
    });
    return this.#chain;
  }

  /** Stops the timer and saves what is unsaved (a clean exit). */
  async close(): Promise<void> {
    if (this.#closed) return this.#chain;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#dirty) await this.save();
    await this.#chain;
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * The default save file for a prefix: `$XDG_STATE_HOME/epics-ts/autosave/<prefix>.sav`
 * (`~/.local/state/...` without XDG_STATE_HOME), the prefix without its final ":".
 * @param prefix the host's prefix
 * @param env the environment (HOME, XDG_STATE_HOME)
 * @returns the path
 * @example
 * ```ts
 * import { defaultAutosavePath } from "./autosave.ts";
 * const p = defaultAutosavePath("lab1:", { HOME: "/home/ann" });
 * if (p !== "/home/ann/.local/state/epics-ts/autosave/lab1.sav") throw new Error(p);
 * ```
 */
export function defaultAutosavePath(
  prefix: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || ".", ".local", "state");
  const name = prefix.replace(/:$/, "").replace(/[^A-Za-z0-9_.-]/g, "_") || "pvserve";
  return join(base, "epics-ts", "autosave", `${name}.sav`);
}
