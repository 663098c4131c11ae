/**
 * The one place the engine reaches the calc language (lib/ioc/calc).
 * @module
 */

import { CALC_NARGS, type CalcProgram, compileCalc, evaluateCalc } from "./calc/mod.ts";

/** A compiled expression. */
export type CalcProgramLike = CalcProgram;

/** Number of input letters (A..L). */
export const CALC_ARGS: number = CALC_NARGS;

/** Compiles an expression; throws CalcSyntaxError with base's reason when it is not valid. */
export function compile(expression: string): CalcProgramLike {
  return compileCalc(expression);
}

/** Evaluates a compiled expression over the argument values (A.. in order) and VAL. */
export function evaluate(program: CalcProgramLike, args: Float64Array, val = 0): number {
  return evaluateCalc(program, args, val);
}
