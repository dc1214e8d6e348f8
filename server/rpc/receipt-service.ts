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
import type { RpcDependencies, UnaryBody } from "./bodies.js";
import {
  breakdownToMessage,
  chargeToMessage,
  childReceiptToMessage,
  receiptToMessage,
} from "./codec.js";
import { unaryCall } from "./unary-call.js";

/** The transport-neutral bodies of ReceiptService. */
export interface ReceiptServiceBodies {
  getReceipt: UnaryBody<GetReceiptRequest, GetReceiptResponse>;
  listBreakdown: UnaryBody<ListBreakdownRequest, ListBreakdownResponse>;
  listChildReceipts: UnaryBody<ListChildReceiptsRequest, ListChildReceiptsResponse>;
  listCharges: UnaryBody<ListChargesRequest, ListChargesResponse>;
}

/**
 * The bodies of tollgate.v1.ReceiptService (decode -> ledger -> encode), served by grpc-js
 * ({@link receiptServiceHandlers}) and by the HTTP face alike. Receipts are read from aggregates
 * the store maintains with every debit, so these calls never scan lines.
 */
export function receiptServiceBodies(deps: Pick<RpcDependencies, "ledger">): ReceiptServiceBodies {
  const { ledger } = deps;
  return {
    async getReceipt(req, { project }) {
      const receipt = await ledger.getReceipt(project, { walletId: req.walletId });
      return { receipt: receiptToMessage(receipt) };
    },

    async listBreakdown(req, { project }) {
      const page = await ledger.listBreakdown(project, {
        walletId: req.walletId,
        // UNSPECIFIED (or an unknown value) stays invalid: the ledger names the field.
        dimension: dimensionNames[req.dimension] ?? "",
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { rows: page.items.map(breakdownToMessage), nextPageToken: page.nextPageToken };
    },

    async listChildReceipts(req, { project }) {
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

    async listCharges(req, { project }) {
      const page = await ledger.listCharges(project, {
        walletId: req.walletId,
        includeDescendants: req.includeDescendants,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { charges: page.items.map(chargeToMessage), nextPageToken: page.nextPageToken };
    },
  };
}

/** grpc-js handlers of tollgate.v1.ReceiptService: the bodies above. */
export function receiptServiceHandlers(deps: RpcDependencies): ReceiptServiceServer {
  const bodies = receiptServiceBodies(deps);
  return {
    getReceipt: unaryCall("GetReceipt", deps, bodies.getReceipt),
    listBreakdown: unaryCall("ListBreakdown", deps, bodies.listBreakdown),
    listChildReceipts: unaryCall("ListChildReceipts", deps, bodies.listChildReceipts),
    listCharges: unaryCall("ListCharges", deps, bodies.listCharges),
  };
}

const dimensionNames: Partial<Record<BreakdownDimension, string>> = {
  [BreakdownDimension.BREAKDOWN_DIMENSION_SERVICE]: "service",
  [BreakdownDimension.BREAKDOWN_DIMENSION_AGENT]: "agent",
};
