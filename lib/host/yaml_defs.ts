/**
 * PV definition files in YAML: a `prefix` and a `pvs` list of {@link PvDefinition}s.
 * Every problem in a file (YAML syntax, unknown keys, bad values) is reported with the
 * file, line and column it is at, all of them at once.
 * @module
 */

import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { EpicsSyntaxError } from "../core/errors.ts";
import { checkDefinitions, type PvDefinition } from "./defs.ts";

/** A parsed definition file. */
export interface DefinitionFile {
  /** The file's `prefix` (undefined when it has none). */
  prefix?: string;
  /** The PV definitions, in file order. */
  pvs: PvDefinition[];
}

/** One problem in a definition file. */
export interface FileProblem {
  /** The file name as given. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** What is wrong. */
  message: string;
}

/** A definition file that cannot be used, with every problem found in it. */
export class DefinitionFileError extends EpicsSyntaxError {
  /** Every problem, in file order. */
  readonly problems: readonly FileProblem[];
  /**
   * Creates the error.
   * @param problems the problems, at least one
   */
  constructor(problems: FileProblem[]) {
    const first = problems[0];
    super(
      problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join("\n"),
      { file: first?.file, line: first?.line, column: first?.column },
    );
    this.name = "DefinitionFileError";
    this.problems = problems;
  }
}

const TOP_KEYS = new Set(["prefix", "pvs"]);

/**
 * Parses a YAML definition file.
 * @param text the file's text
 * @param file the name used in problem reports
 * @returns the prefix and the definitions
 * @throws DefinitionFileError listing every problem with its file:line:column
 * @example
 * ```ts
 * import { DefinitionFileError, parseDefinitionsYaml } from "./mod.ts";
 * const f = parseDefinitionsYaml('prefix: "lab1:"\npvs:\n  - { name: t, value: 1.5 }\n', "a.yaml");
 * if (f.prefix !== "lab1:" || f.pvs[0].name !== "t") throw new Error();
 * try {
 *   parseDefinitionsYaml("pvs:\n  - { name: t, value: 1 }\n  - { name: u, type: int99 }\n", "b.yaml");
 *   throw new Error("not refused");
 * } catch (e) {
 *   if (!(e instanceof DefinitionFileError) || e.problems[0].line !== 3) throw e;
 * }
 * ```
 */
export function parseDefinitionsYaml(text: string, file: string): DefinitionFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    keepSourceTokens: true,
  });
  const problems: FileProblem[] = [];
  const at = (offset: number, message: string) => {
    const p = lines.linePos(offset);
    problems.push({ file, line: p.line, column: p.col, message });
  };
  for (const e of doc.errors) at(e.pos[0], e.message.split("\n")[0]);
  if (doc.errors.length > 0) throw new DefinitionFileError(sorted(problems));
  const root = doc.contents as Node | null;
  if (!root || !isMap(root)) {
    at(root?.range?.[0] ?? 0, 'expected a mapping with "pvs" (and optionally "prefix")');
    throw new DefinitionFileError(problems);
  }
  for (const item of root.items) {
    const k = isScalar(item.key) ? String(item.key.value) : "";
    if (!TOP_KEYS.has(k)) {
      at((item.key as Node | null)?.range?.[0] ?? 0, `unknown key "${k}" (use prefix and pvs)`);
    }
  }
  const prefixNode = root.get("prefix", true) as Node | undefined;
  let prefix: string | undefined;
  if (prefixNode !== undefined) {
    const v = isScalar(prefixNode) ? prefixNode.value : undefined;
    if (typeof v !== "string") at(prefixNode.range?.[0] ?? 0, "prefix must be text");
    else prefix = v;
  }
  const pvsNode = root.get("pvs", true) as Node | undefined;
  if (!pvsNode || !isSeq(pvsNode)) {
    at(pvsNode?.range?.[0] ?? root.range?.[0] ?? 0, 'expected "pvs:" with a list of PVs');
    throw new DefinitionFileError(sorted(problems));
  }
  const pvs = (pvsNode.toJSON() ?? []) as unknown[];
  // JS has one number type: 25.0 arrives as 25. Where the file wrote a number with a point
  // or an exponent and gave no type, it means float64.
  pvsNode.items.forEach((item, i) => {
    const def = pvs[i] as Record<string, unknown> | null;
    if (!isMap(item) || !def || typeof def !== "object" || def.type !== undefined) return;
    let v = item.get("value", true) as Node | undefined;
    if (v && isSeq(v)) v = v.items[0] as Node | undefined;
    if (v && isScalar(v) && typeof v.value === "number" && Number.isInteger(v.value)) {
      const src = v.srcToken && "source" in v.srcToken ? String(v.srcToken.source) : "";
      if (/[.eE]/.test(src)) def.type = "float64";
    }
  });
  for (const p of checkDefinitions(pvs)) {
    const item = pvsNode.items[p.index] as Node | undefined;
    let node: Node | undefined = item;
    if (p.key && item && isMap(item)) {
      const pair = item.items.find((it) => isScalar(it.key) && it.key.value === p.key);
      node = (pair?.value as Node | null) ?? (pair?.key as Node | null) ?? item;
      if (pair && p.message.startsWith("unknown key")) node = pair.key as Node;
    }
    const name = (pvs[p.index] as { name?: unknown } | null)?.name;
    const who = typeof name === "string" ? `PV "${name}"` : `PV #${p.index + 1}`;
    at(node?.range?.[0] ?? 0, `${who}: ${p.message}`);
  }
  if (problems.length > 0) throw new DefinitionFileError(sorted(problems));
  return { prefix, pvs: pvs as PvDefinition[] };
}

function sorted(p: FileProblem[]): FileProblem[] {
  return p.sort((a, b) => a.line - b.line || a.column - b.column);
}
