import { BreakdownDimension } from "../gen/ts-proto/tollgate/v1/receipt_service.js";
import { toCount } from "./amount.js";
import { toBreakdown, toChildReceipt } from "./convert.js";
import { type ClientCore, pages } from "./core.js";
import type { CallOptions } from "./options.js";
import type { Breakdown, ChildReceipt } from "./types.js";

/**
 * The parts of a receipt that page: a receipt carries only the top rows of each breakdown and
 * its first children (so it stays small however wide a tree grows); these read all of them.
 */

/** Options of `Wallet.listBreakdown` and `Wallet.listChildReceipts`. */
export interface ReceiptPageInput {
  /** Rows per page, 1..1000; default (0) 100. */
  pageSize?: number;
}

/** Which breakdown of a receipt: by service name, or by agent name (the wallet's, by default). */
export type BreakdownBy = "service" | "agent";

const dimensions: Record<BreakdownBy, BreakdownDimension> = {
  service: BreakdownDimension.BREAKDOWN_DIMENSION_SERVICE,
  agent: BreakdownDimension.BREAKDOWN_DIMENSION_AGENT,
};

/** Every row of one breakdown of `walletId`'s receipt, most credits first, one page each. */
export function breakdownPages(
  core: ClientCore,
  walletId: string,
  by: BreakdownBy,
  input: ReceiptPageInput,
  options: CallOptions | undefined,
): AsyncIterable<Breakdown[]> {
  const pageSize = toCount("page_size", input.pageSize);
  const { receipts } = core;
  return pages(async (pageToken) => {
    const request = { walletId, dimension: dimensions[by], pageSize, pageToken };
    const response = await core.invoker.call(receipts, receipts.listBreakdown, request, options, {
      walletId,
    });
    return { items: response.rows.map(toBreakdown), nextPageToken: response.nextPageToken };
  });
}

/** Every direct child of `walletId` as its receipt summarises it, creation order, one page each. */
export function childReceiptPages(
  core: ClientCore,
  walletId: string,
  input: ReceiptPageInput,
  options: CallOptions | undefined,
): AsyncIterable<ChildReceipt[]> {
  const pageSize = toCount("page_size", input.pageSize);
  const { receipts } = core;
  return pages(async (pageToken) => {
    const request = { walletId, pageSize, pageToken };
    const response = await core.invoker.call(
      receipts,
      receipts.listChildReceipts,
      request,
      options,
      { walletId },
    );
    return {
      items: response.children.map(toChildReceipt),
      nextPageToken: response.nextPageToken,
    };
  });
}
