/**
 * Interop: our CA client against EPICS base's softIoc (RSRV). Runs only when `softIoc`
 * is on PATH (e.g. PATH=/opt/epics/bin:$PATH); skipped otherwise, as in CI.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaStatusError } from "../lib/core/errors.ts";
import { Dbe, Dbr } from "../lib/ca/proto/constants.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import { startTestRepeater } from "./_helpers/ca_repeater.ts";

function findOnPath(cmd: string): string | undefined {
  let path = "";
  try {
    path = Deno.env.get("PATH") ?? "";
  } catch {
    return undefined;
  }
  for (const dir of path.split(":")) {
    if (!dir) continue;
    try {
      const p = join(dir, cmd);
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const softIoc = findOnPath("softIoc");

const DB = `
record(ai, "sx:ai") {
  field(VAL, "3.14159") field(PREC, "3") field(EGU, "mm") field(HOPR, "10") field(LOPR, "-10")
  field(HIGH, "5") field(HSV, "MINOR") field(PINI, "YES")
}
record(ao, "sx:ao") { field(PREC, "2") field(DRVH, "100") field(DRVL, "-100") }
record(bo, "sx:bo") { field(ZNAM, "Off") field(ONAM, "On") }
record(mbbi, "sx:mbbi") {
  field(ZRST, "zero") field(ONST, "one") field(TWST, "two") field(VAL, "1") field(PINI, "YES")
}
record(stringin, "sx:si") { field(VAL, "hello") field(PINI, "YES") }
record(waveform, "sx:wf") { field(FTVL, "DOUBLE") field(NELM, "10") }
record(waveform, "sx:text") { field(FTVL, "CHAR") field(NELM, "40") }
record(longout, "sx:lo") { field(VAL, "7") field(PINI, "YES") }
`;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = l.addr.port;
  l.close();
  return p;
}

Deno.test({
  name: "CA client interop with softIoc: types, puts, monitors, dynamic arrays",
  ignore: !softIoc,
  async fn() {
    const dir = await Deno.makeTempDir();
    const db = join(dir, "t.db");
    await Deno.writeTextFile(db, DB);
    // Ours for softIoc's libca, which then starts no caRepeater that would outlive the test.
    await using rep = startTestRepeater();
    let port = freePort();
    while (port === rep.port) port = freePort(); // the IOC's UDP port must differ

    const env = {
      EPICS_CA_SERVER_PORT: String(port),
      ...rep.env,
      EPICS_CAS_INTF_ADDR_LIST: "127.0.0.1",
      EPICS_CAS_AUTO_BEACON_ADDR_LIST: "NO",
      EPICS_CAS_BEACON_ADDR_LIST: "127.0.0.1",
      EPICS_CA_AUTO_ADDR_LIST: "NO",
      EPICS_CA_ADDR_LIST: "127.0.0.1",
    };
    const ioc = new Deno.Command(softIoc!, {
      args: ["-d", db],
      env,
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const ctx = new CaContext({
      repeater: false,
      config: epicsConfigFrom({ ...env, EPICS_CA_ADDR_LIST: `127.0.0.1:${port}` }).ca,
    });
    try {
      const names = ["sx:ai", "sx:ao", "sx:bo", "sx:mbbi", "sx:si", "sx:wf", "sx:text", "sx:lo"];
      const ch = Object.fromEntries(names.map((n) => [n, ctx.channel(n)]));
      await Promise.all(Object.values(ch).map((c) => c.connected(10)));
      assert.equal(ch["sx:ai"].nativeType, Dbr.DOUBLE);
      assert.equal(ch["sx:bo"].nativeType, Dbr.ENUM);
      assert.equal(ch["sx:si"].nativeType, Dbr.STRING);
      assert.equal(ch["sx:text"].nativeType, Dbr.CHAR);
      assert.equal(ch["sx:text"].count, 40);
      assert.equal(ch["sx:lo"].nativeType, Dbr.LONG);
      assert.ok(ch["sx:ai"].serverMinor >= 13);
      // Every DBR type 0..34 decodes for every channel (or comes back as a status).
      for (const c of Object.values(ch)) {
        for (let t = 0; t <= 34; t++) {
          try {
            const r = await c.get({ dbrType: t });
            assert.equal(r.dbrType, t);
          } catch (e) {
            assert.ok(e instanceof CaStatusError, `${c.name} type ${t}: ${e}`);
          }
        }
      }
      assert.deepEqual((await ch["sx:ai"].get({ dbrType: Dbr.STRING })).data.value, ["3.142"]);
      const ctrl = (await ch["sx:ai"].get({ dbrType: Dbr.CTRL_DOUBLE })).data.meta;
      assert.equal(ctrl.units, "mm");
      assert.equal(ctrl.precision, 3);
      assert.equal(ctrl.upperDispLimit, 10);
      assert.deepEqual(
        (await ch["sx:mbbi"].get({ dbrType: Dbr.CTRL_ENUM })).data.meta.enumStrings?.slice(0, 3),
        ["zero", "one", "two"],
      );
      assert.deepEqual((await ch["sx:mbbi"].get({ dbrType: Dbr.STRING })).data.value, ["one"]);
      assert.deepEqual((await ch["sx:si"].get()).data.value, ["hello"]);

      // Puts with completion, as text and numbers; enum state names.
      await ch["sx:ao"].put(12.5, { wait: true });
      assert.equal((await ch["sx:ao"].get()).data.value[0], 12.5);
      await ch["sx:bo"].put("On", { wait: true });
      assert.equal((await ch["sx:bo"].get()).data.value[0], 1);
      await ch["sx:si"].put("world", { wait: true });
      assert.deepEqual((await ch["sx:si"].get()).data.value, ["world"]);
      await ch["sx:text"].put("long text here", { wait: true });
      const text = (await ch["sx:text"].get({ count: 0 })).data.value as Uint8Array;
      assert.equal(new TextDecoder().decode(text).replace(/\0+$/, ""), "long text here");
      await ch["sx:lo"].put(9);
      assert.equal((await ch["sx:lo"].get()).data.value[0], 9);
      // Dynamic array: count 0 gives NORD elements.
      await ch["sx:wf"].put([1, 2, 3], { wait: true });
      const wf = await ch["sx:wf"].get({ count: 0, dbrType: Dbr.TIME_DOUBLE });
      assert.equal(wf.count, 3);
      assert.deepEqual(Array.from(wf.data.value as Float64Array), [1, 2, 3]);

      // A monitor with the alarm mask sees severity changes only.
      const sev: number[] = [];
      const s = ch["sx:ai"].subscribe(
        { dbrType: Dbr.TIME_DOUBLE, mask: Dbe.ALARM },
        (u) => {
          if (!("error" in u)) sev.push(u.data.meta.severity);
        },
      );
      const vals: number[] = [];
      ch["sx:ao"].subscribe({ mask: Dbe.VALUE }, (u) => {
        if (!("error" in u)) vals.push(u.data.value[0] as number);
      });
      const end = performance.now() + 5000;
      while ((sev.length < 1 || vals.length < 1) && performance.now() < end) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await ch["sx:ai"].put(7, { wait: true }); // above HIGH: MINOR
      await ch["sx:ai"].put(8, { wait: true }); // same severity: no alarm update
      await ch["sx:ao"].put(1, { wait: true });
      await ch["sx:ao"].put(2, { wait: true });
      const end2 = performance.now() + 5000;
      while ((sev.length < 2 || vals.length < 3) && performance.now() < end2) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(sev, [0, 1]);
      assert.deepEqual(vals, [12.5, 1, 2]);
      s.cancel();
    } finally {
      await ctx.close();
      const w = ioc.stdin.getWriter();
      await w.write(new TextEncoder().encode("exit\n")).catch(() => {});
      await w.close().catch(() => {});
      await ioc.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
