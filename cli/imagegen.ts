/**
 * imagegen: a synthetic image and row-waveform server over Channel Access and PV Access.
 *
 *   imagegen [-p PREFIX] [-s ROWS,COLS] [-g i|r|s] [-r HZ] [-t int16|uint16|uint8|float32]
 *            [-q] [--json] [--no-ca] [--no-pva] [--ca-port N] [--pva-port N] [--no-helpers]
 *
 * The IOC-stats helper PVs and epicsdev's control PVs (lib/host/host.ts) are hosted under
 * the prefix unless --no-helpers is given; `server` Stop pauses the generator, Start
 * resumes it, Exit stops imagegen as Ctrl-C does.
 * @module
 */

import { Command } from "commander";
import { parseProgram } from "./_commander.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { consoleLogger } from "../lib/core/log.ts";
import { serve } from "../lib/host/serve.ts";
import { Host } from "../lib/host/host.ts";
import { PIXEL_TYPES, type PixelType } from "../lib/imagegen/frame.ts";
import {
  ImageGen,
  type ImageGenStats,
  linkServerControl,
  type RowMode,
} from "../lib/imagegen/imagegen.ts";
import { type CliIO, runMain, untilAborted } from "./_io.ts";

const MODES: Record<string, RowMode> = { i: "image", r: "rows", s: "stats" };

/** How long a frame waits for a PVA connection to drain before the next comes anyway. */
const PACE_FALLBACK_MS = 100;
/** A PVA client that has taken nothing for this long no longer holds up the frames. */
const STALLED_MS = 500;

function portOption(text: string | undefined, what: string): number | undefined | string {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 && n < 65536 ? n : `invalid ${what} "${text}"`;
}

/** One line of statistics for stderr. */
export function formatStats(s: ImageGenStats): string {
  const r = (x: number) => Math.round(x).toString();
  return `imagegen: ${s.frameRate.toFixed(1)} frames/s, ${r(s.rowRate)} row updates/s, ` +
    `${s.postedMBps.toFixed(1)} MB/s posted; PVA sent ${r(s.updateRate)} updates/s, ` +
    `${s.networkMBps.toFixed(1)} MB/s\n`;
}

/**
 * Runs imagegen until the io's signal is aborted or the `server` PV is set to Exit.
 * @param args command-line arguments
 * @param io streams, environment and stop signal
 * @returns 0 after a clean stop, 1 on a runtime failure, 2 on bad usage
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const program = new Command("imagegen")
    .description(
      "Serve a synthetic image (Gaussian blobs plus noise), its control PVs and optionally " +
        "one waveform PV (or statistics PVs) per row, over Channel Access and PV Access",
    )
    .option("-p, --prefix <prefix>", "PV name prefix", "imagegen0:")
    .option("-s, --size <rows,cols>", "image size (and how many row PVs exist)", "10000,1000")
    .option("-g, --generate <i|r|s>", "i: image only, r: row waveform PVs, s: row statistics", "i")
    .option("-r, --rate <hz>", "frames per second, 0 = as fast as clients take them", "1")
    .option("--image-rate <hz>", "post the image at most this often (0 = every frame; -g r: 1)")
    .option("-t, --type <type>", `pixel type: ${PIXEL_TYPES.join(", ")}`, "int16")
    .option("--row-form <form>", "row PVs as ndarray (NTNDArray, as epicsdev) or array", "ndarray")
    .option("-q, --quiet", "no statistics on stderr")
    .option("--json", "statistics on stderr as JSON lines")
    .option("--no-ca", "do not serve over Channel Access")
    .option("--ca-port <port>", "Channel Access port (default EPICS_CAS_SERVER_PORT or 5064)")
    .option("--no-pva", "do not serve over PV Access")
    .option("--pva-port <port>", "PV Access TCP port (default EPICS_PVAS_SERVER_PORT or 5075)")
    .option("--no-helpers", "do not host the IOC-stats and control PVs (HEARTBEAT, server, ...)")
    .option("-v, --verbose", "log every connection");
  const parsed = parseProgram(program, "imagegen", args, io);
  if (parsed !== undefined) return parsed;
  const o = program.opts<{
    prefix: string;
    size: string;
    generate: string;
    rate: string;
    type: string;
    rowForm: string;
    imageRate?: string;
    quiet?: boolean;
    json?: boolean;
    ca: boolean;
    caPort?: string;
    pva: boolean;
    pvaPort?: string;
    helpers: boolean;
    verbose?: boolean;
  }>();
  const usage = (msg: string) => {
    io.stderr(`imagegen: ${msg}\n`);
    return 2;
  };
  const size = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(o.size);
  if (!size || Number(size[1]) < 1 || Number(size[2]) < 1) {
    return usage(`invalid size "${o.size}" (expected ROWS,COLS, e.g. 10000,1000)`);
  }
  const mode = MODES[o.generate];
  if (!mode) return usage(`invalid -g "${o.generate}" (expected i, r or s)`);
  const rate = Number(o.rate);
  if (!(rate >= 0) || o.rate.trim() === "") return usage(`invalid rate "${o.rate}"`);
  const imageRate = o.imageRate === undefined ? undefined : Number(o.imageRate);
  if (imageRate !== undefined && !(imageRate >= 0)) {
    return usage(`invalid --image-rate "${o.imageRate}"`);
  }
  if (!(PIXEL_TYPES as readonly string[]).includes(o.type)) {
    return usage(`invalid type "${o.type}" (expected ${PIXEL_TYPES.join(", ")})`);
  }
  if (o.rowForm !== "ndarray" && o.rowForm !== "array") {
    return usage(`invalid --row-form "${o.rowForm}" (expected ndarray or array)`);
  }
  const caPort = portOption(o.caPort, "--ca-port");
  const pvaPort = portOption(o.pvaPort, "--pva-port");
  if (typeof caPort === "string") return usage(caPort);
  if (typeof pvaPort === "string") return usage(pvaPort);
  if (!o.ca && !o.pva) return usage("nothing to serve over: both --no-ca and --no-pva given");

  // Pacing at rate 0: the next frame comes when the PVA connections have sent what they
  // could, or after a short wait (CA-only or stalled clients), or at once when nobody listens.
  let drained: (() => void) | undefined;
  let gen: ImageGen;
  const pace = () =>
    new Promise<void>((resolve) => {
      const listened = gen.image.listenerCount > 0 || gen.rows.some((r) => r.listenerCount > 0) ||
        gen.rowStatPvs.mean.some((r) => r.listenerCount > 0);
      const t = setTimeout(() => {
        drained = undefined;
        resolve();
      }, listened ? PACE_FALLBACK_MS : 0);
      drained = () => {
        clearTimeout(t);
        drained = undefined;
        resolve();
      };
    });
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  let host: Host;
  try {
    gen = new ImageGen({
      prefix: o.prefix,
      rows: Number(size[1]),
      cols: Number(size[2]),
      mode,
      type: o.type as PixelType,
      rate,
      rowForm: o.rowForm,
      imageRate,
      pace,
      traffic: () => server?.pva?.traffic ?? { updates: 0, bytes: 0 },
    });
    // The helper PVs first, then the generator's (a clash of names is refused here).
    host = new Host({ prefix: o.prefix, helpers: o.helpers });
    for (const pv of gen.pvs) host.provider.add(pv);
  } catch (e) {
    return usage((e as Error).message);
  }
  const untie = linkServerControl(gen, host);
  const shutdown = async () => {
    untie();
    host[Symbol.dispose]();
    await gen.stop();
    await server?.close();
  };
  try {
    server = await serve({
      pvs: host.provider,
      ca: o.ca,
      caPort,
      pva: o.pva,
      pvaPort,
      config: epicsConfigFrom(io.env),
      logger: consoleLogger("imagegen", o.verbose),
      // The next frame once every PVA client has been sent all it can take (so the fastest
      // client does not make frames that the others' queues only overwrite); a client that
      // has taken nothing for STALLED_MS (it stopped reading) is left out.
      pvaOnDrained: () => {
        if (drained && server?.pva?.busyConnections(STALLED_MS) === 0) drained();
      },
    });
  } catch (e) {
    await shutdown();
    io.stderr(`imagegen: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  host.attach({ ca: server.ca, pva: server.pva });
  host.status("Started");
  const where = (server.ca ? ` (CA on TCP port ${server.ca.tcpPort})` : "") +
    (server.pva ? ` (PVA on TCP port ${server.pva.tcpPort})` : "");
  io.stderr(
    `imagegen: serving ${host.provider.size} PVs as ${o.prefix}*${where}; Ctrl-C to stop\n`,
  );
  if (!o.quiet) {
    gen.onStats((s) => io.stderr(o.json ? `${JSON.stringify(s)}\n` : formatStats(s)));
  }
  gen.start();
  const why = await Promise.race([
    untilAborted(io.signal).then(() => "signal"),
    host.exited.then(() => "exit"),
  ]);
  if (why === "exit") {
    io.stderr("imagegen: server PV set to Exit; stopping\n");
    // Let the reply to the put that asked for Exit reach its client before closing.
    await new Promise((r) => setTimeout(r, 200));
  }
  await shutdown();
  return 0;
}

if (import.meta.main) await runMain(main);
