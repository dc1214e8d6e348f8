import type { ClientDuplexStream, StatusObject } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import type {
  SpendStreamRequest,
  SpendStreamResponse,
  WalletServiceClient,
} from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import type { Amount } from "./amount.js";
import { errorFromServiceError, errorFromStatus } from "./errors/from-status.js";
import type { SpendOperations } from "./operations.js";
import { type CallOptions, checkDeadline, type ResolvedOptions } from "./options.js";
import { type PendingOp, PendingTable } from "./pending-ops.js";
import { backoffMs, isRetryable } from "./retry.js";
import {
  closedBeforeAnswer,
  deadlinePassed,
  shouldReconnect,
  streamEndedError,
  unanswered,
} from "./stream-endings.js";
import {
  authorizeFrame,
  captureFrame,
  type StreamFrame,
  spendFrame,
  voidFrame,
} from "./stream-frames.js";
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

type Call = ClientDuplexStream<SpendStreamRequest, SpendStreamResponse>;

/** How long an idle stream's polite half-close may take before it is cancelled. */
const hangUpGraceMs = 1000;

/**
 * The client's one SpendStream: opened lazily by the first operation, multiplexing every
 * operation by a correlation id ({@link PendingTable}).
 *
 * - Validation: every operation is checked by the same builders as unary calls (lengths, counts,
 *   encoded size) and refused alone before it is sent, so one bad operation cannot end the
 *   stream the others share.
 * - Deadlines and aborts are per operation: an operation that is not answered in time rejects
 *   with an UnavailableError (it may have been applied: retry with the same request id); an
 *   aborted one rejects with `signal.reason` (it may still be applied by the server, as with a
 *   cancelled unary call that already arrived).
 * - Back-pressure: when `write()` returns false, further operations wait in a queue until
 *   `drain`; the server itself stops reading beyond 256 operations in flight.
 * - Endings ({@link shouldReconnect}): after a transport failure the stream is reopened with
 *   exponential backoff and jitter, and every unanswered operation is resent with its original
 *   request id, so idempotency makes it exactly-once. After any other ending, an operation
 *   already sent rejects as an UnavailableError (it may have been applied), except after
 *   UNAUTHENTICATED, PERMISSION_DENIED or UNIMPLEMENTED, which prove nothing ran.
 * - Idle policy: an open stream is an active call, which keeps Node alive, so after
 *   `streamIdleMs` (default 1000) with nothing pending it is half-closed; the next operation
 *   opens a new one. `close()` cancels it at once.
 */
export class StreamChannel implements SpendStream {
  private call: Call | undefined;
  private readonly pending = new PendingTable();
  /** Operations to write on the current stream, oldest first (they are also in `pending`). */
  private queue: PendingOp[] = [];
  /** The last write returned false: wait for `drain`. */
  private blocked = false;
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
    return this.submit(spendFrame(walletId, amount, options), options);
  }

  async authorize(
    walletId: string,
    amount: Amount,
    options: AuthorizeOptions,
  ): Promise<AuthorizeResult> {
    return this.submit(authorizeFrame(walletId, amount, options), options);
  }

  async capture(holdId: string, amount: Amount, options?: CaptureOptions): Promise<CaptureResult> {
    return this.submit(captureFrame(holdId, amount, options), options);
  }

  async void(holdId: string, options?: CallOptions): Promise<VoidResult> {
    return this.submit(voidFrame(holdId, options), options);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.idleTimer);
    for (const op of this.pending.all()) op.fail(closedBeforeAnswer(op.context));
    const call = this.call;
    this.call = undefined;
    call?.cancel();
  }

  /** Registers one operation, writes it as soon as the stream allows, and awaits its answer. */
  private submit<T>(frame: StreamFrame<T>, options: CallOptions | undefined): Promise<T> {
    const { context } = frame;
    const signal = options?.signal;
    signal?.throwIfAborted();
    if (this.closed) throw clientClosed(context.requestId);
    const deadlineMs = checkDeadline(options?.deadlineMs ?? this.settings.deadlineMs);
    return new Promise<T>((resolve, reject) => {
      const id = this.pending.nextId();
      const finish = () => {
        clearTimeout(deadline);
        clearTimeout(op.retryTimer);
        op.retryTimer = undefined;
        signal?.removeEventListener("abort", onAbort);
        this.forget(op);
      };
      const op: PendingOp = {
        id,
        message: { correlationId: id, ...frame.operation },
        context,
        retries: 0,
        sent: false,
        settle: (response) => {
          finish();
          try {
            resolve(frame.pick(response));
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
        () => op.fail(deadlinePassed(deadlineMs, context, this.lastFailure)),
        deadlineMs,
      );
      const onAbort = () => op.fail(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.add(op);
      this.enqueue(op);
    });
  }

  private enqueue(op: PendingOp): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.queue.push(op);
    if (this.call !== undefined) this.flush();
    else if (this.reconnectTimer === undefined) this.open();
  }

  private forget(op: PendingOp): void {
    if (!this.pending.remove(op) || this.pending.size > 0) return;
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
    let call: Call;
    try {
      call = this.wallets.spendStream(this.invoker.metadata());
    } catch (error) {
      // The channel refuses new calls (closed): nothing can be sent any more.
      for (const op of this.pending.all()) {
        const cause = errorFromServiceError(error, op.context);
        op.fail(unanswered(op, cause, "the spend stream could not be reopened"));
      }
      return;
    }
    this.call = call;
    this.blocked = false;
    // Operations waiting on a retry backoff are left to their timer.
    this.queue = this.pending.sendable();
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
      if (!this.pending.holds(op)) continue;
      op.sent = true;
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
          if (this.pending.holds(op)) this.enqueue(op);
        },
        backoffMs(op.retries, this.settings.retry),
      );
      return;
    }
    op.fail(errorFromStatus(error, op.context));
  }

  private onEnd(call: Call, ending: StatusObject): void {
    if (call !== this.call) return;
    this.call = undefined;
    this.queue = [];
    this.blocked = false;
    if (this.pending.size === 0 || this.closed) return;
    this.lastFailure = `${status[ending.code] ?? ending.code}: ${ending.details}`;
    if (!shouldReconnect(ending.code)) {
      for (const op of this.pending.all()) op.fail(streamEndedError(ending, op));
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
