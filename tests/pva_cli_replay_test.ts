/**
 * Replays every recorded pvxs session in ../shared/vectors/pva/ against our commands
 * in-process: a fake server answers with the recorded softIocPVX bytes, and our `-v`
 * output (pvxs' delta and tree forms) must equal what the pvxs tool printed.
 */
import assert from "node:assert/strict";
import { type Recording, startReplayServer } from "../lib/pva/client/_replay.ts";
import type { CliIO } from "../cli/_io.ts";
import { main as pvget } from "../cli/pvget.ts";
import { main as pvmonitor } from "../cli/pvmonitor.ts";
import { writeValues } from "../cli/pvput.ts";
import { clientFor } from "../cli/_pva_common.ts";
import { main as pvinfo } from "../cli/pvinfo.ts";

const DIR = new URL("../../shared/vectors/pva/", import.meta.url);

function load(name: string): Recording {
  return JSON.parse(Deno.readTextFileSync(new URL(`${name}.json`, DIR)));
}

/** Splits a recorded shell command (single quotes only, as the recordings use). */
function shellWords(cmd: string): string[] {
  const out: string[] = [];
  for (const m of cmd.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]);
  return out;
}

interface Captured {
  out: string;
  err: string;
  io: CliIO;
  abort(): void;
}

function capture(udpPort: number): Captured {
  const ac = new AbortController();
  const c: Captured = {
    out: "",
    err: "",
    abort: () => ac.abort(),
    io: {
      stdout: (t) => (c.out += t),
      stderr: (t) => (c.err += t),
      env: {
        EPICS_PVA_AUTO_ADDR_LIST: "NO",
        EPICS_PVA_ADDR_LIST: `127.0.0.1:${udpPort}`,
        TZ: "UTC",
      },
      signal: ac.signal,
    },
  };
  return c;
}

/** The recordings, or none when ../shared/vectors/pva is absent (then every test here is ignored). */
function listRecordings(): string[] | undefined {
  try {
    return [...Deno.readDirSync(DIR)].map((e) => e.name.replace(/\.json$/, "")).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

const recorded = listRecordings();
const names = recorded ?? [];
const ignore = recorded === undefined;

// Reported as ignored (not passed) when the recordings are missing.
if (ignore) {
  Deno.test({
    name: "pvxs tool replay: ../shared/vectors/pva is absent, so the replay is skipped",
    ignore: true,
    fn() {},
  });
}

for (const name of names.filter((n) => n.startsWith("pvxget_"))) {
  Deno.test(`replay ${name}: pvget -v prints what pvxget printed`, async () => {
    const rec = load(name);
    await using srv = startReplayServer(rec);
    const c = capture(srv.udpPort);
    // pvxget's own flags: -F json is not a pvxget format (it warned); we ignore -F.
    const args = ["-v", ...shellWords(rec.command).slice(1)];
    const code = await pvget(args, c.io);
    assert.equal(c.out, rec.stdout);
    assert.equal(code, rec.exit);
    if (rec.exit !== 0) assert.equal(c.err, rec.stderr);
  });
}

for (const name of names.filter((n) => n.startsWith("pvxinfo_"))) {
  Deno.test(`replay ${name}: pvinfo -v prints what pvxinfo printed`, async () => {
    const rec = load(name);
    await using srv = startReplayServer(rec);
    const c = capture(srv.udpPort);
    const code = await pvinfo(["-v", ...shellWords(rec.command).slice(1)], c.io);
    // The recording's server listened on 5075; ours on a random port.
    assert.equal(c.out.replace(`:${srv.tcpPort}`, ":5075"), rec.stdout);
    assert.equal(code, rec.exit);
  });
}

for (const name of names.filter((n) => n.startsWith("pvxmonitor_"))) {
  Deno.test(`replay ${name}: pvmonitor -v prints what pvxmonitor printed`, async () => {
    const rec = load(name);
    await using srv = startReplayServer(rec);
    const c = capture(srv.udpPort);
    const args = ["-v", ...shellWords(rec.command).slice(3)];
    const run = pvmonitor(args, c.io);
    await srv.done;
    // Stop once it printed as much as pvxmonitor did (20 s backstop; a shortfall or any
    // difference shows in the comparison below).
    const end = performance.now() + 20_000;
    while (c.out.length < rec.stdout.length && performance.now() < end) {
      await new Promise((r) => setTimeout(r, 5));
    }
    c.abort();
    assert.equal(await run, 0);
    assert.equal(c.out, rec.stdout);
    // The Connected lines, times and server port aside (every time digit is printed).
    const shape = (t: string) =>
      t.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} /gm, "<time> ").replace(
        /:\d+$/gm,
        ":<port>",
      );
    assert.equal(shape(c.err), shape(rec.stderr));
  });
}

// pvxput prints nothing on success and has no output mode of its own (its -v dumps the
// client's configuration), so our pvput follows pvAccessCPP's output, which reads the PV
// before and after the put: those reads are not in the recordings. What we replay is
// pvput's write step: it must succeed or fail as pvxput's did, printing nothing on success.
// pvxput_enum is left out: pvxput refused "2" for an enum before sending the PUT, so
// the recording has no reply for the PUT that our pvput (which maps it to an index) sends.
for (const name of names.filter((n) => n.startsWith("pvxput_") && n !== "pvxput_enum")) {
  Deno.test(`replay ${name}: pvput's write step ends like pvxput`, async () => {
    const rec = load(name);
    await using srv = startReplayServer(rec);
    const c = capture(srv.udpPort);
    const [pv, ...values] = shellWords(rec.command).slice(1);
    await using client = clientFor(c.io);
    const options = {
      request: "",
      timeout: 5,
      mode: "nt",
      timeZone: "UTC",
      provider: "pva",
    } as const;
    const result = await writeValues(client, pv, values, options, c.io);
    assert.equal(c.out, rec.stdout);
    assert.equal(result === "ok" ? 0 : 1, rec.exit);
  });
}
