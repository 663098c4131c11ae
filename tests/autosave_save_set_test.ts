/**
 * SaveSet's monitor set ("onChange") against a scripted PvSource whose subscriptions
 * deliver their first update only when the test says so: a value changed after the first
 * save read it, but before the subscription's first update arrived, must still be saved.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { SaveSet } from "../lib/autosave/save_set.ts";
import type {
  PvSource,
  ReadOutcome,
  WatchOptions,
  WriteOutcome,
} from "../lib/autosave/pv_source.ts";

/** Values in a map; subscriptions post only through {@link ScriptedSource.post}. */
class ScriptedSource implements PvSource {
  readonly values = new Map<string, number>();
  readonly #subs: {
    names: Set<string>;
    seen: Set<string>;
    cb: (n: string) => void;
    all: boolean;
  }[] = [];

  read(names: readonly string[]): Promise<ReadOutcome[]> {
    return Promise.resolve(
      names.map((name) => ({ entry: { name, value: this.values.get(name) ?? 0 } })),
    );
  }

  write(): Promise<WriteOutcome[]> {
    return Promise.reject(new Error("not used"));
  }

  watch(names: readonly string[], cb: (name: string) => void, options: WatchOptions = {}) {
    const sub = { names: new Set(names), seen: new Set<string>(), cb, all: !!options.includeFirst };
    this.#subs.push(sub);
    return () => {
      this.#subs.splice(this.#subs.indexOf(sub), 1);
    };
  }

  /** Sets a value and delivers an update to every subscription of it (the first skipped
   * unless the watcher asked for it, as the CA and PVA sources do). */
  post(name: string, value: number): void {
    this.values.set(name, value);
    for (const s of this.#subs) {
      if (!s.names.has(name)) continue;
      if (s.all || s.seen.has(name)) s.cb(name);
      else s.seen.add(name);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never: ${what}`);
}

Deno.test("a monitor set saves a change that the subscription's first update carries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = new ScriptedSource();
    source.values.set("a", 1);
    const path = join(dir, "m.sav");
    const set = new SaveSet({ names: ["a"], source, path }, { kind: "onChange", seconds: 0.02 });
    await set.start();
    assert.equal(set.saves, 1);
    assert.match(await Deno.readTextFile(path), /^a 1$/m);
    // The value changes after the first save read it; the subscription's first update,
    // arriving only now, carries the new value.
    source.post("a", 2);
    await until("a second save", () => set.saves >= 2);
    assert.match(await Deno.readTextFile(path), /^a 2$/m);
    // Later changes are saved as usual.
    source.post("a", 3);
    await until("a third save", async () => /^a 3$/m.test(await Deno.readTextFile(path)));
    await set.stop({ lastSave: false });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
