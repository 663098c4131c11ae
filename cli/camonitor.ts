/**
 * `camonitor`: subscribes to Channel Access PVs and prints one line per update exactly
 * as EPICS base's camonitor does (same flags, output, messages). Lines are written as
 * they come, so a pipe or file sees each update at once. A PV whose server goes away
 * prints `*** disconnected` and resumes by itself when the server returns. Extra, off by
 * default: `--json` (one JSON object per update or event).
 *
 * ```text
 * camonitor [-m valp] [-t scnriI] [-n] [-s] [-S] [-e|-f|-g <n>] [-l x|o|b] [-0 x|o|b]
 *           [-# <count>] [-w <sec>] [-p <prio>] [-F <ofs>] [--json] <PV> ...
 * ```
 * @module
 */

import type { CaChannel, MonitorUpdate, Subscription } from "../lib/ca/client/channel.ts";
import { Dbe, Eca } from "../lib/ca/proto/constants.ts";
import type { EpicsTimeStamp } from "../lib/core/time.ts";
import { type CliIO, runMain, untilAborted } from "./_io.ts";
import {
  caFormatOptions,
  cagetRequestType,
  type CamonitorTime,
  formatCamonitorEvent,
  formatCamonitorLine,
} from "./_ca_format.ts";
import {
  caMessage,
  circuitLossText,
  contextFor,
  epicsNow,
  getopt,
  handleCommonEvent,
  handleDisplayFlag,
  jsonLine,
  jsonOf,
  longOptionsOk,
  newOptionState,
  utcOffsetFor,
} from "./_ca_cli.ts";

const TOOL = "camonitor";
const SPEC = "nhVm:sSe:f:g:l:#:0:w:t:p:F:";
/** Our long option (an extra); any other "--name" is reported as EPICS base reports it. */
const LONG = ["json"];

const USAGE = `
Usage: camonitor [options] <PV name> ...

  -h        print this help and exit
  -V        print the version and exit
Channel Access options:
  -w <sec>  seconds to wait for connections before reporting the PVs that did
            not connect (default 1.0, or EPICS_CLI_TIMEOUT)
  -m <mask> what to be told about: any of v (value), a (alarm), l (log/archive),
            p (property); default va
  -p <prio> CA priority 0-99 (default 0)
Timestamps:
  -t <key>  s = server time (default), c = client time in parentheses,
            n = no time; with r = relative to the first update, i = since the
            previous update, I = since the previous update of the same PV
Output:
  -# <n>    ask for at most <n> elements (the count is printed)
  -S        print a char array as a string
  -F <ofs>  field separator (one character; disables name padding)
  -n        print enums as their index
  -e <n>    %e with <n> digits    -f <n>  %f    -g <n>  %g
  -s        ask the server for floats as strings (honours its PREC)
  -l x|o|b  round floats to an integer and print in hex, octal or binary
  -0 x|o|b  print integers in hex, octal or binary
Extras (not in EPICS base):
  --json    one JSON object per update or event

Example: camonitor -t sc my_channel another_channel
`;

const CMD = { tool: TOOL, usage: USAGE };

type TimeKind = "absolute" | "relative" | "incremental" | "incrementalByChannel";

function diff(a: EpicsTimeStamp, b: EpicsTimeStamp): number {
  return (a.secPastEpoch - b.secPastEpoch) + (a.nsec - b.nsec) / 1e9;
}

/** One source's (server or client) bookkeeping for relative and incremental times. */
class TimeTrack {
  first: EpicsTimeStamp | undefined;
  previous: EpicsTimeStamp | undefined;
  readonly perChannel = new Map<string, EpicsTimeStamp>();

  text(kind: TimeKind, key: string, stamp: EpicsTimeStamp, firstOfChannel: boolean): CamonitorTime {
    let t: CamonitorTime = { kind: "absolute", stamp };
    if (!firstOfChannel && kind !== "absolute") {
      const ref = kind === "relative"
        ? this.first
        : kind === "incremental"
        ? this.previous
        : this.perChannel.get(key);
      if (ref) t = { kind: "relative", seconds: diff(stamp, ref) };
    }
    this.first ??= stamp;
    this.previous = stamp;
    this.perChannel.set(key, stamp);
    return t;
  }
}

/**
 * Runs camonitor until the io signal aborts.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns the exit code
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const st = newOptionState(io);
  const g = getopt(args, SPEC, { long: LONG });
  let mask: number = Dbe.VALUE | Dbe.ALARM;
  let server = true;
  let client = false;
  let kind: TimeKind = "absolute";
  for (const ev of g.events) {
    const common = handleCommonEvent(ev, st, io, CMD);
    if (typeof common === "number") return common;
    if (common) continue;
    if (handleDisplayFlag(ev, st)) continue;
    const arg = ev.arg ?? "";
    switch (ev.opt) {
      case "m": {
        mask = 0;
        for (const c of arg) {
          const bit = ({ v: Dbe.VALUE, a: Dbe.ALARM, l: Dbe.LOG, p: Dbe.PROPERTY } as const)[
            c as "v" | "a" | "l" | "p"
          ];
          if (bit === undefined) {
            io.stderr(`Invalid argument '${arg}' for option '-m' - ignored.\n`);
            mask = Dbe.VALUE | Dbe.ALARM;
            break;
          }
          mask |= bit;
        }
        if (mask === 0) mask = Dbe.VALUE | Dbe.ALARM;
        break;
      }
      case "t":
        server = false;
        client = false;
        for (const c of arg) {
          switch (c) {
            case "s":
              server = true;
              break;
            case "c":
              client = true;
              break;
            case "n":
              server = false;
              client = false;
              break;
            case "r":
              kind = "relative";
              break;
            case "i":
              kind = "incremental";
              break;
            case "I":
              kind = "incrementalByChannel";
              break;
            default:
              io.stderr(`Invalid argument '${arg}' for option '-t' - ignored.\n`);
          }
        }
        break;
    }
  }
  if (!longOptionsOk(g.long, st, io, TOOL, LONG)) return 1;
  const names = g.operands;
  if (names.length < 1) {
    io.stderr(`No pv name specified. ('${TOOL} -h' for help.)\n`);
    return 1;
  }
  const fmt = caFormatOptions({ ...st.format, mode: "plain" });
  const { json, timeout } = st.common;
  const utcOffset = utcOffsetFor(io.env);
  const serverTrack = new TimeTrack();
  const clientTrack = new TimeTrack();

  await using ctx = contextFor(io, {
    repeater: true,
    // As libca's default exception handler: a lost circuit is reported on stderr.
    onCircuitLost: (address, loss) => io.stderr(circuitLossText(address, loss, utcOffset)),
  });

  const watch = (ch: CaChannel, index: number) => {
    const key = String(index);
    let sub: Subscription | undefined;
    let subType = -1;
    let printed = false;
    let onceConnected = false;

    const times = (serverStamp: EpicsTimeStamp) => {
      const now = epicsNow();
      const first = !printed;
      printed = true;
      return {
        server: server ? serverTrack.text(kind, key, serverStamp, first) : null,
        client: client ? clientTrack.text(kind, key, now, first) : null,
        utcOffset,
      };
    };

    const onUpdate = (u: MonitorUpdate) => {
      if ("error" in u) {
        const eca = u.error.eca;
        if (json) {
          io.stdout(jsonLine({ name: ch.name, event: "error", error: caMessage(eca) }));
          return;
        }
        const now = epicsNow();
        io.stdout(formatCamonitorEvent(
          ch.name,
          eca === Eca.NORDACCESS
            ? { kind: "no-read-access" }
            : { kind: "ca-error", message: caMessage(eca) },
          fmt,
          times(now),
        ));
        return;
      }
      if (json) {
        io.stdout(jsonLine(jsonOf(ch.name, u.dbrType, u.data, {
          charAsString: fmt.charArrayAsString,
        })));
        return;
      }
      io.stdout(formatCamonitorLine(ch.name, u.data, {
        dbrType: u.dbrType,
        options: fmt,
        times: times(u.data.meta.stamp ?? { secPastEpoch: 0, nsec: 0 }),
      }));
    };

    const subscribe = () => {
      const type = cagetRequestType(ch.nativeType, fmt);
      if (sub && type === subType) return;
      // First connection, or the native type changed while the server was away.
      sub?.cancel();
      subType = type;
      const count = Math.min(fmt.requestCount, ch.count);
      sub = ch.subscribe({ dbrType: type, count, mask }, onUpdate);
    };

    ch.onConnection((up) => {
      if (up) {
        onceConnected = true;
        subscribe();
        if (json) io.stdout(jsonLine({ name: ch.name, event: "connected" }));
        return;
      }
      if (json) {
        io.stdout(jsonLine({ name: ch.name, event: "disconnected" }));
        return;
      }
      const now = epicsNow();
      io.stdout(formatCamonitorEvent(ch.name, { kind: "disconnected" }, fmt, {
        server: server ? { kind: "absolute", stamp: now } : null,
        client: client ? { kind: "absolute", stamp: now } : null,
        utcOffset,
      }));
    });
    if (ch.state === "connected") {
      onceConnected = true;
      subscribe();
    }
    return { ch, connectedOnce: () => onceConnected };
  };

  const watched = names.map((n, i) => watch(ctx.channel(n, { priority: st.common.priority }), i));

  // -w 0 waits forever; a negative -w reports at once (libca does not wait at all).
  if (timeout !== 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (timeout > 0) {
      await Promise.race([
        new Promise((r) => timer = setTimeout(r, timeout * 1000)),
        untilAborted(io.signal),
      ]);
    }
    clearTimeout(timer);
    if (!io.signal.aborted) {
      for (const w of watched) {
        if (w.connectedOnce()) continue;
        io.stdout(
          json
            ? jsonLine({ name: w.ch.name, event: "not connected" })
            : formatCamonitorEvent(w.ch.name, { kind: "never-connected" }, fmt),
        );
      }
    }
  }
  await untilAborted(io.signal);
  return 0;
}

if (import.meta.main) await runMain(main, { signals: "default" });
