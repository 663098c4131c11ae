import assert from "node:assert/strict";
import { IocProvider } from "./provider.ts";
import { formIndex } from "./qsrv_form.ts";
import { rec, startIoc } from "./_testing.ts";

const opts = { permissions: "none" } as const;

function withInfo(type: string, name: string, form: string) {
  const r = rec(type, name);
  r.infos.push({ name: "Q:form", value: form, file: "t.db", line: 1 });
  return r;
}

Deno.test({ ...opts, name: "Q:form: names, integers and what is neither" }, () => {
  assert.deepStrictEqual(
    ["Default", "String", "Binary", "Decimal", "Hex", "Exponential", "Engineering"].map(formIndex),
    [0, 1, 2, 3, 4, 5, 6],
  );
  // QSRV converts other text as an int32: numbers outside the choices are kept.
  assert.deepStrictEqual(["7", "0x10", "-1"].map(formIndex), [7, 16, -1]);
  for (const bad of ["Bogus", "hex", "", "1.5"]) assert.throws(() => formIndex(bad), RangeError);
});

Deno.test(
  { ...opts, name: "Q:form sets display.form of every field channel of the record" },
  () => {
    // softIocPVA 7.0.8.1: g:x (Hex) serves display.form.index 4 on VAL, EGU and HIHI; g:y
    // (Engineering) 6; g:s ("Bogus") 0, and the IOC reports the info naming the record.
    using db = startIoc([
      withInfo("ai", "g:x", "Hex"),
      withInfo("longout", "g:y", "Engineering"),
      withInfo("ai", "g:s", "Bogus"),
      rec("ai", "g:n"),
    ]);
    const p = new IocProvider(db);
    const form = (n: string) => p.lookup(n)!.snapshot().display.form;
    assert.deepStrictEqual(
      ["g:x", "g:x.HIHI", "g:x.EGU", "g:y", "g:s", "g:s.HIHI", "g:n"].map(form),
      [4, 4, 4, 6, 0, 0, 0],
    );
    assert.deepStrictEqual(db.warnings, [
      'g:s: info(Q:form, "Bogus") is not known format: no digits',
    ]);
  },
);
