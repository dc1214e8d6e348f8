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
import type { RpcDependencies, UnaryBody } from "./bodies.js";
import { walletToMessage } from "./codec.js";
import { type SpendOperations, spendOperations } from "./spend-operations.js";
import { spendStreamCall, spendStreamMethod } from "./spend-stream.js";
import { unaryCall } from "./unary-call.js";

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

/** The transport-neutral bodies of WalletService's unary methods (SpendStream is grpc-js only). */
export interface WalletServiceBodies extends SpendOperations {
  createWallet: UnaryBody<CreateWalletRequest, CreateWalletResponse>;
  getWallet: UnaryBody<GetWalletRequest, GetWalletResponse>;
  listWallets: UnaryBody<ListWalletsRequest, ListWalletsResponse>;
  addCredits: UnaryBody<AddCreditsRequest, AddCreditsResponse>;
  closeWallet: UnaryBody<CloseWalletRequest, CloseWalletResponse>;
}

/**
 * The bodies of tollgate.v1.WalletService, served by grpc-js ({@link walletServiceHandlers}) and
 * by the HTTP face alike. Each one only decodes the request into the ledger's input, calls the
 * ledger, and encodes the result: limits, caps, idempotency and project scoping all live in the
 * ledger and its store. Amounts go through as `bigint`; the ledger validates them (and rejects
 * anything past 2^53 - 1). Spend, Authorize, Capture and Void are shared with SpendStream
 * ({@link spendOperations}).
 */
export function walletServiceBodies(deps: Pick<RpcDependencies, "ledger">): WalletServiceBodies {
  const { ledger } = deps;
  return {
    async createWallet(req, { project }) {
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

    async getWallet(req, { project }) {
      const wallet = await ledger.getWallet(project, { walletId: req.walletId });
      return { wallet: walletToMessage(wallet) };
    },

    async listWallets(req, { project }) {
      const page = await ledger.listWallets(project, {
        parentId: req.parentId,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { wallets: page.items.map(walletToMessage), nextPageToken: page.nextPageToken };
    },

    async addCredits(req, { project }) {
      const wallet = await ledger.addCredits(project, {
        walletId: req.walletId,
        amount: req.amount,
        metadata: req.metadata,
        requestId: req.requestId,
      });
      return { wallet: walletToMessage(wallet) };
    },

    async closeWallet(req, { project }) {
      const closed = await ledger.closeWallet(project, {
        walletId: req.walletId,
        requestId: req.requestId,
      });
      return { wallet: walletToMessage(closed.wallet), returned: BigInt(closed.returned) };
    },

    ...spendOperations(ledger),
  };
}

/** grpc-js handlers of tollgate.v1.WalletService: the bodies above, and SpendStream. */
export function walletServiceHandlers(deps: RpcDependencies): WalletServiceHandlers {
  const bodies = walletServiceBodies(deps);
  return {
    createWallet: unaryCall("CreateWallet", deps, bodies.createWallet),
    getWallet: unaryCall("GetWallet", deps, bodies.getWallet),
    listWallets: unaryCall("ListWallets", deps, bodies.listWallets),
    addCredits: unaryCall("AddCredits", deps, bodies.addCredits),
    closeWallet: unaryCall("CloseWallet", deps, bodies.closeWallet),
    spend: unaryCall("Spend", deps, bodies.spend),
    authorize: unaryCall("Authorize", deps, bodies.authorize),
    capture: unaryCall("Capture", deps, bodies.capture),
    void: unaryCall("Void", deps, bodies.void),
    spendStream: spendStreamCall(deps, bodies),
  };
}
