import { otherRow } from "../../ledger/breakdown.js";
import { treeOf } from "../../ledger/ids.js";
import type {
  Balances,
  Breakdown,
  ChargeKind,
  ChargeLine,
  ChildReceipt,
  EventKind,
  EventPosition,
  HoldStatus,
  HoldView,
  LedgerEvent,
  Metadata,
  Receipt,
  WalletStatus,
  WalletView,
} from "../../ledger/types.js";
import type { EventRead } from "../ledger-store.js";

/**
 * Decoders for the JSON the scripts return. Scripts send every number as decimal text (cjson
 * would print large integers in %.14g and lose digits), and metadata as nested JSON text.
 */

/** A wallet as scripts/includes/wallet.lua `wallet_view` encodes it. */
interface WalletWire {
  id: string;
  parent: string;
  depth: string;
  name: string;
  budget: string;
  hard: string;
  meta: string;
  spent: string;
  held: string;
  allocated: string;
  settled: string;
  available: string;
  total_spent: string;
  status: string;
  exhausted: string;
  created: string;
  /** The thresholds, comma-separated ("" for none). */
  alerts: string;
}

interface HoldWire {
  id: string;
  wallet: string;
  amount: string;
  service: string;
  meta: string;
  status: string;
  captured: string;
  created: string;
  expires: string;
}

/** A line as stored before the compact layout (a JSON object of text). */
interface LineWire {
  id: string;
  wallet: string;
  kind: string;
  amount: string;
  service: string;
  meta: string;
  over: string;
  hold: string;
  request: string;
  created: string;
  /** Absent on lines written before the hash chain (script version 2). */
  hash?: string;
  prev?: string;
  /** The gateway failure recorded on the line (list-charges only). */
  gwfail?: string;
}

/**
 * An event entry's `e` field (docs/events.md#redis-layout). Ids are relative to the tree: "w3"
 * for `<root>.w3`, "" for the root (see {@link treeId}).
 */
interface EventWire {
  k: string;
  w: string;
  /** "budget spent held allocated available totalSpent" */
  b: string;
  l?: string;
  o?: string;
  x?: number;
}

/** cjson encodes an empty Lua table as `{}`, whether it was meant as a list or not. */
type LuaList<T> = T[] | Record<string, never>;

/** A breakdown row of scripts/includes/breakdown.lua. */
interface RowWire {
  key: string;
  credits: string;
  calls: string;
}

/** A child's summary of scripts/includes/breakdown.lua. */
interface ChildWire {
  wallet: WalletWire;
  calls: string;
}

interface ReceiptWire {
  wallet: WalletWire;
  calls: string;
  own_calls: string;
  refill_credits: string;
  refill_count: string;
  voided_credits: string;
  voided_count: string;
  over_budget_count: string;
  by_service: LuaList<RowWire>;
  by_agent: LuaList<RowWire>;
  service_keys: string;
  agent_keys: string;
  children: LuaList<ChildWire>;
  child_count: string;
}

/** Decimal text from a script as an exact number; anything else is a corrupt reply. */
function int(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new Error(`script reply: ${JSON.stringify(text)} is not an integer`);
  return n;
}

function list<T>(value: LuaList<T>): T[] {
  return Array.isArray(value) ? value : [];
}

function metadata(json: string): Metadata {
  return JSON.parse(json) as Metadata;
}

function walletFrom(w: WalletWire): WalletView {
  return {
    id: w.id,
    rootId: treeOf(w.id),
    parentId: w.parent,
    depth: int(w.depth),
    name: w.name,
    budget: int(w.budget),
    hardCap: w.hard === "1",
    metadata: metadata(w.meta),
    spent: int(w.spent),
    held: int(w.held),
    allocated: int(w.allocated),
    settled: int(w.settled),
    available: int(w.available),
    totalSpent: int(w.total_spent),
    status: w.status as WalletStatus,
    exhausted: w.exhausted === "1",
    createdAtMs: int(w.created),
    alertThresholds: w.alerts === "" ? [] : w.alerts.split(",").map(int),
  };
}

/** A wallet JSON reply entry. */
export function decodeWallet(json: string): WalletView {
  return walletFrom(JSON.parse(json) as WalletWire);
}

/** A hold JSON reply entry. */
export function decodeHold(json: string): HoldView {
  const h = JSON.parse(json) as HoldWire;
  return {
    id: h.id,
    walletId: h.wallet,
    amount: int(h.amount),
    service: h.service,
    metadata: metadata(h.meta),
    status: h.status as HoldStatus,
    capturedAmount: int(h.captured),
    createdAtMs: int(h.created),
    expiresAtMs: int(h.expires),
  };
}

/**
 * A line as lines.lua stores it (`compact_line`): a JSON array, the line before it in the chain
 * and its own hash first, ids relative to the tree, amount and creation time as numbers, the
 * metadata object last, and list-charges' gateway failure after it when there is one.
 */
type CompactLineWire = [
  prevRef: string,
  hash: string,
  id: string,
  wallet: string,
  kind: string,
  amount: number,
  service: string,
  over: number,
  hold: string,
  request: string,
  created: number,
  meta: Metadata,
  gwfail?: string,
];

/**
 * A line reply entry of the tree `rootId`: compact (an array), with `prevHash` the hash it links
 * to as the script resolved it (line-reads.lua), or a JSON object as lines were stored before the
 * compact layout (it holds its own `prev`; `prevHash` is then "").
 */
export function decodeLine(rootId: string, json: string, prevHash: string): ChargeLine {
  const parsed = JSON.parse(json) as CompactLineWire | LineWire;
  if (!Array.isArray(parsed)) return decodeObjectLine(parsed);
  const [, hash, id, wallet, kind, amount, service, over, hold, request, created, meta, gwfail] =
    parsed;
  return {
    id: treeId(rootId, id),
    walletId: treeId(rootId, wallet),
    kind: kind as ChargeKind,
    amount: safeInteger(amount),
    service,
    metadata: meta,
    overBudget: over === 1,
    holdId: hold === "" ? "" : treeId(rootId, hold),
    requestId: request,
    createdAtMs: safeInteger(created),
    hash,
    prevHash,
    ...(gwfail === undefined ? {} : { gatewayFailure: gwfail }),
  };
}

function decodeObjectLine(l: LineWire): ChargeLine {
  return {
    id: l.id,
    walletId: l.wallet,
    kind: l.kind as ChargeKind,
    amount: int(l.amount),
    service: l.service,
    metadata: metadata(l.meta),
    overBudget: l.over === "1",
    holdId: l.hold,
    requestId: l.request,
    createdAtMs: int(l.created),
    hash: l.hash ?? "",
    prevHash: l.prev ?? "",
    ...(l.gwfail === undefined ? {} : { gatewayFailure: l.gwfail }),
  };
}

function safeInteger(n: number): number {
  if (!Number.isSafeInteger(n)) throw new Error(`script reply: ${n} is not a safe integer`);
  return n;
}

/** An event log entry id `<ms>-<seq>`. */
export function decodePosition(id: string): EventPosition {
  const match = /^(\d+)-(\d+)$/.exec(id);
  if (match === null) throw new Error(`script reply: ${JSON.stringify(id)} is not an event id`);
  return { ms: int(match[1] as string), seq: int(match[2] as string) };
}

/** The reply payload of read-events-1.lua, for the tree `rootId`. */
export function decodeEventRead(rootId: string, payload: readonly string[]): EventRead {
  const [scannedTo = "", firstSeq = "", headMs = "", headSeq = "", ...entries] = payload;
  const events: LedgerEvent[] = [];
  for (let i = 0; i < entries.length; i += 4) {
    const [id, json, line, prev] = entries.slice(i, i + 4) as [string, string, string, string];
    events.push(eventFrom(rootId, id, json, line, prev));
  }
  return {
    events,
    scannedTo: scannedTo === "" ? undefined : decodePosition(scannedTo),
    firstSeq: int(firstSeq),
    head: { ms: int(headMs), seq: int(headSeq) },
  };
}

/** An id stored relative to its tree (events.lua `tree_rel`) as the full id. */
function treeId(rootId: string, relative: string): string {
  return relative === "" ? rootId : `${rootId}.${relative}`;
}

function eventFrom(
  rootId: string,
  id: string,
  json: string,
  line: string,
  prevHash: string,
): LedgerEvent {
  const e = JSON.parse(json) as EventWire;
  const [budget, spent, held, allocated, available, totalSpent] = e.b.split(" ").map(int);
  const balances: Balances = {
    budget: budget as number,
    spent: spent as number,
    held: held as number,
    allocated: allocated as number,
    available: available as number,
    totalSpent: totalSpent as number,
  };
  const event: LedgerEvent = {
    ...decodePosition(id),
    rootId,
    kind: e.k as EventKind,
    walletId: treeId(rootId, e.w),
    balances,
  };
  if (e.l !== undefined) event.line = decodeLine(rootId, line, prevHash);
  if (e.o !== undefined) event.holdId = treeId(rootId, e.o);
  if (e.x !== undefined) event.thresholdPercent = e.x;
  return event;
}

/** The receipt JSON of get-receipt-1.lua. */
export function decodeReceipt(json: string): Receipt {
  const r = JSON.parse(json) as ReceiptWire;
  const wallet = walletFrom(r.wallet);
  const callCount = int(r.calls);
  const byService = list(r.by_service).map(rowFrom);
  const byAgent = list(r.by_agent).map(rowFrom);
  return {
    walletId: wallet.id,
    name: wallet.name,
    totalCredits: wallet.totalSpent,
    callCount,
    ownCredits: wallet.spent,
    ownCallCount: int(r.own_calls),
    byService,
    byServiceOther: otherRow(byService, wallet.totalSpent, callCount),
    serviceKeyCount: int(r.service_keys),
    byAgent,
    byAgentOther: otherRow(byAgent, wallet.totalSpent, callCount),
    agentKeyCount: int(r.agent_keys),
    refillCredits: int(r.refill_credits),
    refillCount: int(r.refill_count),
    voidedHoldCredits: int(r.voided_credits),
    voidedHoldCount: int(r.voided_count),
    overBudgetCount: int(r.over_budget_count),
    budget: wallet.budget,
    available: wallet.available,
    children: list(r.children).map(childFrom),
    childCount: int(r.child_count),
  };
}

/** The rows JSON of list-breakdown-1.lua. */
export function decodeBreakdownRows(json: string): Breakdown[] {
  return list(JSON.parse(json) as LuaList<RowWire>).map(rowFrom);
}

/** The children JSON of list-child-receipts-1.lua. */
export function decodeChildReceipts(json: string): ChildReceipt[] {
  return list(JSON.parse(json) as LuaList<ChildWire>).map(childFrom);
}

function rowFrom(row: RowWire): Breakdown {
  return { key: row.key, credits: int(row.credits), callCount: int(row.calls) };
}

function childFrom({ wallet, calls }: ChildWire): ChildReceipt {
  const c = walletFrom(wallet);
  return {
    walletId: c.id,
    name: c.name,
    budget: c.budget,
    totalCredits: c.totalSpent,
    callCount: int(calls),
    available: c.available,
    status: c.status,
    exhausted: c.exhausted,
  };
}
