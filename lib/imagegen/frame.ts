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
  readonly type: PixelType;
  #params: FrameParams;
  #seed: number;
  #tableLength: number;
  /** Blob pattern, nRows × nCols, already in counts (rounded for integer types). */
  #blobs: Float32Array | Int32Array = new Int32Array(0);
  /** Noise deviates scaled by noiseLevel (rounded for integer types). */
  #noise: Float32Array | Int32Array = new Int32Array(0);
  /** Unscaled deviates (kept so a noiseLevel change only rescales). */
  #unit = new Float32Array(0);
  #dirty = true;
  #frame = 0;
  #rowSeed = 0x9e3779b9;

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
   * Changes some parameters; the next frame uses them.
   * @param p the parameters to change
   * @throws RangeError when the result is not usable (nothing changes then)
   */
  setParams(p: Partial<FrameParams>): void {
    const next = { ...this.#params, ...p };
    const why = checkFrameParams(next);
    if (why) throw new RangeError(why);
    this.#params = next;
    this.#dirty = true;
  }

  /** Blob centres of the unshifted pattern: x (column) and y (row) positions. */
  centres(): { x: number[]; y: number[] } {
    const p = this.#params;
    return { x: blobCentres(p.nCols, p.nBlobsX), y: blobCentres(p.nRows, p.nBlobsY) };
  }

  #rebuild(): void {
    const p = this.#params;
    const integer = this.type !== "float32";
    const n = p.nRows * p.nCols;
    // Separable: exp(-(dx²/sx² + dy²/sy²)) = gx(x)·gy(y), summed over the grid.
    const { x: cx, y: cy } = this.centres();
    const gx = new Float64Array(p.nCols);
    for (let x = 0; x < p.nCols; x++) {
      let s = 0;
      for (const c of cx) s += Math.exp(-((x - c) ** 2) / p.blobSigmaX ** 2);
      gx[x] = s;
    }
    const blobs = integer ? new Int32Array(n) : new Float32Array(n);
    for (let y = 0; y < p.nRows; y++) {
      let sy = 0;
      for (const c of cy) sy += Math.exp(-((y - c) ** 2) / p.blobSigmaY ** 2);
      const a = p.blobMax * sy;
      const base = y * p.nCols;
      if (a === 0) continue;
      for (let x = 0; x < p.nCols; x++) {
        const v = a * gx[x];
        blobs[base + x] = integer ? Math.round(v) : v;
      }
    }
    this.#blobs = blobs;
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
    this.#dirty = false;
  }

  /** How far the pattern is shifted in frame `f`: one pixel right and down per frame. */
  shiftOf(f: number): { x: number; y: number } {
    const p = this.#params;
    return { x: f % p.nCols, y: f % p.nRows };
  }

  /**
   * Makes the next frame into a new array.
   * @returns the frame
   */
  next(): Frame {
    if (this.#dirty) this.#rebuild();
    const p = this.#params;
    const f = ++this.#frame;
    const { nRows, nCols } = p;
    const pixels = newPixels(this.type, nRows * nCols);
    const { x: sx, y: sy } = this.shiftOf(f);
    const blobs = this.#blobs;
    const noise = this.#noise;
    const span = noise.length - nCols;
    const add = ADD_RUN[this.type];
    let seed = (this.#rowSeed ^ Math.imul(f, 0x85ebca6b)) | 0;
    for (let r = 0; r < nRows; r++) {
      // Rolling offset: an xorshift step per row picks where the row's noise starts.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      const off = (seed >>> 0) % span;
      const src = ((r - sy + nRows) % nRows) * nCols;
      const dst = r * nCols;
      // Columns shifted right by sx with wrap-around: two runs.
      add(pixels, dst + sx, blobs, src, noise, off, nCols - sx);
      add(pixels, dst, blobs, src + nCols - sx, noise, off + nCols - sx, sx);
    }
    return { number: f, pixels, nRows, nCols, shiftX: sx, shiftY: sy };
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
