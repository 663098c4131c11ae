/**
 * The EPICS calc expression language, as EPICS base 7.0.8.1's libCom implements it (postfix()
 * compiles infix text into a postfix program, calcPerform() runs it): the same operators,
 * precedences, functions, error codes and messages, NaN/Inf rules and double-to-integer
 * conversions (those of an x86-64 Linux build, where base's softIoc normally runs).
 *
 * A program is compiled once into an `Int32Array` of opcodes and a `Float64Array` of literals,
 * and evaluated on a shared `Float64Array` stack: no allocation per evaluation.
 *
 * Pure: no I/O.
 * @module
 */

import { EpicsError, EpicsSyntaxError } from "../../core/errors.ts";
import { jitCompile, type JitContext, type JitFunction } from "./_jit.ts";

/** Number of input letters A..L (base's CALCPERFORM_NARGS). */
export const CALC_NARGS = 12;
/** Size of the run-time value stack (base's CALCPERFORM_STACK). */
export const CALC_STACK_SIZE = 80;

/** The calc engine's error codes (base's CALC_ERR_* in postfix.h). */
export const CalcErr = {
  NONE: 0,
  TOOMANY: 1,
  BAD_LITERAL: 2,
  BAD_ASSIGNMENT: 3,
  BAD_SEPERATOR: 4,
  PAREN_NOT_OPEN: 5,
  PAREN_OPEN: 6,
  CONDITIONAL: 7,
  INCOMPLETE: 8,
  UNDERFLOW: 9,
  OVERFLOW: 10,
  SYNTAX: 11,
  NULL_ARG: 12,
  INTERNAL: 13,
} as const;
/** One of the {@link CalcErr} codes. */
export type CalcErr = typeof CalcErr[keyof typeof CalcErr];

// The texts calcErrorStr() gives for each code (facts: they are what users see in logs).
const ERROR_TEXT = [
  "No error",
  "Too many results returned",
  "Badly formed numeric literal",
  "Bad assignment target",
  "Comma without enclosing parentheses",
  "Close parenthesis found without open",
  "Parenthesis still open at end of expression",
  "Unbalanced conditional ?: operators",
  "Incomplete expression, operand missing",
  "Not enough operands provided",
  "Runtime stack overflow",
  "Syntax error, unknown operator/operand",
  "NULL or empty input argument to postfix()",
  "Internal error, unknown element type",
];

/**
 * The message base's calcErrorStr() gives for an error code.
 * @param code a {@link CalcErr} code
 * @returns the text, or undefined for a code base does not know
 * @example
 * ```ts
 * import { calcErrorString, CalcErr } from "./calc.ts";
 * if (calcErrorString(CalcErr.INCOMPLETE) !== "Incomplete expression, operand missing") throw new Error();
 * ```
 */
export function calcErrorString(code: number): string | undefined {
  return ERROR_TEXT[code];
}

/** An expression that base's postfix() would refuse; carries base's error code and text. */
export class CalcSyntaxError extends EpicsSyntaxError {
  /** 0-based index in the expression where the problem was found. */
  readonly position: number;
  /** The {@link CalcErr} code postfix() returns. */
  readonly code: number;
  /** Base's calcErrorStr() text for the code. */
  readonly reason: string;
  /**
   * Creates the error.
   * @param expression the source text
   * @param position 0-based index of the problem
   * @param code the {@link CalcErr} code
   */
  constructor(expression: string, position: number, code: number) {
    const reason = ERROR_TEXT[code] ?? `error ${code}`;
    super(`Cannot compile calc expression "${expression}" at column ${position + 1}: ${reason}`, {
      column: position + 1,
    });
    this.name = "CalcSyntaxError";
    this.position = position;
    this.code = code;
    this.reason = reason;
  }
}

/** Evaluation failed where base's calcPerform() returns an error status (a CALC alarm). */
export class CalcEvalError extends EpicsError {
  /**
   * Creates the error.
   * @param message what went wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "CalcEvalError";
  }
}

// ---------------------------------------------------------------------------------------------
// Opcodes (our own numbering; only the FETCH/STORE ranges must be contiguous)

const Op = {
  END: 0,
  LITERAL: 1, // operand: index into the literal table
  FETCH_VAL: 3,
  FETCH_A: 4, // .. FETCH_L = 15
  STORE_A: 16, // .. STORE_L = 27
  CONST_PI: 28,
  CONST_D2R: 29,
  CONST_R2D: 30,
  UNARY_NEG: 31,
  ADD: 32,
  SUB: 33,
  MULT: 34,
  DIV: 35,
  MODULO: 36,
  POWER: 37,
  ABS_VAL: 38,
  EXP: 39,
  LOG_10: 40,
  LOG_E: 41,
  MAX: 42, // operand: argument count
  MIN: 43, // operand: argument count
  SQU_RT: 44,
  ACOS: 45,
  ASIN: 46,
  ATAN: 47,
  ATAN2: 48,
  COS: 49,
  COSH: 50,
  SIN: 51,
  SINH: 52,
  TAN: 53,
  TANH: 54,
  CEIL: 55,
  FLOOR: 56,
  FMOD: 57,
  FINITE: 58, // operand: argument count
  ISINF: 59,
  ISNAN: 60, // operand: argument count
  NINT: 61,
  RANDOM: 62,
  REL_OR: 63,
  REL_AND: 64,
  REL_NOT: 65,
  BIT_OR: 66,
  BIT_AND: 67,
  BIT_EXCL_OR: 68,
  BIT_NOT: 69,
  RIGHT_SHIFT_ARITH: 70,
  LEFT_SHIFT_ARITH: 71,
  RIGHT_SHIFT_LOGIC: 72,
  NOT_EQ: 73,
  LESS_THAN: 74,
  LESS_OR_EQ: 75,
  EQUAL: 76,
  GR_OR_EQ: 77,
  GR_THAN: 78,
  COND_IF: 79, // operand: jump target (after the matching COND_ELSE), -1 if none
  COND_ELSE: 80, // operand: jump target (after the matching COND_END), -1 if none
  COND_END: 81,
  NOT_GENERATED: 82,
} as const;

/** Base's opcode for an int32 literal (our programs keep every literal as a double). */
const LITERAL_INT = 2;

// The same numbers as plain constants, which the evaluation loop switches on (V8 folds
// them; property reads on the Op object it may not).
const OP_END = 0;
const OP_LITERAL = 1;
const OP_FETCH_VAL = 3;
const OP_FETCH_A = 4;
const OP_STORE_A = 16;
const OP_CONST_PI = 28;
const OP_CONST_D2R = 29;
const OP_CONST_R2D = 30;
const OP_UNARY_NEG = 31;
const OP_ADD = 32;
const OP_SUB = 33;
const OP_MULT = 34;
const OP_DIV = 35;
const OP_MODULO = 36;
const OP_POWER = 37;
const OP_ABS_VAL = 38;
const OP_EXP = 39;
const OP_LOG_10 = 40;
const OP_LOG_E = 41;
const OP_MAX = 42;
const OP_MIN = 43;
const OP_SQU_RT = 44;
const OP_ACOS = 45;
const OP_ASIN = 46;
const OP_ATAN = 47;
const OP_ATAN2 = 48;
const OP_COS = 49;
const OP_COSH = 50;
const OP_SIN = 51;
const OP_SINH = 52;
const OP_TAN = 53;
const OP_TANH = 54;
const OP_CEIL = 55;
const OP_FLOOR = 56;
const OP_FMOD = 57;
const OP_FINITE = 58;
const OP_ISINF = 59;
const OP_ISNAN = 60;
const OP_NINT = 61;
const OP_RANDOM = 62;
const OP_REL_OR = 63;
const OP_REL_AND = 64;
const OP_REL_NOT = 65;
const OP_BIT_OR = 66;
const OP_BIT_AND = 67;
const OP_BIT_EXCL_OR = 68;
const OP_BIT_NOT = 69;
const OP_RIGHT_SHIFT_ARITH = 70;
const OP_LEFT_SHIFT_ARITH = 71;
const OP_RIGHT_SHIFT_LOGIC = 72;
const OP_NOT_EQ = 73;
const OP_LESS_THAN = 74;
const OP_LESS_OR_EQ = 75;
const OP_EQUAL = 76;
const OP_GR_OR_EQ = 77;
const OP_GR_THAN = 78;
const OP_COND_IF = 79;
const OP_COND_ELSE = 80;
const OP_COND_END = 81;

const hasOperand = (op: number) =>
  op === Op.LITERAL || op === Op.MAX || op === Op.MIN || op === Op.FINITE || op === Op.ISNAN ||
  op === Op.COND_IF || op === Op.COND_ELSE;
const isVararg = (op: number) =>
  op === Op.MAX || op === Op.MIN || op === Op.FINITE || op === Op.ISNAN;

// Element kinds of the translator, as postfix.c classifies them.
const K = {
  OPERAND: 0,
  LITERAL: 1,
  STORE: 2,
  UNARY: 3,
  VARARG: 4,
  BINARY: 5,
  SEPARATOR: 6,
  CLOSE_PAREN: 7,
  CONDITIONAL: 8,
  TERMINATOR: 9,
} as const;

interface Element {
  readonly name: string;
  readonly inStack: number;
  readonly inComing: number;
  readonly effect: number;
  readonly kind: number;
  readonly code: number;
}

const el = (
  name: string,
  inStack: number,
  inComing: number,
  effect: number,
  kind: number,
  code: number,
): Element => ({ name, inStack, inComing, effect, kind, code });

// Priorities and stack effects are base's (facts of the language). Names are tried longest
// first, so "ATAN2" wins over "ATAN" and "A", ">>>" over ">>" and ">".
const OPERANDS: Element[] = [
  el("!", 7, 8, 0, K.UNARY, Op.REL_NOT),
  el("(", 0, 8, 0, K.UNARY, Op.NOT_GENERATED),
  el("-", 7, 8, 0, K.UNARY, Op.UNARY_NEG),
  el(".", 0, 0, 1, K.LITERAL, Op.LITERAL),
  ...[..."0123456789"].map((d) => el(d, 0, 0, 1, K.LITERAL, Op.LITERAL)),
  el("0X", 0, 0, 1, K.LITERAL, Op.LITERAL),
  ...[..."ABCDEFGHIJKL"].map((l, i) => el(l, 0, 0, 1, K.OPERAND, Op.FETCH_A + i)),
  el("ABS", 7, 8, 0, K.UNARY, Op.ABS_VAL),
  el("ACOS", 7, 8, 0, K.UNARY, Op.ACOS),
  el("ASIN", 7, 8, 0, K.UNARY, Op.ASIN),
  el("ATAN", 7, 8, 0, K.UNARY, Op.ATAN),
  el("ATAN2", 7, 8, -1, K.UNARY, Op.ATAN2),
  el("CEIL", 7, 8, 0, K.UNARY, Op.CEIL),
  el("COS", 7, 8, 0, K.UNARY, Op.COS),
  el("COSH", 7, 8, 0, K.UNARY, Op.COSH),
  el("D2R", 0, 0, 1, K.OPERAND, Op.CONST_D2R),
  el("EXP", 7, 8, 0, K.UNARY, Op.EXP),
  el("FINITE", 7, 8, 0, K.VARARG, Op.FINITE),
  el("FLOOR", 7, 8, 0, K.UNARY, Op.FLOOR),
  el("FMOD", 7, 8, -1, K.UNARY, Op.FMOD),
  el("INF", 0, 0, 1, K.LITERAL, Op.LITERAL),
  el("ISINF", 7, 8, 0, K.UNARY, Op.ISINF),
  el("ISNAN", 7, 8, 0, K.VARARG, Op.ISNAN),
  el("LN", 7, 8, 0, K.UNARY, Op.LOG_E),
  el("LOG", 7, 8, 0, K.UNARY, Op.LOG_10),
  el("LOGE", 7, 8, 0, K.UNARY, Op.LOG_E),
  el("MAX", 7, 8, 0, K.VARARG, Op.MAX),
  el("MIN", 7, 8, 0, K.VARARG, Op.MIN),
  el("NINT", 7, 8, 0, K.UNARY, Op.NINT),
  el("NAN", 0, 0, 1, K.LITERAL, Op.LITERAL),
  el("NOT", 7, 8, 0, K.UNARY, Op.BIT_NOT),
  el("PI", 0, 0, 1, K.OPERAND, Op.CONST_PI),
  el("R2D", 0, 0, 1, K.OPERAND, Op.CONST_R2D),
  el("RNDM", 0, 0, 1, K.OPERAND, Op.RANDOM),
  el("SIN", 7, 8, 0, K.UNARY, Op.SIN),
  el("SINH", 7, 8, 0, K.UNARY, Op.SINH),
  el("SQR", 7, 8, 0, K.UNARY, Op.SQU_RT),
  el("SQRT", 7, 8, 0, K.UNARY, Op.SQU_RT),
  el("TAN", 7, 8, 0, K.UNARY, Op.TAN),
  el("TANH", 7, 8, 0, K.UNARY, Op.TANH),
  el("VAL", 0, 0, 1, K.OPERAND, Op.FETCH_VAL),
  el("~", 7, 8, 0, K.UNARY, Op.BIT_NOT),
];

const OPERATORS: Element[] = [
  el("!=", 3, 3, -1, K.BINARY, Op.NOT_EQ),
  el("#", 3, 3, -1, K.BINARY, Op.NOT_EQ),
  el("%", 5, 5, -1, K.BINARY, Op.MODULO),
  el("&", 2, 2, -1, K.BINARY, Op.BIT_AND),
  el("&&", 2, 2, -1, K.BINARY, Op.REL_AND),
  el(")", 0, 0, 0, K.CLOSE_PAREN, Op.NOT_GENERATED),
  el("*", 5, 5, -1, K.BINARY, Op.MULT),
  el("**", 6, 6, -1, K.BINARY, Op.POWER),
  el("+", 4, 4, -1, K.BINARY, Op.ADD),
  el(",", 0, 0, 0, K.SEPARATOR, Op.NOT_GENERATED),
  el("-", 4, 4, -1, K.BINARY, Op.SUB),
  el("/", 5, 5, -1, K.BINARY, Op.DIV),
  el(":", 0, 0, -1, K.CONDITIONAL, Op.COND_ELSE),
  el(":=", 0, 0, -1, K.STORE, Op.STORE_A),
  el(";", 0, 0, 0, K.TERMINATOR, Op.NOT_GENERATED),
  el("<", 3, 3, -1, K.BINARY, Op.LESS_THAN),
  el("<<", 2, 2, -1, K.BINARY, Op.LEFT_SHIFT_ARITH),
  el("<=", 3, 3, -1, K.BINARY, Op.LESS_OR_EQ),
  el("=", 3, 3, -1, K.BINARY, Op.EQUAL),
  el("==", 3, 3, -1, K.BINARY, Op.EQUAL),
  el(">", 3, 3, -1, K.BINARY, Op.GR_THAN),
  el(">=", 3, 3, -1, K.BINARY, Op.GR_OR_EQ),
  el(">>", 2, 2, -1, K.BINARY, Op.RIGHT_SHIFT_ARITH),
  el(">>>", 2, 2, -1, K.BINARY, Op.RIGHT_SHIFT_LOGIC),
  el("?", 0, 0, -1, K.CONDITIONAL, Op.COND_IF),
  el("AND", 2, 2, -1, K.BINARY, Op.BIT_AND),
  el("OR", 1, 1, -1, K.BINARY, Op.BIT_OR),
  el("XOR", 1, 1, -1, K.BINARY, Op.BIT_EXCL_OR),
  el("^", 6, 6, -1, K.BINARY, Op.POWER),
  el("|", 1, 1, -1, K.BINARY, Op.BIT_OR),
  el("||", 1, 1, -1, K.BINARY, Op.REL_OR),
];

// Longest names first: the first table entry that is a (case-insensitive) prefix wins.
// Entries are grouped by their first character, so a lookup tries only a few names.
const byLength = (a: Element, b: Element) => b.name.length - a.name.length;
const index = (table: Element[]) => {
  const m = new Map<number, Element[]>();
  for (const e of [...table].sort(byLength)) {
    const c = e.name.charCodeAt(0);
    const list = m.get(c) ?? [];
    list.push(e);
    m.set(c, list);
  }
  return m;
};
const OPERANDS_SORTED = index(OPERANDS);
const OPERATORS_SORTED = index(OPERATORS);

// C's isspace() in the "C" locale.
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const upper = (c: number) => c >= 97 && c <= 122 ? c - 32 : c;

function matchElement(
  src: string,
  pos: number,
  table: Map<number, Element[]>,
): Element | undefined {
  const list = table.get(upper(src.charCodeAt(pos)));
  if (!list) return undefined;
  next: for (const e of list) {
    const n = e.name.length;
    if (pos + n > src.length) continue;
    for (let i = 1; i < n; i++) {
      if (upper(src.charCodeAt(pos + i)) !== e.name.charCodeAt(i)) continue next;
    }
    return e;
  }
  return undefined;
}

const DECIMAL = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const SPECIAL = /inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?/iy;
const HEX = /0[xX]([0-9a-fA-F]+)/y;
const DBL_MIN = 2.2250738585072014e-308;

/**
 * Reads a numeric literal at `pos` as base does (strtod for decimals, Inf and NaN; strtoul
 * for `0x` integers, which must fit in 32 bits and are then taken as signed). Returns the
 * value and the end index, or undefined where base reports a badly formed literal.
 */
function readLiteral(src: string, pos: number, hex: boolean): [number, number] | undefined {
  if (hex) {
    HEX.lastIndex = pos;
    const m = HEX.exec(src);
    if (!m) return [0, pos + 1]; // strtoul takes the "0" alone when no hex digit follows "0x"
    const digits = m[1].replace(/^0+/, "");
    if (digits.length > 8) return undefined; // beyond 32 bits: base's overflow error
    return [parseInt(digits || "0", 16) | 0, pos + m[0].length];
  }
  SPECIAL.lastIndex = pos;
  const s = SPECIAL.exec(src);
  if (s) return [s[0][0].toUpperCase() === "I" ? Infinity : NaN, pos + s[0].length];
  DECIMAL.lastIndex = pos;
  const m = DECIMAL.exec(src);
  if (!m) return undefined;
  const v = Number(m[0]);
  // strtod's ERANGE (overflow, or underflow to zero or a subnormal) is base's error too.
  if (v === Infinity) return undefined;
  if (v < DBL_MIN && /[1-9]/.test(m[0].replace(/[eE].*$/, ""))) return undefined;
  return [v, pos + m[0].length];
}

/** A compiled calc expression: compile once with {@link compileCalc}, evaluate many times. */
export interface CalcProgram {
  /** The infix text it was compiled from. */
  readonly source: string;
  /** Bit i set: letter i (A = 0) is read before the expression assigns it (calcArgUsage). */
  readonly argsRead: number;
  /** Bit i set: letter i is assigned with `:=`. */
  readonly argsWritten: number;
  /**
   * Runs the program; see {@link evaluateCalc}.
   * @param args the letters A..L, updated in place by `:=`
   * @param val what `VAL` reads
   * @returns the result
   */
  evaluate(args: Float64Array, val?: number): number;
  /**
   * Generates the program's JavaScript evaluator now instead of after a few hundred
   * evaluations (the results are the same; it is only faster).
   * @returns false when the program is always interpreted
   */
  jit(): boolean;
  /**
   * The postfix program in the form of base's calcExprDump(), one instruction a line.
   * @returns the listing
   */
  dump(): string;
  /**
   * The program as postfix() writes it into a record's RPCL buffer (what dbpr shows of it):
   * one byte per opcode, a literal as LITERAL_INT (2) and a little-endian int32 when it is
   * an int32 value, else LITERAL_DOUBLE (1) and a little-endian double, a MAX/MIN/FINITE/
   * ISNAN its argument count in a byte, and a final END_EXPRESSION (0).
   * @returns the bytes, the final 0 included
   */
  postfixBytes(): Uint8Array;
}

interface StackEntry {
  el: Element;
  code: number;
  effect: number;
}

/**
 * Compiles an infix calc expression as base's postfix() does, with the same errors.
 * @param expression the expression, e.g. `A<360 ? A+1 : 0`
 * @returns the compiled program
 * @throws CalcSyntaxError where postfix() fails, with its error code and text
 * @example
 * ```ts
 * import { compileCalc, evaluateCalc } from "./calc.ts";
 * const p = compileCalc("a:=a+1; a*2");
 * const args = new Float64Array(12);
 * if (evaluateCalc(p, args) !== 2 || args[0] !== 1 || p.argsRead !== 1 || p.argsWritten !== 1) {
 *   throw new Error();
 * }
 * ```
 */
export function compileCalc(expression: string): CalcProgram {
  const src = expression;
  const fail = (pos: number, code: number): never => {
    throw new CalcSyntaxError(src, pos, code);
  };
  if (src.length === 0) fail(0, CalcErr.NULL_ARG);

  const out: number[] = [];
  const lits: number[] = [];
  // Index in `out` of the last instruction emitted (-1: none), for the `:=` check.
  let lastInstr = -1;
  const emit = (op: number, operand = 0) => {
    lastInstr = out.length;
    out.push(op);
    if (hasOperand(op)) out.push(operand);
  };
  const stack: StackEntry[] = [];
  const popToOutput = () => {
    const top = stack.pop()!;
    emit(top.code, isVararg(top.code) ? 1 - top.effect : 0);
    depth += top.effect;
  };
  let operandNeeded = true;
  let depth = 0;
  let condCount = 0;
  let pos = 0;

  while (true) {
    while (pos < src.length && isSpace(src.charCodeAt(pos))) pos++;
    if (pos >= src.length) break;
    const start = pos;
    const e = matchElement(src, pos, operandNeeded ? OPERANDS_SORTED : OPERATORS_SORTED);
    if (!e) break;
    pos += e.name.length;

    switch (e.kind) {
      case K.OPERAND:
        emit(e.code);
        depth += e.effect;
        operandNeeded = false;
        break;

      case K.LITERAL: {
        depth += e.effect;
        const lit = readLiteral(src, start, e.name === "0X");
        if (!lit) fail(start, CalcErr.BAD_LITERAL);
        const [value, end] = lit!;
        pos = end;
        emit(Op.LITERAL, lits.length);
        lits.push(value);
        operandNeeded = false;
        break;
      }

      case K.STORE: {
        // Base checks the last byte of its postfix buffer, which for some numeric literals
        // (e.g. 0xFFFFFFF) happens to look like a FETCH and yields a corrupt program; we
        // refuse every non-letter target.
        const prev = lastInstr >= 0 ? out[lastInstr] : -1;
        if (stack.length > 0 || prev < Op.FETCH_A || prev > Op.FETCH_A + 11) {
          fail(start, CalcErr.BAD_ASSIGNMENT);
        }
        // The fetch just emitted becomes a store, done when the value is complete.
        out.length = lastInstr;
        lastInstr = -1;
        stack.push({ el: e, code: Op.STORE_A + prev - Op.FETCH_A, effect: e.effect });
        depth -= 1;
        operandNeeded = true;
        break;
      }

      case K.UNARY:
      case K.VARARG:
      case K.BINARY:
        while (stack.length > 0 && stack[stack.length - 1].el.inStack >= e.inComing) {
          popToOutput();
        }
        stack.push({ el: e, code: e.code, effect: e.effect });
        if (e.kind === K.BINARY) operandNeeded = true;
        break;

      case K.SEPARATOR:
        if (stack.length === 0) fail(start, CalcErr.BAD_SEPERATOR);
        while (stack[stack.length - 1].el.name !== "(") {
          if (stack.length <= 1) fail(start, CalcErr.BAD_SEPERATOR);
          popToOutput();
        }
        operandNeeded = true;
        stack[stack.length - 1].effect -= 1;
        break;

      case K.CLOSE_PAREN: {
        if (stack.length === 0) fail(start, CalcErr.PAREN_NOT_OPEN);
        while (stack[stack.length - 1].el.name !== "(") {
          if (stack.length <= 1) fail(start, CalcErr.PAREN_NOT_OPEN);
          popToOutput();
        }
        const paren = stack.pop()!;
        // A var-arg function before the parenthesis takes its count from the commas.
        const fn = stack[stack.length - 1];
        if (fn && fn.el.kind === K.VARARG) {
          fn.effect = paren.effect;
          if (fn.effect > 0) fail(start, CalcErr.INCOMPLETE);
        }
        break;
      }

      case K.CONDITIONAL:
        while (stack.length > 0 && stack[stack.length - 1].el.inStack > e.inComing) {
          popToOutput();
        }
        emit(e.code, -1);
        depth += e.effect;
        if (e.name === ":") {
          if (--condCount < 0) fail(start, CalcErr.CONDITIONAL);
          stack.push({ el: e, code: Op.COND_END, effect: 0 });
        } else {
          condCount++;
        }
        operandNeeded = true;
        break;

      case K.TERMINATOR:
        while (stack.length > 0) {
          if (stack[stack.length - 1].el.name === "(") fail(start, CalcErr.PAREN_OPEN);
          popToOutput();
        }
        if (condCount !== 0) fail(start, CalcErr.CONDITIONAL);
        if (depth > 1) fail(start, CalcErr.TOOMANY);
        operandNeeded = true;
        break;
    }

    if (depth < 0) fail(start, CalcErr.UNDERFLOW);
    if (depth >= CALC_STACK_SIZE) fail(start, CalcErr.OVERFLOW);
  }

  if (pos < src.length) fail(pos, CalcErr.SYNTAX);
  const end = src.length;
  while (stack.length > 0) {
    if (stack[stack.length - 1].el.name === "(") fail(end, CalcErr.PAREN_OPEN);
    popToOutput();
  }
  if (condCount !== 0) fail(end, CalcErr.CONDITIONAL);
  if (operandNeeded || depth !== 1) fail(end, CalcErr.INCOMPLETE);
  out.push(Op.END);

  const code = Int32Array.from(out);
  resolveJumps(code);
  let argsRead = 0;
  let argsWritten = 0;
  for (let pc = 0; code[pc] !== Op.END; pc += hasOperand(code[pc]) ? 2 : 1) {
    const op = code[pc];
    if (op >= Op.FETCH_A && op < Op.FETCH_A + CALC_NARGS) {
      argsRead |= (1 << (op - Op.FETCH_A)) & ~argsWritten;
    } else if (op >= Op.STORE_A && op < Op.STORE_A + CALC_NARGS) {
      argsWritten |= 1 << (op - Op.STORE_A);
    }
  }
  return new Program(src, argsRead, argsWritten, code, Float64Array.from(lits));
}

/**
 * Gives each COND_IF / COND_ELSE the index to continue at when its branch is skipped: after
 * the matching COND_ELSE / COND_END, found the way calcPerform's cond_search scans (counting
 * nested COND_IFs).
 */
function resolveJumps(code: Int32Array): void {
  for (let pc = 0; code[pc] !== Op.END; pc += hasOperand(code[pc]) ? 2 : 1) {
    const op = code[pc];
    if (op !== Op.COND_IF && op !== Op.COND_ELSE) continue;
    const match = op === Op.COND_IF ? Op.COND_ELSE : Op.COND_END;
    let count = 1;
    let target = -1;
    for (let q = pc + 2; code[q] !== Op.END;) {
      const o = code[q];
      q += hasOperand(o) ? 2 : 1;
      if (o === match && --count === 0) {
        target = q;
        break;
      }
      if (o === Op.COND_IF) count++;
    }
    code[pc + 1] = target;
  }
}

// The one evaluation stack; evaluation is synchronous, so programs share it. Index 0 unused.
const STACK = new Float64Array(CALC_STACK_SIZE + 2);

// RNDM: base's 16-bit linear congruential generator, one state per process as in libCom.
const RANDOM_SEED = 0xa3bf;
let randomSeed = RANDOM_SEED;

/**
 * Restarts the `RNDM` sequence where base starts it at process start (for reproducible tests).
 * @example
 * ```ts
 * import { compileCalc, evaluateCalc, resetCalcRandom } from "./calc.ts";
 * const p = compileCalc("RNDM");
 * resetCalcRandom();
 * const first = evaluateCalc(p, new Float64Array(12));
 * resetCalcRandom();
 * if (evaluateCalc(p, new Float64Array(12)) !== first) throw new Error();
 * ```
 */
export function resetCalcRandom(): void {
  randomSeed = RANDOM_SEED;
}

const INT_MIN = -2147483648;
const TWO_63 = 9223372036854775808;

/** C's (epicsInt32) cast of a double on x86-64: NaN and out-of-range give INT_MIN. */
function toInt32(x: number): number {
  return x > -2147483649 && x < 2147483648 ? x | 0 : INT_MIN;
}

/**
 * calcPerform's d2i(): negative values are cast to signed, others to unsigned 32 bits (which
 * on x86-64 goes through a 64-bit conversion: modulo 2^32 below 2^63, else 0).
 */
function d2i(x: number): number {
  if (x < 0) return x > -2147483649 ? x | 0 : INT_MIN;
  return x < TWO_63 ? x | 0 : 0;
}

/** C's pow(), which differs from JavaScript's where a NaN or infinity meets 1 or -1. */
function cPow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

const PI = 3.14159265358979323;
const D2R = PI / 180;
const R2D = 180 / PI;

const NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(Op)) NAMES[v] = k;

function nextRandom(): number {
  randomSeed = (randomSeed * 1533 + 0x3141) & 0xffff;
  return randomSeed / 65535;
}

// What generated evaluators call: the same semantics as the interpreter's cases below.
const JIT: JitContext = {
  op: Op,
  hasOperand,
  helpers: {
    PI,
    D2R,
    R2D,
    d2i,
    pow: cPow,
    rnd: nextRandom,
    isnan: (x: number) => x !== x ? 1 : 0,
    isinf: (x: number) => x === Infinity ? 1 : x === -Infinity ? -1 : 0,
    nint: (x: number) => toInt32(x >= 0 ? x + 0.5 : x - 0.5),
    mod: (x: number, y: number) => {
      const d = toInt32(y);
      return d === 0 ? NaN : d === -1 ? 0 : (toInt32(x) % d) | 0;
    },
    or: (x: number, y: number) => x !== 0 || y !== 0 ? 1 : 0,
    and: (x: number, y: number) => x !== 0 && y !== 0 ? 1 : 0,
    mx: (x: number, r: number) => x < r || r !== r ? r : x,
    mn: (x: number, r: number) => x > r || r !== r ? r : x,
    at2: (x: number, y: number) => Math.atan2(y, x),
  },
};

/** Evaluations interpreted before a program gets a generated function (compiling costs). */
const JIT_AFTER = 200;

class Program implements CalcProgram {
  readonly source: string;
  readonly argsRead: number;
  readonly argsWritten: number;
  readonly #code: Int32Array;
  readonly #lits: Float64Array;
  #runs = 0;
  #fast: JitFunction | undefined;

  constructor(
    source: string,
    argsRead: number,
    argsWritten: number,
    code: Int32Array,
    lits: Float64Array,
  ) {
    this.source = source;
    this.argsRead = argsRead;
    this.argsWritten = argsWritten;
    this.#code = code;
    this.#lits = lits;
  }

  dump(): string {
    const lines: string[] = [];
    const code = this.#code;
    for (let pc = 0; code[pc] !== Op.END; pc += hasOperand(code[pc]) ? 2 : 1) {
      const op = code[pc];
      if (op === Op.LITERAL) lines.push(`\tLiteral ${this.#lits[code[pc + 1]]}`);
      else if (isVararg(op)) lines.push(`\t${NAMES[op]}, ${code[pc + 1]} arg(s)`);
      else lines.push(`\t${NAMES[op]}`);
    }
    return lines.join("\n");
  }

  postfixBytes(): Uint8Array {
    const out: number[] = [];
    const code = this.#code;
    const scratch = new DataView(new ArrayBuffer(8));
    const put = (n: number) => {
      for (let i = 0; i < n; i++) out.push(scratch.getUint8(i));
    };
    for (let pc = 0; code[pc] !== Op.END; pc += hasOperand(code[pc]) ? 2 : 1) {
      const op = code[pc];
      if (op === Op.LITERAL) {
        const v = this.#lits[code[pc + 1]];
        // postfix() keeps a literal that an int32 holds exactly as an integer.
        if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
          out.push(LITERAL_INT);
          scratch.setInt32(0, v, true);
          put(4);
        } else {
          out.push(Op.LITERAL);
          scratch.setFloat64(0, v, true);
          put(8);
        }
      } else {
        // Our conditionals carry jump targets; base's opcodes stand alone.
        out.push(op);
        if (isVararg(op)) out.push(code[pc + 1] & 0xff);
      }
    }
    out.push(Op.END);
    return Uint8Array.from(out);
  }

  evaluate(args: Float64Array, val = 0): number {
    const fast = this.#fast;
    if (fast !== undefined) return fast(args, val);
    if (++this.#runs === JIT_AFTER) this.#fast = jitCompile(this.#code, this.#lits, JIT);
    return this.interpret(args, val);
  }

  /** Compiles the generated function now (tests and benchmarks); false if there is none. */
  jit(): boolean {
    this.#fast ??= jitCompile(this.#code, this.#lits, JIT);
    return this.#fast !== undefined;
  }

  /** Runs the program on the interpreter, as calcPerform does. */
  interpret(args: Float64Array, val = 0): number {
    const code = this.#code;
    const lits = this.#lits;
    const s = STACK;
    let sp = 0;
    let pc = 0;
    let top: number;
    let n: number;
    for (;;) {
      const op = code[pc++];
      switch (op) {
        case OP_END:
          if (sp !== 1) throw new CalcEvalError(`Cannot evaluate "${this.source}": stack error`);
          return s[1];
        case OP_LITERAL:
          s[++sp] = lits[code[pc++]];
          break;
        case OP_FETCH_VAL:
          s[++sp] = val;
          break;
        case OP_CONST_PI:
          s[++sp] = PI;
          break;
        case OP_CONST_D2R:
          s[++sp] = D2R;
          break;
        case OP_CONST_R2D:
          s[++sp] = R2D;
          break;
        case OP_UNARY_NEG:
          s[sp] = -s[sp];
          break;
        case OP_ADD:
          top = s[sp--];
          s[sp] += top;
          break;
        case OP_SUB:
          top = s[sp--];
          s[sp] -= top;
          break;
        case OP_MULT:
          top = s[sp--];
          s[sp] *= top;
          break;
        case OP_DIV:
          top = s[sp--];
          s[sp] /= top;
          break;
        case OP_MODULO: {
          const d = toInt32(s[sp--]);
          // INT_MIN % -1 traps in C (the IOC dies); the mathematical answer is 0.
          s[sp] = d === 0 ? NaN : d === -1 ? 0 : (toInt32(s[sp]) % d) | 0;
          break;
        }
        case OP_POWER:
          top = s[sp--];
          s[sp] = cPow(s[sp], top);
          break;
        case OP_ABS_VAL:
          s[sp] = Math.abs(s[sp]);
          break;
        case OP_EXP:
          s[sp] = Math.exp(s[sp]);
          break;
        case OP_LOG_10:
          s[sp] = Math.log10(s[sp]);
          break;
        case OP_LOG_E:
          s[sp] = Math.log(s[sp]);
          break;
        case OP_MAX:
          n = code[pc++];
          while (--n > 0) {
            top = s[sp--];
            if (s[sp] < top || top !== top) s[sp] = top;
          }
          break;
        case OP_MIN:
          n = code[pc++];
          while (--n > 0) {
            top = s[sp--];
            if (s[sp] > top || top !== top) s[sp] = top;
          }
          break;
        case OP_SQU_RT:
          s[sp] = Math.sqrt(s[sp]);
          break;
        case OP_ACOS:
          s[sp] = Math.acos(s[sp]);
          break;
        case OP_ASIN:
          s[sp] = Math.asin(s[sp]);
          break;
        case OP_ATAN:
          s[sp] = Math.atan(s[sp]);
          break;
        case OP_ATAN2:
          // Base passes the arguments the other way round from C: ATAN2(a, b) = atan2(b, a).
          top = s[sp--];
          s[sp] = Math.atan2(top, s[sp]);
          break;
        case OP_COS:
          s[sp] = Math.cos(s[sp]);
          break;
        case OP_COSH:
          s[sp] = Math.cosh(s[sp]);
          break;
        case OP_SIN:
          s[sp] = Math.sin(s[sp]);
          break;
        case OP_SINH:
          s[sp] = Math.sinh(s[sp]);
          break;
        case OP_TAN:
          s[sp] = Math.tan(s[sp]);
          break;
        case OP_TANH:
          s[sp] = Math.tanh(s[sp]);
          break;
        case OP_CEIL:
          s[sp] = Math.ceil(s[sp]);
          break;
        case OP_FLOOR:
          s[sp] = Math.floor(s[sp]);
          break;
        case OP_FMOD:
          top = s[sp--];
          s[sp] = s[sp] % top; // JavaScript's % on doubles is C's fmod()
          break;
        case OP_FINITE: {
          n = code[pc++];
          let all = Number.isFinite(s[sp]);
          while (--n > 0) all = Number.isFinite(s[--sp]) && all;
          s[sp] = all ? 1 : 0;
          break;
        }
        case OP_ISINF:
          // glibc's isinf() gives -1 for -Inf (as base's softIoc on Linux shows).
          top = s[sp];
          s[sp] = top === Infinity ? 1 : top === -Infinity ? -1 : 0;
          break;
        case OP_ISNAN: {
          n = code[pc++];
          let any = s[sp] !== s[sp];
          while (--n > 0) {
            top = s[--sp];
            any = any || top !== top;
          }
          s[sp] = any ? 1 : 0;
          break;
        }
        case OP_NINT:
          top = s[sp];
          s[sp] = toInt32(top >= 0 ? top + 0.5 : top - 0.5);
          break;
        case OP_RANDOM:
          s[++sp] = nextRandom();
          break;
        // In C a NaN is true (it is not equal to zero).
        case OP_REL_OR:
          top = s[sp--];
          s[sp] = s[sp] !== 0 || top !== 0 ? 1 : 0;
          break;
        case OP_REL_AND:
          top = s[sp--];
          s[sp] = s[sp] !== 0 && top !== 0 ? 1 : 0;
          break;
        case OP_REL_NOT:
          s[sp] = s[sp] === 0 ? 1 : 0;
          break;
        case OP_BIT_OR:
          top = s[sp--];
          s[sp] = d2i(s[sp]) | d2i(top);
          break;
        case OP_BIT_AND:
          top = s[sp--];
          s[sp] = d2i(s[sp]) & d2i(top);
          break;
        case OP_BIT_EXCL_OR:
          top = s[sp--];
          s[sp] = d2i(s[sp]) ^ d2i(top);
          break;
        case OP_BIT_NOT:
          s[sp] = ~d2i(s[sp]);
          break;
        case OP_RIGHT_SHIFT_ARITH:
          top = s[sp--];
          s[sp] = d2i(s[sp]) >> (d2i(top) & 31);
          break;
        case OP_LEFT_SHIFT_ARITH:
          top = s[sp--];
          s[sp] = d2i(s[sp]) << (d2i(top) & 31);
          break;
        case OP_RIGHT_SHIFT_LOGIC:
          top = s[sp--];
          s[sp] = (d2i(s[sp]) >>> 0) >>> (d2i(top) & 31);
          break;
        case OP_NOT_EQ:
          top = s[sp--];
          s[sp] = s[sp] !== top ? 1 : 0;
          break;
        case OP_LESS_THAN:
          top = s[sp--];
          s[sp] = s[sp] < top ? 1 : 0;
          break;
        case OP_LESS_OR_EQ:
          top = s[sp--];
          s[sp] = s[sp] <= top ? 1 : 0;
          break;
        case OP_EQUAL:
          top = s[sp--];
          s[sp] = s[sp] === top ? 1 : 0;
          break;
        case OP_GR_OR_EQ:
          top = s[sp--];
          s[sp] = s[sp] >= top ? 1 : 0;
          break;
        case OP_GR_THAN:
          top = s[sp--];
          s[sp] = s[sp] > top ? 1 : 0;
          break;
        case OP_COND_IF:
          if (s[sp--] === 0) {
            pc = code[pc];
            if (pc < 0) throw new CalcEvalError(`Cannot evaluate "${this.source}": no ":"`);
          } else pc++;
          break;
        case OP_COND_ELSE:
          pc = code[pc];
          if (pc < 0) throw new CalcEvalError(`Cannot evaluate "${this.source}": no end of "?:"`);
          break;
        case OP_COND_END:
          break;
        // FETCH_A..FETCH_L
        case 4:
        case 5:
        case 6:
        case 7:
        case 8:
        case 9:
        case 10:
        case 11:
        case 12:
        case 13:
        case 14:
        case 15:
          s[++sp] = args[op - OP_FETCH_A];
          break;
        // STORE_A..STORE_L
        case 16:
        case 17:
        case 18:
        case 19:
        case 20:
        case 21:
        case 22:
        case 23:
        case 24:
        case 25:
        case 26:
        case 27:
          args[op - OP_STORE_A] = s[sp--];
          break;
        default:
          throw new CalcEvalError(`Cannot evaluate "${this.source}": bad opcode ${op}`);
      }
    }
  }
}

/**
 * Evaluates a compiled expression as base's calcPerform() does.
 * @param program from {@link compileCalc}
 * @param args the values of A..L (at least {@link CALC_NARGS} long); `:=` writes into it
 * @param val what `VAL` reads (the record's current VAL), 0 when not given
 * @returns the result, which may be NaN or infinite
 * @throws CalcEvalError where calcPerform() returns an error status
 * @example
 * ```ts
 * import { compileCalc, evaluateCalc } from "./calc.ts";
 * const args = new Float64Array(12);
 * args[0] = 5;
 * if (evaluateCalc(compileCalc("A<360 ? A+VAL : 0"), args, 10) !== 15) throw new Error();
 * ```
 */
export function evaluateCalc(program: CalcProgram, args: Float64Array, val = 0): number {
  return program.evaluate(args, val);
}
