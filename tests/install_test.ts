/**
 * The install path users take: `deno task install --root DIR` puts every command of
 * tools/commands.ts into DIR/bin; the installed pvserve then serves a PV and the installed
 * caget, caput and pvget, run from a folder outside the checkout, read and write it.
 * Also: `-V` of every command prints the one toolkit version.
 * @module
 */

import assert from "node:assert/strict";
import { COMMANDS } from "../tools/commands.ts";
import { EPICS_TS_VERSION } from "../lib/core/version.ts";
import { freePort, LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";

const dec = new TextDecoder();

Deno.test("-V of every command prints the toolkit version", async () => {
  for (const c of COMMANDS) {
    const mod = await import(new URL(`../${c.file}`, import.meta.url).href);
    let out = "";
    const code = await mod.main(["-V"], {
      stdout: (t: string) => out += t,
      stderr: (t: string) => out += t,
      env: { ...LOOPBACK_ENV },
      signal: new AbortController().signal,
    });
    assert.equal(code, 0, `${c.name} -V exits 0`);
    assert.match(out, new RegExp(`epics-ts ${EPICS_TS_VERSION.replaceAll(".", "\\.")}\\b`), c.name);
  }
});

/** The README's permissions table: command name -> flags, in order. */
function readmeCommands(): Map<string, string[]> {
  const text = Deno.readTextFileSync(`${REPO_ROOT}/README.md`);
  const start = text.indexOf("<!-- permissions table");
  assert.ok(start >= 0, "README.md has the permissions table");
  const rows = new Map<string, string[]>();
  for (const line of text.slice(start).split("\n").slice(1)) {
    if (!line.trim() && rows.size) break;
    const m = /^\| `([^`]+)` +\| `([^`]*)` +\|$/.exec(line.trim());
    if (m) rows.set(m[1], m[2].split(/\s+/));
  }
  return rows;
}

Deno.test("deno task compile: one deno compile line per README command, with its permissions", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile", "--dry-run", "--target", "x86_64-unknown-linux-gnu"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(r.success, dec.decode(r.stderr));
  const lines = dec.decode(r.stdout).trim().split("\n");
  const compiled = new Map<string, string[]>();
  for (const l of lines) {
    const w = l.split(" ");
    assert.deepEqual(w.slice(0, 2), ["deno", "compile"], l);
    const out = w[w.indexOf("--output") + 1];
    compiled.set(out.replace(/^dist\//, ""), w.filter((x) => x.startsWith("--allow-")));
    assert.ok(w.includes("--unstable-net"), l);
  }
  const readme = readmeCommands();
  // README, tools/commands.ts and the generated lines agree (add a README row per command).
  assert.deepEqual([...compiled.keys()].sort(), [...readme.keys()].sort());
  assert.deepEqual([...compiled.keys()].sort(), COMMANDS.map((c) => c.name).sort());
  for (const [name, perms] of readme) assert.deepEqual(compiled.get(name), perms, name);
});

Deno.test("deno task install: the installed commands work from outside the checkout", async () => {
  const root = await Deno.makeTempDir({ prefix: "epics-ts-install-" });
  const elsewhere = await Deno.makeTempDir({ prefix: "epics-ts-cwd-" });
  // The shims run `deno` from PATH: the one running this test.
  const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
  const PATH = `${root}/bin:${denoDir}:${Deno.env.get("PATH") ?? ""}`;
  try {
    const inst = await new Deno.Command(Deno.execPath(), {
      args: ["task", "install", "--root", root],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(inst.success, `install failed:\n${dec.decode(inst.stderr)}`);
    const installed = [...Deno.readDirSync(`${root}/bin`)].map((e) => e.name)
      .filter((n) => !n.startsWith("."));
    assert.deepEqual(installed.sort(), COMMANDS.map((c) => c.name).sort());

    const caPort = freePort();
    const repeaterPort = freePort([caPort]);
    const pvaPort = freePort([caPort, repeaterPort]);
    const env: Record<string, string> = {
      ...LOOPBACK_ENV,
      PATH,
      HOME: Deno.env.get("HOME") ?? elsewhere,
      NO_COLOR: "1",
      EPICS_CA_SERVER_PORT: String(caPort),
      EPICS_CA_REPEATER_PORT: String(repeaterPort),
      EPICS_CAS_BEACON_ADDR_LIST: `127.0.0.1:${repeaterPort}`,
      EPICS_PVA_BROADCAST_PORT: String(pvaPort),
    };
    for (const k of ["DENO_DIR", "XDG_CACHE_HOME"]) {
      const v = Deno.env.get(k);
      if (v) env[k] = v;
    }
    const server = new Deno.Command(`${root}/bin/pvserve`, {
      args: ["inst:x=float64:1.5", "--ca-port", String(caPort), "--pva-port", "0"],
      cwd: elsewhere,
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      let text = "";
      const reader = server.stderr.getReader();
      while (!/serving/.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`installed pvserve ended: ${text}`);
        text += dec.decode(value);
      }
      reader.releaseLock();
      // Keep draining so the server never blocks on a full pipe.
      const drained = server.stderr.pipeTo(new WritableStream());

      const run = async (cmd: string, ...args: string[]) => {
        const r = await new Deno.Command(`${root}/bin/${cmd}`, {
          args,
          cwd: elsewhere,
          clearEnv: true,
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
      };
      assert.deepEqual(await run("caget", "-w", "5", "inst:x"), {
        code: 0,
        out: "inst:x                         1.5\n",
        err: "",
      });
      const put = await run("caput", "-w", "5", "inst:x", "2.5");
      assert.equal(put.code, 0, put.err);
      assert.match(put.out, /^Old : inst:x +1\.5\nNew : inst:x +2\.5\n$/);
      const get = await run("pvget", "-w", "5", "inst:x");
      assert.equal(get.code, 0, get.err);
      assert.match(get.out, /^inst:x +\S+ \S+ +2\.5 *\n$/);
      const v = await run("pvserve", "-V");
      assert.equal(v.out, `pvserve (epics-ts ${EPICS_TS_VERSION})\n`);
      server.kill("SIGTERM");
      await server.status;
      await drained;
    } finally {
      try {
        server.kill("SIGKILL");
      } catch {
        // already ended
      }
      await server.status;
    }
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});
