/**
 * A simulated two-channel oscilloscope as a pvserve device module:
 *
 *   deno task pvserve examples/scope_device.ts            (prefix "scope1:")
 *   pvget scope1:ch1 ; pvput scope1:recordLength 4096 ; caput scope1:trigger Single
 *
 * It exports its PV definitions, setters (called on puts; they may refuse or replace the
 * value) and a polling loop that runs at the `sleep` PV's period and pauses on
 * server=Stop.
 * @module
 */

import type { DeviceModule, Host, PvDefinition, Setter } from "../mod.ts";

/** The default prefix (pvserve --prefix overrides it). */
export const prefix = "scope1:";

const MAX_POINTS = 65536;

/** The scope's PVs. */
export const pvs: PvDefinition[] = [
  {
    name: "recordLength",
    desc: "Points per trace (a power of two)",
    value: 1024,
    type: "uint32",
    features: "W",
    limitLow: 16,
    limitHigh: MAX_POINTS,
  },
  {
    name: "timePerDiv",
    desc: "Horizontal scale",
    value: 1e-3,
    type: "float64",
    units: "s/div",
    features: "W",
    limitLow: 1e-9,
    limitHigh: 10,
    precision: 6,
  },
  {
    name: "ch1VoltsPerDiv",
    desc: "Channel 1 vertical scale",
    value: 0.5,
    units: "V/div",
    features: "W",
    limitLow: 0.001,
    limitHigh: 10,
    precision: 3,
  },
  {
    name: "ch1Offset",
    desc: "Channel 1 offset",
    value: 0.0,
    type: "float64",
    units: "V",
    features: "W",
  },
  {
    name: "ch2VoltsPerDiv",
    desc: "Channel 2 vertical scale",
    value: 0.5,
    units: "V/div",
    features: "W",
    limitLow: 0.001,
    limitHigh: 10,
    precision: 3,
  },
  {
    name: "ch2Offset",
    desc: "Channel 2 offset",
    value: 0.0,
    type: "float64",
    units: "V",
    features: "W",
  },
  {
    name: "frequency",
    desc: "Signal frequency",
    value: 1000.0,
    units: "Hz",
    features: "W",
    limitLow: 1,
    limitHigh: 1e6,
  },
  {
    name: "noise",
    desc: "Noise amplitude",
    value: 0.05,
    units: "V",
    features: "W",
    limitLow: 0,
    limitHigh: 5,
    precision: 3,
  },
  {
    name: "trigger",
    desc: "Trigger mode",
    value: ["Auto", "Normal", "Single", "Stop"],
    features: "WD",
  },
  { name: "tAxis", desc: "Time of each point", value: [0.0], length: MAX_POINTS, units: "s" },
  {
    name: "ch1",
    desc: "Channel 1 trace",
    value: [0.0],
    length: MAX_POINTS,
    units: "V",
    precision: 4,
  },
  {
    name: "ch2",
    desc: "Channel 2 trace",
    value: [0.0],
    length: MAX_POINTS,
    units: "V",
    precision: 4,
  },
  {
    name: "ch1PeakToPeak",
    desc: "Channel 1 peak to peak",
    value: 0.0,
    type: "float64",
    units: "V",
    precision: 4,
    valueAlarm: { high: 2.5, hihi: 4, highSeverity: "MINOR", hihiSeverity: "MAJOR" },
  },
  {
    name: "ch1Mean",
    desc: "Channel 1 mean",
    value: 0.0,
    type: "float64",
    units: "V",
    precision: 4,
  },
  { name: "acquisitions", desc: "Traces taken", value: 0, type: "uint32" },
];

/** Setters by PV name: the record length snaps down to a power of two. */
export const setters: Record<string, Setter> = {
  recordLength: (v) => 2 ** Math.floor(Math.log2(v as number)),
};

/** Runs once serving has started: fills the time axis. */
export function init(host: Host): void {
  postAxis(host);
}

function postAxis(host: Host): void {
  const n = host.value("recordLength") as number;
  const dt = (host.value("timePerDiv") as number) * 10 / n;
  host.post("tAxis", Float64Array.from({ length: n }, (_, i) => i * dt));
}

/** One noisy sample: a uniform pair turned normal (Box-Muller). */
function gauss(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

/** The polling loop: one acquisition per cycle. */
export async function loop(host: Host): Promise<void> {
  let n = 0;
  let axisFor = "";
  for await (const _cycle of host.loop()) {
    const trig = host.value("trigger") as number;
    if (trig === 3) continue; // Stop: keep the last traces
    const len = host.value("recordLength") as number;
    const tdiv = host.value("timePerDiv") as number;
    if (axisFor !== `${len}/${tdiv}`) {
      axisFor = `${len}/${tdiv}`;
      postAxis(host);
    }
    const f = host.value("frequency") as number;
    const noise = host.value("noise") as number;
    const dt = tdiv * 10 / len;
    const phase = Math.random() * 2 * Math.PI * (trig === 0 ? 1 : 0);
    const ch1 = new Float64Array(len);
    const ch2 = new Float64Array(len);
    let min = Infinity, max = -Infinity, sum = 0;
    for (let i = 0; i < len; i++) {
      const w = 2 * Math.PI * f * i * dt + phase;
      ch1[i] = Math.sin(w) + noise * gauss() + (host.value("ch1Offset") as number);
      ch2[i] = (Math.sin(w) > 0 ? 1 : -1) * 0.8 + noise * gauss() +
        (host.value("ch2Offset") as number);
      min = Math.min(min, ch1[i]);
      max = Math.max(max, ch1[i]);
      sum += ch1[i];
    }
    host.post("ch1", ch1, { transfer: true });
    host.post("ch2", ch2, { transfer: true });
    host.post("ch1PeakToPeak", max - min);
    host.post("ch1Mean", sum / len);
    host.post("acquisitions", ++n);
    if (trig === 2) host.post("trigger", "Stop"); // Single: one trace, then stop
  }
}

// Checked at compile time: this module has the shape pvserve loads.
const _shape: DeviceModule = { prefix, pvs, setters, init, loop };
