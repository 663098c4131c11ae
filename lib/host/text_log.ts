/**
 * The `putlog` service: a writable text PV whose every write is appended to a file, one
 * line each, with optional size-based rotation (FILE.1, FILE.2, ...). Over PVA the PV is a
 * string of any length; over CA it is a char waveform (so `caput -S` works, and a plain
 * DBR_STRING write carries its text too).
 * @module
 */

import { PutRefusedError } from "../core/errors.ts";
import { SharedPV } from "../pv/shared_pv.ts";
import type { PutContext, PvListener, PvSnapshot, ServedPv } from "../pv/types.ts";

/** How to open a {@link TextLog}. */
export interface TextLogOptions {
  /** Rotate before a line would make the file larger than this many bytes (default: never). */
  maxBytes?: number;
}

/** An append-only text file with rotation; each line is written before `append` returns. */
export class TextLog implements Disposable {
  /** The file path. */
  readonly path: string;
  #file: Deno.FsFile;
  #size: number;
  #maxBytes: number;
  #enc = new TextEncoder();

  /**
   * Opens (creates) the file for appending.
   * @param path the file
   * @param options rotation size
   * @throws Deno.errors.* when the file cannot be opened
   */
  constructor(path: string, options: TextLogOptions = {}) {
    this.path = path;
    this.#maxBytes = options.maxBytes ?? Infinity;
    this.#file = Deno.openSync(path, { append: true, create: true });
    this.#size = this.#file.statSync().size;
  }

  /**
   * Appends one line (a newline is added) and hands it to the OS before returning.
   * @param text the line
   */
  append(text: string): void {
    const b = this.#enc.encode(text + "\n");
    if (this.#size > 0 && this.#size + b.length > this.#maxBytes) this.#rotate();
    let off = 0;
    while (off < b.length) off += this.#file.writeSync(b.subarray(off));
    this.#size += b.length;
  }

  /** FILE -> FILE.1, FILE.1 -> FILE.2, ...; then a new empty FILE. */
  #rotate(): void {
    this.#file.close();
    let n = 1;
    while (exists(`${this.path}.${n}`)) n++;
    for (let i = n; i > 1; i--) Deno.renameSync(`${this.path}.${i - 1}`, `${this.path}.${i}`);
    Deno.renameSync(this.path, `${this.path}.1`);
    this.#file = Deno.openSync(this.path, { append: true, create: true });
    this.#size = 0;
  }

  /** Closes the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }

  /** Closes the file. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function exists(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A SharedPV seen with {@link PvTypeInfo.text} set, for the CA server. */
class TextView implements ServedPv {
  readonly name: string;
  readonly type: ServedPv["type"];
  readonly #pv: SharedPV;
  constructor(pv: SharedPV) {
    this.#pv = pv;
    this.name = pv.name;
    this.type = { ...pv.type, text: true };
  }
  snapshot(): PvSnapshot {
    return this.#pv.snapshot();
  }
  subscribe(l: PvListener): () => void {
    return this.#pv.subscribe(l);
  }
  canWrite(ctx?: PutContext): boolean {
    return this.#pv.canWrite(ctx);
  }
  put(value: unknown, ctx: PutContext): Promise<void> {
    return this.#pv.put(value, ctx);
  }
}

/** The two views of a text PV. */
export interface TextPv {
  /** The PVA view: a string PV. */
  pva: SharedPV;
  /** The CA view: a char waveform of `caLength` elements. */
  ca: ServedPv;
}

/** Longest line the CA view holds (within libca's default EPICS_CA_MAX_ARRAY_BYTES of 16384). */
export const TEXT_PV_CA_LENGTH = 16000;

/**
 * Creates a writable text PV whose writes go to `onText` first (a throw refuses the put);
 * both views show the last text written.
 * @param name the PV name
 * @param onText called with each text written, before the put completes
 * @param caLength the CA char waveform's length
 * @returns the PVA and CA views
 * @example
 * ```ts
 * import { textPv } from "./text_log.ts";
 * const lines: string[] = [];
 * const t = textPv("log:dump", (s) => { lines.push(s); });
 * const who = { protocol: "local" as const, user: "", host: "" };
 * await t.pva.put("hello", who);
 * await t.ca.put(new TextEncoder().encode("over CA\0"), who);
 * if (lines.join("|") !== "hello|over CA" || t.pva.value !== "over CA") throw new Error();
 * ```
 */
export function textPv(
  name: string,
  onText: (text: string) => void | Promise<void>,
  caLength = TEXT_PV_CA_LENGTH,
): TextPv {
  const dec = new TextDecoder();
  let mirroring = false;
  const take = async (text: string) => {
    try {
      await onText(text);
    } catch (e) {
      throw new PutRefusedError(`Cannot log to "${name}": ${(e as Error).message}`, "handler", {
        cause: e,
      });
    }
  };
  const pva: SharedPV = new SharedPV(name, {
    type: "string",
    description: "Text to append to the log",
    onPut: async (v) => {
      await take(String(v));
      mirror(() => caPv.post(clip(String(v))));
    },
  });
  const clip = (s: string) => {
    const b = new TextEncoder().encode(s);
    return b.length < caLength ? b : b.subarray(0, caLength - 1);
  };
  const caPv: SharedPV = new SharedPV(name, {
    type: "uint8",
    length: caLength,
    description: "Text to append to the log",
    onPut: async (v) => {
      const bytes = v as Uint8Array;
      const nul = bytes.indexOf(0);
      const text = dec.decode(nul >= 0 ? bytes.subarray(0, nul) : bytes);
      await take(text);
      mirror(() => pva.post(text));
    },
  });
  const mirror = (f: () => void) => {
    if (mirroring) return;
    mirroring = true;
    try {
      f();
    } finally {
      mirroring = false;
    }
  };
  return { pva, ca: new TextView(caPv) };
}
