import type { ClientDuplexStream, Metadata, StatusObject } from "@grpc/grpc-js";
import { afterEach } from "vitest";
import type {
  SpendRequest,
  SpendStreamRequest,
  SpendStreamResponse,
} from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import type { TollgateServerOptions } from "../../server/server.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { defined } from "../support/grpc.js";
import { bearer, call, createRequest, type Harness, startHarness } from "./harness.js";
import type { StoreUnderTest } from "./stores.js";

/** The one API key (project `alpha`) the SpendStream suites' servers accept. */
export const apiKey = "stream-key-0123456789";

/** A client side of SpendStream that collects answers by correlation id. */
export interface StreamUnderTest {
  stream: ClientDuplexStream<SpendStreamRequest, SpendStreamResponse>;
  /** Sends one operation and resolves with its answer. */
  send(message: SpendStreamRequest): Promise<SpendStreamResponse>;
  /** Resolves with the answer to `correlationId` (sent by `stream.write`), once it arrives. */
  answerTo(correlationId: number): Promise<SpendStreamResponse>;
  /** Every answer received, in arrival order. */
  answers: SpendStreamResponse[];
  /** The stream's final status (OK included). */
  ended: Promise<StatusObject>;
}

/** Opens SpendStream with the suite's key (or `metadata`), collecting what comes back. */
export function openStream(h: Harness, metadata: Metadata = bearer(apiKey)): StreamUnderTest {
  const stream = h.wallets.spendStream(metadata);
  const answers: SpendStreamResponse[] = [];
  const waiting = new Map<number, (answer: SpendStreamResponse) => void>();
  stream.on("data", (answer: SpendStreamResponse) => {
    answers.push(answer);
    waiting.get(answer.correlationId)?.(answer);
    waiting.delete(answer.correlationId);
  });
  const ended = new Promise<StatusObject>((resolve) => stream.on("status", resolve));
  // A failed stream also emits 'error'; the status above is what the tests look at.
  stream.on("error", () => {});
  const answerTo = (correlationId: number) => {
    const arrived = answers.find((a) => a.correlationId === correlationId);
    if (arrived !== undefined) return Promise.resolve(arrived);
    return new Promise<SpendStreamResponse>((resolve) => waiting.set(correlationId, resolve));
  };
  return {
    stream,
    answers,
    ended,
    answerTo,
    send(message) {
      const answered = answerTo(message.correlationId);
      stream.write(message);
      return answered;
    },
  };
}

/** A SpendRequest with a fixed service and agent. */
export function spendOp(walletId: string, amount: bigint, requestId: string): SpendRequest {
  return { walletId, amount, service: "search", metadata: { agent: "a" }, requestId };
}

/** The correlation ids of `answers`, ascending. */
export function answeredIds(answers: SpendStreamResponse[]): number[] {
  return answers.map((a) => a.correlationId).sort((a, b) => a - b);
}

/** 1, 2, ..., n: the correlation ids of n operations sent in order. */
export function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** Server options for one test, plus a wrapper around the store under test. */
export type StartOptions = Partial<TollgateServerOptions> & {
  wrap?: (store: LedgerStore) => LedgerStore;
};

/**
 * Per-test servers over `open`'s store, shut down (and the store cleaned) after each test. Call it
 * inside a `describe`: it registers the `afterEach`.
 */
export function streamServers(open: () => StoreUnderTest) {
  let h: Harness | undefined;
  let opened: StoreUnderTest | undefined;
  afterEach(async () => {
    await h?.close();
    await opened?.cleanup();
    h = undefined;
    opened = undefined;
  });

  return {
    /** Starts a server on a fresh store (wrapped by `wrap`) that accepts {@link apiKey}. */
    async start(options: StartOptions = {}): Promise<Harness> {
      opened = open();
      const { wrap, ...rest } = options;
      h = await startHarness({
        store: wrap ? wrap(opened.store) : opened.store,
        apiKeys: [{ project: "alpha", keySha256: hashApiKey(apiKey) }],
        ...rest,
      });
      return h;
    },
    /** Creates a root wallet over unary and returns its id. */
    async createRoot(harness: Harness, budget: bigint, hardCap = true): Promise<string> {
      const { wallet } = await call(
        harness.wallets,
        harness.wallets.createWallet,
        createRequest({ requestId: `root-${budget}`, budget, hardCap }),
        bearer(apiKey),
      );
      return defined(wallet, "wallet").id;
    },
    /** The wallet's balances, read over unary. */
    async getWallet(harness: Harness, walletId: string) {
      const { wallet } = await call(
        harness.wallets,
        harness.wallets.getWallet,
        { walletId },
        bearer(apiKey),
      );
      return defined(wallet, "wallet");
    },
  };
}
