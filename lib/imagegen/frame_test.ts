import assert from "node:assert/strict";
import { blobCentres, FrameGenerator, type FrameParams, rowStats } from "./frame.ts";

const P: FrameParams = {
  nRows: 80,
  nCols: 120,
  nBlobsX: 3,
  nBlobsY: 2,
  blobMax: 1000,
  blobSigmaX: 4,
  blobSigmaY: 3,
  noiseLevel: 10,
};

const opts = { permissions: "none" as const };

function near(x: number, want: number, tol: number): void {
  assert(Math.abs(x - want) <= tol, `${x} is not within ${tol} of ${want}`);
}

Deno.test("blobCentres spreads blobs like linspace(d, n-d, k)", opts, () => {
  assert.deepEqual(blobCentres(120, 3), [20, 60, 100]);
  assert.deepEqual(blobCentres(80, 2), [20, 60]);
  assert.deepEqual(blobCentres(10, 1), [5]);
  assert.deepEqual(blobCentres(10, 0), []);
});

Deno.test("a frame has the shape, type and counter asked for", opts, () => {
  const g = new FrameGenerator(P);
  const f = g.next();
  assert(f.pixels instanceof Int16Array);
  assert.deepEqual([f.nRows, f.nCols, f.pixels.length, f.number], [80, 120, 80 * 120, 1]);
  const copy = f.pixels.slice();
  const f2 = g.next();
  assert.deepEqual(f2.number, 2);
  assert(f2.pixels !== f.pixels, "each frame gets its own array");
  for (let i = 0; i < 200; i++) g.next();
  assert.deepEqual(f.pixels, copy, "a frame's pixels never change once made");
  for (const t of ["uint16", "uint8", "float32"] as const) {
    const p = new FrameGenerator(P, { type: t }).next().pixels;
    assert.deepEqual(
      p.constructor.name,
      { uint16: "Uint16Array", uint8: "Uint8Array", float32: "Float32Array" }[t],
    );
  }
});

/** Smooths away the noise: mean over a 5x5 box. */
function boxMean(px: ArrayLike<number>, nCols: number, x: number, y: number): number {
  const nRows = px.length / nCols;
  let s = 0;
  for (let dy = -2; dy <= 2; dy++) {
    for (let dx = -2; dx <= 2; dx++) {
      s += px[((y + dy + nRows) % nRows) * nCols + (x + dx + nCols) % nCols];
    }
  }
  return s / 25;
}

Deno.test("blobs sit on the grid, shifted by the frame's drift", opts, () => {
  const g = new FrameGenerator(P);
  for (let i = 1; i <= 83; i++) {
    const f = g.next();
    if (i > 3 && i < 80) continue;
    const { x: cx, y: cy } = g.centres();
    // Up one row per frame; one pixel right per table of nRows frames.
    const k = (i - 1) % P.nRows;
    assert.deepEqual([f.shiftX, f.shiftY], [
      Math.floor((i - 1) / P.nRows),
      (P.nRows - k) % P.nRows,
    ]);
    for (const x0 of cx) {
      for (const y0 of cy) {
        const x = (x0 + f.shiftX) % P.nCols, y = (y0 + f.shiftY) % P.nRows;
        const at = f.pixels[y * P.nCols + x];
        // The peak (plus noise) at the centre, far higher than between blobs.
        assert(Math.abs(at - P.blobMax) < 6 * P.noiseLevel, `pixel at ${x},${y} is ${at}`);
        // Half a grid step across: 5 sigma from every blob.
        const between = boxMean(f.pixels, P.nCols, x + 20, y);
        assert(between < 5 * P.noiseLevel, `between blobs ${between}`);
      }
    }
  }
});

Deno.test("noise has the asked standard deviation and changes from frame to frame", opts, () => {
  const p = { ...P, nBlobsX: 0, nBlobsY: 0, blobMax: 0, noiseLevel: 25 };
  const g = new FrameGenerator(p);
  const a = g.next().pixels, b = g.next().pixels;
  const out = { mean: new Float32Array(80), std: new Float32Array(80), p2p: new Float32Array(80) };
  rowStats(a, p.nCols, out);
  const mean = out.mean.reduce((s, x) => s + x, 0) / 80;
  const std = Math.sqrt(out.std.reduce((s, x) => s + x * x, 0) / 80);
  near(mean, 0, 1.5);
  near(std, 25, 1.5);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  assert(same < a.length / 4, `${same} of ${a.length} pixels unchanged`);
});

Deno.test("equal seeds give equal frames; integer types clamp", opts, () => {
  assert.deepEqual(
    new FrameGenerator(P, { seed: 7 }).next().pixels,
    new FrameGenerator(P, { seed: 7 }).next().pixels,
  );
  const u8 =
    new FrameGenerator({ ...P, blobMax: 1000, noiseLevel: 30 }, { type: "uint8" }).next().pixels;
  assert(u8.includes(255) && u8.includes(0), "values beyond uint8 clamp to 0 and 255");
});

Deno.test("setParams takes effect on the next frame and refuses bad values", opts, () => {
  const g = new FrameGenerator(P);
  g.next();
  g.setParams({ nRows: 10, nCols: 20, noiseLevel: 0, nBlobsX: 1, nBlobsY: 1, blobMax: 500 });
  const f = g.next();
  assert.deepEqual([f.nRows, f.nCols, f.pixels.length], [10, 20, 200]);
  assert.deepEqual(Math.max(...f.pixels), 500);
  assert.throws(() => g.setParams({ nCols: 0 }), /nCols/);
  assert.throws(() => g.setParams({ blobSigmaX: -1 }), /blobSigmaX/);
  assert.deepEqual(g.params.nCols, 20, "a refused change leaves the parameters alone");
});

Deno.test("lastRowStats are the statistics of the last frame's rows", opts, () => {
  const g = new FrameGenerator(P);
  for (let i = 0; i < 100; i++) {
    const f = g.next();
    if (i % 37 !== 0) continue;
    const want = {
      mean: new Float32Array(80),
      std: new Float32Array(80),
      p2p: new Float32Array(80),
    };
    rowStats(f.pixels, P.nCols, want);
    const got = g.lastRowStats();
    assert.deepEqual([...got.mean], [...want.mean]);
    assert.deepEqual([...got.std], [...want.std]);
    assert.deepEqual([...got.p2p], [...want.p2p]);
  }
});

Deno.test("rowStats gives mean, std and peak-to-peak per row", opts, () => {
  const px = new Int16Array([1, 2, 3, 4, -5, 5, 5, -5]);
  const out = { mean: new Float32Array(2), std: new Float32Array(2), p2p: new Float32Array(2) };
  rowStats(px, 4, out);
  assert.deepEqual([...out.mean], [2.5, 0]);
  near(out.std[0], Math.sqrt(1.25), 1e-6);
  assert.deepEqual([out.std[1], out.p2p[0], out.p2p[1]], [5, 3, 10]);
});
