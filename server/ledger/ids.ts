import { createHash } from "node:crypto";

/**
 * Wallet, hold and line ids. A root id is `w_` + 24 hex digits; every other id of a tree is
 * `${rootId}.${letter}${seq}`. Carrying the root in every id lets a store find a tree's keys (one
 * Redis hash tag) from any id without a lookup, so every operation stays one round trip.
 */
const root = "w_[0-9a-f]{24}";
const seq = "[1-9][0-9]{0,15}";

const walletIdPattern = new RegExp(`^${root}(\\.w${seq})?$`);
const holdIdPattern = new RegExp(`^${root}\\.h${seq}$`);

/**
 * The root id for a create-root request: derived from project and request id, so a retried
 * create lands on the same tree and is answered from its idempotency record.
 */
export function rootIdFor(project: string, requestId: string): string {
  const digest = createHash("sha256").update(project).update("\0").update(requestId).digest("hex");
  return `w_${digest.slice(0, 24)}`;
}

export function isWalletId(id: string): boolean {
  return walletIdPattern.test(id);
}

export function isHoldId(id: string): boolean {
  return holdIdPattern.test(id);
}

/** The root id of the tree an id belongs to. */
export function treeOf(id: string): string {
  const dot = id.indexOf(".");
  return dot === -1 ? id : id.slice(0, dot);
}
