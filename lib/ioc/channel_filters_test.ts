import assert from "node:assert/strict";
import {
  arrRange,
  type ChannelFilter,
  ChannelNameError,
  FilterChain,
  filteredType,
  formatStamp,
  parseChannelTail,
  splitChannelName,
} from "./channel_filters.ts";
import {
  EMPTY_ALARM,
  EMPTY_CONTROL,
  EMPTY_DISPLAY,
  EMPTY_VALUE_ALARM,
  type PvSnapshot,
  type PvTypeInfo,
  type PvValue,
} from "../pv/types.ts";

const opts = { permissions: "none" } as const;

function filters(tail: string, states: string[] = []): readonly ChannelFilter[] {
  return parseChannelTail(tail, (s) => states.includes(s)).filters;
}

function refused(tail: string): ChannelNameError {
  try {
    parseChannelTail(tail);
  } catch (e) {
    assert.ok(e instanceof ChannelNameError, String(e));
    return e;
  }
  throw new Error(`"${tail}" was accepted`);
}

Deno.test("channel names split at the first dot; no field is VAL", opts, () => {
  assert.deepEqual(splitChannelName("a:b"), { record: "a:b", field: "VAL", tail: "" });
  assert.deepEqual(splitChannelName("a:b."), { record: "a:b", field: "VAL", tail: "" });
  assert.deepEqual(splitChannelName("r.EGU$"), { record: "r", field: "EGU", tail: "$" });
  assert.deepEqual(splitChannelName("r.VAL junk"), { record: "r", field: "VAL", tail: " junk" });
  assert.deepEqual(splitChannelName("r.{ts:{}}"), { record: "r", field: "VAL", tail: "{ts:{}}" });
  assert.deepEqual(splitChannelName("r.[1]"), { record: "r", field: "VAL", tail: "[1]" });
  // A record name cannot hold a dot: "a.b.c" is field "b" of record "a".
  assert.deepEqual(splitChannelName("a.b.c"), { record: "a", field: "b", tail: ".c" });
});

Deno.test("array ranges as base's parseArrayRange reads them (strtol, base 0)", opts, () => {
  const arr = (tail: string) => {
    const [f] = filters(tail);
    assert.equal(f.name, "arr");
    return f.name === "arr" ? [f.start, f.incr, f.end] : [];
  };
  assert.deepEqual(arr("[2:4]"), [2, 1, 4]);
  assert.deepEqual(arr("[2:1:4]"), [2, 1, 4]);
  assert.deepEqual(arr("[2]"), [2, 1, 2]);
  assert.deepEqual(arr("[-3:]"), [-3, 1, -1]);
  assert.deepEqual(arr("[::2]"), [0, 1, 2]); // [s:i:e] with e=2
  assert.deepEqual(arr("[1:2:]"), [1, 2, -1]);
  assert.deepEqual(arr("[:]"), [0, 1, -1]);
  assert.deepEqual(arr("[ 2:4]"), [2, 1, 4]);
  assert.deepEqual(arr("[0x2:4]"), [2, 1, 4]);
  assert.deepEqual(arr("[010:]"), [8, 1, -1]); // octal, as strtol
  assert.deepEqual(arr("[1:0:5]"), [1, 1, 5]); // a step below 1 is 1
  assert.deepEqual(arr("[1:-1:5]"), [1, 1, 5]);
  for (const bad of ["[]", "[2:4", "[a]", "[1;2]", "[1:2:3:4]", "[2:4]x"]) refused(bad);
  // `$` first, then the range, then JSON; not the other way round.
  assert.equal(parseChannelTail("$[1:3]").long, true);
  refused('{"ts":{}}[0:1]');
  refused("[1]$");
});

Deno.test("arr picks what base's wrapArrayIndices picks", opts, () => {
  const f = (s: number, i: number, e: number) =>
    ({ name: "arr", start: s, incr: i, end: e }) as const;
  assert.deepEqual(arrRange(f(2, 1, 4), 8), { first: 2, count: 3 });
  assert.deepEqual(arrRange(f(-3, 1, -1), 8), { first: 5, count: 3 });
  assert.deepEqual(arrRange(f(1, 2, -1), 10), { first: 1, count: 5 });
  assert.deepEqual(arrRange(f(5, 1, 2), 10), { first: 5, count: 0 });
  assert.deepEqual(arrRange(f(8, 1, 9), 8), { first: 8, count: 0 });
  assert.deepEqual(arrRange(f(0, 1, -1), 0), { first: 0, count: 0 });
});

Deno.test("filter maps: JSON5, chfPlugin's prefix keys and conversions", opts, () => {
  assert.deepEqual(filters('{"arr":{"s":2,"e":4}}'), [{ name: "arr", start: 2, incr: 1, end: 4 }]);
  assert.deepEqual(filters("{arr:{s:-2}}"), [{ name: "arr", start: -2, incr: 1, end: -1 }]);
  // Integers from doubles (truncated), strings (leading number) and booleans.
  assert.deepEqual(filters('{"arr":{"s":1.7}}'), [{ name: "arr", start: 1, incr: 1, end: -1 }]);
  assert.deepEqual(filters('{"arr":{"s":"3"}}'), [{ name: "arr", start: 3, incr: 1, end: -1 }]);
  assert.deepEqual(filters('{"arr":{"s":true}}'), [{ name: "arr", start: 1, incr: 1, end: -1 }]);
  assert.deepEqual(filters("{dbnd:{abs:1.5}}"), [{ name: "dbnd", mode: "abs", delta: 1.5 }]);
  assert.deepEqual(filters('{"dbnd":{"rel":"10"}}'), [{ name: "dbnd", mode: "rel", delta: 10 }]);
  assert.deepEqual(filters('{"dbnd":{"d":2,"m":1}}'), [{ name: "dbnd", mode: "rel", delta: 2 }]);
  assert.deepEqual(filters('{"dbnd":{"a":3}}'), [{ name: "dbnd", mode: "abs", delta: 3 }]);
  assert.deepEqual(filters('{"dec":{"n":5}}'), [{ name: "dec", n: 5 }]);
  assert.deepEqual(filters('{"ts":{}}'), [{ name: "ts", mode: "generate", epoch: "epics" }]);
  assert.deepEqual(filters('{"ts":{"n":"sec"}}'), [{ name: "ts", mode: "sec", epoch: "epics" }]);
  assert.deepEqual(filters('{"ts":{"num":"d","epoch":"u"}}'), [
    { name: "ts", mode: "dbl", epoch: "unix" },
  ]);
  // str wins over num.
  assert.deepEqual(filters('{"ts":{"str":"iso","num":"dbl"}}'), [
    { name: "ts", mode: "iso", epoch: "epics" },
  ]);
  assert.deepEqual(filters('{"ts":{},"ts":{}}').length, 2);
  assert.deepEqual(filters('{"ts":{},}'), [{ name: "ts", mode: "generate", epoch: "epics" }]);
  assert.deepEqual(filters('{"utag":{"V":1}}'), [{ name: "utag", mask: -1, value: 1 }]);
  assert.deepEqual(filters('{"sync":{"m":"while","s":"X"}}', ["X"]), [
    { name: "sync", mode: "while", state: "X" },
  ]);
  assert.deepEqual(filters('{"sync":{"after":"X"}}', ["X"]), [
    { name: "sync", mode: "after", state: "X" },
  ]);
  assert.deepEqual(filters("{}"), []);
});

Deno.test("filter maps base refuses, and what it prints for them", opts, () => {
  for (
    const bad of [
      '{"ts":1}',
      '{"ts":null}',
      '{"ts":[]}',
      '{"ts":{"q":1}}',
      '{"ts":{"num":"x"}}',
      '{"ts":{"num":"epics"}}',
      '{"ts":{"num":2}}',
      '{"dec":{}}',
      '{"dec":{"n":0}}',
      '{"dec":{"n":2.0}}',
      '{"dec":{"n":"2"}}',
      '{"sync":{"m":"while"}}',
      '{"sync":{"m":"while","s":"nope"}}',
      '{"arr":{"s":3000000000}}',
    ]
  ) assert.equal(refused(bad).console, "", bad);
  const unknown = refused('{"xyz":{}}');
  assert.equal(unknown.console, "dbChannelCreate: Channel filter 'xyz' not found\n");
  assert.equal(unknown.errlog, true);
  // An unfinished map is refused silently (yajl does not report its premature EOF).
  assert.equal(refused('{"ts":{}').console, "");
  // Syntax errors: yajl's verbose message (recorded from softIoc), pointing just past the fault.
  assert.equal(
    refused("{ts:{}}x").console,
    "dbChannelCreate: parse error: trailing garbage\n" +
      "                                {ts:{}}x\n" +
      "                     (right here) ------^\n\n",
  );
  assert.equal(
    refused('{"ts" {}}').console,
    "dbChannelCreate: parse error: object key and value must be separated by a colon (':')\n" +
      '                                 {"ts" {}}\n' +
      "                     (right here) ------^\n\n",
  );
  assert.equal(
    refused('{"ts":{"num":"dbl",,}}').console,
    "dbChannelCreate: lexical error: invalid char in json text.\n" +
      '                    {"ts":{"num":"dbl",,}}\n' +
      "                     (right here) ------^\n\n",
  );
  assert.equal(
    refused('{"ts":{}}}').console.split("\n")[0],
    "dbChannelCreate: parse error: trailing garbage",
  );
  assert.equal(refused('{"ts":{}}{"dec":{"n":2}}').errlog, false);
});

Deno.test("types after the filters, as dbChannelOpen's probe makes them", opts, () => {
  const wf: PvTypeInfo = { kind: "array", scalar: "float64", maxLength: 10 };
  const ai: PvTypeInfo = { kind: "scalar", scalar: "float64", maxLength: 1 };
  const en: PvTypeInfo = { kind: "enum", scalar: "uint16", maxLength: 1 };
  assert.deepEqual(filteredType(wf, filters("[2:4]")), { ...wf, maxLength: 3 });
  assert.deepEqual(filteredType(wf, filters("[1:2:]")), { ...wf, maxLength: 5 });
  assert.deepEqual(filteredType(wf, filters("[5:2]")), { ...wf, maxLength: 0 });
  assert.deepEqual(filteredType(wf, filters("[2]")), { ...ai });
  assert.deepEqual(filteredType(ai, filters("[2:4]")), ai);
  assert.deepEqual(filteredType(en, filters("[0:3]")), en);
  assert.deepEqual(filteredType(ai, filters('{"ts":{"num":"ts"}}')), {
    kind: "array",
    scalar: "uint32",
    maxLength: 2,
  });
  assert.deepEqual(filteredType(en, filters('{"ts":{"num":"sec"}}')), {
    kind: "scalar",
    scalar: "uint32",
    maxLength: 1,
  });
  assert.deepEqual(filteredType(ai, filters('{"ts":{"str":"epics"}}')).scalar, "string");
  // arr after ts's pair narrows the pair; before it, arr on a scalar does nothing.
  assert.deepEqual(filteredType(wf, filters('{"ts":{"num":"ts"},"arr":{"s":1}}')).kind, "scalar");
  assert.deepEqual(filteredType(ai, filters('{"arr":{"s":1},"ts":{"num":"ts"}}')).maxLength, 2);
});

function snap(value: PvValue, sec = 100, nsec = 5): PvSnapshot {
  return {
    value,
    alarm: EMPTY_ALARM,
    timeStamp: { secPastEpoch: sec, nsec },
    display: EMPTY_DISPLAY,
    control: EMPTY_CONTROL,
    valueAlarm: EMPTY_VALUE_ALARM,
  };
}

const AI: PvTypeInfo = { kind: "scalar", scalar: "float64", maxLength: 1 };
const CTX = {
  now: () => ({ secPastEpoch: 999, nsec: 1 }),
  state: () => false,
  utag: () => 0n,
  zoneOffset: () => 0,
};

/** The values a subscription passes of a sequence of value posts. */
function passed(tail: string, values: number[], ctx = CTX, type = AI): PvValue[] {
  const chain = new FilterChain(filters(tail, ["S"]), type, ctx);
  const sub = chain.subscription();
  return values.flatMap((v) => {
    // ai posts DBE_VALUE|DBE_LOG; camonitor selects DBE_VALUE|DBE_ALARM.
    const out = sub(snap(v), 1);
    return out ? [out.snap.value] : [];
  });
}

Deno.test("dbnd, dec: what a subscription passes (camonitor on softIoc)", opts, () => {
  // The sequence tests/softioc_filters_test.ts puts to base's softIoc, after 3.5 first.
  const seq = [3.5, 1, 2, 2.5, 4, 4.2, 10, 10.5, 11, 12, -3, -3.1, 0];
  assert.deepEqual(passed("{dbnd:{abs:1.5}}", seq), [3.5, 1, 4, 10, 12, -3, 0]);
  assert.deepEqual(passed("{dbnd:{rel:10}}", seq), [3.5, 1, 2, 2.5, 4, 10, 12, -3, -3.1, 0]);
  assert.deepEqual(passed('{"dec":{"n":3}}', seq), [3.5, 2.5, 10, 12, 0]);
  assert.deepEqual(passed('{"dec":{"n":2},"dbnd":{"d":1}}', seq), [3.5, 2, 4, 10, -3, 0]);
  // Property updates pass dec uncounted.
  const sub = new FilterChain(filters('{"dec":{"n":2}}'), AI, CTX).subscription();
  assert.ok(sub(snap(1), 1));
  assert.ok(sub(snap(2), 8));
  assert.equal(sub(snap(3), 1), null);
  // An alarm-only change within the deadband passes, with only its alarm bit.
  const db = new FilterChain(filters('{"dbnd":{"d":5}}'), AI, CTX).subscription();
  assert.equal(db(snap(1), 1)?.mask, 1);
  assert.equal(db(snap(2), 1), null);
  assert.equal(db(snap(2), 5)?.mask, 4);
});

Deno.test("sync and utag follow their flag and the record's UTAG", opts, () => {
  let state = false;
  const ctx = { ...CTX, state: () => state };
  const run = (tail: string) => {
    const sub = new FilterChain(filters(tail, ["S"]), AI, ctx).subscription();
    const out: PvValue[] = [];
    const post = (v: number, s: boolean) => {
      state = s;
      const r = sub(snap(v), 1);
      if (r) out.push(r.snap.value);
    };
    post(1, false);
    post(2, true);
    post(3, true);
    post(4, false);
    post(5, false);
    return out;
  };
  assert.deepEqual(run('{"sync":{"while":"S"}}'), [2, 3]);
  assert.deepEqual(run('{"sync":{"unless":"S"}}'), [1, 4, 5]);
  assert.deepEqual(run('{"sync":{"first":"S"}}'), [2]);
  assert.deepEqual(run('{"sync":{"after":"S"}}'), [4]);
  assert.deepEqual(run('{"sync":{"before":"S"}}'), [1]);
  assert.deepEqual(run('{"sync":{"last":"S"}}'), [3]);
  let utag = 5n;
  const u = new FilterChain(filters('{"utag":{"M":4,"V":4}}'), AI, { ...CTX, utag: () => utag })
    .subscription();
  utag = 0n;
  assert.ok(u(snap(1), 1), "the first update always passes");
  assert.equal(u(snap(2), 1), null);
  utag = 12n;
  assert.ok(u(snap(3), 1));
});

Deno.test("ts: the time of the read, or the value made of the time stamp", opts, () => {
  const read = (tail: string, type = AI, value: PvValue = 3.5) =>
    new FilterChain(filters(tail), type, CTX).read(snap(value, 1165166596, 562327258)).snap;
  assert.deepEqual(read('{"ts":{}}').timeStamp, { secPastEpoch: 999, nsec: 1 });
  assert.equal(read('{"ts":{}}').value, 3.5);
  assert.equal(read('{"ts":{"num":"sec"}}').value, 1165166596);
  assert.equal(read('{"ts":{"num":"nsec"}}').value, 562327258);
  assert.equal(read('{"ts":{"num":"dbl"}}').value, 1165166596 + 562327258e-9);
  assert.deepEqual(
    read('{"ts":{"num":"ts","epoch":"unix"}}').value,
    Uint32Array.of(1796318596, 562327258),
  );
  // Recorded from softIoc (TZ UTC): caget of f:ai.{"ts":{"str":...}}.
  assert.equal(read('{"ts":{"str":"epics"}}').value, "2026-12-03 17:23:16.562327");
  assert.equal(read('{"ts":{"str":"iso"}}').value, "2026-12-03T17:23:16.562327+0000");
  assert.equal(formatStamp({ secPastEpoch: 0, nsec: 0 }, false), "<undefined>");
  assert.equal(
    formatStamp({ secPastEpoch: 1, nsec: 0 }, true, () => -90),
    "1989-12-31T22:30:01.000000-0130",
  );
  // dbnd drops a read of a scalar: base then reads the field as it is, unfiltered.
  const cut = new FilterChain(filters('{"dbnd":{"d":1},"ts":{"num":"sec"}}'), AI, CTX).read(
    snap(3.5),
  );
  assert.equal(cut.unfiltered, true);
  assert.equal(cut.snap.value, 3.5);
  // Arrays: arr slices, a single element left is a scalar.
  const wf: PvTypeInfo = { kind: "array", scalar: "float64", maxLength: 10 };
  const a = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  assert.deepEqual(read("[2:4]", wf, a).value, Float64Array.of(3, 4, 5));
  assert.deepEqual(read("[1:2:]", wf, a).value, Float64Array.of(2, 4, 6, 8));
  assert.deepEqual(read("[8:9]", wf, a).value, new Float64Array(0));
  assert.equal(read("[2]", wf, a).value, 3);
  assert.deepEqual(read('[2:4]{"arr":{"s":1}}', wf, a).value, Float64Array.of(4, 5));
});
