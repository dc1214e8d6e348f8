import type { Charge } from "../types.js";
import type { Wallet } from "../wallet.js";
import { fields, formatMetadata, type Output, paint } from "./output.js";

/**
 * How the CLI shows the client's objects: plain JSON-ready records (a Wallet handle carries its
 * client, which must not be serialised) and their human forms.
 */

/** A wallet's figures and settings, as `--json` prints them (bigints become strings). */
export function walletRecord(wallet: Wallet) {
  return {
    id: wallet.id,
    name: wallet.name,
    parentId: wallet.parentId,
    rootId: wallet.rootId,
    depth: wallet.depth,
    hardCap: wallet.hardCap,
    closed: wallet.closed,
    exhausted: wallet.exhausted,
    budget: wallet.budget,
    spent: wallet.spent,
    held: wallet.held,
    allocated: wallet.allocated,
    settled: wallet.settled,
    available: wallet.available,
    totalSpent: wallet.totalSpent,
    alertThresholds: [...wallet.alertThresholds],
    metadata: wallet.metadata,
    createdAt: wallet.createdAt,
  };
}

/** A charge (receipt line) for `--json`. */
export function chargeRecord(charge: Charge) {
  return { ...charge };
}

/** open / closed / exhausted, and the cap. */
export function walletStatus(out: Output, wallet: Pick<Wallet, "closed" | "exhausted">): string {
  if (wallet.closed) return paint(out, "dim", "closed");
  if (wallet.exhausted) return paint(out, "red", "exhausted");
  return "open";
}

/** The `key  value` block of `wallets get` and friends. */
export function walletLines(out: Output, wallet: Wallet): string[] {
  const cap = wallet.hardCap ? "hard cap" : "soft cap";
  return fields([
    ["id", paint(out, "bold", wallet.id)],
    ["name", wallet.name === "" ? "-" : wallet.name],
    ["parent", wallet.parentId === "" ? "- (root)" : wallet.parentId],
    ["root", wallet.rootId],
    ["status", `${walletStatus(out, wallet)}, ${cap}`],
    ["budget", String(wallet.budget)],
    ["spent", `${wallet.spent} (subtree ${wallet.totalSpent})`],
    ["held", String(wallet.held)],
    ["allocated", String(wallet.allocated)],
    ["settled", String(wallet.settled)],
    ["available", availableText(out, wallet.available)],
    ["alerts", wallet.alertThresholds.map((t) => `${t}%`).join(", ") || "-"],
    ["metadata", formatMetadata(wallet.metadata)],
    ["created", wallet.createdAt.toISOString()],
  ]);
}

/** Available credits, red when none are left (negative: a soft cap overspent). */
export function availableText(out: Output, available: bigint): string {
  return available <= 0n ? paint(out, "red", String(available)) : String(available);
}
