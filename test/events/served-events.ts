import { createClient, type TollgateClient, type WalletEvent } from "../../client/index.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import {
  startTollgateServer,
  type TollgateServer,
  type TollgateServerOptions,
} from "../../server/server.js";
import type { StoreOptions } from "../../server/store/ledger-store.js";
import type { OpenedStore, StoreFactory } from "../conformance/harness.js";

export const apiKey = "events-test-key-0123456789";
export const otherApiKey = "events-other-key-0123456789";

/** A real server over a fresh store, with a typed client; `dispose` tears both down. */
export interface ServedEvents {
  server: TollgateServer;
  tg: TollgateClient;
  /** Another client, on `address` (default the server's), with `key` (default the test key). */
  client(options?: { address?: string; key?: string }): TollgateClient;
  dispose(): Promise<void>;
}

export async function serveEvents(
  factory: StoreFactory,
  options: { store?: StoreOptions; server?: Partial<TollgateServerOptions> } = {},
): Promise<ServedEvents> {
  const opened: OpenedStore = await factory.open(options.store);
  const server = await startTollgateServer({
    store: opened.store,
    address: "127.0.0.1:0",
    logLevel: "silent",
    apiKeys: [
      { project: "events-tests", keySha256: hashApiKey(apiKey) },
      { project: "events-other", keySha256: hashApiKey(otherApiKey) },
    ],
    ...options.server,
  });
  const clients: TollgateClient[] = [];
  const client = (more: { address?: string; key?: string } = {}) => {
    const tg = createClient({
      address: more.address ?? server.address,
      apiKey: more.key ?? apiKey,
      retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
    });
    clients.push(tg);
    return tg;
  };
  return {
    server,
    tg: client(),
    client,
    async dispose() {
      for (const tg of clients) tg.close();
      // The factory deletes the test's keys before it closes the store; the server's shutdown
      // then finds its store closed already, which closing twice allows.
      await opened.dispose();
      await server.shutdown();
    },
  };
}

/** Collects a watch's events in the background until `stop()`. */
export function collectEvents(watch: AsyncIterable<WalletEvent>): {
  events: WalletEvent[];
  done: Promise<unknown>;
} {
  const events: WalletEvent[] = [];
  const done = (async () => {
    for await (const event of watch) events.push(event);
  })().catch((error: unknown) => error);
  return { events, done };
}

export { until } from "../support/eventually.js";
