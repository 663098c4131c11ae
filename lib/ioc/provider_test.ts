import assert from "node:assert/strict";
import { Dbr } from "../ca/proto/constants.ts";
import { readAs } from "../ca/server/projection.ts";
import { FilteredChannel, IocProvider } from "./provider.ts";
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

Deno.test(
  { ...opts, name: "filtered names: arr on gets, dbnd per monitor, refusals reported once" },
  async () => {
    using db = startIoc([
      rec("waveform", "F:wf", {
        FTVL: "DOUBLE",
        NELM: "10",
        INP: "[1,2,3,4,5,6,7,8]",
        PINI: "YES",
      }),
      rec("ai", "F:ai"),
    ]);
    const warned: string[] = [];
    const p = new IocProvider(db, { warn: (l) => warned.push(l) });
    const arr = p.lookup("F:wf.[2:4]")!;
    assert.equal(arr.type.maxLength, 3);
    assert.deepEqual(arr.snapshot().value, Float64Array.of(3, 4, 5));
    assert.equal(p.lookup("F:wf.[2]")!.snapshot().value, 3);
    assert.equal(p.lookup("F:ai.")?.name, "F:ai.");
    assert.equal(p.lookup('F:ai.{"xyz":{}}'), undefined);
    assert.equal(p.lookup('F:ai.{"xyz":{}}'), undefined);
    assert.deepEqual(warned, ["dbChannelCreate: Channel filter 'xyz' not found"]);
    // Each monitor has its own deadband; the first update goes through it too.
    const ch = p.lookup("F:ai.{dbnd:{abs:1.5}}") as FilteredChannel;
    assert.ok(ch instanceof FilteredChannel);
    const seen: number[][] = [[], []];
    const stops = seen.map((s) => ch.monitor(1 | 4, (snap) => s.push(snap.value as number)));
    const ctx = { protocol: "ca", user: "", host: "" } as const;
    for (const v of [1, 2, 4]) await p.lookup("F:ai")!.put(v, ctx);
    const late: number[] = [];
    stops.push(ch.monitor(1 | 4, (snap) => late.push(snap.value as number)));
    await p.lookup("F:ai")!.put(5, ctx);
    for (const stop of stops) stop();
    // 1 is within the band but clears the UDF alarm: it passes with its DBE_ALARM bit.
    assert.deepEqual(seen, [[0, 1, 2, 4], [0, 1, 2, 4]]);
    assert.deepEqual(late, [4]);
    // Puts go to the field, unfiltered.
    await arr.put(Float64Array.of(9, 8, 7), ctx);
    assert.deepEqual(p.lookup("F:wf")!.snapshot().value, Float64Array.of(9, 8, 7));
  },
);
