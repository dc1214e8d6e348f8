import type { ScriptReply } from "./commands.js";
import { type RedisClient, waitForReady } from "./connect.js";
import { ReplyCode, refusal } from "./reply-codes.js";
import { storeFailure } from "./script-errors.js";

/**
 * The store's side of its Redis client: every call goes through here, so every failure is
 * mapped the same way (a script's refusal to its LedgerError, an outage to STORE_UNAVAILABLE),
 * the first call waits for the first connection, and closing happens once.
 */
export class StoreConnection {
  private firstConnect: Promise<void> | undefined;
  private connectedOnce = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly redis: RedisClient,
    private readonly firstConnectTimeoutMs: number,
  ) {}

  /** Runs a script and returns its payload, or throws its refusal as a LedgerError. */
  async run(script: () => Promise<ScriptReply>): Promise<string[]> {
    return this.payload(await this.call(script));
  }

  /** A script's payload, or its refusal thrown as a LedgerError. */
  payload([code, ...payload]: ScriptReply): string[] {
    if (code !== ReplyCode.ok) throw refusal(code, payload);
    return payload;
  }

  /** Sends one command; transport failures become STORE_UNAVAILABLE (see `storeFailure`). */
  async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      if (!this.connectedOnce) await this.waitForFirstConnect();
      return await send();
    } catch (error) {
      throw storeFailure(error);
    }
  }

  /**
   * Quits the client: QUIT is answered after every command sent before it, so calls in flight
   * finish. Resolves once the connection has ended. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const redis = this.redis;
      if (redis.status === "end") return;
      if (redis.status === "ready") {
        const ended = connectionEnded(redis, 1_000);
        // QUIT's reply comes before the socket closes: wait for the end too, so that a caller
        // who checks `status` right after close() sees the client is gone.
        await redis.quit().catch(() => redis.disconnect());
        await ended;
      } else {
        // Not connected: nothing to say goodbye to. This stops the reconnect attempts.
        redis.disconnect();
      }
    })();
    return this.closing;
  }

  /**
   * With the offline queue off (see connect.ts) a command sent before the client's first
   * connection completes is refused, so the first call waits for it; one shared wait, retried
   * by the next call if it timed out. After that, calls never wait: an outage fails them at once.
   */
  private async waitForFirstConnect(): Promise<void> {
    this.firstConnect ??= waitForReady(this.redis, this.firstConnectTimeoutMs).finally(() => {
      this.firstConnect = undefined;
    });
    await this.firstConnect;
    this.connectedOnce = true;
  }
}

/** Resolves when `redis` emits "end", or after `timeoutMs` (a close must never hang). */
function connectionEnded(redis: RedisClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    redis.once("end", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
