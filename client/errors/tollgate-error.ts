/** What every {@link TollgateError} carries, as the server (or the client itself) reported it. */
export interface TollgateErrorInit {
  /** The gRPC status code (`@grpc/grpc-js` `status`). */
  code: number;
  /**
   * The google.rpc.ErrorInfo reason (UPPER_SNAKE_CASE, e.g. `INSUFFICIENT_CREDITS`); when the
   * status carried no ErrorInfo (a transport failure), the status code's name (`UNAVAILABLE`).
   */
  reason: string;
  /** ErrorInfo metadata, e.g. `wallet_id`, `requested`, `available`, `field`. */
  metadata?: Record<string, string>;
  /** The idempotency key of the failed mutation, so a retry can reuse it. */
  requestId?: string;
  /** The underlying error (a grpc-js ServiceError), kept for logs, never needed to act. */
  cause?: unknown;
}

/**
 * The one base class of every failure the client reports (except an abort, which rejects with
 * the AbortSignal's own `reason`, as `fetch` does). Subclasses exist for the reasons a caller
 * acts on; anything else stays a plain TollgateError with its `code` and `reason`.
 */
export class TollgateError extends Error {
  override name = "TollgateError";
  /** The gRPC status code (`@grpc/grpc-js` `status`). */
  readonly code: number;
  /** The ErrorInfo reason, or the status code's name when there was none. */
  readonly reason: string;
  /** ErrorInfo metadata: all values are strings, as on the wire. */
  readonly metadata: Record<string, string>;
  /** The request id of the failed mutation; undefined for reads. */
  readonly requestId?: string;

  constructor(message: string, init: TollgateErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.reason = init.reason;
    this.metadata = { ...init.metadata };
    if (init.requestId !== undefined) this.requestId = init.requestId;
  }
}
