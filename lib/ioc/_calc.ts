/**
 * The one place the engine reaches the calc language (lib/ioc/calc, written on branch
 * ioclang). While that module is not part of the tree, expressions cannot be compiled
 * and calc-type records raise a CALC alarm naming the reason.
 * @module
 */

/** A compiled expression. */
export interface CalcProgramLike {
  /** The expression text. */
  readonly source: string;
}

interface CalcModule {
  CALC_NARGS: number;
  compileCalc(expression: string): CalcProgramLike;
  evaluateCalc(program: CalcProgramLike, args: Float64Array): number;
}

// Loaded by computed specifier so this tree type-checks before lib/ioc/calc is merged.
const calcUrl = new URL("./calc/mod.ts", import.meta.url).href;
const calc: CalcModule | undefined = await import(calcUrl).catch(() => undefined);

/** Number of input letters. */
export const CALC_ARGS: number = calc?.CALC_NARGS ?? 21;

/** Compiles an expression; throws with base's reason when it is not valid. */
export function compile(expression: string): CalcProgramLike {
  if (!calc) throw new Error("The calc engine (lib/ioc/calc) is not available in this build");
  return calc.compileCalc(expression);
}

/** Evaluates a compiled expression over the argument values (A.. in order). */
export function evaluate(program: CalcProgramLike, args: Float64Array): number {
  if (!calc) throw new Error("The calc engine (lib/ioc/calc) is not available in this build");
  return calc.evaluateCalc(program, args);
}
