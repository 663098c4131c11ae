/**
 * examples/demo.bob: well-formed display XML whose widgets name only PVs that
 * `pvserve --demo` hosts (demo PVs, control PVs, iocStats helper PVs).
 * @module
 */

import assert from "node:assert/strict";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { Host } from "../lib/host/host.ts";
import { startDemo } from "../lib/host/demo.ts";
import { REPO_ROOT } from "./_helpers/pvserve.ts";

/** Every value of the given tags anywhere in the parsed tree. */
function collect(node: unknown, tags: Set<string>, out: string[] = []): string[] {
  if (Array.isArray(node)) { for (const n of node) collect(n, tags, out); }
  else if (node !== null && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (tags.has(k) && (typeof v === "string" || typeof v === "number")) out.push(String(v));
      else collect(v, tags, out);
    }
  }
  return out;
}

Deno.test("examples/demo.bob is well-formed Phoebus XML naming PVs pvserve --demo hosts", () => {
  const xml = Deno.readTextFileSync(`${REPO_ROOT}/examples/demo.bob`);
  const valid = XMLValidator.validate(xml);
  assert.equal(valid, true, JSON.stringify(valid));
  const doc = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(xml);
  assert.equal(doc.display["@_version"], "2.0.0");
  const prefix = doc.display.macros.P;
  assert.equal(prefix, "demo:");
  const widgets = [doc.display.widget].flat();
  assert.ok(widgets.length > 20);
  for (const wd of widgets) {
    assert.ok(wd["@_type"] && wd.name !== undefined, "each widget has a type and a name");
  }
  // What `pvserve --demo` serves: the demo PVs plus the helpers under the same prefix.
  using host = new Host({ prefix, periods: { heartbeat: 3600 } });
  using demo = startDemo(prefix);
  const hosted = new Set([...host.provider.names(), ...demo.pvs.map((p) => p.name)]);
  const named = collect(doc, new Set(["pv_name", "y_pv", "x_pv"]))
    .filter((n) => n !== "")
    .map((n) => n.replaceAll("$(P)", prefix).replace(/^(pva|ca):\/\//, ""));
  assert.ok(named.length > 25);
  const unknown = named.filter((n) => !hosted.has(n));
  assert.deepEqual(unknown, [], `not hosted: ${unknown.join(", ")}`);
  for (const n of ["temperature", "waveform", "image", "server", "HEARTBEAT", "UPTIME"]) {
    assert.ok(named.includes(prefix + n), `the display shows ${n}`);
  }
});

Deno.test("examples/heater.yaml and examples/scope_device.ts define PVs that can be hosted", async () => {
  const { parseDefinitionsYaml } = await import("../lib/host/yaml_defs.ts");
  const { asDeviceModule } = await import("../lib/host/device.ts");
  const file = parseDefinitionsYaml(
    Deno.readTextFileSync(`${REPO_ROOT}/examples/heater.yaml`),
    "heater.yaml",
  );
  using heater = new Host({ prefix: file.prefix, pvs: file.pvs, helpers: false });
  assert.equal(heater.pv("setpoint")?.name, "lab1:setpoint");
  assert.equal(heater.pv("frame")?.type.nt, "NTNDArray");
  assert.equal(heater.pv("calibration")?.type.kind, "table");
  const scope = asDeviceModule(await import("../examples/scope_device.ts"), "scope_device.ts");
  using host = new Host({ prefix: scope.prefix, pvs: scope.pvs, setters: scope.setters });
  await host.pv("recordLength")!.put(5000, { protocol: "local", user: "", host: "" });
  assert.equal(host.value("recordLength"), 4096);
});
