import assert from "node:assert/strict";
import { PvValue, T } from "../lib/pva/proto/mod.ts";
import {
  formatDelta,
  formatG,
  formatJson,
  formatNt,
  formatRaw,
  formatTime,
  formatTypeTreePvxs,
  maybeQuote,
} from "./_pva_format.ts";

const ALARM = T.struct("alarm_t", [["severity", T.int], ["status", T.int], ["message", T.string]]);
const TIME = T.struct("time_t", [["secondsPastEpoch", T.long], ["nanoseconds", T.int], [
  "userTag",
  T.int,
]]);
const UTC = { timeZone: "UTC" };
// 2024-05-01 12:34:56.789012345 UTC
const STAMP = { secondsPastEpoch: 1714566896n, nanoseconds: 789012345, userTag: 0 };

function scalar(type = T.double, value: unknown = 21.5) {
  return PvValue.create(
    T.struct("epics:nt/NTScalar:1.0", [["value", type], ["alarm", ALARM], ["timeStamp", TIME]]),
    { value, timeStamp: STAMP },
  );
}

Deno.test({
  name: "format: %g numbers as C streams print them",
  permissions: "none",
  fn() {
    const cases: [number, string][] = [
      [3.14159, "3.14159"],
      [5180, "5180"],
      [-10, "-10"],
      [0.25, "0.25"],
      [1e6, "1e+06"],
      [123456, "123456"],
      [1234567, "1.23457e+06"],
      [0.0001, "0.0001"],
      [0.00001, "1e-05"],
      [NaN, "nan"],
      [-Infinity, "-inf"],
      [0, "0"],
    ];
    for (const [x, s] of cases) assert.equal(formatG(x), s, String(x));
    assert.equal(formatG(3.14159, 17), "3.1415899999999999");
  },
});

Deno.test({
  name: "format: times in a zone, truncated fractions",
  permissions: "none",
  fn() {
    assert.equal(formatTime(1714566896, 789999999, 3, UTC), "2024-05-01 12:34:56.789");
    assert.equal(formatTime(1714566896, 5, 9, UTC), "2024-05-01 12:34:56.000000005");
  },
});

Deno.test({
  name: "format: NT mode lines (pvAccessCPP)",
  permissions: "none",
  fn() {
    assert.equal(formatNt(scalar(), UTC), "2024-05-01 12:34:56.789  21.5 \n");
    const hot = scalar(T.double, 99);
    hot.set("alarm", { severity: 2, status: 1, message: "HIHI" });
    assert.equal(formatNt(hot, UTC), "2024-05-01 12:34:56.789  99 MAJOR DEVICE HIHI \n");
    assert.equal(formatNt(scalar(T.string, "a b"), UTC), '2024-05-01 12:34:56.789  "a b" \n');
    assert.equal(formatNt(scalar(T.string, ""), UTC), "2024-05-01 12:34:56.789   \n");
    const arr = PvValue.create(
      T.struct("epics:nt/NTScalarArray:1.0", [["value", T.array(T.int)], ["timeStamp", TIME]]),
      { value: [1, 2, 3], timeStamp: STAMP },
    );
    assert.equal(formatNt(arr, UTC), "2024-05-01 12:34:56.789  [1,2,3]\n");
    const en = PvValue.create(
      T.struct("epics:nt/NTEnum:1.0", [
        ["value", T.struct("enum_t", [["index", T.int], ["choices", T.array(T.string)]])],
        ["timeStamp", TIME],
      ]),
      { value: { index: 1, choices: ["Off", "On"] }, timeStamp: STAMP },
    );
    assert.equal(formatNt(en, UTC), "2024-05-01 12:34:56.789  (1) On\n");
    en.set("value.index", 5);
    assert.equal(formatNt(en, UTC), "2024-05-01 12:34:56.789  (5) <undefined>\n");
    assert.equal(maybeQuote('say "hi"'), '"say \\"hi\\""');
  },
});

Deno.test({
  name: "format: raw, json and pvxs delta and tree forms",
  permissions: "none",
  fn() {
    const v = scalar();
    assert.equal(
      formatRaw("ai:temp", v, UTC),
      "ai:temp epics:nt/NTScalar:1.0 \n" +
        "    double value 21.5\n" +
        "    alarm_t alarm \n" +
        "        int severity 0\n" +
        "        int status 0\n" +
        "        string message \n" +
        "    time_t timeStamp 2024-05-01 12:34:56.789  \n" +
        "        long secondsPastEpoch 1714566896\n" +
        "        int nanoseconds 789012345\n" +
        "        int userTag 0\n",
    );
    v.markChanged();
    assert.equal(
      formatJson(v),
      '{"value":21.5,"alarm":{"severity":0,"status":0,"message":""},' +
        '"timeStamp":{"secondsPastEpoch":1714566896,"nanoseconds":789012345,"userTag":0}}\n',
    );
    v.clearChanged().set("value", 3);
    assert.equal(formatJson(v), '{"value":3.0}\n');
    assert.equal(formatDelta("ai", v), "ai\n    value double = 3\n");
    v.markChanged("alarm");
    assert.equal(
      formatDelta("ai", v),
      'ai\n    value double = 3\n    alarm.severity int32_t = 0\n    alarm.status int32_t = 0\n    alarm.message string = ""\n',
    );
    assert.equal(
      formatTypeTreePvxs(v.type),
      'struct "epics:nt/NTScalar:1.0" {\n    double value\n    struct "alarm_t" {\n' +
        "        int32_t severity\n        int32_t status\n        string message\n    } alarm\n" +
        '    struct "time_t" {\n        int64_t secondsPastEpoch\n        int32_t nanoseconds\n' +
        "        int32_t userTag\n    } timeStamp\n}\n",
    );
  },
});
