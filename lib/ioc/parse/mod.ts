/**
 * Parsers of the softioc's languages: database files (.db), substitution files, iocsh
 * (st.cmd) lines and access security (ACF) files, with EPICS base 7.0.8.1's grammar. Pure:
 * text in, typed results and errors with file, line and column out.
 *
 * @example
 * ```ts
 * import { parseDatabase } from "./mod.ts";
 * const { records, errors } = parseDatabase('record(ao, "x") { field(VAL, 1) }', { file: "x.db" });
 * if (errors.length !== 0 || records[0].fields[0].value !== "1") throw new Error();
 * ```
 * @module
 */
export { IocParseError, type IocSourcePosition } from "./errors.ts";
export {
  type DbAliasDef,
  type DbDefinition,
  type DbField,
  type DbInfo,
  type DbParseOptions,
  type DbParseResult,
  type DbRecordDef,
  parseDatabase,
  translateEscapes,
} from "./db.ts";
export {
  parseShellLine,
  type ShellCommand,
  type ShellLineOptions,
  type ShellRedirect,
} from "./shell.ts";
export {
  parseSubstitutions,
  type SubstitutionOptions,
  type SubstitutionResult,
  type SubstitutionSet,
} from "./substitutions.ts";
export {
  accessFor,
  type Acf,
  type AcfAccess,
  type AcfDecision,
  type AcfGroup,
  type AcfRule,
  evaluateAccess,
  parseAcf,
} from "./acf.ts";
