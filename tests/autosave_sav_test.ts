// Golden bytes: ../shared/vectors/autosave/sample.sav was written by synApps autosave itself.
import { deepEqual as assertEquals, rejects as assertRejects } from "node:assert/strict";
import { join } from "node:path";
import {
  checkSav,
  formatSav,
  loadReqFile,
  parseSav,
  readSavFile,
  SavReadError,
  SavWriteError,
  writeSavFile,
} from "../lib/autosave/mod.ts";
import type { SavEntry } from "../lib/autosave/mod.ts";

const VEC = new URL("../../shared/vectors/autosave/", import.meta.url);
const golden = () => Deno.readTextFileSync(new URL("sample.sav", VEC));

/** The save set of sample.req with the values the IOC had (see the vector's README). */
function sampleEntries(): SavEntry[] {
  const big = new Float64Array(100000);
  for (let i = 0; i < big.length; i++) big[i] = i / 2;
  return [
    { name: "T:alarm", kind: "double", value: 9 },
    { name: "T:alarm.HIHI", kind: "double", value: 7.25 },
    { name: "T:alarm.HHSV", kind: "menu", value: 2 },
    { name: "T:long.EGU", kind: "string", value: "cnt" },
    { name: "T:long.HOPR", kind: "double", value: 1000 },
    { name: "T:bo.ZNAM", kind: "string", value: "Off" },
    { name: "T:mbbo.ZRST", kind: "string", value: "Zero" },
    { name: "T:mbbo.TWST", kind: "string", value: "Two" },
    { name: "T:calc.INPA", kind: "string", value: "T:calc NPP NMS" },
    { name: "T:calc.SCAN", kind: "menu", value: 9 },
    { name: "T:calc.CALC", kind: "string", value: "A+1" },
    { name: "T:lso.SIZV", kind: "ushort", value: 200 },
    { name: "T:img:data", error: "Search Issued" },
    { name: "T:big", kind: "double", value: big },
    { name: "T:str.DESC", kind: "string", value: "tab\tand backslash" },
    { name: "MISSING:pv", error: "Search Issued" },
    { name: "T:ai.DESC$", value: new TextEncoder().encode("analog in\0\0\0") },
  ];
}

Deno.test("writer: synApps' own save file, byte for byte after the header line", () => {
  const want = golden();
  const got = formatSav(sampleEntries(), { date: new Date(2026, 11, 1, 23, 25, 29) });
  assertEquals(got, want);
  const body = (s: string) => s.slice(s.indexOf("\n") + 1);
  assertEquals(body(formatSav(sampleEntries(), { date: new Date() })), body(want));
});

Deno.test("reader: synApps' own save file", () => {
  const doc = parseSav(golden());
  assertEquals(doc.complete, true);
  assertEquals(doc.version, "autosave R5.3");
  assertEquals(doc.date, "261201-232529");
  assertEquals(doc.notConnected, 2);
  assertEquals(doc.commented.map((c) => [c.name, c.reason]), [
    ["T:img:data", "Search Issued"],
    ["MISSING:pv", "Search Issued"],
  ]);
  assertEquals(doc.records.length, 15);
  const byName = new Map(doc.records.map((r) => [r.name, r.value]));
  assertEquals(byName.get("T:str.DESC"), "tab\tand backslash");
  assertEquals(byName.get("T:calc.INPA"), "T:calc NPP NMS");
  assertEquals(byName.get("T:ai.DESC$"), "analog in");
  const big = byName.get("T:big") as string[];
  assertEquals(big.length, 100000);
  assertEquals([big[0], big[1], big[99999]], ["0", "0.5", "49999.5"]);
});

Deno.test("writeSavFile keeps the previous good file as .savB; readSavFile falls back to it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "a.sav");
    const t1 = formatSav([{ name: "x", value: 1 }]);
    const t2 = formatSav([{ name: "x", value: 2 }]);
    const r1 = await writeSavFile(p, t1);
    assertEquals(r1.backupPath, undefined);
    const r2 = await writeSavFile(p, t2, { dated: new Date(2025, 0, 2, 3, 4, 5), seq: 2 });
    assertEquals(r2.backupPath, p + "B");
    assertEquals(await Deno.readTextFile(p), t2);
    assertEquals(await Deno.readTextFile(p + "B"), t1);
    assertEquals(await Deno.readTextFile(p + "_250102-030405"), t2);
    assertEquals(r2.seqPath, p + "0");
    const t3 = formatSav([{ name: "x", value: 3 }]);
    assertEquals((await writeSavFile(p, t3, { seq: 2 })).seqPath, p + "1");
    assertEquals(await Deno.readTextFile(p + "B"), t2);
    // no temporary file is left behind
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(names, ["a.sav", "a.sav0", "a.sav1", "a.savB", "a.sav_250102-030405"]);

    // a truncated .sav: the reader falls back to .savB and says why
    await Deno.writeTextFile(p, t3.slice(0, -4));
    const r = await readSavFile(p);
    assertEquals(r.path, p + "B");
    assertEquals(r.doc.records[0].value, "2");
    assertEquals(/not valid: no <END>/.test(r.fallback ?? ""), true);
    // --force reads the truncated file itself
    const f = await readSavFile(p, { force: true });
    assertEquals([f.path, f.fallback, f.doc.complete], [p, undefined, false]);
    // an invalid .sav is not kept as .savB by the next save
    await writeSavFile(p, t3);
    assertEquals(await Deno.readTextFile(p + "B"), t2);
    // neither file usable
    await Deno.writeTextFile(p, "junk");
    await Deno.writeTextFile(p + "B", "junk");
    await assertRejects(() => readSavFile(p), SavReadError);
    await assertRejects(() => readSavFile(join(dir, "none.sav")), /no such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a .savB that is a hard link of .sav (writer killed before its rename) leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "a.sav");
    const t1 = formatSav([{ name: "x", value: 1 }]);
    await writeSavFile(p, t1);
    await Deno.link(p, p + "B");
    const t2 = formatSav([{ name: "x", value: 2 }]);
    assertEquals((await writeSavFile(p, t2)).backupPath, p + "B");
    assertEquals(await Deno.readTextFile(p), t2);
    assertEquals(await Deno.readTextFile(p + "B"), t1);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.sav", "a.savB"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: Deno.uid() === 0
    ? "a write error (read-only folder) [ignored: running as root, folder modes are not enforced]"
    : "a write error (read-only folder) leaves the old file and says why",
  ignore: Deno.uid() === 0,
  async fn() {
    const dir = await Deno.makeTempDir();
    const p = join(dir, "a.sav");
    const t1 = formatSav([{ name: "x", value: 1 }]);
    try {
      await writeSavFile(p, t1);
      await Deno.chmod(dir, 0o555);
      await assertRejects(
        () => writeSavFile(p, formatSav([{ name: "x", value: 2 }])),
        (e: unknown) => e instanceof SavWriteError && /permission denied/.test(e.message),
      );
      assertEquals(await Deno.readTextFile(p), t1);
      assertEquals(checkSav(await Deno.readTextFile(p)).valid, true);
    } finally {
      await Deno.chmod(dir, 0o755);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a write error (folder is a file) says why and leaves nothing behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const notDir = join(dir, "plain");
    await Deno.writeTextFile(notDir, "x");
    await assertRejects(
      () => writeSavFile(join(notDir, "a.sav"), formatSav([])),
      (e: unknown) => e instanceof SavWriteError && /Cannot write ".*a\.sav": /.test(e.message),
    );
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["plain"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("request file: synApps' sample.req gives the PVs of its sample.sav, in order", () => {
  const set = loadReqFile("sample.req", { searchPath: [new URL(VEC).pathname] });
  const doc = parseSav(golden());
  const savNames = golden().split("\n").slice(2, -2).map((l) => l.split(" ")[0].replace(/^#/, ""));
  assertEquals(set.entries.map((e) => e.name), savNames);
  assertEquals(doc.records.length + doc.commented.length, set.entries.length);
});
