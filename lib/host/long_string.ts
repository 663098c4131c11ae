/**
 * `NAME$` for hosted string PVs, as an EPICS IOC serves `REC.FIELD$`: over Channel Access
 * the string as a long string, a char array of its UTF-8 bytes and a NUL (so autosave's
 * `$` request entries, `caget -S NAME$` and `caput -S NAME$ text` work on texts longer
 * than DBR_STRING's 39 characters); over PV Access the same string PV under the `$` name
 * (PVA strings have no length limit). Only string scalars have a `$` form, as only
 * DBF_STRING and link fields have one in an IOC.
 * @module
 */

import { charsToText, textToChars } from "../core/bytes.ts";
import type { PutContext, PvListener, PvProvider, PvSnapshot, ServedPv } from "../pv/types.ts";

/** Elements of a `NAME$` char array over CA (text longer than this is cut, NUL included). */
export const LONG_STRING_CA_LENGTH = 4096;

function isPlainString(pv: ServedPv | undefined): pv is ServedPv {
  return pv !== undefined && pv.type.kind === "scalar" && pv.type.scalar === "string" &&
    !pv.type.link;
}

/** The text of a value written to a long string: a string, or bytes up to the first NUL. */
function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    return charsToText(value as ArrayLike<number>);
  }
  return String(value ?? "");
}

/**
 * A string PV under its `NAME$` name: what both forms share (access checks forwarded,
 * writes turned to text first).
 */
abstract class DollarName implements ServedPv {
  readonly name: string;
  abstract readonly type: ServedPv["type"];
  protected readonly pv: ServedPv;

  constructor(pv: ServedPv) {
    this.pv = pv;
    this.name = pv.name + "$";
  }

  abstract snapshot(): PvSnapshot;
  abstract subscribe(listener: PvListener): () => void;
  abstract putRefused(value: unknown, ctx: PutContext, reason: string): void;

  canWrite(ctx?: PutContext): boolean {
    return this.pv.canWrite(ctx);
  }

  canRead(ctx?: PutContext): boolean {
    return this.pv.canRead?.(ctx) ?? true;
  }

  put(value: unknown, ctx: PutContext): Promise<void> {
    return this.pv.put(textOf(value), ctx);
  }
}

/** A string PV seen as its long string (a text char array) by the CA server. */
class LongStringView extends DollarName {
  readonly type: ServedPv["type"] = {
    kind: "array",
    scalar: "uint8",
    maxLength: LONG_STRING_CA_LENGTH,
    text: true,
  };
  #lastIn: PvSnapshot | undefined;
  #lastOut: PvSnapshot | undefined;

  #map(s: PvSnapshot): PvSnapshot {
    if (s === this.#lastIn && this.#lastOut) return this.#lastOut;
    const out: PvSnapshot = {
      ...s,
      value: textToChars(String(s.value), LONG_STRING_CA_LENGTH),
    };
    this.#lastIn = s;
    this.#lastOut = out;
    return out;
  }

  snapshot(): PvSnapshot {
    return this.#map(this.pv.snapshot());
  }

  subscribe(listener: PvListener): () => void {
    return this.pv.subscribe((s, changes) => listener(this.#map(s), changes));
  }

  putRefused(value: unknown, ctx: PutContext, reason: string): void {
    this.pv.putRefused?.(textOf(value), ctx, reason);
  }
}

/** A string PV under its `NAME$` name, unchanged otherwise (the PVA form). */
class LongStringAlias extends DollarName {
  readonly type: ServedPv["type"];

  constructor(pv: ServedPv) {
    super(pv);
    this.type = pv.type;
  }

  snapshot(): PvSnapshot {
    return this.pv.snapshot();
  }

  subscribe(listener: PvListener): () => void {
    return this.pv.subscribe(listener);
  }

  putRefused(value: unknown, ctx: PutContext, reason: string): void {
    this.pv.putRefused?.(value, ctx, reason);
  }
}

/** A provider that also answers `NAME$` for its string PVs. */
class LongStringProvider implements PvProvider {
  readonly #base: PvProvider;
  readonly #make: (pv: ServedPv) => ServedPv;
  readonly #views = new WeakMap<ServedPv, ServedPv>();

  constructor(base: PvProvider, make: (pv: ServedPv) => ServedPv) {
    this.#base = base;
    this.#make = make;
  }

  lookup(name: string): ServedPv | undefined {
    const pv = this.#base.lookup(name);
    if (pv !== undefined || !name.endsWith("$")) return pv;
    const base = this.#base.lookup(name.slice(0, -1));
    if (!isPlainString(base)) return undefined;
    let view = this.#views.get(base);
    if (!view) {
      view = this.#make(base);
      this.#views.set(base, view);
    }
    return view;
  }

  names(): Iterable<string> {
    return this.#base.names();
  }
}

/**
 * The provider as the CA server should see it: also `NAME$`, the long-string form of each
 * string PV (a char array holding its text and a NUL; a DBR_STRING or DBR_CHAR write sets
 * the text). A name the provider has itself, `$` or not, is left as it is.
 * @param provider what the CA server serves otherwise
 * @returns the provider with `$` names
 * @example
 * ```ts
 * import { PvMap, SharedPV } from "../pv/mod.ts";
 * import { caLongStrings } from "./long_string.ts";
 * const p = caLongStrings(new PvMap([new SharedPV("s", { type: "string", value: "hi" })]));
 * const v = p.lookup("s$")?.snapshot().value as Uint8Array;
 * if (v.join() !== "104,105,0" || p.lookup("n$") !== undefined) throw new Error();
 * ```
 */
export function caLongStrings(provider: PvProvider): PvProvider {
  return new LongStringProvider(provider, (pv) => new LongStringView(pv));
}

/**
 * The provider as the PVA server should see it: also `NAME$` for each string PV, the same
 * string under that name (so one request file serves both protocols).
 * @param provider what the PVA server serves otherwise
 * @returns the provider with `$` names
 * @example
 * ```ts
 * import { PvMap, SharedPV } from "../pv/mod.ts";
 * import { pvaLongStrings } from "./long_string.ts";
 * const p = pvaLongStrings(new PvMap([new SharedPV("s", { type: "string", value: "hi" })]));
 * if (p.lookup("s$")?.snapshot().value !== "hi" || p.lookup("s$")?.name !== "s$") throw new Error();
 * ```
 */
export function pvaLongStrings(provider: PvProvider): PvProvider {
  return new LongStringProvider(provider, (pv) => new LongStringAlias(pv));
}
