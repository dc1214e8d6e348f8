import { randomBytes } from "node:crypto";
import { credentials, Metadata } from "@grpc/grpc-js";
import {
  type SpendRequest,
  type SpendResponse,
  type SpendStreamRequest,
  type SpendStreamResponse,
  WalletServiceClient,
} from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import { fingerprint } from "../server/ledger/fingerprint.js";
import { createRedisClient } from "../server/store/redis/connect.js";
import { RedisLedgerStore } from "../server/store/redis/redis-ledger-store.js";
import { StreamCaller } from "./stream-caller.js";
import { benchProject, type TargetSettings } from "./targets.js";

/** What a scenario needs to reach the servers under test. */
export interface ScenarioContext {
  settings: TargetSettings;
  echoAddress: string;
  tollgateAddress: string;
}

/** One open scenario: the operation the load driver repeats, and its teardown. */
export interface Session {
  op(): Promise<unknown>;
  /**
   * Checks that the wallet was debited exactly `completed` credits (one per successful spend),
   * then releases the session's connections. Resolves with a problem to report, or undefined.
   */
  close(completed: number): Promise<string | undefined>;
  /** What the session measured besides latency, read after `close` (watchers, Redis calls). */
  measurements?(): SessionMeasurements;
}

/** Extra figures of a session. */
export interface SessionMeasurements {
  /** Commit-to-watcher latencies, ms, of every event every watcher received. */
  watcherLagMs?: number[];
  /** Redis script calls (EVALSHA) per successful spend, over the whole session. */
  redisCallsPerSpend?: number;
}

/** Which floor a row is compared with. */
export type Floor = "echo unary" | "echo stream";

/** One row of the report. */
export interface Scenario {
  name: string;
  floor: Floor;
  /** True for the rows that are the floors themselves. */
  isFloor: boolean;
  /** False for rows that never call the servers (their server CPU column stays empty). */
  usesServers: boolean;
  /** Which client drives the row; streaming rows are compared with unary rows of the same one. */
  client?: "generated stub" | "typed client";
  /**
   * Which target checks this row answers to, if any: the spend rows and the raw script row are
   * compared with each other and with the floors (issue #11), the watched rows with each other.
   */
  role?:
    | "unary spend"
    | "third-party unary spend"
    | "streaming spends"
    | "raw script"
    | "watched spends";
  /** Watchers attached to the spent wallet (watched spends rows). */
  watchers?: number;
  open(context: ScenarioContext): Promise<Session>;
}

/** Every spend is 1 credit against a wallet with far more budget than any run can use. */
export const budget = 1_000_000_000_000n;
/**
 * The service spent on: in the bench server's catalog at 1 credit (targets.ts), as a paid API
 * behind tollgate's gateway is, so its credential is the gateway's MAC.
 */
export const service = "search";
/** A service outside the catalog: a third party verifies its credential, signed Ed25519. */
export const thirdPartyService = "search-direct";
export const spendMetadata = { agent: "bench" };

export const echoUnary: Scenario = {
  name: "echo unary",
  floor: "echo unary",
  isFloor: true,
  usesServers: true,
  open: (context) => openStub(context, "unary", "echo"),
};

export const unarySpendStub: Scenario = {
  name: "unary Spend (generated stub)",
  floor: "echo unary",
  isFloor: false,
  usesServers: true,
  client: "generated stub",
  role: "unary spend",
  open: (context) => openStub(context, "unary", "tollgate"),
};

export const unarySpendThirdParty: Scenario = {
  name: "unary Spend, service outside the catalog (Ed25519 credential)",
  floor: "echo unary",
  isFloor: false,
  usesServers: true,
  client: "generated stub",
  role: "third-party unary spend",
  open: (context) => openStub(context, "unary", "tollgate", thirdPartyService),
};

export const echoStream: Scenario = {
  name: "echo stream",
  floor: "echo stream",
  isFloor: true,
  usesServers: true,
  open: (context) => openStub(context, "stream", "echo"),
};

export const streamingSpendsStub: Scenario = {
  name: "streaming spends (generated stub)",
  floor: "echo stream",
  isFloor: false,
  usesServers: true,
  client: "generated stub",
  role: "streaming spends",
  open: (context) => openStub(context, "stream", "tollgate"),
};

/**
 * Spends through the generated stub, one RPC each or multiplexed on one SpendStream. The echo
 * floors and the tollgate rows run this same code, so per call they do the same client-side work;
 * only outside the measured run does the tollgate session differ (it creates its wallet first and
 * checks its balance last).
 */
export async function openStub(
  { echoAddress, tollgateAddress, settings }: ScenarioContext,
  mode: "unary" | "stream",
  target: "echo" | "tollgate",
  spentOn = service,
): Promise<Session & { walletId: string }> {
  const onTollgate = target === "tollgate";
  const client = new WalletServiceClient(
    onTollgate ? tollgateAddress : echoAddress,
    credentials.createInsecure(),
  );
  const walletId = onTollgate ? await createWallet(client, settings.apiKey) : "w_echo";
  const requests = spendRequests(walletId, spentOn);
  const stream =
    mode === "stream"
      ? new StreamCaller<SpendStreamRequest, SpendStreamResponse>(
          client.spendStream(bearer(settings.apiKey)),
        )
      : undefined;
  return {
    walletId,
    op:
      stream === undefined
        ? () => unarySpend(client, requests(), settings.apiKey)
        : () => streamSpend(stream, requests()),
    close: async (completed) => {
      await stream?.close();
      const problem = onTollgate
        ? await checkSpent(client, settings.apiKey, walletId, completed)
        : undefined;
      client.close();
      return problem;
    },
  };
}

/**
 * The spend script with nothing in front of it: the same `RedisLedgerStore.spend` (ioredis
 * `defineCommand`, EVALSHA) the server runs, called from the bench process, so the row shows what
 * Redis and the script cost alone. The wallet is created through the server (same project), so
 * the script runs on a real tree.
 */
export const rawRedisScript: Scenario = {
  name: "raw Redis script",
  floor: "echo unary",
  isFloor: false,
  usesServers: false,
  role: "raw script",
  async open({ tollgateAddress, settings }) {
    const client = new WalletServiceClient(tollgateAddress, credentials.createInsecure());
    const walletId = await createWallet(client, settings.apiKey);
    const redis = createRedisClient(settings.redisUrl);
    redis.on("error", () => {});
    const store = new RedisLedgerStore(redis, { keyPrefix: settings.keyPrefix });
    const requests = spendRequests(walletId);
    return {
      op: () => storeSpend(store, requests()),
      close: async (completed) => {
        await store.close();
        const problem = await checkSpent(client, settings.apiKey, walletId, completed);
        client.close();
        return problem;
      },
    };
  },
};

/**
 * One spend straight on the store, as the ledger would hand it over for `request` (same
 * parameters, same fingerprint), in project {@link benchProject}.
 */
export function storeSpend(store: RedisLedgerStore, request: SpendRequest): Promise<unknown> {
  const { requestId, amount, ...rest } = request;
  const params = { ...rest, amount: Number(amount) };
  return store.spend({
    ...params,
    project: benchProject,
    requestId,
    nowMs: Date.now(),
    fingerprint: fingerprint("spend", params),
  });
}

/** `authorization: Bearer <key>`, sent to the echo server too so the headers weigh the same. */
export function bearer(apiKey: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${apiKey}`);
  return metadata;
}

/**
 * A supply of spend requests on `walletId`, each with its own request id: 1 credit to service
 * "search" with metadata {agent: "bench"}, the shape of every spend the bench makes.
 */
export function spendRequests(walletId: string, spentOn = service): () => SpendRequest {
  const tag = randomBytes(4).toString("hex");
  let sequence = 0;
  return () => {
    sequence += 1;
    return {
      walletId,
      amount: 1n,
      service: spentOn,
      metadata: spendMetadata,
      requestId: `${tag}-${sequence}`,
    };
  };
}

function unarySpend(
  client: WalletServiceClient,
  request: SpendRequest,
  apiKey: string,
): Promise<SpendResponse> {
  return new Promise((resolve, reject) => {
    client.spend(request, bearer(apiKey), (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

async function streamSpend(
  stream: StreamCaller<SpendStreamRequest, SpendStreamResponse>,
  request: SpendRequest,
): Promise<SpendResponse> {
  const answer = await stream.call({ spend: request });
  if (answer.spend === undefined) {
    throw new Error(`spend refused: ${answer.error?.message ?? "no result"}`);
  }
  return answer.spend;
}

async function createWallet(client: WalletServiceClient, apiKey: string): Promise<string> {
  const response = await new Promise<{ wallet?: { id: string } }>((resolve, reject) => {
    client.createWallet(
      {
        parentId: "",
        name: "bench",
        budget,
        hardCap: true,
        metadata: {},
        alertThresholds: [],
        requestId: `create-${randomBytes(8).toString("hex")}`,
      },
      bearer(apiKey),
      (error, created) => (error ? reject(error) : resolve(created)),
    );
  });
  if (response.wallet === undefined) throw new Error("CreateWallet answered without a wallet");
  return response.wallet.id;
}

/** {@link spentProblem} of the wallet as the server reports it. */
async function checkSpent(
  client: WalletServiceClient,
  apiKey: string,
  walletId: string,
  completed: number,
): Promise<string | undefined> {
  const response = await new Promise<{ wallet?: { spent: bigint } }>((resolve, reject) => {
    client.getWallet({ walletId }, bearer(apiKey), (error, got) =>
      error ? reject(error) : resolve(got),
    );
  });
  return spentProblem(walletId, response.wallet?.spent, completed);
}

/** A problem when `spent` is not exactly one credit per successful spend. */
export function spentProblem(
  walletId: string,
  spent: bigint | undefined,
  completed: number,
): string | undefined {
  return spent === BigInt(completed)
    ? undefined
    : `wallet ${walletId} spent ${spent} credits for ${completed} successful spends`;
}
