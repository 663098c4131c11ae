/**
 * The UDP name-search responder: answers a datagram of SEARCH requests with one
 * datagram of replies for the names this server hosts, as RSRV does. Pure logic over
 * bytes; server.ts owns the socket.
 * @module
 */

import { ByteWriter, cString } from "../../core/bytes.ts";
import { CA_MINOR_VERSION, CaCommand, SEQUENCE_NO_IS_VALID } from "../proto/constants.ts";
import { decodeDatagram } from "../proto/framer.ts";
import { writeHeader } from "../proto/header.ts";
import type { PvProvider } from "../../pv/types.ts";

/**
 * Builds the reply datagram for one search datagram.
 *
 * ```text
 * reply = [VERSION u16 0 | u16 0 | u16 1 | u16 13 | u32 seq | u32 0]   (client minor >= 11)
 *         SEARCH  u16 6 | u16 8 | u16 tcpPort | u16 0 | u32 0xFFFFFFFF | u32 searchId
 *                 payload: u16 minor (13), 6 zero bytes                 (one per hosted name)
 * ```
 * Names we do not host get no answer, whatever the reply flag: like RSRV, only a TCP
 * search (a name-server circuit) answers DO_REPLY with NOT_FOUND. Over UDP every server
 * would otherwise answer every broadcast for names it lacks.
 * @param datagram the received bytes
 * @param provider where names are looked up
 * @param tcpPort the TCP port to advertise
 * @param w a reusable writer (reset here)
 * @returns the reply bytes (a view into `w`), or undefined when there is nothing to say
 * @throws RemoteProtocolError when the datagram is malformed
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { PvMap, SharedPV } from "../../pv/mod.ts";
 * import { CaCommand, decodeDatagram, encodeSearchRequest, SearchReply } from "../proto/mod.ts";
 * import { answerSearch } from "./mod.ts";
 * const provider = new PvMap([new SharedPV("T:ai", { type: "float64" })]);
 * const req = new ByteWriter();
 * encodeSearchRequest(req, { cid: 1, name: "T:ai" });
 * encodeSearchRequest(req, { cid: 2, name: "T:nope", replyFlag: SearchReply.DO_REPLY });
 * const reply = answerSearch(req.toBytes(), provider, 5064, new ByteWriter());
 * const messages = decodeDatagram(reply!);
 * const [found] = messages;
 * if (found.command !== CaCommand.SEARCH || found.dataType !== 5064 || found.param2 !== 1) {
 *   throw new Error();
 * }
 * // "T:nope" gets nothing, not even with DO_REPLY.
 * if (messages.some((m) => m.command === CaCommand.NOT_FOUND)) throw new Error();
 * ```
 */
export function answerSearch(
  datagram: Uint8Array,
  provider: PvProvider,
  tcpPort: number,
  w: ByteWriter,
): Uint8Array | undefined {
  w.reset();
  let clientMinor = 0;
  let seq = 0;
  let found = 0;
  for (const m of decodeDatagram(datagram)) {
    if (m.command === CaCommand.VERSION) {
      clientMinor = m.dataCount;
      seq = m.dataType === SEQUENCE_NO_IS_VALID ? m.param1 : 0;
      continue;
    }
    if (m.command !== CaCommand.SEARCH) return undefined; // RSRV stops at anything else
    const minor = m.dataCount || clientMinor;
    if (minor < 4 || m.payload.length <= 1) continue;
    const name = cString(m.payload);
    // Unknown names are ignored, DO_REPLY or not (RSRV's UDP search does the same).
    if (name === "" || provider.lookup(name) === undefined) continue;
    if (found === 0 && clientMinor >= 11) {
      writeHeader(w, CaCommand.VERSION, 0, SEQUENCE_NO_IS_VALID, CA_MINOR_VERSION, seq, 0);
    }
    writeHeader(w, CaCommand.SEARCH, 8, tcpPort, 0, 0xffffffff, m.param1);
    w.u16(CA_MINOR_VERSION).zeros(6);
    found++;
  }
  return found ? w.view() : undefined;
}

/**
 * Builds a beacon (RSRV_IS_UP).
 * ```text
 * u16 13 | u16 0 | u16 minor (13) | u16 tcpPort | u32 beaconId | u32 server IPv4 (0: use source)
 * ```
 * @param w a reusable writer (reset here)
 * @param tcpPort the server's TCP port
 * @param beaconId the beacon counter
 * @param address the server address as u32, or 0
 * @returns the 16 bytes (a view into `w`)
 * @example
 * ```ts
 * import { ByteWriter } from "../../core/bytes.ts";
 * import { encodeBeacon } from "./mod.ts";
 * const b = encodeBeacon(new ByteWriter(), 5064, 7);
 * if (b.length !== 16 || b[1] !== 13 || b[11] !== 7) throw new Error();
 * ```
 */
export function encodeBeacon(
  w: ByteWriter,
  tcpPort: number,
  beaconId: number,
  address = 0,
): Uint8Array {
  w.reset();
  writeHeader(w, CaCommand.RSRV_IS_UP, 0, CA_MINOR_VERSION, tcpPort, beaconId >>> 0, address >>> 0);
  return w.view();
}
