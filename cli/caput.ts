/**
 * `caput`: writes a Channel Access PV and prints its old and new value exactly as EPICS
 * base's caput does (same flags, stdout, stderr and exit codes). Extra, off by default:
 * `--json` (one JSON object with the old and new value).
 *
 * ```text
 * caput [-t|-l] [-c] [-n|-s] [-S] [-w <sec>] [-p <prio>] [-F <ofs>] [--json] <PV> <value>...
 * caput -a [options] <PV> <count> <value>...
 * ```
 * @module
 */

import { unescapeBytes, unescapeText } from "../lib/core/escapes.ts";
import type { ChannelData } from "../lib/ca/client/channel.ts";
import { CaStatusError, TimeoutError } from "../lib/core/errors.ts";
import { Eca } from "../lib/ca/proto/constants.ts";
import { dbrName } from "../lib/ca/proto/dbr.ts";
import { type CliIO, runMain } from "./_io.ts";
import {
  type CaFormatOptions,
  caFormatOptions,
  cagetRequestType,
  formatCagetError,
  formatCaputLine,
} from "./_ca_format.ts";
import {
  caMessage,
  connectTimeoutText,
  contextFor,
  exceptionText,
  getopt,
  handleCommonEvent,
  jsonLine,
  jsonOf,
  longOptionsOk,
  newOptionState,
  opTimeout,
  scanDouble,
  utcOffsetFor,
  waitConnected,
} from "./_ca_cli.ts";

const TOOL = "caput";
const SPEC = "cnlhatsVS#:w:p:F:";
/** Our long option (an extra); any other "--name" is reported as EPICS base reports it. */
const LONG = ["json"];
const ERROR = "\x1b[31;1mERROR\x1b[0m";
/** Largest DBR_STRING text in bytes (MAX_STRING_SIZE minus the NUL). */
const MAX_STRING = 39;

const USAGE = `
Usage: caput [options] <PV name> <PV value>
       caput -a [options] <PV name> <no of values> <PV value> ...

  -h        print this help and exit
  -V        print the version and exit
Channel Access options:
  -w <sec>  seconds to wait for the connection and replies (default 1.0, or
            EPICS_CLI_TIMEOUT; 0 waits forever)
  -c        write with a completion callback (put-callback) and wait for it
  -p <prio> CA priority 0-99 (default 0)
Output formats:
  (default) "Old : " and "New : " lines with name and value
  -t        terse: only the new value
  -l        long: like caget -a (timestamp and alarm)
  -F <ofs>  field separator (one character)
Enums:
  (default) a state name is written as text, anything else as a number
  -n        the value is the state index
  -s        the value is a state name
Arrays:
  -a        write an array: the count, then the elements
  -S        write the value as a char array (long string)
Extras (not in EPICS base):
  --json    one JSON object with the old and the new value

Example: caput my_channel 1.2
`;

const CMD = { tool: TOOL, usage: USAGE, shared: "wpF#" };

/** Text to the 40-byte DBR_STRING: unescaped and cut to 39 bytes. */
function toDbrString(s: string): string {
  let t = unescapeText(s);
  const enc = new TextEncoder();
  while (enc.encode(t).length > MAX_STRING) t = t.slice(0, -1);
  return t;
}

interface Put {
  dbrType: number;
  count: number;
  value: string[] | Uint8Array | Float64Array;
}

/**
 * Runs caput.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns the exit code
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const st = newOptionState(io);
  const g = getopt(args, SPEC, { posix: true, long: LONG });
  let mode = "plain" as "plain" | "terse" | "wide";
  let callback = false;
  let isArray = false;
  let enumAsNr = false;
  let enumAsString = false;
  let charArrAsStr = false;
  for (const ev of g.events) {
    const common = handleCommonEvent(ev, st, io, CMD);
    if (typeof common === "number") return common;
    if (common) continue;
    switch (ev.opt) {
      case "t":
        mode = "terse";
        break;
      case "l":
        mode = "wide";
        break;
      case "c":
        callback = true;
        break;
      case "a":
        isArray = true;
        break;
      case "n":
        enumAsNr = true;
        break;
      case "s":
        enumAsString = true;
        break;
      case "S":
        charArrAsStr = true;
        break;
    }
  }
  if (!longOptionsOk(g.long, st, io, TOOL, LONG)) return 1;
  const [name, ...values] = g.operands;
  if (name === undefined) {
    io.stderr(`No pv name specified. ('${TOOL} -h' for help.)\n`);
    return 1;
  }
  if (values.length < 1) {
    io.stderr(`No value specified. ('${TOOL} -h' for help.)\n`);
    return 1;
  }
  // caput never prints a count prefix for -#.
  st.format.requestCount = 0;
  const fmt: CaFormatOptions = caFormatOptions({
    ...st.format,
    mode,
    enumAsNumber: enumAsNr,
    charArrayAsString: charArrAsStr,
  });
  const { timeout, json } = st.common;
  const utcOffset = utcOffsetFor(io.env);

  await using ctx = contextFor(io);
  const ch = ctx.channel(name, { priority: st.common.priority });
  if (!await waitConnected([ch], timeout, io.signal)) {
    io.stderr(connectTimeoutText([name]));
    return 1;
  }
  const nElems = ch.count;
  const native = ch.nativeType;

  // What to write.
  let put: Put;
  if (charArrAsStr) {
    const bytes = unescapeBytes(values.join(" "));
    const withNul = new Uint8Array(bytes.length + 1);
    withNul.set(bytes);
    put = { dbrType: 4, count: withNul.length, value: withNul };
  } else if (isArray) {
    // As EPICS base: the count argument is not used, every value after it is written;
    // with none, a zero-count DBR_STRING write goes out (RSRV then empties an array).
    const items = values.slice(1).map(toDbrString);
    put = { dbrType: 0, count: items.length, value: items };
  } else if (native === 3) {
    const text = values.join(" ");
    let strings: string[] = [];
    try {
      const { data } = await ch.get({ dbrType: 24, count: 1, timeoutSec: opTimeout(timeout) });
      strings = data.meta.enumStrings ?? [];
    } catch {
      io.stderr("Read operation timed out: ENUM data was not read.\n");
      return 1;
    }
    const asNumber = (): Put | undefined => {
      const n = scanDouble(text);
      if (n === undefined || Number.isNaN(n)) return undefined;
      // As EPICS base: a warning (the put still goes) for an index past the last state.
      if (n >= strings.length) {
        io.stderr(`Warning: enum index value '${text}' may be too large.\n`);
      }
      return { dbrType: 6, count: 1, value: new Float64Array([n]) };
    };
    if (enumAsNr) {
      const p = asNumber();
      if (!p) {
        io.stderr(`Enum index value '${text}' is not a number.\n`);
        return 1;
      }
      put = p;
    } else {
      const s = toDbrString(text);
      const p = strings.includes(s)
        ? { dbrType: 0, count: 1, value: [s] }
        : enumAsString
        ? undefined
        : asNumber();
      if (!p) {
        io.stderr(`Enum string value '${text}' invalid.\n`);
        return 1;
      }
      put = p;
    }
  } else {
    put = { dbrType: 0, count: 1, value: [toDbrString(values.join(" "))] };
  }

  const readType = cagetRequestType(native, { enumAsNumber: enumAsNr, stringFromServer: false });
  const read = async (): Promise<ChannelData | undefined> => {
    try {
      return await ch.get({ dbrType: readType, count: nElems, timeoutSec: opTimeout(timeout) });
    } catch (e) {
      if (!json) {
        io.stdout(formatCagetError(name, {
          kind: e instanceof TimeoutError ? "no-data" : "ca-error",
          message: caMessage(e instanceof CaStatusError ? e.eca : Eca.TIMEOUT),
        }, fmt));
      }
      return undefined;
    }
  };
  const line = (label: "Old" | "New", d: ChannelData) =>
    formatCaputLine(label, name, d.data, {
      dbrType: d.dbrType,
      options: fmt,
      count: nElems,
      utcOffset,
    });

  let old: ChannelData | undefined;
  if (mode !== "terse" || json) {
    old = await read();
    if (old && !json) io.stdout(line("Old", old));
  }

  const failed = (eca: number) => {
    io.stderr(`${ERROR} from put operation: ${caMessage(eca)}\n`);
    return 1;
  };
  if (!ch.access.write) return failed(Eca.NOWTACCESS);
  if (put.count > nElems) return failed(Eca.BADCOUNT);
  ch.onError = (e) => {
    io.stderr(exceptionText(
      e.eca,
      // libca shows the context the server sent (RSRV: the record's name).
      `op=1, channel=${name}, type=${dbrName(put.dbrType)}, count=${put.count}, ` +
        `ctx="${e.context ?? name}"`,
      utcOffset,
    ));
  };
  try {
    await ch.put(put.value, {
      dbrType: put.dbrType,
      wait: callback,
      timeoutSec: opTimeout(timeout),
    });
  } catch (e) {
    if (e instanceof TimeoutError) {
      io.stderr(
        callback
          ? "Write callback operation timed out\n"
          : "Write operation timed out: Data was not written.\n",
      );
      return 1;
    }
    if (e instanceof CaStatusError) {
      if (callback && e.eca !== Eca.NOWTACCESS && e.eca !== Eca.BADCOUNT) {
        io.stderr(`${ERROR} occured writing data: ${caMessage(e.eca)}\n`);
        return 1;
      }
      return failed(e.eca);
    }
    io.stderr(`${ERROR} from put operation: ${(e as Error).message}\n`);
    return 1;
  }

  const now = await read();
  if (json) {
    io.stdout(jsonLine({
      name,
      old: old ? jsonOf(name, old.dbrType, old.data, { charAsString: charArrAsStr }) : null,
      new: now ? jsonOf(name, now.dbrType, now.data, { charAsString: charArrAsStr }) : null,
    }));
  } else if (now) io.stdout(line("New", now));
  return 0;
}

if (import.meta.main) await runMain(main, { signals: "default" });
