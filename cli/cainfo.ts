/**
 * `cainfo`: prints what Channel Access knows about PVs (state, server, access rights,
 * native type and element count) exactly as EPICS base's cainfo does. Extra, off by
 * default: `--json` (one JSON object per PV).
 *
 * ```text
 * cainfo [-w <sec>] [-p <prio>] [-s <level>] [--json] <PV> ...
 * ```
 * @module
 */

import type { CaChannel } from "../lib/ca/client/channel.ts";
import { DBF_NAMES } from "../lib/ca/proto/constants.ts";
import { type CliIO, runMain } from "./_io.ts";
import { type CainfoData, formatCainfo } from "./_ca_format.ts";
import {
  connectTimeoutText,
  contextFor,
  getopt,
  getoptErrorText,
  handleLongOptions,
  handleSharedOption,
  hostNameText,
  jsonLine,
  newOptionState,
  versionText,
  waitConnected,
} from "./_ca_cli.ts";

const TOOL = "cainfo";
const SPEC = "nhVw:s:p:";

const USAGE = `
Usage: cainfo [options] <PV name> ...

  -h        print this help and exit
  -V        print the version and exit
  -s <lvl>  print the CA client library status at interest level <lvl> and exit
Channel Access options:
  -w <sec>  seconds to wait for connections (default 1.0, or EPICS_CLI_TIMEOUT;
            0 waits forever)
  -p <prio> CA priority 0-99 (default 0)
Extras (not in EPICS base):
  --json    one JSON object per PV

Example: cainfo my_channel another_channel
`;

const STATE: Record<CaChannel["state"], CainfoData["state"]> = {
  searching: "never connected",
  connected: "connected",
  disconnected: "previously connected",
  closed: "closed",
};

/**
 * The facts cainfo prints for a channel.
 * @param ch the channel
 * @returns the data for {@link formatCainfo}
 */
export function cainfoData(ch: CaChannel): CainfoData {
  const a = ch.access;
  return {
    name: ch.name,
    state: STATE[ch.state],
    host: ch.host ? hostNameText(ch.host) : "<disconnected>",
    read: a.read,
    write: a.write,
    nativeType: ch.nativeType >= 0 ? ch.nativeType : undefined,
    count: ch.count,
  };
}

/**
 * Runs cainfo.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns the exit code
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const st = newOptionState(io);
  const g = getopt(args, SPEC);
  let statusLevel: number | undefined;
  for (const ev of g.events) {
    if (ev.error) {
      io.stderr(getoptErrorText(ev, TOOL));
      return 1;
    }
    if ("wp".includes(ev.opt) && handleSharedOption(ev, st, TOOL, io)) continue;
    switch (ev.opt) {
      case "h":
        io.stderr(USAGE + versionText());
        return 0;
      case "V":
        io.stdout(versionText());
        return 0;
      case "s": {
        const m = /^\s*([+-]?\d+)/.exec(ev.arg ?? "");
        if (!m) {
          io.stderr(
            `'${ev.arg}' is not a valid interest level - ignored. ('${TOOL} -h' for help.)\n`,
          );
        } else statusLevel = Number(m[1]);
        break;
      }
    }
  }
  const longErr = handleLongOptions(g.long, st, TOOL, ["json"]);
  if (longErr) {
    io.stderr(longErr);
    return 1;
  }
  const names = g.operands;
  if (statusLevel !== undefined) {
    await using ctx = contextFor(io);
    io.stdout(
      `Channel Access client (epics-ts), CA protocol ${versionText().match(/[\d.]+\n$/)![0]}` +
        `    user ${ctx.user}, host ${ctx.host}\n` +
        `    virtual circuits: ${ctx.circuitCount}\n`,
    );
    return 0;
  }
  if (names.length < 1) {
    io.stderr(`No pv name specified. ('${TOOL} -h' for help.)\n`);
    return 1;
  }
  await using ctx = contextFor(io);
  const channels = names.map((n) => ctx.channel(n, { priority: st.common.priority }));
  if (!await waitConnected(channels, st.common.timeout, io.signal)) {
    io.stderr(connectTimeoutText(names));
    return 1;
  }
  for (const ch of channels) {
    const d = cainfoData(ch);
    if (st.common.json) {
      io.stdout(jsonLine({
        ...d,
        nativeType: d.nativeType === undefined ? null : DBF_NAMES[d.nativeType],
      }));
    } else io.stdout(formatCainfo(d));
  }
  return 0;
}

if (import.meta.main) await runMain(main);
