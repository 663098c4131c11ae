import assert from "node:assert/strict";
import { type RawToken, tokenize, type TokenRules } from "./_tokens.ts";

const RULES: TokenRules = {
  quotes: "\"'",
  isBare: (c) => /[A-Za-z0-9_]/.test(c),
  punct: "{},",
  unclosed: "unclosed",
  invalidChar: (c) => `bad ${c}`,
};

function run(text: string, rules = RULES) {
  const errors: string[] = [];
  const toks = tokenize(text, rules, (r, l, c) => errors.push(`${l}:${c} ${r}`));
  return { toks: toks.map((t: RawToken) => `${t.kind}:${t.text}@${t.line}:${t.column}`), errors };
}

Deno.test({
  name: "tokenize: quotes, escapes, comments, positions and errors follow the rules given",
  permissions: "none",
  fn() {
    const r = run("a {'x\\'y' , \"q\"} # note\n  b2 $");
    assert.deepEqual(r.toks, [
      "bare:a@1:1",
      "punct:{@1:3",
      "quoted:x\\'y@1:4",
      "punct:,@1:11",
      "quoted:q@1:13",
      "punct:}@1:16",
      "bare:b2@2:3",
      "eof:@2:7",
    ]);
    assert.deepEqual(r.errors, ["2:6 bad $"]);
    // A quote not closed on its line is reported and the next line still lexes.
    const u = run('"abc\nd');
    assert.deepEqual(u.errors, ["1:1 unclosed"]);
    assert.deepEqual(u.toks, ["bare:d@2:1", "eof:@2:2"]);
    // Only the quote characters given quote: with '"' alone, ' is an invalid character.
    const d = run("'a'", { ...RULES, quotes: '"' });
    assert.deepEqual(d.errors, ["1:1 bad '", "1:3 bad '"]);
  },
});
