import { type ClientDuplexStream, type StatusObject, status } from "@grpc/grpc-js";
import type {
  SpendStreamRequest,
  SpendStreamResponse,
  WalletServiceClient,
} from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import type { Amount } from "./amount.js";
import {
  required,
  toAuthorizeResult,
  toCaptureResult,
  toSpendResult,
  toVoidResult,
} from "./convert.js";
import {
  type ErrorContext,
  errorFromCallStatus,
  errorFromServiceError,
  errorFromStatus,
} from "./errors/from-status.js";
import { TollgateError } from "./errors/tollgate-error.js";
import { UnavailableError } from "./errors/unavailable-error.js";
import {
  authorizeRequest,
  captureRequest,
  type SpendOperations,
  spendRequest,
  voidRequest,
} from "./operations.js";
import { type CallOptions, checkDeadline, type ResolvedOptions } from "./options.js";
import { backoffMs, isRetryable } from "./retry.js";
import type {
  AuthorizeOptions,
  AuthorizeResult,
  CaptureOptions,
  CaptureResult,
  SpendOptions,
  SpendResult,
  VoidResult,
} from "./types.js";
import { clientClosed, type UnaryInvoker } from "./unary.js";

/**
 * Low-level streaming channel; Wallet handles in "stream" mode use it. Same semantics per op as
 * unary: the same requests, idempotency by request id, the same typed errors and results.
 */
export interface SpendStream extends SpendOperations {
  /** Rejects every unanswered operation (CLIENT_CLOSED) and closes the stream for good. */
  close(): void;
}

/**
 * Stream-level endings after which resending is worthwhile: the rpc contract says a SpendStream
 * fails only for authentication or transport reasons, and these are the transport ones (a
 * server restart or a dropped connection shows as UNAVAILABLE, INTERNAL (RST_STREAM) or
 * CANCELLED; OK is a server that ended the stream while operations were unanswered). Anything
 * else (UNAUTHENTICATED, PERMISSION_DENIED, UNIMPLEMENTED from a server without streaming...)
 * would fail again, so it rejects the unanswered operations instead of looping.
 */
const reconnectCodes: ReadonlySet<number> = new Set([
  status.OK,
  status.CANCELLED,
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.ABORTED,
  status.INTERNAL,
  status.UNAVAILABLE,
]);

/** How long an idle stream's polite half-close may take before it is cancelled. */
const hangUpGraceMs = 1000;

/** One operation sent and not yet answered. */
interface PendingOp {
  /** The correlation id; the same on every resend. */
  readonly id: number;
  /** The exact message resent after a reconnect: same request id, so applied at most once. */
  readonly message: SpendStreamRequest;
  readonly context: ErrorContext;
  /** Per-operation UNAVAILABLE answers retried so far (as unary retries do). */
  retries: number;
  retryTimer?: NodeJS.Timeout;
  settle(response: SpendStreamResponse): void;
  fail(error: unknown): void;
}

/**
 * The client's one SpendStream: opened lazily by the first operation, multiplexing every
 * operation by a correlation id (a wrapping uint32 counter that skips ids still unanswered).
 *
 * - Deadlines and aborts are per operation: an operation that is not answered in time rejects
 *   with an {@link UnavailableError} (it may have been applied: retry with the same request id);
 *   an aborted one rejects with `signal.reason` (it may still be applied by the server, as with
 *   a cancelled unary call that already arrived).
 * - Back-pressure: when `write()` returns false, further operations wait in a queue until
 *   `drain`; the server itself stops reading beyond 256 operations in flight.
 * - Transparent reconnect: when the stream ends for a transport reason, it is reopened with
 *   exponential backoff and jitter, and every unanswered operation is resent with its original
 *   request id, so idempotency makes it exactly-once. UNAUTHENTICATED rejects them all instead.
 * - Idle policy: an open stream is an active call, which keeps Node alive, so after
 *   `streamIdleMs` (default 1000) with nothing pending it is half-closed; the next operation
 *   opens a new one. `close()` cancels it at once.
 */
export class StreamChannel implements SpendStream {
  private call: ClientDuplexStream<SpendStreamRequest, SpendStreamResponse> | undefined;
  private readonly pending = new Map<number, PendingOp>();
  /** Operations to write on the current stream, oldest first (they are also in `pending`). */
  private queue: PendingOp[] = [];
  /** The last write returned false: wait for `drain`. */
  private blocked = false;
  private lastId = 0;
  /** Consecutive stream failures without an answer in between; drives the reconnect backoff. */
  private failures = 0;
  private lastFailure: string | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly wallets: WalletServiceClient,
    private readonly invoker: UnaryInvoker,
    private readonly settings: ResolvedOptions,
  ) {}

  async spend(walletId: string, amount: Amount, options: SpendOptions): Promise<SpendResult> {
    const request = spendRequest(walletId, amount, options);
    return this.submit(
      { spend: request },
      { requestId: request.requestId, walletId },
      options,
      (r) => toSpendResult(required(r.spend, "spend result")),
    );
  }

  async authorize(
    walletId: string,
    amount: Amount,
    options: AuthorizeOptions,
  ): Promise<AuthorizeResult> {
    const request = authorizeRequest(walletId, amount, options);
    return this.submit(
      { authorize: request },
      { requestId: request.requestId, walletId },
      options,
      (r) => toAuthorizeResult(required(r.authorize, "authorize result")),
    );
  }

  async capture(holdId: string, amount: Amount, options?: CaptureOptions): Promise<CaptureResult> {
    const request = captureRequest(holdId, amount, options);
    return this.submit(
      { capture: request },
      { requestId: request.requestId, holdId },
      options,
      (r) => toCaptureResult(required(r.capture, "capture result")),
    );
  }

  async void(holdId: string, options?: CallOptions): Promise<VoidResult> {
    const request = voidRequest(holdId, options);
    return this.submit({ void: request }, { requestId: request.requestId, holdId }, options, (r) =>
      toVoidResult(required(r.void, "void result")),
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.idleTimer);
    for (const op of [...this.pending.values()]) {
      op.fail(
        new TollgateError(
          `the tollgate client was closed before the answer arrived; the operation may have been applied: retry with the same request_id ${op.context.requestId}`,
          { code: status.CANCELLED, reason: "CLIENT_CLOSED", requestId: op.context.requestId },
        ),
      );
    }
    const call = this.call;
    this.call = undefined;
    call?.cancel();
  }

  /** Registers one operation, writes it as soon as the stream allows, and awaits its answer. */
  private submit<T>(
    operation: Omit<SpendStreamRequest, "correlationId">,
    context: ErrorContext,
    options: CallOptions | undefined,
    pick: (response: SpendStreamResponse) => T,
  ): Promise<T> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    if (this.closed) throw clientClosed(context.requestId);
    const deadlineMs = checkDeadline(options?.deadlineMs ?? this.settings.deadlineMs);
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId();
      const finish = () => {
        clearTimeout(deadline);
        clearTimeout(op.retryTimer);
        signal?.removeEventListener("abort", onAbort);
        this.forget(op);
      };
      const op: PendingOp = {
        id,
        message: { correlationId: id, ...operation },
        context,
        retries: 0,
        settle: (response) => {
          finish();
          try {
            resolve(pick(response));
          } catch (error) {
            reject(error);
          }
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      const deadline = setTimeout(
        () => op.fail(this.deadlinePassed(deadlineMs, context)),
        deadlineMs,
      );
      const onAbort = () => op.fail(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, op);
      this.enqueue(op);
    });
  }

  private deadlinePassed(deadlineMs: number, context: ErrorContext): UnavailableError {
    const last =
      this.lastFailure === undefined ? "" : ` (last stream failure: ${this.lastFailure})`;
    return new UnavailableError(
      `no answer on the spend stream within ${deadlineMs} ms${last}; the operation may have been applied: retry with the same request_id ${context.requestId}`,
      { code: status.DEADLINE_EXCEEDED, reason: "DEADLINE_EXCEEDED", requestId: context.requestId },
    );
  }

  /** The next correlation id: 1..2^32-1, wrapping, never one that is still unanswered. */
  private nextId(): number {
    do {
      this.lastId = this.lastId >= 0xffff_ffff ? 1 : this.lastId + 1;
    } while (this.pending.has(this.lastId));
    return this.lastId;
  }

  private enqueue(op: PendingOp): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.queue.push(op);
    if (this.call !== undefined) this.flush();
    else if (this.reconnectTimer === undefined) this.open();
  }

  private forget(op: PendingOp): void {
    if (this.pending.get(op.id) !== op) return;
    this.pending.delete(op.id);
    if (this.pending.size > 0) return;
    // Nothing left to resend: stop reconnecting, and let an idle stream go.
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.call !== undefined && this.idleTimer === undefined) {
      this.idleTimer = setTimeout(() => this.hangUp(), this.settings.streamIdleMs);
      // The open call keeps the process alive until this fires; the timer itself must not.
      this.idleTimer.unref();
    }
  }

  /** Opens a stream and (re)sends every unanswered operation on it, oldest first. */
  private open(): void {
    let call: ClientDuplexStream<SpendStreamRequest, SpendStreamResponse>;
    try {
      call = this.wallets.spendStream(this.invoker.metadata());
    } catch (error) {
      // The channel refuses new calls (closed): nothing can be sent any more.
      for (const op of [...this.pending.values()])
        op.fail(errorFromServiceError(error, op.context));
      return;
    }
    this.call = call;
    this.blocked = false;
    this.queue = [...this.pending.values()];
    call.on("data", (response: SpendStreamResponse) => this.onAnswer(response));
    call.on("drain", () => {
      if (this.call !== call) return;
      this.blocked = false;
      this.flush();
    });
    // grpc-js emits 'error' for every non-OK end and throws without a listener; the 'status'
    // that always follows carries the same facts and is handled below.
    call.on("error", () => {});
    call.on("status", (ending: StatusObject) => {
      // 'status' can overtake answers still buffered in the readable side: handle the end
      // after them, so an answered operation is never resent.
      let handled = false;
      const handle = () => {
        if (handled) return;
        handled = true;
        this.onEnd(call, ending);
      };
      if (call.readableEnded) handle();
      else {
        call.once("end", handle);
        call.once("close", handle);
      }
    });
    this.flush();
  }

  private flush(): void {
    const call = this.call;
    if (call === undefined) return;
    while (!this.blocked && this.queue.length > 0) {
      const op = this.queue.shift() as PendingOp;
      if (this.pending.get(op.id) !== op) continue;
      if (!call.write(op.message)) this.blocked = true;
    }
  }

  private onAnswer(response: SpendStreamResponse): void {
    this.failures = 0;
    this.lastFailure = undefined;
    const op = this.pending.get(response.correlationId);
    // Unknown ids are answers to operations that already timed out or were aborted.
    if (op === undefined) return;
    const error = response.error;
    if (error === undefined) {
      op.settle(response);
      return;
    }
    if (isRetryable(error.code) && op.retries + 1 < this.settings.retry.maxAttempts) {
      // The store was unavailable for this one operation: retry it alone, as unary would.
      op.retries += 1;
      op.retryTimer = setTimeout(
        () => {
          op.retryTimer = undefined;
          if (this.pending.get(op.id) === op) this.enqueue(op);
        },
        backoffMs(op.retries, this.settings.retry),
      );
      return;
    }
    op.fail(errorFromStatus(error, op.context));
  }

  private onEnd(
    call: ClientDuplexStream<SpendStreamRequest, SpendStreamResponse>,
    ending: StatusObject,
  ): void {
    if (call !== this.call) return;
    this.call = undefined;
    this.queue = [];
    this.blocked = false;
    if (this.pending.size === 0 || this.closed) return;
    this.lastFailure = `${status[ending.code] ?? ending.code}: ${ending.details}`;
    if (!reconnectCodes.has(ending.code)) {
      for (const op of [...this.pending.values()]) op.fail(errorFromCallStatus(ending, op.context));
      return;
    }
    this.failures += 1;
    this.reconnectTimer = setTimeout(
      () => {
        this.reconnectTimer = undefined;
        if (this.pending.size > 0 && this.call === undefined && !this.closed) this.open();
      },
      backoffMs(this.failures, this.settings.retry),
    );
  }

  /** Half-closes an idle stream (cancelling it if the server does not end it promptly). */
  private hangUp(): void {
    this.idleTimer = undefined;
    const call = this.call;
    if (call === undefined || this.pending.size > 0) return;
    this.call = undefined;
    this.queue = [];
    const fallback = setTimeout(() => call.cancel(), hangUpGraceMs);
    fallback.unref();
    call.once("status", () => clearTimeout(fallback));
    call.end();
  }
}
