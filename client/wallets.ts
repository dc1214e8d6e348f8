import { toCount } from "./amount.js";
import { required } from "./convert.js";
import { type ClientCore, pages } from "./core.js";
import type { CallOptions } from "./options.js";
import { type CreateWalletInput, createWallet, Wallet } from "./wallet.js";

/** Options of {@link Wallets.list}. */
export interface ListWalletsInput {
  /** List this wallet's children; omitted lists the caller's root wallets. */
  parentId?: string;
  /** Wallets per page, 1..1000; default (0) 100. */
  pageSize?: number;
}

/** Wallet handles: create a root, get one by id, list roots or children. */
export interface Wallets {
  /** Creates a root wallet (a task wallet) with its budget. */
  create(input: CreateWalletInput, options?: CallOptions): Promise<Wallet>;
  /** A handle on an existing wallet, with its balances as they are now. */
  get(walletId: string, options?: CallOptions): Promise<Wallet>;
  /** Pages of the caller's root wallets, or of `parentId`'s children, in creation order. */
  list(input?: ListWalletsInput, options?: CallOptions): AsyncIterable<Wallet[]>;
}

/** {@link Wallets} over the client's unary calls; handles use the client's default mode. */
export class WalletDirectory implements Wallets {
  constructor(private readonly core: ClientCore) {}

  create(input: CreateWalletInput, options?: CallOptions): Promise<Wallet> {
    return createWallet(this.core, "", input, options, this.core.mode);
  }

  async get(walletId: string, options?: CallOptions): Promise<Wallet> {
    const { wallets } = this.core;
    const response = await this.core.invoker.call(
      wallets,
      wallets.getWallet,
      { walletId },
      options,
      { walletId },
    );
    return new Wallet(this.core, required(response.wallet, "wallet"), this.core.mode);
  }

  list(input: ListWalletsInput = {}, options?: CallOptions): AsyncIterable<Wallet[]> {
    const pageSize = toCount("page_size", input.pageSize);
    const parentId = input.parentId ?? "";
    const { wallets } = this.core;
    return pages(async (pageToken) => {
      const response = await this.core.invoker.call(
        wallets,
        wallets.listWallets,
        { parentId, pageSize, pageToken },
        options,
        { walletId: parentId === "" ? undefined : parentId },
      );
      return {
        items: response.wallets.map((w) => new Wallet(this.core, w, this.core.mode)),
        nextPageToken: response.nextPageToken,
      };
    });
  }
}
