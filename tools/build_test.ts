import assert from "node:assert/strict";
import { buildArgs } from "./build.ts";
import { COMMANDS } from "./commands.ts";

Deno.test("every listed command exists and exports main(args, io)", async () => {
  for (const c of COMMANDS) {
    const mod = await import(new URL(`../${c.file}`, import.meta.url).href);
    assert.equal(typeof mod.main, "function", `${c.file} exports main`);
  }
  const entries = [...Deno.readDirSync(new URL("../cli/", import.meta.url))]
    .map((e) => e.name)
    .filter((n) => n.endsWith(".ts") && !n.startsWith("_") && !n.endsWith("_test.ts"));
  assert.deepEqual(
    entries.sort(),
    COMMANDS.map((c) => c.file.slice(4)).sort(),
    "no command left out",
  );
});

Deno.test({
  name: "build arguments for compile and install",
  permissions: "none",
  fn() {
    const c = buildArgs("compile", "caget", "cli/caget.ts", { target: "x86_64-unknown-linux-gnu" });
    assert.deepEqual(c.slice(-3), ["--output", "dist/caget", "cli/caget.ts"]);
    assert.ok(c.includes("--unstable-net") && c.includes("--target"));
    const i = buildArgs("install", "pvget", "cli/pvget.ts", { root: "/opt/epics-ts" });
    assert.deepEqual(i.slice(-3), ["--name", "pvget", "cli/pvget.ts"]);
    assert.ok(i.includes("--global") && i.includes("--root"));
  },
});
