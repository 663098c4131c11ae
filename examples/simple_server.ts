/**
 * A small PV server: a setpoint with limits and a put handler, and a noisy readback that
 * follows it at 10 Hz. Served over the protocols `serve()` enables.
 *
 *   deno run -A examples/simple_server.ts [prefix]
 *
 * Then, with EPICS base's tools or ours: `caget lab:readback`, `caput lab:setpoint 3`.
 * @module
 */

import { serve, SharedPV } from "../mod.ts";

const prefix = Deno.args[0] ?? "lab:";

const setpoint = new SharedPV(`${prefix}setpoint`, {
  type: "float64",
  value: 1.0,
  units: "V",
  precision: 3,
  description: "Power supply setpoint",
  display: { low: 0, high: 10 },
  control: { low: 0, high: 10 }, // puts outside are refused, with the reason
  onPut: (value, ctx) => {
    console.log(`setpoint <- ${value} (from ${ctx.user}@${ctx.host} over ${ctx.protocol})`);
  },
});

const readback = new SharedPV(`${prefix}readback`, {
  type: "float64",
  units: "V",
  precision: 3,
  writable: false,
  alarm: { high: 9, hihi: 9.5 },
});

const status = new SharedPV(`${prefix}status`, {
  type: "enum",
  choices: ["Idle", "Ramping", "Fault"],
  writable: false,
});

await using server = await serve({ pvs: [setpoint, readback, status] });
console.log(`serving ${prefix}setpoint, ${prefix}readback, ${prefix}status; Ctrl-C to stop`);

let current = 0;
const timer = setInterval(() => {
  const target = setpoint.value as number;
  const step = Math.max(-0.1, Math.min(0.1, target - current));
  current += step;
  status.post(Math.abs(target - current) > 1e-9 ? 1 : 0);
  readback.post(current + (Math.random() - 0.5) * 0.002);
}, 100);

await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
clearInterval(timer);
void server; // closed by `await using` on the way out
