/**
 * The built-in "server" channel pvxs servers offer: an RPC whose NTURI query says
 * `op=channels` answers with the names this server hosts, which is how `pvxlist
 * host:port` and pvAccessCPP's `pvlist host:port` list a server. The channel is reached
 * by creating it on a connection to the server; UDP searches for it go unanswered (as
 * pvxs does).
 *
 * ```text
 * RPC EXEC args (pvxs): NTURI {string scheme ""; string authority ""; string path "server";
 *                              structure query { string op "channels" }}
 * (pvAccessCPP sends scheme "pva" and no authority.)
 * Result: epics:nt/NTScalarArray:1.0 {string[] value; alarm_t alarm; time_t timeStamp}
 * ```
 * @module
 */

import { LocalProtocolError } from "../../core/errors.ts";
import { SharedPV } from "../../pv/shared_pv.ts";
import type { PvProvider } from "../../pv/types.ts";
import { alarmT, NtId, timeT } from "../nt/common.ts";
import { PvValue, T } from "../proto/mod.ts";

/** Name of the built-in channel. */
export const SERVER_CHANNEL = "server";

/** Type of the `op=channels` result. */
const channelListT = T.struct(NtId.NTScalarArray, [
  ["value", T.array(T.string)],
  ["alarm", alarmT],
  ["timeStamp", timeT],
]);

/**
 * The `op=channels` reply: every hosted name, sorted.
 * @param provider the server's PVs
 * @returns an NTScalarArray of strings
 * @example
 * ```ts
 * import { channelList } from "./server_pv.ts";
 * const v = channelList({ lookup: () => undefined, names: () => ["b", "a"] });
 * if ((v.get("value") as string[]).join() !== "a,b") throw new Error();
 * ```
 */
export function channelList(provider: PvProvider): PvValue {
  return PvValue.create(channelListT, { value: [...provider.names()].sort() });
}

function queryOf(args: unknown): Record<string, unknown> {
  if (args === null || typeof args !== "object") return {};
  const a = args as Record<string, unknown>;
  // NTURI puts the arguments in "query"; a bare structure is taken as the query itself.
  const q = a.query;
  return q !== null && typeof q === "object" ? q as Record<string, unknown> : a;
}

/**
 * A read-only PV for one "server" channel: a GET shows the names hosted when the channel
 * was created; RPC `op=channels` answers with the current ones.
 * @param provider the server's PVs
 * @returns the PV the channel serves
 */
export function serverChannelPv(provider: PvProvider): SharedPV {
  const names = [...provider.names()].sort();
  return new SharedPV(SERVER_CHANNEL, {
    type: "string",
    length: Math.max(1, names.length),
    value: names,
    writable: false,
    description: "Server information (RPC op=channels lists the hosted PVs)",
    onRpc: (args) => {
      const op = queryOf(args).op;
      if (op === "channels") return channelList(provider);
      throw new LocalProtocolError(
        `Channel "${SERVER_CHANNEL}" does not support op=${
          typeof op === "string" ? `"${op}"` : "(none)"
        }; only op=channels`,
      );
    },
  });
}
