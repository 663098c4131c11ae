/**
 * Synthetic frames: a grid of Gaussian blobs plus normal noise, in typed arrays. The
 * blob pattern is computed once per parameter set and shifted (with wrap-around) from
 * frame to frame so that the blobs drift; the noise comes from a precomputed table of
 * normal deviates read at a rolling, pseudo-random offset per row, so a frame costs one
 * add (and a clamp) per pixel and no random numbers. Pure: no I/O, no clock.
 * @module
 */

/** Pixel element types a frame can have. */
export const PIXEL_TYPES = ["int16", "uint16", "uint8", "float32"] as const;
/** One pixel element type. */
export type PixelType = typeof PIXEL_TYPES[number];
/** The typed array of a frame. */
export type PixelArray = Int16Array | Uint16Array | Uint8Array | Float32Array;

/** What a frame looks like (the control PVs of imagegen). */
export interface FrameParams {
  /** Image height (rows). */
  nRows: number;
  /** Image width (pixels per row). */
  nCols: number;
  /** Blobs across. */
  nBlobsX: number;
  /** Blobs down. */
  nBlobsY: number;
  /** Peak height of one blob (counts). */
  blobMax: number;
  /** Blob width parameter (pixels): value = max·exp(-(dx²/sx² + dy²/sy²)). */
  blobSigmaX: number;
  /** Blob height parameter (pixels). */
  blobSigmaY: number;
  /** Standard deviation of the noise (counts). */
  noiseLevel: number;
}

/** Defaults as epicsdev's imagegen has them (size aside). */
export const DEFAULT_FRAME_PARAMS: Readonly<FrameParams> = Object.freeze({
  nRows: 10000,
  nCols: 1000,
  nBlobsX: 4,
  nBlobsY: 4,
  blobMax: 1000,
  blobSigmaX: 4,
  blobSigmaY: 4,
  noiseLevel: 10,
});

/** One generated frame. */
export interface Frame {
  /** Frame counter, from 1. */
  number: number;
  /** The pixels, row by row (nRows × nCols); a new array per frame. */
  pixels: PixelArray;
  /** Image height. */
  nRows: number;
  /** Image width. */
  nCols: number;
  /** How far the blob pattern is shifted right (pixels, wrapping around). */
  shiftX: number;
  /** How far the blob pattern is shifted down (rows, wrapping around). */
  shiftY: number;
}

/** Options of a {@link FrameGenerator}. */
export interface FrameGeneratorOptions {
  /** Pixel type (default int16). */
  type?: PixelType;
  /** Seed of the noise table (default 1): equal seeds give equal frames. */
  seed?: number;
  /** Noise table length in elements (default 2^20; at least 2 rows' worth is used). */
  noiseTableLength?: number;
}

/** A small, fast, seedable PRNG (mulberry32): 32-bit state, floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills an array with standard normal deviates (Box-Muller).
 * @param out the array
 * @param rand uniform numbers in [0, 1)
 */
function fillNormal(out: Float32Array, rand: () => number): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - rand(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * rand();
    out[i] = r * Math.cos(t);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(t);
  }
}

/**
 * Blob centres along one axis: `n` points spread as numpy's linspace(d, size - d, n),
 * d = size / n / 2 (each blob in the middle of its cell).
 * @param size the axis length
 * @param n how many blobs
 * @returns the centres, in pixels
 */
export function blobCentres(size: number, n: number): number[] {
  if (n <= 0) return [];
  const d = size / n / 2;
  if (n === 1) return [d];
  const step = (size - 2 * d) / (n - 1);
  return Array.from({ length: n }, (_, i) => d + i * step);
}

/**
 * Checks parameters and says what is wrong with them.
 * @param p the parameters
 * @returns an error message, or undefined when they are usable
 */
export function checkFrameParams(p: FrameParams): string | undefined {
  const int = (name: keyof FrameParams, lo: number) =>
    Number.isInteger(p[name]) && p[name] >= lo ? undefined : `${name} must be an integer >= ${lo}`;
  const pos = (name: keyof FrameParams) =>
    Number.isFinite(p[name]) && p[name] > 0 ? undefined : `${name} must be > 0`;
  return int("nRows", 1) ?? int("nCols", 1) ?? int("nBlobsX", 0) ?? int("nBlobsY", 0) ??
    (Number.isFinite(p.blobMax) ? undefined : "blobMax must be a number") ??
    pos("blobSigmaX") ?? pos("blobSigmaY") ??
    (Number.isFinite(p.noiseLevel) && p.noiseLevel >= 0 ? undefined : "noiseLevel must be >= 0");
}

/**
 * Produces frames. Change parameters with {@link FrameGenerator.setParams}; the next
 * {@link FrameGenerator.next} uses them.
 *
 * How it stays cheap: the generator builds a table of 2·nRows rows, table row i being
 * blob-pattern row (i mod nRows) plus its own noise (read from the normal-deviate table
 * at a pseudo-random rolling offset). Frame k of a table is the nRows rows starting at
 * table row k: a view, no pixel work, so the pattern scrolls up one row per frame (the
 * blobs move) and every row PV gets new values each frame. After nRows frames a new table
 * is built with fresh noise and the pattern one pixel further right. Tables are never
 * written after they are built, so a frame's pixels stay valid for as long as anyone
 * holds them. Per-row statistics are computed once per table row too.
 *
 * @example
 * ```ts
 * import { FrameGenerator } from "./frame.ts";
 * const g = new FrameGenerator({ nRows: 40, nCols: 60, nBlobsX: 2, nBlobsY: 1, blobMax: 500,
 *   blobSigmaX: 3, blobSigmaY: 3, noiseLevel: 1 });
 * const f = g.next();
 * if (f.pixels.length !== 40 * 60 || f.number !== 1) throw new Error();
 * ```
 */
export class FrameGenerator {
  /** Pixel type of the frames. */
  readonly type: PixelType;
  #params: FrameParams;
  #seed: number;
  #tableLength: number;
  /** Noise deviates scaled by noiseLevel (rounded for integer types). */
  #noise: Float32Array | Int32Array = new Int32Array(0);
  /** Unscaled deviates (kept so a noiseLevel change only rescales). */
  #unit = new Float32Array(0);
  /** Blob profile across (summed over the blob columns) and down. */
  #gx = new Float64Array(0);
  #gy = new Float64Array(0);
  /** The current table (2·nRows rows), frames made from it, tables made so far. */
  #table: PixelArray = new Int16Array(0);
  #tableStats: { mean: Float32Array; std: Float32Array; p2p: Float32Array } | undefined;
  #used = 0;
  #tables = 0;
  #noiseDirty = true;
  #patternDirty = true;
  #frame = 0;
  #rowSeed = 0x9e3779b9 | 0;
  #last: Frame | undefined;

  /**
   * Creates a generator.
   * @param params frame parameters (checked)
   * @param opts pixel type, seed, noise table length
   * @throws RangeError when the parameters are not usable
   */
  constructor(params: FrameParams, opts: FrameGeneratorOptions = {}) {
    const why = checkFrameParams(params);
    if (why) throw new RangeError(why);
    this.type = opts.type ?? "int16";
    this.#params = { ...params };
    this.#seed = opts.seed ?? 1;
    this.#tableLength = opts.noiseTableLength ?? 1 << 20;
  }

  /** The parameters in use. */
  get params(): Readonly<FrameParams> {
    return this.#params;
  }

  /** Frames made so far. */
  get frameCount(): number {
    return this.#frame;
  }

  /**
   * Changes some parameters; the next frame uses them (and starts a new table).
   * @param p the parameters to change
   * @throws RangeError when the result is not usable (nothing changes then)
   */
  setParams(p: Partial<FrameParams>): void {
    const next = { ...this.#params, ...p };
    const why = checkFrameParams(next);
    if (why) throw new RangeError(why);
    if (next.noiseLevel !== this.#params.noiseLevel || next.nCols !== this.#params.nCols) {
      this.#noiseDirty = true;
    }
    this.#params = next;
    this.#patternDirty = true;
  }

  /** Blob centres of the unshifted pattern: x (column) and y (row) positions. */
  centres(): { x: number[]; y: number[] } {
    const p = this.#params;
    return { x: blobCentres(p.nCols, p.nBlobsX), y: blobCentres(p.nRows, p.nBlobsY) };
  }

  #rebuildNoise(): void {
    const p = this.#params;
    const integer = this.type !== "float32";
    const len = Math.max(this.#tableLength, 4 * p.nCols);
    if (this.#unit.length !== len) {
      this.#unit = new Float32Array(len);
      fillNormal(this.#unit, prng(this.#seed));
    }
    const noise = integer ? new Int32Array(len) : new Float32Array(len);
    const lvl = p.noiseLevel;
    for (let i = 0; i < len; i++) {
      const v = this.#unit[i] * lvl;
      noise[i] = integer ? Math.round(v) : v;
    }
    this.#noise = noise;
    this.#noiseDirty = false;
  }

  #rebuildPattern(): void {
    // Separable: exp(-(dx²/sx² + dy²/sy²)) = gx(x)·gy(y), summed over the grid.
    const p = this.#params;
    const { x: cx, y: cy } = this.centres();
    this.#gx = new Float64Array(p.nCols);
    for (let x = 0; x < p.nCols; x++) {
      let s = 0;
      for (const c of cx) s += Math.exp(-((x - c) ** 2) / p.blobSigmaX ** 2);
      this.#gx[x] = s;
    }
    this.#gy = new Float64Array(p.nRows);
    for (let y = 0; y < p.nRows; y++) {
      let s = 0;
      for (const c of cy) s += Math.exp(-((y - c) ** 2) / p.blobSigmaY ** 2);
      this.#gy[y] = p.blobMax * s;
    }
    this.#patternDirty = false;
  }

  /** Builds the next table: 2·nRows rows of pattern plus fresh noise. */
  #buildTable(): void {
    if (this.#noiseDirty) this.#rebuildNoise();
    if (this.#patternDirty) this.#rebuildPattern();
    const { nRows, nCols } = this.#params;
    const integer = this.type !== "float32";
    const rows = 2 * nRows;
    const table = newPixels(this.type, rows * nCols);
    const noise = this.#noise;
    const span = noise.length - nCols;
    const gx = this.#gx;
    const sx = this.#tables % nCols;
    const row = integer ? new Int32Array(nCols) : new Float32Array(nCols);
    const add = ADD_RUN[this.type];
    let seed = (this.#rowSeed ^ Math.imul(this.#tables + 1, 0x85ebca6b)) | 0;
    for (let i = 0; i < rows; i++) {
      const a = this.#gy[i % nRows];
      for (let x = 0; x < nCols; x++) {
        // The pattern shifted right by sx, wrapping around.
        const v = a * gx[(x - sx + nCols) % nCols];
        row[x] = integer ? Math.round(v) : v;
      }
      // Rolling offset: an xorshift step per row picks where the row's noise starts.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      add(table, i * nCols, row, 0, noise, (seed >>> 0) % span, nCols);
    }
    this.#table = table;
    this.#tableStats = undefined;
    this.#used = 0;
    this.#tables++;
  }

  /** How the blobs of frame `f` sit: the pattern moved right by x and down by y (wrapping). */
  #shift(k: number, tables: number): { x: number; y: number } {
    const { nRows, nCols } = this.#params;
    return { x: (tables - 1) % nCols, y: (nRows - k) % nRows };
  }

  /**
   * Makes the next frame: a view of the current table (a new table every nRows frames or
   * after a parameter change).
   * @returns the frame
   */
  next(): Frame {
    if (this.#patternDirty || this.#noiseDirty || this.#used >= this.#params.nRows) {
      this.#buildTable();
    }
    const { nRows, nCols } = this.#params;
    const k = this.#used++;
    const pixels = this.#table.subarray(k * nCols, (k + nRows) * nCols);
    const { x, y } = this.#shift(k, this.#tables);
    const f = { number: ++this.#frame, pixels, nRows, nCols, shiftX: x, shiftY: y };
    this.#last = f;
    return f;
  }

  /**
   * Per-row statistics of the frame {@link next} returned last (computed once per table
   * row; the arrays are views: copy what you keep).
   * @returns mean, std and p2p per row of that frame
   */
  lastRowStats(): { mean: Float32Array; std: Float32Array; p2p: Float32Array } {
    const f = this.#last;
    if (!f) throw new RangeError("No frame made yet");
    const rows = this.#table.length / f.nCols;
    if (!this.#tableStats) {
      const t = {
        mean: new Float32Array(rows),
        std: new Float32Array(rows),
        p2p: new Float32Array(rows),
      };
      rowStats(this.#table, f.nCols, t);
      this.#tableStats = t;
    }
    const t = this.#tableStats;
    const k = this.#used - 1;
    return {
      mean: t.mean.subarray(k, k + f.nRows),
      std: t.std.subarray(k, k + f.nRows),
      p2p: t.p2p.subarray(k, k + f.nRows),
    };
  }
}

function newPixels(t: PixelType, n: number): PixelArray {
  switch (t) {
    case "int16":
      return new Int16Array(n);
    case "uint16":
      return new Uint16Array(n);
    case "uint8":
      return new Uint8Array(n);
    default:
      return new Float32Array(n);
  }
}

/** out[d + i] = clamp(blobs[s + i] + noise[o + i]) for i < n. */
type AddRun = (
  out: PixelArray,
  d: number,
  blobs: Float32Array | Int32Array,
  s: number,
  noise: Float32Array | Int32Array,
  o: number,
  n: number,
) => void;

// One copy of the loop per pixel type: each stays monomorphic, so V8 compiles it to a
// tight loop (a shared one would see four array kinds and run several times slower).
const ADD_RUN: Record<PixelType, AddRun> = {
  int16: (out, d, blobs, s, noise, o, n) => {
    const a = out as Int16Array, b = blobs as Int32Array, z = noise as Int32Array;
    for (let i = 0; i < n; i++) {
      const v = b[s + i] + z[o + i];
      a[d + i] = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
    }
  },
  uint16: (out, d, blobs, s, noise, o, n) => {
    const a = out as Uint16Array, b = blobs as Int32Array, z = noise as Int32Array;
    for (let i = 0; i < n; i++) {
      const v = b[s + i] + z[o + i];
      a[d + i] = v < 0 ? 0 : v > 65535 ? 65535 : v;
    }
  },
  uint8: (out, d, blobs, s, noise, o, n) => {
    const a = out as Uint8Array, b = blobs as Int32Array, z = noise as Int32Array;
    for (let i = 0; i < n; i++) {
      const v = b[s + i] + z[o + i];
      a[d + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  },
  float32: (out, d, blobs, s, noise, o, n) => {
    const a = out as Float32Array, b = blobs as Float32Array, z = noise as Float32Array;
    for (let i = 0; i < n; i++) a[d + i] = b[s + i] + z[o + i];
  },
};

/** Statistics of one row. */
export interface RowStats {
  /** Mean value. */
  mean: number;
  /** Standard deviation (population). */
  std: number;
  /** Largest minus smallest value. */
  peakToPeak: number;
}

/**
 * Mean, standard deviation and peak-to-peak of each row of a frame.
 * @param pixels the frame's pixels
 * @param nCols row length
 * @param out where to write: mean[r], std[r], p2p[r] (arrays of at least nRows)
 * @example
 * ```ts
 * import { rowStats } from "./frame.ts";
 * const out = { mean: new Float32Array(1), std: new Float32Array(1), p2p: new Float32Array(1) };
 * rowStats(new Int16Array([1, 3]), 2, out);
 * if (out.mean[0] !== 2 || out.std[0] !== 1 || out.p2p[0] !== 2) throw new Error();
 * ```
 */
export function rowStats(
  pixels: ArrayLike<number>,
  nCols: number,
  out: { mean: Float32Array; std: Float32Array; p2p: Float32Array },
): void {
  const nRows = Math.floor(pixels.length / nCols);
  for (let r = 0; r < nRows; r++) {
    const base = r * nCols;
    let s = 0, s2 = 0, mn = Infinity, mx = -Infinity;
    for (let i = 0; i < nCols; i++) {
      const v = pixels[base + i];
      s += v;
      s2 += v * v;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    const mean = s / nCols;
    out.mean[r] = mean;
    out.std[r] = Math.sqrt(Math.max(0, s2 / nCols - mean * mean));
    out.p2p[r] = mx - mn;
  }
}
