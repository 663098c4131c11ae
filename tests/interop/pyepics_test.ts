/**
 * Interop: pyepics over the real libca (EPICS base) against `pvserve --demo`.
 *
 * Each test starts pvserve as a subprocess on a free loopback port, runs one of the
 * pyepics_*.py scripts beside this file with EPICS_CA_SERVER_PORT pointing at it, and
 * asserts on the JSON the script prints. Under CI (env CI set) a missing pyepics is a
 * failure; elsewhere the tests are skipped.
 * @module
 */

import assert from "node:assert/strict";
import { AlarmSeverity, AlarmStatus } from "../../lib/core/alarm.ts";
import { Dbr, Eca } from "../../lib/ca/proto/constants.ts";
import { type PvserveProcess, startPvserve } from "../_helpers/pvserve.ts";

const PYTHON = "/usr/bin/python3";
const HERE = decodeURIComponent(new URL(".", import.meta.url).pathname);
const SCRIPT_TIMEOUT_MS = 60_000;

function pyepicsProblem(): string | undefined {
  try {
    const r = new Deno.Command(PYTHON, { args: ["-c", "import epics, numpy"], stdout: "null" })
      .outputSync();
    if (r.success) return undefined;
    return new TextDecoder().decode(r.stderr).trim().split("\n").pop();
  } catch (e) {
    return `cannot run ${PYTHON}: ${(e as Error).message}`;
  }
}

const PROBLEM = pyepicsProblem();
const IN_CI = Boolean(Deno.env.get("CI"));
const ignore = PROBLEM !== undefined && !IN_CI;

function requirePyepics(): void {
  if (PROBLEM !== undefined) {
    throw new Error(
      `pyepics is required in CI but "${PYTHON} -c 'import epics, numpy'" failed (${PROBLEM}); ` +
        "install python3-pyepics (see .ci/run)",
    );
  }
}

// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * PATH without directories holding a caRepeater: libca spawns one when no repeater
 * answers, and a detached repeater would outlive the test (with EPICS base on PATH).
 */
function pathWithoutRepeater(): string {
  const dirs = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":");
  return dirs.filter((d) => {
    try {
      Deno.statSync(`${d}/caRepeater`);
      return false;
    } catch {
      return true;
    }
  }).join(":");
}

/** Runs a script against the server and returns its RESULT object. */
async function runScript(script: string, server: PvserveProcess): Promise<Json> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), SCRIPT_TIMEOUT_MS);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(PYTHON, {
      args: [`${HERE}${script}`, "demo:"],
      cwd: HERE,
      env: {
        ...server.clientEnv,
        PATH: pathWithoutRepeater(),
        PYTHONDONTWRITEBYTECODE: "1",
        PYTHONUNBUFFERED: "1",
      },
      stdin: "null",
      signal: ac.signal,
    }).output();
  } finally {
    clearTimeout(timer);
  }
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  const stderr = dec.decode(out.stderr);
  const line = stdout.split("\n").findLast((l) => l.startsWith("RESULT "));
  if (!out.success || line === undefined) {
    const why = ac.signal.aborted ? `timed out after ${SCRIPT_TIMEOUT_MS} ms` : `exit ${out.code}`;
    throw new Error(
      `${script} failed (${why})\n--- stdout\n${stdout}\n--- stderr\n${stderr}\n` +
        `--- pvserve stderr\n${server.stderr()}`,
    );
  }
  return JSON.parse(line.slice("RESULT ".length));
}

/** Starts `pvserve --demo`, runs the script, stops the server and checks it stopped cleanly. */
async function withDemo(script: string): Promise<Json> {
  requirePyepics();
  const server = await startPvserve(["--demo"]);
  let result: Json;
  try {
    result = await runScript(script, server);
  } finally {
    const status = await server.close();
    assert.equal(status.code, 0, `pvserve did not stop cleanly:\n${server.stderr()}`);
  }
  return result;
}

function near(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual} is not within ${tol} of ${expected}`,
  );
}

/**
 * A DBR_TIME timestamp (Unix seconds) is not later than the client's clock when its reads
 * were done (`now.end`, same host: same clock, 0.1 s for rounding), and not older than
 * maxAge before the script started (`now.start`). A busy machine only widens the window.
 */
function recent(
  ts: number,
  now: { start: number; end: number },
  maxAge: number,
  what: string,
): void {
  assert.equal(typeof ts, "number", `${what}: no timestamp`);
  assert.ok(ts <= now.end + 0.1, `${what}: timestamp ${ts} is after the client's clock ${now.end}`);
  assert.ok(ts >= now.start - maxAge, `${what}: timestamp ${ts} is older than ${maxAge} s`);
}

const TEMPERATURE_LIMITS = {
  upper_disp_limit: 150,
  lower_disp_limit: -50,
  upper_alarm_limit: 100,
  upper_warning_limit: 80,
  lower_warning_limit: 0,
  lower_alarm_limit: -10,
};

const TEXT = "This is a long string held in a char array of 256 elements.";

function charsToString(codes: number[]): string {
  const end = codes.indexOf(0);
  return String.fromCharCode(...(end < 0 ? codes : codes.slice(0, end)));
}

Deno.test({
  name: "pyepics: caget of every demo PV in every DBR family",
  ignore,
  async fn() {
    const r = await withDemo("pyepics_get.py");
    const now = { start: r.now as number, end: r.now_end as number };
    const pvs = r.pvs;
    for (const [name, pv] of Object.entries<Json>(pvs)) {
      assert.equal(pv.connected, true, `demo:${name} did not connect`);
      assert.equal(pv.read_access, 1, `demo:${name} read access`);
      assert.match(pv.host, /:\d+$/, `demo:${name} host`);
      // Every family read succeeded at the libca level.
      for (const family of ["sts", "gr"]) {
        assert.equal(pv[family].status, Eca.NORMAL, `demo:${name} ${family} read status`);
      }
      for (const key of ["time_md", "ctrl_md", "timevars", "ctrlvars"]) {
        assert.ok(pv[key] !== null, `demo:${name} ${key} read failed`);
      }
      assert.equal(pv.sts.type, pv.field_type + 7);
      assert.equal(pv.gr.type, pv.field_type + 21);
      for (const form of ["native", "time", "ctrl"]) {
        assert.ok(pv.forms[form].md !== null, `demo:${name} PV(form=${form}) read failed`);
      }
      assert.deepEqual(pv.forms.native.md, { value: pv.forms.native.md.value });
    }

    // demo:temperature: float64 scalar with units, precision, limits.
    const t = pvs.temperature;
    assert.equal(t.field_type, Dbr.DOUBLE);
    assert.equal(t.element_count, 1);
    assert.equal(t.write_access, 1);
    assert.equal(t.caget, 25);
    assert.equal(t.caget_as_string, "25.00");
    assert.equal(t.plain, 25);
    assert.equal(t.as_dbr_double, 25);
    assert.equal(t.as_dbr_string, "25.00", "server-side DBR_STRING conversion uses PREC");
    assert.deepEqual(t.sts.value, [25]);
    assert.deepEqual(t.sts.meta, { status: 0, severity: 0 });
    assert.deepEqual(t.gr.value, [25]);
    assert.deepEqual(t.gr.meta, {
      status: 0,
      severity: 0,
      precision: 2,
      units: "C",
      ...TEMPERATURE_LIMITS,
    });
    const tCtrl = {
      ...TEMPERATURE_LIMITS,
      upper_ctrl_limit: 120,
      lower_ctrl_limit: -20,
      precision: 2,
      units: "C",
      status: AlarmStatus.NO_ALARM,
      severity: AlarmSeverity.NO_ALARM,
    };
    assert.deepEqual(t.ctrlvars, tCtrl);
    assert.deepEqual(t.ctrl_md, { ...tCtrl, value: 25 });
    assert.equal(t.forms.ctrl.ftype, Dbr.CTRL_DOUBLE);
    assert.equal(t.forms.ctrl.md.units, "C");
    assert.equal(t.forms.ctrl.md.upper_ctrl_limit, 120);
    assert.equal(t.forms.time.ftype, Dbr.TIME_DOUBLE);
    assert.equal(t.time_md.value, 25);
    assert.equal(t.time_md.status, 0);
    assert.equal(t.time_md.severity, 0);
    recent(t.time_md.timestamp, now, 120, "temperature TIME");
    assert.equal(t.timevars.timestamp, t.time_md.timestamp);
    near(t.time_md.posixseconds + t.time_md.nanoseconds / 1e9, t.time_md.timestamp, 1e-3, "ts");

    // demo:count: int32 read-only counter at 10 Hz, so its timestamps are fresh.
    const c = pvs.count;
    assert.equal(c.field_type, Dbr.LONG);
    assert.equal(c.element_count, 1);
    assert.equal(c.write_access, 0);
    for (const v of [c.caget, c.plain, c.sts.value[0], c.gr.value[0], c.time_md.value]) {
      assert.ok(Number.isInteger(v) && v >= 1, `count value ${v}`);
    }
    assert.equal(c.as_dbr_string, String(Number(c.as_dbr_string)));
    assert.equal(c.forms.time.ftype, Dbr.TIME_LONG);
    assert.equal(c.forms.ctrl.ftype, Dbr.CTRL_LONG);
    assert.equal(c.ctrlvars.units, "");
    recent(c.time_md.timestamp, now, 2, "count TIME");
    recent(c.timevars.timestamp, now, 2, "count timevars");
    assert.ok(c.time_md.value >= c.caget, "count went backwards");

    // demo:message: DBR_STRING.
    const m = pvs.message;
    assert.equal(m.field_type, Dbr.STRING);
    assert.equal(m.write_access, 1);
    for (const v of [m.caget, m.caget_as_string, m.plain, m.as_dbr_string, m.time_md.value]) {
      assert.equal(v, "hello");
    }
    assert.deepEqual(m.sts.value, ["hello"]);
    assert.deepEqual(m.gr.value, ["hello"]);
    assert.equal(m.ctrl_raw.status, Eca.NORMAL);
    assert.equal(m.ctrl_raw.type, Dbr.CTRL_STRING);
    assert.deepEqual(m.ctrl_raw.value, ["hello"]);
    assert.deepEqual(m.ctrl_raw.meta, { status: 0, severity: 0 });
    recent(m.time_md.timestamp, now, 120, "message TIME");

    // demo:mode: enum Off/On/Auto.
    const e = pvs.mode;
    assert.equal(e.field_type, Dbr.ENUM);
    assert.equal(e.write_access, 1);
    assert.equal(e.caget, 0);
    assert.equal(e.caget_as_string, "Off");
    assert.equal(e.as_dbr_string, "Off", "server-side ENUM -> STRING gives the state name");
    assert.equal(e.as_dbr_double, 0);
    assert.deepEqual(e.ctrlvars.enum_strs, ["Off", "On", "Auto"]);
    assert.deepEqual(e.forms.ctrl.md.enum_strs, ["Off", "On", "Auto"]);
    assert.deepEqual(e.gr.meta, { status: 0, severity: 0, no_str: 3, strs: ["Off", "On", "Auto"] });
    assert.deepEqual(e.gr.value, [0]);
    assert.deepEqual(e.sts.value, [0]);
    recent(e.time_md.timestamp, now, 120, "mode TIME");

    // demo:waveform: float64[1000].
    const w = pvs.waveform;
    assert.equal(w.field_type, Dbr.DOUBLE);
    assert.equal(w.element_count, 1000);
    for (const v of [w.caget, w.plain, w.as_dbr_double, w.time_md.value, w.sts.value]) {
      assert.equal(v.length, 1000);
    }
    assert.equal(w.sts.count, 1000);
    assert.equal(w.gr.count, 1000);
    assert.equal(w.gr.meta.precision, 3);
    assert.equal(w.gr.meta.upper_disp_limit, 1);
    assert.equal(w.gr.meta.lower_disp_limit, -1);
    assert.equal(w.ctrlvars.precision, 3);
    recent(w.time_md.timestamp, now, 2, "waveform TIME");

    // demo:text: char[256] holding a string.
    const x = pvs.text;
    assert.equal(x.field_type, Dbr.CHAR);
    assert.equal(x.element_count, 256);
    assert.equal(x.write_access, 1);
    assert.equal(x.caget_as_string, TEXT);
    assert.equal(charsToString(x.caget), TEXT);
    assert.equal(charsToString(x.plain), TEXT);
    assert.equal(charsToString(x.sts.value), TEXT);
    assert.equal(charsToString(x.gr.value), TEXT);
    assert.equal(charsToString(x.time_md.value), TEXT);
    assert.equal(x.gr.meta.units, "");
    recent(x.time_md.timestamp, now, 120, "text TIME");

    // demo:readonly: float64 5, no write access.
    const ro = pvs.readonly;
    assert.equal(ro.field_type, Dbr.DOUBLE);
    assert.equal(ro.write_access, 0);
    assert.equal(ro.caget, 5);
    assert.equal(ro.plain, 5);
    assert.deepEqual(ro.sts.value, [5]);
    assert.equal(Number(ro.as_dbr_string), 5);
  },
});

Deno.test({
  name: "pyepics: caput with and without wait, strings, enums, char waveform, alarms",
  ignore,
  async fn() {
    const r = await withDemo("pyepics_put.py");
    assert.equal(r.put_nowait_ret, Eca.NORMAL);
    assert.equal(r.after_nowait, 42.5);
    assert.equal(r.put_wait_ret, 1, "caput(wait=True) returns 1 when the put completes");
    assert.equal(r.after_wait, 43.25);

    const expected = [
      { put: 90, status: AlarmStatus.HIGH, severity: AlarmSeverity.MINOR },
      { put: 105, status: AlarmStatus.HIHI, severity: AlarmSeverity.MAJOR },
      { put: -15, status: AlarmStatus.LOLO, severity: AlarmSeverity.MAJOR },
      { put: -5, status: AlarmStatus.LOW, severity: AlarmSeverity.MINOR },
      { put: 25, status: AlarmStatus.NO_ALARM, severity: AlarmSeverity.NO_ALARM },
    ];
    assert.equal(r.alarms.length, expected.length);
    r.alarms.forEach((a: Json, i: number) => {
      const want = expected[i];
      assert.equal(a.ret, 1, `put ${want.put} with wait`);
      assert.equal(a.value, want.put);
      assert.deepEqual(
        { status: a.status, severity: a.severity },
        { status: want.status, severity: want.severity },
        `alarm after putting ${want.put}`,
      );
      assert.deepEqual(a.others, {
        sts: [want.status, want.severity, want.put],
        gr: [want.status, want.severity, want.put],
        ctrl: [want.status, want.severity],
      }, `STS/GR/CTRL alarm after putting ${want.put}`);
      // The put sets the timestamp: after the script started, within its run time.
      assert.ok(
        a.timestamp >= r.now - 1 && a.timestamp <= r.now + 30,
        `timestamp ${a.timestamp} after putting ${want.put} (script start ${r.now})`,
      );
      if (i > 0) assert.ok(a.timestamp >= r.alarms[i - 1].timestamp, "timestamps go forward");
    });

    assert.equal(r.message_put_ret, 1);
    assert.equal(r.message_after, "hello from pyepics");

    assert.equal(r.mode_put_index_ret, 1);
    assert.equal(r.mode_after_index, 2);
    assert.equal(r.mode_after_index_str, "Auto");
    assert.equal(r.mode_put_name_ret, 1);
    assert.equal(r.mode_after_name, 1);
    assert.equal(r.mode_after_name_str, "On");

    assert.equal(r.text_before, TEXT);
    assert.equal(r.text_put_ret, 1);
    assert.equal(r.text_after, r.text_long, "a string longer than the old one fits");
    assert.equal(r.text_put_short_ret, 1);
    assert.equal(r.text_after_short, "short");
  },
});

Deno.test({
  name: "pyepics: monitors on the 10 Hz counter, connection callbacks, missing PV",
  ignore,
  async fn() {
    const r = await withDemo("pyepics_monitor.py");
    assert.equal(r.conn_wait, true, "connection callback did not fire");
    assert.deepEqual(r.conn_events[0], { pvname: "demo:temperature", conn: true });
    assert.equal(r.conn_connected, true);

    // The script waits for 6 updates of each subscription (not for a time), so a busy
    // machine only makes it slower. The server stamps each count: counts per second of
    // server time is the counter's rate, whatever the client's delivery delays.
    const values: number[] = r.pv_updates.map((u: Json) => u.value);
    assert.ok(values.length >= 6, `only ${values.length} updates within 30 s: ${values}`);
    for (let i = 1; i < values.length; i++) {
      assert.ok(values[i] > values[i - 1], `counter not increasing: ${values}`);
    }
    const stamps: number[] = r.pv_updates.map((u: Json) => u.timestamp);
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] > stamps[i - 1]);
    const span = stamps[stamps.length - 1] - stamps[0];
    const rate = (values[values.length - 1] - values[0]) / span;
    assert.ok(rate > 2 && rate < 20, `counter rate ${rate} Hz is not about 10 Hz`);

    const cam: number[] = r.camonitor_values;
    assert.ok(cam.length >= 6, `camonitor saw only ${cam.length} values within 30 s: ${cam}`);
    for (let i = 1; i < cam.length; i++) {
      assert.ok(cam[i] > cam[i - 1], `camonitor counter not increasing: ${cam}`);
    }
    // The second subscription starts with the current count: it may still be the last
    // one the first subscription saw, never an older one.
    assert.ok(
      cam[0] >= values[values.length - 1],
      `camonitor starts at ${cam[0]}, before the PV's last ${values[values.length - 1]}`,
    );

    assert.ok(
      r.temperature_monitor.includes(33.5),
      `monitor missed the put: ${JSON.stringify(r.temperature_monitor)}`,
    );
    assert.equal(r.temperature_monitor[0], 25, "first monitor update carries the value");
    const { NO_ALARM, HIGH } = AlarmStatus;
    const { MINOR } = AlarmSeverity;
    assert.deepEqual(r.temperature_monitor_alarms, [
      [25, NO_ALARM, 0],
      [33.5, NO_ALARM, 0],
      [90, HIGH, MINOR],
      [25, NO_ALARM, 0],
    ]);

    assert.equal(r.missing_caget, null);
    // Below pyepics' default 5 s: the 1 s timeout was honoured (with slack for a busy machine).
    assert.ok(r.missing_caget_seconds < 4.5, "caget of a missing PV honours its timeout");
    assert.equal(r.missing_wait, false);
    assert.equal(r.missing_connected, false);
    assert.deepEqual(r.missing_events, []);
  },
});

Deno.test({
  name: "pyepics: refused puts leave the value unchanged and report failure",
  ignore,
  async fn() {
    const r = await withDemo("pyepics_refused.py");
    assert.equal(r.temperature_write_access, 1);
    assert.equal(r.readonly_write_access, 0, "read-only PV must not grant write access");

    assert.equal(r.temperature_before, 25);
    // pyepics' caput without wait only reports that the request was queued.
    assert.deepEqual(r.caput_500_nowait, { ret: 1 });
    assert.equal(r.temperature_after_nowait, 25);
    // pyepics' caput(wait=True) ignores the completion status libca hands it, so it
    // returns 1 even for a refused put; the value is what matters.
    assert.deepEqual(r.caput_500_wait, { ret: 1 });
    assert.equal(r.temperature_after_wait, 25);
    // libca's put callback carries the server's status: ECA_PUTFAIL.
    assert.equal(r.raw_put_500.ret, Eca.NORMAL);
    assert.equal(r.raw_put_500.status, Eca.PUTFAIL, JSON.stringify(r.raw_put_500));
    assert.equal(r.raw_put_minus_30.status, Eca.PUTFAIL, JSON.stringify(r.raw_put_minus_30));
    assert.equal(r.temperature_after_raw, 25);
    assert.equal(r.raw_put_good.status, Eca.NORMAL, "the channel still works after refusals");
    assert.equal(r.temperature_after_good, 30);

    // Read-only: libca refuses locally from the access rights the server sent.
    assert.equal(r.readonly_before, 5);
    for (const key of ["caput_readonly_nowait", "caput_readonly_wait", "caput_count"]) {
      assert.equal(r[key].exception, "CASeverityException", `${key}: ${JSON.stringify(r[key])}`);
      assert.match(r[key].message, /Write access denied/);
    }
    assert.equal(r.raw_put_readonly.ret, Eca.NOWTACCESS);
    assert.equal(r.readonly_after, 5);
  },
});

Deno.test({
  name: "pyepics: the 1000-element sine waveform, whole and with count",
  ignore,
  async fn() {
    const r = await withDemo("pyepics_array.py");
    assert.equal(r.element_count, 1000);
    assert.equal(r.pv_nelm, 1000);
    assert.equal(r.full_type, "ndarray");
    const w: number[] = r.full;
    assert.equal(w.length, 1000);
    assert.ok(w.every((v) => v >= -1 && v <= 1), "values outside [-1, 1]");
    // w[i] = sin(p + 2*pi*i/1000), so w[i]^2 + w[i+250]^2 = 1 for any phase p.
    for (let i = 0; i < 750; i += 37) near(w[i] ** 2 + w[i + 250] ** 2, 1, 1e-9, `w[${i}]`);
    near(Math.max(...w), 1, 1e-3, "maximum");
    near(Math.min(...w), -1, 1e-3, "minimum");

    const step = (2 * Math.PI) / 1000 + 1e-9;
    for (const key of ["count10", "count10_list"]) {
      const a: number[] = r[key];
      assert.equal(a.length, 10, key);
      for (let i = 1; i < a.length; i++) {
        assert.ok(Math.abs(a[i] - a[i - 1]) <= step, `${key} is not a slice of a sine`);
      }
    }
    assert.equal(r.ca_get_count3.length, 3);
    assert.equal(r.ca_get_time_count5.value.length, 5);
    assert.equal(r.ca_get_time_count5.severity, 0);
    assert.equal(r.raw_gr_count7.status, Eca.NORMAL);
    assert.equal(r.raw_gr_count7.count, 7);
    assert.equal(r.raw_gr_count7.value.length, 7);
    assert.equal(r.raw_gr_count7.meta.precision, 3);

    const f: number[] = r.as_float;
    assert.equal(f.length, 1000);
    assert.ok(f.every((v) => v >= -1 && v <= 1));
    for (let i = 0; i < 750; i += 37) near(f[i] ** 2 + f[i + 250] ** 2, 1, 1e-6, `f[${i}]`);
  },
});

Deno.test({
  name:
    "pyepics: helper PVs' native types, HEARTBEAT counting; puts logged with libca's user and host",
  ignore,
  async fn() {
    requirePyepics();
    const dir = await Deno.makeTempDir();
    try {
      const log = `${dir}/puts.log`;
      const server = await startPvserve(["--demo", "--putlog", log]);
      let r: Json;
      try {
        r = await runScript("pyepics_services.py", server);
      } finally {
        const status = await server.close();
        assert.equal(status.code, 0, `pvserve did not stop cleanly:\n${server.stderr()}`);
      }
      // iocStats record types: ai/calcout -> DBF_DOUBLE, stringin -> DBF_STRING,
      // waveform FTVL=CHAR NELM=160 for APP_DIR.
      assert.deepEqual(r.types.HEARTBEAT, [Dbr.DOUBLE, 1]);
      assert.deepEqual(r.types.UPTIME, [Dbr.STRING, 1]);
      assert.deepEqual(r.types.TOD, [Dbr.STRING, 1]);
      assert.deepEqual(r.types.PROCESS_ID, [Dbr.DOUBLE, 1]);
      assert.deepEqual(r.types.IOC_CPU_LOAD, [Dbr.DOUBLE, 1]);
      assert.deepEqual(r.types.MEM_USED, [Dbr.DOUBLE, 1]);
      assert.deepEqual(r.types.CA_CLNT_CNT, [Dbr.DOUBLE, 1]);
      assert.deepEqual(r.types.APP_DIR, [Dbr.CHAR, 160]);
      assert.deepEqual(r.types.server, [Dbr.ENUM, 1]);
      assert.deepEqual(r.types.sleep, [Dbr.FLOAT, 1]);
      assert.ok(r.heartbeat[1] >= r.heartbeat[0] + 1, `HEARTBEAT ${r.heartbeat}`);
      assert.match(r.uptime, /^00:00:\d\d$/);
      assert.ok(r.pid > 1);
      assert.ok(r.app_dir.startsWith("/"), r.app_dir);
      assert.equal(r.server, "Start");
      assert.equal(r.put_ok, 1);
      const lines = (await Deno.readTextFile(log)).trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(lines.length, 2, JSON.stringify(lines));
      assert.deepEqual(
        lines.map((l) => [l.pv, l.new, l.old, l.user, l.host, l.refused ?? false]),
        [
          ["demo:temperature", 31.5, 25, r.user, r.host, false],
          ["demo:temperature", 500, 31.5, r.user, r.host, true],
        ],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
