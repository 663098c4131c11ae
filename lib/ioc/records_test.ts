import assert from "node:assert/strict";
import {
  ALARM_SEVERITY_NAMES,
  ALARM_STATUS_NAMES,
  AlarmSeverity,
  AlarmStatus,
} from "../core/alarm.ts";
import { PvChange } from "../pv/types.ts";
import { rec, startIoc, type TestIoc } from "./_testing.ts";
import { environDevice } from "./devices.ts";

const opts = { permissions: "none" } as const;

/** A compress VAL as dbgf shows it: the NUSE valid samples. */
function samples(db: TestIoc, name: string): number[] {
  const n = db.getField(`${name}.NUSE`) as number;
  return Array.from(db.getField(name) as Float64Array).slice(0, n);
}

/** Records fed by W:src (an ao whose FLNK processes them all, in order). */
function compressIoc(...defs: [string, Record<string, string>][]): TestIoc {
  return startIoc([
    rec("ao", "W:src", { FLNK: "W:fan" }),
    rec("fanout", "W:fan", Object.fromEntries(defs.map(([n], i) => [`LNK${i}`, n]))),
    ...defs.map(([name, fields]) => rec("compress", name, { INP: "W:src", ...fields })),
  ]);
}

Deno.test(
  { ...opts, name: "compress of scalars: FIFO oldest first, LIFO newest first, N to 1" },
  async () => {
    // softIoc 7.0.8.1, fed 1..7: dbgf and caget give these samples, OFF and INX.
    using db = compressIoc(
      ["W:circ", { ALG: "Circular Buffer", NSAM: "4" }],
      ["W:lifo", { ALG: "Circular Buffer", NSAM: "4", BALG: "LIFO Buffer" }],
      ["W:avg", { ALG: "N to 1 Average", NSAM: "4", N: "3" }],
      ["W:high", { ALG: "N to 1 High Value", NSAM: "3", N: "2" }],
      ["W:low", { ALG: "N to 1 Low Value", NSAM: "3", N: "2" }],
      ["W:med", { ALG: "N to 1 Median", NSAM: "4", N: "3" }],
    );
    for (let v = 1; v <= 7; v++) await db.putField("W:src", v);
    const got = (name: string) => [
      samples(db, name),
      db.getField(`${name}.OFF`),
      db.getField(`${name}.INX`),
    ];
    assert.deepStrictEqual(got("W:circ"), [[4, 5, 6, 7], 3, 0]);
    assert.deepStrictEqual(got("W:lifo"), [[7, 6, 5, 4], 1, 0]);
    assert.deepStrictEqual(got("W:avg"), [[2, 5], 2, 1]);
    assert.deepStrictEqual(got("W:high"), [[2, 4, 6], 0, 1]);
    assert.deepStrictEqual(got("W:low"), [[1, 3, 5], 0, 1]);
    // A scalar median is the average (base).
    assert.deepStrictEqual(got("W:med"), [[2, 5], 2, 1]);
    // VAL past NUSE reads as zeros (caget W:avg: 4 2 5 0 0).
    assert.deepStrictEqual(Array.from(db.getField("W:avg") as Float64Array), [2, 5, 0, 0]);
  },
);

Deno.test(
  { ...opts, name: "compress short of N samples is no result: UDF, no time stamp, no FLNK" },
  async () => {
    using db = startIoc([
      rec("ao", "W:src", { FLNK: "W:avg" }),
      rec("compress", "W:avg", {
        INP: "W:src",
        ALG: "N to 1 Average",
        NSAM: "4",
        N: "3",
        FLNK: "W:after",
      }),
      rec("calc", "W:after", { CALC: "VAL+1" }),
    ]);
    let posts = 0;
    db.watch(db.record("W:avg")!, "VAL", () => posts++);
    await db.putField("W:src", 1);
    const field = (f: string) => db.getField(`W:avg.${f}`);
    assert.deepStrictEqual(
      [field("UDF"), field("STAT"), field("SEVR"), field("INX"), field("NUSE")],
      [1, AlarmStatus.UDF, AlarmSeverity.INVALID, 1, 0],
    );
    assert.deepStrictEqual(db.record("W:avg")!.time, { secPastEpoch: 0, nsec: 0 });
    assert.equal(db.getField("W:after"), 0);
    assert.equal(posts, 0);
    await db.putField("W:src", 2);
    await db.putField("W:src", 3);
    assert.deepStrictEqual(
      [field("UDF"), field("STAT"), field("SEVR"), field("INX"), samples(db, "W:avg")],
      [0, 0, 0, 0, [2]],
    );
    assert.equal(db.getField("W:after"), 1);
    assert.equal(posts, 1);
  },
);

Deno.test(
  { ...opts, name: "compress BALG, ALG, N, PBUF and RES puts empty the buffer" },
  async () => {
    using db = compressIoc(["W:circ", { ALG: "Circular Buffer", NSAM: "4" }]);
    for (let v = 1; v <= 7; v++) await db.putField("W:src", v);
    await db.putField("W:circ.BALG", 1);
    assert.deepStrictEqual([samples(db, "W:circ"), db.getField("W:circ.OFF")], [[], 0]);
    await db.putField("W:src", 8);
    // softIoc: caget W:circ gives 8 0 0 0 with OFF 3.
    assert.deepStrictEqual(Array.from(db.getField("W:circ") as Float64Array), [8, 0, 0, 0]);
    assert.deepStrictEqual([db.getField("W:circ.OFF"), db.getField("W:circ.NUSE")], [3, 1]);
    await db.putField("W:circ.RES", 1);
    assert.deepStrictEqual([samples(db, "W:circ"), db.getField("W:circ.RES")], [[], 0]);
  },
);

Deno.test({ ...opts, name: "compress of arrays: N to 1, PBUF, Average, ILIL..IHIL" }, async () => {
  using db = startIoc([
    rec("waveform", "W:wf", { NELM: "6", FTVL: "DOUBLE" }),
    ...([
      ["W:arr", { ALG: "N to 1 Average", NSAM: "3", N: "2" }],
      ["W:arrp", { ALG: "N to 1 Low Value", NSAM: "3", N: "4", PBUF: "YES" }],
      ["W:aavg", { ALG: "Average", NSAM: "4", N: "2" }],
      ["W:lim", { ALG: "Circular Buffer", NSAM: "8", ILIL: "2", IHIL: "4" }],
      ["W:liml", { ALG: "N to 1 High Value", NSAM: "8", ILIL: "2", IHIL: "4" }],
    ] as const).map(([n, f]) => rec("compress", n, { INP: "W:wf", ...f })),
  ]);
  const run = async (values: number[], ...names: string[]) => {
    await db.putField("W:wf", Float64Array.from(values));
    for (const n of names) await db.putField(`${n}.PROC`, 1);
  };
  // What softIoc 7.0.8.1 shows for the same puts.
  await run([1, 2, 3, 4, 5, 6], "W:arr", "W:arrp", "W:aavg");
  assert.deepStrictEqual(samples(db, "W:arr"), [1.5, 3.5, 5.5]);
  assert.deepStrictEqual(samples(db, "W:arrp"), [1, 5]);
  assert.deepStrictEqual([samples(db, "W:aavg"), db.getField("W:aavg.INX")], [[], 1]);
  assert.equal(db.getField("W:aavg.SEVR"), AlarmSeverity.INVALID);
  // Three elements now: INPN (the waveform's NELM) is the same, so the sums go on.
  await run([3, 4, 5], "W:aavg", "W:lim", "W:liml");
  assert.deepStrictEqual([samples(db, "W:aavg"), db.getField("W:aavg.INX")], [[2, 3, 4], 0]);
  assert.deepStrictEqual(samples(db, "W:lim"), [3, 4, 5]);
  assert.deepStrictEqual(samples(db, "W:liml"), [3, 4, 5]);
  await run([1, 2, 3, 4, 5, 6], "W:lim", "W:liml");
  // Circular Buffer keeps every sample; N to 1 skips the leading ones out of ILIL..IHIL.
  assert.deepStrictEqual(samples(db, "W:lim"), [4, 5, 1, 2, 3, 4, 5, 6]);
  assert.deepStrictEqual(samples(db, "W:liml"), [3, 4, 5, 2, 3, 4, 5, 6]);
  assert.equal(db.getField("W:lim.INPN"), 6);
});

Deno.test(
  { ...opts, name: "compress: no or a constant INP is a LINK alarm; VAL puts go into the ring" },
  async () => {
    using db = startIoc([
      rec("compress", "W:const", { INP: "5", ALG: "Circular Buffer", NSAM: "4" }),
      rec("compress", "W:put", { ALG: "Circular Buffer", NSAM: "4" }),
      rec("compress", "W:putl", { ALG: "Circular Buffer", NSAM: "4", BALG: "LIFO Buffer" }),
    ]);
    await db.putField("W:const.PROC", 1);
    const alarm = (n: string) => [
      db.getField(`${n}.STAT`),
      db.getField(`${n}.SEVR`),
      db.getField(`${n}.UDF`),
    ];
    assert.deepStrictEqual(alarm("W:const"), [AlarmStatus.LINK, AlarmSeverity.INVALID, 0]);
    assert.deepStrictEqual(samples(db, "W:const"), []);
    await db.putField("W:put", 9);
    assert.deepStrictEqual([samples(db, "W:put"), db.getField("W:put.OFF")], [[9], 1]);
    await db.putField("W:put", Float64Array.from([1, 2, 3, 4]));
    // Written over the oldest samples: 9 is gone, OFF moved on by four.
    assert.deepStrictEqual([samples(db, "W:put"), db.getField("W:put.OFF")], [[2, 3, 4, 1], 1]);
    // With LIFO, VAL cannot be written.
    await assert.rejects(() => db.putField("W:putl", 9));
    assert.deepStrictEqual(samples(db, "W:putl"), []);
  },
);

Deno.test(
  { ...opts, name: "output records load a constant DOL at init as base converts it" },
  () => {
    // [type, fields, VAL, UDF] as softIoc 7.0.8.1 shows them right after iocInit.
    const cases: [string, Record<string, string>, unknown, number][] = [
      ["ao", { DOL: "5" }, 5, 0],
      ["bo", { DOL: "0.3" }, 0, 0],
      ["bo", { DOL: "1.7" }, 1, 0],
      ["bo", { DOL: "2" }, 1, 0],
      ["bo", { DOL: "[2.5]" }, 1, 0],
      ["bo", {}, 0, 1],
      ["longout", { DOL: "5" }, 5, 0],
      ["longout", { DOL: "2.5" }, 2, 0],
      ["longout", { DOL: "1e3" }, 1, 0],
      ["longout", { DOL: "010" }, 8, 0],
      ["longout", { DOL: "0x10" }, 16, 0],
      ["longout", { DOL: "{const: 3.9}" }, 3, 0],
      ["int64out", { DOL: "7" }, 7, 0],
      ["mbbo", { DOL: "3" }, 3, 0],
      ["mbbo", { DOL: "2.5" }, 2, 0],
      ["mbbo", { DOL: "-1" }, 65535, 0],
      ["mbboDirect", { DOL: "3" }, 3, 0],
      ["mbboDirect", { DOL: "1.5e1" }, 15, 0],
      ["mbboDirect", { B1: "1" }, 2, 0],
      ["stringout", { DOL: "5.50" }, "5.50", 0],
      // A name is a link to a PV, not a constant.
      ["stringout", { DOL: "abc" }, "", 1],
      ["lso", { DOL: '{const: "hello"}' }, "hello", 0],
      ["dfanout", { DOL: "4" }, 4, 0],
    ];
    const defs = cases.map(([type, fields], i) => rec(type, `D:${i}`, fields));
    using db = startIoc(defs);
    const got = cases.map((_, i) => [db.getField(`D:${i}`), db.getField(`D:${i}.UDF`)]);
    assert.deepStrictEqual(got, cases.map(([, , val, udf]) => [val, udf]));
    assert.equal(db.getField("D:4.RVAL"), 1);
    assert.equal(db.getField("D:21.LEN"), 6);
  },
);

Deno.test(
  { ...opts, name: "aao loads a constant DOL at init only with OMSL closed_loop" },
  () => {
    using db = startIoc([
      rec("aao", "D:open", { DOL: "[1,2]", NELM: "3", FTVL: "DOUBLE" }),
      rec("aao", "D:closed", { DOL: "[1,2]", NELM: "3", FTVL: "DOUBLE", OMSL: "closed_loop" }),
    ]);
    assert.deepStrictEqual([db.getField("D:open.NORD"), db.getField("D:open.UDF")], [0, 1]);
    assert.deepStrictEqual([db.getField("D:closed.NORD"), db.getField("D:closed.UDF")], [2, 0]);
    assert.deepStrictEqual(Array.from(db.getField("D:closed") as Float64Array), [1, 2, 0]);
  },
);

Deno.test(
  { ...opts, name: "UDF and the alarm after one processing match base for every record type" },
  async () => {
    // [record, type, fields, UDF, STAT, SEVR, AMSG] as softIoc 7.0.8.1 shows them after
    // `dbpf REC.PROC 1` right after iocInit: U0 no links, U1 a link to SRC (an ao, VAL 3),
    // U2 a CA link that never connects, U3 a constant INP, U4 closed_loop with no DOL, R*
    // Raw Soft Channel, U5/U6 special cases (OCAL NaN, SELN out of range, alarm severities).
    const cases: [string, string, Record<string, string>, number, string, string, string][] = [
      ["U0:ai", "ai", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:ai", "ai", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:ai", "ai", { INP: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INP"],
      ["U3:ai", "ai", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:bi", "bi", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:bi", "bi", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:bi", "bi", { INP: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INP"],
      ["U3:bi", "bi", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:mbbi", "mbbi", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:mbbi", "mbbi", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:mbbi", "mbbi", { INP: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INP"],
      ["U3:mbbi", "mbbi", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:mbbiDirect", "mbbiDirect", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:mbbiDirect", "mbbiDirect", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:mbbiDirect", "mbbiDirect", { INP: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INP"],
      ["U3:mbbiDirect", "mbbiDirect", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:longin", "longin", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:longin", "longin", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:longin", "longin", { INP: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INP"],
      ["U3:longin", "longin", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:int64in", "int64in", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:int64in", "int64in", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:int64in", "int64in", { INP: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INP"],
      ["U3:int64in", "int64in", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:stringin", "stringin", {}, 1, "NO_ALARM", "NO_ALARM", ""],
      ["U1:stringin", "stringin", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:stringin", "stringin", { INP: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INP"],
      ["U3:stringin", "stringin", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:lsi", "lsi", {}, 1, "NO_ALARM", "NO_ALARM", ""],
      ["U1:lsi", "lsi", { INP: "SRC" }, 1, "NO_ALARM", "NO_ALARM", ""],
      ["U2:lsi", "lsi", { INP: "nosuch:pv CA" }, 1, "NO_ALARM", "NO_ALARM", ""],
      ["U3:lsi", "lsi", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:event", "event", {}, 1, "NO_ALARM", "NO_ALARM", ""],
      ["U1:event", "event", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:event", "event", { INP: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INP"],
      ["U3:event", "event", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:waveform", "waveform", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:waveform", "waveform", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:waveform", "waveform", { INP: "nosuch:pv CA" }, 0, "LINK", "INVALID", "field INP"],
      ["U3:waveform", "waveform", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:aai", "aai", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:aai", "aai", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:aai", "aai", { INP: "nosuch:pv CA" }, 0, "LINK", "INVALID", "field INP"],
      ["U3:aai", "aai", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:subArray", "subArray", {}, 1, "UDF", "INVALID", ""],
      ["U1:subArray", "subArray", { INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:subArray", "subArray", { INP: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INP"],
      ["U3:subArray", "subArray", { INP: "5" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["R0:ai", "ai", { DTYP: "Raw Soft Channel" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["R1:ai", "ai", { DTYP: "Raw Soft Channel", INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "R2:ai",
        "ai",
        { DTYP: "Raw Soft Channel", INP: "nosuch:pv CA" },
        1,
        "LINK",
        "INVALID",
        "field INP",
      ],
      ["R0:bi", "bi", { DTYP: "Raw Soft Channel" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["R1:bi", "bi", { DTYP: "Raw Soft Channel", INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "R2:bi",
        "bi",
        { DTYP: "Raw Soft Channel", INP: "nosuch:pv CA" },
        1,
        "LINK",
        "INVALID",
        "field INP",
      ],
      ["R0:mbbi", "mbbi", { DTYP: "Raw Soft Channel" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["R1:mbbi", "mbbi", { DTYP: "Raw Soft Channel", INP: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "R2:mbbi",
        "mbbi",
        { DTYP: "Raw Soft Channel", INP: "nosuch:pv CA" },
        1,
        "LINK",
        "INVALID",
        "field INP",
      ],
      ["R0:mbbiDirect", "mbbiDirect", { DTYP: "Raw Soft Channel" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "R1:mbbiDirect",
        "mbbiDirect",
        { DTYP: "Raw Soft Channel", INP: "SRC" },
        0,
        "NO_ALARM",
        "NO_ALARM",
        "",
      ],
      [
        "R2:mbbiDirect",
        "mbbiDirect",
        { DTYP: "Raw Soft Channel", INP: "nosuch:pv CA" },
        0,
        "LINK",
        "INVALID",
        "field INP",
      ],
      ["U0:ao", "ao", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:ao", "ao", { DOL: "SRC", OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "U2:ao",
        "ao",
        { DOL: "nosuch:pv CA", OMSL: "closed_loop" },
        0,
        "LINK",
        "INVALID",
        "field DOL",
      ],
      ["U4:ao", "ao", { OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:bo", "bo", {}, 1, "UDF", "INVALID", ""],
      ["U1:bo", "bo", { DOL: "SRC", OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "U2:bo",
        "bo",
        { DOL: "nosuch:pv CA", OMSL: "closed_loop" },
        1,
        "LINK",
        "INVALID",
        "field DOL",
      ],
      ["U4:bo", "bo", { OMSL: "closed_loop" }, 1, "UDF", "INVALID", ""],
      ["U0:longout", "longout", {}, 1, "UDF", "INVALID", ""],
      ["U1:longout", "longout", { DOL: "SRC", OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "U2:longout",
        "longout",
        { DOL: "nosuch:pv CA", OMSL: "closed_loop" },
        1,
        "LINK",
        "INVALID",
        "field DOL",
      ],
      ["U4:longout", "longout", { OMSL: "closed_loop" }, 1, "UDF", "INVALID", ""],
      ["U0:int64out", "int64out", {}, 1, "UDF", "INVALID", ""],
      [
        "U1:int64out",
        "int64out",
        { DOL: "SRC", OMSL: "closed_loop" },
        0,
        "NO_ALARM",
        "NO_ALARM",
        "",
      ],
      [
        "U2:int64out",
        "int64out",
        { DOL: "nosuch:pv CA", OMSL: "closed_loop" },
        1,
        "LINK",
        "INVALID",
        "field DOL",
      ],
      ["U4:int64out", "int64out", { OMSL: "closed_loop" }, 1, "UDF", "INVALID", ""],
      ["U0:mbbo", "mbbo", {}, 1, "UDF", "INVALID", ""],
      ["U1:mbbo", "mbbo", { DOL: "SRC", OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "U2:mbbo",
        "mbbo",
        { DOL: "nosuch:pv CA", OMSL: "closed_loop" },
        1,
        "LINK",
        "INVALID",
        "field DOL",
      ],
      ["U4:mbbo", "mbbo", { OMSL: "closed_loop" }, 1, "UDF", "INVALID", ""],
      ["U0:mbboDirect", "mbboDirect", {}, 1, "UDF", "INVALID", "UDFS"],
      [
        "U1:mbboDirect",
        "mbboDirect",
        { DOL: "SRC", OMSL: "closed_loop" },
        0,
        "NO_ALARM",
        "NO_ALARM",
        "",
      ],
      [
        "U2:mbboDirect",
        "mbboDirect",
        { DOL: "nosuch:pv CA", OMSL: "closed_loop" },
        1,
        "LINK",
        "INVALID",
        "field DOL",
      ],
      ["U4:mbboDirect", "mbboDirect", { OMSL: "closed_loop" }, 1, "UDF", "INVALID", "UDFS"],
      ["U0:stringout", "stringout", {}, 1, "UDF", "INVALID", ""],
      [
        "U1:stringout",
        "stringout",
        { DOL: "SRC", OMSL: "closed_loop" },
        0,
        "NO_ALARM",
        "NO_ALARM",
        "",
      ],
      [
        "U2:stringout",
        "stringout",
        { DOL: "nosuch:pv CA", OMSL: "closed_loop" },
        1,
        "LINK",
        "INVALID",
        "field DOL",
      ],
      ["U4:stringout", "stringout", { OMSL: "closed_loop" }, 1, "UDF", "INVALID", ""],
      ["U0:lso", "lso", {}, 1, "UDF", "INVALID", ""],
      ["U1:lso", "lso", { DOL: "SRC", OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "U2:lso",
        "lso",
        { DOL: "nosuch:pv CA", OMSL: "closed_loop" },
        0,
        "NO_ALARM",
        "NO_ALARM",
        "",
      ],
      ["U4:lso", "lso", { OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:aao", "aao", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:aao", "aao", { DOL: "SRC", OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:aao", "aao", { DOL: "nosuch:pv CA", OMSL: "closed_loop" }, 0, "UDF", "INVALID", ""],
      ["U4:aao", "aao", { OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:dfanout", "dfanout", {}, 1, "UDF", "INVALID", ""],
      ["U1:dfanout", "dfanout", { DOL: "SRC", OMSL: "closed_loop" }, 0, "NO_ALARM", "NO_ALARM", ""],
      [
        "U2:dfanout",
        "dfanout",
        { DOL: "nosuch:pv CA", OMSL: "closed_loop" },
        1,
        "LINK",
        "INVALID",
        "field DOL",
      ],
      ["U4:dfanout", "dfanout", { OMSL: "closed_loop" }, 1, "UDF", "INVALID", ""],
      ["R0:ao", "ao", { DTYP: "Raw Soft Channel" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["R0:bo", "bo", { DTYP: "Raw Soft Channel" }, 1, "UDF", "INVALID", ""],
      ["R0:mbbo", "mbbo", { DTYP: "Raw Soft Channel" }, 1, "UDF", "INVALID", ""],
      ["R0:mbboDirect", "mbboDirect", { DTYP: "Raw Soft Channel" }, 1, "UDF", "INVALID", "UDFS"],
      ["U0:calc", "calc", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:calc", "calc", { INPA: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:calc", "calc", { INPA: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INPA"],
      ["U0:calcout", "calcout", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U1:calcout", "calcout", { INPA: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:calcout", "calcout", { INPA: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INPA"],
      ["U0:sel", "sel", {}, 1, "UDF", "INVALID", ""],
      ["U1:sel", "sel", { INPA: "SRC" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U2:sel", "sel", { INPA: "nosuch:pv CA" }, 1, "LINK", "INVALID", "field INPA"],
      ["U0:sub", "sub", {}, 1, "UDF", "INVALID", ""],
      ["U1:sub", "sub", { INPA: "SRC" }, 1, "UDF", "INVALID", ""],
      ["U2:sub", "sub", { INPA: "nosuch:pv CA" }, 1, "UDF", "INVALID", ""],
      ["U5:calcout", "calcout", { DOPT: "Use OCAL", OCAL: "0/0" }, 1, "UDF", "INVALID", ""],
      ["U0:printf", "printf", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U0:seq", "seq", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U5:seq", "seq", { SELM: "Specified", SELN: "20" }, 0, "SOFT", "INVALID", ""],
      ["U0:fanout", "fanout", {}, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U6:mbbo", "mbbo", { ZRSV: "MAJOR" }, 1, "UDF", "INVALID", ""],
      ["U6:mbbi", "mbbi", { ZRSV: "MAJOR" }, 0, "STATE", "MAJOR", ""],
      ["U6:bo", "bo", { ZSV: "MINOR" }, 1, "UDF", "INVALID", ""],
      ["U6:bi", "bi", { ZSV: "MINOR" }, 0, "STATE", "MINOR", ""],
      ["U6:mbbiDirect", "mbbiDirect", { UDFS: "MAJOR" }, 0, "NO_ALARM", "NO_ALARM", ""],
      ["U6:lso", "lso", { UDFS: "MAJOR" }, 1, "UDF", "INVALID", ""],
      ["U6:mbboDirect", "mbboDirect", { UDFS: "MAJOR" }, 1, "UDF", "MAJOR", "UDFS"],
    ];
    const array = { NELM: "3", FTVL: "DOUBLE" };
    const sizes: Record<string, Record<string, string>> = {
      waveform: array,
      aai: array,
      aao: array,
      subArray: { ...array, MALM: "3" },
    };
    using db = startIoc([
      rec("ao", "SRC", { VAL: "3" }),
      ...cases.map(([name, type, fields]) => rec(type, name, { ...fields, ...sizes[type] })),
    ]);
    for (const [name] of cases) await db.putField(`${name}.PROC`, 1);
    const alarm = (name: string) => [
      db.getField(`${name}.UDF`),
      ALARM_STATUS_NAMES[db.getField(`${name}.STAT`) as number],
      ALARM_SEVERITY_NAMES[db.getField(`${name}.SEVR`) as number],
      db.getField(`${name}.AMSG`),
    ];
    assert.deepStrictEqual(
      cases.map(([name]) => [name, ...alarm(name)]),
      cases.map(([name, , , ...expected]) => [name, ...expected]),
    );
  },
);

Deno.test(
  { ...opts, name: "array puts define VAL; an undefined mbbo gets no time stamp" },
  async () => {
    using db = startIoc([
      rec("waveform", "W:wf", { NELM: "3", FTVL: "DOUBLE" }),
      rec("waveform", "W:ev", { NELM: "3", SCAN: "Event", EVNT: "77" }),
      rec("mbbo", "M:o"),
    ]);
    // softIoc: caput -a W:wf 0 (no elements) leaves it defined, NO_ALARM.
    await db.putField("W:wf", new Float64Array(0));
    assert.deepStrictEqual(
      [db.getField("W:wf.UDF"), db.getField("W:wf.SEVR"), db.getField("W:wf.NORD")],
      [0, 0, 0],
    );
    // A put that does not process (the record is not passive) defines it too.
    await db.putField("W:ev", Float64Array.from([1]));
    assert.equal(db.getField("W:ev.UDF"), 0);
    // caget -a M:o: <undefined> 0 UDF INVALID.
    await db.putField("M:o.PROC", 1);
    assert.deepStrictEqual(db.record("M:o")!.time, { secPastEpoch: 0, nsec: 0 });
    assert.equal(db.getField("M:o.SEVR"), AlarmSeverity.INVALID);
    await db.putField("M:o", 1);
    assert.notEqual(db.record("M:o")!.time.secPastEpoch, 0);
  },
);

Deno.test(
  { ...opts, name: "bi/bo keep any VAL; enum text and numeric puts follow the states" },
  async () => {
    // softIoc 7.0.8.1: dbgf shows "Illegal_Value" for a bi/bo VAL of 5, "Illegal Value"
    // for an mbbi past its states; dbpf takes a number only below the number of states.
    using db = startIoc([
      rec("ao", "E:src", { VAL: "5", FLNK: "E:bi" }),
      rec("bi", "E:bi", { INP: "E:src", ZNAM: "off", ONAM: "on", FLNK: "E:bo6" }),
      rec("bo", "E:bo6", { DOL: "E:src", OMSL: "closed_loop", FLNK: "E:s" }),
      rec("stringin", "E:s", { INP: "E:mns" }),
      rec("bo", "E:bo", { VAL: "5", ZNAM: "off", ONAM: "on" }),
      rec("bo", "E:bo3", { ZNAM: "off" }),
      rec("bo", "E:bo4"),
      rec("mbbo", "E:mo", { ZRST: "a", ONST: "b", TWST: "c" }),
      rec("mbbi", "E:mns", { VAL: "20" }),
    ]);
    await db.putField("E:src.PROC", 1);
    await db.putField("E:bo.PROC", 1);
    const text = (name: string) => db.fieldText(db.record(name)!, "VAL");
    assert.deepStrictEqual(
      ["E:bi", "E:bo6", "E:bo", "E:mns", "E:s"].map(text),
      ["Illegal_Value", "Illegal_Value", "Illegal_Value", "Illegal Value", "Illegal Value"],
    );
    // Without a MASK, RVAL is VAL itself.
    assert.deepStrictEqual([db.getField("E:bo.RVAL"), db.getField("E:bo6.RVAL")], [5, 5]);
    assert.deepStrictEqual(db.record("E:bo3")!.support.meta!(db.record("E:bo3")!).choices, [
      "off",
    ]);
    await assert.rejects(() => db.putField("E:bo3", "1"));
    await db.putField("E:bo4", "1");
    assert.equal(db.getField("E:bo4"), 1);
    await assert.rejects(() => db.putField("E:mo", "7"));
    await db.putField("E:mo", "2");
    assert.equal(text("E:mo"), "c");
    await db.putField("E:mo", 7);
    assert.equal(text("E:mo"), "");
  },
);

Deno.test(
  { ...opts, name: "numbers read into integer fields are cast as base casts a double" },
  async () => {
    using db = startIoc([
      rec("ao", "C:src", { FLNK: "C:fan" }),
      rec("fanout", "C:fan", {
        LNK0: "C:li",
        LNK1: "C:bi",
        LNK2: "C:mbbid",
        LNK3: "C:lo",
        LNK4: "C:bo",
        LNK5: "C:fan2",
      }),
      rec("fanout", "C:fan2", { LNK0: "C:rmbbi", LNK1: "C:rai", LNK2: "C:wf", LNK3: "C:i64" }),
      rec("longin", "C:li", { INP: "C:src" }),
      rec("bi", "C:bi", { INP: "C:src" }),
      rec("mbbiDirect", "C:mbbid", { INP: "C:src" }),
      rec("longout", "C:lo", { DOL: "C:src", OMSL: "closed_loop" }),
      rec("bo", "C:bo", { DOL: "C:src", OMSL: "closed_loop" }),
      rec("mbbi", "C:rmbbi", { INP: "C:src", DTYP: "Raw Soft Channel" }),
      rec("ai", "C:rai", { INP: "C:src", DTYP: "Raw Soft Channel" }),
      rec("waveform", "C:wf", { INP: "C:src", FTVL: "SHORT", NELM: "2" }),
      rec("int64in", "C:i64", { INP: "C:src" }),
    ]);
    const names = ["C:li", "C:bi", "C:mbbid", "C:lo", "C:bo.RVAL", "C:rmbbi.RVAL", "C:rai"];
    const read =
      () => [...names.map((n) => db.getField(n)), (db.getField("C:wf") as Int16Array)[0]];
    // What softIoc 7.0.8.1's dbgf shows after `dbpf C:src ...`.
    await db.putField("C:src", 1e12);
    assert.deepStrictEqual(read(), [
      -2147483648,
      0,
      -727379968,
      -2147483648,
      0,
      2147483648,
      -2147483648,
      0,
    ]);
    await db.putField("C:src", 70000);
    assert.deepStrictEqual(read(), [70000, 4464, 70000, 70000, 4464, 70000, 70000, 4464]);
    await db.putField("C:src", NaN);
    assert.deepStrictEqual(read(), [-2147483648, 0, 0, -2147483648, 0, 2147483648, -2147483648, 0]);
    assert.equal(db.getField("C:i64"), -(2 ** 63));
  },
);

Deno.test(
  { ...opts, name: "MLST/ALST/LALM and PVAL start at VAL only where base's init_record does so" },
  async () => {
    using db = startIoc([
      rec("ai", "L:ai", { INP: "5" }),
      rec("calc", "L:calc", { VAL: "5", CALC: "VAL" }),
      rec("sel", "L:sel", { VAL: "5" }),
      rec("dfanout", "L:df", { VAL: "5" }),
      rec("calcout", "L:co", { VAL: "5", OVAL: "3" }),
      rec("longout", "L:lo", { VAL: "5" }),
      rec("longin", "L:li", { VAL: "5" }),
    ]);
    // softIoc 7.0.8.1's dbgf right after iocInit.
    const last = (n: string) => ["MLST", "ALST", "LALM"].map((f) => db.getField(`${n}.${f}`));
    for (const n of ["L:ai", "L:calc", "L:sel", "L:df"]) assert.deepStrictEqual(last(n), [0, 0, 0]);
    for (const n of ["L:co", "L:lo", "L:li"]) assert.deepStrictEqual(last(n), [5, 5, 5]);
    assert.deepStrictEqual(
      [db.getField("L:co.PVAL"), db.getField("L:co.POVL"), db.getField("L:lo.PVAL")],
      [5, 3, 5],
    );
    // So the ai's first processing posts its VAL (camonitor -m v sees it).
    const masks: number[] = [];
    db.watch(db.record("L:ai")!, "VAL", (m) => masks.push(m));
    await db.putField("L:ai.PROC", 1);
    assert.ok(masks.length === 1 && (masks[0] & PvChange.VALUE) !== 0, String(masks));
  },
);

Deno.test({ ...opts, name: "calcout OCAL's VAL operand reads OVAL" }, async () => {
  using db = startIoc([
    rec("calcout", "O:co", { CALC: "5", OCAL: "VAL+1", DOPT: "Use OCAL" }),
    rec("calcout", "O:co2", {
      CALC: "A",
      INPA: "3",
      OCAL: "VAL*2+A",
      DOPT: "Use OCAL",
      OVAL: "7",
    }),
  ]);
  // softIoc 7.0.8.1: dbpf O:co.PROC 1 twice gives OVAL 1 then 2 (VAL stays 5); O:co2's
  // OVAL goes from 7 to 17.
  await db.putField("O:co.PROC", 1);
  assert.equal(db.getField("O:co.OVAL"), 1);
  await db.putField("O:co.PROC", 1);
  assert.deepStrictEqual([db.getField("O:co.OVAL"), db.getField("O:co.VAL")], [2, 5]);
  await db.putField("O:co2.PROC", 1);
  assert.deepStrictEqual([db.getField("O:co2.OVAL"), db.getField("O:co2.VAL")], [17, 3]);
});

Deno.test(
  { ...opts, name: "constant INP/DOL/SIML/SIOL text loads as base's dbConstLoadScalar" },
  () => {
    using db = startIoc([
      rec("ai", "K:ai", { INP: "nan", VAL: "9" }),
      rec("ao", "K:ao", { DOL: "nan", VAL: "9" }),
      rec("longin", "K:li", { INP: "1e3", VAL: "9" }),
      rec("longin", "K:li8", { INP: "010", VAL: "9" }),
      rec("longin", "K:lix", { INP: ".5", VAL: "9" }),
      rec("mbbiDirect", "K:mbbid", { INP: "3000000000", VAL: "9" }),
      rec("mbboDirect", "K:mbbod", { DOL: "-1.5", VAL: "9" }),
      rec("stringin", "K:si", { INP: " nan(12) ", VAL: "nine" }),
      rec("calc", "K:calc", { INPA: "0x1p3", CALC: "A" }),
      rec("seq", "K:seq", { DOL0: "-inf" }),
      rec("ai", "K:rai", { DTYP: "Raw Soft Channel", INP: "1e3", RVAL: "9" }),
      rec("bi", "K:rbi", { DTYP: "Raw Soft Channel", INP: "1e3", RVAL: "9" }),
      rec("ai", "K:sim", { SIML: "1e3" }),
      rec("ai", "K:simn", { SIML: "70000" }),
      rec("mbbiDirect", "K:siol", { SIOL: "-3000000000" }),
      rec("longin", "K:json", { INP: '{const: "010"}' }),
      rec("longin", "K:jsonx", { INP: '{const: "0x10"}' }),
      rec("event", "K:ev", { INP: "-inf" }),
    ]);
    // softIoc 7.0.8.1's dbgf after iocInit.
    const got = (n: string) => db.getField(n);
    assert.ok(Number.isNaN(got("K:ai")) && Number.isNaN(got("K:ao")));
    assert.deepStrictEqual([got("K:ai.UDF"), got("K:ao.UDF")], [0, 1]);
    assert.deepStrictEqual([got("K:li"), got("K:li8"), got("K:lix")], [1, 8, 9]);
    assert.deepStrictEqual([got("K:mbbid"), got("K:mbbod")], [-1294967296, -1]);
    assert.deepStrictEqual([got("K:si"), got("K:calc.A"), got("K:seq.DO0")], [
      "nan(12)",
      8,
      -Infinity,
    ]);
    // The raw soft supports load RVAL (ai as LONG, bi as ULONG) and leave UDF.
    assert.deepStrictEqual([got("K:rai.RVAL"), got("K:rai.UDF"), got("K:rbi.RVAL")], [1, 1, 1000]);
    // SIML loads as USHORT: "1e3" is 1 (YES), "70000" does not fit and leaves NO.
    assert.deepStrictEqual([got("K:sim.SIMM"), got("K:simn.SIMM")], [1, 0]);
    assert.equal(got("K:siol.SVAL"), 1294967296);
    assert.deepStrictEqual([got("K:json"), got("K:jsonx"), got("K:ev")], [10, 0, "-inf"]);
  },
);

Deno.test({ ...opts, name: "printf reads a constant INPn as its conversion's type" }, async () => {
  const fmts: [string, string, string][] = [
    ["%hhd", "200", "LNK"],
    ["%hhu", "-1", "255"],
    ["%hu", "-0x10", "65520"],
    ["%d", "1e3", "1"],
    ["%u", "1e3", "1000"],
    ["%d", "1.5", "1"],
    ["%lld", "3000000000", "3000000000"],
    ["%llu", "-3000000000", "18446744070709551616"],
    ["%hf", "4e38", "LNK"],
    ["%.0f", "4e38", "399999999999999990995239293824136118272"],
    ["%f", "nan", "nan"],
    ["%s", "010", "010"],
  ];
  using db = startIoc(
    fmts.map(([fmt, inp], i) => rec("printf", `P:${i}`, { FMT: fmt, INP0: inp })),
  );
  // softIoc 7.0.8.1's VAL after processing each.
  for (let i = 0; i < fmts.length; i++) await db.putField(`P:${i}.PROC`, 1);
  assert.deepStrictEqual(fmts.map((_f, i) => db.getField(`P:${i}`)), fmts.map((f) => f[2]));
  assert.equal(db.getField("P:0.SEVR"), 0);
});

Deno.test(
  {
    ...opts,
    name: "arrays with NELM 1 and mbbiDirect bits start as base's init_record leaves them",
  },
  () => {
    using db = startIoc([
      rec("waveform", "N:wf", { FTVL: "DOUBLE", NELM: "5" }),
      rec("waveform", "N:wf1", { FTVL: "DOUBLE", NELM: "1", INP: "N:wf" }),
      rec("aai", "N:aai1", { FTVL: "DOUBLE", NELM: "1" }),
      rec("aai", "N:aai1p", { FTVL: "DOUBLE", NELM: "1", INP: "N:wf" }),
      rec("aai", "N:aai2", { FTVL: "DOUBLE", NELM: "2" }),
      rec("aao", "N:aao1", { FTVL: "DOUBLE", NELM: "1", OUT: "N:wf" }),
      rec("subArray", "N:sa1", { FTVL: "DOUBLE", MALM: "1", NELM: "1" }),
      rec("mbbiDirect", "N:md", { VAL: "5" }),
      rec("mbbiDirect", "N:md2", { VAL: "-2147483647" }),
      rec("mbbiDirect", "N:md3", { INP: "6" }),
      rec("mbbiDirect", "N:mdr", { DTYP: "Raw Soft Channel", VAL: "3" }),
    ]);
    // softIoc 7.0.8.1 (caget after iocInit): only an aai with NELM 1 starts with one element.
    const nord = ["N:wf1", "N:aai1", "N:aai1p", "N:aai2", "N:aao1", "N:sa1"].map((n) =>
      db.getField(`${n}.NORD`)
    );
    assert.deepStrictEqual(nord, [0, 1, 1, 0, 0, 0]);
    const bits = (n: string, b: string[]) => b.map((x) => db.getField(`${n}.${x}`));
    assert.deepStrictEqual(bits("N:md", ["B0", "B1", "B2", "B3"]), [1, 0, 1, 0]);
    assert.deepStrictEqual(bits("N:md2", ["B0", "B1", "B1E", "B1F"]), [1, 0, 0, 1]);
    assert.deepStrictEqual(bits("N:md3", ["B0", "B1", "B2"]), [0, 1, 1]);
    assert.deepStrictEqual(bits("N:mdr", ["B0", "B1", "B2"]), [1, 1, 0]);
  },
);

Deno.test(
  { ...opts, name: "a DTYP put takes effect with the next INP put, as base's dbPutFieldLink" },
  async () => {
    using db = startIoc([
      rec("ao", "D:src", { VAL: "7" }),
      rec("ai", "D:ai", { INP: "D:src" }),
      rec("stringin", "D:si", { VAL: "x" }),
      rec("mbbiDirect", "D:md"),
    ], { devices: [environDevice(() => undefined)] });
    // softIoc 7.0.8.1 through caput/caget: the DTYP field changes, the soft support stays.
    await db.putField("D:ai.DTYP", "Raw Soft Channel");
    await db.putField("D:ai.PROC", 1);
    assert.deepStrictEqual([db.getField("D:ai"), db.getField("D:ai.RVAL")], [7, 0]);
    // Writing INP brings in the raw support (no init_record): RVAL now reads the source.
    await db.putField("D:ai.INP", "D:src");
    await db.putField("D:ai.PROC", 1);
    assert.deepStrictEqual([db.getField("D:ai"), db.getField("D:ai.RVAL")], [7, 7]);
    // getenv takes only an "@NAME" link; a soft support refuses one.
    await db.putField("D:si.DTYP", "getenv");
    await assert.rejects(db.putField("D:si.INP", "D:src"));
    await db.putField("D:si.INP", "@UNSET");
    await db.putField("D:si.PROC", 1);
    assert.deepStrictEqual([db.getField("D:si"), db.getField("D:si.SEVR")], ["", 3]);
    await db.putField("D:si.DTYP", "Soft Channel");
    await assert.rejects(db.putField("D:si.INP", "@HOME"));
    assert.equal(db.getField("D:si.INP"), "@UNSET");
    // caput D:md.SHFT -1: base stores 65535 (a USHORT from "-1").
    await db.putField("D:md.SHFT", "-1");
    assert.equal(db.getField("D:md.SHFT"), 65535);
  },
);

Deno.test(
  { ...opts, name: "waveform, aai and aao compute and post HASH for On Change" },
  async () => {
    using db = startIoc([
      rec("waveform", "H:wfd", { FTVL: "DOUBLE", NELM: "4", MPST: "On Change" }),
      rec("aai", "H:aai", { FTVL: "LONG", NELM: "4", MPST: "On Change" }),
      rec("aao", "H:aao", { FTVL: "SHORT", NELM: "4", APST: "On Change" }),
      rec("waveform", "H:wfa", { FTVL: "DOUBLE", NELM: "4" }),
    ]);
    const posts: string[] = [];
    for (const n of ["H:wfd", "H:wfa"]) {
      for (const f of ["VAL", "HASH"]) {
        db.watch(db.record(n)!, f, (m) => {
          if (m & PvChange.VALUE) posts.push(`${n}.${f}`);
        });
      }
    }
    // softIoc 7.0.8.1, caput -a then caget -f0 of HASH (epicsMemHash of the NORD elements).
    await db.putField("H:wfd", new Float64Array([1.5, 2, -7]));
    await db.putField("H:aai", new Float64Array([5, -1]));
    await db.putField("H:aao", new Float64Array([1, 2, 3]));
    await db.putField("H:wfa", new Float64Array([4]));
    const hashes = ["H:wfd", "H:aai", "H:aao", "H:wfa"].map((n) => db.getField(`${n}.HASH`));
    assert.deepStrictEqual(hashes, [1707702713, 4186028949, 2987656655, 0]);
    // HASH is posted before VAL; the same values again post neither with DBE_VALUE
    // (camonitor; APST stays Always, so archive monitors still get VAL).
    assert.deepStrictEqual(posts, ["H:wfd.HASH", "H:wfd.VAL", "H:wfa.VAL"]);
    posts.length = 0;
    await db.putField("H:wfd", new Float64Array([1.5, 2, -7]));
    assert.deepStrictEqual(posts, []);
  },
);
