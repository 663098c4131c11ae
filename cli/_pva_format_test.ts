/**
 * The output formats against golden text. The pvAccessCPP goldens (NT, raw, JSON, type
 * trees) were printed by EPICS 7's pvget and pvinfo (pvAccessCPP 7.1.8, pvDataCPP 8.0.7,
 * base 7.0.8.1, TZ=UTC) reading the same PVs from our server; the values here are built
 * the way that server builds them (SharedPV + NtSnapshotWriter), so CI checks the formats
 * without the tools. The pvxs goldens come from ../shared/vectors/pva recordings.
 */
import assert from "node:assert/strict";
import { PvValue, T } from "../lib/pva/proto/mod.ts";
import { NtSnapshotWriter, ntTableType } from "../lib/pva/nt/mod.ts";
import { SharedPV, type SharedPVOptions } from "../lib/pv/shared_pv.ts";
import {
  cppEscape,
  cppTime,
  formatDelta,
  formatG,
  formatJson,
  formatNt,
  formatRaw,
  formatTime,
  formatTypeTreeCpp,
  formatTypeTreePvxs,
  maybeQuote,
} from "./_pva_format.ts";

const UTC = { timeZone: "UTC" };
// 2024-05-01 12:34:56.789 UTC, the clock of the PVs the goldens were printed from.
const T0 = Date.UTC(2024, 4, 1, 12, 34, 56, 789);

/** The value our server sends for a PV, every field marked (a plain pvget). */
function served(opts: SharedPVOptions): PvValue {
  const pv = new SharedPV("x", { clock: () => T0, ...opts });
  const v = new NtSnapshotWriter(pv.type).write(pv.snapshot()).clone();
  return v.clearChanged().markChanged();
}

/** Only `paths` marked, as our server answers a pvRequest selecting them. */
function only(v: PvValue, ...paths: string[]): PvValue {
  v.clearChanged();
  for (const p of paths) v.markChanged(p);
  return v;
}

const lines = (...l: string[]) => l.join("\n") + "\n";

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
  name: "format: times in a zone, truncated fractions (pvxs); pvData's rounding and edge cases",
  permissions: "none",
  fn() {
    assert.equal(formatTime(1714566896, 789999999, 3, UTC), "2024-05-01 12:34:56.789");
    assert.equal(formatTime(1714566896, 5, 9, UTC), "2024-05-01 12:34:56.000000005");
    // epicsTimeToStrftime rounds the fraction but never into the next second.
    assert.equal(cppTime(1714566896, 789500000, UTC), "2024-05-01 12:34:56.790");
    assert.equal(cppTime(1714566896, 999999999, UTC), "2024-05-01 12:34:56.999");
    // Zero stamp (a field the server did not send), pre-1990, nanoseconds overflow.
    assert.equal(cppTime(0, 0, UTC), "<undefined>");
    assert.equal(cppTime(100, 5000000, UTC), "1990-01-01 00:00:00.005");
    assert.equal(cppTime(1714566896, 1e9, UTC), "2024-05-01 12:34:56.OVF");
  },
});

Deno.test({
  name: "format: pvData's escapes and quoting (its \\x digit 9 prints as @)",
  permissions: "none",
  fn() {
    assert.equal(maybeQuote("plain"), "plain");
    assert.equal(maybeQuote(""), "");
    assert.equal(maybeQuote("b c"), '"b c"');
    assert.equal(maybeQuote('q"x'), '"q\\"x"');
    // pvget x:esc printed this for "tab\there\\ \"q\" 'a' é\x01".
    assert.equal(
      maybeQuote("tab\there\\ \"q\" 'a' \u00e9\x01"),
      String.raw`"tab\there\\ \"q\" \'a\' \xC3\xA@\x01"`,
    );
    assert.equal(cppEscape('a"b', true), 'a""b');
  },
});

Deno.test({
  name: "format: NT lines equal pvAccessCPP pvget's",
  permissions: "none",
  fn() {
    const nt = (o: SharedPVOptions) => formatNt(served(o), UTC);
    // pvget x:dbl x:esc x:int8 ... (name column stripped)
    assert.equal(
      nt({ type: "float64", value: 21.5, units: "degC", precision: 2 }),
      "2024-05-01 12:34:56.789  21.5 \n",
    );
    assert.equal(
      nt({ type: "string", value: "tab\there\\ \"q\" 'a' \u00e9\x01" }),
      "2024-05-01 12:34:56.789  " + String.raw`"tab\there\\ \"q\" \'a\' \xC3\xA@\x01"` + " \n",
    );
    assert.equal(nt({ type: "int8", value: -5 }), "2024-05-01 12:34:56.789  -5 \n");
    assert.equal(
      nt({ type: "uint64", value: 12345678901234 }),
      "2024-05-01 12:34:56.789  12345678901234 \n",
    );
    assert.equal(nt({ type: "float32", value: 3.14159 }), "2024-05-01 12:34:56.789  3.14159 \n");
    assert.equal(nt({ type: "boolean", value: true }), "2024-05-01 12:34:56.789  true \n");
    assert.equal(
      nt({ type: "string", length: 10, value: ["a", "b c", 'q"x', ""] }),
      '2024-05-01 12:34:56.789  [a, "b c", "q\\"x", ]\n',
    );
    assert.equal(
      nt({ type: "uint8", length: 10, value: [1, 200, 3] }),
      "2024-05-01 12:34:56.789  [1,200,3]\n",
    );
    assert.equal(
      nt({ type: "enum", choices: ["Off", "On", "Auto mode"], value: 1 }),
      "2024-05-01 12:34:56.789  (1) On\n",
    );
    assert.equal(nt({ type: "float64", value: NaN }), "2024-05-01 12:34:56.789  nan \n");
    assert.equal(
      nt({ type: "float64", value: 1.23456789e-7 }),
      "2024-05-01 12:34:56.789  1.23457e-07 \n",
    );
    assert.equal(
      nt({ type: "int64", length: 10, value: [1, -2] }),
      "2024-05-01 12:34:56.789  [1,-2]\n",
    );
    assert.equal(nt({ type: "string", value: "" }), "2024-05-01 12:34:56.789   \n");
    assert.equal(
      nt({ type: "float64", length: 10, value: [1.5, 2.5, 1e-7, 1e10, 123456789] }),
      "2024-05-01 12:34:56.789  [1.5,2.5,1e-07,1e+10,1.23457e+08]\n",
    );
    // pvget -r 'field(value)' x:enum x:dbl: the time stamp was not sent.
    const en = served({ type: "enum", choices: ["Off", "On", "Auto mode"], value: 1 });
    en.set("timeStamp", { secondsPastEpoch: 0, nanoseconds: 0 });
    assert.equal(formatNt(only(en, "value"), UTC), "<undefined>              (1) On\n");
    const hot = served({ type: "float64", value: 9, alarm: { hihi: 8, high: 5 } });
    assert.equal(formatNt(hot, UTC), "2024-05-01 12:34:56.789  9 MAJOR DEVICE HIHI \n");
  },
});

Deno.test({
  name: "format: raw trees equal pvAccessCPP pvget -M raw's",
  permissions: "none",
  fn() {
    // pvget -M raw x:esc
    assert.equal(
      formatRaw(
        "x:esc",
        served({ type: "string", value: "tab\there\\ \"q\" 'a' \u00e9\x01" }),
        UTC,
      ),
      lines(
        "x:esc epics:nt/NTScalar:1.0 ",
        String.raw`    string value "tab\there\\ \"q\" \'a\' \xC3\xA@\x01"`,
        "    alarm_t alarm ",
        "        int severity 0",
        "        int status 0",
        "        string message ",
        "    time_t timeStamp 2024-05-01 12:34:56.789  ",
        "        long secondsPastEpoch 1714566896",
        "        int nanoseconds 789000000",
        "        int userTag 0",
        "    structure display",
        "        string description ",
        "        string units ",
      ),
    );
    // pvget -M raw -r 'field(value,alarm,timeStamp)' x:alarm
    const hot = served({ type: "float64", value: 9, alarm: { hihi: 8, high: 5 } });
    assert.equal(
      formatRaw("x:alarm", only(hot, "value", "alarm", "timeStamp"), UTC),
      lines(
        "x:alarm epics:nt/NTScalar:1.0 ",
        "    double value 9",
        "    alarm_t alarm MAJOR DEVICE HIHI ",
        "        int severity 2",
        "        int status 1",
        "        string message HIHI",
        "    time_t timeStamp 2024-05-01 12:34:56.789  ",
        "        long secondsPastEpoch 1714566896",
        "        int nanoseconds 789000000",
        "        int userTag 0",
      ),
    );
    // pvget -M raw -r 'field(value)' x:enum
    const en = served({ type: "enum", choices: ["Off", "On", "Auto mode"], value: 1 });
    assert.equal(
      formatRaw("x:enum", only(en, "value"), UTC),
      lines(
        "x:enum epics:nt/NTEnum:1.0 ",
        "    enum_t value (1) On",
        "        int index 1",
        '        string[] choices [Off, On, "Auto mode"]',
      ),
    );
    // pvget x:img (NT mode prints an NTNDArray raw): unions, any, structure arrays.
    assert.equal(formatNt(image(), UTC), IMAGE_RAW);
    assert.equal(formatRaw("x:img", image(), UTC), "x:img " + IMAGE_RAW);
  },
});

function image(): PvValue {
  return served({
    type: "uint16",
    value: new Uint16Array([1, 2, 3, 4, 5, 6]),
    ndarray: { dimension: [3, 2], attributes: [{ name: "ColorMode", value: 0 }] },
  });
}

const IMAGE_RAW = lines(
  "epics:nt/NTNDArray:1.0 ",
  "    union value",
  "        ushort[]  [1,2,3,4,5,6]",
  "    codec_t codec",
  "        string name ",
  "        any parameters",
  "            (none)",
  "    long compressedSize 12",
  "    long uncompressedSize 12",
  "    int uniqueId 0",
  "    time_t dataTimeStamp 2024-05-01 12:34:56.789  ",
  "        long secondsPastEpoch 1714566896",
  "        int nanoseconds 789000000",
  "        int userTag 0",
  "    alarm_t alarm ",
  "        int severity 0",
  "        int status 0",
  "        string message ",
  "    time_t timeStamp 2024-05-01 12:34:56.789  ",
  "        long secondsPastEpoch 1714566896",
  "        int nanoseconds 789000000",
  "        int userTag 0",
  "    dimension_t[] dimension",
  "        dimension_t ",
  "            int size 3",
  "            int offset 0",
  "            int fullSize 3",
  "            int binning 1",
  "            boolean reverse false",
  "        dimension_t ",
  "            int size 2",
  "            int offset 0",
  "            int fullSize 2",
  "            int binning 1",
  "            boolean reverse false",
  "    epics:nt/NTAttribute:1.0[] attribute",
  "        epics:nt/NTAttribute:1.0 ",
  "            string name ColorMode",
  "            any value",
  "                double  0",
  "            string[] tags []",
  "            string descriptor ",
  "            alarm_t alarm",
  "                int severity 0",
  "                int status 0",
  "                string message ",
  "            time_t timeStamp",
  "                long secondsPastEpoch 0",
  "                int nanoseconds 0",
  "                int userTag 0",
  "            int sourceType 0",
  "            string source ",
);

Deno.test({
  name: "format: JSON5 equals pvAccessCPP pvget -M json's",
  permissions: "none",
  fn() {
    assert.equal(
      formatJson(served({ type: "string", value: "tab\there\\ \"q\" 'a' \u00e9\x01" })),
      String.raw`{value:"tab\there\\ \"q\" 'a' é\x01",alarm:{severity:0,status:0,message:""},` +
        "timeStamp:{secondsPastEpoch:1714566896,nanoseconds:789000000,userTag:0}," +
        'display:{description:"",units:""}}\n',
    );
    assert.equal(
      formatJson(served({ type: "boolean", length: 10, value: [true, false] })),
      '{value:[true,false],alarm:{severity:0,status:0,message:""},timeStamp:' +
        "{secondsPastEpoch:1714566896,nanoseconds:789000000,userTag:0}," +
        'display:{description:"",units:""}}\n',
    );
    const FORM = 'form:{index:0,choices:["Default","String","Binary","Decimal","Hex",' +
      '"Exponential","Engineering"]}';
    assert.equal(
      formatJson(served({ type: "uint64", length: 10, value: [1, 2] })),
      '{value:[1,2],alarm:{severity:0,status:0,message:""},timeStamp:{secondsPastEpoch:' +
        "1714566896,nanoseconds:789000000,userTag:0},display:{limitLow:0,limitHigh:0," +
        `description:"",units:"",precision:0,${FORM}},control:{limitLow:0,limitHigh:0,` +
        "minStep:0},valueAlarm:{active:false,lowAlarmLimit:0,lowWarningLimit:0," +
        "highWarningLimit:0,highAlarmLimit:0,lowAlarmSeverity:0,lowWarningSeverity:0," +
        "highWarningSeverity:0,highAlarmSeverity:0,hysteresis:0.0}}\n",
    );
    assert.equal(
      formatJson(served({ type: "float64", value: -Infinity })),
      '{value:-Infinity,alarm:{severity:0,status:0,message:""},timeStamp:{secondsPastEpoch:' +
        "1714566896,nanoseconds:789000000,userTag:0},display:{limitLow:0.0,limitHigh:0.0," +
        `description:"",units:"",precision:0,${FORM}},control:{limitLow:0.0,limitHigh:0.0,` +
        "minStep:0.0},valueAlarm:{active:false,lowAlarmLimit:NaN,lowWarningLimit:NaN," +
        "highWarningLimit:NaN,highAlarmLimit:NaN,lowAlarmSeverity:0,lowWarningSeverity:0," +
        "highWarningSeverity:0,highAlarmSeverity:0,hysteresis:0.0}}\n",
    );
    assert.equal(
      formatJson(image()),
      '{value:[1,2,3,4,5,6],codec:{name:"",parameters:null},compressedSize:12,' +
        "uncompressedSize:12,uniqueId:0,dataTimeStamp:{secondsPastEpoch:1714566896," +
        'nanoseconds:789000000,userTag:0},alarm:{severity:0,status:0,message:""},' +
        "timeStamp:{secondsPastEpoch:1714566896,nanoseconds:789000000,userTag:0}," +
        "dimension:[{size:3,offset:0,fullSize:3,binning:1,reverse:false},{size:2,offset:0," +
        'fullSize:2,binning:1,reverse:false}],attribute:[{name:"ColorMode",value:0.0,tags:[],' +
        'descriptor:"",alarm:{severity:0,status:0,message:""},timeStamp:{secondsPastEpoch:0,' +
        'nanoseconds:0,userTag:0},sourceType:0,source:""}]}\n',
    );
    // pvget -M json -r 'field(alarm.severity)' x:dbl
    const dbl = served({ type: "float64", value: 21.5 });
    assert.equal(formatJson(only(dbl, "alarm.severity")), "{alarm:{severity:0}}\n");
    assert.equal(formatJson(only(dbl)), "\n");
  },
});

Deno.test({
  name: "format: pvinfo type trees equal pvAccessCPP pvinfo's",
  permissions: "none",
  fn() {
    // pvinfo x:img (the lines after "Type:")
    assert.equal(
      formatTypeTreeCpp(image().type),
      lines(
        "    epics:nt/NTNDArray:1.0",
        "        union value",
        "            boolean[] booleanValue",
        "            byte[] byteValue",
        "            short[] shortValue",
        "            int[] intValue",
        "            long[] longValue",
        "            ubyte[] ubyteValue",
        "            ushort[] ushortValue",
        "            uint[] uintValue",
        "            ulong[] ulongValue",
        "            float[] floatValue",
        "            double[] doubleValue",
        "        codec_t codec",
        "            string name",
        "            any parameters",
        "        long compressedSize",
        "        long uncompressedSize",
        "        int uniqueId",
        "        time_t dataTimeStamp",
        "            long secondsPastEpoch",
        "            int nanoseconds",
        "            int userTag",
        "        alarm_t alarm",
        "            int severity",
        "            int status",
        "            string message",
        "        time_t timeStamp",
        "            long secondsPastEpoch",
        "            int nanoseconds",
        "            int userTag",
        "        dimension_t[] dimension",
        "            dimension_t",
        "                int size",
        "                int offset",
        "                int fullSize",
        "                int binning",
        "                boolean reverse",
        "        epics:nt/NTAttribute:1.0[] attribute",
        "            epics:nt/NTAttribute:1.0",
        "                string name",
        "                any value",
        "                string[] tags",
        "                string descriptor",
        "                alarm_t alarm",
        "                    int severity",
        "                    int status",
        "                    string message",
        "                time_t timeStamp",
        "                    long secondsPastEpoch",
        "                    int nanoseconds",
        "                    int userTag",
        "                int sourceType",
        "                string source",
      ),
    );
    assert.equal(
      formatTypeTreeCpp(served({ type: "enum", choices: ["a"] }).type),
      lines(
        "    epics:nt/NTEnum:1.0",
        "        enum_t value",
        "            int index",
        "            string[] choices",
        "        alarm_t alarm",
        "            int severity",
        "            int status",
        "            string message",
        "        time_t timeStamp",
        "            long secondsPastEpoch",
        "            int nanoseconds",
        "            int userTag",
        "        structure display",
        "            string description",
      ),
    );
  },
});

Deno.test({
  name: "format: NTTable as pvData's printer lays it out (derived from its rules)",
  permissions: "none",
  fn() {
    // No server at hand serves an NTTable, so this pins the rules rather than a recording:
    // a time/alarm line, right-aligned columns, CSV quoting of cells with , " space or \.
    const v = PvValue.create(
      ntTableType([{ name: "x", type: "float64" }, { name: "tag", type: "string" }]),
    );
    v.set("value.x", [1.5, 20]).set("value.tag", ["a b", "c"]).set("labels", ["X", "Tag"]);
    v.set("timeStamp", { secondsPastEpoch: 1714566896, nanoseconds: 789000000 });
    assert.equal(
      formatNt(v, UTC),
      "2024-05-01 12:34:56.789    \n" +
        "  X   Tag\n" +
        '1.5 "a b"\n' +
        " 20     c\n",
    );
  },
});

Deno.test({
  name: "format: pvxs delta and tree forms",
  permissions: "none",
  fn() {
    const v = PvValue.create(
      T.struct("epics:nt/NTScalar:1.0", [
        ["value", T.double],
        [
          "alarm",
          T.struct("alarm_t", [["severity", T.int], ["status", T.int], [
            "message",
            T.string,
          ]]),
        ],
      ]),
    );
    v.set("value", 3).clearChanged().markChanged("value");
    assert.equal(formatDelta("ai", v), "ai\n    value double = 3\n");
    v.markChanged("alarm");
    assert.equal(
      formatDelta("ai", v),
      "ai\n    value double = 3\n    alarm.severity int32_t = 0\n" +
        '    alarm.status int32_t = 0\n    alarm.message string = ""\n',
    );
    assert.equal(
      formatTypeTreePvxs(v.type),
      'struct "epics:nt/NTScalar:1.0" {\n    double value\n    struct "alarm_t" {\n' +
        "        int32_t severity\n        int32_t status\n        string message\n" +
        "    } alarm\n}\n",
    );
  },
});

Deno.test({
  name: "format: pvxs forms of an empty any and of a structure array",
  permissions: "none",
  fn() {
    // Goldens: pvxget / pvxinfo (pvxs 1.5.2) reading demo:image (an NTNDArray) from our
    // server; cut down to the codec and dimension members.
    const type = T.struct("epics:nt/NTNDArray:1.0", [
      ["codec", T.struct("codec_t", [["name", T.string], ["parameters", T.any]])],
      [
        "dimension",
        T.arrayOf(T.struct("dimension_t", [["size", T.int], ["reverse", T.boolean]])),
      ],
    ]);
    const v = PvValue.create(type).clearChanged().markChanged("codec");
    assert.equal(
      formatDelta("demo:image", v),
      "demo:image\n" +
        '    codec.name string = ""\n' +
        "    codec.parameters any\n" +
        "    codec.parameters-> null\n",
    );
    assert.equal(
      formatTypeTreePvxs(type),
      'struct "epics:nt/NTNDArray:1.0" {\n' +
        '    struct "codec_t" {\n' +
        "        string name\n" +
        "        any parameters\n" +
        "    } codec\n" +
        "    struct[] {\n" +
        "        int32_t size\n" +
        "        bool reverse\n" +
        "    } dimension\n" +
        "}\n",
    );
  },
});
