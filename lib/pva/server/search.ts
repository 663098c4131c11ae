/**
 * The PVA name-search responder: which search requests get an answer and what it says.
 * Pure logic; the transport owns the sockets and the local multicast forwarding.
 *
 * ```text
 * SEARCH          u32 seq | u8 flags | 3 x reserved | 16 B responseAddress | u16 responsePort
 *                 Size n + n x String protocol | u16 count | count x (u32 id | String name)
 * SEARCH_RESPONSE 12 B guid | u32 seq | 16 B serverAddress (any: use the source)
 *                 u16 serverPort | String "tcp" | u8 found | u16 count | count x u32 id
 * ```
 * @module
 */

import type { PvProvider } from "../../pv/types.ts";
import { ANY_ADDRESS, SearchFlag, type SearchRequest, type SearchResponse } from "../proto/mod.ts";

/**
 * Decides the answer to a search, as pvxs does: one reply listing every hosted name,
 * only when the client offers "tcp"; a negative reply with no ids when nothing is
 * hosted but the client asked for an answer (also for discovery pings, which list no
 * names).
 * @param req the decoded search
 * @param provider where names are looked up
 * @returns the reply without guid and port (the caller fills them), or undefined
 */
export function searchReply(
  req: SearchRequest,
  provider: PvProvider,
): Omit<SearchResponse, "guid" | "serverPort"> | undefined {
  const ids: number[] = [];
  if (req.protocols.includes("tcp")) {
    for (const c of req.channels) if (c.name && provider.lookup(c.name)) ids.push(c.id);
  }
  const replyRequired = (req.flags & SearchFlag.REPLY_REQUIRED) !== 0;
  if (ids.length === 0 && !replyRequired) return undefined;
  return {
    sequenceId: req.sequenceId,
    serverAddress: ANY_ADDRESS,
    protocol: "tcp",
    found: ids.length > 0,
    ids,
  };
}
