import assert from "node:assert/strict";
import { LocalProtocolError } from "../../core/errors.ts";
import { ntUri, NTURI_ID } from "./nturi.ts";

Deno.test({
  name: "nturi: scheme, path and typed query members in order",
  permissions: "none",
  fn() {
    const v = ntUri("calc:add", { a: 1.5, b: "x", c: 7n, d: true });
    assert.equal(v.type.id, NTURI_ID);
    assert.deepEqual(v.type.members.map((m) => m.name), ["scheme", "path", "query"]);
    const q = v.type.member("query")!;
    assert.deepEqual(q.members.map((m) => [m.name, m.type.typeName]), [
      ["a", "double"],
      ["b", "string"],
      ["c", "long"],
      ["d", "boolean"],
    ]);
    assert.deepEqual(v.toJSON(), {
      scheme: "pva",
      path: "calc:add",
      query: { a: 1.5, b: "x", c: 7n, d: true },
    });
    assert.deepEqual(v.changedPaths(), [""]);
    assert.deepEqual(ntUri("svc").toJSON(), { scheme: "pva", path: "svc", query: {} });
  },
});

Deno.test({
  name: "nturi: an argument with no PVA scalar type is refused",
  permissions: "none",
  fn() {
    assert.throws(
      () => ntUri("svc", { a: null as unknown as string }),
      (e) => e instanceof LocalProtocolError && /argument "a" is null/.test(e.message),
    );
  },
});
