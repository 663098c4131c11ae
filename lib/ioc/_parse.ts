/**
 * The one place the shell reaches the .db / substitution / st.cmd / ACF parsers
 * (lib/ioc/parse, written on branch ioclang). While that module is not part of the tree,
 * loading files fails with a clear message.
 * @module
 */

import type { AliasDef, RecordDef } from "./database.ts";

/** A parse error with its position (lib/ioc/parse's IocParseError). */
export interface ParseErrorLike extends Error {
  /** File. */
  readonly file?: string;
  /** Line. */
  readonly line?: number;
}

/** What parseDatabase returns. */
export interface DbParseResultLike {
  /** The records. */
  records: RecordDef[];
  /** File-level aliases. */
  aliases: AliasDef[];
  /** Problems, each with its position. */
  errors: ParseErrorLike[];
}

/** One substitution set (dbLoadTemplate). */
export interface SubstitutionSetLike {
  /** The template file. */
  template: string;
  /** Its macros. */
  macros: Map<string, string>;
  /** File of the set. */
  file: string;
  /** Line of the set. */
  line: number;
}

/** One shell command. */
export interface ShellCommandLike {
  /** Command name ("<" for an include). */
  name: string;
  /** Arguments. */
  args: string[];
  /** File. */
  file: string;
  /** Line. */
  line: number;
}

/** An access security configuration. */
export type AcfLike = unknown;

interface ParseModule {
  parseDatabase(
    text: string,
    options: {
      file: string;
      macros?: ReadonlyMap<string, string>;
      includePath?: readonly string[];
      readFile?: (path: string) => string | undefined;
    },
  ): DbParseResultLike;
  parseSubstitutions(
    text: string,
    options: { file: string; macros?: ReadonlyMap<string, string> },
  ): { sets: SubstitutionSetLike[]; errors: ParseErrorLike[] };
  parseShellLine(
    line: string,
    options: { file: string; line: number; env: (name: string) => string | undefined },
  ): ShellCommandLike | null;
  parseAcf(text: string, options: { file: string }): { acf: AcfLike; errors: ParseErrorLike[] };
  accessFor(
    acf: AcfLike,
    asg: string,
    asl: number,
    user: string,
    host: string,
    inputs?: ReadonlyArray<number>,
  ): "NONE" | "READ" | "WRITE";
}

// Loaded by computed specifier so this tree type-checks before lib/ioc/parse is merged.
const parseUrl = new URL("./parse/mod.ts", import.meta.url).href;
const parse: ParseModule | undefined = await import(parseUrl).catch(() => undefined);

function need(): ParseModule {
  if (!parse) throw new Error("The IOC parsers (lib/ioc/parse) are not available in this build");
  return parse;
}

/** Whether the parsers are present. */
export const PARSERS_AVAILABLE: boolean = parse !== undefined;

/** Parses a .db file. */
export const parseDatabase: ParseModule["parseDatabase"] = (t, o) => need().parseDatabase(t, o);
/** Parses a substitution file. */
export const parseSubstitutions: ParseModule["parseSubstitutions"] = (t, o) =>
  need().parseSubstitutions(t, o);
/** Parses one shell line. */
export const parseShellLine: ParseModule["parseShellLine"] = (l, o) => need().parseShellLine(l, o);
/** Parses an ACF file. */
export const parseAcf: ParseModule["parseAcf"] = (t, o) => need().parseAcf(t, o);
/** Evaluates ACF access. */
export const accessFor: ParseModule["accessFor"] = (a, g, l, u, h, i) =>
  need().accessFor(a, g, l, u, h, i);
