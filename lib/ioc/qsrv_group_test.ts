import assert from "node:assert/strict";
import type { PvSnapshot } from "../pv/types.ts";
import { IocProvider } from "./provider.ts";
import { rec, startIoc } from "./_testing.ts";

const opts = { permissions: "none" } as const;

function withGroup(type: string, name: string, json: string, line = 1) {
  const r = rec(type, name, {}, line);
  r.infos.push({ name: "Q:group", value: json, file: "t.db", line });
  return r;
}

// The definitions of tests/fixtures/ioc/qsrv_group.db's first records, as softIocPVA 7.0.8.1
// serves them: pvxinfo g:grp lists record, alarm, timeStamp, a{b}, e, s, xm, y, x, w.
const DEFS = () => [
  withGroup(
    "ai",
    "g:x",
    `{"g:grp": {"+id": "my/grp:1.0",
      "x": {"+type":"scalar", "+channel":"VAL", "+trigger":"*", "+putorder":1},
      "xm": {"+type":"meta", "+channel":"VAL"}}}`,
  ),
  withGroup(
    "longout",
    "g:y",
    `{"g:grp": {"y": {"+type":"plain", "+channel":"VAL", "+trigger":"y", "+putorder":0},
      "a.b": {"+type":"any", "+channel":"VAL"},
      "p": {"+type":"proc", "+channel":"PROC", "+putorder":2}}}`,
  ),
  withGroup(
    "mbbo",
    "g:e",
    `{"g:grp": {"e": {"+channel":"VAL"}, "": {"+type":"meta", "+channel":"SEVR"}}}`,
  ),
  withGroup("stringout", "g:s", `{"g:grp": {"s": {"+channel":"VAL", "+trigger":""}}}`),
  withGroup("waveform", "g:w", `{"g:grp": {"w": {"+channel":"VAL", "+putorder":3}}}`),
];

Deno.test({ ...opts, name: "Q:group: members merged over records, in QSRV's order" }, () => {
  using db = startIoc(DEFS());
  const p = new IocProvider(db);
  const g = p.lookup("g:grp")!;
  assert.equal(g.type.kind, "structure");
  assert.equal(g.type.id, "my/grp:1.0");
  assert.deepStrictEqual(
    g.type.members!.map((m) => `${m.name}:${m.type.kind}`),
    [
      "record:structure",
      "alarm:alarm",
      "timeStamp:timeStamp",
      "a:structure",
      "e:pv",
      "s:pv",
      "xm:structure",
      "y:value",
      "x:pv",
      "w:pv",
    ],
  );
  const v = g.snapshot().value as Record<string, unknown>;
  assert.deepStrictEqual(v.record, { _options: { queueSize: 0, atomic: true } });
  assert.equal(v.y, 0);
  assert.deepStrictEqual((v.a as Record<string, unknown>).b, {
    scalar: "int32",
    array: false,
    value: 0,
  });
  assert.equal((v.x as PvSnapshot).display.units, "");
  assert.deepStrictEqual(db.warnings, []);
  // Groups are PVA only: names lists them, the CA view leaves them out (caCanServe).
  assert.ok([...p.names()].includes("g:grp"));
});

Deno.test({ ...opts, name: "Q:group: triggers decide which members an update marks" }, async () => {
  using db = startIoc(DEFS());
  const p = new IocProvider(db);
  const g = p.lookup("g:grp")!;
  const seen: string[][] = [];
  const stop = g.subscribe((s) => seen.push([...s.changed!.keys()]));
  // softIocPVA: caput g:x 5 ("*") posts every member; caput g:y 3 ("y") y alone; g:e
  // (no trigger, in a group with triggers) and g:s ("") nothing.
  await db.putField("g:x", 5);
  await db.putField("g:y", 3);
  await db.putField("g:e", 1);
  await db.putField("g:s", "hi");
  stop();
  assert.deepStrictEqual(seen, [
    ["alarm", "timeStamp", "a.b", "e", "s", "xm.alarm", "xm.timeStamp", "y", "x", "w"],
    ["y"],
  ]);
});

Deno.test(
  { ...opts, name: "Q:group: definition errors name the record and do not stop the IOC" },
  () => {
    using db = startIoc([
      withGroup(
        "ai",
        "b:a",
        `{"b:g": {"v": {"+channel":"VAL"}}, "b:a": {"v": {"+channel":"VAL"}}}`,
        3,
      ),
      withGroup("ai", "b:b", `{"b:h": {"v": {"+channel":"NOPE"}}}`, 7),
      withGroup("ai", "b:c", `{"b:i": {"v": {"+type":"bogus", "+channel":"VAL"}}}`, 9),
      withGroup("ai", "b:d", `{"b:j": {"v": {"x": {"y": 1}}}}`, 11),
      withGroup("ai", "b:e", `{"b:k": {"v": {"+channel":"INP"}, "+what": 1}}`, 13),
      withGroup("ai", "b:f", `{"b:l": {"v": {"+channel":"VAL", "+trigger":"nope"}}}`, 15),
    ]);
    const p = new IocProvider(db);
    assert.deepStrictEqual([...p.groups().keys()], ["b:g", "b:l"]);
    assert.deepStrictEqual(db.warnings, [
      `t.db:11: b:d: Error parsing info("Q:group", ...): "b:j.v" x can't be an object (too deep)`,
      "t.db:13: b:e: warning(s) from info(Q:group, ...): Unknown group option +what",
      "b:a : Error: Group name conflicts with record name.  Ignoring...",
      'b:h: Error Group not created: field "v": no channel "b:b.NOPE"',
      "b:i: Error Group not created: Unknown +type=bogus",
      "b:k: Error Group not created: Can't include link fields in group",
      'Error: Group "b:l" defines triggers to non-existent field "nope"',
    ]);
  },
);

Deno.test({ ...opts, name: "Q:group: puts write members with +putorder, in order" }, async () => {
  using db = startIoc(DEFS());
  const p = new IocProvider(db);
  const g = p.lookup("g:grp")!;
  const ctx = { protocol: "pva", user: "", host: "" } as const;
  const count = () => db.record("g:y")!.f.PROC;
  // softIocPVA: pvxput g:grp y=7 and x.value=2.5 write g:y and g:x; s.value=zz (no
  // +putorder) changes nothing and is no error; the proc member processes g:y each put
  // without writing its PROC (caget g:y.PROC stays 0).
  await g.put({ value: { y: 7 }, changed: ["y"] }, ctx);
  await g.put({ value: { x: { value: 2.5 } }, changed: ["x.value"] }, ctx);
  await g.put({ value: { s: { value: "zz" } }, changed: ["s.value"] }, ctx);
  assert.equal(db.record("g:y")!.f.VAL, 7);
  assert.equal(db.record("g:x")!.f.VAL, 2.5);
  assert.equal(db.record("g:s")!.f.VAL, "");
  assert.equal(count(), 0);
});
