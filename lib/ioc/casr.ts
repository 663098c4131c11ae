/**
 * casr: RSRV's report of the Channel Access server, in its wording and layout, from the data
 * our server gives ({@link CaServerReport}). Levels 0 to 4 as RSRV prints them: the client
 * count; each client with its user, protocol version, priority and channel count, the
 * sockets (with the last name search each received from level 2) and the beacon
 * destinations; each client's channels from level 2, with their type and access from 3;
 * each client's traffic (seconds since its last send and receive, bytes waiting each way)
 * from 4. RSRV's level-4 free-list and resource-table statistics describe its C allocator
 * and hash table, which our server does not have: they are not printed. Nor is RSRV's
 * "CAS-UDP broadcast name server" line: our server has no socket on a broadcast address.
 * Pure.
 * @module
 */

import type { CaServerReport } from "../ca/server/server.ts";

/** A channel's type as dbChannelShow names it, for casr 3. */
export type ChannelTypeOf = (
  name: string,
) => { dbf: string; size: number; dbr: string; elements: number } | undefined;

const TAB = "\t";

function client(
  lines: string[],
  head: string,
  c: { user: string; minor: number; priority: number; channels: number },
): void {
  lines.push(head);
  lines.push(
    `${TAB}User '${c.user}', V4.${c.minor}, Priority = ${c.priority}, ${c.channels} Channel${
      c.channels === 1 ? "" : "s"
    }`,
  );
}

/**
 * Formats casr's report.
 * @param r the server's report
 * @param level detail, 0 to 4 (higher levels print as 4)
 * @param typeOf what casr 3 shows of a channel's field
 * @returns the text, with a final newline
 * @example
 * ```ts
 * import { casrText } from "./casr.ts";
 * const r = { clients: [], servers: [], beacons: ["127.0.0.1:5065"] };
 * if (casrText(r, 0) !== "Channel Access Server V4.13\nNo clients connected.\n") throw new Error();
 * ```
 */
export function casrText(r: CaServerReport, level: number, typeOf?: ChannelTypeOf): string {
  const lines = ["Channel Access Server V4.13"];
  const n = r.clients.length;
  if (n === 0) lines.push("No clients connected.");
  else if (level === 0) lines.push(`${n} client${n === 1 ? "" : "s"} connected.`);
  else {
    lines.push(`${n} client${n === 1 ? "" : "s"} connected:`);
    for (const c of r.clients) {
      client(lines, `    TCP client at ${c.peer} '${c.host}':`, {
        user: c.user,
        minor: c.minorVersion,
        priority: c.priority,
        channels: c.channels.length,
      });
      if (level >= 4) {
        // RSRV's "Task Id = ..., Socket FD = ..." line is left out: a circuit here is no
        // thread and Deno shows no descriptor. The jumbo-buffer flags of State have no
        // counterpart either (our buffers grow as needed).
        lines.push(
          `${TAB}${c.sinceSend.toFixed(2)} secs since last send, ${
            c.sinceReceive.toFixed(2)
          } secs since last receive`,
        );
        lines.push(
          `${TAB}Unprocessed request bytes = ${c.unprocessedBytes}, Undelivered response bytes = ${c.undeliveredBytes}`,
        );
        lines.push(`${TAB}State = up`);
      }
      if (level < 2) continue;
      for (const ch of c.channels) {
        lines.push(`        Channel: '${ch.name}'`);
        if (level < 3) continue;
        const t = typeOf?.(ch.name);
        if (t) {
          lines.push(
            `            field_type=${t.dbf} (${t.size} bytes), dbr_type=${t.dbr}, ${t.elements} element${
              t.elements === 1 ? "" : "s"
            }, no filters`,
          );
        }
        lines.push(
          `            # on eventq=${ch.subscriptions}, access=${ch.read ? "r" : "-"}${
            ch.write ? "w" : "-"
          }`,
        );
      }
    }
  }
  if (level >= 1) {
    for (const s of r.servers) {
      lines.push(`CAS-TCP server on ${s.tcp} with`);
      // RSRV words its UDP sockets by what they receive. A socket bound to one interface's
      // address gets only unicast datagrams (a BSD socket rule), so RSRV binds a second one
      // to that interface's broadcast address, printed as a "broadcast name server" line.
      // Our server binds only the first: it is a unicast name server, and has no broadcast
      // line. A socket on 0.0.0.0 gets both kinds, which RSRV (and we) call a name server.
      const any = s.udp.startsWith("0.0.0.0:");
      lines.push(`    CAS-UDP ${any ? "" : "unicast "}name server on ${s.udp}`);
      if (level >= 2) {
        client(lines, `${TAB}Last name requested by ${s.lastSearch.from}:`, {
          user: "",
          minor: s.lastSearch.minor,
          // RSRV's UDP client keeps priority 0: a search's VERSION does not set it.
          priority: 0,
          channels: 0,
        });
      }
    }
    const b = r.beacons.length;
    lines.push(`Sending CAS-beacons to ${b} address${b === 1 ? "" : "es"}:`);
    for (const a of r.beacons) lines.push(`    ${a}`);
  }
  return lines.join("\n") + "\n";
}
