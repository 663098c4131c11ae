/**
 * The script device support, DTYP "tsdev": records whose INP/OUT `@code` is a JavaScript
 * (or TypeScript-module-backed) expression or statement run in one global context shared
 * with st.cmd (`tsdev("code")`, `tsdevImport("./mydevice.ts")`).
 *
 * - Field macros (VAL, NAME, EGU, `%VAL%` in strings...) are replaced by live values (see
 *   template.ts); the value of an expression becomes the record's value (see convert.ts).
 * - A throw, a rejected promise or a result that does not convert raises CALC/INVALID
 *   with the message in AMSG, and is reported through `log`; the IOC carries on.
 * - A returned promise keeps the record PACT until it settles (put-callback completes
 *   then). At most `workers` records (TSDEV_NUM_WORKERS, default 3) run at once; the
 *   others wait in FIFO order.
 * - `iointr(name)` subscribes an I/O Intr record; `iointr(name, value)` processes every
 *   record subscribed to `name` with that value, at once.
 * @module
 */

import { charsToText, textToChars } from "../../core/bytes.ts";
import { AlarmSeverity, AlarmStatus } from "../../core/alarm.ts";
import { copyInto, MBB_PREFIX } from "../records.ts";
import type { FieldValue } from "../record_type.ts";
import type { DeviceSupport, IocRecord, RecordIo, Subroutine } from "../types.ts";
import { userSubroutine } from "../user_subroutine.ts";
import { IOINTR_HOOK } from "./iointr.ts";
import { convertResult, describe, VALUE_KIND } from "./convert.ts";
import { type CodeTemplate, escapeForLiteral, isAssignment, parseTemplate } from "./template.ts";

/** The record types DTYP "tsdev" supports. */
export const TSDEV_RECORD_TYPES: readonly string[] = Object.keys(VALUE_KIND);

const INPUT = new Set([
  "ai",
  "bi",
  "mbbi",
  "longin",
  "int64in",
  "stringin",
  "lsi",
  "waveform",
  "aai",
]);
const ARRAY_TYPES = new Set(["waveform", "aai", "aao"]);
const LONG_STRING_TYPES = new Set(["lsi", "lso"]);

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => unknown;
const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => AnyFn;

/** Options of {@link TsdevContext}. */
export interface TsdevOptions {
  /** How many records may run code at once (default TSDEV_NUM_WORKERS or 3). */
  workers?: number;
  /** Where failures go (the IOC console); default: nowhere. */
  log?: (message: string) => void;
}

interface Compiled {
  fn: AnyFn;
  params: readonly string[];
  expression: boolean;
}

interface RecState {
  template: CodeTemplate;
  field: "INP" | "OUT";
  input: boolean;
  assignment: boolean;
  cache: Map<string, Compiled>;
  /** The value an `iointr(name, value)` delivers to this processing. */
  pushed?: { name: string; value: unknown };
  running: boolean;
  /** The code is one string field alone (`@VAL`): its text is the code that runs. */
  execField?: string;
  /** The compiled code when it does not depend on field values (no pasted text). */
  fixed?: Compiled;
  fixedText?: string;
}

/** A module imported into a Web Worker: calls go there and come back as promises. */
interface WorkerModule {
  worker: Worker;
  calls: Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>;
}

/**
 * The global context of tsdev records and st.cmd, and the device support over it.
 * @example
 * ```ts
 * import { IocDatabase } from "../database.ts";
 * import { TsdevContext } from "./tsdev.ts";
 * const ts = new TsdevContext();
 * const db = new IocDatabase({ devices: [ts.device] });
 * ts.run("var tsdevDocCounter = 40");
 * db.load([{ type: "longin", name: "n", infos: [], aliases: [], file: "x", line: 1, fields: [
 *   { name: "DTYP", value: "tsdev", file: "x", line: 1 },
 *   { name: "INP", value: "@tsdevDocCounter + 2", file: "x", line: 1 }] }]);
 * db.init();
 * db.process(db.record("n")!);
 * if (db.getField("n") !== 42) throw new Error();
 * db.close();
 * ts.close();
 * ```
 */
export class TsdevContext {
  /** The device support to register with the IOC's database. */
  readonly device: DeviceSupport;
  readonly #log: (m: string) => void;
  readonly #max: number;
  #busy = 0;
  readonly #queue: (() => void)[] = [];
  readonly #subs = new Map<string, Set<IocRecord>>();
  readonly #latest = new Map<string, unknown>();
  readonly #ioc = new Map<IocRecord, RecordIo>();
  readonly #workers: WorkerModule[] = [];
  #current: IocRecord | undefined;
  #closed = false;
  /** What globalThis held when the context started: built-ins are no subroutines. */
  readonly #builtins = new Map<string, unknown>();
  /** Names exported by imported modules (they count even where they shadow a built-in). */
  readonly #exported = new Set<string>();
  /** The global stand-ins of worker modules' functions. */
  readonly #workerFns = new WeakSet<object>();
  readonly #wrapped = new WeakMap<object, Subroutine>();

  /** Creates the context and publishes `iointr` on globalThis. */
  constructor(options: TsdevOptions = {}) {
    this.#log = options.log ?? (() => {});
    this.#max = Math.max(1, Math.trunc(options.workers ?? 3) || 3);
    const iointr = (name: string, value?: unknown) => this.iointr(name, value);
    const g = globalThis as Record<PropertyKey, unknown>;
    g[IOINTR_HOOK] = iointr;
    g.iointr = iointr;
    g.tsdev = (code: string) => this.run(code);
    for (const k of Object.getOwnPropertyNames(globalThis)) {
      const d = Object.getOwnPropertyDescriptor(globalThis, k);
      this.#builtins.set(k, d && "value" in d ? d.value : d);
    }
    this.device = {
      dtyp: "tsdev",
      recordTypes: TSDEV_RECORD_TYPES,
      init: (rec, ioc) => this.#init(rec, ioc),
      io: (rec, ioc) => this.#io(rec, ioc),
      ioIntr: (rec) => this.#ioIntr(rec),
      linkChange: (rec, field) => {
        if (field === "INP" || field === "OUT") {
          throw new Error(`The code of tsdev record ${rec.name} cannot be changed at run time`);
        }
      },
    };
  }

  /** How many records run code now. */
  get running(): number {
    return this.#busy;
  }

  /** How many records wait for a free worker. */
  get waiting(): number {
    return this.#queue.length;
  }

  // ------------------------------------------------------------ global context

  /**
   * Runs code from st.cmd or the shell in the global context (`tsdev("code")`). `var`,
   * functions and plain assignments (`dev = new MyDevice()`) become global; a promise it
   * returns is awaited.
   * @param code statements
   * @returns the value of the code
   */
  async run(code: string): Promise<unknown> {
    let r: unknown;
    try {
      r = (0, eval)(code);
    } catch (e) {
      if (!(e instanceof SyntaxError) || !/\bawait\b/.test(code)) throw e;
      r = new AsyncFunction(code)();
    }
    return await r;
  }

  /**
   * Imports a module and makes its exports global (`tsdevImport`, `softioc --module`).
   * With `worker`, the module runs in a Web Worker: its exported functions become global
   * functions that return promises, so CPU-heavy code never stalls the servers; their
   * arguments and results are copied (structured clone), and the worker does not share
   * the IOC's global context (`iointr` calls are forwarded to the IOC).
   * @param url the module's URL (resolve relative paths before)
   * @param options worker
   * @returns the names made global
   */
  async importModule(url: string | URL, options: { worker?: boolean } = {}): Promise<string[]> {
    const g = globalThis as Record<string, unknown>;
    if (!options.worker) {
      const mod = await import(String(url));
      const names = Object.keys(mod).filter((k) => k !== "default");
      for (const k of names) {
        g[k] = mod[k];
        this.#exported.add(k);
      }
      return names;
    }
    const worker = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
    const wm: WorkerModule = { worker, calls: new Map() };
    this.#workers.push(wm);
    const names = await new Promise<string[]>((resolve, reject) => {
      worker.onmessage = (ev: MessageEvent) => {
        const m = ev.data;
        if (m.ready) resolve(m.ready);
        else if (m.failed) reject(new Error(m.failed));
      };
      worker.onerror = (ev) => {
        ev.preventDefault();
        reject(new Error(ev.message));
      };
      worker.postMessage({ import: String(url) });
    });
    let next = 1;
    worker.onmessage = (ev: MessageEvent) => {
      const m = ev.data;
      if (m.iointr !== undefined) {
        this.iointr(m.iointr, m.value);
        return;
      }
      const call = wm.calls.get(m.id);
      if (!call) return;
      wm.calls.delete(m.id);
      if ("error" in m) {
        const e = new Error(m.error.message);
        if (m.error.name) e.name = m.error.name;
        call.reject(e);
      } else call.resolve(m.value);
    };
    worker.onerror = (ev) => {
      ev.preventDefault();
      for (const c of wm.calls.values()) c.reject(new Error(`Worker failed: ${ev.message}`));
      wm.calls.clear();
    };
    for (const name of names) {
      const fn = (...args: unknown[]) =>
        new Promise((resolve, reject) => {
          if (this.#closed) return reject(new Error("The IOC is stopping"));
          const id = next++;
          wm.calls.set(id, { resolve, reject });
          worker.postMessage({ id, name, args });
        });
      g[name] = fn;
      this.#workerFns.add(fn);
      this.#exported.add(name);
    }
    return names;
  }

  /**
   * The subroutine a sub/aSub record's SNAM or INAM names: a function exported by an
   * imported module or made global by `tsdev("...")` code, called with a view of the
   * record (see user_subroutine.ts). Globals the JS runtime has itself (`fetch`, `eval`...)
   * are not subroutines. A worker module's function can't be one (the record can't cross
   * into the worker): calling it raises an alarm that says so.
   * @param name the name in SNAM/INAM
   * @returns the subroutine, or undefined when no such function is defined
   */
  subroutine(name: string): Subroutine | undefined {
    const d = Object.getOwnPropertyDescriptor(globalThis, name);
    if (!d || !("value" in d) || typeof d.value !== "function") return undefined;
    const fn = d.value as (...a: unknown[]) => unknown;
    if (!this.#exported.has(name) && this.#builtins.get(name) === fn) return undefined;
    let s = this.#wrapped.get(fn);
    if (s) return s;
    if (this.#workerFns.has(fn)) {
      s = () => {
        throw new Error(
          `Worker function ${name} cannot be a subroutine: call it from a function of a module imported without "worker"`,
        );
      };
    } else s = userSubroutine(fn);
    this.#wrapped.set(fn, s);
    return s;
  }

  /**
   * `iointr(name)` subscribes the record whose code calls it and returns the value pushed
   * to it (or the last value pushed under `name`); `iointr(name, value)` processes every
   * record subscribed to `name` with `value`.
   */
  iointr(name: string, value?: unknown): unknown {
    name = String(name);
    if (value === undefined) {
      const rec = this.#current;
      if (rec) {
        const st = rec.pvt.tsdev as RecState | undefined;
        if (st?.pushed && st.pushed.name === name) return st.pushed.value;
      }
      return this.#latest.get(name);
    }
    this.#latest.set(name, value);
    const subs = this.#subs.get(name);
    if (!subs || this.#closed) return undefined;
    for (const rec of [...subs]) {
      const st = rec.pvt.tsdev as RecState;
      const ioc = this.#ioc.get(rec);
      if (!ioc) continue;
      if (st.running) {
        // The record is running the code that pushed: process it right after.
        queueMicrotask(() => this.#push(rec, st, ioc, name, value));
      } else this.#push(rec, st, ioc, name, value);
    }
    return undefined;
  }

  #push(rec: IocRecord, st: RecState, ioc: RecordIo, name: string, value: unknown): void {
    if (this.#closed) return;
    st.pushed = { name, value };
    try {
      ioc.process(rec);
    } finally {
      if (!rec.f.PACT) st.pushed = undefined;
    }
  }

  /** Stops the workers; records that run later fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#workers) {
      w.worker.terminate();
      for (const c of w.calls.values()) c.reject(new Error("The IOC is stopping"));
    }
    this.#workers.length = 0;
    this.#subs.clear();
    const g = globalThis as Record<PropertyKey, unknown>;
    if (g[IOINTR_HOOK] !== undefined && g.iointr === g[IOINTR_HOOK]) {
      delete g[IOINTR_HOOK];
      delete g.iointr;
    }
  }

  // ------------------------------------------------------------ device support

  #init(rec: IocRecord, ioc: RecordIo): void {
    const input = INPUT.has(rec.type.name);
    const field = input ? "INP" : "OUT";
    const link = rec.links[field];
    const text = link?.text ?? String(rec.f[field] ?? "");
    if (!link || link.kind !== "hw" || !text.trimStart().startsWith("@")) {
      throw new Error(`DTYP tsdev needs ${field} "@code", not "${text}"`);
    }
    const code = text.trimStart().slice(1);
    const type = rec.type;
    const template = parseTemplate(code, (w) => {
      const spec = type.byName.get(w);
      if (!spec || spec.isLink) return false;
      return spec.type !== "NOACCESS" || w === "VAL";
    });
    rec.pvt.tsdev = {
      template,
      field,
      input,
      assignment: !input && isAssignment(code),
      cache: new Map(),
      running: false,
      execField: template.parts.length === 1 && template.parts[0].kind === "field" &&
          template.parts[0].quote === "" &&
          typeof fieldValue(rec, template.parts[0].name) === "string"
        ? template.parts[0].name
        : undefined,
    } satisfies RecState;
    this.#ioc.set(rec, ioc);
  }

  #ioIntr(rec: IocRecord): () => void {
    const st = rec.pvt.tsdev as RecState | undefined;
    if (!st) return () => {};
    const names = new Set<string>();
    for (const m of st.template.source.matchAll(/\biointr\s*\(\s*(['"`])([^'"`]*)\1\s*\)/g)) {
      names.add(m[2]);
    }
    if (names.size === 0) {
      this.#log(
        `tsdev: ${rec.name}: SCAN "I/O Intr" but its code calls no iointr('name'): ${st.template.source}`,
      );
    }
    for (const n of names) {
      let s = this.#subs.get(n);
      if (!s) this.#subs.set(n, s = new Set());
      s.add(rec);
    }
    return () => {
      for (const n of names) this.#subs.get(n)?.delete(rec);
    };
  }

  #io(rec: IocRecord, ioc: RecordIo): "noConvert" | Promise<"noConvert"> {
    const st = rec.pvt.tsdev as RecState | undefined;
    if (!st) {
      ioc.setSevr(rec, AlarmStatus.UDF, AlarmSeverity.INVALID, "tsdev record not initialised");
      return "noConvert";
    }
    if (this.#busy < this.#max && this.#queue.length === 0) {
      this.#busy++;
      return this.#run(rec, st, ioc);
    }
    // All workers busy: wait in line (the record is PACT meanwhile).
    const pushed = st.pushed;
    return new Promise((resolve) => {
      this.#queue.push(() => {
        st.pushed = pushed;
        resolve(this.#run(rec, st, ioc));
      });
    });
  }

  #release(): void {
    this.#busy--;
    if (this.#queue.length > 0 && this.#busy < this.#max) {
      const job = this.#queue.shift()!;
      this.#busy++;
      queueMicrotask(job);
    }
  }

  #run(rec: IocRecord, st: RecState, ioc: RecordIo): "noConvert" | Promise<"noConvert"> {
    if (this.#closed) {
      this.#fail(rec, st, ioc, new Error("The IOC is stopping"));
      this.#release();
      return "noConvert";
    }
    let result: unknown;
    let code = st.template.source;
    let expression = false;
    const prev = this.#current;
    try {
      const [compiled, args, text] = this.#compile(rec, st);
      code = text;
      expression = compiled.expression;
      this.#current = rec;
      st.running = true;
      result = compiled.fn(...args);
    } catch (e) {
      this.#fail(rec, st, ioc, e, code);
      this.#release();
      return "noConvert";
    } finally {
      st.running = false;
      this.#current = prev;
    }
    if (result !== null && typeof (result as PromiseLike<unknown>)?.then === "function") {
      return Promise.resolve(result as PromiseLike<unknown>).then(
        (v) => this.#apply(rec, st, ioc, v, expression, code),
        (e) => this.#fail(rec, st, ioc, e, code),
      ).then(() => {
        st.pushed = undefined;
        this.#release();
        return "noConvert" as const;
      });
    }
    this.#apply(rec, st, ioc, result, expression, code);
    this.#release();
    return "noConvert";
  }

  #fail(rec: IocRecord, st: RecState, ioc: RecordIo, e: unknown, code = st.template.source): void {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : `Uncaught ${describe(e)}`;
    ioc.setSevr(
      rec,
      AlarmStatus.CALC,
      AlarmSeverity.INVALID,
      (e instanceof Error ? e.message : msg).slice(0, 39),
    );
    this.#log(`tsdev: ${rec.name}: ${code}: ${msg}`);
  }

  /** Builds the code with the live field values and compiles it (cached by its text). */
  #compile(rec: IocRecord, st: RecState): [Compiled, unknown[], string] {
    if (st.fixed) {
      // Every macro is a parameter: one compiled function, only the arguments change.
      const names = st.fixed.params;
      const args = new Array(names.length);
      for (let i = 0; i < names.length; i++) args[i] = fieldValue(rec, names[i]);
      return [st.fixed, args, st.fixedText!];
    }
    let text = "";
    let params: string[] | undefined;
    let args: unknown[] | undefined;
    for (const p of st.template.parts) {
      if (p.kind === "text") {
        text += p.text;
        continue;
      }
      const v = fieldValue(rec, p.name);
      if (p.quote !== "") text += escapeForLiteral(String(v), p.quote);
      else if (st.execField) text += String(v);
      else {
        params ??= [];
        args ??= [];
        if (!params.includes(p.name)) {
          params.push(p.name);
          args.push(v);
        }
        text += p.name;
      }
    }
    const key = params ? `${params.join(",")}\n${text}` : text;
    let c = st.cache.get(key);
    if (!c) {
      c = compileCode(text, params ?? [], st, rec);
      if (st.cache.size >= 32) st.cache.clear();
      st.cache.set(key, c);
    }
    if (!st.execField && st.template.parts.every((p) => p.kind === "text" || p.quote === "")) {
      st.fixed = c;
      st.fixedText = text;
    }
    return [c, args ?? [], text];
  }

  #apply(
    rec: IocRecord,
    st: RecState,
    ioc: RecordIo,
    v: unknown,
    expression: boolean,
    code: string,
  ): void {
    if (!st.input && (v === undefined || !expression || st.assignment)) return;
    if (v === undefined) {
      this.#fail(rec, st, ioc, new TypeError("The code returned undefined, not a value"), code);
      return;
    }
    const t = rec.type.name;
    const f = rec.f;
    try {
      const kind = VALUE_KIND[t];
      const x = convertResult(kind, v, {
        states: kind === "mbb" ? MBB_PREFIX.map((m) => String(f[`${m}ST`] ?? "")) : undefined,
        stringElements: kind === "array" && Array.isArray(f.VAL),
      });
      if (kind === "array") {
        f.NORD = copyInto(f.VAL, x as (number | string)[], (x as unknown[]).length);
        f.UDF = 0;
      } else if (kind === "string") {
        f.VAL = (x as string).slice(0, 39);
        f.UDF = 0;
      } else if (kind === "longString") {
        const max = (f.SIZV as number) - 1;
        const chars = textToChars(x as string, max + 1);
        f.VAL = charsToText(chars);
        f.LEN = chars.length;
        f.UDF = 0;
      } else {
        f.VAL = x as number;
        f.UDF = Number.isNaN(x) ? 1 : 0;
        if (t === "ao") f.OVAL = x as number;
      }
    } catch (e) {
      this.#fail(rec, st, ioc, e, code);
    }
  }
}

/** The JS value of a field for the code: numbers, strings, arrays (VAL at its length). */
export function fieldValue(rec: IocRecord, name: string): unknown {
  const v: FieldValue = rec.f[name];
  if (typeof v === "number") return v;
  if (name === "VAL" && ARRAY_TYPES.has(rec.type.name)) {
    const n = Math.min(rec.f.NORD as number, (v as ArrayLike<unknown>).length);
    return Array.from({ length: n }, (_, i) => (v as ArrayLike<unknown>)[i]);
  }
  if (name === "VAL" && LONG_STRING_TYPES.has(rec.type.name)) return String(v ?? "");
  return v;
}

function compileCode(
  text: string,
  params: readonly string[],
  st: RecState,
  rec: IocRecord,
): Compiled {
  const Ctor: new (...a: string[]) => AnyFn = st.template.usesAwait
    ? AsyncFunction
    : Function as never;
  let exprError: unknown;
  if (!st.assignment) {
    try {
      return { fn: new Ctor(...params, `return (\n${text}\n);`), params, expression: true };
    } catch (e) {
      exprError = e;
    }
  }
  if (st.input) {
    throw new SyntaxError(
      `${rec.type.name} records need an expression: ${(exprError as Error)?.message ?? ""}`,
    );
  }
  return { fn: new Ctor(...params, text), params, expression: false };
}
