/**
 * Plain-object views of a received value that hold only what the server sent.
 *
 * A PVA server may describe the whole structure of a PV yet send only some of its
 * fields: pvxs servers answer `field(value,alarm)` with the full NTScalar type and a
 * changed BitSet naming `value` and `alarm`. The other fields then sit in the client's
 * value with default content (zeros, empty strings) that the server never sent, so a
 * plain object made from the whole tree would report made-up data. These helpers keep
 * only the nodes a BitSet covers.
 *
 * ```text
 * bit numbering: depth-first pre-order, root = 0
 * a set structure bit covers the whole subtree; a set leaf bit covers that leaf;
 * a structure with a covered descendant appears with just its covered members
 * ```
 * @module
 */

import type { BitSet } from "../proto/bitset.ts";
import { TypeCode } from "../proto/typedesc.ts";
import type { PvValue } from "../proto/value.ts";

/**
 * The content of `value` restricted to the nodes `mask` covers, as plain objects
 * (structures as objects, int64 as bigint, numeric arrays as typed arrays, unions as
 * `{member: content}` or null, as {@link PvValue.toJSON} makes them).
 * @param value the root value (or a node of it: bits use the root's numbering)
 * @param mask the fields to keep, e.g. a reply's changed marks (default: `value.changed`)
 * @returns an object holding only the covered fields (`{}` when none is covered)
 * @example
 * ```ts
 * import { BitSet, bitOf, PvValue, T } from "../proto/mod.ts";
 * import { plainObject } from "./plain.ts";
 * const type = T.struct("", [["value", T.double], ["alarm", T.struct("", [["severity", T.int]])]]);
 * const v = PvValue.create(type, { value: 1.5 });
 * const sent = BitSet.of(bitOf(type, "value"));
 * if (JSON.stringify(plainObject(v, sent)) !== '{"value":1.5}') throw new Error();
 * ```
 */
export function plainObject(value: PvValue, mask: BitSet = value.changed): Record<string, unknown> {
  if (value.type.code !== TypeCode.STRUCTURE) {
    throw new TypeError("Cannot make a plain object of a non-structure value");
  }
  if (mask.get(value.bit)) return value.toJSON() as Record<string, unknown>;
  return (partial(value, mask) ?? {}) as Record<string, unknown>;
}

/** Whether any bit of the subtree rooted at `node` is set in `mask`. */
function touches(node: PvValue, mask: BitSet): boolean {
  const next = mask.nextSetBit(node.bit);
  return next >= 0 && next < node.bit + node.type.numBits;
}

function partial(node: PvValue, mask: BitSet): unknown {
  if (mask.get(node.bit)) return node.toJSON();
  if (node.type.code !== TypeCode.STRUCTURE || !touches(node, mask)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, member] of node.members()) {
    const content = partial(member, mask);
    if (content !== undefined) out[name] = content;
  }
  return out;
}
