import type { LedgerError } from "../../ledger/ledger-error.js";
import { Limits } from "../../ledger/limits.js";
import {
  type BreakdownDimension,
  captureExceedsHold,
  creditLimit,
  depthExceeded,
  holdAlreadyResolved,
  holdExpired,
  holdNotFound,
  idempotencyKeyReused,
  insufficientCredits,
  mergedMetadataTooLarge,
  softChildOfHard,
  tooManyBreakdownKeys,
  tooManyChildren,
  tooManyOpenHolds,
  walletClosed,
  walletNotFound,
} from "../../ledger/refusals.js";

/**
 * The scripts' reply codes: one table, generated into the Lua `constants` include
 * ({@link luaConstantsInclude}) as `E_<NAME>`, so TypeScript and Lua cannot disagree on a code.
 * A script answers `{OK, ...payload}`, `{E_<NAME>, ...detail}` when it refuses (always before
 * its first write), or `{WORK_PENDING}` when it worked off a batch of its tree's pending work
 * (hold expiry, a close) and more is left: the store calls it again (see redis-ledger-store.ts).
 */
export const ReplyCode = {
  ok: 0,
  walletNotFound: 1,
  holdNotFound: 2,
  idempotencyKeyReused: 3,
  insufficientCredits: 4,
  walletClosed: 5,
  holdExpired: 6,
  holdAlreadyResolved: 7,
  depthExceeded: 8,
  softChildOfHard: 9,
  creditLimit: 10,
  captureExceedsHold: 11,
  mergedMetadataTooLarge: 12,
  tooManyOpenHolds: 13,
  tooManyChildren: 14,
  tooManyBreakdownKeys: 15,
  workPending: 16,
} as const;

type RefusalName = Exclude<keyof typeof ReplyCode, "ok" | "workPending">;

/**
 * Each refusal code's detail (the strings after the code, as the script header lists them) to
 * the shared constructor. A `Record` over every code, so a new code without its refusal does
 * not compile.
 */
const refusals: Record<RefusalName, (detail: readonly string[]) => LedgerError> = {
  walletNotFound: ([walletId = ""]) => walletNotFound(walletId),
  holdNotFound: ([holdId = ""]) => holdNotFound(holdId),
  idempotencyKeyReused: () => idempotencyKeyReused(),
  insufficientCredits: ([walletId = "", requested = "", available = ""]) =>
    insufficientCredits(walletId, requested, available),
  walletClosed: ([walletId = ""]) => walletClosed(walletId),
  holdExpired: ([holdId = ""]) => holdExpired(holdId),
  holdAlreadyResolved: ([holdId = ""]) => holdAlreadyResolved(holdId),
  depthExceeded: ([maxDepth = ""]) => depthExceeded(maxDepth),
  softChildOfHard: () => softChildOfHard(),
  creditLimit: () => creditLimit(),
  captureExceedsHold: ([holdAmount = ""]) => captureExceedsHold(holdAmount),
  mergedMetadataTooLarge: () => mergedMetadataTooLarge(),
  tooManyOpenHolds: ([walletId = "", limit = ""]) => tooManyOpenHolds(walletId, limit),
  tooManyChildren: ([walletId = "", limit = ""]) => tooManyChildren(walletId, limit),
  tooManyBreakdownKeys: ([walletId = "", dimension = "", limit = ""]) =>
    tooManyBreakdownKeys(walletId, dimension as BreakdownDimension, limit),
};

const nameOf = new Map<number, RefusalName>(
  Object.entries(ReplyCode)
    .filter(([name]) => name in refusals)
    .map(([name, code]) => [code, name as RefusalName]),
);

/**
 * The ledger's error for a script's refusal. An unknown code is a bug in a script, not a
 * refusal, and surfaces as a plain error.
 */
export function refusal(code: number, detail: readonly string[]): LedgerError {
  const name = nameOf.get(code);
  if (name === undefined) throw new Error(`unknown reply code ${code} from a tollgate script`);
  return refusals[name](detail);
}

/**
 * Lua source of the generated `constants` include: every reply code, and the limits a script
 * enforces itself.
 */
export function luaConstantsInclude(): string {
  const lines = [
    "-- Generated from server/store/redis/reply-codes.ts and server/ledger/limits.ts.",
  ];
  for (const [name, code] of Object.entries(ReplyCode)) {
    const lua =
      name === "ok" ? "OK" : name === "workPending" ? "WORK_PENDING" : `E_${upperSnake(name)}`;
    lines.push(`local ${lua} = ${code}`);
  }
  lines.push(
    "-- 2^53 - 1: Lua numbers are doubles, exact for integers up to here (Limits.maxCredits).",
    `local MAX_CREDITS = ${Limits.maxCredits}`,
    "-- Keys of one line's metadata (Limits.metadataMaxKeys): a capture's merge obeys it too.",
    `local METADATA_MAX_KEYS = ${Limits.metadataMaxKeys}`,
    "-- Units of pending work a background batch does (sweep-1.lua; Limits.workBatch), and an",
    "-- operation's own script before it answers WORK_PENDING (Limits.workSlice).",
    `local WORK_BATCH = ${Limits.workBatch}`,
    `local WORK_SLICE = ${Limits.workSlice}`,
    "-- What a receipt carries in full (Limits.receiptBreakdownTop, Limits.receiptChildrenMax).",
    `local RECEIPT_BREAKDOWN_TOP = ${Limits.receiptBreakdownTop}`,
    `local RECEIPT_CHILDREN_MAX = ${Limits.receiptChildrenMax}`,
  );
  return lines.join("\n");
}

function upperSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}
