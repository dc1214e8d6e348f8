import { lineHash } from "../../client/line-hash.js";
import type { ChargeLine } from "../../server/ledger/types.js";

/**
 * A line as a store writes it: `fields`, linked after `prevHash` (the tree's previous line's
 * hash, "" for its first line), with the hash of its canonical encoding. Lets a case spell out
 * an expected line field by field and still check its place in the chain exactly.
 */
export function hashedLine(
  fields: Omit<ChargeLine, "hash" | "prevHash">,
  prevHash: string,
): ChargeLine {
  return { ...fields, prevHash, hash: lineHash({ ...fields, prevHash }) };
}
