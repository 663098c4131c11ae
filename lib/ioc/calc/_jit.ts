/**
 * Translates a compiled calc program into a JavaScript function, so that V8 compiles it to
 * machine code: the same operations in the same order as the interpreter (calcPerform's
 * semantics live in the helpers calc.ts passes in and in its interpreter), several times
 * faster.
 *
 * Only numbers and our own operation templates go into the generated text; the expression's
 * source never does. A program whose stack use cannot be followed statically (a store inside
 * a conditional branch, branches of different depth) gets no function and stays interpreted.
 * @module
 */

/** Opcode numbers and helpers the translation needs (given by calc.ts, to keep one table). */
export interface JitContext {
  readonly op: Readonly<Record<string, number>>;
  readonly hasOperand: (op: number) => boolean;
  readonly helpers: Readonly<Record<string, unknown>>;
}

/** The generated evaluator: letters A..L in `a` (updated by stores), VAL in `v`. */
export type JitFunction = (a: Float64Array, v: number) => number;

class Unsupported extends Error {}

const SIMPLE = /^(?:t\d+|[\d.e+]+|NaN|Infinity|v|PI|D2R|R2D)$/;

/**
 * Builds the JavaScript function for a program, or returns undefined when the program is
 * better interpreted.
 */
export function jitCompile(
  code: Int32Array,
  lits: Float64Array,
  ctx: JitContext,
): JitFunction | undefined {
  const O = ctx.op;
  const stmts: string[] = [];
  let temps = 0;
  // Literals are not negative in the source, but 0x80000000..0xFFFFFFFF are stored as negative
  // 32-bit integers, as base stores them.
  const num = (v: number) =>
    Number.isNaN(v) ? "NaN" : v === Infinity ? "Infinity" : v < 0 ? `(${v})` : String(v);

  const unary: Record<number, (x: string) => string> = {
    [O.UNARY_NEG]: (x) => `(-${x})`,
    [O.ABS_VAL]: (x) => `Math.abs(${x})`,
    [O.EXP]: (x) => `Math.exp(${x})`,
    [O.LOG_10]: (x) => `Math.log10(${x})`,
    [O.LOG_E]: (x) => `Math.log(${x})`,
    [O.SQU_RT]: (x) => `Math.sqrt(${x})`,
    [O.ACOS]: (x) => `Math.acos(${x})`,
    [O.ASIN]: (x) => `Math.asin(${x})`,
    [O.ATAN]: (x) => `Math.atan(${x})`,
    [O.COS]: (x) => `Math.cos(${x})`,
    [O.COSH]: (x) => `Math.cosh(${x})`,
    [O.SIN]: (x) => `Math.sin(${x})`,
    [O.SINH]: (x) => `Math.sinh(${x})`,
    [O.TAN]: (x) => `Math.tan(${x})`,
    [O.TANH]: (x) => `Math.tanh(${x})`,
    [O.CEIL]: (x) => `Math.ceil(${x})`,
    [O.FLOOR]: (x) => `Math.floor(${x})`,
    [O.ISINF]: (x) => `isinf(${x})`,
    [O.NINT]: (x) => `nint(${x})`,
    [O.REL_NOT]: (x) => `(${x} === 0 ? 1 : 0)`,
    [O.BIT_NOT]: (x) => `(~d2i(${x}))`,
  };
  // Operands are written left (pushed first) to right: JavaScript evaluates them in that
  // order, as the postfix program does (it matters for RNDM).
  const binary: Record<number, (x: string, y: string) => string> = {
    [O.ADD]: (x, y) => `(${x} + ${y})`,
    [O.SUB]: (x, y) => `(${x} - ${y})`,
    [O.MULT]: (x, y) => `(${x} * ${y})`,
    [O.DIV]: (x, y) => `(${x} / ${y})`,
    [O.MODULO]: (x, y) => `mod(${x}, ${y})`,
    [O.POWER]: (x, y) => `pow(${x}, ${y})`,
    [O.ATAN2]: (x, y) => `at2(${x}, ${y})`,
    [O.FMOD]: (x, y) => `(${x} % ${y})`,
    [O.REL_OR]: (x, y) => `or(${x}, ${y})`,
    [O.REL_AND]: (x, y) => `and(${x}, ${y})`,
    [O.BIT_OR]: (x, y) => `(d2i(${x}) | d2i(${y}))`,
    [O.BIT_AND]: (x, y) => `(d2i(${x}) & d2i(${y}))`,
    [O.BIT_EXCL_OR]: (x, y) => `(d2i(${x}) ^ d2i(${y}))`,
    [O.RIGHT_SHIFT_ARITH]: (x, y) => `(d2i(${x}) >> (d2i(${y}) & 31))`,
    [O.LEFT_SHIFT_ARITH]: (x, y) => `(d2i(${x}) << (d2i(${y}) & 31))`,
    [O.RIGHT_SHIFT_LOGIC]: (x, y) => `((d2i(${x}) >>> 0) >>> (d2i(${y}) & 31))`,
    [O.NOT_EQ]: (x, y) => `(${x} !== ${y} ? 1 : 0)`,
    [O.LESS_THAN]: (x, y) => `(${x} < ${y} ? 1 : 0)`,
    [O.LESS_OR_EQ]: (x, y) => `(${x} <= ${y} ? 1 : 0)`,
    [O.EQUAL]: (x, y) => `(${x} === ${y} ? 1 : 0)`,
    [O.GR_OR_EQ]: (x, y) => `(${x} >= ${y} ? 1 : 0)`,
    [O.GR_THAN]: (x, y) => `(${x} > ${y} ? 1 : 0)`,
  };

  const pop = (stack: string[], floor: number) => {
    if (stack.length <= floor) throw new Unsupported();
    return stack.pop()!;
  };
  const popN = (stack: string[], n: number) => {
    if (n < 1) throw new Unsupported();
    const xs: string[] = [];
    for (let i = 0; i < n; i++) xs.unshift(pop(stack, 0));
    return xs;
  };

  /** Translates code[from, to) onto `stack`; stores are refused inside branches. */
  const run = (from: number, to: number, stack: string[], inBranch: boolean) => {
    for (let pc = from; pc < to;) {
      const op = code[pc];
      const arg = ctx.hasOperand(op) ? code[pc + 1] : 0;
      const next = pc + (ctx.hasOperand(op) ? 2 : 1);
      if (op === O.LITERAL) stack.push(num(lits[arg]));
      else if (op >= O.FETCH_A && op < O.FETCH_A + 12) stack.push(`a[${op - O.FETCH_A}]`);
      else if (op === O.FETCH_VAL) stack.push("v");
      else if (op === O.CONST_PI) stack.push("PI");
      else if (op === O.CONST_D2R) stack.push("D2R");
      else if (op === O.CONST_R2D) stack.push("R2D");
      else if (op === O.RANDOM) stack.push("rnd()");
      else if (op >= O.STORE_A && op < O.STORE_A + 12) {
        if (inBranch) throw new Unsupported();
        const value = pop(stack, 0);
        // Values the program computed before the store are read before it.
        for (let i = 0; i < stack.length; i++) {
          if (SIMPLE.test(stack[i])) continue;
          const t = `t${temps++}`;
          stmts.push(`const ${t} = ${stack[i]};`);
          stack[i] = t;
        }
        stmts.push(`a[${op - O.STORE_A}] = ${value};`);
      } else if (unary[op]) stack.push(unary[op](pop(stack, 0)));
      else if (binary[op]) {
        const y = pop(stack, 0);
        const x = pop(stack, 0);
        stack.push(binary[op](x, y));
      } else if (op === O.MAX || op === O.MIN) {
        // calcPerform folds from the last argument down
        const xs = popN(stack, arg);
        const f = op === O.MAX ? "mx" : "mn";
        let e = xs[xs.length - 1];
        for (let i = xs.length - 2; i >= 0; i--) e = `${f}(${xs[i]}, ${e})`;
        stack.push(e);
      } else if (op === O.FINITE) {
        const xs = popN(stack, arg);
        stack.push(`(${xs.map((x) => `(Number.isFinite(${x}) ? 1 : 0)`).join(" & ")})`);
      } else if (op === O.ISNAN) {
        stack.push(`(${popN(stack, arg).map((x) => `isnan(${x})`).join(" | ")})`);
      } else if (op === O.COND_IF) {
        const c = pop(stack, 0);
        const elseStart = arg; // just after the matching COND_ELSE and its operand
        if (elseStart < 2 || code[elseStart - 2] !== O.COND_ELSE) throw new Unsupported();
        const endNext = code[elseStart - 1]; // just after the matching COND_END
        if (endNext < 1 || code[endNext - 1] !== O.COND_END) throw new Unsupported();
        const t: string[] = [];
        run(next, elseStart - 2, t, true);
        const f: string[] = [];
        run(elseStart, endNext - 1, f, true);
        if (t.length !== 1 || f.length !== 1) throw new Unsupported();
        stack.push(`(${c} !== 0 ? ${t[0]} : ${f[0]})`);
        pc = endNext;
        continue;
      } else throw new Unsupported();
      pc = next;
    }
  };

  let end = 0;
  while (code[end] !== O.END) end += ctx.hasOperand(code[end]) ? 2 : 1;
  const stack: string[] = [];
  try {
    run(0, end, stack, false);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  if (stack.length !== 1) return undefined;
  const names = Object.keys(ctx.helpers);
  const body = `"use strict";\nreturn function calc(a, v) {\n${stmts.join("\n")}\nreturn ${
    stack[0]
  };\n};`;
  try {
    const factory = new Function(...names, body);
    return factory(...names.map((n) => ctx.helpers[n])) as JitFunction;
  } catch {
    return undefined; // a translation mistake must never break evaluation: interpret
  }
}
