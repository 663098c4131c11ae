/**
 * Plumbing shared by pvget, pvput, pvmonitor and pvinfo: a getopt-style option parser
 * (the EPICS tools use getopt, so `-w5`, `-w 5` and `-vq` all work), the client they
 * share, and how one value is printed in each output mode.
 * @module
 */

import process from "node:process";
import { type CliIO, untilAborted } from "./_io.ts";
import { utcOffsetFor } from "./_ca_cli.ts";
import { PvaClient } from "../lib/pva/client/client.ts";
import { parseRequest } from "../lib/pva/proto/request.ts";
import { PvaStatusError } from "../lib/core/errors.ts";
import type { PvValue } from "../lib/pva/proto/value.ts";
import { formatDelta, formatJson, formatNt, formatRaw, formatTime } from "./_pva_format.ts";

/** Parsed options: flag letter to its argument (or how many times a plain flag was given). */
export interface ParsedArgs {
  opts: Map<string, string[]>;
  /** Every option in the order given, for commands where the last of two options wins. */
  seq: [string, string][];
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
  const seq: [string, string][] = [];
  const rest: string[] = [];
  const add = (k: string, v: string) => {
    seq.push([k, v]);
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
      if (at < 0 || c === ":") return { opts, seq, rest, error: `Unrecognized option: '-${c}'` };
      if (spec[at + 1] === ":") {
        let v = a.slice(j + 1);
        if (v === "") {
          if (i + 1 >= args.length) {
            return { opts, seq, rest, error: `Option '-${c}' requires an argument` };
          }
          v = args[++i];
        }
        add(c, v);
        break;
      }
      add(c, "");
    }
  }
  return { opts, seq, rest };
}

/** Output modes of the value printers. */
export type OutputMode = "nt" | "raw" | "json" | "delta";

/** Options every PVA command reads. */
export interface CommonOptions {
  request: string;
  timeout: number;
  mode: OutputMode;
  timeZone: string | undefined;
  /** `-p`: PV Access, or Channel Access presented as PVA structures. */
  provider: "pva" | "ca";
}

/**
 * Reads -r, -w, -M and -v from parsed options as pvAccessCPP's tools do: a bad -w value
 * is reported and ignored, an unknown -M mode is reported and falls back to raw.
 * @param p the parsed arguments
 * @param io where the warnings go (stderr) and TZ comes from
 * @param tool the command name for the warnings
 * @returns the options, or an error message for an unusable option
 */
export function commonOptions(
  p: ParsedArgs,
  io: CliIO,
  tool = "pvget",
  defaultTimeout = 5,
): CommonOptions | string {
  const request = p.opts.get("r")?.at(-1) ?? "";
  let timeout = defaultTimeout;
  for (const w of p.opts.get("w") ?? []) {
    const t = parseCDouble(w);
    if (t === undefined) {
      io.stderr(`'${w}' is not a valid timeout value - ignored. ('${tool} -h' for help.)\n`);
    } else timeout = t;
  }
  let mode: OutputMode = "nt";
  for (const m of p.opts.get("M") ?? []) {
    if (m === "nt" || m === "raw" || m === "json") mode = m;
    else {
      io.stderr(`Unknown output mode '${m}'\n`);
      mode = "raw";
    }
  }
  if (p.opts.has("v")) mode = "delta";
  const provider = p.opts.get("p")?.at(-1) ?? "pva";
  if (provider !== "pva" && provider !== "ca") {
    return `provider '${provider}' is not supported`;
  }
  return { request, timeout, mode, timeZone: io.env.TZ || undefined, provider };
}

/** How a PVA command's options are read by {@link parseCommand}. */
export interface CommandSpec {
  /** The command's name, in the usage-error and option-error messages. */
  tool: string;
  /** The getopt option letters. */
  spec: string;
  /** Printed to stderr by -h. */
  usage: string;
  /** Printed to stdout by -V (without the newline). */
  version: string;
  /** GNU (true, the default) or POSIX getopt: see {@link getopt}. */
  permute?: boolean;
  /** The command named in -w warnings, when not `tool` (pvinfo's names pvget). */
  warnAs?: string;
}

/**
 * The start every PVA command shares, as pvAccessCPP's tools: parse the arguments, then
 * -h (usage on stderr, 0), -V (version on stdout, 0), -f (unsupported, 1), the common
 * options ({@link commonOptions}), the provider and the pvRequest ({@link requestError}),
 * each failure printed on stderr.
 * @param args the command's arguments
 * @param io output streams and environment
 * @param s the command's options
 * @returns the parsed arguments and common options, or the exit code when the command
 *   is done already
 */
export function parseCommand(
  args: readonly string[],
  io: CliIO,
  s: CommandSpec,
): { p: ParsedArgs; c: CommonOptions } | number {
  const p = getopt(args, s.spec, s.permute ?? true);
  if (p.error) {
    io.stderr(`${p.error}. ('${s.tool} -h' for help.)\n`);
    return 1;
  }
  if (p.opts.has("h")) {
    io.stderr(s.usage);
    return 0;
  }
  if (p.opts.has("V")) {
    io.stdout(`${s.version}\n`);
    return 0;
  }
  if (p.opts.has("f")) {
    io.stderr("Unsupported option -f\n");
    return 1;
  }
  const c = commonOptions(p, io, s.warnAs ?? s.tool);
  if (typeof c === "string") {
    io.stderr(`${s.tool}: ${c}\n`);
    return 1;
  }
  // A command without -r (pvinfo) has the empty request, which always passes.
  const badRequest = requestError(c.request);
  if (badRequest !== undefined) {
    io.stderr(`failed to parse request string: ${badRequest}\n`);
    return 1;
  }
  return { p, c };
}

/**
 * Checks a pvRequest before anything is sent, as pvAccessCPP's tools do: unbalanced
 * brackets get pvData's `mismatched () N` message, other errors our parser's.
 * @returns the message to print after "failed to parse request string: ", or undefined
 */
export function requestError(request: string): string | undefined {
  let r = request.replace(/\s/g, "");
  if (r === "") return undefined;
  if (!/record\[|field\(|putField\(|getField\(/.test(r)) r = `field(${r})`;
  const count = (open: string, close: string) =>
    [...r].reduce((n, c) => n + (c === open ? 1 : c === close ? -1 : 0), 0);
  for (const [o, c] of [["(", ")"], ["{", "}"], ["[", "]"]]) {
    const n = count(o, c);
    if (n !== 0) return `mismatched ${o}${c} ${n}`;
  }
  try {
    parseRequest(request);
    return undefined;
  } catch (e) {
    return errorText(e);
  }
}

/**
 * strtod-like parse of a whole argument (what epicsScanDouble accepts): leading space,
 * a decimal or hex float, inf/nan; undefined when nothing parses.
 */
export function parseCDouble(s: string): number | undefined {
  const m =
    /^\s*([+-]?)(?:(inf(?:inity)?)|(nan)|(0x[0-9a-f]+(?:\.[0-9a-f]*)?(?:p[+-]?\d+)?)|(\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?))/i
      .exec(s);
  if (!m) return undefined;
  const sign = m[1] === "-" ? -1 : 1;
  if (m[2]) return sign * Infinity;
  if (m[3]) return NaN;
  if (m[4]) {
    const [mant, exp] = m[4].slice(2).split(/p/i);
    const [ip, fp = ""] = mant.split(".");
    const v = parseInt(ip || "0", 16) + (fp ? parseInt(fp, 16) / 16 ** fp.length : 0);
    return sign * v * 2 ** Number(exp ?? 0);
  }
  return sign * Number(m[5]);
}

/** A client configured from the command's environment. */
export function clientFor(io: CliIO): PvaClient {
  let host = "";
  try {
    host = Deno.hostname();
  } catch {
    // no --allow-sys: send an empty host name, as pvxs does when it cannot tell
  }
  return new PvaClient({
    env: io.env,
    user: io.env.USER ?? io.env.LOGNAME ?? "",
    host,
    // As pvxs's client logs it (logger "pvxs.client.dup", level ERR, local time).
    onMultiplyDefined: (name, accepted, ignored) =>
      io.stderr(
        `${logTime(utcOffsetFor(io.env))} ERR pvxs.client.dup Duplicate PV name ${name} ` +
          `from ${accepted} and ${ignored}\n`,
      ),
  });
}

/** Local time as pvxs's log lines start: 2024-05-06T07:08:09.123456789. */
function logTime(utcOffset: number | ((posixMs: number) => number)): string {
  const ms = performance.timeOrigin + performance.now();
  const off = typeof utcOffset === "number" ? utcOffset : utcOffset(ms);
  const d = new Date(Math.floor(ms) + off * 60000);
  const frac = String(Math.round((ms % 1000) * 1e6)).padStart(9, "0").slice(0, 9);
  return d.toISOString().slice(0, 19) + "." + frac;
}

/**
 * One value as pvget/pvmonitor print it in `mode`: the name padded to the longest
 * name and a space, then the value (pvxs' delta form prints the name on its own line).
 * Raw and JSON show only the fields the value marks changed, as pvAccessCPP does.
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
      return col + formatRaw("", value, { timeZone: c.timeZone });
    default:
      return col + formatNt(value, { timeZone: c.timeZone });
  }
}

// Wall-clock nanoseconds: the performance clock's origin (microsecond precision) as the
// anchor, node's monotonic nanosecond counter for the time since.
let anchor: { wallNs: bigint; monoNs: bigint } | undefined;

/** The current POSIX time in nanoseconds, at nanosecond resolution. */
export function nowNs(): bigint {
  anchor ??= {
    wallNs: BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)),
    monoNs: process.hrtime.bigint(),
  };
  return anchor.wallNs + (process.hrtime.bigint() - anchor.monoNs);
}

/**
 * A time stamp as the pvxs of our recordings printed it before `Connected to` on stderr
 * (`%Y-%m-%d %H:%M:%S.%09f`, every digit real).
 * @param ns POSIX time in nanoseconds
 */
export function nowText(timeZone: string | undefined, ns: bigint = nowNs()): string {
  const sec = ns / 1_000_000_000n;
  return formatTime(Number(sec), Number(ns - sec * 1_000_000_000n), 9, { timeZone });
}

/** The message of an error, without its class name. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * What pvAccessCPP prints for a failed operation: the server's own status message when
 * the server refused, else our message. PvaStatusError carries the server's text only
 * inside its message (`<action>: server returned error "<text>"`), so we take it out.
 */
export function cppErrorText(e: unknown): string {
  const m = e instanceof PvaStatusError
    ? /: server returned (?:error|fatal) "([\s\S]*)"$/.exec(e.message)
    : null;
  return m ? m[1] : errorText(e);
}

/**
 * Runs monitors on `names` until the io signal aborts or every subscription has ended
 * (pvmonitor and `pvget -m`). As pvAccessCPP's pvmonitor: a disconnect prints
 * `name <Disconnect>` on stdout, a failed subscription `name Error message` on stderr.
 * @returns 1 when a subscription failed, else 0
 */
export async function runMonitors(
  names: readonly string[],
  c: CommonOptions,
  io: CliIO,
): Promise<number> {
  const pad = Math.max(...names.map((n) => n.length));
  await using client = clientFor(io);
  let failed = false;
  let open = names.length;
  const ended = new AbortController();
  const end = () => {
    if (--open === 0) ended.abort();
  };
  const subs = names.map((name) => {
    // Our client may report a lost connection more than once (again when a reconnect
    // attempt fails); the tools print one disconnect per connection.
    let up = false;
    return client.monitor(name, (ev) => {
      switch (ev.kind) {
        case "data":
          io.stdout(printValue(name, pad, ev.value, c));
          return;
        case "connected":
          up = true;
          // As the pvxs of our recordings (pvxmonitor_*.json): local time with nanoseconds
          // first (pvxs 1.5.2 has dropped the time stamp).
          if (c.mode === "delta") {
            io.stderr(`${nowText(c.timeZone)} ${name} Connected to ${ev.server}\n`);
          }
          return;
        case "disconnected":
          if (!up) return;
          up = false;
          // No recording shows this line; pvxs 1.5.2 prints it without a time stamp.
          if (c.mode === "delta") io.stderr(`${name} Disconnected\n`);
          else io.stdout(`${name.padEnd(pad)} <Disconnect>\n`);
          return;
        case "error":
          failed = true;
          io.stderr(`${name.padEnd(pad)} Error ${cppErrorText(ev.error)}\n`);
          end();
          return;
        case "finished":
          end();
          return;
      }
    }, { request: c.request });
  });
  await untilAborted(AbortSignal.any([io.signal, ended.signal]));
  for (const s of subs) await s.close();
  return failed ? 1 : 0;
}
