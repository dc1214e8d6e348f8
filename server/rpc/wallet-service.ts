import type { handleBidiStreamingCall } from "@grpc/grpc-js";
import {
  type AddCreditsRequest,
  type AddCreditsResponse,
  type CloseWalletRequest,
  type CloseWalletResponse,
  type CreateWalletRequest,
  type CreateWalletResponse,
  type GetWalletRequest,
  type GetWalletResponse,
  type ListWalletsRequest,
  type ListWalletsResponse,
  type SpendStreamResponse,
  type WalletServiceServer,
  WalletServiceService,
} from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { walletToMessage } from "./codec.js";
import { spendOperations } from "./spend-operations.js";
import { spendStreamCall, spendStreamMethod } from "./spend-stream.js";
import { type RpcDependencies, unaryCall } from "./unary-call.js";

/**
 * tollgate.v1.WalletService as registered: the generated definition, except SpendStream, whose
 * handler decodes its own messages ({@link spendStreamMethod} says why).
 */
export const walletServiceDefinition = {
  ...WalletServiceService,
  spendStream: spendStreamMethod,
} as const;

/** The generated server interface, with SpendStream taking the raw bytes it decodes itself. */
export type WalletServiceHandlers = {
  [K in keyof WalletServiceServer as string extends K ? never : K]: K extends "spendStream"
    ? handleBidiStreamingCall<Buffer, SpendStreamResponse>
    : WalletServiceServer[K];
};

/**
 * grpc-js handlers of tollgate.v1.WalletService. Each one only decodes the request into the
 * ledger's input, calls the ledger, and encodes the result: limits, caps, idempotency and project
 * scoping all live in the ledger and its store. Amounts go through as `bigint`; the ledger
 * validates them (and rejects anything past 2^53 - 1). Spend, Authorize, Capture and Void share
 * their bodies with SpendStream ({@link spendOperations}).
 */
export function walletServiceHandlers(deps: RpcDependencies): WalletServiceHandlers {
  const { ledger } = deps;
  const operations = spendOperations(ledger);
  return {
    createWallet: unaryCall<CreateWalletRequest, CreateWalletResponse>(
      "CreateWallet",
      deps,
      async (req, { project }) => {
        const wallet = await ledger.createWallet(project, {
          parentId: req.parentId,
          name: req.name,
          budget: req.budget,
          hardCap: req.hardCap,
          metadata: req.metadata,
          requestId: req.requestId,
          alertThresholds: req.alertThresholds,
        });
        return { wallet: walletToMessage(wallet) };
      },
    ),

    getWallet: unaryCall<GetWalletRequest, GetWalletResponse>(
      "GetWallet",
      deps,
      async (req, { project }) => {
        const wallet = await ledger.getWallet(project, { walletId: req.walletId });
        return { wallet: walletToMessage(wallet) };
      },
    ),

    listWallets: unaryCall<ListWalletsRequest, ListWalletsResponse>(
      "ListWallets",
      deps,
      async (req, { project }) => {
        const page = await ledger.listWallets(project, {
          parentId: req.parentId,
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return { wallets: page.items.map(walletToMessage), nextPageToken: page.nextPageToken };
      },
    ),

    addCredits: unaryCall<AddCreditsRequest, AddCreditsResponse>(
      "AddCredits",
      deps,
      async (req, { project }) => {
        const wallet = await ledger.addCredits(project, {
          walletId: req.walletId,
          amount: req.amount,
          metadata: req.metadata,
          requestId: req.requestId,
        });
        return { wallet: walletToMessage(wallet) };
      },
    ),

    closeWallet: unaryCall<CloseWalletRequest, CloseWalletResponse>(
      "CloseWallet",
      deps,
      async (req, { project }) => {
        const closed = await ledger.closeWallet(project, {
          walletId: req.walletId,
          requestId: req.requestId,
        });
        return { wallet: walletToMessage(closed.wallet), returned: BigInt(closed.returned) };
      },
    ),

    spend: unaryCall("Spend", deps, operations.spend),
    authorize: unaryCall("Authorize", deps, operations.authorize),
    capture: unaryCall("Capture", deps, operations.capture),
    void: unaryCall("Void", deps, operations.void),
    spendStream: spendStreamCall(deps, operations),
  };
}
