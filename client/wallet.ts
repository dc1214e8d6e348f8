import type { Wallet as WalletMessage } from "../gen/ts-proto/tollgate/v1/wallet.js";
import { WalletStatus } from "../gen/ts-proto/tollgate/v1/wallet.js";
import {
  AddCreditsRequest,
  CloseWalletRequest,
  CreateWalletRequest,
} from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import { type Amount, toCount, toCredits } from "./amount.js";
import { required, toCharge, toReceipt } from "./convert.js";
import { type ClientCore, pages } from "./core.js";
import {
  type EventWatch,
  type ListEventsOptions,
  listEvents,
  type WalletEvent,
  type WatchOptions,
  watchEvents,
} from "./events.js";
import type { GatewayCallOptions } from "./gateway.js";
import { checkMetadata, checkName } from "./limits.js";
import { checkMessageSize } from "./message-size.js";
import { requestIdOf } from "./operations.js";
import type { CallOptions, Mode } from "./options.js";
import {
  type BreakdownBy,
  breakdownPages,
  childReceiptPages,
  type ReceiptPageInput,
} from "./receipt-pages.js";
import type {
  Authorization,
  AuthorizeOptions,
  Breakdown,
  CaptureOptions,
  CaptureResult,
  Charge,
  ChildReceipt,
  Receipt,
  SpendOptions,
  SpendResult,
  VoidResult,
} from "./types.js";

/** What a new wallet (root or child) is made of. */
export interface CreateWalletInput {
  /** 0..128 characters. */
  name?: string;
  /** Initial budget; for a child it is carved out of the parent's available credits. */
  budget: Amount;
  /** Default true (a child: the parent's setting). A hard-capped parent's children must be hard-capped. */
  hardCap?: boolean;
  /** At most 16 keys, key up to 64 and value up to 256 characters. */
  metadata?: Record<string, string>;
  /**
   * Percentages of the budget (1..1000, at most 10) at which a `threshold_crossed` event is
   * emitted as the subtree's debits reach them. Default 50, 80, 100.
   */
  alertThresholds?: number[];
}

/** Options of {@link Wallet.listCharges}. */
export interface ListChargesInput {
  /** Also list the lines of every descendant. Default false. */
  includeDescendants?: boolean;
  /** Lines per page, 1..1000; default (0) 100. */
  pageSize?: number;
}

/**
 * A handle on one wallet. Balance fields are a snapshot from the last response that carried the
 * wallet; `refresh()` re-reads it. Handles come from `tg.wallets` (create, get, list) and
 * `createChild`; they are cheap, and many handles on one wallet are fine.
 */
export class Wallet {
  readonly id: string;
  readonly name: string;
  /** Empty for a root. */
  readonly parentId: string;
  /** The root of this wallet's tree (its own id for a root). */
  readonly rootId: string;
  /** 1 for a root. */
  readonly depth: number;
  readonly hardCap: boolean;
  readonly metadata: Record<string, string>;
  readonly createdAt: Date;
  /** Percentages of the budget that emit `threshold_crossed` events, ascending. */
  readonly alertThresholds: readonly number[];
  /** Credits granted: the initial budget plus every addCredits. */
  budget!: bigint;
  /** Posted debits by this wallet itself. */
  spent!: bigint;
  /** Open holds by this wallet itself. */
  held!: bigint;
  /** budget - spent - held - allocated - settled; negative only for soft caps. */
  available!: bigint;
  /** Posted debits of this wallet and all of its descendants. */
  totalSpent!: bigint;
  /** Budgets carved out to open children. */
  allocated!: bigint;
  /** What closed children consumed. */
  settled!: bigint;
  closed!: boolean;
  /** Nothing in this subtree can spend any more (own available <= 0, every open child exhausted). */
  exhausted!: boolean;

  /** @internal Use `tg.wallets` or {@link Wallet.createChild}. */
  constructor(
    private readonly core: ClientCore,
    message: WalletMessage,
    /** The mode this handle's spend/authorize/capture/void go over. */
    readonly mode: Mode,
  ) {
    this.id = message.id;
    this.name = message.name;
    this.parentId = message.parentId;
    this.rootId = message.rootId;
    this.depth = message.depth;
    this.hardCap = message.hardCap;
    this.metadata = { ...message.metadata };
    this.createdAt = required(message.createdAt, "wallet.created_at");
    this.alertThresholds = [...message.alertThresholds];
    this.apply(message);
  }

  /**
   * Debits `amount` before a tool runs and returns the SPEND line and a short-lived credential.
   * Updates `available` from the answer's `remaining`.
   * @throws InsufficientCreditsError when a hard cap would be crossed (nothing is charged).
   */
  async spend(amount: Amount, options: SpendOptions): Promise<SpendResult> {
    const result = await this.core.operations(this.mode).spend(this.id, amount, options);
    this.available = result.remaining;
    return result;
  }

  /** Reserves up to `amount`; the returned Authorization captures or voids the hold. */
  async authorize(amount: Amount, options: AuthorizeOptions): Promise<Authorization> {
    const operations = this.core.operations(this.mode);
    const result = await operations.authorize(this.id, amount, options);
    this.available = result.remaining;
    const holdId = result.hold.id;
    return {
      ...result,
      capture: (captured, captureOptions) => this.capture(holdId, captured, captureOptions),
      void: (voidOptions) => this.void(holdId, voidOptions),
    };
  }

  /** Posts `amount` (at most the hold's) and releases the rest of the hold. */
  async capture(holdId: string, amount: Amount, options?: CaptureOptions): Promise<CaptureResult> {
    const result = await this.core.operations(this.mode).capture(holdId, amount, options);
    if (result.hold.walletId === this.id) this.available = result.remaining;
    return result;
  }

  /** Releases a hold without charging anything. */
  async void(holdId: string, options?: CallOptions): Promise<VoidResult> {
    const result = await this.core.operations(this.mode).void(holdId, options);
    if (result.hold.walletId === this.id) this.available = result.remaining;
    return result;
  }

  /**
   * A paid call through tollgate's gateway, charged to this wallet at the catalog's price with
   * the client's API key: `tg.gateway.fetch(service, path, init, { wallet: this, ...options })`
   * (see `tg.gateway.fetch`). The gateway's answer does not carry the balance, so `available`
   * is not updated; `refresh()` re-reads it.
   */
  gatewayFetch(
    service: string,
    path: string,
    init?: RequestInit,
    options: Omit<GatewayCallOptions, "wallet" | "credential"> = {},
  ): Promise<Response> {
    return this.core.gateway.fetch(service, path, init, { ...options, wallet: this.id });
  }

  /** Carves a child out of this wallet's available credits, in one atomic step. */
  async createChild(input: CreateWalletInput, options?: CallOptions): Promise<Wallet> {
    return createWallet(this.core, this.id, input, options, this.mode);
  }

  /**
   * Adds credits: a top-up on a root (a REFILL line), drawn from the parent on a child (fails
   * with InsufficientCreditsError naming the parent when it lacks them). Returns this, refreshed.
   */
  async addCredits(
    amount: Amount,
    options?: CallOptions & { metadata?: Record<string, string> },
  ): Promise<this> {
    const request = checkMessageSize(AddCreditsRequest, {
      walletId: this.id,
      amount: toCredits("amount", amount),
      requestId: requestIdOf(options),
      metadata: checkMetadata(options?.metadata),
    });
    const { wallets } = this.core;
    const response = await this.core.invoker.call(wallets, wallets.addCredits, request, options, {
      requestId: request.requestId,
      walletId: this.id,
    });
    this.apply(required(response.wallet, "wallet"));
    return this;
  }

  /**
   * Every row of this wallet's receipt breakdown by service or by agent, most credits first
   * (ties by name), one page per iteration.
   */
  listBreakdown(
    by: BreakdownBy,
    input: ReceiptPageInput = {},
    options?: CallOptions,
  ): AsyncIterable<Breakdown[]> {
    return breakdownPages(this.core, this.id, by, input, options);
  }

  /** Every direct child's receipt summary, in creation order, one page per iteration. */
  listChildReceipts(
    input: ReceiptPageInput = {},
    options?: CallOptions,
  ): AsyncIterable<ChildReceipt[]> {
    return childReceiptPages(this.core, this.id, input, options);
  }

  /**
   * Totals for this wallet and its subtree: the top rows of each breakdown and the first children
   * (see {@link Receipt}).
   */
  async getReceipt(options?: CallOptions): Promise<Receipt> {
    const { receipts } = this.core;
    const response = await this.core.invoker.call(
      receipts,
      receipts.getReceipt,
      { walletId: this.id },
      options,
      { walletId: this.id },
    );
    return toReceipt(required(response.receipt, "receipt"));
  }

  /**
   * Re-reads the wallet; true when nothing can be spent: it is closed, or the server reports it
   * exhausted (own available <= 0 and every open child exhausted; a soft-capped wallet can still
   * spend past that, flagged over budget).
   */
  async isExhausted(options?: CallOptions): Promise<boolean> {
    await this.refresh(options);
    return this.closed || this.exhausted;
  }

  /**
   * Closes this wallet and its open descendants, voids their open holds and returns the unspent
   * remainder to the parent: `returned` (negative when a soft-capped subtree overspent; 0n for a
   * root).
   */
  async close(options?: CallOptions): Promise<{ returned: bigint }> {
    const request = checkMessageSize(CloseWalletRequest, {
      walletId: this.id,
      requestId: requestIdOf(options),
    });
    const { wallets } = this.core;
    const response = await this.core.invoker.call(wallets, wallets.closeWallet, request, options, {
      requestId: request.requestId,
      walletId: this.id,
    });
    this.apply(required(response.wallet, "wallet"));
    return { returned: response.returned };
  }

  /** Re-reads the wallet's balances into this handle. */
  async refresh(options?: CallOptions): Promise<this> {
    const { wallets } = this.core;
    const response = await this.core.invoker.call(
      wallets,
      wallets.getWallet,
      { walletId: this.id },
      options,
      { walletId: this.id },
    );
    this.apply(required(response.wallet, "wallet"));
    return this;
  }

  /** The same wallet whose spend/authorize/capture/void go over the given mode (shares the client). */
  using(mode: Mode): Wallet {
    const handle = new Wallet(this.core, this.snapshot, mode);
    // The one field updated outside a full wallet message (from a spend's `remaining`).
    handle.available = this.available;
    return handle;
  }

  /**
   * This wallet's receipt lines (with its descendants' when asked), oldest first, one page per
   * iteration. The client accepts responses up to 32 MiB, the server's own limit, so any valid
   * page size works even with heavy metadata.
   */
  listCharges(input: ListChargesInput = {}, options?: CallOptions): AsyncIterable<Charge[]> {
    const pageSize = toCount("page_size", input.pageSize);
    const { receipts } = this.core;
    return pages(async (pageToken) => {
      const request = {
        walletId: this.id,
        includeDescendants: input.includeDescendants ?? false,
        pageSize,
        pageToken,
      };
      const response = await this.core.invoker.call(
        receipts,
        receipts.listCharges,
        request,
        options,
        { walletId: this.id },
      );
      return { items: response.charges.map(toCharge), nextPageToken: response.nextPageToken };
    });
  }

  /**
   * This wallet's subtree's events as they commit: an async iterator that reconnects after a
   * broken stream (server restart, network cut) and resumes after the last cursor, so it yields
   * every committed event once, in commit order. Starts with the next event, or after
   * `options.after`. Ends when `options.signal` aborts or the loop breaks.
   *
   * ```ts
   * for await (const e of wallet.watch({ kinds: ["SPEND", "THRESHOLD_CROSSED"] })) { ... }
   * ```
   */
  watch(options?: WatchOptions): EventWatch {
    return watchEvents(this.core, this.id, options);
  }

  /** One page of this subtree's events (from the oldest retained, or after `options.after`). */
  listEvents(options?: ListEventsOptions): Promise<{ events: WalletEvent[]; nextCursor: string }> {
    return listEvents(this.core, this.id, options);
  }

  private snapshot!: WalletMessage;

  private apply(message: WalletMessage): void {
    this.snapshot = message;
    this.budget = message.budget;
    this.spent = message.spent;
    this.held = message.held;
    this.available = message.available;
    this.totalSpent = message.totalSpent;
    this.allocated = message.allocated;
    this.settled = message.settled;
    this.closed = message.status === WalletStatus.WALLET_STATUS_CLOSED;
    this.exhausted = message.exhausted;
  }
}

/**
 * Creates a root (`parentId` "") or a child, and returns a handle on it in `mode`. Shared by
 * `tg.wallets.create` and {@link Wallet.createChild}.
 */
export async function createWallet(
  core: ClientCore,
  parentId: string,
  input: CreateWalletInput,
  options: CallOptions | undefined,
  mode: Mode,
): Promise<Wallet> {
  const request = checkMessageSize(CreateWalletRequest, {
    parentId,
    name: checkName(input.name),
    budget: toCredits("budget", input.budget),
    hardCap: input.hardCap,
    metadata: checkMetadata(input.metadata),
    requestId: requestIdOf(options),
    alertThresholds: input.alertThresholds ?? [],
  });
  const { wallets } = core;
  const response = await core.invoker.call(wallets, wallets.createWallet, request, options, {
    requestId: request.requestId,
    walletId: parentId === "" ? undefined : parentId,
  });
  return new Wallet(core, required(response.wallet, "wallet"), mode);
}
