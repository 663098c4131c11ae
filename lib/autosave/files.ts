/**
 * Writing and reading save files safely. A save never leaves the last good file unreadable:
 * the new text goes to a temporary file in the same folder, is flushed to disk (fsync), and
 * is renamed over the old name; the folder is synced so the rename itself is durable. The
 * file being replaced, when it was valid, is kept as `NAME.savB` (linked, then renamed, so
 * a valid `.sav` exists at every instant). Reading falls back to `.savB` when `.sav` is
 * missing or fails synApps' validity rule, and says why.
 * @module
 */

import { dirname, join } from "node:path";
import { EpicsError } from "../core/errors.ts";
import { checkSav, formatSavDate, parseSav } from "./sav.ts";
import { detectSaveFormat, parseJsonSave } from "./formats.ts";
import { parseReq } from "./req.ts";
import type { ParseReqOptions, ReqSet } from "./req.ts";
import type { SavDocument } from "./sav.ts";

/** A save file that could not be written (the old file is left as it was). */
export class SavWriteError extends EpicsError {
  /** The file that was being written. */
  readonly path: string;
  /** Creates the error. */
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SavWriteError";
    this.path = path;
  }
}

/** A save file (and its backup) that could not be read. */
export class SavReadError extends EpicsError {
  /** The file asked for. */
  readonly path: string;
  /** Creates the error. */
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SavReadError";
    this.path = path;
  }
}

/** Options of {@link writeSavFile} and {@link atomicWriteFile}. */
export interface WriteSavOptions {
  /** Keep the file being replaced, when valid, as `<path>B` (default true). */
  readonly backup?: boolean;
  /** Also write the new text to `<path>_YYMMDD-HHMMSS` (synApps' dated backup name), at this time. */
  readonly dated?: Date;
  /**
   * Also write the new text to one of the sequence files `<path>0` ... `<path>N-1`: the
   * first missing one, else the oldest (synApps' save_restoreSet_NumSeqFiles).
   */
  readonly seq?: number;
  /** File mode of new files (default 0o644). */
  readonly mode?: number;
}

/** What {@link writeSavFile} wrote. */
export interface WriteSavResult {
  /** The save file. */
  readonly path: string;
  /** The backup kept (`<path>B`), when the old file was valid and backups are on. */
  readonly backupPath?: string;
  /** The dated copy, when asked for. */
  readonly datedPath?: string;
  /** The sequence file written, when asked for. */
  readonly seqPath?: string;
  /** Bytes written to the save file. */
  readonly bytes: number;
}

const enc = new TextEncoder();

function describe(e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotFound) return "no such folder";
  if (e instanceof Error) return e.message;
  return String(e);
}

async function syncDir(dir: string): Promise<void> {
  try {
    using d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch {
    // Some file systems cannot sync a folder; the data itself is already synced.
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

let tmpCounter = 0;
const swept = new Set<string>();

/**
 * Removes temporary files a killed writer left beside `path` (`.NAME.tmp-PID-N` of a PID
 * that no longer runs; Linux only, where /proc tells). Done once per file and process.
 */
async function sweepStaleTemps(path: string): Promise<void> {
  if (swept.has(path)) return;
  swept.add(path);
  const dir = dirname(path);
  const prefix = `.${path.slice(dir.length + 1)}`;
  try {
    await Deno.stat("/proc/self");
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.startsWith(prefix)) continue;
      const m = /\.tmp-(\d+)(-\d+)?$/.exec(e.name);
      if (!m || Number(m[1]) === Deno.pid) continue;
      // /proc/N also answers for a thread whose id is N (ids are reused quickly on a busy
      // host): only a process whose thread-group id is N counts as the writer still running.
      const status = await Deno.readTextFile(`/proc/${m[1]}/status`).catch(() => "");
      const alive = /^Tgid:\s*(\d+)/m.exec(status)?.[1] === m[1];
      if (!alive) await Deno.remove(join(dir, e.name)).catch(() => {});
    }
  } catch {
    // no /proc, or the folder cannot be listed: leave them
  }
}

/**
 * Writes a file atomically: temporary file in the same folder, write, fsync, rename over
 * `path`, fsync of the folder. On any error the temporary file is removed and `path` is
 * untouched.
 * @param path the file to write
 * @param data its new content
 * @param options `mode` of a new file
 * @throws SavWriteError naming the file and the reason (permission denied, disk full...)
 */
export async function atomicWriteFile(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number; beforeRename?: () => Promise<void> } = {},
): Promise<void> {
  const dir = dirname(path);
  const base = path.slice(dir.length + 1);
  const tmp = join(dir, `.${base}.tmp-${Deno.pid}-${++tmpCounter}`);
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  let created = false;
  try {
    const f = await Deno.open(tmp, {
      write: true,
      create: true,
      truncate: true,
      mode: options.mode ?? 0o644,
    });
    created = true;
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    await options.beforeRename?.();
    await Deno.rename(tmp, path);
    created = false;
  } catch (e) {
    if (created) await Deno.remove(tmp).catch(() => {});
    throw new SavWriteError(`Cannot write "${path}": ${describe(e)}`, path, { cause: e });
  }
  await syncDir(dir);
}

async function isValidFile(path: string): Promise<boolean> {
  try {
    return checkSav(await Deno.readTextFile(path)).valid;
  } catch {
    return false;
  }
}

async function pickSeqFile(path: string, n: number): Promise<string> {
  let oldest = "";
  let oldestTime = Infinity;
  for (let i = 0; i < n; i++) {
    const p = path + i;
    try {
      const st = await Deno.stat(p);
      const t = st.mtime?.getTime() ?? 0;
      if (t < oldestTime) {
        oldestTime = t;
        oldest = p;
      }
    } catch {
      return p;
    }
  }
  return oldest || path + "0";
}

/**
 * Writes a save file the safe way (see {@link atomicWriteFile}), keeping the file it
 * replaces as `<path>B` when that one was valid, and optionally a dated copy and a
 * sequence file.
 * @param path the `.sav` file
 * @param text its new text (from {@link formatSav})
 * @param options backup, dated copy, sequence files, mode
 * @returns the files written
 * @throws SavWriteError when the save file cannot be written (old file and backup kept)
 * @example
 * ```ts ignore
 * import { formatSav, writeSavFile } from "./mod.ts";
 * await writeSavFile("/tmp/x.sav", formatSav([{ name: "x:ao", kind: "double", value: 1 }], { date: new Date() }));
 * ```
 */
export async function writeSavFile(
  path: string,
  text: string,
  options: WriteSavOptions = {},
): Promise<WriteSavResult> {
  const backup = options.backup ?? true;
  let backupPath: string | undefined;
  // Keep the current file as .savB: hard-link it to a temporary name and rename that over
  // .savB, so .sav stays in place and .savB is always whole.
  const keepBackup = async () => {
    if (!backup || !(await exists(path)) || !(await isValidFile(path))) return;
    const b = path + "B";
    const tmpB = join(dirname(path), `.${path.slice(dirname(path).length + 1)}B.tmp-${Deno.pid}`);
    try {
      await Deno.remove(tmpB).catch(() => {});
      await Deno.link(path, tmpB);
      await Deno.rename(tmpB, b);
      // A writer killed after keeping its backup but before its own rename leaves .sav and
      // .savB as two links of one file; rename(2) between links of the same file does
      // nothing and succeeds, so the temporary name would stay: remove it.
      await Deno.remove(tmpB).catch(() => {});
      backupPath = b;
    } catch {
      // File systems without hard links: copy it atomically instead.
      await Deno.remove(tmpB).catch(() => {});
      await atomicWriteFile(b, await Deno.readFile(path), { mode: options.mode });
      backupPath = b;
    }
  };
  const bytes = enc.encode(text);
  await sweepStaleTemps(path);
  await atomicWriteFile(path, bytes, { mode: options.mode, beforeRename: keepBackup });
  let datedPath: string | undefined;
  if (options.dated) {
    datedPath = `${path}_${formatSavDate(options.dated)}`;
    await atomicWriteFile(datedPath, bytes, { mode: options.mode });
  }
  let seqPath: string | undefined;
  if (options.seq && options.seq > 0) {
    seqPath = await pickSeqFile(path, Math.min(options.seq, 100));
    await atomicWriteFile(seqPath, bytes, { mode: options.mode });
  }
  return { path, backupPath, datedPath, seqPath, bytes: bytes.length };
}

/** What {@link readSavFile} read. */
export interface ReadSavResult {
  /** The parsed file. */
  readonly doc: SavDocument;
  /** The file actually read: the one asked for, or its `.savB`. */
  readonly path: string;
  /** Set when the backup was read instead: why the file asked for was not used. */
  readonly fallback?: string;
}

/**
 * Reads a save file with synApps' rule: a file that is missing or does not end with
 * `<END>` is not used and `<path>B` is read instead (the reason is returned in
 * `fallback`). With `force`, a file without `<END>` is read as it is (fdbrestoreX).
 * @param path the `.sav` file
 * @param options `force`: accept an incomplete file; `backup`: fall back to `.savB` (default true)
 * @returns the document, the file read and the fallback reason
 * @throws SavReadError when neither the file nor its backup is usable (both reasons given)
 * @example
 * ```ts ignore
 * import { readSavFile } from "./mod.ts";
 * const r = await readSavFile("auto_settings.sav");
 * if (r.fallback) console.warn(`read ${r.path}: ${r.fallback}`);
 * ```
 */
export async function readSavFile(
  path: string,
  options: { force?: boolean; backup?: boolean } = {},
): Promise<ReadSavResult> {
  let reason: string;
  try {
    const text = await Deno.readTextFile(path);
    // JSON files (epicsdev, caproto, ours) have no end marker: they parse or they do not.
    if (detectSaveFormat(text) === "json") {
      return { doc: parseJsonSave(text, { file: path }), path };
    }
    const c = checkSav(text);
    if (c.valid || options.force) return { doc: parseSav(text, { force: true, file: path }), path };
    reason = `"${path}" is not valid: ${c.reason}`;
  } catch (e) {
    reason = `cannot read "${path}": ${
      e instanceof Deno.errors.NotFound ? "no such file" : describe(e)
    }`;
  }
  if (options.backup === false || path.endsWith("B")) {
    throw new SavReadError(`Cannot restore: ${reason}`, path);
  }
  const b = path + "B";
  try {
    const text = await Deno.readTextFile(b);
    const c = checkSav(text);
    if (c.valid) return { doc: parseSav(text, { file: b }), path: b, fallback: reason };
    throw new SavReadError(
      `Cannot restore: ${reason}; backup "${b}" is not valid either: ${c.reason}`,
      path,
    );
  } catch (e) {
    if (e instanceof SavReadError) throw e;
    throw new SavReadError(
      `Cannot restore: ${reason}; backup "${b}": ${
        e instanceof Deno.errors.NotFound ? "no such file" : describe(e)
      }`,
      path,
      { cause: e },
    );
  }
}

/**
 * Reads a request file from disk with its includes (see {@link parseReq}).
 * @param file the request file (searched in `searchPath` unless absolute)
 * @param options macros, search path (`-I`), undefined-macro policy
 * @returns the PVs and files read
 * @throws ReqFileError naming file and line
 * @example
 * ```ts ignore
 * import { loadReqFile } from "./mod.ts";
 * const set = loadReqFile("auto_settings.req", { macros: "P=xxx:", searchPath: [".", "req"] });
 * ```
 */
export function loadReqFile(
  file: string,
  options: Omit<ParseReqOptions, "readFile"> = {},
): ReqSet {
  return parseReq(file, {
    ...options,
    readFile: (p) => {
      try {
        return Deno.readTextFileSync(p);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.IsADirectory) {
          return undefined;
        }
        throw e;
      }
    },
  });
}
