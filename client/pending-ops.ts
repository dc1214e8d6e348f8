import type {
  SpendStreamRequest,
  SpendStreamResponse,
} from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import type { ErrorContext } from "./errors/from-status.js";

/** One operation submitted on the SpendStream and not yet answered. */
export interface PendingOp {
  /** The correlation id; the same on every resend. */
  readonly id: number;
  /** The exact message resent after a reconnect: same request id, so applied at most once. */
  readonly message: SpendStreamRequest;
  readonly context: ErrorContext;
  /** Per-operation UNAVAILABLE answers retried so far (as unary retries do). */
  retries: number;
  /** Set while the operation waits out its backoff; its resend belongs to this timer alone. */
  retryTimer?: NodeJS.Timeout;
  /**
   * Written on some stream at least once. From then on the server may have applied it, so a
   * stream that ends without its answer can never report a definite failure for it.
   */
  sent: boolean;
  settle(response: SpendStreamResponse): void;
  fail(error: unknown): void;
}

/**
 * The unanswered operations by correlation id, and the allocator of those ids: a wrapping
 * uint32 counter (1..2^32-1, 0 being proto3's "unset") that skips ids still unanswered, so an
 * answer can never be matched to the wrong operation.
 */
export class PendingTable {
  private readonly ops = new Map<number, PendingOp>();
  private lastId = 0;

  /** How many operations are unanswered. */
  get size(): number {
    return this.ops.size;
  }

  /** The next free correlation id. */
  nextId(): number {
    do {
      this.lastId = this.lastId >= 0xffff_ffff ? 1 : this.lastId + 1;
    } while (this.ops.has(this.lastId));
    return this.lastId;
  }

  /** Registers `op` under its id (from {@link PendingTable.nextId}). */
  add(op: PendingOp): void {
    this.ops.set(op.id, op);
  }

  /** The operation an answer is for; undefined once it timed out, was aborted or settled. */
  get(id: number): PendingOp | undefined {
    return this.ops.get(id);
  }

  /** Whether `op` itself (not a later one that reused its id) is still unanswered. */
  holds(op: PendingOp): boolean {
    return this.ops.get(op.id) === op;
  }

  /** Removes `op`; false when it was already gone. */
  remove(op: PendingOp): boolean {
    if (!this.holds(op)) return false;
    this.ops.delete(op.id);
    return true;
  }

  /** A snapshot of every unanswered operation, oldest first (safe to fail them while iterating). */
  all(): PendingOp[] {
    return [...this.ops.values()];
  }

  /**
   * What a new stream should (re)send, oldest first: every unanswered operation except those
   * waiting on their retry backoff, whose timer queues them itself (sending them now too would
   * send them twice).
   */
  sendable(): PendingOp[] {
    return this.all().filter((op) => op.retryTimer === undefined);
  }
}
