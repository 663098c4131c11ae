/**
 * softioc as a process: a .db loaded with -d and macros, st.cmd scripts, shell commands on
 * stdin (dbl, dbgf, dbpf, dbpr), records reached over CA by our client, `exit`.
 * @module
 */

import assert from "node:assert/strict";
import { main as caget } from "../cli/caget.ts";
import { main as caput } from "../cli/caput.ts";
import { captureIO } from "./_helpers/ca_cli_io.ts";
import { freePort, LOOPBACK_ENV, REPO_ROOT } from "./_helpers/pvserve.ts";
import { iocEnv, SOFTIOC_CMD } from "./_helpers/softioc.ts";

const DB = `
record(ao, "$(P)sp") {
    field(DRVH, "10")
    field(DRVL, "0")
    field(EGU, "V")
    field(FLNK, "$(P)calc")
}
record(calc, "$(P)calc") {
    field(INPA, "$(P)sp")
    field(CALC, "A*2")
    field(HIHI, "15")
    field(HHSV, "MAJOR")
}
record(bi, "$(P)flag") {
    field(ZNAM, "Off")
    field(ONAM, "On")
}
`;

interface Ioc extends AsyncDisposable {
  port: number;
  /** The process's exit status, once it has ended. */
  status: Promise<Deno.CommandStatus>;
  send(line: string): Promise<void>;
  waitFor(re: RegExp): Promise<string>;
  output(): string;
}

function startSoftioc(args: string[], dir: string): Ioc {
  const port = freePort();
  const repeaterPort = freePort([port]);
  const pvaPort = freePort([port, repeaterPort]);
  const child = new Deno.Command(SOFTIOC_CMD[0], {
    args: [
      ...SOFTIOC_CMD.slice(1),
      ...args,
    ],
    cwd: dir,
    env: {
      ...iocEnv(port, repeaterPort, dir),
      EPICS_PVAS_SERVER_PORT: "0",
      EPICS_PVAS_BROADCAST_PORT: String(pvaPort),
      EPICS_PVA_BROADCAST_PORT: String(pvaPort),
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const waiters: (() => void)[] = [];
  const drain = async (s: ReadableStream<Uint8Array>, into: (t: string) => void) => {
    const dec = new TextDecoder();
    for await (const c of s) {
      into(dec.decode(c, { stream: true }));
      for (const w of waiters.splice(0)) w();
    }
  };
  const drained = Promise.all([
    drain(child.stdout, (t) => (out += t)),
    drain(child.stderr, (t) => (err += t)),
  ]);
  const writer = child.stdin.getWriter();
  const status = child.status;
  let exited = false;
  status.then(() => {
    exited = true;
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = async (re: RegExp) => {
    const deadline = Date.now() + 30_000;
    while (true) {
      const m = re.exec(out);
      if (m) return m[0];
      if (exited || Date.now() > deadline) {
        throw new Error(`softioc: no ${re} in output:\n${out}\nstderr:\n${err}`);
      }
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return {
    port,
    status,
    send: (line) => writer.write(new TextEncoder().encode(line + "\n")),
    waitFor,
    output: () => out,
    async [Symbol.asyncDispose]() {
      try {
        await writer.write(new TextEncoder().encode("exit\n"));
        await writer.close();
      } catch {
        // Already gone.
      }
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await status;
      clearTimeout(t);
      await drained;
    },
  };
}

Deno.test("softioc -m/-d loads a database, serves it over CA, and answers shell commands", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.db`, DB);
    await using ioc = startSoftioc(["-m", "P=x:", "-d", "t.db"], dir);
    await ioc.waitFor(/############\n/);
    await using c = captureIO(ioc.port);
    assert.equal(await caput(["-w", "10", "-c", "-t", "x:sp", "9"], c.io), 0, c.out.stderr);
    assert.equal(await caget(["-w", "10", "-t", "x:calc", "x:calc.SEVR", "x:sp.EGU"], c.io), 0);
    assert.equal(c.out.stdout, "9\n18\nMAJOR\nV\n");
    await ioc.send("dbl");
    await ioc.waitFor(/x:sp\nx:flag\nx:calc\n/);
    await ioc.send("dbpf x:flag 1");
    await ioc.waitFor(/DBF_STRING: +"On" *\n/);
    await ioc.send('dbl "calc" "VAL CALC"');
    await ioc.waitFor(/x:calc, "18", "A\*2"\n/);
    await ioc.send("dbgf x:sp.DRVH");
    await ioc.waitFor(/DBF_DOUBLE: +10 *\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("softioc runs an st.cmd (epicsEnvSet, dbLoadRecords, dbLoadTemplate, iocInit) and exits on exit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.db`, DB);
    await Deno.writeTextFile(
      `${dir}/t.substitutions`,
      'file "t.db" {\n  pattern { P }\n  { "z1:" }\n  { "z2:" }\n}\n',
    );
    await Deno.writeTextFile(
      `${dir}/st.cmd`,
      'epicsEnvSet("PRE", "y:")\ndbLoadRecords("t.db", "P=$(PRE)")\n' +
        'dbLoadTemplate("t.substitutions")\niocInit\ndbgf $(PRE)flag\n',
    );
    await using ioc = startSoftioc(["st.cmd"], dir);
    await ioc.waitFor(/DBF_STRING: +"Off" *\n/);
    await using c = captureIO(ioc.port);
    assert.equal(
      await caget(["-w", "10", "-t", "y:flag", "z1:sp.DRVH", "z2:calc.CALC"], c.io),
      0,
      c.out.stderr,
    );
    assert.equal(c.out.stdout, "Off\n10\nA*2\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A database with two errors: an unknown field (line 2) and a bad SCAN (line 5). */
const BAD_DB =
  'record(ai, "a") {\n  field(NOPE, "1")\n}\nrecord(ai, "b") {\n  field(SCAN, "often")\n}\n';

/** Runs softioc -S with `args` in `dir` until it ends by itself: its status and stderr. */
async function runToEnd(dir: string, args: string[]): Promise<{ code: number; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${REPO_ROOT}/cli/softioc.ts`, "-S", ...args],
    cwd: dir,
    env: { ...LOOPBACK_ENV, NO_COLOR: "1", INIT_CWD: dir },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, err: new TextDecoder().decode(r.stderr) };
}

Deno.test("softioc -d of a bad database lists every error once and exits 2 before iocInit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.db`,
      BAD_DB,
    );
    const { code, err } = await runToEnd(dir, ["-d", "bad.db"]);
    // As EPICS base's soft IOC: every error of the file, then "Failed to load", status 2,
    // and no iocInit.
    assert.equal(code, 2, err);
    assert.match(err, /"bad.db" at line 2.*NOPE/);
    assert.match(err, /"bad.db" at line 5.*often/);
    assert.match(err, /Error: Failed to load: bad.db\n/);
    assert.doesNotMatch(err, /Starting iocInit/);
    assert.equal(err.match(/NOPE/g)?.length, 1, "each error is printed once");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("softioc st.cmd: iocInit refuses to start after a bad dbLoadRecords, listing every error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.db`,
      BAD_DB,
    );
    await Deno.writeTextFile(`${dir}/st.cmd`, 'dbLoadRecords("bad.db")\niocInit\n');
    const { code, err } = await runToEnd(dir, ["st.cmd"]);
    assert.equal(code, 1, err);
    const init = err.indexOf("Starting iocInit");
    assert.ok(init > 0, err);
    assert.match(err.slice(init), /"bad.db" at line 2.*NOPE/);
    assert.match(err.slice(init), /"bad.db" at line 5.*often/);
    assert.match(err, /iocInit: 2 error\(s\); the IOC was not started/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/ioc/st.cmd: the simulated oven runs, its chain and waveform are served", async () => {
  await using ioc = startSoftioc(["st.cmd"], `${REPO_ROOT}/examples/ioc`);
  await ioc.waitFor(/demo:profile\n/);
  const read = async (names: string[]) => {
    await using c = captureIO(ioc.port);
    assert.equal(await caget(["-w", "10", "-t", ...names], c.io), 0, c.out.stderr);
    return c.out.stdout.trim().split("\n");
  };
  assert.deepEqual(await read(["demo:power:out", "demo:heater", "demo:temperature.EGU"]), [
    "60",
    "On",
    "degC",
  ]);
  assert.deepEqual(await read(["demo:profile"]), ["8 20 30 40 50 55 50 40 30"]);
  const first = (await read(["demo:temperature"]))[0];
  let changed = false;
  for (let i = 0; i < 100 && !changed; i++) {
    await new Promise((r) => setTimeout(r, 50));
    changed = (await read(["demo:temperature"]))[0] !== first;
  }
  assert.ok(changed, "the simulated temperature never changed");
  // Driving the setpoint up raises the temperature into HIGH/HIHI alarm.
  await using c = captureIO(ioc.port);
  assert.equal(await caput(["-w", "10", "-c", "-t", "demo:setpoint", "70"], c.io), 0, c.out.stderr);
  let sevr = "";
  for (let i = 0; i < 100 && sevr !== "MAJOR"; i++) {
    await new Promise((r) => setTimeout(r, 50));
    sevr = (await read(["demo:temperature.SEVR"]))[0];
  }
  assert.equal(sevr, "MAJOR");
});

Deno.test("softioc -x PREFIX: PREFIX:exit is a sub whose put ends the IOC with A's status", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [a, code] of [["0", 0], ["3", 1]] as const) {
      await using ioc = startSoftioc(["-x", "t", "-S"], dir);
      await ioc.waitFor(/############\n/);
      const c = captureIO(ioc.port);
      const got = await caget(
        ["-w", "10", "-t", "t:exit.RTYP", "t:exit.SNAM", "t:BaseVersion"],
        c.io,
      );
      assert.equal(got, 0, c.out.stderr + c.out.stdout);
      assert.equal(c.out.stdout, "sub\nexit\n7.0.8.1\n");
      assert.equal(await caput(["-w", "10", "-c", "-t", "t:exit.A", a], c.io), 0, c.out.stderr);
      // The IOC ends right after processing: the put's reply may not come.
      await caput(["-t", "-w", "2", "t:exit.PROC", "1"], c.io);
      assert.equal((await ioc.status).code, code);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
