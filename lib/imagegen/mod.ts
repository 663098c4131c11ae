/**
 * Synthetic images for stress tests: frames of Gaussian blobs plus noise
 * ({@link FrameGenerator}) and the imagegen device's PVs ({@link ImageGen}), ready for
 * `serve()`.
 *
 * ```ts ignore
 * import { ImageGen } from "./mod.ts";
 * import { serve } from "../host/serve.ts";
 * const gen = new ImageGen({ prefix: "cam1:", rows: 480, cols: 640, rate: 10 });
 * await using server = await serve({ pvs: gen.pvs });
 * gen.start();
 * ```
 * @module
 */
export * from "./frame.ts";
export * from "./imagegen.ts";
