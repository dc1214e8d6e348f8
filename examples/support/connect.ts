/**
 * How every example reaches a tollgate: the server at `TOLLGATE_ADDRESS` (with
 * `TOLLGATE_API_KEY` when it has keys), or, when that is unset, an embedded server on a free port
 * over the in-memory store, so an example runs with nothing else started. `TOLLGATE_MODE=stream`
 * sends every charge over the client's multiplexed SpendStream instead of one RPC each.
 *
 * Paid tools go through tollgate's gateway with one agent key per agent, so no agent holds an
 * upstream key: the embedded server gets a catalog of the example's services, all served by a
 * local paid API (support/upstream.ts) whose secret only the server side is given, and its
 * gateway on a free port. Against an external server they do when `TOLLGATE_GATEWAY_URL` names its
 * gateway (whose catalog must then list the example's services); without it the tools charge
 * their wallets directly over gRPC, as they did before the gateway (that server may have no
 * catalog at all).
 */
import { randomBytes } from "node:crypto";
import {
  createClient,
  type Mode,
  type TollgateClient,
  UnavailableError,
  type Wallet,
} from "../../client/index.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { Catalog } from "../../server/catalog/catalog.js";
import { createLogger } from "../../server/logger.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";
import { type PaidApi, startPaidApi } from "./upstream.js";

/** A paid service an example's tools call: its catalog name and price per call. */
export interface ExampleService {
  name: string;
  price: number;
}

/** Paid calls through the gateway: how an example hands each agent its own scoped key. */
export interface ExampleGateway {
  /** The gateway's base URL. */
  url: string;
  /**
   * Mints an agent key bound to `wallet` (and its subtree) and `service`, and returns the
   * wallet's handle on a client that authenticates with that key: what the agent runs on.
   */
  agentWallet(wallet: Wallet, service: string, agent: string): Promise<Wallet>;
}

/** What an example's body gets: a connected client, where it points, and the charging mode. */
export interface ExampleContext {
  /** The project's client (the owner's key): creates wallets and mints agent keys. */
  tg: TollgateClient;
  /** Where the client points, for the example's first line of output. */
  where: string;
  mode: Mode;
  /** Set when paid tools go through the gateway; undefined when they charge directly. */
  gateway: ExampleGateway | undefined;
}

/** How long an example's agent keys live: the run, with room to spare. */
const agentKeyTtlSeconds = 3600;

/**
 * Runs `body` with a client, then closes the clients (and the embedded server and paid API, if
 * they were started). An unreachable server ends the process with exit code 1 and a hint, not a
 * stack.
 */
export async function runExample(
  body: (context: ExampleContext) => Promise<void>,
  services: readonly ExampleService[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const mode: Mode = env.TOLLGATE_MODE === "stream" ? "stream" : "unary";
  const address = env.TOLLGATE_ADDRESS || undefined;
  const embedded = address ? undefined : await startEmbedded(services);
  const target = address ?? embedded?.server.address ?? "";
  const apiKey = embedded?.ownerKey ?? (env.TOLLGATE_API_KEY || undefined);
  const gatewayUrl = embedded?.gatewayUrl ?? (env.TOLLGATE_GATEWAY_URL || undefined);
  const tg = createClient({ address: target, apiKey, mode, gatewayUrl });
  const agents: TollgateClient[] = [];
  const gateway: ExampleGateway | undefined =
    gatewayUrl === undefined
      ? undefined
      : {
          url: gatewayUrl,
          async agentWallet(wallet, service, agent) {
            const { secret } = await tg.agentKeys.create({
              wallet,
              services: [service],
              name: agent,
              ttlSeconds: agentKeyTtlSeconds,
            });
            const client = createClient({ address: target, apiKey: secret, mode, gatewayUrl });
            agents.push(client);
            return client.wallets.get(wallet.id);
          },
        };
  const where = embedded ? `embedded in-memory server at ${target}` : target;
  try {
    await body({ tg, where, mode, gateway });
  } catch (error) {
    if (!(error instanceof UnavailableError)) throw error;
    console.error(`${error.message}\nis tollgate running at ${target}? start it with npm start`);
    process.exitCode = 1;
  } finally {
    for (const agent of agents) agent.close();
    tg.close();
    await embedded?.server.shutdown();
    await embedded?.api.close();
  }
}

/** The first words of an example's output: where it runs, and how its tools pay. */
export function describeRun({ where, mode, gateway }: ExampleContext): string {
  return gateway === undefined
    ? `${where}, ${mode} mode`
    : `${where}, paid calls through the gateway at ${gateway.url} with one agent key per agent`;
}

interface Embedded {
  server: TollgateServer;
  api: PaidApi;
  /** The project key of the example's owner: agents get agent keys, never this. */
  ownerKey: string;
  gatewayUrl: string;
}

/**
 * An in-memory server with its gateway and a catalog of `services`, all answered by one local
 * paid API. The API's secret is handed to the catalog (the server side) and nowhere else: not
 * this process's environment, not a client.
 */
async function startEmbedded(services: readonly ExampleService[]): Promise<Embedded> {
  const upstreamSecret = `sk-example-${randomBytes(16).toString("hex")}`;
  const api = await startPaidApi(upstreamSecret);
  const ownerKey = `tg-example-owner-${randomBytes(16).toString("hex")}`;
  const serverEnv = { EXAMPLE_UPSTREAM_SECRET: upstreamSecret };
  const catalog = Catalog.fromEntries(
    services.map((service) => ({
      project: "default",
      name: service.name,
      upstream: api.url,
      price: { credits: service.price },
      auth: { secretEnv: "EXAMPLE_UPSTREAM_SECRET" },
      methods: ["GET"],
      timeoutMs: 10_000,
    })),
    serverEnv,
  );
  try {
    const server = await startTollgateServer({
      store: new MemoryLedgerStore(),
      address: "127.0.0.1:0",
      gatewayAddress: "127.0.0.1:0",
      apiKeys: [{ project: "default", keySha256: hashApiKey(ownerKey) }],
      catalog,
      // Silent: an example's output is its story, not the server's call log.
      logger: createLogger("silent"),
    });
    return { server, api, ownerKey, gatewayUrl: `http://${server.gatewayAddress}` };
  } catch (error) {
    await api.close();
    throw error;
  }
}
