/**
 * kill -9 at random moments of large saves: a valid save file must always remain (the
 * writer renames a synced temporary file over the old one, and keeps the old one as .savB).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkSav, formatSav, parseSav, writeSavFile } from "../lib/autosave/mod.ts";

const WRITER = new URL("./_helpers/autosave_writer.ts", import.meta.url).pathname;
const KILLS = 6;
const PVS = 20000;

async function waitForLines(stdout: ReadableStream<Uint8Array>, count: number): Promise<void> {
  const dec = new TextDecoder();
  let seen = 0;
  const reader = stdout.getReader();
  try {
    while (seen < count) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the writer exited early");
      seen += (dec.decode(value).match(/\n/g) ?? []).length;
    }
  } finally {
    reader.releaseLock();
  }
}

Deno.test("kill -9 during large saves never leaves the last good file unreadable", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "crash.sav");
  const delays: number[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", WRITER, path, String(PVS)],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      // The first kill comes after one save; later ones from 0 to ~60 ms into a save.
      await waitForLines(child.stdout, 1);
      const delay = Math.floor(Math.random() * 60);
      delays.push(delay);
      await new Promise((r) => setTimeout(r, delay));
      child.kill("SIGKILL");
      await child.stdout.cancel();
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL", `the writer ended by itself (delays ${delays})`);
      const text = await Deno.readTextFile(path);
      const c = checkSav(text);
      assert.ok(c.valid, `crash.sav not valid after kill at +${delay} ms: ${c.reason}`);
      assert.equal(parseSav(text).records.length, PVS);
      for (const other of [path + "B", path + "0", path + "1"]) {
        const t = await Deno.readTextFile(other).catch(() => undefined);
        if (t !== undefined) assert.ok(checkSav(t).valid, `${other} not valid after a kill`);
      }
    }
    // The next writer removes the temporary files the killed ones left.
    await writeSavFile(path, formatSav([{ name: "x", value: 1 }]));
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".tmp-"));
    if (Deno.build.os === "linux") assert.deepEqual(left, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
