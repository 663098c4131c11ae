/**
 * The error every IOC-language parser returns: the file, line and column of the problem.
 * @module
 */

import { EpicsSyntaxError } from "../../core/errors.ts";

/** Where a problem is: 1-based line and column in a named file. */
export interface IocSourcePosition {
  /** The file name as the loader gave it (or the included path). */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/**
 * A problem in a .db, substitution, st.cmd or ACF file. The message reads
 * `Cannot parse "f.db" at 12:7: <reason>`.
 * @example
 * ```ts
 * import { IocParseError } from "./errors.ts";
 * const e = new IocParseError('expected "{"', { file: "f.db", line: 12, column: 7 });
 * if (e.message !== 'Cannot parse "f.db" at 12:7: expected "{"' || e.line !== 12) throw new Error();
 * ```
 */
export class IocParseError extends EpicsSyntaxError {
  declare readonly file: string;
  declare readonly line: number;
  declare readonly column: number;
  /** What is wrong, without the position. */
  readonly reason: string;
  /**
   * Creates the error.
   * @param reason what is wrong
   * @param where file, line and column
   */
  constructor(reason: string, where: IocSourcePosition) {
    super(`Cannot parse "${where.file}" at ${where.line}:${where.column}: ${reason}`, where);
    this.name = "IocParseError";
    this.reason = reason;
  }
}
