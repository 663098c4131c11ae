import assert from "node:assert/strict";
import {
  convertPutText,
  cvtDoubleToString,
  FieldValueError,
  formatFieldValue,
  integerFor,
  parseFieldText,
} from "./fields.ts";
import { recordType } from "./record_type.ts";

const opts = { permissions: "none" } as const;

const field = (type: string, name: string) => recordType(type)!.byName.get(name)!;

/** What the conversion gives: the value, or "error" when it refuses the text. */
function outcome(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    if (e instanceof FieldValueError) return "error";
    throw e;
  }
}

/**
 * Rows of [record type, field, text, value or "error"], each recorded from EPICS base
 * 7.0.8.1's softIoc: `field(F, "text")` in a .db file, then dbgf after iocInit (an error is
 * dbStaticLib's "Can't set ... Error (504,n)" and a failed load).
 */
const LOADED: readonly [string, string, string, number | "error"][] = [
  ["longout", "VAL", "0xFFFFFFFF", -1],
  ["longout", "VAL", "0x80000000", -2147483648],
  ["longout", "VAL", "4294967295", -1],
  ["longout", "VAL", "017", 15],
  ["longout", "VAL", "9223372036854775807", -1],
  ["longout", "VAL", "-9223372036854775808", 0],
  ["longout", "VAL", " 12 ", 12],
  ["longout", "VAL", "", 0],
  ["longout", "VAL", "08", "error"],
  ["longout", "VAL", "1.7", "error"],
  ["longout", "VAL", "1e3", "error"],
  ["longout", "VAL", "12abc", "error"],
  ["longout", "VAL", "0x", "error"],
  ["longout", "VAL", " ", "error"],
  ["longout", "VAL", "inf", "error"],
  ["longout", "VAL", "9223372036854775808", "error"],
  ["longout", "VAL", "18446744073709551615", "error"],
  ["ai", "PREC", "70000", 4464],
  ["ai", "PREC", "0x80000000", 0],
  ["ai", "PREC", "-1", -1],
  ["ai", "PHAS", "1.5", "error"],
  ["longin", "HIHI", "1e3", "error"],
  ["ai", "TPRO", "-1", 255],
  ["mbbiDirect", "SHFT", "-256", 65280],
  ["mbbiDirect", "SHFT", "18446744073709551615", 65535],
  ["mbbiDirect", "SHFT", "18446744073709551616", "error"],
  ["ai", "ROFF", "-1", 4294967295],
  ["ai", "ROFF", "0x1FFFFFFFF", 4294967295],
  ["ai", "ROFF", "9007199254740993", 1],
  ["bi", "VAL", "0x80000000", 0],
  ["bi", "VAL", "1e3", "error"],
  ["ao", "VAL", "017", 17],
  ["ao", "VAL", "08", 8],
  ["ao", "VAL", "0x1p3", 8],
  ["ao", "VAL", "1e39", 1e39],
  ["ao", "VAL", "Infinity", Infinity],
  ["ao", "VAL", "1e400", "error"],
  ["ao", "VAL", "1e-400", "error"],
  ["ao", "VAL", "4.9e-324", "error"],
  ["ao", "VAL", "12abc", "error"],
  ["ao", "VAL", " ", "error"],
];

Deno.test({ ...opts, name: "parseFieldText: numbers from a .db file as base loads them" }, () => {
  for (const [type, name, text, want] of LOADED) {
    assert.equal(
      outcome(() => parseFieldText(field(type, name), text)),
      want,
      `${type}.${name} "${text}"`,
    );
  }
});

/**
 * Rows of [record type, field, text, value or "error"], recorded from EPICS base 7.0.8.1's
 * softIoc: `dbpf REC.F "text"` after a put of another value, then dbgf (an error leaves
 * the field as it was).
 */
const PUT: readonly [string, string, string, number | "error"][] = [
  ["longout", "VAL", "0xFFFFFFFF", 0],
  ["longout", "VAL", "4294967295", "error"],
  ["longout", "VAL", "017", 17],
  ["longout", "VAL", "08", 8],
  ["longout", "VAL", "1.7", 1],
  ["longout", "VAL", "1e3", 1],
  ["longout", "VAL", "-1.5", -1],
  ["longout", "VAL", "12 abc", 12],
  ["longout", "VAL", "", 0],
  ["longout", "VAL", " ", "error"],
  ["longout", "VAL", "x12", "error"],
  ["longout", "VAL", "inf", "error"],
  ["longout", "VAL", "-9223372036854775808", "error"],
  ["ai", "PREC", "70000", "error"],
  ["ai", "PREC", "-256", -256],
  ["ai", "TPRO", "-1", 255],
  ["ai", "TPRO", "-255", 1],
  ["ai", "TPRO", "-256", "error"],
  ["ai", "TPRO", "18446744073709551615", 255],
  ["ai", "TPRO", "70000", "error"],
  ["mbbiDirect", "SHFT", "-1.5", 65535],
  ["mbbiDirect", "SHFT", "70000", "error"],
  ["ai", "ROFF", "1e3", 1000],
  ["ai", "ROFF", "3.9e9", 3900000000],
  ["ai", "ROFF", "5e9", 705032704],
  ["ai", "ROFF", "1.5e19", 0],
  ["ai", "ROFF", "-1.5", 4294967295],
  ["ai", "ROFF", "4294967296", "error"],
  ["ao", "VAL", "0x10", 16],
  ["ao", "VAL", "017", 17],
  ["ao", "VAL", "12abc", 12],
  ["ao", "VAL", "", 0],
  ["ao", "VAL", "nan", NaN],
  ["ao", "VAL", "1e400", "error"],
  ["ao", "VAL", "4.9e-324", "error"],
  ["ao", "VAL", "x12", "error"],
];

Deno.test(
  { ...opts, name: "convertPutText: numbers put as strings as base's dbPut reads them" },
  () => {
    for (const [type, name, text, want] of PUT) {
      assert.equal(
        outcome(() => convertPutText(field(type, name), text)),
        want,
        `${type}.${name} "${text}"`,
      );
    }
  },
);

Deno.test(
  { ...opts, name: "INT64 fields take the whole int64 range as the nearest double" },
  () => {
    const v = field("int64in", "VAL");
    // softIoc shows 9007199254740993 and 9223372036854775807; a field of ours holds a double.
    assert.equal(parseFieldText(v, "9007199254740993"), 9007199254740992);
    assert.equal(parseFieldText(v, "9223372036854775807"), 2 ** 63 - 1024);
    assert.equal(parseFieldText(v, "-9223372036854775808"), -(2 ** 63));
    assert.equal(parseFieldText(v, "0x7FFFFFFFFFFFFFFF"), 2 ** 63 - 1024);
    assert.equal(outcome(() => parseFieldText(v, "0xFFFFFFFFFFFFFFFF")), "error");
    assert.equal(outcome(() => parseFieldText(v, "9223372036854775808")), "error");
    assert.equal(convertPutText(v, "9007199254740993"), 9007199254740992);
    assert.equal(convertPutText(v, "-9223372036854775808"), -(2 ** 63));
    assert.equal(outcome(() => convertPutText(v, "9223372036854775808")), "error");
    assert.equal(formatFieldValue(v, 2 ** 63 - 1024), "9223372036854774784");
    assert.equal(integerFor(v, 1e18), 1e18);
  },
);

Deno.test({ ...opts, name: 'parseFieldText: "" in a menu or DTYP is choice 0, as in base' }, () => {
  // softIoc 7.0.8.1: DTYP "" is Soft Channel, SCAN "" Passive, OMSL "" supervisory...
  for (
    const [type, name] of [["ai", "DTYP"], ["ai", "SCAN"], ["ao", "OMSL"], ["ai", "PINI"], [
      "bi",
      "ZSV",
    ], ["aai", "FTVL"]]
  ) {
    assert.equal(parseFieldText(field(type, name), ""), 0, `${type}.${name}`);
  }
  // A blank is not empty: base refuses " " as a DTYP.
  assert.equal(outcome(() => parseFieldText(field("ai", "DTYP"), " ")), "error");
});

Deno.test({ ...opts, name: "menu fields: numeric text is an index, as base reads it" }, () => {
  const scan = field("ai", "SCAN");
  // Loading (dbPutStringNum): any base, blanks allowed; base also takes the index one past
  // the last choice, and 65535 (-1 wraps to it).
  const loaded: [string, number | "error"][] = [
    ["3", 3],
    ["0x3", 3],
    ["03", 3],
    [" 3 ", 3],
    ["9", 9],
    ["10", 10],
    ["65535", 65535],
    ["-1", 65535],
    ["11", "error"],
    ["65536", "error"],
    ["3.0", "error"],
    ["Passive ", "error"],
    ["1 second ", "error"],
  ];
  for (const [text, want] of loaded) {
    assert.equal(outcome(() => parseFieldText(scan, text)), want, text);
  }
  assert.equal(parseFieldText(field("ai", "DTYP"), "1"), 1);
  assert.equal(outcome(() => parseFieldText(field("ai", "DTYP"), "99")), "error");
  assert.equal(parseFieldText(field("aai", "FTVL"), "3"), 3);
  // Putting (cvt_st_menu): a decimal index below the number of choices, nothing else.
  const put: [string, number | "error"][] = [
    ["5", 5],
    [" 5", 5],
    ["6 ", 6],
    ["+5", 5],
    ["-0", 0],
    ["0.7", "error"],
    ["08", 8],
    ["0x3", "error"],
    ["10", "error"],
    ["", "error"],
    ["-1", "error"],
  ];
  for (const [text, want] of put) {
    assert.equal(outcome(() => convertPutText(scan, text)), want, text);
  }
});

Deno.test({ ...opts, name: 'SCAN "N second": spelled out in a .db file only' }, () => {
  const scan = field("ai", "SCAN");
  // Base's menuScan has no "0.37 second": a put of it is refused, as softIoc refuses it.
  assert.equal(outcome(() => convertPutText(scan, "0.37 second")), "error");
  // Ours lets a .db file ask for it (a site .dbd would declare it); then it is a choice.
  const i = parseFieldText(scan, "0.37 second") as number;
  assert.equal(scan.choices?.[i], "0.37 second");
  assert.equal(convertPutText(scan, "0.37 second"), i);
});

Deno.test({ ...opts, name: "convertPutText: a string too long for its field is cut" }, () => {
  // softIoc: caput P:a.EGU 0123456789ABCDEFGHIJ stores 0123456789ABCDE (EGU holds 16 bytes).
  assert.equal(convertPutText(field("ai", "EGU"), "0123456789ABCDEFGHIJ"), "0123456789ABCDE");
  assert.equal(convertPutText(field("stringout", "VAL"), "x".repeat(43)), "x".repeat(39));
  // Base cuts bytes; we cut before a character that would not fit whole.
  assert.equal(convertPutText(field("ai", "EGU"), "a".repeat(13) + "é"), "a".repeat(13) + "é");
  assert.equal(convertPutText(field("ai", "EGU"), "a".repeat(14) + "é"), "a".repeat(14));
  assert.equal(convertPutText(field("ai", "EGU"), "abc😀".repeat(4)), "abc😀abc😀a");
  // A .db file's string that does not fit is an error, as in base.
  assert.equal(outcome(() => parseFieldText(field("ai", "EGU"), "0123456789ABCDEF")), "error");
});

Deno.test(
  { ...opts, name: "cvtDoubleToString writes doubles as base's DBR_STRING gets do" },
  () => {
    // [value, precision, text]: a stringin reading an ao with that VAL and PREC in softIoc.
    const rows: [number, number, string][] = [
      [1.23456789, 3, "1.235"],
      [3.14159, 0, "3"],
      [0.5, 0, "1"],
      [2.5, 0, "3"],
      [-2.5, 0, "-3"],
      [1e-5, 3, "0.000"],
      [-0.0001, 3, "-0.000"],
      [0.0005, 3, "0.001"],
      [1.0005, 3, "1.000"],
      [99999999.9, 1, "99999999.9"],
      [1e7, 2, "10000000.00"],
      [12345678.123456, 6, "12345678.123"],
      [12345678.123456, 2, "12345678.12"],
      [1.23456789, 9, " 1.234567890e+00"],
      [123.456, 15, " 1.234560000000000e+02"],
      [1.23456789, -1, " 1.23456788999999989e+00"],
      [1.23456789, 20, " 1.23456788999999989e+00"],
      [1e17, 3, " 1.000e+17"],
      [2e16, 3, " 2.000e+16"],
      [Infinity, 3, "       inf"],
      [-Infinity, 2, "     -inf"],
      [NaN, 3, "nan"],
    ];
    for (const [v, p, text] of rows) assert.equal(cvtDoubleToString(v, p), text, `${v} ${p}`);
  },
);
