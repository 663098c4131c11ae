/**
 * Layer check: files under any `proto/` folder must stay sans-I/O. They may not touch
 * Deno networking or files, timers, or the clock, and may not import client/server code.
 * Run: deno run --allow-read tools/layer_check.ts [root]
 * @module
 */

import { join, relative } from "node:path";

/** One forbidden use found in a file. */
export interface LayerViolation {
  /** Path of the file, as given to {@link checkSource}. */
  file: string;
  /** 1-based line number. */
  line: number;
  /** The offending line, trimmed. */
  text: string;
  /** Which rule it breaks. */
  rule: string;
}

const RULES: { rule: string; re: RegExp }[] = [
  { rule: "Deno runtime API (sockets, files, env)", re: /\bDeno\s*\.\s*[A-Za-z]/ },
  {
    rule: "timer",
    re: /\b(setTimeout|setInterval|clearTimeout|clearInterval|queueMicrotask)\s*\(/,
  },
  { rule: "clock", re: /\b(Date\s*\.\s*now|performance\s*\.\s*now)\s*\(|\bnew\s+Date\s*\(\s*\)/ },
  {
    rule: "network import",
    re: /from\s+["'](node:(net|dgram|http|https|fs|timers)|.*\/(client|server)\/)/,
  },
];

function stripComments(src: string): string[] {
  // Blank out comments but keep line structure so reported line numbers stay right.
  const noBlock = src.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "));
  return noBlock.split("\n").map((l) => l.replace(/(^|[^:])\/\/.*$/, "$1"));
}

/**
 * Checks one file's text.
 * @param file path used in reports
 * @param src the file's text
 * @returns the violations found
 * @example
 * ```ts
 * import { checkSource } from "./layer_check.ts";
 * const found = checkSource("proto/x.ts", "// setTimeout(f) in a comment is fine\nconst t = Date.now();\n");
 * if (found.length !== 1 || found[0].line !== 2 || found[0].rule !== "clock") throw new Error();
 * ```
 */
export function checkSource(file: string, src: string): LayerViolation[] {
  const out: LayerViolation[] = [];
  stripComments(src).forEach((text, i) => {
    for (const { rule, re } of RULES) {
      if (re.test(text)) out.push({ file, line: i + 1, text: text.trim(), rule });
    }
  });
  return out;
}

async function* protoFiles(dir: string, inProto: boolean): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory) yield* protoFiles(p, inProto || e.name === "proto");
    else if (inProto && e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield p;
  }
}

if (import.meta.main) {
  const root = Deno.args[0] ?? ".";
  const found: LayerViolation[] = [];
  let files = 0;
  for await (const f of protoFiles(root, false)) {
    files++;
    found.push(...checkSource(relative(root, f), await Deno.readTextFile(f)));
  }
  for (const v of found) console.error(`${v.file}:${v.line}: ${v.rule}: ${v.text}`);
  console.log(`layer check: ${files} proto files, ${found.length} violations`);
  if (found.length) Deno.exit(1);
}
