/**
 * autosave-save and autosave-restore in-process against our own CA+PVA server on loopback:
 * request files with macros and includes, the save file's exact body, restore, --dry-run,
 * --verify, refusals, --json, running sets, and the .savB fallback.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { serve } from "../lib/host/serve.ts";
import { SharedPV } from "../lib/pv/shared_pv.ts";
import type { CliIO } from "../cli/_io.ts";
import { main as save } from "../cli/autosave_save.ts";
import { main as restore } from "../cli/autosave_restore.ts";
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";
import { escapeValue } from "../lib/autosave/mod.ts";

type Main = (args: string[], io: CliIO) => Promise<number>;

/** Longer than DBR_STRING's 39 characters, with a quote and a non-ASCII character. */
const NOTE = 'a note of more than forty characters, "quoted", 25 \u00b0C';

function makePvs() {
  return [
    new SharedPV("t:dbl", { type: "float64", value: 1 / 3 }),
    new SharedPV("t:flt", { type: "float32", value: 0.1 }),
    new SharedPV("t:int", { type: "int32", value: -42 }),
    new SharedPV("t:str", { type: "string", value: 'tab\tq"' }),
    new SharedPV("t:mode", { type: "enum", choices: ["Off", "On", "Auto"], value: 2 }),
    new SharedPV("t:wf", { type: "float64", length: 4, value: [1, 2.5, -3, 1e-20] }),
    new SharedPV("t:ro", { type: "float64", value: 7, writable: false }),
    new SharedPV("t:note", { type: "string", value: NOTE }),
    new SharedPV("t:picky", {
      type: "float64",
      value: 1,
      onPut: (v) => {
        if (Number(v) > 100) throw new Error("too big");
      },
    }),
  ];
}

async function start() {
  const pvs = makePvs();
  const cfg = epicsConfigFrom(LOOPBACK_ENV);
  const server = await serve({
    pvs,
    caPort: 0,
    pvaPort: 0,
    config: { ...cfg, pvas: { ...cfg.pvas, broadcastPort: 0 } },
  });
  const env = {
    ...LOOPBACK_ENV,
    EPICS_CA_ADDR_LIST: `127.0.0.1:${server.ca!.udpPort}`,
    EPICS_PVA_ADDR_LIST: `127.0.0.1:${server.pva!.udpPort}`,
    EPICS_CA_REPEATER_PORT: "1",
    TZ: "UTC",
  };
  const byName = new Map(pvs.map((p) => [p.name, p]));
  const run = async (main: Main, args: string[], signal?: AbortSignal) => {
    const r = { out: "", err: "", code: 0 };
    r.code = await main(args, {
      stdout: (t) => (r.out += t),
      stderr: (t) => (r.err += t),
      env,
      signal: signal ?? new AbortController().signal,
    });
    return r;
  };
  return {
    server,
    env,
    run,
    pv: (n: string) => byName.get(n)!,
    [Symbol.asyncDispose]: () => server.close(),
  };
}

const BODY = [
  "! 1 channel(s) not connected - or not all gets were successful",
  "t:dbl 0.33333333333333",
  "t:flt 0.1",
  "t:int -42",
  't:str tab\\tq\\"',
  "t:mode 2",
  't:wf @array@ { "1" "2.5" "-3" "1e-20" }',
  "#t:missing Not Connected",
  "t:ro 7",
  "t:picky 1",
  "<END>",
  "",
].join("\n");

async function reqDir(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "req"));
  await Deno.writeTextFile(
    join(dir, "req", "top.req"),
    "# top\n$(P)dbl\n$(P)flt\nfile inc.req Q=$(P)\n$(P)ro\n$(P)picky\n",
  );
  await Deno.writeTextFile(
    join(dir, "req", "inc.req"),
    "$(Q)int\n$(Q)str\n$(Q)mode  extra words\n$(Q)wf\n$(Q)missing\n",
  );
  return dir;
}

const value = (p: SharedPV) => p.snapshot().value;

for (const provider of ["ca", "pva"]) {
  Deno.test(`autosave-save and autosave-restore over ${provider}`, async () => {
    await using s = await start();
    const dir = await reqDir();
    try {
      const sav = join(dir, "top.sav");
      const common = ["-p", provider, "-w", "1"];
      let r = await s.run(save, [
        ...common,
        "-I",
        join(dir, "req"),
        "-m",
        "P=t:",
        "-o",
        sav,
        "top.req",
      ]);
      assert.equal(r.code, 1, r.err); // one PV not connected
      assert.match(r.err, /t:missing: not found/);
      assert.match(r.err, /wrote .*top\.sav: 9 PVs, 8 saved, 1 not connected/);
      const text = await Deno.readTextFile(sav);
      assert.match(
        text.split("\n")[0],
        /^# autosave R5\.3\tAutomatically generated - DO NOT MODIFY - \d{6}-\d{6}$/,
      );
      assert.equal(text.slice(text.indexOf("\n") + 1), BODY);

      // change everything, then restore
      s.pv("t:dbl").post(5);
      s.pv("t:flt").post(2);
      s.pv("t:int").post(0);
      s.pv("t:str").post("x");
      s.pv("t:mode").post(0);
      s.pv("t:wf").post([9, 9]);
      s.pv("t:picky").post(2);
      r = await s.run(restore, [...common, "--dry-run", sav]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^NAME +CURRENT +SAVED\n/);
      assert.match(r.out, /\nt:dbl +5 +0\.33333333333333\n/);
      assert.match(r.out, /\nt:mode +0 +2\n/);
      assert.match(r.err, /7 of 8 PVs differ .*dry run: nothing written/);
      assert.equal(value(s.pv("t:dbl")), 5);
      r = await s.run(restore, [...common, "--verify", sav]);
      assert.equal(r.code, 1);

      r = await s.run(restore, [...common, "--json", sav]);
      assert.equal(r.code, 1, r.err); // t:ro refuses
      assert.match(r.err, /t:ro: (refused|no write access)/);
      const j = JSON.parse(r.out);
      assert.equal(j.total, 8);
      assert.equal(j.failed, 1);
      assert.deepEqual(j.pvs.find((p: { name: string }) => p.name === "t:ro").status, "failed");
      assert.equal(value(s.pv("t:dbl")), 0.33333333333333);
      assert.equal(value(s.pv("t:flt")), Math.fround(0.1));
      assert.equal(value(s.pv("t:int")), -42);
      assert.equal(value(s.pv("t:str")), 'tab\tq"');
      assert.deepEqual(value(s.pv("t:mode")), 2);
      assert.deepEqual(Array.from(value(s.pv("t:wf")) as Float64Array), [1, 2.5, -3, 1e-20]);
      assert.equal(value(s.pv("t:picky")), 1);
      r = await s.run(restore, [...common, "--verify", sav]);
      assert.equal(r.code, 0, r.out + r.err);

      // a value the server refuses is reported with its reason
      const bad = join(dir, "bad.sav");
      await Deno.writeTextFile(bad, "t:picky 1000\nt:int notanumber\nt:nothere 1\n<END>\n");
      r = await s.run(restore, [...common, bad]);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        provider === "ca" ? /t:picky: refused: .*ECA_PUTFAIL/ : /t:picky: refused: .*too big/,
      );
      assert.match(r.err, /t:int: bad value/);
      assert.match(r.err, /t:nothere: not found/);
      assert.match(r.err, /restored 0 of 3 PVs/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/** Resolves once `cond` holds, polling; fails (naming `what`) if it still does not after 30 s. */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i >= 3000) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const provider of ["ca", "pva"]) {
  // main() used to leave the CA context / PVA client of its source open (the source did
  // not own it): the command only ended because runMain calls Deno.exit, and a caller that
  // runs main() in-process (the benchmark) never exited. The server sees every client
  // connection closed once main() has returned.
  Deno.test(`autosave-save and autosave-restore over ${provider} close their connections`, async () => {
    await using s = await start();
    const dir = await reqDir();
    const open = () =>
      provider === "ca" ? s.server.ca!.circuitCount : s.server.pva!.connectionCount;
    try {
      const sav = join(dir, "top.sav");
      const common = ["-q", "-p", provider, "-w", "1"];
      let r = await s.run(save, [
        ...common,
        "-I",
        join(dir, "req"),
        "-m",
        "P=t:",
        "-o",
        sav,
        "top.req",
      ]);
      assert.equal(r.code, 1, r.err); // t:missing
      // The run did connect (so "no connection" below is not vacuous).
      assert.match(await Deno.readTextFile(sav), /^t:dbl 0\.33333333333333$/m);
      await waitFor(() => open() === 0, `the ${provider} server to see save's client go`);
      r = await s.run(restore, [...common, "--verify", sav]);
      assert.equal(r.code, 0, r.err);
      await waitFor(() => open() === 0, `the ${provider} server to see restore's client go`);

      // In a process of its own that calls main() and then simply returns (no Deno.exit),
      // the process ends: no socket or timer is left behind (a CA context left open keeps
      // its UDP socket and timers, which no server can see).
      const script = [
        `import { main } from ${
          JSON.stringify(new URL("../cli/autosave_save.ts", import.meta.url).href)
        };`,
        `const io = { stdout() {}, stderr() {}, env: Deno.env.toObject(),`,
        `  signal: new AbortController().signal };`,
        `const code = await main(${
          JSON.stringify([...common, "-I", join(dir, "req"), "-m", "P=t:", "-o", sav, "top.req"])
        }, io);`,
        `console.log("main returned " + code);`,
      ].join("\n");
      const child = new Deno.Command(Deno.execPath(), {
        args: ["eval", "--config", new URL("../deno.json", import.meta.url).pathname, script],
        env: s.env,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Only a guard so that a regression fails instead of hanging the suite.
      const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
      const o = await child.output();
      clearTimeout(guard);
      const out = new TextDecoder().decode(o.stdout);
      assert.match(out, /main returned 1/, new TextDecoder().decode(o.stderr));
      assert.equal(o.signal, null, "the process did not end by itself after main() returned");
      assert.equal(o.code, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (const provider of ["ca", "pva"]) {
  // pvserve serves NAME$ for its string PVs, as an IOC serves REC.FIELD$ (over CA a char
  // array holding the text): a `$` entry saves and restores the whole text, beyond the 39
  // characters a DBR_STRING holds.
  Deno.test(`autosave: a NAME$ long string of our server over ${provider}`, async () => {
    await using s = await start();
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(dir, "long.req"), "t:note$\nt:note\n");
      const sav = join(dir, "long.sav");
      const common = ["-p", provider, "-w", "2"];
      let r = await s.run(save, [...common, "-I", dir, "-o", sav, "long.req"]);
      assert.equal(r.code, 0, r.err);
      const lines = (await Deno.readTextFile(sav)).split("\n");
      // Escaped as synApps writes it (epicsStrPrintEscaped: \" and \xNN for non-ASCII bytes).
      assert.equal(lines[1], `t:note$ ${escapeValue(NOTE)}`);
      assert.match(lines[1], /\\"quoted\\", 25 \\xc2\\xb0C$/);
      // Without the $, CA reads a DBR_STRING: at most 39 bytes (PVA strings are whole).
      const plain = lines[2].slice("t:note ".length);
      if (provider === "ca") assert.equal(plain, escapeValue(NOTE.slice(0, 39)));
      else assert.equal(plain, lines[1].slice("t:note$ ".length));
      s.pv("t:note").post("short");
      r = await s.run(restore, [...common, "--verify", sav]);
      assert.equal(r.code, 1);
      // Restore only the `$` line: the whole text comes back.
      await Deno.writeTextFile(sav, lines.filter((l) => !l.startsWith("t:note ")).join("\n"));
      r = await s.run(restore, [...common, sav]);
      assert.equal(r.code, 0, r.err);
      assert.equal(value(s.pv("t:note")), NOTE);
      r = await s.run(restore, [...common, "--verify", sav]);
      assert.equal(r.code, 0, r.out + r.err);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("autosave-save: usage and request-file errors exit 2, naming file:line", async () => {
  await using s = await start();
  const dir = await reqDir();
  try {
    let r = await s.run(save, ["-I", join(dir, "req"), "top.req"]);
    assert.equal(r.code, 2);
    assert.match(
      r.err,
      /^autosave-save: Cannot read ".*top\.req" at line 2: undefined macro \$\(P\)\n$/,
    );
    r = await s.run(save, ["nothere.req"]);
    assert.equal(r.code, 2);
    r = await s.run(save, ["-w", "x", "a.req"]);
    assert.equal(r.code, 2);
    r = await s.run(save, ["--every", "1", "--trigger", "x", "a.req"]);
    assert.equal(r.code, 2);
    r = await s.run(restore, ["-p", "xx", "a.sav"]);
    assert.equal(r.code, 2);
    r = await s.run(restore, [join(dir, "none.sav")]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("autosave-restore falls back to .savB and says why; --force reads the truncated file", async () => {
  await using s = await start();
  const dir = await Deno.makeTempDir();
  try {
    const sav = join(dir, "a.sav");
    await Deno.writeTextFile(sav + "B", "t:dbl 1.5\n<END>\n");
    await Deno.writeTextFile(sav, "t:dbl 2.5\n"); // no <END>: truncated
    let r = await s.run(restore, ["-w", "2", sav]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: .*a\.sav" is not valid: no <END>.*using ".*a\.savB"/);
    assert.equal(value(s.pv("t:dbl")), 1.5);
    r = await s.run(restore, ["-w", "2", "--force", sav]);
    assert.equal(r.code, 0, r.err);
    assert.equal(value(s.pv("t:dbl")), 2.5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("autosave-save --on-change saves when a PV changes, and once more at Ctrl-C", async () => {
  await using s = await start();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "m.req"), "t:dbl\nt:int\n");
    const out = join(dir, "m.sav");
    const ac = new AbortController();
    const running = s.run(save, ["-I", dir, "--on-change", "0.05", "-o", out, "m.req"], ac.signal);
    const waitFor = async (re: RegExp) => {
      const t0 = Date.now();
      while (Date.now() - t0 < 10000) {
        try {
          if (re.test(await Deno.readTextFile(out))) return;
        } catch { /* not written yet */ }
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`timeout waiting for ${re}`);
    };
    await waitFor(/t:dbl 0\.33333333333333\n/);
    s.pv("t:dbl").post(8.5);
    await waitFor(/t:dbl 8\.5\n/);
    s.pv("t:int").post(3);
    ac.abort();
    const r = await running;
    assert.equal(r.code, 0, r.err);
    assert.match(await Deno.readTextFile(out), /t:int 3\n/);
    assert.match(await Deno.readTextFile(out + "B"), /<END>\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("autosave-save --trigger saves when the trigger PV posts; --format json", async () => {
  await using s = await start();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "t.req"), "t:dbl\nt:mode\nt:wf\n");
    const out = join(dir, "t.json");
    const ac = new AbortController();
    const running = s.run(
      save,
      ["-I", dir, "--trigger", "t:int", "--format", "json", "-o", out, "--json", "t.req"],
      ac.signal,
    );
    const t0 = Date.now();
    let saves = 0;
    while (Date.now() - t0 < 10000) {
      const n = (await Deno.readTextFile(out).catch(() => "")) ? 1 : 0;
      if (n) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    s.pv("t:dbl").post(4);
    // the first posted update of the trigger after subscribing causes a save
    const waitSave = async () => {
      const t1 = Date.now();
      while (Date.now() - t1 < 10000) {
        const data = JSON.parse(await Deno.readTextFile(out));
        if (data["t:dbl"].value === 4) return data;
        s.pv("t:int").post(++saves);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("no triggered save");
    };
    const data = await waitSave();
    assert.deepEqual(data["t:mode"], { value: 2 });
    assert.deepEqual(data["t:wf"], { value: [1, 2.5, -3, 1e-20] });
    ac.abort();
    const r = await running;
    assert.equal(r.code, 0, r.err);
    const first = JSON.parse(r.out.split("\n")[0]);
    assert.equal(first.total, 3);
    assert.equal(first.pvs[0].status, "ok");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
