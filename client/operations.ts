import { randomUUID } from "node:crypto";
import {
  AuthorizeRequest,
  CaptureRequest,
  SpendRequest,
  VoidRequest,
  type WalletServiceClient,
} from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import { type Amount, toCredits } from "./amount.js";
import { toAuthorizeResult, toCaptureResult, toSpendResult, toVoidResult } from "./convert.js";
import { checkMetadata, checkRequestId, checkService, checkTtlSeconds } from "./limits.js";
import { checkMessageSize } from "./message-size.js";
import type { CallOptions } from "./options.js";
import type {
  AuthorizeOptions,
  AuthorizeResult,
  CaptureOptions,
  CaptureResult,
  SpendOptions,
  SpendResult,
  VoidResult,
} from "./types.js";
import type { UnaryInvoker } from "./unary.js";

/**
 * The four money-moving operations, by id. Unary calls and the SpendStream both implement it
 * with the same requests and the same conversions, so the two modes give identical results.
 */
export interface SpendOperations {
  /** Debits `amount` from the wallet before a tool runs; returns the charge and a credential. */
  spend(walletId: string, amount: Amount, options: SpendOptions): Promise<SpendResult>;
  /** Reserves up to `amount` for a call whose cost is known only afterwards. */
  authorize(walletId: string, amount: Amount, options: AuthorizeOptions): Promise<AuthorizeResult>;
  /** Posts `amount` (at most the hold's) and releases the rest. */
  capture(holdId: string, amount: Amount, options?: CaptureOptions): Promise<CaptureResult>;
  /** Releases a hold without charging anything. */
  void(holdId: string, options?: CallOptions): Promise<VoidResult>;
}

/*
 * Request builders, shared by unary calls and the SpendStream. Each checks what the client can
 * check locally (amounts, every length and count limit of the ledger, the encoded size) and throws
 * an InvalidArgumentError before any RPC, so one bad call fails alone instead of ending a stream
 * shared with other calls. Each also fixes the request id once, so every retry and every resend
 * after a reconnect is the same request.
 */

/** The caller's request id (checked: 1..128 printable ASCII), or a fresh random UUID. */
export function requestIdOf(options: CallOptions | undefined): string {
  return options?.requestId === undefined ? randomUUID() : checkRequestId(options.requestId);
}

/** The SpendRequest for `wallet.spend(amount, options)`, checked. */
export function spendRequest(
  walletId: string,
  amount: Amount,
  options: SpendOptions,
): SpendRequest {
  return checkMessageSize(SpendRequest, {
    walletId,
    amount: toCredits("amount", amount),
    service: checkService(options.service),
    metadata: checkMetadata(options.metadata),
    requestId: requestIdOf(options),
  });
}

/** The AuthorizeRequest for `wallet.authorize(amount, options)`, checked. */
export function authorizeRequest(
  walletId: string,
  amount: Amount,
  options: AuthorizeOptions,
): AuthorizeRequest {
  return checkMessageSize(AuthorizeRequest, {
    walletId,
    amount: toCredits("amount", amount),
    service: checkService(options.service),
    metadata: checkMetadata(options.metadata),
    requestId: requestIdOf(options),
    ttlSeconds: checkTtlSeconds(options.ttlSeconds),
  });
}

/** The CaptureRequest posting `amount` of hold `holdId`, checked. */
export function captureRequest(
  holdId: string,
  amount: Amount,
  options: CaptureOptions | undefined,
): CaptureRequest {
  return checkMessageSize(CaptureRequest, {
    holdId,
    amount: toCredits("amount", amount),
    metadata: checkMetadata(options?.metadata),
    requestId: requestIdOf(options),
  });
}

/** The VoidRequest releasing hold `holdId`, checked. */
export function voidRequest(holdId: string, options: CallOptions | undefined): VoidRequest {
  return checkMessageSize(VoidRequest, { holdId, requestId: requestIdOf(options) });
}

/** {@link SpendOperations} as one unary RPC each. */
export class UnaryOperations implements SpendOperations {
  constructor(
    private readonly invoker: UnaryInvoker,
    private readonly wallets: WalletServiceClient,
  ) {}

  async spend(walletId: string, amount: Amount, options: SpendOptions): Promise<SpendResult> {
    const request = spendRequest(walletId, amount, options);
    const response = await this.invoker.call(this.wallets, this.wallets.spend, request, options, {
      requestId: request.requestId,
      walletId,
    });
    return toSpendResult(response);
  }

  async authorize(
    walletId: string,
    amount: Amount,
    options: AuthorizeOptions,
  ): Promise<AuthorizeResult> {
    const request = authorizeRequest(walletId, amount, options);
    const response = await this.invoker.call(
      this.wallets,
      this.wallets.authorize,
      request,
      options,
      { requestId: request.requestId, walletId },
    );
    return toAuthorizeResult(response);
  }

  async capture(holdId: string, amount: Amount, options?: CaptureOptions): Promise<CaptureResult> {
    const request = captureRequest(holdId, amount, options);
    const response = await this.invoker.call(this.wallets, this.wallets.capture, request, options, {
      requestId: request.requestId,
      holdId,
    });
    return toCaptureResult(response);
  }

  async void(holdId: string, options?: CallOptions): Promise<VoidResult> {
    const request = voidRequest(holdId, options);
    const response = await this.invoker.call(this.wallets, this.wallets.void, request, options, {
      requestId: request.requestId,
      holdId,
    });
    return toVoidResult(response);
  }
}
