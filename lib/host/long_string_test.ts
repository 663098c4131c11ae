import assert from "node:assert/strict";
import { PvMap } from "../pv/provider.ts";
import { SharedPV } from "../pv/shared_pv.ts";
import type { ServedPv } from "../pv/types.ts";
import { caLongStrings, LONG_STRING_CA_LENGTH, pvaLongStrings } from "./long_string.ts";

const who = { protocol: "ca" as const, user: "", host: "" };

Deno.test({
  name: "long strings: NAME$ of a string PV is its text as chars and a NUL over CA",
  permissions: "none",
  async fn() {
    const s = new SharedPV("s", { type: "string", value: "caf\u00e9" });
    const own = new SharedPV("own$", { type: "int32", value: 3 });
    const p = caLongStrings(
      new PvMap([
        s,
        own,
        new SharedPV("n", { type: "float64" }),
        new SharedPV("e", {
          type: "enum",
          choices: ["A"],
        }),
      ]),
    );
    const v = p.lookup("s$")!;
    assert.equal(v.name, "s$");
    assert.deepEqual(v.type, {
      kind: "array",
      scalar: "uint8",
      maxLength: LONG_STRING_CA_LENGTH,
      text: true,
    });
    assert.deepEqual([...(v.snapshot().value as Uint8Array)], [99, 97, 102, 0xc3, 0xa9, 0]);
    assert.equal(p.lookup("s$"), v, "one view per PV");
    assert.equal(p.lookup("n$"), undefined, "numbers have no $ form");
    assert.equal(p.lookup("e$"), undefined, "nor enums");
    assert.equal(p.lookup("own$"), own, "a PV named with $ is itself");
    assert.equal(p.lookup("s"), s);
    // Writes: chars up to the NUL (DBR_CHAR), or text (DBR_STRING as the CA server hands it).
    const seen: string[] = [];
    const stop = (v as ServedPv).subscribe((snap) => {
      seen.push(new TextDecoder().decode(snap.value as Uint8Array));
    });
    await v.put(new TextEncoder().encode("long text\0junk"), who);
    assert.equal(s.snapshot().value, "long text");
    await v.put(["as string"], who);
    assert.equal(s.snapshot().value, "as string");
    stop();
    assert.deepEqual(seen, ["long text\0", "as string\0"]);
    // Text longer than the array is cut on a character boundary, NUL kept.
    s.post("\u00e9".repeat(LONG_STRING_CA_LENGTH));
    const cut = v.snapshot().value as Uint8Array;
    assert.equal(cut.length, LONG_STRING_CA_LENGTH - 1);
    assert.equal(cut[cut.length - 1], 0);
    assert.equal(new TextDecoder().decode(cut.subarray(0, -1)), "\u00e9".repeat(2047));
  },
});

Deno.test({
  name: "long strings: NAME$ over PVA is the same string under the $ name",
  permissions: "none",
  async fn() {
    const s = new SharedPV("s", { type: "string", value: "x" });
    const p = pvaLongStrings(new PvMap([s]));
    const a = p.lookup("s$")!;
    assert.equal(a.name, "s$");
    assert.equal(a.type, s.type);
    await a.put("y", who);
    assert.equal(s.snapshot().value, "y");
    assert.equal(a.snapshot(), s.snapshot());
    assert.equal(p.lookup("t$"), undefined);
  },
});
