/**
 * The one place the engine reaches the calc language (lib/ioc/calc, branch ioclang).
 * Until that module is merged, expressions cannot be compiled and calc-type records
 * raise a CALC alarm.
 * @module
 */

/** A compiled expression. */
export interface CalcProgramLike {
  /** The expression text. */
  readonly source: string;
}

/** Number of input letters. */
export const CALC_ARGS = 21;

/** Compiles an expression; throws with base's reason when it is not valid. */
export function compile(_expression: string): CalcProgramLike {
  throw new Error("The calc engine (lib/ioc/calc) is not available in this build");
}

/** Evaluates a compiled expression over the argument values (A.. in order). */
export function evaluate(_program: CalcProgramLike, _args: Float64Array): number {
  throw new Error("The calc engine (lib/ioc/calc) is not available in this build");
}
