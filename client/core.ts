import type { EventServiceClient } from "../gen/ts-proto/tollgate/v1/event_service.js";
import type { ReceiptServiceClient } from "../gen/ts-proto/tollgate/v1/receipt_service.js";
import type { WalletServiceClient } from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import type { GatewayFetcher } from "./gateway.js";
import type { SpendOperations } from "./operations.js";
import type { Mode, RetryOptions } from "./options.js";
import type { UnaryInvoker } from "./unary.js";

/**
 * What every Wallet handle shares with the client that made it: one channel (two generated
 * stubs over it), the unary call policy, and the operations of each mode (the stream opened on
 * first use). Internal: callers get handles from `tg.wallets`.
 */
export interface ClientCore {
  readonly invoker: UnaryInvoker;
  readonly wallets: WalletServiceClient;
  readonly receipts: ReceiptServiceClient;
  readonly events: EventServiceClient;
  /** Paid calls through the gateway (`tg.gateway`, `wallet.gatewayFetch`). */
  readonly gateway: GatewayFetcher;
  /** Backoff policy, which watches use between reconnects too. */
  readonly retry: Required<RetryOptions>;
  /** The mode new handles use unless told otherwise. */
  readonly mode: Mode;
  /** Spend/authorize/capture/void over `mode`. */
  operations(mode: Mode): SpendOperations;
}

/**
 * Pages of a listing RPC as an async iterator: each `next()` is one call (with the call policy),
 * until the server returns an empty `next_page_token`. Empty pages are skipped, so a loop over
 * an empty listing runs zero times.
 */
export async function* pages<T>(
  fetch: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): AsyncGenerator<T[], void, undefined> {
  let token = "";
  do {
    const page = await fetch(token);
    if (page.items.length > 0) yield page.items;
    token = page.nextPageToken;
  } while (token !== "");
}
