/**
 * Plumbing shared by pvget, pvput, pvmonitor and pvinfo: a getopt-style option parser
 * (the EPICS tools use getopt, so `-w5`, `-w 5` and `-vq` all work), the client they
 * share, and how one value is printed in each output mode.
 * @module
 */

import { type CliIO, untilAborted } from "./_io.ts";
import { PvaClient } from "../lib/pva/client/client.ts";
import type { PvValue } from "../lib/pva/proto/value.ts";
import { formatDelta, formatJson, formatNt, formatRaw, formatTime } from "./_pva_format.ts";

/** Parsed options: flag letter to its argument (or how many times a plain flag was given). */
export interface ParsedArgs {
  opts: Map<string, string[]>;
  rest: string[];
  /** A usage error message, when parsing failed. */
  error?: string;
}

/**
 * getopt(3) over `spec` (e.g. "hVr:w:M:vq"): letters followed by ":" take an argument.
 * @param args the command's arguments
 * @param spec the option letters
 * @param permute keep scanning after the first operand (GNU getopt) or stop there
 *   (POSIX; pvput, so negative values are not taken for options)
 */
export function getopt(args: readonly string[], spec: string, permute = true): ParsedArgs {
  const opts = new Map<string, string[]>();
  const rest: string[] = [];
  const add = (k: string, v: string) => {
    const l = opts.get(k) ?? [];
    l.push(v);
    opts.set(k, l);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      if (!permute) {
        rest.push(...args.slice(i));
        break;
      }
      rest.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      const at = spec.indexOf(c);
      if (at < 0 || c === ":") return { opts, rest, error: `Unrecognized option: '-${c}'` };
      if (spec[at + 1] === ":") {
        let v = a.slice(j + 1);
        if (v === "") {
          if (i + 1 >= args.length) {
            return { opts, rest, error: `Option '-${c}' requires an argument` };
          }
          v = args[++i];
        }
        add(c, v);
        break;
      }
      add(c, "");
    }
  }
  return { opts, rest };
}

/** Output modes of the value printers. */
export type OutputMode = "nt" | "raw" | "json" | "delta";

/** Options every PVA command reads. */
export interface CommonOptions {
  request: string;
  timeout: number;
  mode: OutputMode;
  timeZone: string | undefined;
}

/**
 * Reads -r, -w, -M and -v from parsed options.
 * @returns the options, or an error message for a bad value
 */
export function commonOptions(
  p: ParsedArgs,
  io: CliIO,
  defaultTimeout = 5,
): CommonOptions | string {
  const request = p.opts.get("r")?.at(-1) ?? "";
  const w = p.opts.get("w")?.at(-1);
  let timeout = defaultTimeout;
  if (w !== undefined) {
    timeout = Number(w);
    if (!Number.isFinite(timeout) || timeout < 0) return `invalid timeout value '${w}'`;
  }
  let mode: OutputMode = "nt";
  const m = p.opts.get("M")?.at(-1);
  if (m !== undefined) {
    if (m !== "nt" && m !== "raw" && m !== "json") {
      return `invalid -M mode '${m}' (raw, nt or json)`;
    }
    mode = m;
  }
  if (p.opts.has("v")) mode = "delta";
  const provider = p.opts.get("p")?.at(-1);
  if (provider !== undefined && provider !== "pva") {
    return `provider '${provider}' is not supported`;
  }
  return { request, timeout, mode, timeZone: io.env.TZ || undefined };
}

/** A client configured from the command's environment. */
export function clientFor(io: CliIO): PvaClient {
  let host = "";
  try {
    host = Deno.hostname();
  } catch {
    // no --allow-sys: send an empty host name, as pvxs does when it cannot tell
  }
  return new PvaClient({ env: io.env, user: io.env.USER ?? io.env.LOGNAME ?? "", host });
}

/**
 * One value as printed by pvget/pvmonitor in `mode`.
 * @param name the PV name
 * @param pad width of the name column (the longest name given)
 * @param value the value with its changed marks
 */
export function printValue(
  name: string,
  pad: number,
  value: PvValue,
  c: CommonOptions,
): string {
  const col = `${name.padEnd(pad)} `;
  switch (c.mode) {
    case "delta":
      return formatDelta(name, value);
    case "json":
      return col + formatJson(value);
    case "raw":
      return formatRaw(name, value, { timeZone: c.timeZone });
    default:
      return col + formatNt(value, { timeZone: c.timeZone });
  }
}

/** The current time as pvxs prints it on stderr (`%Y-%m-%d %H:%M:%S.%09f`). */
export function nowText(timeZone: string | undefined): string {
  const ms = Date.now();
  return formatTime(Math.floor(ms / 1000), (ms % 1000) * 1e6, 9, { timeZone });
}

/** The message of an error, without its class name. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs monitors on `names` until the io signal aborts (pvmonitor and `pvget -m`).
 * @returns the exit code
 */
export async function runMonitors(
  names: readonly string[],
  c: CommonOptions,
  io: CliIO,
): Promise<number> {
  const pad = Math.max(...names.map((n) => n.length));
  await using client = clientFor(io);
  const subs = names.map((name) =>
    client.monitor(name, (ev) => {
      switch (ev.kind) {
        case "data":
          io.stdout(printValue(name, pad, ev.value, c));
          return;
        case "connected":
          if (c.mode === "delta") {
            io.stderr(`${nowText(c.timeZone)} ${name} Connected to ${ev.server}\n`);
          }
          return;
        case "disconnected":
          if (c.mode === "delta") io.stderr(`${nowText(c.timeZone)} ${name} Disconnected\n`);
          else io.stdout(`${name.padEnd(pad)} <Disconnect>\n`);
          return;
        case "error":
          io.stderr(`${name} Error ${errorText(ev.error)}\n`);
          return;
        case "finished":
          return;
      }
    }, { request: c.request })
  );
  await untilAborted(io.signal);
  for (const s of subs) await s.close();
  return 0;
}
