/**
 * Which budgeted tools of this process are bound to which wallet, at which price, and what the
 * ledger last said about that wallet when it answered their charges. A stop condition reads it to
 * tell whether a wallet can still pay for any of its tools without asking the server every step.
 *
 * A binding is held only by its tool (through the tool's resolved budget), so a tool that is
 * dropped drops out here too: a process that makes a wallet and a few tools per task does not
 * accumulate them.
 */

/** What the ledger last answered about a wallet's balance, in the order answers were heard. */
export interface Heard {
  available: bigint;
  /** A charge failed WALLET_CLOSED, or a re-read found the wallet closed. */
  closed: boolean;
  /** Increases with every answer heard in this process: the highest is the latest. */
  seq: number;
}

/** One budgeted tool bound to a wallet. */
export interface ToolBinding {
  readonly walletId: string;
  readonly toolName: string;
  /**
   * The credits one call holds or spends: its fixed `price`, or its fixed `maxPrice` (what is
   * held, whatever it then costs). Undefined when the price is computed from each call's input.
   */
  readonly price: bigint | undefined;
  /** The wallet's balance from the latest answer to one of this tool's charges. */
  heard: Heard | undefined;
}

const byWallet = new Map<string, Set<WeakRef<ToolBinding>>>();

const dropped = new FinalizationRegistry<{ walletId: string; ref: WeakRef<ToolBinding> }>(
  ({ walletId, ref }) => {
    const refs = byWallet.get(walletId);
    refs?.delete(ref);
    if (refs?.size === 0) byWallet.delete(walletId);
  },
);

/** The binding of each budgeted tool object, for a stop condition given a loop's own tools. */
const ofTool = new WeakMap<object, ToolBinding>();

let answers = 0;

/**
 * Registers a budgeted tool of `walletId`. The caller keeps the binding alive for as long as the
 * tool lives (it is part of the tool's resolved budget).
 */
export function bindTool(
  walletId: string,
  toolName: string,
  price: bigint | undefined,
): ToolBinding {
  const binding: ToolBinding = { walletId, toolName, price, heard: undefined };
  const ref = new WeakRef(binding);
  let refs = byWallet.get(walletId);
  if (refs === undefined) {
    refs = new Set();
    byWallet.set(walletId, refs);
  }
  refs.add(ref);
  dropped.register(binding, { walletId, ref });
  return binding;
}

/** The live bindings of `walletId`: every budgeted tool of this process that charges it. */
export function bindingsOf(walletId: string): ToolBinding[] {
  const live: ToolBinding[] = [];
  for (const ref of byWallet.get(walletId) ?? []) {
    const binding = ref.deref();
    if (binding !== undefined) live.push(binding);
  }
  return live;
}

/** Marks `tool` (what an adapter hands the framework) as the budgeted tool of `binding`. */
export function markTool<T extends object>(tool: T, binding: ToolBinding): T {
  ofTool.set(tool, binding);
  return tool;
}

/** The binding of a budgeted tool, or undefined for anything else (an unbudgeted tool). */
export function bindingOfTool(tool: unknown): ToolBinding | undefined {
  if ((typeof tool !== "object" && typeof tool !== "function") || tool === null) return undefined;
  return ofTool.get(tool);
}

/** A balance answered now: later than every answer heard before it. */
export function heardNow(available: bigint, closed: boolean): Heard {
  answers += 1;
  return { available, closed, seq: answers };
}

/** Records what the ledger just answered about the binding's wallet. */
export function hear(binding: ToolBinding, available: bigint, closed = false): void {
  binding.heard = heardNow(available, closed);
}

/** The latest of several answers (undefined entries are ones never heard). */
export function latest(heard: Iterable<Heard | undefined>): Heard | undefined {
  let newest: Heard | undefined;
  for (const answer of heard) {
    if (answer !== undefined && (newest === undefined || answer.seq > newest.seq)) newest = answer;
  }
  return newest;
}
