import assert from "node:assert/strict";
import {
  type DbState,
  type JsonLinkDbf,
  JsonLinkError,
  JsonLinkInstance,
  parseJsonLink,
  traceParseLines,
} from "./json_link.ts";

function host() {
  const states = new Map<string, DbState>();
  const alarms: [number, number, string][] = [];
  const printed: string[] = [];
  return {
    states,
    alarms,
    printed,
    host: {
      state(name: string) {
        let s = states.get(name);
        if (!s) states.set(name, s = { name, value: false });
        return s;
      },
      setSevr: (stat: number, sevr: number, msg: string) => alarms.push([stat, sevr, msg]),
      print: (t: string) => printed.push(t),
    },
  };
}

function open(text: string, dbf: JsonLinkDbf = "INLINK") {
  const h = host();
  const link = parseJsonLink(text, dbf);
  assert.ok(link, text);
  return { ...h, link: new JsonLinkInstance(link, h.host) };
}

Deno.test({
  name: "json links: what base refuses, with base's messages",
  permissions: "none",
  fn() {
    const cases: [string, JsonLinkDbf, string][] = [
      ['{pva: "x"}', "INLINK", "dbJLinkInit: Link type 'pva' not found"],
      ['{ca: {pv: "x"}}', "INLINK", "dbJLinkInit: Link type 'ca' not found"],
      ["{calc: {args: [1]}}", "INLINK", "lnkCalc: No expression ('expr' key)"],
      ['{calc: {expr: "A"}}', "OUTLINK", "lnkCalc: No output link ('out' key)"],
      [
        '{calc: {expr: "A+"}}',
        "INLINK",
        "lnkCalc: Error in calc expression, Incomplete expression, operand missing",
      ],
      ['{calc: {expr: "A"}}', "FWDLINK", "lnkCalc: No support for forward links"],
      ['{state: "x"}', "FWDLINK", "lnkState: DBF_FWDLINK not supported"],
      ["{const: 1}", "OUTLINK", "lnkConst: Only works with input links"],
      ["{const: [1, 'a']}", "INLINK", "lnkConst: Mixed data types in array"],
      ['{state: "a", calc: {}}', "INLINK", "dbJLinkInit: Illegal second link key 'calc'"],
      ['{calc: {expr: "A", prec: 1.5}}', "INLINK", "lnkCalc: Unexpected double 1.5"],
      ['{calc: {expr: "A", time: "M"}}', "INLINK", `lnkCalc: Bad 'time' parameter "M"`],
      ['{calc: {expr: "A", expr: "B"}}', "INLINK", 'lnkCalc: Unknown key "expr"'],
      ['{calc: {expr: "A", out: {state: "s"}}}', "INLINK", 'lnkCalc: Unknown key "out"'],
      ['{calc: {expr: "A", args: ["B"]}}', "INLINK", 'lnkCalc: Unexpected string "B"'],
      // Base's quirk: a link among the args ends a map, and lnkCalc checks its keys then.
      ["{calc: {args: [{const: 1}], expr: 'A'}}", "INLINK", "lnkCalc: No expression ('expr' key)"],
      [
        "{calc: {args: [{const: 1}], out: {state: 's'}}}",
        "OUTLINK",
        "lnkCalc: No output link ('out' key)",
      ],
      [
        `{calc: {expr: "A", args: [${Array(13).fill(1).join(",")}]}}`,
        "INLINK",
        "lnkCalc: Too many input args, limit is 12",
      ],
      [
        "{calc: {expr: 'A', args: [{nope: 1}]}}",
        "INLINK",
        "dbJLinkInit: Link type 'nope' not found",
      ],
      ["{calc: 1", "INLINK", "dbJLinkInit: Expected ',' or '}' but found end of text at offset 8"],
    ];
    for (const [text, dbf, message] of cases) {
      assert.throws(() => parseJsonLink(text, dbf), (e: unknown) => {
        assert.ok(e instanceof JsonLinkError, text);
        assert.equal((e as Error).message, message, text);
        return true;
      });
    }
    assert.equal(parseJsonLink("{}", "INLINK"), undefined);
  },
});

Deno.test({
  name: "json links: calc reads constants and states, raises major/minor, reports as base",
  permissions: "none",
  fn() {
    const c = open(
      "{calc: {expr: 'A+B*2', major: 'VAL>10', minor: 'VAL>6', args: [1, {state: 'lvl'}], units: 'mm', prec: 3}}",
    );
    assert.deepEqual(c.link.get("number"), { value: 1, failed: false });
    assert.deepEqual(c.alarms, []);
    c.states.get("lvl")!.value = true;
    assert.deepEqual(c.link.get("number"), { value: 3, failed: false });
    const five = open(
      "{calc: {expr: 'A*B', major: 'VAL>10', minor: 'VAL>6', args: [4, {const: '2'}]}}",
    );
    assert.equal(five.link.get("number").value, 8);
    assert.deepEqual(five.alarms, [[14, 1, "post_minor error"]]);
    assert.equal(
      c.link.report(1, 6),
      [
        `      'calc': "A+B*2" = 3 mm`,
        `        Major expression: "VAL>10"`,
        `        Minor expression: "VAL>6"`,
        `        Input A: 1`,
        `        Input B: 1`,
        `          'state': "lvl" = TRUE`,
        "",
      ].join("\n"),
    );
    assert.equal(five.link.report(1, 0).split("\n")[1], `  Alarm: MINOR, LINK, "post_minor error"`);
    assert.equal(c.link.units, "mm");
    assert.equal(c.link.precision, 3);
    assert.equal(c.link.linkState, 1);
  },
});

Deno.test({
  name: "json links: calc output (VAL in, out link), state puts with base's truth rules",
  permissions: "none",
  fn() {
    const o = open("{calc: {expr: 'A*VAL', args: [3], out: {state: '!x3'}}}", "OUTLINK");
    assert.ok(o.link.put(2));
    assert.equal(o.states.get("x3")!.value, false, "inverted: 6 is true, the flag false");
    assert.ok(o.link.put(0));
    assert.equal(o.states.get("x3")!.value, true);
    const s = open('{state: "beam"}', "OUTLINK");
    for (
      const [v, want] of [["", false], ["0", false], ["00", true], ["x", true], [0, false], [
        0.5,
        true,
      ]] as const
    ) {
      assert.ok(s.link.put(v));
      assert.equal(s.states.get("beam")!.value, want, JSON.stringify(v));
    }
    assert.equal(s.link.linkState, 2);
    // A constant gives nothing at run time (its value was loaded at init), and cannot be written.
    const k = open("{const: [1.5, 2]}");
    assert.deepEqual(k.link.get("number"), { failed: false });
    assert.equal(k.link.report(2, 0), "'const': array of 2 doubles\n  [1.5, 2]\n");
    assert.equal(k.link.report(1, 0), "'const': array of 2 doubles\n");
  },
});

Deno.test({
  name: "json links: trace prints each call to its child; debug only delegates",
  permissions: "none",
  fn() {
    const t = open('{trace: {state: "!beam"}}');
    assert.equal(t.printed.length, 2);
    assert.match(t.printed[0], /^Link trace: Calling state::openLink\(0x[0-9a-f]+ = jlink 0x/);
    assert.match(t.printed[1], /^Link trace: state::openLink\(0x[0-9a-f]+\) returned\n$/);
    t.printed.length = 0;
    assert.deepEqual(t.link.get("number"), { value: 1, failed: false });
    assert.equal(
      t.printed.join("").replace(/0x[0-9a-f]{4,}/g, "ADDR"),
      "Link trace: Calling state::getValue(ADDR, DBF_DOUBLE, ADDR, 0)\n" +
        "Link trace: state::getValue(ADDR) returned 0 (0x0)\n" +
        "    Got: 1 element(s)\n",
    );
    assert.equal(
      t.link.report(0, 6).replace(/0x[0-9a-f]{4,}/g, "ADDR"),
      "      'trace':\n" +
        "Link trace: Calling state::report(ADDR, 0, 8)\n" +
        `        'state': "beam" = ! TRUE\n` +
        "Link trace: state::report(ADDR) returned\n",
    );
    const d = open('{debug: {calc: {expr: "7"}}}');
    assert.deepEqual(d.link.get("number"), { value: 7, failed: false });
    assert.deepEqual(d.printed, []);
    assert.equal(d.link.report(0, 0), `'debug':\n  'calc': "7" = 7 \n`);
  },
});

Deno.test({
  name: "json links: trace replays its child's parse callbacks as lnkTrace prints them",
  permissions: "none",
  fn() {
    const link = parseJsonLink(
      '{trace: {calc: {expr: "A+B", args: [1, {const: 2}], prec: 2}}}',
      "INLINK",
    )!;
    // Recorded from base 7.0.8.1's softIoc (dbLoadRecords' check parse), pointers as ADDR.
    assert.deepEqual(
      traceParseLines(link, true).replace(/0x[0-9a-f]{4,}/g, "ADDR").trimEnd().split("\n"),
      [
        "Link trace: calc::alloc_jlink(DBF_INLINK) returned ADDR",
        "Link trace: Calling calc::parse_start_map(ADDR)",
        "Link trace: calc::parse_start_map(ADDR) returned jlif_key_continue",
        'Link trace: Calling calc::parse_map_key(ADDR, "expr")',
        "Link trace: calc::parse_map_key(ADDR) returned jlif_continue",
        'Link trace: Calling calc::parse_string(ADDR, "A+B")',
        "Link trace: calc::parse_string(ADDR) returned jlif_continue",
        'Link trace: Calling calc::parse_map_key(ADDR, "args")',
        "Link trace: calc::parse_map_key(ADDR) returned jlif_continue",
        "Link trace: Calling calc::parse_(ADDR)",
        "Link trace: calc::parse_start_array(ADDR) returned jlif_continue",
        "Link trace: Calling calc::parse_integer(ADDR, 1)",
        "Link trace: calc::parse_integer(ADDR) returned jlif_continue",
        "Link trace: Calling calc::parse_start_map(ADDR)",
        "Link trace: calc::parse_start_map(ADDR) returned jlif_key_child_inlink",
        "Link trace: Calling calc::end_child(ADDR, ADDR)",
        "Link trace: calc::end_child(ADDR) returned",
        "Link trace: Calling calc::parse_end_map(ADDR)",
        "Link trace: calc::parse_end_map(ADDR) returned jlif_continue",
        "Link trace: Calling calc::parse_end_array(ADDR)",
        "Link trace: calc::parse_end_array(ADDR) returned jlif_continue",
        'Link trace: Calling calc::parse_map_key(ADDR, "prec")',
        "Link trace: calc::parse_map_key(ADDR) returned jlif_continue",
        "Link trace: Calling calc::parse_integer(ADDR, 2)",
        "Link trace: calc::parse_integer(ADDR) returned jlif_continue",
        "Link trace: Calling calc::parse_end_map(ADDR)",
        "Link trace: calc::parse_end_map(ADDR) returned jlif_continue",
        "Link trace: Calling calc::free_jlink(ADDR)",
        "Link trace: calc::free_jlink(ADDR) returned",
      ],
    );
    assert.equal(traceParseLines(parseJsonLink('{state: "s"}', "INLINK")!, true), "");
    // lnkConst takes booleans as integers and refuses arrays in arrays.
    const k = parseJsonLink("{const: [true, false]}", "INLINK");
    assert.ok(k?.type === "const" && k.elem === "integer");
    assert.deepEqual(k.value, [1, 0]);
    assert.throws(
      () => parseJsonLink("{const: [[1]]}", "INLINK"),
      /lnkConst: Embedded array value/,
    );
  },
});
