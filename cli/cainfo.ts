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
import type { CaContext } from "../lib/ca/client/context.ts";
import { type CainfoData, dbfName, formatCainfo } from "./_ca_format.ts";
import {
  CA_PROTOCOL_VERSION,
  connectTimeoutText,
  contextFor,
  EPICS_VERSION_TEXT,
  getopt,
  handleCommonEvent,
  hostNameText,
  jsonLine,
  longOptionsOk,
  newOptionState,
  versionText,
  waitConnected,
} from "./_ca_cli.ts";

const TOOL = "cainfo";
const SPEC = "nhVw:s:p:";
/** Our long option (an extra); any other "--name" is reported as EPICS base reports it. */
const LONG = ["json"];

const USAGE = `
Usage: cainfo [options] <PV name> ...

  -h        print this help and exit
  -V        print the version and exit
  -s <lvl>  instead of the PV blocks, print a report of the CA client (level 1:
            identity and counts; 2: each channel; 3: the configuration)
Channel Access options:
  -w <sec>  seconds to wait for connections (default 1.0, or EPICS_CLI_TIMEOUT;
            0 waits forever)
  -p <prio> CA priority 0-99 (default 0)
Extras (not in EPICS base):
  --json    one JSON object per PV

Example: cainfo my_channel another_channel
`;

const CMD = { tool: TOOL, usage: USAGE + versionText(), shared: "wp" };

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
 * The client report `-s <level>` prints in place of the PV blocks. EPICS base prints
 * libca's internal state there (object addresses, hash tables, timers), which has no
 * counterpart in our client; ours reports what our client can state truthfully, in its
 * own layout: level 1 the identity and counts, level 2 one line per channel (in the
 * shape libca uses for its channels), level 3 the search and connection settings.
 * @param ctx the client context
 * @param channels the channels cainfo created
 * @param level the interest level (1 and up)
 * @returns the text
 */
export function clientReport(
  ctx: CaContext,
  channels: readonly CaChannel[],
  level: number,
): string {
  const connected = channels.filter((c) => c.state === "connected").length;
  let out = `Channel Access client context (epics-ts) for user ${ctx.user} on host ${ctx.host}\n` +
    `\trevision "${EPICS_VERSION_TEXT}, CA protocol ${CA_PROTOCOL_VERSION}"\n` +
    `\tvirtual circuits: ${ctx.circuitCount}\n` +
    `\tchannels: ${channels.length}, connected: ${connected}\n`;
  if (level >= 2) {
    for (const ch of channels) {
      const a = ch.access;
      out += ch.state === "connected"
        ? `Channel "${ch.name}", connected to server ${hostNameText(ch.host ?? "")}, ` +
          `native type ${dbfName(ch.nativeType)}, native element count ${ch.count}, ` +
          `${a.read ? "" : "no "}read access, ${a.write ? "" : "no "}write access\n`
        : `Channel "${ch.name}", ${STATE[ch.state]}\n`;
    }
  }
  if (level >= 3) {
    const c = ctx.config;
    const dest = c.addrList.map((e) => `${e.host}:${e.port}`).join(" ") || "(none)";
    out += `\tsearch destinations: ${dest}${c.autoAddrList ? " + broadcast addresses" : ""}\n` +
      `\tname servers: ${c.nameServers.map((e) => `${e.host}:${e.port}`).join(" ") || "(none)"}\n` +
      `\tdefault server port ${c.serverPort}, repeater port ${c.repeaterPort}\n` +
      `\tconnection time out watchdog period ${c.connTimeout.toFixed(6)}\n` +
      `\tmax array bytes ${c.autoArrayBytes ? "unlimited" : c.maxArrayBytes}\n`;
  }
  return out;
}

/**
 * Runs cainfo.
 * @param args command-line arguments
 * @param io output streams, environment and stop signal
 * @returns the exit code
 */
export async function main(args: string[], io: CliIO): Promise<number> {
  const st = newOptionState(io);
  const g = getopt(args, SPEC, { long: LONG });
  let statusLevel = 0;
  for (const ev of g.events) {
    const common = handleCommonEvent(ev, st, io, CMD);
    if (typeof common === "number") return common;
    if (common) continue;
    switch (ev.opt) {
      case "s": {
        const m = /^\s*([+-]?\d+)/.exec(ev.arg ?? "");
        if (!m) {
          io.stderr(
            `'${ev.arg}' is not a valid interest level - ignored. ('${TOOL} -h' for help.)\n`,
          );
        } else statusLevel = Number(m[1]) >>> 0; // unsigned in libca: -1 means "all"
        break;
      }
    }
  }
  if (!longOptionsOk(g.long, st, io, TOOL, LONG)) return 1;
  const names = g.operands;
  if (statusLevel !== 0 && names.length < 1) {
    // As EPICS base: with an interest level and no PV, the report alone.
    await using ctx = contextFor(io);
    io.stdout(clientReport(ctx, [], statusLevel));
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
  if (statusLevel !== 0) {
    io.stdout(clientReport(ctx, channels, statusLevel));
    return 0;
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

if (import.meta.main) await runMain(main, { signals: "default" });
