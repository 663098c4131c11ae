/**
 * The demo PVs `pvserve --demo` hosts: a temperature with limits and alarms, a counter,
 * a message, a mode enum, a sine waveform, a long text, a read-only value and a
 * 256x256 uint16 image (NTNDArray over PVA) with a moving pattern.
 * @module
 */

import { SharedPV } from "../pv/shared_pv.ts";

/** The demo PVs and the timers that animate them. */
export interface Demo extends Disposable {
  /** The demo PVs, ready to pass to {@link serve}. */
  pvs: SharedPV[];
}

/**
 * Creates the demo PVs and starts their 10 Hz updates.
 * @param prefix put before every name (default "demo:")
 * @returns the PVs; dispose to stop the updates
 * @example
 * ```ts
 * import { startDemo } from "./mod.ts";
 * using demo = startDemo("test:");
 * if (!demo.pvs.some((pv) => pv.name === "test:temperature")) throw new Error();
 * ```
 */
export function startDemo(prefix = "demo:"): Demo {
  const temperature = new SharedPV(`${prefix}temperature`, {
    type: "float64",
    value: 25,
    units: "C",
    precision: 2,
    description: "Demo temperature",
    display: { low: -50, high: 150 },
    control: { low: -20, high: 120 },
    alarm: { lolo: -10, low: 0, high: 80, hihi: 100 },
  });
  const count = new SharedPV(`${prefix}count`, {
    type: "int32",
    value: 0,
    writable: false,
    description: "Counts at 10 Hz",
  });
  const message = new SharedPV(`${prefix}message`, { type: "string", value: "hello" });
  const mode = new SharedPV(`${prefix}mode`, { type: "enum", choices: ["Off", "On", "Auto"] });
  const N = 1000;
  const waveform = new SharedPV(`${prefix}waveform`, {
    type: "float64",
    length: N,
    value: new Float64Array(N),
    precision: 3,
    display: { low: -1, high: 1 },
    description: "Sine wave, phase advancing at 10 Hz",
  });
  const text = new SharedPV(`${prefix}text`, {
    type: "uint8",
    length: 256,
    value: "This is a long string held in a char array of 256 elements.",
    description: "Long string (char waveform)",
  });
  const readonly = new SharedPV(`${prefix}readonly`, {
    type: "float64",
    value: 5,
    writable: false,
    description: "Read-only value",
  });
  const W = 256, H = 256;
  const image = new SharedPV(`${prefix}image`, {
    type: "uint16",
    writable: false,
    ndarray: { dimension: [W, H], attributes: [{ name: "ColorMode", value: 0 }] },
    description: "256x256 uint16 image, moving pattern at 10 Hz",
  });
  const pixels = new Uint16Array(W * H);
  const ramp = new Uint16Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) ramp[y * W + x] = (Math.hypot(x - W / 2, y - H / 2) * 64) & 0x3ff;
  }
  const wave = new Float64Array(N);
  let phase = 0;
  let n = 0;
  const tick = () => {
    count.post(++n);
    phase += 0.1;
    for (let i = 0; i < N; i++) wave[i] = Math.sin(phase + (2 * Math.PI * i) / N);
    waveform.post(wave);
    // Diagonal stripes drifting with the frame count, over a radial ramp.
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        pixels[y * W + x] = (((x + y + 4 * n) & 63) << 10) + ramp[y * W + x];
      }
    }
    image.post(pixels);
  };
  tick();
  const timer = setInterval(tick, 100);
  return {
    pvs: [temperature, count, message, mode, waveform, text, readonly, image],
    [Symbol.dispose]() {
      clearInterval(timer);
    },
  };
}
