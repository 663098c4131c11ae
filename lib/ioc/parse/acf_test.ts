import { deepEqual as assertEquals } from "node:assert/strict";
import { accessFor, evaluateAccess, parseAcf } from "./acf.ts";
import type { IocParseError } from "./errors.ts";

const t = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const where = (e: IocParseError) => `${e.line}:${e.column} ${e.reason}`;

const ACF = `# an example in the style of the Application Developer's Guide
UAG(ops) { alice, bob }
UAG(experts) { carol }
HAG(console) { CTRL-1.Lab.Org, ctrl-2 }
ASG(DEFAULT) {
  RULE(1, READ)
  RULE(1, WRITE, TRAPWRITE) { UAG(ops) HAG(console) }
}
ASG(CRITICAL) {
  INPA("beam:current")
  INPB(mode)
  RULE(1, READ)
  RULE(0, WRITE) { UAG(experts) }
  RULE(1, WRITE) { UAG(ops, experts) CALC("A<0.1 && B=2") }
}
ASG(LOCKED)
`;

t("acf: groups, rules and the access asLib's rule loop grants", () => {
  const { acf, errors } = parseAcf(ACF, { file: "t.acf" });
  assertEquals(errors.map(where), []);
  assertEquals([...acf.asgs.keys()], ["DEFAULT", "CRITICAL", "LOCKED"]);
  assertEquals([...acf.hags.get("console")!], ["ctrl-1.lab.org", "ctrl-2"]);
  assertEquals(acf.asgs.get("CRITICAL")!.inputs, ["beam:current", "mode"]);
  const rule = acf.asgs.get("DEFAULT")!.rules[1];
  assertEquals([rule.level, rule.access, rule.trapWrite, rule.uags, rule.hags], [
    1,
    "WRITE",
    true,
    ["ops"],
    ["console"],
  ]);
  // host names compare in lower case, user names exactly
  assertEquals(accessFor(acf, "DEFAULT", 1, "alice", "CTRL-2"), "WRITE");
  assertEquals(evaluateAccess(acf, "DEFAULT", 1, "alice", "ctrl-1.lab.org").trapWrite, true);
  assertEquals(accessFor(acf, "DEFAULT", 1, "Alice", "ctrl-2"), "READ");
  assertEquals(accessFor(acf, "DEFAULT", 1, "alice", "elsewhere"), "READ");
  // an unknown group is DEFAULT; a group without rules grants nothing
  assertEquals(accessFor(acf, "NO_SUCH", 1, "bob", "ctrl-2"), "WRITE");
  assertEquals(accessFor(acf, "LOCKED", 1, "bob", "ctrl-2"), "NONE");
  // levels: RULE(0, ...) applies to ASL0 fields only
  assertEquals(accessFor(acf, "CRITICAL", 0, "carol", "x", [5, 0]), "WRITE");
  assertEquals(accessFor(acf, "CRITICAL", 1, "carol", "x", [5, 0]), "READ");
  // CALC conditions on the inputs; a missing input makes the rule not apply
  assertEquals(accessFor(acf, "CRITICAL", 1, "bob", "x", [0.05, 2]), "WRITE");
  assertEquals(accessFor(acf, "CRITICAL", 1, "bob", "x", [0.5, 2]), "READ");
  assertEquals(accessFor(acf, "CRITICAL", 1, "bob", "x", [0.05]), "READ");
});

t("acf: errors name the place and use asLib's words", () => {
  const { errors } = parseAcf(
    `UAG(ops) { alice }
UAG(ops) { bob }
ASG(A) {
  RULE(1, RPC)
  RULE(1, WRITE, LOG)
  RULE(1, WRITE) { UAG(nobody) HAG(nohost) }
  RULE(1, WRITE) { CALC("A+") }
  RULE(1, WRITE) { CALC("A:=1;A") }
}
ASG(A) { RULE(1, READ) }
ASG(B) { RULE(x, READ) }
HAG(h) { 123 }
ASG(C) { RULE(1, READ) @ }
`,
    { file: "bad.acf" },
  );
  assertEquals(errors.map(where), [
    "13:24 Invalid character '@'",
    "2:5 Duplicate User Access Group named 'ops'",
    "4:11 Access rights must be NONE, READ or WRITE",
    "5:18 Log options must be TRAPWRITE or NOTRAPWRITE",
    "6:24 No User Access Group named 'nobody' defined",
    "6:36 No Host Access Group named 'nohost' defined",
    "7:28 Incomplete expression, operand missing in CALC expression 'A+'",
    "8:25 Assignment operator used in CALC expression 'A:=1;A'",
    "10:5 Duplicate Access Security Group named 'A'",
    '11:15 expected a level number but found "x"',
    '12:10 expected a host name but found "123"',
  ]);
});

t("acf: macros are expanded first when given", () => {
  const { acf, errors } = parseAcf(
    "UAG(ops) { $(USER) }\nASG(DEFAULT) { RULE(1, WRITE) { UAG(ops) } }",
    {
      file: "m.acf",
      macros: new Map([["USER", "dave"]]),
    },
  );
  assertEquals(errors, []);
  assertEquals(accessFor(acf, "DEFAULT", 1, "dave", "h"), "WRITE");
});

// Each "bad" file is refused by EPICS base 7.0.8.1's ascheck and each "ok" file passes it.
const ACCEPT_REJECT: [string, string][] = [
  ["ok_min", "ASG(DEFAULT) { RULE(1, READ) }"],
  ["ok_empty_asg", "ASG(X)"],
  ["ok_uag_nobody", "UAG(u)"],
  [
    "ok_full",
    'UAG(u) {a, b}\nHAG(h) {x}\nASG(A) { INPA("pv:a") INPL(b) RULE(0, WRITE, TRAPWRITE) { UAG(u) HAG(h) CALC("A>1") } RULE(1,READ,NOTRAPWRITE) }',
  ],
  ["ok_rule_nobody", "ASG(A) { RULE(1, WRITE) }"],
  ["ok_level2", "ASG(A) { RULE(2, READ) }"],
  ["ok_default_twice_empty", "ASG(DEFAULT)\nASG(DEFAULT) { RULE(1, READ) }"],
  ["ok_comment", "# x\nASG(A) { RULE(1, READ) } # y"],
  ["bad_rpc", "ASG(A) { RULE(1, RPC) }"],
  ["bad_lower_read", "ASG(A) { RULE(1, read) }"],
  ["bad_dup_uag", "UAG(u) {a}\nUAG(u) {b}"],
  ["bad_dup_asg", "ASG(A) { RULE(1, READ) }\nASG(A) { RULE(1, READ) }"],
  ["bad_no_uag", "ASG(A) { RULE(1, READ) { UAG(nope) } }"],
  ["bad_no_hag", "ASG(A) { RULE(1, READ) { HAG(nope) } }"],
  ["bad_calc", 'ASG(A) { RULE(1, READ) { CALC("A+") } }'],
  ["bad_calc_store", 'ASG(A) { RULE(1, READ) { CALC("A:=1;A") } }'],
  ["bad_inpm", "ASG(A) { INPM(x) }"],
  ["bad_empty_body", "ASG(A) { }"],
  ["bad_empty_rule_body", "ASG(A) { RULE(1, READ) { } }"],
  ["bad_int_user", "UAG(u) { 123 }"],
  ["bad_level_word", "ASG(A) { RULE(x, READ) }"],
  ["bad_log", "ASG(A) { RULE(1, READ, LOG) }"],
  ["bad_char", "ASG(A) { RULE(1, READ) } @"],
  ["bad_unclosed", "ASG(A) { RULE(1, READ)"],
  ["bad_stmt", "FOO(A)"],
  ["bad_nl_string", 'ASG(A) { INPA("abc\n) }'],
  ["ok_default_after_rules_dup", "ASG(DEFAULT) { RULE(1, READ) }"],
  ["bad_default_dup", "ASG(DEFAULT) { RULE(1, READ) }\nASG(DEFAULT)"],
];

t("acf: accepts and refuses the files base's ascheck accepts and refuses", () => {
  for (const [name, text] of ACCEPT_REJECT) {
    const r = parseAcf(text + "\n", { file: name });
    assertEquals([name, r.errors.length > 0], [name, name.startsWith("bad")]);
  }
});
