import {
  type Client,
  type ClientUnaryCall,
  type CallOptions as GrpcCallOptions,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { type ErrorContext, errorFromServiceError } from "./errors/from-status.js";
import { TollgateError } from "./errors/tollgate-error.js";
import { type CallOptions, checkDeadline, type ResolvedOptions } from "./options.js";
import { backoffMs, isRetryable, sleep } from "./retry.js";

/** The callback-style overload every generated unary method has (its last one). */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<GrpcCallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** The refusal of any call made after `close()`. */
export function clientClosed(requestId?: string): TollgateError {
  return new TollgateError("the tollgate client is closed", {
    code: status.CANCELLED,
    reason: "CLIENT_CLOSED",
    requestId,
  });
}

/**
 * Runs unary calls with the client's policy: the API key, a deadline per attempt, cancellation
 * by AbortSignal, and retries of UNAVAILABLE / DEADLINE_EXCEEDED with exponential backoff and
 * jitter. A mutation's request carries its request_id already, and the very same request object
 * is sent on every attempt, so a retry of an applied call is answered from the server's
 * idempotency record instead of charging again.
 */
export class UnaryInvoker {
  private closed = false;

  constructor(private readonly settings: ResolvedOptions) {}

  /** Metadata of every call and stream: the API key, when there is one. */
  metadata(): Metadata {
    const metadata = new Metadata();
    if (this.settings.apiKey !== undefined) {
      metadata.set("authorization", `Bearer ${this.settings.apiKey}`);
    }
    return metadata;
  }

  /** Refuses every later call with CLIENT_CLOSED (calls in flight finish). */
  close(): void {
    this.closed = true;
  }

  /**
   * Calls `method` of `client` with retries. Rejects with a {@link TollgateError} subclass, or
   * with `signal.reason` once the signal aborts (the attempt in flight is cancelled).
   */
  async call<C extends Client, Req, Res>(
    client: C,
    method: UnaryMethod<Req, Res>,
    request: Req,
    options: CallOptions | undefined,
    context: ErrorContext,
  ): Promise<Res> {
    const signal = options?.signal;
    const deadlineMs = checkDeadline(options?.deadlineMs ?? this.settings.deadlineMs);
    const retry = this.settings.retry;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      if (this.closed) throw clientClosed(context.requestId);
      try {
        return await this.attempt(client, method, request, deadlineMs, signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const code = (error as Partial<ServiceError>).code;
        if (attempt < retry.maxAttempts && typeof code === "number" && isRetryable(code)) {
          await sleep(backoffMs(attempt, retry), signal);
          continue;
        }
        throw errorFromServiceError(error, context);
      }
    }
  }

  private attempt<C extends Client, Req, Res>(
    client: C,
    method: UnaryMethod<Req, Res>,
    request: Req,
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      const call = method.call(
        client,
        request,
        this.metadata(),
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          if (onAbort) signal?.removeEventListener("abort", onAbort);
          if (error) reject(error);
          else resolve(response);
        },
      );
      if (signal) {
        // Cancelling the call (RST_STREAM) tells the server to stop too; the callback then
        // reports CANCELLED, which the caller turns into signal.reason.
        onAbort = () => call.cancel();
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }
}
