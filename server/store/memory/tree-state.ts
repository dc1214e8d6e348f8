import { lineHash } from "../../../client/line-hash.js";
import type { ChargeLine, Metadata } from "../../ledger/types.js";
import type { EventRetention } from "../ledger-store.js";
import type { CloseUnderWay } from "./close-cascade.js";
import { EventLog, logEvent } from "./event-log.js";
import { HoldQueue, type HoldState } from "./hold-state.js";
import { IdempotencyLog } from "./idempotency-log.js";
import { countLine } from "./receipt-aggregates.js";
import { createWalletState, type WalletState } from "./wallet-state.js";

/**
 * Everything of one wallet tree: the memory counterpart of the keys that share one hash tag in
 * Redis. Every operation touches exactly one tree (listing a project's roots aside).
 */
export interface TreeState {
  rootId: string;
  project: string;
  /** Fingerprint of the create that made the tree: see {@link createTree}. */
  createFingerprint: string;
  /** Last sequence number handed out; wallets, lines and holds share it, so ids start at 1. */
  seq: number;
  root: WalletState;
  wallets: Map<string, WalletState>;
  holds: Map<string, HoldState>;
  holdQueue: HoldQueue;
  /** Open holds, for the per-tree limit. */
  openHoldCount: number;
  /** Credits held by the tree's open holds, for the tree-wide 2^53 - 1 bound. */
  heldTotal: number;
  idempotency: IdempotencyLog;
  /** A close under way, worked off before anything else (close-cascade.ts). */
  closing: CloseUnderWay | undefined;
  /** The tree's event log (event-log.ts). */
  events: EventLog;
  /** `hash` of the tree's newest line, "" before the first: the next line's `prevHash`. */
  lastLineHash: string;
}

/** What a new tree's root needs. */
export interface NewTree {
  rootId: string;
  project: string;
  fingerprint: string;
  name: string;
  budget: number;
  hardCap: boolean;
  metadata: Metadata;
  createdAtMs: number;
  alertThresholds: number[];
  idempotencyTtlMs: number;
  eventRetention: EventRetention;
  /** Told after each event the tree appends (the store's subscribers). */
  onEvent: (tree: TreeState) => void;
}

/**
 * Creates a tree with its root. The create's fingerprint outlives the idempotency record on
 * purpose: the root id is derived from the request id, so a create retried after the TTL still
 * lands on this tree and must be answered (same parameters) or refused (different ones), never
 * create a second root under the same id. The tree's log starts with the root's `wallet_created`.
 */
export function createTree(init: NewTree): TreeState {
  const root = createWalletState({
    id: init.rootId,
    rootId: init.rootId,
    seq: 0,
    parent: undefined,
    name: init.name,
    budget: init.budget,
    hardCap: init.hardCap,
    metadata: init.metadata,
    createdAtMs: init.createdAtMs,
    alertThresholds: init.alertThresholds,
  });
  const tree: TreeState = {
    rootId: init.rootId,
    project: init.project,
    createFingerprint: init.fingerprint,
    seq: 0,
    root,
    wallets: new Map([[root.id, root]]),
    holds: new Map(),
    holdQueue: new HoldQueue(),
    openHoldCount: 0,
    heldTotal: 0,
    idempotency: new IdempotencyLog(init.idempotencyTtlMs),
    closing: undefined,
    events: new EventLog(init.eventRetention, () => init.onEvent(tree)),
    lastLineHash: "",
  };
  logEvent(tree, init.createdAtMs, root, "wallet_created");
  return tree;
}

/** Id kinds within a tree: child wallet, receipt line (charge), hold. */
export type IdLetter = "w" | "c" | "h";

/** Takes the next sequence number and forms `${rootId}.${letter}${seq}`. */
export function nextId(tree: TreeState, letter: IdLetter): { id: string; seq: number } {
  tree.seq += 1;
  return { id: `${tree.rootId}.${letter}${tree.seq}`, seq: tree.seq };
}

/** A line before it has an id, a wallet and its place in the chain. */
export type LineDraft = Omit<ChargeLine, "id" | "walletId" | "hash" | "prevHash">;

/**
 * Writes one line for `wallet`: a fresh id, its link in the tree's hash chain, the wallet's own
 * list, the subtree list and receipt aggregates of the wallet and every ancestor, and its event,
 * all in the same synchronous step as the balance change that caused it (made before this call,
 * so the event carries the balances after it), so lines, balances and the log never drift apart.
 * `nowMs` is the step's clock, which dates the event; the line carries its own `createdAtMs`.
 */
export function postLine(
  tree: TreeState,
  wallet: WalletState,
  draft: LineDraft,
  nowMs: number,
): ChargeLine {
  const line: ChargeLine = {
    ...draft,
    id: nextId(tree, "c").id,
    walletId: wallet.id,
    metadata: { ...draft.metadata },
    hash: "",
    prevHash: tree.lastLineHash,
  };
  line.hash = lineHash(line);
  tree.lastLineHash = line.hash;
  wallet.ownLines.push(line);
  // Without an agent label a line counts under its wallet's name: attribution by role.
  const agent = line.metadata.agent ?? wallet.name;
  for (let w: WalletState | undefined = wallet; w !== undefined; w = w.parent) {
    w.subtreeLines.push(line);
    countLine(w.receipt, line, w === wallet, agent);
  }
  logEvent(tree, nowMs, wallet, line.kind, { line });
  return line;
}

/** A detached copy of a line (stored lines are shared by several lists and replays). */
export function lineView(line: ChargeLine): ChargeLine {
  return { ...line, metadata: { ...line.metadata } };
}

/** Credits the tree has spent or reserved; every debit and hold keeps this <= 2^53 - 1. */
export function committedCredits(tree: TreeState): number {
  return tree.root.receipt.totalCredits + tree.heldTotal;
}
