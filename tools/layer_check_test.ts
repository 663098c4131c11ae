import assert from "node:assert/strict";
import { checkSource } from "./layer_check.ts";

Deno.test({
  name: "layer check flags sockets, timers and the clock but not comments",
  permissions: "none",
  fn() {
    const src = [
      "// Deno.listen in a comment is fine",
      "const c = await Deno.connect({ port: 1 });",
      "setTimeout(() => {}, 5);",
      "const t = Date.now();",
      "/* Deno.listenDatagram */ const ok = 1;",
      'import { x } from "../client/mod.ts";',
    ].join("\n");
    const v = checkSource("x.ts", src);
    assert.deepEqual(v.map((e) => e.line), [2, 3, 4, 6]);
  },
});
