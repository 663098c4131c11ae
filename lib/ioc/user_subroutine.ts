/**
 * Subroutines written as plain functions of a record view, for sub and aSub records whose
 * SNAM/INAM name a function of the user's own module (softioc `--module`, `tsdevImport`,
 * `tsdev("function f(r) {...}")`).
 *
 * The function gets one argument, a view of the record: its fields by name (`r.A`, `r.VAL`,
 * `r.EGU`, `r.NAME`, `r.RTYP`, menus as choice indexes). An aSub's arguments A..U and VALA..VALU read
 * as one element when NOx/NOVx is 1 (a number, a string for STRING, a bigint for
 * INT64/UINT64) and otherwise as a typed array of the NEx/NEVx elements in use (a view of
 * the record's own buffer; STRING arguments as a copied string array). Assigning a value or
 * an array to one stores it (cast to FTx/FTVx, at most NOx/NOVx elements) and sets NEx/NEVx
 * to the count. Other writes store a value in the field's type, as a C subroutine's stores
 * do: no special processing, posted only as the record posts after processing. Links,
 * read-only fields and fields with special handling (SNAM, SCAN...) cannot be written.
 *
 * What it returns is the status, as in base: `undefined` counts as 0, any other non-number
 * is an error. A promise makes the record asynchronous until it settles; its value is the
 * status. Throws and rejections are left to the record (CALC/INVALID, message in AMSG).
 * @module
 */

import { toFieldValue } from "./database.ts";
import type { FieldValue } from "./record_type.ts";
import { copyInto } from "./records.ts";
import type { IocRecord, Subroutine } from "./types.ts";

/** A view of a sub or aSub record: its fields by name, read and written as the module doc says. */
// deno-lint-ignore no-explicit-any
export type SubroutineView = Record<string, any>;

/** A user subroutine: it gets the record's view and returns a status (or nothing, or a promise). */
export type UserSubroutine = (rec: SubroutineView) => unknown;

/** An aSub argument field's element-count fields. */
interface Arg {
  /** NOx / NOVx. */
  readonly max: string;
  /** NEx / NEVx. */
  readonly count: string;
}

const ASUB_ARGS: ReadonlyMap<string, Arg> = new Map(
  "ABCDEFGHIJKLMNOPQRSTU".split("").flatMap((c) => [
    [c, { max: `NO${c}`, count: `NE${c}` }],
    [`VAL${c}`, { max: `NOV${c}`, count: `NEV${c}` }],
  ]),
);
/** NEx / NEVx: read-only to clients, but the subroutine sets how many elements it wrote. */
const ASUB_COUNTS: ReadonlyMap<string, string> = new Map(
  [...ASUB_ARGS.values()].map((a) => [a.count, a.max]),
);

type Buffer = { length: number; [i: number]: unknown; subarray?(a: number, b: number): unknown };

/**
 * Wraps a function of the record view into a {@link Subroutine} of the database.
 * @param fn the user's function
 * @returns the subroutine to register (or to resolve SNAM/INAM to)
 * @example
 * ```ts
 * import { startIoc, rec } from "./_testing.ts";
 * import { userSubroutine } from "./user_subroutine.ts";
 * using db = startIoc([rec("sub", "s", { INPA: "2", INPB: "3", SNAM: "add" })], {
 *   subroutines: [["add", userSubroutine((r) => { r.VAL = r.A + r.B; })]],
 * });
 * db.process(db.record("s")!);
 * if (db.getField("s") !== 5) throw new Error();
 * ```
 */
export function userSubroutine(fn: UserSubroutine): Subroutine {
  return (rec) => {
    const r = fn(subroutineView(rec));
    if (r !== null && typeof (r as PromiseLike<unknown>)?.then === "function") {
      return Promise.resolve(r as PromiseLike<unknown>).then(statusOf);
    }
    return statusOf(r);
  };
}

/**
 * The view of a record that user subroutines get (one per record, made on first use).
 * @param rec a sub or aSub record (any record works: only aSub has array arguments)
 * @returns the view
 */
export function subroutineView(rec: IocRecord): SubroutineView {
  let view = rec.pvt.subView as SubroutineView | undefined;
  if (view) return view;
  const isASub = rec.type.name === "aSub";
  view = new Proxy(Object.create(null) as SubroutineView, {
    get(_, p) {
      if (typeof p !== "string") return undefined;
      const arg = isASub ? ASUB_ARGS.get(p) : undefined;
      if (arg) return readArg(rec, p, arg);
      if (p === "RTYP") return rec.type.name;
      if (!rec.type.byName.has(p)) return undefined;
      return rec.f[p];
    },
    set(_, p, v) {
      if (typeof p !== "string") throw new TypeError(`Cannot write ${String(p)} of ${rec.name}`);
      const arg = isASub ? ASUB_ARGS.get(p) : undefined;
      if (arg) {
        writeArg(rec, p, arg, v);
        return true;
      }
      const spec = rec.type.byName.get(p);
      if (!spec) throw new TypeError(`Record ${rec.name} (${rec.type.name}) has no field ${p}`);
      const max = isASub ? ASUB_COUNTS.get(p) : undefined;
      if (max !== undefined) {
        rec.f[p] = Math.max(0, Math.min(Math.trunc(Number(v)) || 0, rec.f[max] as number));
        return true;
      }
      if (spec.isLink || spec.special || spec.type === "NOACCESS" || spec.type === "DEVICE") {
        throw new TypeError(`A subroutine cannot write ${rec.name}.${p}`);
      }
      rec.f[p] = toFieldValue(spec, scalarOf(v, `${rec.name}.${p}`));
      return true;
    },
    has(_, p) {
      return typeof p === "string" && rec.type.byName.has(p);
    },
    deleteProperty(_, p) {
      throw new TypeError(`Cannot delete ${String(p)} of ${rec.name}`);
    },
  });
  rec.pvt.subView = view;
  return view;
}

function readArg(rec: IocRecord, field: string, arg: Arg): unknown {
  const buf = rec.f[field] as unknown as Buffer;
  if ((rec.f[arg.max] as number) === 1) return buf[0];
  const n = Math.max(0, Math.min(rec.f[arg.count] as number, buf.length));
  return Array.isArray(buf) ? buf.slice(0, n) : buf.subarray!(0, n);
}

function writeArg(rec: IocRecord, field: string, arg: Arg, v: unknown): void {
  const buf = rec.f[field];
  const where = `${rec.name}.${field}`;
  const src: ArrayLike<unknown> = typeof v === "object" && v !== null && "length" in v
    ? v as ArrayLike<unknown>
    : [scalarOf(v, where)];
  if (!Array.isArray(buf)) {
    for (let i = 0; i < src.length; i++) {
      const x = src[i];
      if (typeof x !== "number" && typeof x !== "bigint" && typeof x !== "boolean") {
        throw new TypeError(`Cannot write ${describe(x)} into ${where}: it holds numbers`);
      }
    }
  }
  rec.f[arg.count] = copyInto(buf as FieldValue, src, src.length);
}

/** A value a field can take: numbers, strings; booleans as 0/1, bigints as numbers. */
function scalarOf(v: unknown, where: string): number | string {
  if (typeof v === "number" || typeof v === "string") return v;
  if (typeof v === "boolean") return Number(v);
  if (typeof v === "bigint") return Number(v);
  throw new TypeError(`Cannot write ${describe(v)} into ${where}`);
}

function statusOf(v: unknown): number | undefined {
  if (v === undefined || typeof v === "number") return v;
  throw new TypeError(
    `The subroutine returned ${describe(v)}, not a status (write results to the fields)`,
  );
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `the string ${JSON.stringify(v.slice(0, 20))}`;
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return `an object (${v.constructor?.name ?? "Object"})`;
  return `${typeof v} ${String(v)}`;
}
