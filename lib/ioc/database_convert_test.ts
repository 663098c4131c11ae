/**
 * Field values the database converts from text and to text, end to end: loading, puts,
 * and links, checked against what EPICS base 7.0.8.1's softIoc stores and reads.
 */
import assert from "node:assert/strict";
import { rec, startIoc } from "./_testing.ts";

const opts = { permissions: "none" } as const;

Deno.test(
  { ...opts, name: "register values load into LONG fields and the IOC starts" },
  async () => {
    using db = startIoc([
      rec("longout", "mask", { VAL: "0xFFFFFFFF" }),
      rec("longout", "bit31", { VAL: "0x80000000" }),
      rec("longout", "oct", { VAL: "017" }),
      rec("ai", "p", { PREC: "70000" }),
    ]);
    assert.deepEqual(
      ["mask", "bit31", "oct", "p.PREC"].map((n) => db.getField(n)),
      [-1, -2147483648, 15, 4464],
    );
    // dbpf and DBR_STRING puts read decimal and ignore what follows the number.
    await db.putField("oct", "017");
    assert.equal(db.getField("oct"), 17);
    await db.putField("oct", "1.7");
    assert.equal(db.getField("oct"), 1);
    await assert.rejects(() => db.putField("oct", "4294967295"), /out of range/);
  },
);

Deno.test({ ...opts, name: "int64 records load and take values beyond 2^53" }, async () => {
  using db = startIoc([
    rec("int64in", "i", { VAL: "9007199254740993" }),
    rec("int64out", "o", { VAL: "-9223372036854775808" }),
  ]);
  assert.equal(db.getField("i"), 9007199254740992);
  assert.equal(db.getField("o"), -(2 ** 63));
  await db.putField("o", "9223372036854775807");
  assert.equal(db.fieldText(db.record("o")!, "VAL"), "9223372036854774784");
});

Deno.test({ ...opts, name: 'DTYP "" and SCAN "" load as Soft Channel and Passive' }, () => {
  using db = startIoc([rec("ai", "a", { DTYP: "", SCAN: "", PINI: "" })]);
  const a = db.record("a")!;
  assert.deepEqual(
    ["DTYP", "SCAN", "PINI"].map((f) => db.fieldText(a, f)),
    ["Soft Channel", "Passive", "NO"],
  );
});

Deno.test(
  { ...opts, name: "SCAN given as a number is a menuScan index, not a period" },
  async () => {
    using db = startIoc([rec("ai", "a", { SCAN: "3" })]);
    const a = db.record("a")!;
    assert.equal(db.fieldText(a, "SCAN"), "10 second");
    await db.putField("a.SCAN", "5");
    assert.equal(db.fieldText(a, "SCAN"), "2 second");
    await assert.rejects(() => db.putField("a.SCAN", "0.7"), /not a choice/);
    assert.equal(db.fieldText(a, "SCAN"), "2 second");
    assert.deepEqual(db.periodicLists().map((l) => [l.name, l.records.length]), [
      ["10 second", 0],
      ["2 second", 1],
    ]);
  },
);

Deno.test({ ...opts, name: "a DB link reading a double as a string uses the PREC" }, () => {
  using db = startIoc([
    rec("stringin", "s3", { INP: "d3" }),
    rec("ao", "d3", { VAL: "1.23456789", PREC: "3" }),
    rec("stringin", "s0", { INP: "d0" }),
    rec("ao", "d0", { VAL: "3.14159" }),
    rec("stringin", "hihi", { INP: "dh.HIHI" }),
    rec("ao", "dh", { HIHI: "1.23456789", PREC: "-1" }),
    rec("stringin", "dly", { INP: "sq.DLY1" }),
    rec("seq", "sq", { DLY1: "1.23456789", PREC: "1" }),
    rec("printf", "pf", { FMT: "%s", INP0: "d3" }),
    rec("stringout", "so", { OMSL: "closed_loop", DOL: "d3" }),
    rec("stringin", "ca", { INP: "d3 CA" }),
    rec("ao", "w", { VAL: "1.23456789", PREC: "3", OUT: "t PP" }),
    rec("stringin", "t"),
  ]);
  for (const n of ["s3", "s0", "hihi", "dly", "pf", "so", "ca", "w"]) db.process(db.record(n)!);
  // softIoc 7.0.8.1: dbpf X.PROC 1, then dbgf X.
  assert.deepEqual(
    ["s3", "s0", "hihi", "dly", "pf", "so", "ca", "t"].map((n) => db.getField(n)),
    [
      "1.235",
      "3",
      // HIHI is not VAL: its precision is PREC within 0..15, and above 8 base writes %e.
      " 1.234567890000000e+00",
      // seq's delays have precision 2 whatever PREC is.
      "1.23",
      "1.235",
      "1.235",
      // Through CA, and into a string field: converted with no precision, 6 decimals.
      "1.234568",
      "1.234568",
    ],
  );
});

Deno.test({ ...opts, name: "a string put too long for its field is cut" }, async () => {
  using db = startIoc([rec("ai", "a"), rec("stringout", "so")]);
  await db.putField("a.EGU", "0123456789ABCDEFGHIJ");
  assert.equal(db.getField("a.EGU"), "0123456789ABCDE");
  await db.putField("so", "0123456789012345678901234567890123456789012");
  assert.equal(db.getField("so"), "012345678901234567890123456789012345678");
});
