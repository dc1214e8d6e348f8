import type {
  AddCreditsRequest,
  AddCreditsResponse,
  AuthorizeRequest,
  AuthorizeResponse,
  CaptureRequest,
  CaptureResponse,
  CloseWalletRequest,
  CloseWalletResponse,
  CreateWalletRequest,
  CreateWalletResponse,
  GetWalletRequest,
  GetWalletResponse,
  ListWalletsRequest,
  ListWalletsResponse,
  SpendRequest,
  SpendResponse,
  VoidRequest,
  VoidResponse,
  WalletServiceServer,
} from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { chargeToMessage, holdToMessage, walletToMessage } from "./codec.js";
import { type RpcDependencies, unaryCall } from "./unary-call.js";

/**
 * grpc-js handlers of tollgate.v1.WalletService. Each one only decodes the request into the
 * ledger's input, calls the ledger, and encodes the result: limits, caps, idempotency and project
 * scoping all live in the ledger and its store. Amounts go through as `bigint`; the ledger
 * validates them (and rejects anything past 2^53 - 1).
 */
export function walletServiceHandlers(deps: RpcDependencies): WalletServiceServer {
  const { ledger } = deps;
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

    spend: unaryCall<SpendRequest, SpendResponse>("Spend", deps, async (req, { project }) => {
      const spent = await ledger.spend(project, {
        walletId: req.walletId,
        amount: req.amount,
        service: req.service,
        metadata: req.metadata,
        requestId: req.requestId,
      });
      return {
        charge: chargeToMessage(spent.line),
        remaining: BigInt(spent.remaining),
        credential: spent.credential.token,
        credentialExpiresAt: new Date(spent.credential.expiresAtMs),
      };
    }),

    authorize: unaryCall<AuthorizeRequest, AuthorizeResponse>(
      "Authorize",
      deps,
      async (req, { project }) => {
        const authorized = await ledger.authorize(project, {
          walletId: req.walletId,
          amount: req.amount,
          service: req.service,
          metadata: req.metadata,
          requestId: req.requestId,
          ttlSeconds: req.ttlSeconds,
        });
        return {
          hold: holdToMessage(authorized.hold),
          remaining: BigInt(authorized.remaining),
          credential: authorized.credential.token,
          credentialExpiresAt: new Date(authorized.credential.expiresAtMs),
        };
      },
    ),

    capture: unaryCall<CaptureRequest, CaptureResponse>(
      "Capture",
      deps,
      async (req, { project }) => {
        const captured = await ledger.capture(project, {
          holdId: req.holdId,
          amount: req.amount,
          metadata: req.metadata,
          requestId: req.requestId,
        });
        return {
          charge: chargeToMessage(captured.line),
          hold: holdToMessage(captured.hold),
          remaining: BigInt(captured.remaining),
        };
      },
    ),

    void: unaryCall<VoidRequest, VoidResponse>("Void", deps, async (req, { project }) => {
      const voided = await ledger.void(project, { holdId: req.holdId, requestId: req.requestId });
      return { hold: holdToMessage(voided.hold), remaining: BigInt(voided.remaining) };
    }),
  };
}
