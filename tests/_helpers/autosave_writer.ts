/**
 * A process that saves a large set over and over, for the kill -9 test
 * (tests/autosave_crash_test.ts): `deno run -A autosave_writer.ts FILE N` writes FILE with
 * N PVs per save, prints "saved" after each save, and never stops by itself.
 * @module
 */
import { formatSav, writeSavFile } from "../../lib/autosave/mod.ts";
import type { SavEntry } from "../../lib/autosave/mod.ts";

const [path, n] = [Deno.args[0], Number(Deno.args[1] ?? 20000)];
const enc = new TextEncoder();
for (let round = 0;; round++) {
  const entries: SavEntry[] = [];
  for (let i = 0; i < n; i++) {
    entries.push({ name: `crash:pv${i}.VAL`, kind: "double", value: round + i / 7 });
  }
  await writeSavFile(path, formatSav(entries, { date: new Date() }), { seq: 2 });
  await Deno.stdout.write(enc.encode(`saved ${round}\n`));
}
