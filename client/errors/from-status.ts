import { Metadata, type ServiceError, type StatusObject, status } from "@grpc/grpc-js";
import type { Any } from "../../gen/ts-proto/google/protobuf/any.js";
import { BadRequest, ErrorInfo } from "../../gen/ts-proto/google/rpc/error_details.js";
import { Status } from "../../gen/ts-proto/google/rpc/status.js";
import { HoldAlreadyResolvedError } from "./hold-already-resolved-error.js";
import { HoldExpiredError } from "./hold-expired-error.js";
import { IdempotencyKeyReusedError } from "./idempotency-key-reused-error.js";
import { InsufficientCreditsError } from "./insufficient-credits-error.js";
import { InvalidArgumentError } from "./invalid-argument-error.js";
import { LimitExceededError } from "./limit-exceeded-error.js";
import { NotFoundError } from "./not-found-error.js";
import { PermissionDeniedError } from "./permission-denied-error.js";
import { TollgateError, type TollgateErrorInit } from "./tollgate-error.js";
import { UnauthenticatedError } from "./unauthenticated-error.js";
import { UnavailableError } from "./unavailable-error.js";
import { WalletClosedError } from "./wallet-closed-error.js";

/** What the failed call was about, to fill in what the status itself does not say. */
export interface ErrorContext {
  requestId?: string;
  walletId?: string;
  holdId?: string;
}

/** A status as it arrives: a unary call's code and message, or one embedded in a stream answer. */
export interface StatusParts {
  code: number;
  message: string;
  /** google.rpc.Status details: Any-packed ErrorInfo and BadRequest are understood. */
  details: readonly Any[];
}

/** The trailer carrying the binary google.rpc.Status (gRPC's richer error model). */
const statusDetailsKey = "grpc-status-details-bin";

/**
 * The typed error of a failed grpc-js call: decodes `grpc-status-details-bin` and maps it with
 * {@link errorFromStatus}. Anything that is not a ServiceError (a bug, a serialisation failure)
 * becomes a plain TollgateError UNKNOWN keeping it as `cause`.
 */
export function errorFromServiceError(error: unknown, context: ErrorContext): TollgateError {
  if (error instanceof TollgateError) return error;
  if (!isServiceError(error)) {
    return new TollgateError(error instanceof Error ? error.message : String(error), {
      code: status.UNKNOWN,
      reason: "UNKNOWN",
      requestId: context.requestId,
      cause: error,
    });
  }
  return errorFromCallStatus(error, context, error);
}

/** The typed error of a call's final status (a unary failure, or a stream that ended). */
export function errorFromCallStatus(
  call: Pick<StatusObject, "code" | "details" | "metadata">,
  context: ErrorContext,
  cause?: unknown,
): TollgateError {
  return errorFromStatus(
    { code: call.code, message: call.details, details: detailsOf(call.metadata) },
    context,
    cause,
  );
}

/**
 * The one mapping from a status to a typed error, shared by unary calls and stream operations so
 * both modes fail alike. The ErrorInfo reason picks the class; without one (a transport failure,
 * or a server that sent none) the status code does.
 */
export function errorFromStatus(
  parts: StatusParts,
  context: ErrorContext,
  cause?: unknown,
): TollgateError {
  const info = unpack(parts.details, "google.rpc.ErrorInfo", ErrorInfo.decode);
  const badRequest = unpack(parts.details, "google.rpc.BadRequest", BadRequest.decode);
  return errorFromReason(
    {
      code: parts.code,
      message: parts.message,
      reason: info?.reason ?? "",
      metadata: { ...info?.metadata },
      field: badRequest?.fieldViolations[0]?.field,
    },
    context,
    cause,
  );
}

/** A refusal once decoded, whatever carried it: a gRPC status, or a gateway's JSON body. */
export interface RefusalParts {
  /** The gRPC status code. */
  code: number;
  message: string;
  /** The ErrorInfo reason; empty when there was none. */
  reason: string;
  metadata: Record<string, string>;
  /** The offending field, when the refusal named one outside `metadata.field` (a BadRequest). */
  field?: string | undefined;
}

/**
 * The typed error of a decoded refusal: the reason picks the class; without one (a transport
 * failure, or a server that sent none) the status code does. Shared by gRPC calls and the gateway
 * client, so a refusal is the same class whichever way the call went.
 */
export function errorFromReason(
  parts: RefusalParts,
  context: ErrorContext,
  cause?: unknown,
): TollgateError {
  const metadata = parts.metadata;
  const reason = parts.reason || (status[parts.code] ?? "UNKNOWN");
  const init: TollgateErrorInit = {
    code: parts.code,
    reason,
    metadata,
    requestId: context.requestId,
    cause,
  };
  const field = metadata.field ?? parts.field ?? "";
  const message = parts.message;
  switch (reason) {
    case "INSUFFICIENT_CREDITS":
      return new InsufficientCreditsError(message, init);
    case "WALLET_CLOSED":
      return new WalletClosedError(message, {
        ...init,
        walletId: metadata.wallet_id ?? context.walletId ?? "",
      });
    case "HOLD_EXPIRED":
      return new HoldExpiredError(message, { ...init, holdId: holdIdOf(metadata, context) });
    case "HOLD_ALREADY_RESOLVED":
      return new HoldAlreadyResolvedError(message, {
        ...init,
        holdId: holdIdOf(metadata, context),
      });
    case "IDEMPOTENCY_KEY_REUSED":
      return new IdempotencyKeyReusedError(message, { ...init, field: field || "request_id" });
    case "WALLET_NOT_FOUND":
    case "HOLD_NOT_FOUND":
      return new NotFoundError(message, init);
    case "STORE_UNAVAILABLE":
      return new UnavailableError(message, init);
    case "TOO_MANY_OPEN_HOLDS":
    case "TOO_MANY_CHILDREN":
    case "TOO_MANY_BREAKDOWN_KEYS":
      return new LimitExceededError(message, init);
  }
  switch (parts.code) {
    case status.INVALID_ARGUMENT:
      return new InvalidArgumentError(message, { ...init, field });
    case status.NOT_FOUND:
      return new NotFoundError(message, init);
    case status.UNAUTHENTICATED:
      return new UnauthenticatedError(message, init);
    case status.PERMISSION_DENIED:
      return new PermissionDeniedError(message, init);
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return new UnavailableError(maybeApplied(message, context), init);
    default:
      return new TollgateError(message, init);
  }
}

/**
 * A transport failure says nothing about whether a mutation ran; say so, with the id to reuse
 * (the server's own STORE_UNAVAILABLE message already does).
 */
function maybeApplied(message: string, context: ErrorContext): string {
  return context.requestId === undefined
    ? message
    : `${message} (the call may have been applied: retry with the same request_id ${context.requestId})`;
}

function holdIdOf(metadata: Record<string, string>, context: ErrorContext): string {
  return metadata.hold_id ?? context.holdId ?? "";
}

/** The details of a `grpc-status-details-bin` trailer; none when it is absent or unreadable. */
function detailsOf(metadata: Metadata | undefined): Any[] {
  const bin = metadata instanceof Metadata ? metadata.get(statusDetailsKey)[0] : undefined;
  if (!(bin instanceof Buffer)) return [];
  try {
    return Status.decode(bin).details;
  } catch {
    // A garbled trailer must not hide the status code, which still picks a class.
    return [];
  }
}

function unpack<T>(
  details: readonly Any[],
  typeName: string,
  decode: (bytes: Uint8Array) => T,
): T | undefined {
  const any = details.find((d) => d.typeUrl.endsWith(`/${typeName}`));
  if (any === undefined) return undefined;
  try {
    return decode(any.value);
  } catch {
    return undefined;
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === "number" &&
    typeof (error as Partial<ServiceError>).details === "string"
  );
}
