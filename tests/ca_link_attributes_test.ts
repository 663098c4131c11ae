/**
 * CA links to another IOC as base's dbCa keeps them: the PV's attributes (a DBR_CTRL_DOUBLE
 * get per connection) answer the units, precision, display and alarm limits of the fields
 * that describe themselves by their link (calc's A, seq's DOn); an ENUM PV read as a string
 * gets a DBR_STRING monitor (dbcar's IS flag); dbcar names the server host:port. Checked
 * against softIoc 7.0.8.1 (tests/softioc_links_test.ts and the report of the change).
 * @module
 */

import assert from "node:assert/strict";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { IocDatabase } from "../lib/ioc/database.ts";
import { caLinkFactory } from "../lib/ioc/ca_link.ts";
import { fieldMeta } from "../lib/ioc/provider.ts";
import { IocShell } from "../lib/ioc/shell.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { LOOPBACK_ENV } from "./_helpers/pvserve.ts";
import { rec, serveIoc } from "./_helpers/ioc.ts";

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(f());
}

/** An ai with units, precision, display limits and two alarm limits with severities. */
const AI_LIMITS = {
  EGU: "mm",
  PREC: "3",
  HOPR: "10",
  LOPR: "-10",
  HIHI: "8",
  HHSV: "MAJOR",
  LOW: "-5",
  LSV: "MINOR",
};

Deno.test("CA links: attributes of the remote PV, IS flag and host name as dbCa has them", async () => {
  const remote = new IocDatabase();
  remote.load([
    rec("ai", "t:ai", { ...AI_LIMITS, VAL: "1.5" }),
    rec("longin", "t:long", { EGU: "cnt", HOPR: "100", LOPR: "0", VAL: "7" }),
    rec("stringin", "t:str", { VAL: "hello" }),
    rec("bo", "t:bo", { ZNAM: "Off", ONAM: "On", VAL: "1" }),
  ]);
  remote.init();
  await using ioc = await serveIoc(remote);
  await using ctx = new CaContext({
    config:
      epicsConfigFrom({ ...LOOPBACK_ENV, EPICS_CA_ADDR_LIST: `127.0.0.1:${ioc.ca.udpPort}` }).ca,
    repeater: false,
  });
  const db = new IocDatabase({
    remoteLinks: caLinkFactory(ctx, { hostName: (ip) => (ip === "127.0.0.1" ? "lo-name" : ip) }),
  });
  db.load([
    rec("calc", "l:calc", {
      INPA: "t:ai CA",
      INPB: "t:long CA",
      INPC: "t:str CA",
      CALC: "A+B",
      PREC: "5",
    }),
    rec("seq", "l:seq", { DOL0: "t:ai CA", PREC: "2" }),
    rec("stringin", "l:si", { INP: "t:bo CA" }),
  ]);
  db.init();
  try {
    const calc = db.record("l:calc")!;
    const meta = (r: string, f: string) => {
      const x = db.record(r)!;
      return fieldMeta(db, x, x.type.byName.get(f)!);
    };
    await until(() =>
      db.remoteAttributes(calc, "INPA") !== undefined &&
      db.remoteAttributes(calc, "INPB") !== undefined &&
      db.remoteConnected(calc, "INPC")
    );
    // What softIoc 7.0.8.1 answered (caget -d DBR_CTRL_DOUBLE l:calc.A etc.).
    const a = meta("l:calc", "A");
    assert.equal(a.units, "mm");
    assert.equal(a.precision, 3);
    assert.deepEqual(a.display, [-10, 10]);
    assert.deepEqual(a.control, [-1e300, 1e300]);
    assert.deepEqual(a.alarm?.limits, [NaN, -5, NaN, 8]);
    const b = meta("l:calc", "B");
    assert.equal(b.units, "cnt");
    assert.equal(b.precision, 0);
    assert.deepEqual(b.display, [0, 100]);
    // A DBF_STRING PV has no attributes: the record's PREC, no units or limits.
    const c = meta("l:calc", "C");
    assert.equal(c.units, "");
    assert.equal(c.precision, 5);
    assert.deepEqual(c.display, [0, 0]);
    const s = db.record("l:seq")!;
    await until(() => db.remoteAttributes(s, "DOL0") !== undefined);
    const do1 = meta("l:seq", "DO1");
    assert.equal(do1.units, "mm");
    assert.equal(do1.precision, 3);
    // An ENUM PV read as a string: its own DBR_STRING monitor (the first read fails, as
    // dbCa's does before the string's first update).
    const si = db.record("l:si")!;
    await until(() => db.remoteConnected(si, "INP"));
    await until(() => {
      db.process(si);
      return db.getField("l:si") === "On";
    });
    const out: string[] = [];
    const shell = new IocShell(db, {
      readFile: () => undefined,
      out: (t) => out.push(t),
      err: () => {},
      env: new Map(),
    });
    await shell.execute("dbcar l:si 2");
    assert.equal(
      out.join(""),
      "CA links in record named 'l:si'\n\n" +
        `                        l:si.INP  ==> t:bo                          (0, 0)\n` +
        `                      [INIS    ] host lo-name:${ioc.ca.tcpPort}, Read/Write\n\n` +
        "Total 1 CA link; 1 connected, 0 not connected.\n" +
        "    0 can't read, 0 can't write.  (0 disconnects, 0 writes prohibited)\n\n",
    );
  } finally {
    db.close();
  }
});

Deno.test("CA links to records of the same IOC get the attributes dbCa fetches in-process", () => {
  const db = new IocDatabase();
  db.load([
    rec("ai", "x:ai", AI_LIMITS),
    rec("waveform", "x:wd", { FTVL: "DOUBLE", NELM: "3", EGU: "V", PREC: "2", HOPR: "5" }),
    rec("waveform", "x:ws", { NELM: "3", EGU: "S", PREC: "2", HOPR: "5" }),
    rec("calc", "x:calc", {
      INPA: "x:ai CA",
      INPB: "x:wd CA",
      INPC: "x:ws CA",
      INPD: "x:ai.DESC CA",
      INPE: "x:ai.INP CA",
      INPF: "x:ai.HIHI CA",
      PREC: "5",
    }),
  ]);
  db.init();
  try {
    const calc = db.record("x:calc")!;
    const meta = (f: string) => fieldMeta(db, calc, calc.type.byName.get(f)!);
    // What softIoc 7.0.8.1 answers for the same records (tests/fixtures/ioc/parity_rec.db).
    const a = meta("A");
    assert.equal(a.units, "mm");
    assert.equal(a.precision, 3);
    assert.deepEqual(a.display, [-10, 10]);
    assert.deepEqual(a.alarm?.limits, [NaN, -5, NaN, 8]);
    assert.deepEqual(a.alarm?.severities, [0, 0, 0, 0]);
    const b = meta("B");
    assert.equal(b.units, "V");
    assert.equal(b.precision, 2);
    assert.deepEqual(b.display, [0, 5]);
    // DBF_STRING PVs (a waveform of the default FTVL STRING, a string field, a link field)
    // have none: the record's own PREC and no units or limits.
    for (const f of ["C", "D", "E"]) {
      const m = meta(f);
      assert.equal(m.units, "", f);
      assert.equal(m.precision, 5, f);
      assert.deepEqual(m.display, [0, 0], f);
    }
    assert.equal(meta("F").units, "mm");
  } finally {
    db.close();
  }
});
