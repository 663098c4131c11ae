import {
  deepEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import {
  CALC_NARGS,
  CalcErr,
  calcErrorString,
  CalcSyntaxError,
  compileCalc,
  evaluateCalc,
  resetCalcRandom,
} from "./mod.ts";
import golden from "./testdata/calc_golden.json" with { type: "json" };

const t = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });

type Row = [string, string[], string, string | number, string[] | null, number, number];
const rows = golden.rows as Row[];

const args = (a: string[]) => {
  const out = new Float64Array(CALC_NARGS);
  a.forEach((v, i) => out[i] = Number(v));
  return out;
};
const same = (a: number, b: number) => Object.is(a, b);
/** Within two units in the last place: libm and V8's Math differ in the last bit at times. */
const close = (a: number, b: number) => {
  if (same(a, b)) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= 2 * Number.EPSILON * Math.max(Math.abs(a), Math.abs(b));
};
// Functions computed by libm (glibc) in base and by V8 here: not always bit-equal.
const LIBM = /sin|cos|tan|exp|log|ln|\*\*|\^|d2r|r2d|pi|atan|acos|asin|\/|fmod/i;

t("calc: results equal EPICS base's calcPerform on the golden table", () => {
  resetCalcRandom(); // the table was produced by one process, RNDM from its first value
  let compared = 0;
  let exact = 0;
  const bad: string[] = [];
  for (const [expr, a, val, result, argsOut, inputs, stores] of rows) {
    if (typeof result === "number") continue;
    const p = compileCalc(expr);
    const av = args(a);
    const got = evaluateCalc(p, av, Number(val));
    const want = Number(result);
    compared++;
    if (same(got, want)) exact++;
    else if (!(LIBM.test(expr) && close(got, want))) {
      bad.push(`${expr} [${a}] = ${got}, want ${want}`);
    }
    if (argsOut) {
      const wantArgs = args(argsOut);
      for (let i = 0; i < CALC_NARGS; i++) {
        if (!same(av[i], wantArgs[i])) {
          bad.push(`${expr}: arg ${i} = ${av[i]}, want ${wantArgs[i]}`);
        }
      }
    }
    if (p.argsRead !== inputs || p.argsWritten !== stores) {
      bad.push(`${expr}: usage ${p.argsRead}/${p.argsWritten}, want ${inputs}/${stores}`);
    }
  }
  assertEquals(bad.slice(0, 20), []);
  assert(compared > 10000, `only ${compared} rows compared`);
  assert(exact / compared > 0.99, `only ${exact} of ${compared} bit-exact`);
});

t("calc: generated evaluators give the same results as the interpreter on the golden table", () => {
  resetCalcRandom();
  let jitted = 0;
  const bad: string[] = [];
  for (const [expr, a, val, result, argsOut] of rows) {
    if (typeof result === "number") continue;
    const p = compileCalc(expr);
    if (p.jit()) jitted++;
    const av = args(a);
    const got = evaluateCalc(p, av, Number(val));
    if (!same(got, Number(result))) bad.push(`${expr} [${a}] = ${got}, want ${result}`);
    if (argsOut && !args(argsOut).every((v, i) => same(v, av[i]))) bad.push(`${expr}: args`);
  }
  assertEquals(bad.slice(0, 20), []);
  assert(jitted > 11000, `only ${jitted} generated`);
});

t("calc: programs switch to the generated evaluator after a while, same results", () => {
  const p = compileCalc("i:=i+1; a*sin(i*d2r) + (i%3 ? rndm*0 : 1)");
  const a = new Float64Array(CALC_NARGS);
  a[0] = 2;
  const out: number[] = [];
  for (let k = 0; k < 1000; k++) out.push(evaluateCalc(p, a));
  const b = new Float64Array(CALC_NARGS);
  b[0] = 2;
  const q = compileCalc(p.source);
  for (let k = 0; k < 1000; k++) {
    if (!same(evaluateCalc(q, b), out[k])) throw new Error(`step ${k}`);
  }
  assertEquals(a[8], 1000);
});

t("calc: bad expressions fail with base's error code and text", () => {
  let n = 0;
  for (const [expr, , , result] of rows) {
    if (typeof result !== "number") continue;
    n++;
    let err: unknown;
    try {
      compileCalc(expr);
    } catch (e) {
      err = e;
    }
    assert(
      err instanceof CalcSyntaxError,
      `"${expr}" compiled, base says ${calcErrorString(result)}`,
    );
    assertEquals([expr, err.code, err.reason], [expr, result, calcErrorString(result)]);
  }
  assert(n > 50);
});

t("calc: syntax errors carry the position and a readable message", () => {
  const e = assertThrowsCalc("A + * 2");
  assertEquals([e.code, e.position, e.column], [CalcErr.SYNTAX, 4, 5]);
  assertEquals(
    e.message,
    'Cannot compile calc expression "A + * 2" at column 5: Syntax error, unknown operator/operand',
  );
  assertEquals(assertThrowsCalc("").code, CalcErr.NULL_ARG);
  assertEquals(assertThrowsCalc("(1").code, CalcErr.PAREN_OPEN);
  assertEquals(assertThrowsCalc("0x100000000").code, CalcErr.BAD_LITERAL);
});

function assertThrowsCalc(expr: string): CalcSyntaxError {
  try {
    compileCalc(expr);
  } catch (e) {
    if (e instanceof CalcSyntaxError) return e;
    throw e;
  }
  throw new Error(`"${expr}" compiled`);
}

t("calc: INT_MIN % -1 gives 0 (base's IOC would trap)", () => {
  const a = new Float64Array(CALC_NARGS);
  a[0] = NaN;
  a[1] = -1;
  assertEquals(evaluateCalc(compileCalc("A%B"), a), 0);
});

t("calc: the run-time stack limit is base's", () => {
  const deep = "1+(".repeat(79) + "1" + ")".repeat(79);
  assertEquals(
    evaluateCalc(compileCalc("1+(".repeat(78) + "1" + ")".repeat(78)), new Float64Array(12)),
    79,
  );
  assertThrows(
    () => compileCalc(deep),
    (e: unknown) => e instanceof CalcSyntaxError && e.code === CalcErr.OVERFLOW,
  );
});

t("calc: dump lists the postfix program", () => {
  assertEquals(compileCalc("max(a,2)").dump(), "\tFETCH_A\n\tLiteral 2\n\tMAX, 2 arg(s)");
});

t("calc: generated evaluators equal the interpreter on random expressions", () => {
  let seed = 2024;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const leaf = ["A", "B", "C", "D", "L", "VAL", "1", "0", "0.5", "3e9", "NaN", "Inf", "PI"];
  leaf.push("0xFFFFFFFF", "0x80000000", "RNDM");
  const bin = ["+", "-", "*", "/", "**", "&", "|", "&&", "||", "<<", ">>", ">>>", "<", "=", "#"];
  bin.push(" XOR ", "%");
  const un = ["-", "!", "~", "ABS", "SQRT", "LN", "SIN", "NINT", "ISINF", "FLOOR"];
  const va = ["MAX", "MIN", "ISNAN", "FINITE"];
  const gen = (d: number): string => {
    switch (d > 4 ? 0 : rnd(7)) {
      case 0:
      case 1:
        return leaf[rnd(leaf.length)];
      case 2:
        return `${gen(d + 1)}${bin[rnd(bin.length)]}${gen(d + 1)}`;
      case 3: {
        const u = un[rnd(un.length)];
        return u.length > 1 ? `${u}(${gen(d + 1)})` : `${u}${gen(d + 1)}`;
      }
      case 4:
        return `${va[rnd(4)]}(${gen(d + 1)},${gen(d + 1)},${gen(d + 1)})`;
      case 5:
        return `(${gen(d + 1)}?${gen(d + 1)}:${gen(d + 1)})`;
      default:
        return `ATAN2(${gen(d + 1)},${gen(d + 1)})`;
    }
  };
  let n = 0;
  for (let i = 0; i < 3000; i++) {
    let e = gen(0);
    if (rnd(3) === 0) e = `${"ABCD"[rnd(4)]}:=${gen(2)};${e};${"ABCD"[rnd(4)]}:=${gen(3)}`;
    const init = [1.5, -2, 3e9, -1, 0, 0, 0, 0, 0, 0, 0, -7];
    const p = compileCalc(e);
    const q = compileCalc(e);
    if (!q.jit()) continue;
    n++;
    const a = Float64Array.from(init);
    const b = Float64Array.from(init);
    resetCalcRandom();
    const x = evaluateCalc(p, a, 4);
    resetCalcRandom();
    const y = evaluateCalc(q, b, 4);
    assert(same(x, y) && a.every((v, k) => same(v, b[k])), `${e}: ${x} vs ${y}`);
  }
  assert(n > 2900, `only ${n} generated`);
});

t(
  "postfixBytes: the program as postfix() writes RPCL (recorded with dbpr from softIoc 7.0.8.1)",
  () => {
    const hex = (e: string) =>
      [...compileCalc(e).postfixBytes()].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    // An int32 literal as LITERAL_INT, 1.5 as LITERAL_DOUBLE, MAX's argument count in a byte,
    // the conditional's opcodes without operands, a hex literal as an int.
    assertEquals(hex("A*B"), "04 05 22 00");
    assertEquals(hex("A>100"), "04 02 64 00 00 00 4e 00");
    assertEquals(
      hex("MAX(A,B,1.5)?C:0x10"),
      "04 05 01 00 00 00 00 00 00 f8 3f 2a 03 4f 06 50 02 10 00 00 00 51 00",
    );
    // The first 20 bytes base showed of "A:=B+2.5e300;-A**2".
    assertEquals(
      hex("A:=B+2.5e300;-A**2").slice(0, 59),
      "05 01 03 93 00 aa 4b dd 4d 7e 20 10 04 1f 02 02 00 00 00 25",
    );
    assertEquals(hex("A#B&&!C"), "04 05 49 06 41 40 00");
    assertEquals(hex("SIN(A)/PI"), "04 33 1c 23 00");
    assertEquals(hex("0"), "02 00 00 00 00 00");
  },
);
