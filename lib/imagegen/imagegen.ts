/**
 * The imagegen device: an image PV (NTNDArray), control PVs, optional row waveform PVs
 * or per-row statistics PVs, and statistics of the generator, all as SharedPVs that a
 * server serves. Frames come from {@link FrameGenerator}; this module paces them and
 * posts them. It knows nothing of sockets: the caller serves {@link ImageGen.pvs} and may
 * hand in a pacing hook and a traffic counter of its servers.
 * @module
 */

import { epicsTimeFromMillis } from "../core/time.ts";
import { type Host, SERVER_STATES } from "../host/host.ts";
import { type PostOptions, SharedPV } from "../pv/shared_pv.ts";
import type { PvNdAttribute } from "../pv/types.ts";
import {
  DEFAULT_FRAME_PARAMS,
  type Frame,
  FrameGenerator,
  type FrameParams,
  type PixelType,
} from "./frame.ts";

/** Which per-row PVs to serve. */
export type RowMode = "image" | "rows" | "stats";

/** How to create an {@link ImageGen}. */
export interface ImageGenOptions {
  /** PV name prefix (default "imagegen0:"). */
  prefix?: string;
  /** Largest image (and how many row PVs exist): rows (default 10,000). */
  rows?: number;
  /** Largest image width (the row PVs' length): columns (default 1,000). */
  cols?: number;
  /** "rows": one waveform PV per row; "stats": mean/std/peak2peak PVs per row. */
  mode?: RowMode;
  /** Pixel type (default int16). */
  type?: PixelType;
  /** Frames per second; 0 = as fast as the pacing hook allows (default 1). */
  rate?: number;
  /**
   * Row PVs as NTNDArray (default, as epicsdev serves them) or as plain arrays
   * (NTScalarArray over PVA).
   */
  rowForm?: "ndarray" | "array";
  /** Other frame parameters (blobs, noise). */
  params?: Partial<FrameParams>;
  /**
   * How often the image PV is posted, in Hz; 0 = with every frame. Default: every frame,
   * but 1 Hz in "rows" mode, where the rows carry the frames (epicsdev posts its image
   * only after a parameter change there).
   */
  imageRate?: number;
  /** Noise table seed. */
  seed?: number;
  /**
   * With rate 0, awaited after each frame before the next is made (e.g. until the
   * servers have sent what they could). Default: one macrotask.
   */
  pace?: () => Promise<void>;
  /** Updates and bytes the servers handed to the network so far (for the statistics). */
  traffic?: () => { updates: number; bytes: number };
  /** Clock in milliseconds since 1970 (default Date.now). */
  clock?: () => number;
}

/** One second of generator statistics. */
export interface ImageGenStats {
  /** Frames made per second. */
  frameRate: number;
  /** Row PV updates posted per second (rows mode; 0 otherwise). */
  rowRate: number;
  /** Megabytes of pixels posted per second (image and rows). */
  postedMBps: number;
  /** Monitor updates handed to the network per second (when a traffic counter is given). */
  updateRate: number;
  /** Megabytes handed to the network per second (when a traffic counter is given). */
  networkMBps: number;
  /** Frames made since start. */
  frames: number;
}

const ctlOpts = { writable: true } as const;

/**
 * The generator and its PVs. Call {@link ImageGen.start}; dispose to stop.
 * @example
 * ```ts
 * import { ImageGen } from "./imagegen.ts";
 * const gen = new ImageGen({ prefix: "x:", rows: 4, cols: 8, mode: "rows" });
 * const f = gen.step(); // one frame now, without the loop
 * if (gen.rows.length !== 4 || gen.image.snapshot().ndarray?.uniqueId !== f.number) {
 *   throw new Error();
 * }
 * ```
 */
export class ImageGen implements Disposable {
  /** Every PV, for a server to host. */
  readonly pvs: SharedPV[] = [];
  /** The image. */
  readonly image: SharedPV;
  /** Row waveforms (rows mode). */
  readonly rows: SharedPV[] = [];
  /** Per-row statistics (stats mode). */
  readonly rowStatPvs: { mean: SharedPV[]; std: SharedPV[]; peak2peak: SharedPV[] } = {
    mean: [],
    std: [],
    peak2peak: [],
  };
  /** PV name prefix. */
  readonly prefix: string;
  /** Which per-row PVs exist. */
  readonly mode: RowMode;
  readonly #gen: FrameGenerator;
  readonly #opts: ImageGenOptions;
  readonly #clock: () => number;
  readonly #ctl = new Map<string, SharedPV>();
  readonly #statPvs = new Map<keyof ImageGenStats, SharedPV>();
  #runningPv!: SharedPV;
  #rate: number;
  #running = true;
  #stopped = true;
  #wake: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #loop: Promise<void> | undefined;
  #listeners = new Set<(s: ImageGenStats) => void>();
  // Counters since the last statistics tick.
  #frames = 0;
  #rowPosts = 0;
  #bytes = 0;
  #lastTick = 0;
  #imageAt = 0;
  /** The width each row PV was last posted with (read per row per frame: kept dense). */
  #rowWidth = new Int32Array(0);
  #lastTraffic = { updates: 0, bytes: 0 };
  #last: ImageGenStats = {
    frameRate: 0,
    rowRate: 0,
    postedMBps: 0,
    updateRate: 0,
    networkMBps: 0,
    frames: 0,
  };

  /**
   * Creates the PVs (nothing runs until {@link start}).
   * @param opts prefix, size, mode, type, rate, frame parameters
   * @throws RangeError on unusable sizes or parameters
   */
  constructor(opts: ImageGenOptions = {}) {
    this.#opts = opts;
    this.#clock = opts.clock ?? Date.now;
    const prefix = this.prefix = opts.prefix ?? "imagegen0:";
    const rows = opts.rows ?? DEFAULT_FRAME_PARAMS.nRows;
    const cols = opts.cols ?? DEFAULT_FRAME_PARAMS.nCols;
    if (!(Number.isInteger(rows) && rows >= 1) || !(Number.isInteger(cols) && cols >= 1)) {
      throw new RangeError(`Image size must be positive integers, got ${rows},${cols}`);
    }
    this.mode = opts.mode ?? "image";
    const type = opts.type ?? "int16";
    this.#rate = opts.rate ?? 1;
    if (!(this.#rate >= 0)) throw new RangeError(`Rate must be >= 0, got ${opts.rate}`);
    const params = { ...DEFAULT_FRAME_PARAMS, nRows: rows, nCols: cols, ...opts.params };
    if (params.nRows > rows || params.nCols > cols) {
      throw new RangeError(`nRows,nCols (${params.nRows},${params.nCols}) exceed ${rows},${cols}`);
    }
    this.#gen = new FrameGenerator(params, { type, seed: opts.seed });
    const add = (pv: SharedPV) => {
      this.pvs.push(pv);
      return pv;
    };
    this.image = add(
      new SharedPV(`${prefix}image`, {
        type,
        length: rows * cols,
        ndarray: { dimension: [params.nCols, params.nRows], attributes: this.#attrs(0, 0) },
        value: new (pixelArrayOf(type))(params.nRows * params.nCols),
        description: "Synthetic image: Gaussian blobs plus noise",
        writable: false,
      }),
    );
    const control = (
      name: keyof FrameParams,
      t: "int32" | "float32",
      lo: number,
      hi: number,
      desc: string,
      units = "",
    ) => {
      const pv = add(
        new SharedPV(`${prefix}${name}`, {
          ...ctlOpts,
          type: t,
          value: params[name],
          control: { low: lo, high: hi },
          display: { low: lo, high: hi },
          description: desc,
          units,
          precision: t === "float32" ? 2 : 0,
          onPut: (v) => this.#gen.setParams({ [name]: v as number }),
        }),
      );
      this.#ctl.set(name, pv);
    };
    control("nRows", "int32", 1, rows, "Image height (rows)");
    control("nCols", "int32", 1, cols, "Image width (pixels per row)");
    control("nBlobsX", "int32", 0, 100, "Blobs across");
    control("nBlobsY", "int32", 0, 100, "Blobs down");
    control("blobMax", "int32", 0, 65535, "Peak height of a blob", "counts");
    control("blobSigmaX", "float32", 0.1, 1000, "Blob width", "px");
    control("blobSigmaY", "float32", 0.1, 1000, "Blob height", "px");
    control("noiseLevel", "float32", 0, 1000, "Noise standard deviation", "counts");
    add(
      new SharedPV(`${prefix}rate`, {
        ...ctlOpts,
        type: "float64",
        value: this.#rate,
        control: { low: 0, high: 100000 },
        units: "Hz",
        precision: 2,
        description: "Frames per second (0 = as fast as possible)",
        onPut: (v) => {
          this.#rate = v as number;
          this.#kick();
        },
      }),
    );
    this.#runningPv = add(
      new SharedPV(`${prefix}running`, {
        ...ctlOpts,
        type: "enum",
        choices: ["Paused", "Running"],
        value: 1,
        description: "Pause or run the generator",
        onPut: (v) => {
          this.#running = v === 1;
          this.#kick();
        },
      }),
    );
    const stat = (key: keyof ImageGenStats, desc: string, units: string, t = "float64") => {
      const pv = add(
        new SharedPV(`${prefix}${key}`, {
          type: t as "float64",
          units,
          precision: t === "float64" ? 1 : 0,
          description: desc,
          writable: false,
        }),
      );
      this.#statPvs.set(key, pv);
    };
    stat("frameRate", "Frames made per second", "Hz");
    stat("rowRate", "Row PV updates posted per second", "1/s");
    stat("postedMBps", "Pixel data posted per second", "MB/s");
    stat("updateRate", "PVA monitor updates sent per second", "1/s");
    stat("networkMBps", "PVA bytes sent per second", "MB/s");
    stat("frames", "Frames made since start", "", "int32");
    if (this.mode === "rows") {
      const nd = (opts.rowForm ?? "ndarray") === "ndarray";
      for (let r = 0; r < rows; r++) {
        this.rows.push(add(
          new SharedPV(`${prefix}row${r}`, {
            type,
            length: cols,
            value: new (pixelArrayOf(type))(params.nCols),
            ndarray: nd ? { dimension: [params.nCols] } : undefined,
            description: `Row ${r} of the image`,
            writable: false,
          }),
        ));
      }
      this.#rowWidth = new Int32Array(rows).fill(params.nCols);
    } else if (this.mode === "stats") {
      for (let r = 0; r < rows; r++) {
        for (const [key, name] of [["mean", "mean"], ["std", "std"], ["p2p", "peak2peak"]]) {
          const pv = add(
            new SharedPV(`${prefix}${name}${r}`, {
              type: "float32",
              precision: 2,
              description: `${name} of row ${r}`,
              writable: false,
            }),
          );
          this.rowStatPvs[key === "p2p" ? "peak2peak" : key as "mean" | "std"].push(pv);
        }
      }
    }
  }

  #attrs(frame: number, genTime: number): PvNdAttribute[] {
    return [
      { name: "ColorMode", value: 0, descriptor: "Color mode (0 = mono)" },
      { name: "FrameNumber", value: frame, descriptor: "Frame counter" },
      { name: "GenerationTime", value: genTime, descriptor: "Time to make the frame (s)" },
    ];
  }

  /** Frame parameters in use. */
  get params(): Readonly<FrameParams> {
    return this.#gen.params;
  }

  /** Whether frames are being made (the `running` PV is Running). */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Pauses or resumes the generator, as a put to the `running` PV would (and posts it).
   * @param on true: Running, false: Paused
   */
  setRunning(on: boolean): void {
    if (on === this.#running) return;
    this.#running = on;
    this.#runningPv.post(on ? 1 : 0);
    this.#kick();
  }

  /** Frames made so far. */
  get frameCount(): number {
    return this.#gen.frameCount;
  }

  /** The statistics of the last second. */
  get stats(): Readonly<ImageGenStats> {
    return this.#last;
  }

  /** Calls `fn` with the statistics once a second; returns the function that stops it. */
  onStats(fn: (s: ImageGenStats) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Starts making and posting frames (and the statistics ticker). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#lastTick = performance.now();
    this.#lastTraffic = { ...(this.#opts.traffic?.() ?? { updates: 0, bytes: 0 }) };
    this.#statsTimer = setInterval(() => this.#tick(), 1000);
    this.#loop = this.#run();
  }

  /** Makes and posts one frame now (also while paused or stopped). */
  step(): Frame {
    const t0 = performance.now();
    const f = this.#gen.next();
    const genTime = (performance.now() - t0) / 1000;
    this.#publish(f, genTime);
    return f;
  }

  #publish(f: Frame, genTime: number): void {
    const timeStamp = epicsTimeFromMillis(this.#clock());
    const px = f.pixels;
    const bpe = px.BYTES_PER_ELEMENT;
    const now = performance.now();
    const imageRate = this.#opts.imageRate ?? (this.mode === "rows" ? 1 : 0);
    if (imageRate <= 0 || now - this.#imageAt >= 1000 / imageRate || this.#imageAt === 0) {
      this.#imageAt = now;
      this.image.post(px, {
        transfer: true,
        timeStamp,
        uniqueId: f.number,
        dimension: [f.nCols, f.nRows],
        attributes: this.#attrs(f.number, genTime),
      });
      this.#bytes += px.length * bpe;
    }
    if (this.mode === "rows") {
      const n = Math.min(f.nRows, this.rows.length);
      // The dimension is passed only when the width changed: an unchanged one keeps its
      // array, which lets the PVA server replay its encoding.
      const opts: PostOptions = { transfer: true, timeStamp, uniqueId: f.number };
      const resized: PostOptions = { ...opts, dimension: [f.nCols] };
      const width = this.#rowWidth;
      for (let r = 0; r < n; r++) {
        // A view of the frame: the frame's array is never written again.
        const changed = width[r] !== f.nCols;
        width[r] = f.nCols;
        this.rows[r].post(px.subarray(r * f.nCols, (r + 1) * f.nCols), changed ? resized : opts);
      }
      this.#rowPosts += n;
      this.#bytes += n * f.nCols * bpe;
    } else if (this.mode === "stats") {
      const n = Math.min(f.nRows, this.rowStatPvs.mean.length);
      const s = this.#gen.lastRowStats();
      const { mean, std, peak2peak } = this.rowStatPvs;
      for (let r = 0; r < n; r++) {
        mean[r].post(s.mean[r], { timeStamp });
        std[r].post(s.std[r], { timeStamp });
        peak2peak[r].post(s.p2p[r], { timeStamp });
      }
      this.#rowPosts += 3 * n;
    }
    this.#frames++;
  }

  #tick(): void {
    const now = performance.now();
    const dt = (now - this.#lastTick) / 1000 || 1;
    this.#lastTick = now;
    // Copied: the counter may be one live object that keeps counting.
    const live = this.#opts.traffic?.();
    const tr = live && { updates: live.updates, bytes: live.bytes };
    const prev = this.#lastTraffic;
    if (tr) this.#lastTraffic = tr;
    this.#last = {
      frameRate: this.#frames / dt,
      rowRate: this.#rowPosts / dt,
      postedMBps: this.#bytes / dt / 1e6,
      updateRate: tr ? (tr.updates - prev.updates) / dt : 0,
      networkMBps: tr ? (tr.bytes - prev.bytes) / dt / 1e6 : 0,
      frames: this.#gen.frameCount,
    };
    this.#frames = this.#rowPosts = this.#bytes = 0;
    for (const [k, pv] of this.#statPvs) pv.post(this.#last[k]);
    for (const fn of this.#listeners) fn(this.#last);
  }

  /** Wakes the loop early (rate or running changed). */
  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#wake = undefined;
        resolve();
      }, ms);
    });
  }

  async #run(): Promise<void> {
    let next = performance.now();
    while (!this.#stopped) {
      if (!this.#running) {
        await this.#sleep(1000);
        next = performance.now();
        continue;
      }
      this.step();
      if (this.#stopped) break;
      if (this.#rate > 0) {
        next += 1000 / this.#rate;
        const now = performance.now();
        // Behind by more than a frame: start counting again from now (no burst).
        if (next < now - 1000 / this.#rate) next = now;
        await this.#sleep(Math.max(0, next - now));
      } else {
        await (this.#opts.pace ? this.#opts.pace() : this.#sleep(0));
        next = performance.now();
      }
    }
  }

  /** Stops the loop and the statistics; resolves when the loop has ended. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#statsTimer);
    this.#kick();
    await this.#loop;
  }

  /** Stops (without waiting for the loop's last turn). */
  [Symbol.dispose](): void {
    void this.stop();
  }
}

/**
 * Ties a {@link Host}'s `server` control PV to the generator's `running` PV: Stop pauses
 * the generator and Start resumes it; pausing or resuming through `running` shows as Stop
 * or Start on `server` (and its `status`). Exit is the caller's to act on (`host.exited`).
 * @param gen the generator
 * @param host the host of the helper PVs (with helpers; without, nothing is tied)
 * @returns the function that unties them
 * @example
 * ```ts
 * import { Host } from "../host/host.ts";
 * import { ImageGen, linkServerControl } from "./imagegen.ts";
 * using host = new Host({ prefix: "x:", periods: { heartbeat: 3600 } });
 * using gen = new ImageGen({ prefix: "x:", rows: 2, cols: 2 });
 * const untie = linkServerControl(gen, host);
 * host.post("server", "Stop"); // as a client's put of Stop would
 * const paused = !gen.running;
 * gen.setRunning(true); // as a put of Running to x:running would
 * if (!paused || host.value("server") !== 0 || host.value("status") !== "Started") {
 *   throw new Error();
 * }
 * untie();
 * ```
 */
export function linkServerControl(gen: ImageGen, host: Host): () => void {
  const server = host.pv("server");
  const running = gen.pvs.find((pv) => pv.name === `${gen.prefix}running`);
  if (!server || !running) return () => {};
  const offServer = server.subscribe((snap) => {
    const state = SERVER_STATES[snap.value as number];
    if (state === "Start" || state === "Started") gen.setRunning(true);
    else if (state === "Stop" || state === "Stopped") gen.setRunning(false);
  });
  const offRunning = running.subscribe((snap) => {
    const on = snap.value === 1;
    if (host.state === "Exit") return;
    if (on && host.state !== "Start") host.post("server", "Start");
    else if (!on && host.state !== "Stop") host.post("server", "Stop");
  });
  return () => {
    offServer();
    offRunning();
  };
}

function pixelArrayOf(t: PixelType) {
  return { int16: Int16Array, uint16: Uint16Array, uint8: Uint8Array, float32: Float32Array }[t];
}
