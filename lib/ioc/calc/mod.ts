/**
 * The EPICS calc expression language of EPICS base 7.0.8.1 (calc, calcout, sel records, ACF
 * CALC conditions): compile an expression once, evaluate it many times.
 *
 * @example
 * ```ts
 * import { compileCalc, evaluateCalc } from "./mod.ts";
 * const p = compileCalc("A<360 ? A+1 : 0");
 * const args = new Float64Array(12);
 * args[0] = 359;
 * if (evaluateCalc(p, args) !== 360) throw new Error();
 * ```
 * @module
 */
export {
  CALC_NARGS,
  CALC_STACK_SIZE,
  CalcErr,
  calcErrorString,
  CalcEvalError,
  type CalcProgram,
  CalcSyntaxError,
  compileCalc,
  evaluateCalc,
  resetCalcRandom,
} from "./calc.ts";
