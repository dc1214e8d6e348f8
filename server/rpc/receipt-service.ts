import type {
  GetReceiptRequest,
  GetReceiptResponse,
  ListChargesRequest,
  ListChargesResponse,
  ReceiptServiceServer,
} from "../../gen/ts-proto/tollgate/v1/receipt_service.js";
import { chargeToMessage, receiptToMessage } from "./codec.js";
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
