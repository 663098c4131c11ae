import assert from "node:assert/strict";
import { Dbr } from "../ca/proto/constants.ts";
import { readAs } from "../ca/server/projection.ts";
import { IocProvider } from "./provider.ts";
import { IocShell } from "./shell.ts";
import { rec, startIoc } from "./_testing.ts";

const opts = { permissions: "none" } as const;

Deno.test(
  { ...opts, name: "an mbbo with no states serves VAL as a USHORT, an mbbi as an enum" },
  async () => {
    // softIoc 7.0.8.1: cainfo M:o says DBF_LONG (caput 20, caget 20), QSRV an NTScalar
    // uint16; mbbi and an mbbo with a state value (SDEF) stay DBF_ENUM / NTEnum.
    using db = startIoc([
      rec("mbbo", "M:o"),
      rec("mbbi", "M:i"),
      rec("mbbo", "M:ovl", { ONVL: "5" }),
      rec("mbbo", "M:ost", { ZRST: "zero" }),
    ]);
    const p = new IocProvider(db);
    const kind = (name: string) => {
      const t = p.lookup(name)!.type;
      return `${t.kind} ${t.scalar}`;
    };
    assert.deepStrictEqual(
      ["M:o", "M:i", "M:ovl", "M:ost", "M:o.ZRVL"].map(kind),
      ["scalar uint16", "enum uint16", "enum uint16", "enum uint16", "scalar uint32"],
    );
    const before = p.lookup("M:o")!;
    await before.put(20, { protocol: "ca", user: "", host: "" });
    assert.equal(before.snapshot().value, 20);
    const shell = new IocShell(db, {
      readFile: () => undefined,
      out: () => {},
      err: () => {},
      env: new Map(),
    });
    assert.equal(shell.dbgf("M:o"), "DBF_USHORT:         20 = 0x14 \n");
    assert.equal(db.channelType("M:o")?.dbf, "DBF_USHORT");
    // A state defined later: channels made from then on are enums (base decides when a
    // channel is made); one made before keeps its type.
    await db.putField("M:o.ZRST", "zero");
    assert.equal(kind("M:o"), "enum uint16");
    assert.equal(before.type.kind, "scalar");
  },
);

Deno.test(
  { ...opts, name: "enum VAL text for values without a state string, as base's get_enum_str" },
  async () => {
    // softIoc 7.0.8.1's caget (DBR_STRING) for each.
    using db = startIoc([
      rec("ao", "E:src", { VAL: "5" }),
      rec("mbbi", "E:mi", {
        DTYP: "Raw Soft Channel",
        INP: "E:src",
        ZRVL: "1",
        ZRST: "a",
        ONST: "b",
      }),
      rec("mbbo", "E:mo", { ZRST: "a", ONST: "b", TWST: "c" }),
      rec("bo", "E:bo", { VAL: "5", ZNAM: "off", ONAM: "on" }),
      rec("mbbi", "E:mns"),
    ]);
    await db.putField("E:mi.PROC", 1);
    await db.putField("E:mo", 7);
    await db.putField("E:mns", 20);
    const p = new IocProvider(db);
    const text = (name: string) => {
      const ch = p.lookup(name)!;
      return (readAs(ch.snapshot(), ch.type, Dbr.STRING, 1).data.value as string[])[0];
    };
    assert.deepStrictEqual(
      ["E:mi", "E:mo", "E:bo", "E:mns"].map(text),
      ["Illegal Value", "", "Illegal_Value", "Illegal Value"],
    );
    assert.equal(db.getField("E:mi"), 65535);
  },
);
