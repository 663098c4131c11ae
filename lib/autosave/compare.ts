/**
 * Comparing saved values with live ones, the check of synApps' asVerify: a PV differs when
 * its live value, written the way autosave writes it, is not the saved text (numbers are
 * compared as numbers: `1` and `1.0` are the same; floats at float precision).
 *
 * Pure: no I/O.
 * @module
 */

import { formatSavValue } from "./sav.ts";
import { unescapeValue } from "./text.ts";
import type { SavEntry, SavRecord } from "./sav.ts";

/** One PV of a comparison. */
export interface Difference {
  /** The PV name. */
  readonly name: string;
  /** The saved value, as text (arrays: elements joined by spaces). */
  readonly saved: string;
  /** The live value written as autosave would (undefined when it could not be read). */
  readonly current?: string;
  /** Why there is no live value, when there is none. */
  readonly reason?: string;
}

function sameNumberText(a: string, b: string, kind: SavEntry["kind"]): boolean {
  if (a === b) return true;
  if (a.trim() === "" || b.trim() === "") return false;
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) && Number.isNaN(y)) return /nan/i.test(a) && /nan/i.test(b);
  if (!Number.isFinite(x) && !Number.isFinite(y)) return x === y;
  if (kind === "float") return Math.fround(x) === Math.fround(y);
  if (x === y) return true;
  // Saved with %.14g: equal when both round to the same 14 digits.
  return Number.isFinite(x) && Number.isFinite(y) && x.toPrecision(14) === y.toPrecision(14);
}

function elements(text: string): string[] {
  const m = /^@array@ \{ (.*)\}$/.exec(text);
  if (!m) return [text];
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)" /g;
  let r;
  while ((r = re.exec(m[1]))) out.push(r[1]);
  return out;
}

/**
 * Whether a live value equals a saved one.
 * @param saved the saved record
 * @param current the live value as a save entry (kind and value)
 * @returns true when equal
 * @example
 * ```ts
 * import { sameValue } from "./compare.ts";
 * const rec = { name: "a", value: "1.5", line: 1 };
 * if (!sameValue(rec, { name: "a", kind: "double", value: 1.5 })) throw new Error();
 * if (sameValue(rec, { name: "a", kind: "double", value: 2 })) throw new Error();
 * ```
 */
export function sameValue(saved: SavRecord, current: SavEntry): boolean {
  if (current.error !== undefined) return false;
  const cur = formatSavValue(current);
  const numeric = current.kind !== undefined && current.kind !== "string" &&
    !current.name.endsWith("$");
  if (Array.isArray(saved.value)) {
    const c = elements(cur);
    if (c.length !== saved.value.length) {
      // A one-element array is saved as a scalar; an empty one as nothing.
      return false;
    }
    return saved.value.every((s, i) =>
      numeric ? sameNumberText(s, c[i], current.kind) : s === unescapeValue(c[i])
    );
  }
  if (!numeric) {
    // Compare raw text: the saved value is unescaped, the current one escaped by formatSavValue.
    const raw = typeof current.value === "string" && !current.name.endsWith("$")
      ? current.value
      : unescapeValue(cur);
    return saved.value === raw;
  }
  return sameNumberText(
    saved.value,
    cur.startsWith("@array@") ? elements(cur)[0] ?? "" : cur,
    current.kind,
  );
}

/**
 * The PVs whose live value differs from the saved one.
 * @param saved the saved records
 * @param current the live values, in the same order, with why a PV could not be read
 * @returns the differences, in order
 */
export function diffValues(
  saved: readonly SavRecord[],
  current: readonly { entry: SavEntry; reason?: string }[],
): Difference[] {
  const out: Difference[] = [];
  for (let i = 0; i < saved.length; i++) {
    const s = saved[i];
    const c = current[i];
    const savedText = Array.isArray(s.value) ? s.value.join(" ") : s.value;
    if (c.entry.error !== undefined) {
      out.push({ name: s.name, saved: savedText, reason: c.reason ?? c.entry.error });
    } else if (!sameValue(s, c.entry)) {
      const cur = formatSavValue(c.entry);
      out.push({
        name: s.name,
        saved: savedText,
        current: cur.startsWith("@array@") ? elements(cur).join(" ") : cur,
      });
    }
  }
  return out;
}
