/**
 * `caget`: reads Channel Access PVs and prints them exactly as EPICS base's caget does
 * (same flags, stdout, stderr and exit codes). Extras, off by default: `--json` (one JSON
 * object per PV) and `--partial` (print the PVs that connected when others time out).
 *
 * ```text
 * caget [-t|-a|-d <type>] [-c] [-n] [-s] [-S] [-e|-f|-g <n>] [-l x|o|b] [-0 x|o|b]
 *       [-# <count>] [-w <sec>] [-p <prio>] [-F <ofs>] [--json] [--partial] <PV> ...
 * ```
 * @module
 */

import type { CaChannel, ChannelData } from "../lib/ca/client/channel.ts";
import { CaStatusError, TimeoutError } from "../lib/core/errors.ts";
import { Eca } from "../lib/ca/proto/constants.ts";
import { dbrName, dbrPayloadSize, decodeDbr, isValidDbrType } from "../lib/ca/proto/dbr.ts";
import { type CliIO, runMain } from "./_io.ts";
import {
  caFormatOptions,
  cagetRequestType,
  type CaPvError,
  formatCagetError,
  formatCagetLine,
  formatCamonitorEvent,
} from "./_ca_format.ts";
import {
  caMessage,
  closeUnlessExiting,
  connectTimeoutText,
  contextFor,
  epicsNow,
  exceptionText,
  getopt,
  handleCommonEvent,
  handleDisplayFlag,
  jsonLine,
  jsonOf,
  longOptionsOk,
  newOptionState,
  opTimeout,
  utcOffsetFor,
} from "./_ca_cli.ts";

const TOOL = "caget";
const SPEC = "taicnhsSVe:f:g:l:#:d:0:w:p:F:";
/** Our long options (extras); any other "--name" is reported as EPICS base reports it. */
const LONG = ["json", "partial"];

const USAGE = `
Usage: caget [options] <PV name> ...

  -h        print this help and exit
  -V        print the version and exit
Channel Access options:
  -w <sec>  seconds to wait for connections and replies (default 1.0, or
            EPICS_CLI_TIMEOUT; 0 waits forever)
  -c        read with a callback (ca_array_get_callback): arrays come at their
            current length
  -p <prio> CA priority 0-99 (default 0)
Output formats:
  (default) name and value
  -t        terse: the value only
  -a        wide: name, timestamp, value, alarm status and severity
  -d <type> the full DBR payload of <type> (a number 0-38 or a name, with or
            without DBR_)
Arrays:
  -# <n>    read at most <n> elements (the count is printed)
  -S        print a char array as a string
  -F <ofs>  field separator (one character; disables name padding)
Enums:
  -n        print the index instead of the state string
Floating point:
  -e <n>    %e with <n> digits    -f <n>  %f    -g <n>  %g
  -s        ask the server for the value as a string (honours its PREC)
  -l x|o|b  round to an integer and print in hex, octal or binary
Integers:
  -0 x|o|b  print in hex, octal or binary
Extras (not in EPICS base):
  --json    one JSON object per PV
  --partial print the PVs that connected even if others did not (exit 1)

Example: caget -a my_channel another_channel
`;

const CMD = { tool: TOOL, usage: USAGE };

/** DBR type from a `-d` argument: a number, a DBR name, or a name without "DBR_". */
function parseDbrArg(arg: string): number {
  const m = /^\s*([+-]?\d+)/.exec(arg);
  if (m) return Number(m[1]);
  for (const name of [arg, "DBR_" + arg.slice(0, 25)]) {
    for (let t = 0; t <= 38; t++) if (isValidDbrType(t) && dbrName(t) === name) return t;
  }
  return -1;
}

interface PvResult {
  channel: CaChannel;
  data?: ChannelData;
  error?: CaPvError;
}

/**
 * Runs caget.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns the exit code
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const st = newOptionState(io);
  const g = getopt(args, SPEC, { long: LONG });
  let mode = "plain" as "plain" | "terse" | "wide" | "detail";
  let detailType = -1;
  let callback = false;
  const setMode = (m: typeof mode) => {
    if (mode !== "plain") {
      io.stderr(`Options t,d,a are mutually exclusive. ('${TOOL} -h' for help.)\n`);
    }
    mode = m;
  };
  for (const ev of g.events) {
    const common = handleCommonEvent(ev, st, io, CMD);
    if (typeof common === "number") return common;
    if (common) continue;
    if (handleDisplayFlag(ev, st)) continue;
    switch (ev.opt) {
      case "t":
        setMode("terse");
        break;
      case "a":
        setMode("wide");
        break;
      case "d": {
        setMode("detail");
        const t = parseDbrArg(ev.arg ?? "");
        if (!isValidDbrType(t) || t === 35 || t === 36) {
          io.stderr(
            `Requested dbr type out of range or invalid - ignored. ('${TOOL} -h' for help.)\n`,
          );
          mode = "plain";
        } else detailType = t;
        break;
      }
      case "c":
        callback = true;
        break;
      case "i":
        break; // accepted and ignored, as by EPICS base
    }
  }
  if (!longOptionsOk(g.long, st, io, TOOL, LONG)) return 1;
  const names = g.operands;
  if (names.length < 1) {
    io.stderr(`No pv name specified. ('${TOOL} -h' for help.)\n`);
    return 1;
  }
  st.format.mode = mode;
  const fmt = caFormatOptions(st.format);
  const { timeout, json, partial } = st.common;
  const utcOffset = utcOffsetFor(io.env);

  const ctx = contextFor(io);
  // Every request is answered (or given up on) when main returns, so a process about to
  // exit skips the orderly close: 6-15 ms with 10,000 channels.
  await using _closer = closeUnlessExiting(io, ctx);
  const channels = names.map((n) => ctx.channel(n, { priority: st.common.priority }));
  // One wait and one batch read for all channels: no promise or callback per PV.
  const allConnected = timeout < 0
    ? channels.every((c) => c.state === "connected")
    : await ctx.waitConnected(channels, timeout, io.signal);
  if (!allConnected) {
    io.stderr(connectTimeoutText(names));
    if (!partial) return 1;
  }

  const reqCount = fmt.requestCount;
  const results: PvResult[] = channels.map((channel) => ({ channel }));
  let readTimedOut = false;
  // Reads grouped by (type, count), one getMany each: usually a single group.
  const groups = new Map<string, { dbrType: number; count: number; at: number[] }>();
  let last: { dbrType: number; count: number; at: number[] } | undefined;
  for (let i = 0; i < results.length; i++) {
    const ch = results[i].channel;
    if (ch.state !== "connected") {
      results[i].error = { kind: "not-connected" };
      continue;
    }
    const dbrType = mode === "detail" ? detailType : cagetRequestType(ch.nativeType, fmt);
    const native = ch.count;
    const count = callback
      ? Math.min(reqCount, native)
      : reqCount > 0 && reqCount < native
      ? reqCount
      : native;
    // Runs of PVs of one (type, count), the usual case, need no key string per PV.
    let g = last;
    if (!g || g.dbrType !== dbrType || g.count !== count) {
      const key = `${dbrType}/${count}`;
      g = groups.get(key);
      if (!g) groups.set(key, g = { dbrType, count, at: [] });
      last = g;
    }
    g.at.push(i);
  }
  const timeoutSec = opTimeout(timeout);
  const replies = await Promise.all(
    [...groups.values()].map((g) =>
      ctx.getMany(g.at.map((i) => results[i].channel), {
        dbrType: g.dbrType,
        count: g.count,
        timeoutSec,
      })
    ),
  );
  let k = 0;
  for (const g of groups.values()) {
    const { dbrType, count } = g;
    const got = replies[k++];
    // Without -c, libca reads into a zeroed buffer that a failed read leaves as it is:
    // caget then prints zeros (and libca reports a server-side failure on stderr).
    const zeros = (): ChannelData => ({
      dbrType,
      count,
      data: decodeDbr(dbrType, count, new Uint8Array(dbrPayloadSize(dbrType, count))),
    });
    for (let j = 0; j < g.at.length; j++) {
      const r = results[g.at[j]];
      const e = got[j];
      if (!(e instanceof Error)) {
        r.data = e;
      } else if (e instanceof TimeoutError) {
        readTimedOut = true;
        if (callback) r.error = { kind: "no-data" };
        else r.data = zeros();
      } else if (e instanceof CaStatusError) {
        if (e.eca === Eca.NORDACCESS) r.error = { kind: "no-read-access" };
        else if (callback || e.eca === Eca.TOLARGE) {
          r.error = { kind: "ca-error", message: caMessage(e.eca) };
        } else {
          io.stderr(exceptionText(
            e.eca,
            `op=0, channel=${r.channel.name}, type=${dbrName(dbrType)}, count=${count}, ` +
              `ctx="read failed"`,
            utcOffset,
          ));
          readTimedOut = true;
          r.data = zeros();
        }
      } else r.error = { kind: "not-connected" };
    }
  }
  if (readTimedOut && !callback) {
    io.stderr("Read operation timed out: some PV data was not read.\n");
  }

  // One write for all lines: 10,000 PVs must not mean 10,000 writes.
  const out: string[] = [];
  for (const r of results) {
    const name = r.channel.name;
    if (json) {
      out.push(jsonLine(
        r.data
          ? jsonOf(name, r.data.dbrType, r.data.data, { charAsString: fmt.charArrayAsString })
          : { name, error: errorWords(r.error!) },
      ));
      continue;
    }
    if (r.data) {
      out.push(formatCagetLine(name, r.data.data, {
        dbrType: r.data.dbrType,
        nativeType: r.channel.nativeType,
        options: fmt,
        utcOffset,
      }));
    } else if (mode === "wide") {
      const e = r.error!;
      out.push(
        e.kind === "not-connected"
          ? formatCamonitorEvent(name, { kind: "never-connected" }, fmt)
          : formatCamonitorEvent(name, e, fmt, {
            server: { kind: "absolute", stamp: epicsNow() },
            utcOffset,
          }),
      );
    } else out.push(formatCagetError(name, r.error!, fmt));
  }
  io.stdout(out.join(""));
  return allConnected ? 0 : 1;
}

function errorWords(e: CaPvError): string {
  switch (e.kind) {
    case "not-connected":
      return "not connected";
    case "no-read-access":
      return "no read access";
    case "no-data":
      return "no data available (timeout)";
    case "ca-error":
      return e.message;
  }
}

if (import.meta.main) await runMain(main, { signals: "default" });
