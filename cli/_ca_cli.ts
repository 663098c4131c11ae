/**
 * Plumbing shared by our catools (`caget`, `caput`, `camonitor`, `cainfo`): a getopt(3)
 * that behaves like glibc's (permuting, or POSIX order for caput), the timeout, priority
 * and formatting options every tool takes with the warnings EPICS base prints for bad
 * arguments, EPICS_CLI_TIMEOUT, the client context built from the command's environment,
 * connection waiting, ECA message texts, the time zone, and JSON helpers for `--json`.
 * @module
 */

import type { CircuitLossReason } from "../lib/ca/client/circuit.ts";
import { epicsConfigFrom } from "../lib/core/env.ts";
import { CaStatusError, ChannelNotFoundError, TimeoutError } from "../lib/core/errors.ts";
import { CaContext } from "../lib/ca/client/context.ts";
import type { CaChannel } from "../lib/ca/client/channel.ts";
import { ecaName } from "../lib/ca/client/eca_names.ts";
import { Eca } from "../lib/ca/proto/constants.ts";
import { dbrInfo } from "../lib/ca/proto/dbr.ts";
import type { DbrData } from "../lib/ca/proto/dbr_types.ts";
import { POSIX_TIME_AT_EPICS_EPOCH } from "../lib/core/time.ts";
import { EPICS_TS_VERSION } from "../lib/core/version.ts";
import type { CliIO } from "./_io.ts";
import {
  alarmSeverityText,
  alarmStatusText,
  type CaFormatOptions,
  localUtcOffset,
  parseCount,
  parsePrecision,
  parseRadix,
} from "./_ca_format.ts";

/** The EPICS release our tools claim compatibility with, and the CA protocol version. */
export const EPICS_VERSION_TEXT = `epics-ts ${EPICS_TS_VERSION} (EPICS 7.0.8.1 compatible)`;
/** CA protocol version printed by `-V`. */
export const CA_PROTOCOL_VERSION = "4.13";

/** The `-V` text, as the EPICS tools print it. */
export function versionText(): string {
  return `\nEPICS Version ${EPICS_VERSION_TEXT}, CA Protocol version ${CA_PROTOCOL_VERSION}\n`;
}

/** The catools default for `-w` (seconds). */
export const DEFAULT_TIMEOUT = 1.0;

/** A timeout long enough to mean "wait forever" (`-w 0`) and still fit setTimeout. */
export const FOREVER_SEC = 2_000_000;

// ---------------------------------------------------------------------------------
// getopt
// ---------------------------------------------------------------------------------

/** One option as getopt(3) returns it, in command-line order. */
export interface OptEvent {
  /** The option letter. */
  opt: string;
  /** Its argument, for letters followed by ":" in the spec. */
  arg?: string;
  /** Set when getopt would return '?' (unknown letter) or ':' (missing argument). */
  error?: "unknown" | "missing";
}

/** What {@link getopt} found. */
export interface GetoptResult {
  /** Options in order; parsing stops after the first error event. */
  events: OptEvent[];
  /** Operands (non-option words), in order. */
  operands: string[];
  /** Long options of our own (`--json`), without the dashes. */
  long: string[];
}

/**
 * Parses arguments like glibc getopt with a leading ":" in the spec: option letters may
 * be grouped (`-tn`), an argument may be attached (`-w5`) or follow (`-w 5`), "--" ends
 * the options. By default operands and options may be mixed (GNU permutation); with
 * `posix` (caput sets POSIXLY_CORRECT) parsing stops at the first operand, so negative
 * numbers after the PV name stay values. Words starting with "--" followed by a name are
 * our long options and are returned apart. When `long` lists the names a tool knows, any
 * other "--name" is an error event for the letter "-" at its place among the options, as
 * glibc's getopt reports it to EPICS base's tools (which know no long options).
 * @param args the arguments
 * @param spec the option letters, e.g. "taicnhsSVe:f:g:l:#:d:0:w:p:F:"
 * @param opts `posix` ordering; `long`: the long option names accepted
 * @returns events, operands and long options
 * @example
 * ```ts
 * import { getopt } from "./_ca_cli.ts";
 * const r = getopt(["T:ai", "-tw2", "-F", ","], "tw:F:");
 * if (r.operands[0] !== "T:ai" || r.events.length !== 3) throw new Error();
 * ```
 */
export function getopt(
  args: readonly string[],
  spec: string,
  opts: { posix?: boolean; long?: readonly string[] } = {},
): GetoptResult {
  const events: OptEvent[] = [];
  const operands: string[] = [];
  const long: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      if (opts.long && !opts.long.includes(a.slice(2))) {
        events.push({ opt: "-", error: "unknown" });
        return { events, operands, long };
      }
      long.push(a.slice(2));
      continue;
    }
    if (!a.startsWith("-") || a === "-") {
      if (opts.posix) {
        operands.push(...args.slice(i));
        break;
      }
      operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      const at = c === ":" ? -1 : spec.indexOf(c);
      if (at < 0) {
        events.push({ opt: c, error: "unknown" });
        return { events, operands, long };
      }
      if (spec[at + 1] === ":") {
        let v = a.slice(j + 1);
        if (v === "") {
          if (i + 1 >= args.length) {
            events.push({ opt: c, error: "missing" });
            return { events, operands, long };
          }
          v = args[++i];
        }
        events.push({ opt: c, arg: v });
        break;
      }
      events.push({ opt: c });
    }
  }
  return { events, operands, long };
}

/**
 * The stderr line for a getopt error, as catools print it.
 * @param e the error event
 * @param tool the tool name
 * @returns the line with its newline
 */
export function getoptErrorText(e: OptEvent, tool: string): string {
  return e.error === "missing"
    ? `Option '-${e.opt}' requires an argument. ('${tool} -h' for help.)\n`
    : `Unrecognized option: '-${e.opt}'. ('${tool} -h' for help.)\n`;
}

// ---------------------------------------------------------------------------------
// Shared option values
// ---------------------------------------------------------------------------------

/** strtod over the whole text (blanks around allowed), as epicsScanDouble accepts it. */
export function scanDouble(s: string): number | undefined {
  const t = s.trim();
  if (t === "") return undefined;
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  if (/^[+-]?0x[0-9a-f]+$/i.test(t)) {
    const v = parseInt(t.replace(/^[+-]/, ""), 16);
    return t.startsWith("-") ? -v : v;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** Reads an unsigned like `sscanf("%u")`: a leading number, negatives wrap around. */
function scanUnsigned(s: string): number | undefined {
  const m = /^\s*([+-]?\d+)/.exec(s);
  if (!m) return undefined;
  const v = Number(m[1]);
  return v < 0 ? 2 ** 32 + v : v;
}

/** Options every catool shares besides formatting. */
export interface CommonCaOptions {
  /** `-w` seconds (0: wait forever). */
  timeout: number;
  /** `-p` CA priority 0..99. */
  priority: number;
  /** `--json`: one JSON object per PV or update. */
  json: boolean;
  /** `--partial`: print what connected even when other PVs time out. */
  partial: boolean;
}

/**
 * The starting timeout: 1 s, or EPICS_CLI_TIMEOUT when it is a valid number.
 * @param io the command's io (env, and stderr for the warning)
 * @returns seconds
 */
export function initialTimeout(io: CliIO): number {
  const v = io.env.EPICS_CLI_TIMEOUT;
  if (v === undefined) return DEFAULT_TIMEOUT;
  const n = scanDouble(v);
  if (n === undefined || Number.isNaN(n)) {
    io.stderr(
      `'${v}' is not a valid timeout value (from 'EPICS_CLI_TIMEOUT' in the environment)` +
        ` - ignored. (use '-h' for help.)\n`,
    );
    return DEFAULT_TIMEOUT;
  }
  return n;
}

/** Mutable state the shared option handlers update while reading getopt events. */
export interface OptionState {
  common: CommonCaOptions;
  format: Partial<CaFormatOptions>;
}

/**
 * Handles the options whose meaning is the same in every tool (`-w`, `-p`, `-F`, `-e`,
 * `-f`, `-g`, `-l`, `-0`, `-#`), writing catools' warnings to stderr.
 * @param ev the option
 * @param st the state to update
 * @param tool the tool name for help hints
 * @param io where warnings go
 * @returns true when the option was one of these
 */
export function handleSharedOption(
  ev: OptEvent,
  st: OptionState,
  tool: string,
  io: CliIO,
): boolean {
  const arg = ev.arg ?? "";
  switch (ev.opt) {
    case "w": {
      const n = scanDouble(arg);
      if (n === undefined || Number.isNaN(n)) {
        io.stderr(
          `'${arg}' is not a valid timeout value - ignored, using '${
            st.common.timeout.toFixed(1)
          }'. ('${tool} -h' for help.)\n`,
        );
      } else st.common.timeout = n;
      return true;
    }
    case "p": {
      const n = scanUnsigned(arg);
      if (n === undefined) {
        io.stderr(`'${arg}' is not a valid CA priority - ignored. ('${tool} -h' for help.)\n`);
        st.common.priority = 0;
      } else st.common.priority = Math.min(n, 99);
      return true;
    }
    case "F":
      // An empty argument gives its terminating NUL as the separator, as in EPICS base.
      st.format.separator = arg === "" ? "\0" : arg[0];
      return true;
    case "e":
    case "f":
    case "g": {
      const r = parsePrecision(arg, ev.opt);
      if (r.warning) io.stderr(r.warning + "\n");
      else st.format.floatFormat = r.value;
      return true;
    }
    case "l":
    case "0": {
      const r = parseRadix(arg, ev.opt);
      if (r.warning) io.stderr(r.warning + "\n");
      else if (ev.opt === "l") st.format.floatRadix = r.value;
      else st.format.intRadix = r.value;
      return true;
    }
    case "#": {
      const r = parseCount(arg, tool);
      if (r.warning) io.stderr(r.warning + "\n");
      st.format.requestCount = r.value ?? 0;
      return true;
    }
  }
  return false;
}

/**
 * Reads our long options; unknown ones are reported like an unknown letter.
 * @returns an error line, or undefined
 */
export function handleLongOptions(
  long: readonly string[],
  st: OptionState,
  tool: string,
  allowed: readonly string[] = ["json", "partial"],
): string | undefined {
  for (const l of long) {
    if (!allowed.includes(l)) return `Unrecognized option: '--${l}'. ('${tool} -h' for help.)\n`;
    if (l === "json") st.common.json = true;
    if (l === "partial") st.common.partial = true;
  }
  return undefined;
}

/**
 * What every catool does first with one getopt event: a getopt error is printed (exit
 * 1), a shared option ({@link handleSharedOption}) is read, `-h` prints `usage` on
 * stderr and `-V` the version on stdout (exit 0).
 * @param ev the option
 * @param st the state to update
 * @param io where the texts go
 * @param cmd the tool name, its help text, and which shared letters it has (all of
 *   them when not given: a tool whose letters mean something else names the rest)
 * @returns the exit code when the command ends here, true when the option was handled,
 *   false when it is the tool's own
 */
export function handleCommonEvent(
  ev: OptEvent,
  st: OptionState,
  io: CliIO,
  cmd: { tool: string; usage: string; shared?: string },
): number | boolean {
  if (ev.error) {
    io.stderr(getoptErrorText(ev, cmd.tool));
    return 1;
  }
  if (
    (cmd.shared === undefined || cmd.shared.includes(ev.opt)) &&
    handleSharedOption(ev, st, cmd.tool, io)
  ) return true;
  switch (ev.opt) {
    case "h":
      io.stderr(cmd.usage);
      return 0;
    case "V":
      io.stdout(versionText());
      return 0;
  }
  return false;
}

/**
 * caget's and camonitor's display flags: `-n` (enum index), `-s` (string from the
 * server), `-S` (char array as a string). caput's letters mean other things.
 * @param ev the option
 * @param st the state to update
 * @returns true when the option was one of these
 */
export function handleDisplayFlag(ev: OptEvent, st: OptionState): boolean {
  switch (ev.opt) {
    case "n":
      st.format.enumAsNumber = true;
      return true;
    case "s":
      st.format.stringFromServer = true;
      return true;
    case "S":
      st.format.charArrayAsString = true;
      return true;
  }
  return false;
}

/**
 * {@link handleLongOptions} with its error printed on stderr.
 * @returns false when a long option was refused (the tool exits with 1)
 */
export function longOptionsOk(
  long: readonly string[],
  st: OptionState,
  io: CliIO,
  tool: string,
  allowed: readonly string[],
): boolean {
  const err = handleLongOptions(long, st, tool, allowed);
  if (err) io.stderr(err);
  return err === undefined;
}

/** Fresh option state with the catools defaults. */
export function newOptionState(io: CliIO): OptionState {
  return {
    common: { timeout: initialTimeout(io), priority: 0, json: false, partial: false },
    format: {},
  };
}

// ---------------------------------------------------------------------------------
// Client context, connections
// ---------------------------------------------------------------------------------

/** Why a virtual circuit went away, as libca's exception handler words it. */
export type CircuitLoss = CircuitLossReason;

/**
 * libca's exception report for a lost circuit: "Virtual circuit disconnect" or
 * "Virtual circuit unresponsive", with the server's "host:port" as the context.
 * @param address the server's "ip:port"
 * @param loss why the circuit went away
 * @param utcOffset the time zone of the time line
 * @returns the block
 */
export function circuitLossText(
  address: string,
  loss: CircuitLoss,
  utcOffset: number | ((posixMs: number) => number),
): string {
  return exceptionText(
    loss === "unresponsive" ? Eca.UNRESPTMO : Eca.DISCONN,
    hostNameText(address),
    utcOffset,
  );
}

/**
 * Closes a context when the returned object is disposed (`await using`), unless the
 * command runs as a process that exits right after its main: the exit closes the sockets.
 * @param io the command's io ({@link CliIO.exitsAfterMain})
 * @param ctx the context
 * @returns the disposable
 */
export function closeUnlessExiting(io: CliIO, ctx: CaContext): AsyncDisposable {
  return {
    [Symbol.asyncDispose]: () => io.exitsAfterMain ? Promise.resolve() : ctx.close(),
  };
}

/**
 * A CA client context configured from the command's environment.
 * @param io the command's io
 * @param opts `repeater`: register with a repeater for beacons (camonitor);
 *   `onCircuitLost`: told when a virtual circuit goes away, before its channels report
 *   the disconnect
 * @returns the context
 */
export function contextFor(
  io: CliIO,
  opts: {
    repeater?: boolean;
    onCircuitLost?: (address: string, loss: CircuitLoss) => void;
  } = {},
): CaContext {
  let host = io.env.EPICS_CLI_HOST_NAME;
  if (host === undefined) {
    try {
      host = Deno.hostname();
    } catch {
      host = "localhost";
    }
  }
  return new CaContext({
    config: epicsConfigFrom(io.env).ca,
    // Unset: the library uses the process's account name, as libca does.
    user: io.env.EPICS_CLI_USER_NAME,
    host,
    repeater: opts.repeater ?? false,
    onCircuitLost: opts.onCircuitLost,
    // As libca's default exception handler: a name served twice is reported on stderr.
    onMultiplyDefined: (name, accepted, ignored) =>
      io.stderr(exceptionText(
        Eca.DBLCHNL,
        `Channel: "${name}", Connecting to: ${hostNameText(accepted)}, Ignored: ${
          hostNameText(ignored)
        }`,
        utcOffsetFor(io.env),
      )),
  });
}

/**
 * Waits until every channel is connected, the timeout passes, or the signal aborts.
 * @param channels the channels
 * @param timeoutSec seconds (0: no limit; negative: no wait at all, as libca's
 *   ca_pend_io gives up at once)
 * @param signal stops the wait early
 * @returns true when all connected
 */
export function waitConnected(
  channels: readonly CaChannel[],
  timeoutSec: number,
  signal?: AbortSignal,
): Promise<boolean> {
  // Count rather than rescan: with 10,000 channels a rescan per connection is quadratic.
  let missing = 0;
  for (const c of channels) if (c.state !== "connected") missing++;
  if (missing === 0) return Promise.resolve(true);
  if (timeoutSec < 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const offs: Array<() => void> = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let finished = false;
    const done = (v: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const o of offs) o();
      signal?.removeEventListener("abort", onAbort);
      resolve(v);
    };
    const onAbort = () => done(false);
    for (const c of channels) {
      if (c.state === "connected") continue;
      let counted = false;
      offs.push(c.onConnection((up) => {
        if (!up || counted) return;
        counted = true;
        if (--missing === 0) done(true);
      }));
    }
    if (timeoutSec > 0) {
      timer = setTimeout(
        () => done(channels.every((c) => c.state === "connected")),
        timeoutSec * 1000,
      );
    }
    if (signal) {
      if (signal.aborted) return done(false);
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
}

/** The catools "Channel connect timed out" line for the channels that did not connect. */
export function connectTimeoutText(names: readonly string[]): string {
  return names.length > 1
    ? "Channel connect timed out: some PV(s) not found.\n"
    : `Channel connect timed out: '${names[0]}' not found.\n`;
}

/** Seconds for a client call from a catools timeout (0 means forever). */
export function opTimeout(timeoutSec: number): number {
  return timeoutSec > 0 ? timeoutSec : FOREVER_SEC;
}

// ---------------------------------------------------------------------------------
// ECA messages (ca_message)
// ---------------------------------------------------------------------------------

const ECA_TEXT: Record<number, string> = {
  [Eca.NORMAL]: "Normal successful completion",
  [Eca.ALLOCMEM]: "Unable to allocate additional dynamic memory",
  [Eca.TOLARGE]:
    "The requested data transfer is greater than available memory or EPICS_CA_MAX_ARRAY_BYTES",
  [Eca.TIMEOUT]: "User specified timeout on IO operation expired",
  [Eca.BADTYPE]: "The data type specifed is invalid",
  [Eca.GETFAIL]: "Channel read request failed",
  [Eca.PUTFAIL]: "Channel write request failed",
  [Eca.ADDFAIL]: "Channel subscription request failed",
  [Eca.BADCOUNT]: "Invalid element count requested",
  [Eca.BADSTR]: "Invalid string",
  [Eca.DISCONN]: "Virtual circuit disconnect",
  [Eca.BADMASK]: "Invalid event selection mask",
  [Eca.NORDACCESS]: "Read access denied",
  [Eca.NOWTACCESS]: "Write access denied",
  [Eca.NOCONVERT]: "Data conversion between client's type and the server's type failed",
  [Eca.BADCHID]: "Invalid channel identifier",
  [Eca.UNAVAILINSERV]: "Not supported by attached service",
  [Eca.CHANDESTROY]: "User destroyed channel",
  [Eca.UNRESPTMO]: "Virtual circuit unresponsive",
  [Eca.DBLCHNL]: "Identical process variable names on multiple servers",
};

/**
 * The text `ca_message()` gives for an ECA code.
 * @param eca the code
 * @returns the message (the ECA name for codes without a known text)
 */
export function caMessage(eca: number): string {
  return ECA_TEXT[eca] ?? ecaName(eca);
}

/**
 * The ECA code an operation's error stands for.
 * @param e a client error
 * @returns ECA_TIMEOUT, ECA_DISCONN, the server's code, ...
 */
export function ecaOf(e: unknown): number {
  if (e instanceof CaStatusError) return e.eca;
  if (e instanceof TimeoutError || e instanceof ChannelNotFoundError) return Eca.TIMEOUT;
  return Eca.DISCONN;
}

// ---------------------------------------------------------------------------------
// Time zone and host names
// ---------------------------------------------------------------------------------

/**
 * The UTC offset to print local times with: TZ from the command's environment when it
 * names UTC or an IANA zone, else the runtime's own zone.
 * @param env the environment
 * @returns minutes east of UTC as a number or a function of the POSIX time
 */
export function utcOffsetFor(
  env: Readonly<Record<string, string | undefined>>,
): number | ((posixMs: number) => number) {
  const tz = env.TZ?.replace(/^:/, "");
  if (tz === undefined || tz === "") return localUtcOffset;
  if (/^(UTC|GMT|UCT|Z|Zulu|Etc\/UTC|Etc\/GMT|UTC0|GMT0|Universal)$/i.test(tz)) return 0;
  try {
    const f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    return (ms: number) => {
      const p: Record<string, number> = {};
      for (const x of f.formatToParts(new Date(ms))) p[x.type] = Number(x.value);
      const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
      return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
    };
  } catch {
    return localUtcOffset;
  }
}

let hostsTable: Map<string, string> | undefined;

/**
 * "host:port" as libca's ca_host_name shows it: the address's name from /etc/hosts
 * (127.0.0.1 is "localhost"), or the address itself.
 * @param address "ip:port"
 * @returns the text
 */
export function hostNameText(address: string): string {
  const i = address.lastIndexOf(":");
  if (i < 0) return address;
  const ip = address.slice(0, i);
  if (!hostsTable) {
    hostsTable = new Map();
    try {
      for (const line of Deno.readTextFileSync("/etc/hosts").split("\n")) {
        const w = line.replace(/#.*/, "").trim().split(/\s+/);
        if (w.length >= 2 && !hostsTable.has(w[0])) hostsTable.set(w[0], w[1]);
      }
    } catch {
      // no hosts file or no permission: addresses print as numbers
    }
    if (!hostsTable.has("127.0.0.1")) hostsTable.set("127.0.0.1", "localhost");
  }
  return `${hostsTable.get(ip) ?? ip}${address.slice(i)}`;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The report libca's default exception handler writes to stderr when a request without
 * a callback fails on the server (a READ_NOTIFY of \`caget\`, a WRITE of \`caput\`).
 * @param eca the status the server sent
 * @param context what libca names as the context, e.g.
 *   \`op=0, channel=T:str, type=DBR_GR_LONG, count=1, ctx="read failed"\`
 * @param utcOffset the time zone of the time line
 * @param nowMs the time to print, POSIX milliseconds with a fraction (default: now, from
 *   performance.now() so the nanosecond digits carry real sub-millisecond time)
 * @returns the block, ending with a newline
 */
export function exceptionText(
  eca: number,
  context: string,
  utcOffset: number | ((posixMs: number) => number),
  nowMs: number = performance.timeOrigin + performance.now(),
): string {
  const sec = Math.floor(nowMs / 1000);
  const nsec = Math.min(999_999_999, Math.round((nowMs - sec * 1000) * 1e6));
  const off = typeof utcOffset === "number" ? utcOffset : utcOffset(sec * 1000);
  const d = new Date(sec * 1000 + off * 60000);
  const p2 = (n: number) => String(n).padStart(2, "0");
  const time = `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${p2(d.getUTCDate())} ` +
    `${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:` +
    `${p2(d.getUTCSeconds())}.${String(nsec).padStart(9, "0")}`;
  return "CA.Client.Exception...............................................\n" +
    `    Warning: "${caMessage(eca)}"\n` +
    `    Context: "${context}"\n` +
    `    Source File: ${EXCEPTION_SOURCE}\n` +
    `    Current Time: ${time}\n` +
    "..................................................................\n";
}

/**
 * The "Source File:" of our exception reports. libca names its own C++ file and line;
 * ours names the library that detected the problem, with line 0 since no one source line
 * stands for it, keeping the "<file> line <n>" shape for scripts that split it.
 */
export const EXCEPTION_SOURCE = "lib/ca/client (epics-ts) line 0";

/** The current time as an EPICS timestamp. */
export function epicsNow(): { secPastEpoch: number; nsec: number } {
  // performance.now() gives the sub-millisecond part Date.now() lacks.
  const ms = performance.timeOrigin + performance.now();
  const sec = Math.floor(ms / 1000);
  return {
    secPastEpoch: sec - POSIX_TIME_AT_EPICS_EPOCH,
    nsec: Math.min(999999999, Math.round((ms - sec * 1000) * 1e6)),
  };
}

// ---------------------------------------------------------------------------------
// JSON (--json)
// ---------------------------------------------------------------------------------

function jsonNumber(v: number): number | string | null {
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return null;
  return v > 0 ? "Infinity" : "-Infinity";
}

/**
 * A payload as a JSON-ready object: value (a scalar for one element, an array
 * otherwise, a string for `-S` char arrays), DBR type, count, alarm, timestamp and the
 * metadata the payload carries.
 * @param name the PV name
 * @param dbrType the payload's DBR type
 * @param data the payload
 * @param opts `charAsString`
 * @returns the object
 */
export function jsonOf(
  name: string,
  dbrType: number,
  data: DbrData,
  opts: { charAsString?: boolean } = {},
): Record<string, unknown> {
  const info = dbrInfo(dbrType);
  const n = data.value.length;
  let value: unknown;
  if (opts.charAsString && info.valueType === 4) {
    const b = data.value as Uint8Array;
    const end = b.indexOf(0);
    value = new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
  } else {
    const items: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const v = data.value[i];
      items.push(typeof v === "number" ? jsonNumber(v) : v);
    }
    value = n === 1 ? items[0] : items;
  }
  const out: Record<string, unknown> = { name, type: info.name, count: n, value };
  const m = data.meta;
  if (info.family !== "plain") {
    out.status = alarmStatusText(m.status);
    out.severity = alarmSeverityText(m.severity);
  }
  if (m.stamp) {
    const ms = (m.stamp.secPastEpoch + POSIX_TIME_AT_EPICS_EPOCH) * 1000 +
      Math.floor(m.stamp.nsec / 1e6);
    out.timestamp = new Date(ms).toISOString();
    out.secondsPastEpoch = m.stamp.secPastEpoch;
    out.nanoseconds = m.stamp.nsec;
  }
  for (
    const k of [
      "units",
      "precision",
      "enumStrings",
      "lowerDispLimit",
      "upperDispLimit",
      "lowerAlarmLimit",
      "lowerWarningLimit",
      "upperWarningLimit",
      "upperAlarmLimit",
      "lowerCtrlLimit",
      "upperCtrlLimit",
    ] as const
  ) {
    const v = m[k];
    if (v !== undefined) out[k] = typeof v === "number" ? jsonNumber(v) : v;
  }
  return out;
}

/** One JSON line. */
export function jsonLine(o: unknown): string {
  return JSON.stringify(o) + "\n";
}
