/**
 * Interop: pyepics over the real libca against our softioc, as a beamline scientist's script
 * uses it: epics.PV with callbacks, put(wait=True) and put callbacks, caget/caput/camonitor,
 * on an ai with alarms, an mbbo, a waveform, a calcout with ODLY, a histogram, an aSub calling
 * a function of a `--module` file, channel filters, `FIELD$` long strings and access rights
 * from an ACF.
 *
 * One softioc process serves softioc_pyepics.db (+ softioc_pyepics_asub.db) for the whole
 * file; pyepics_softioc.py runs every section in one Python process and prints what it saw.
 * The expected values were observed with EPICS base 7.0.8.1's softIoc on the same database;
 * when softIoc is on PATH the second test runs the script against it too, with the same
 * checks (without the aSub, whose subroutine is TypeScript). Under CI pyepics must be there.
 * @module
 */

import assert from "node:assert/strict";
import { AlarmSeverity, AlarmStatus } from "../../lib/core/alarm.ts";
import { PYEPICS_IGNORED, pyepicsTestName, PYTHON } from "../_helpers/pyepics.ts";
import { type IocProcess, SOFTIOC_CMD, startIocProcess } from "../_helpers/softioc.ts";
import { findTool } from "../_pva_server_tools.ts";

const HERE = decodeURIComponent(new URL(".", import.meta.url).pathname);
const BASE_SOFTIOC = findTool("softIoc", []);
const SCRIPT_TIMEOUT_MS = 60_000;
/** The ACF names py:enable: the prefix is fixed. */
const P = "py:";
const ALL = [
  "ai",
  "mbbo",
  "waveform",
  "calcout",
  "histogram",
  "asub",
  "filters",
  "long_string",
  "access",
];

// deno-lint-ignore no-explicit-any
type Json = any;

/** Starts an IOC process (ours or base's) in this directory (see startIocProcess). */
function startIoc(cmd: readonly string[], args: string[]): Promise<IocProcess> {
  return startIocProcess(cmd, args, HERE);
}

/** What the IOC printed, for failure messages. */
function output(ioc: IocProcess): string {
  return `--- IOC stdout\n${ioc.text.out}\n--- IOC stderr\n${ioc.text.err}`;
}

/** Runs pyepics_softioc.py against the IOC and returns its sections. */
async function runScript(ioc: IocProcess, sections: string[]): Promise<Json> {
  const out = await new Deno.Command(PYTHON, {
    args: [`${HERE}pyepics_softioc.py`, P, ...sections],
    cwd: HERE,
    env: {
      ...ioc.env,
      EPICS_CA_ADDR_LIST: `127.0.0.1:${ioc.port}`,
      PYTHONDONTWRITEBYTECODE: "1",
      PYTHONUNBUFFERED: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(SCRIPT_TIMEOUT_MS),
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  const line = stdout.split("\n").findLast((l) => l.startsWith("RESULT "));
  if (!out.success || line === undefined) {
    throw new Error(
      `pyepics_softioc.py failed (exit ${out.code})\n--- stdout\n${stdout}\n--- stderr\n` +
        `${dec.decode(out.stderr)}\n${output(ioc)}`,
    );
  }
  const r = JSON.parse(line.slice("RESULT ".length));
  for (const s of sections) {
    assert.ok(r[s], `section ${s} did not run`);
    assert.equal(r[s].error, undefined, `section ${s} failed:\n${r[s].error}\n${output(ioc)}`);
  }
  return r;
}

const CHECKS: Record<string, (s: Json) => void> = {
  ai(s) {
    assert.equal(s.type, "ctrl_double");
    assert.equal(s.nelm, 1);
    assert.equal(s.value, 25);
    assert.equal(s.as_string, "25.000", "PREC 3");
    assert.equal(s.units, "degC");
    assert.equal(s.precision, 3);
    // Never processed yet: VAL from the .db, STAT UDF with SEVR NO_ALARM (as base's softIoc).
    assert.deepEqual(s.first_update, [25, AlarmSeverity.NO_ALARM, AlarmStatus.UDF]);
    assert.deepEqual(s.ctrlvars, {
      upper_disp_limit: 150,
      lower_disp_limit: -50,
      upper_alarm_limit: 100,
      upper_warning_limit: 80,
      lower_warning_limit: 0,
      lower_alarm_limit: -10,
      upper_ctrl_limit: 150,
      lower_ctrl_limit: -50,
      precision: 3,
      units: "degC",
      status: AlarmStatus.UDF,
      severity: AlarmSeverity.NO_ALARM,
    });
    const want = [
      [90, AlarmSeverity.MINOR, AlarmStatus.HIGH],
      [105, AlarmSeverity.MAJOR, AlarmStatus.HIHI],
      [-15, AlarmSeverity.MAJOR, AlarmStatus.LOLO],
      [-5, AlarmSeverity.MINOR, AlarmStatus.LOW],
      [25, AlarmSeverity.NO_ALARM, AlarmStatus.NO_ALARM],
    ];
    assert.deepEqual(
      s.steps.map((x: Json) => [x.ret, x.value, x.severity, x.status]),
      want.map((w) => [1, ...w]),
      "put(wait=True), then PV.value / PV.severity / PV.status",
    );
    assert.deepEqual(s.steps.map((x: Json) => x.update), want, "what the callback got");
    assert.equal(s.caget, 25);
    assert.equal(s.caget_as_string, "25.000");
    assert.deepEqual(s.caget_time, { value: 25, status: 0, severity: 0 });
  },
  mbbo(s) {
    assert.equal(s.type, "ctrl_enum");
    assert.deepEqual(s.enum_strs, ["Closed", "Open", "Moving", "Fault"]);
    assert.equal(s.before, 0);
    assert.equal(s.before_str, "Closed");
    assert.equal(s.put_name_ret, 1);
    assert.deepEqual(s.after_name, [1, "Open"], "put by name: value and PV.char_value");
    assert.equal(s.put_index_ret, 1);
    assert.deepEqual(
      s.after_index,
      [3, "Fault", AlarmSeverity.MAJOR, AlarmStatus.STATE],
      "THSV MAJOR: a state alarm",
    );
    assert.equal(s.rval, 3, "RVAL from THVL");
  },
  waveform(s) {
    assert.equal(s.nelm, 16);
    assert.equal(s.type, "time_double");
    assert.deepEqual(s.before, [], "no elements before the first put");
    assert.deepEqual(s.first_update, [[], 0]);
    assert.equal(s.put_ret, 1);
    assert.equal(s.got_type, "ndarray");
    assert.equal(s.got_dtype, "float64");
    assert.deepEqual(s.got, [1.5, 2.5, 3.5, 4.5, 5.5]);
    assert.equal(s.nord, 5);
    assert.equal(s.count_after, 5, "PV.count follows NORD");
    assert.deepEqual(s.monitor_last, [[1.5, 2.5, 3.5, 4.5, 5.5], 5]);
    assert.deepEqual(s.caget_count3, [1.5, 2.5, 3.5]);
  },
  calcout(s) {
    assert.equal(s.odly, 0.4);
    assert.equal(s.ret, 1);
    // The put completes when the delayed output is written: about ODLY after the put (base's
    // timers may fire a few ms early: 0.398 s was seen with softIoc).
    assert.ok(s.elapsed >= 0.35, `put(wait=True) returned after ${s.elapsed} s, before ODLY`);
    assert.equal(s.out_after, 42, "OUT written (A*2) when the put completed");
    assert.equal(s.val, 42);
    assert.equal(s.dlya_after, 0, "DLYA cleared after the delay");
    assert.ok(
      s.callback_put_returned < 0.2,
      `put(callback=...) blocked ${s.callback_put_returned} s`,
    );
    assert.ok(s.completion >= 0.35, `the put callback came after ${s.completion} s`);
    assert.equal(s.out_at_completion, 10);
    // camonitor of the output: one update per delayed write, after the current value (0) if
    // that came after camonitor added its callback.
    const outs = s.outs[0] === 0 ? s.outs.slice(1) : s.outs;
    assert.deepEqual(outs, [42, 10], "camonitor of the output");
  },
  histogram(s) {
    assert.equal(s.nelm, 5);
    assert.equal(s.type, "time_double");
    assert.deepEqual(s.before, [0, 0, 0, 0, 0]);
    assert.equal(s.wdth, 2, "(ULIM - LLIM) / NELM");
    // 0.5 1.0 | 3.0 2.1 | 5.0 5.5 | - | 9.9
    assert.deepEqual(s.after, [2, 2, 2, 0, 1]);
  },
  asub(s) {
    assert.equal(s.ret, 1);
    assert.equal(s.snam, "scaleSpectrum");
    assert.deepEqual(s.vala, [2.5, 5, 7.5, 10], "VALA = A * B");
    assert.deepEqual(s.vala_monitor, [2.5, 5, 7.5, 10], "VALA posted to the monitor");
    assert.equal(s.valb, 10, "VALB = sum of A");
    assert.equal(s.valc, 4, "VALC = NEA");
    assert.equal(s.val, 0, "status 0");
    assert.equal(s.nea, 4);
    assert.equal(s.neva, 4);
  },
  filters(s) {
    assert.deepEqual(s.range, [11, 12, 13], "spectrum.[1:3]");
    assert.equal(s.range_nelm, 3);
    assert.deepEqual(s.stride, [10, 12, 14], "spectrum.[0:2:5]");
    assert.deepEqual(s.last2, [14, 15], "spectrum.[-2:]");
    assert.deepEqual(s.plain, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // dec n=2: the first update (the current value) passes, then every second one.
    assert.deepEqual(s.dec, [0, 2, 4, 6, 8], 'count.{"dec":{"n":2}}');
    assert.equal(s.dec_nelm, 1);
  },
  long_string(s) {
    assert.equal(s.nelm, 200, "note.VAL$: a char array of SIZV");
    assert.equal(s.type, "time_char");
    assert.equal(s.first_update, "");
    assert.equal(s.put_ret, 1);
    assert.ok(s.text.length > 40);
    assert.equal(s.get, s.text, "the whole string back through VAL$");
    assert.equal(s.get_chars_len, s.text.length + 1, "the characters and the terminating 0");
    assert.equal(s.plain_val, s.text.slice(0, 39), "VAL as DBR_STRING: the first 39 characters");
    assert.equal(s.desc, "Sample temperature");
    assert.equal(s.link, `${P}move:out PP NMS`, "a link field as a long string");
    const chars = [...`${P}move:out PP NMS`].map((c) => c.charCodeAt(0));
    assert.deepEqual(s.link_chars, [...chars, 0]);
  },
  access(s) {
    assert.deepEqual(s.initial, [true, true]);
    assert.equal(s.put_ok, 1);
    assert.deepEqual(s.after_disable, [true, false], "enable = 0: write access withdrawn");
    assert.equal(s.refused_put, "CASeverityException", "pyepics refuses the put");
    assert.equal(s.value_after_refused, 7);
    assert.deepEqual(s.events, [[true, true], [true, false], [true, true]], "access_callback");
    assert.deepEqual(s.after_enable, [true, true]);
    assert.equal(s.put_again, 1);
    assert.equal(s.value_after, 9);
  },
};

async function checkAll(t: Deno.TestContext, ioc: IocProcess, sections: string[]) {
  const r = await runScript(ioc, sections);
  for (const name of sections) {
    await t.step(name, () => {
      try {
        CHECKS[name](r[name]);
      } catch (e) {
        (e as Error).message += `\n${name}: ${JSON.stringify(r[name])}`;
        throw e;
      }
    });
  }
}

Deno.test({
  name: pyepicsTestName(
    "softioc + pyepics: ai alarms, mbbo, waveform, calcout ODLY, histogram, aSub, filters, " +
      "long strings, access rights",
  ),
  ignore: PYEPICS_IGNORED,
  async fn(t) {
    await using ioc = await startIoc(SOFTIOC_CMD, [
      "-S",
      "-m",
      `P=${P}`,
      "-a",
      "softioc_pyepics.acf",
      "--module",
      "softioc_pyepics_subs.ts",
      "-d",
      "softioc_pyepics.db",
      "-d",
      "softioc_pyepics_asub.db",
    ]);
    await checkAll(t, ioc, ALL);
  },
});

Deno.test({
  name: pyepicsTestName(
    "softioc + pyepics: the same script and checks against EPICS base's softIoc" +
      (BASE_SOFTIOC ? "" : " (ignored: softIoc is not on PATH)"),
  ),
  ignore: PYEPICS_IGNORED || BASE_SOFTIOC === undefined,
  async fn(t) {
    await using ioc = await startIoc([BASE_SOFTIOC!], [
      "-S",
      "-m",
      `P=${P}`,
      "-a",
      "softioc_pyepics.acf",
      "-d",
      "softioc_pyepics.db",
    ]);
    await checkAll(t, ioc, ALL.filter((s) => s !== "asub"));
  },
});
