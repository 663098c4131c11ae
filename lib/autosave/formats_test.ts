import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { detectSaveFormat, formatJsonSave, parseAnySave, parseJsonSave } from "./formats.ts";
import { SavFormatError } from "./sav.ts";

const none = { permissions: "none" } as const;
const pairs = (d: { records: { name: string; value: unknown }[] }) =>
  d.records.map((r) => [r.name, r.value]);

Deno.test({
  name: "formats: epicsdev, caproto and p4p JSON",
  ...none,
  fn() {
    assertEquals(
      pairs(
        parseJsonSave(
          '{"dev:gain": {"value": 2.5, "time": 1700000000.5}, "dev:mode": {"value": 1}}',
        ),
      ),
      [["dev:gain", "2.5"], ["dev:mode", "1"]],
    );
    const caproto = parseJsonSave(
      '{"ioc:x": {"value": [1, 2], "fields": {"description": "hi", "weird_attr": 1}}}',
    );
    assertEquals(pairs(caproto), [["ioc:x", ["1", "2"]], ["ioc:x.DESC", "hi"]]);
    assertEquals(caproto.commented.map((c) => c.name), ["ioc:x.weird_attr"]);
    assertEquals(
      pairs(
        parseJsonSave('{"version": 1, "pvs": [["p:a", "d", 1.25], ["p:e", "enum", {"index": 3}]]}'),
      ),
      [["p:a", "1.25"], ["p:e", "3"]],
    );
    assertEquals(pairs(parseJsonSave('{"plain": 7, "b": true}')), [["plain", "7"], ["b", "1"]]);
    assertThrows(() => parseJsonSave("{bad"), SavFormatError);
    assertThrows(() => parseJsonSave("[1]"), SavFormatError);
  },
});

Deno.test({
  name: "formats: detection and our JSON writer reads back",
  ...none,
  fn() {
    assertEquals(detectSaveFormat('  {"a": 1}'), "json");
    assertEquals(detectSaveFormat("# File saved by pyepics AutoSaver\n"), "pyepics");
    assertEquals(detectSaveFormat("# autosave R5.3\t...\n"), "synapps");
    const text = formatJsonSave([
      { name: "d", kind: "double", value: 0.1 },
      { name: "f", kind: "float", value: 0.1 },
      { name: "e", kind: "enum", value: 2 },
      { name: "s", kind: "string", value: 'q"' },
      { name: "w", kind: "double", value: new Float64Array([1, 2.5]) },
      { name: "l$", value: new Uint8Array([65, 66, 0, 67]) },
      { name: "i", value: 5n },
      { name: "gone", error: "Not Connected" },
    ]);
    const doc = parseAnySave(text);
    assertEquals(doc.format, "json");
    assertEquals(pairs(doc), [
      ["d", "0.1"],
      ["f", "0.1"],
      ["e", "2"],
      ["s", 'q"'],
      ["w", ["1", "2.5"]],
      ["l$", "AB"],
      ["i", "5"],
    ]);
    assertEquals(formatJsonSave([]), "{\n}\n");
  },
});
