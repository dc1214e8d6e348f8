import type {
  SpendStreamRequest,
  SpendStreamResponse,
} from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import type { Amount } from "./amount.js";
import {
  required,
  toAuthorizeResult,
  toCaptureResult,
  toSpendResult,
  toVoidResult,
} from "./convert.js";
import type { ErrorContext } from "./errors/from-status.js";
import { authorizeRequest, captureRequest, spendRequest, voidRequest } from "./operations.js";
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

/*
 * The SpendStream's frames: each operation becomes the oneof case of a SpendStreamRequest (the
 * correlation id is added when it is submitted), and its answer is read back from the matching
 * case of the SpendStreamResponse. The requests come from the same checked builders as unary
 * calls, so both modes send the same requests and give the same results.
 */

/** One operation ready to submit on the stream. */
export interface StreamFrame<T> {
  /** The request, without its correlation id. */
  readonly operation: Omit<SpendStreamRequest, "correlationId">;
  /** What its errors should name. */
  readonly context: ErrorContext;
  /** Its successful answer as the public result (throws on a malformed one). */
  pick(response: SpendStreamResponse): T;
}

/** The frame of `spend`; throws an InvalidArgumentError before anything is sent. */
export function spendFrame(
  walletId: string,
  amount: Amount,
  options: SpendOptions,
): StreamFrame<SpendResult> {
  const request = spendRequest(walletId, amount, options);
  return {
    operation: { spend: request },
    context: { requestId: request.requestId, walletId },
    pick: (r) => toSpendResult(required(r.spend, "spend result")),
  };
}

/** The frame of `authorize`; throws an InvalidArgumentError before anything is sent. */
export function authorizeFrame(
  walletId: string,
  amount: Amount,
  options: AuthorizeOptions,
): StreamFrame<AuthorizeResult> {
  const request = authorizeRequest(walletId, amount, options);
  return {
    operation: { authorize: request },
    context: { requestId: request.requestId, walletId },
    pick: (r) => toAuthorizeResult(required(r.authorize, "authorize result")),
  };
}

/** The frame of `capture`; throws an InvalidArgumentError before anything is sent. */
export function captureFrame(
  holdId: string,
  amount: Amount,
  options: CaptureOptions | undefined,
): StreamFrame<CaptureResult> {
  const request = captureRequest(holdId, amount, options);
  return {
    operation: { capture: request },
    context: { requestId: request.requestId, holdId },
    pick: (r) => toCaptureResult(required(r.capture, "capture result")),
  };
}

/** The frame of `void`; throws an InvalidArgumentError before anything is sent. */
export function voidFrame(
  holdId: string,
  options: CallOptions | undefined,
): StreamFrame<VoidResult> {
  const request = voidRequest(holdId, options);
  return {
    operation: { void: request },
    context: { requestId: request.requestId, holdId },
    pick: (r) => toVoidResult(required(r.void, "void result")),
  };
}
