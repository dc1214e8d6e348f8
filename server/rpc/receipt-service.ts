import {
  BreakdownDimension,
  type GetReceiptRequest,
  type GetReceiptResponse,
  type ListBreakdownRequest,
  type ListBreakdownResponse,
  type ListChargesRequest,
  type ListChargesResponse,
  type ListChildReceiptsRequest,
  type ListChildReceiptsResponse,
  type ReceiptServiceServer,
} from "../../gen/ts-proto/tollgate/v1/receipt_service.js";
import {
  breakdownToMessage,
  chargeToMessage,
  childReceiptToMessage,
  receiptToMessage,
} from "./codec.js";
import { type RpcDependencies, unaryCall } from "./unary-call.js";

/**
 * grpc-js handlers of tollgate.v1.ReceiptService: decode -> ledger -> encode. Receipts are read
 * from aggregates the store maintains with every debit, so these calls never scan lines.
 */
export function receiptServiceHandlers(deps: RpcDependencies): ReceiptServiceServer {
  const { ledger } = deps;
  return {
    getReceipt: unaryCall<GetReceiptRequest, GetReceiptResponse>(
      "GetReceipt",
      deps,
      async (req, { project }) => {
        const receipt = await ledger.getReceipt(project, { walletId: req.walletId });
        return { receipt: receiptToMessage(receipt) };
      },
    ),

    listBreakdown: unaryCall<ListBreakdownRequest, ListBreakdownResponse>(
      "ListBreakdown",
      deps,
      async (req, { project }) => {
        const page = await ledger.listBreakdown(project, {
          walletId: req.walletId,
          // UNSPECIFIED (or an unknown value) stays invalid: the ledger names the field.
          dimension: dimensionNames[req.dimension] ?? "",
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return { rows: page.items.map(breakdownToMessage), nextPageToken: page.nextPageToken };
      },
    ),

    listChildReceipts: unaryCall<ListChildReceiptsRequest, ListChildReceiptsResponse>(
      "ListChildReceipts",
      deps,
      async (req, { project }) => {
        const page = await ledger.listChildReceipts(project, {
          walletId: req.walletId,
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return {
          children: page.items.map(childReceiptToMessage),
          nextPageToken: page.nextPageToken,
        };
      },
    ),

    listCharges: unaryCall<ListChargesRequest, ListChargesResponse>(
      "ListCharges",
      deps,
      async (req, { project }) => {
        const page = await ledger.listCharges(project, {
          walletId: req.walletId,
          includeDescendants: req.includeDescendants,
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return { charges: page.items.map(chargeToMessage), nextPageToken: page.nextPageToken };
      },
    ),
  };
}

const dimensionNames: Partial<Record<BreakdownDimension, string>> = {
  [BreakdownDimension.BREAKDOWN_DIMENSION_SERVICE]: "service",
  [BreakdownDimension.BREAKDOWN_DIMENSION_AGENT]: "agent",
};
