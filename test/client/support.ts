import { InterceptingCall, type Interceptor } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { type ClientOptions, createClient, type TollgateClient } from "../../client/index.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import {
  startTollgateServer,
  type TollgateServer,
  type TollgateServerOptions,
} from "../../server/server.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { createRedisClient } from "../../server/store/redis/connect.js";
import {
  RedisLedgerStore,
  type RedisStoreOptions,
} from "../../server/store/redis/redis-ledger-store.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";

/** The API key every served test uses (project "client-tests"). */
export const apiKey = "client-test-key-0123456789";

/** One key prefix of the run's Redis: stores over it, and its cleanup. */
export interface RedisSpace {
  /** A fresh store over the prefix (a server closes its store on shutdown, so one per start). */
  store(options?: Omit<RedisStoreOptions, "keyPrefix">): LedgerStore;
  /** Deletes every key under the prefix (SCAN + DEL, never a flush: the Redis is shared). */
  cleanup(): Promise<void>;
}

export function redisSpace(url: string = inject("redisUrl")): RedisSpace {
  const keyPrefix = testKeyPrefix();
  return {
    store: (options = {}) =>
      new RedisLedgerStore(createRedisClient(url), { ...options, keyPrefix }),
    async cleanup() {
      const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
      redis.on("error", () => {});
      try {
        await redis.connect();
        await deleteKeys(redis, keyPrefix);
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** A real server over a real Redis (own key prefix), with a typed client on it. */
export interface Served {
  server: TollgateServer;
  space: RedisSpace;
  /** A client with the test API key, plaintext. */
  tg: TollgateClient;
  /** Another client on the same server (closed by `dispose`). */
  client(options?: Partial<ClientOptions>): TollgateClient;
  /** Closes every client, shuts the server down, deletes the keys. */
  dispose(): Promise<void>;
}

/** Server options every served test shares: quiet, on a free loopback port, keyed. */
export function serverOptions(store: LedgerStore): TollgateServerOptions {
  return {
    store,
    address: "127.0.0.1:0",
    logLevel: "silent",
    apiKeys: [{ project: "client-tests", keySha256: hashApiKey(apiKey) }],
  };
}

export async function serve(
  options: {
    server?: Partial<TollgateServerOptions>;
    client?: Partial<ClientOptions>;
    /** Wraps the Redis store (to slow or watch it). */
    wrapStore?: (store: LedgerStore) => LedgerStore;
    /** Options of the Redis store (limits, say). */
    store?: Omit<RedisStoreOptions, "keyPrefix">;
  } = {},
): Promise<Served> {
  const space = redisSpace();
  const store = space.store(options.store);
  const server = await startTollgateServer({
    ...serverOptions(options.wrapStore ? options.wrapStore(store) : store),
    ...options.server,
  });
  const clients: TollgateClient[] = [];
  const client = (more: Partial<ClientOptions> = {}) => {
    const tg = createClient({ address: server.address, apiKey, ...options.client, ...more });
    clients.push(tg);
    return tg;
  };
  return {
    server,
    space,
    tg: client(),
    client,
    async dispose() {
      for (const tg of clients) tg.close();
      await server.shutdown();
      await space.cleanup();
    },
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Every page of an async listing, flattened, plus the page sizes seen. */
export async function collect<T>(
  pages: AsyncIterable<T[]>,
): Promise<{ items: T[]; sizes: number[] }> {
  const items: T[] = [];
  const sizes: number[] = [];
  for await (const page of pages) {
    sizes.push(page.length);
    items.push(...page);
  }
  return { items, sizes };
}

/** Every call a client started (method path, the requests it sent, how it ended), in order. */
export interface CallLog {
  interceptor: Interceptor;
  calls: { method: string; requests: unknown[]; status?: number }[];
  /** How many calls of a method (`Spend`, `SpendStream`, ...) were started. */
  count(method: string): number;
}

/** A grpc-js interceptor that records calls (and their final status code) without changing them. */
export function callLog(): CallLog {
  const calls: CallLog["calls"] = [];
  const interceptor: Interceptor = (options, nextCall) => {
    const entry: CallLog["calls"][number] = {
      method: options.method_definition.path,
      requests: [],
    };
    calls.push(entry);
    return new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            entry.status = status.code;
            nextStatus(status);
          },
        });
      },
      sendMessage(message, next) {
        entry.requests.push(message);
        next(message);
      },
    });
  };
  return {
    interceptor,
    calls,
    count: (method) => calls.filter((c) => c.method.endsWith(`/${method}`)).length,
  };
}
