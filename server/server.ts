import { Server, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import { AgentKeyService } from "../gen/es/tollgate/v1/agent_key_service_pb.js";
import { CatalogService } from "../gen/es/tollgate/v1/catalog_service_pb.js";
import { CredentialService } from "../gen/es/tollgate/v1/credential_service_pb.js";
import { EventService } from "../gen/es/tollgate/v1/event_service_pb.js";
import { ReceiptService } from "../gen/es/tollgate/v1/receipt_service_pb.js";
import { WalletService } from "../gen/es/tollgate/v1/wallet_service_pb.js";
import { AgentKeyServiceService } from "../gen/ts-proto/tollgate/v1/agent_key_service.js";
import { CatalogServiceService } from "../gen/ts-proto/tollgate/v1/catalog_service.js";
import { CredentialServiceService } from "../gen/ts-proto/tollgate/v1/credential_service.js";
import { EventServiceService } from "../gen/ts-proto/tollgate/v1/event_service.js";
import { ReceiptServiceService } from "../gen/ts-proto/tollgate/v1/receipt_service.js";
import { AgentKeys } from "./agent-keys/agent-keys.js";
import { AccessPolicy } from "./auth/access-policy.js";
import type { ApiKey } from "./auth/api-keys.js";
import { Authenticator } from "./auth/authenticator.js";
import { type BindError, bindError } from "./bind-error.js";
import { Catalog } from "./catalog/catalog.js";
import { configDefaults, type LogLevel } from "./config.js";
import { CredentialIssuer } from "./credentials/credential-issuer.js";
import { CredentialRedeemer } from "./credentials/credential-redeemer.js";
import { defaultMaxWatchersPerProject, EventFeed } from "./events/event-feed.js";
import { type Gateway, startGateway } from "./gateway/gateway.js";
import { type HttpFace, startHttpFace } from "./http/http-face.js";
import { Ledger } from "./ledger/ledger.js";
import { createLogger, type Logger } from "./logger.js";
import { Metrics } from "./metrics/metrics.js";
import { agentKeyServiceBodies, agentKeyServiceHandlers } from "./rpc/agent-key-service.js";
import type { RpcDependencies, ServedService } from "./rpc/bodies.js";
import { catalogServiceBodies, catalogServiceHandlers } from "./rpc/catalog-service.js";
import { credentialServiceBodies, credentialServiceHandlers } from "./rpc/credential-service.js";
import {
  defaultWatchStallMs,
  eventServiceBodies,
  eventServiceDefinition,
  eventServiceHandlers,
  watchStallLimit,
} from "./rpc/event-service.js";
import { StoreHealth } from "./rpc/health.js";
import { tolerantRequests } from "./rpc/malformed-request.js";
import { OpenStreams } from "./rpc/open-streams.js";
import { receiptServiceBodies, receiptServiceHandlers } from "./rpc/receipt-service.js";
import { reflectionService } from "./rpc/reflection.js";
import {
  walletServiceBodies,
  walletServiceDefinition,
  walletServiceHandlers,
} from "./rpc/wallet-service.js";
import type { LedgerStore } from "./store/ledger-store.js";
import { isObservableStore } from "./store/script-observer.js";
import { Sweeper } from "./sweeper.js";

/** Everything {@link startTollgateServer} needs; only `store` is required. */
export interface TollgateServerOptions {
  /**
   * The ledger's store. Once the server has started it owns the store: `shutdown()` closes it
   * after the last call has finished. (If start fails, the caller still owns it.)
   */
  store: LedgerStore;
  /** host:port; port 0 binds a free port. Default `127.0.0.1:50051` (see `TollgateConfig`). */
  address?: string;
  /**
   * host:port of the HTTP face (Connect protocol, gRPC-Web, JSON, and `GET /metrics`); port 0
   * binds a free port. Default: no HTTP face, so an embedded server (tests, benchmarks) opens one
   * port only unless it asks; `main` always passes `TOLLGATE_HTTP_ADDRESS` (default
   * `127.0.0.1:8080`).
   */
  httpAddress?: string;
  /** See `TollgateConfig.metricsMaxSpendLabelPairs`. Default 500. */
  metricsMaxSpendLabelPairs?: number;
  /** Hashed API keys, each bound to a project. Default none: open mode, project "default". */
  apiKeys?: readonly ApiKey[];
  /**
   * Signs spend and hold credentials. Default: a freshly generated Ed25519 key with a 60 s TTL,
   * which is what tests and the embedded default want; `main` passes the configured key.
   */
  credentials?: CredentialIssuer;
  /** Epoch milliseconds. Default `Date.now`; tests inject a clock to drive hold expiry. */
  now?: () => number;
  /** Where call lines go. Default: a pino logger on stdout at `logLevel`. */
  logger?: Logger;
  /** Used only when `logger` is not given. Default `info`. */
  logLevel?: LogLevel;
  /**
   * How long `shutdown()` lets in-flight calls run before cancelling them. Default 10000. Open
   * SpendStreams do not count against it unless stuck: shutdown winds them down at once.
   */
  shutdownGraceMs?: number;
  /** Largest request accepted, in bytes. Default 65536 (see `TollgateConfig`). */
  maxMessageBytes?: number;
  /** Store ping period for the health service. Default 5000. */
  healthIntervalMs?: number;
  /** How often idle trees are swept for due holds (see `Sweeper`). Default 1000. */
  sweepIntervalMs?: number;
  /** TLS, e.g. `ServerCredentials.createSsl(...)`. Default plaintext (TLS terminated in front). */
  tls?: ServerCredentials;
  /**
   * The paid services whose price the server sets and the gateway forwards to. Default: none.
   */
  catalog?: Catalog;
  /**
   * host:port of the paid-API gateway (`/<service>/<path>`, server/gateway/gateway.ts); port 0
   * binds a free port. Default: no gateway, as for the HTTP face; `main` passes
   * `TOLLGATE_GATEWAY_ADDRESS`.
   */
  gatewayAddress?: string;
  /** How long a gateway caller has to send a whole request. Default 30000 (`startGateway`). */
  gatewayRequestTimeoutMs?: number;
  /** Open WatchEvents per project. Default 32 (see `TollgateConfig`). */
  maxWatchersPerProject?: number;
  /** How long a watcher may leave events unread. Default 30000 (see `TollgateConfig`). */
  watchStallMs?: number;
}

/** A running server. */
export interface TollgateServer {
  /** The bound port (the real one when the address asked for port 0). */
  readonly port: number;
  /** host:port actually bound, e.g. `127.0.0.1:43121`. */
  readonly address: string;
  /** The HTTP face's bound port; undefined when it was not asked for (`httpAddress`). */
  readonly httpPort: number | undefined;
  /** The HTTP face's host:port actually bound; undefined when it was not asked for. */
  readonly httpAddress: string | undefined;
  /** The gateway's bound port; undefined when it was not asked for (`gatewayAddress`). */
  readonly gatewayPort: number | undefined;
  /** The gateway's host:port actually bound; undefined when it was not asked for. */
  readonly gatewayAddress: string | undefined;
  /** True when no API keys are configured (every caller is project "default"). */
  readonly authOpen: boolean;
  /**
   * Graceful stop, idempotent: health turns NOT_SERVING, the listeners (gRPC and HTTP) close and
   * new calls are refused, every open SpendStream stops reading, answers its running operations
   * and ends with UNAVAILABLE (so its client resends the rest elsewhere), every open server stream
   * (on either transport) ends with UNAVAILABLE (its client resumes elsewhere), in-flight calls
   * get `shutdownGraceMs` to finish (then are cancelled), and the store is closed. Resolves when all of that is done:
   * as soon as the last call ends, not at the grace deadline.
   */
  shutdown(): Promise<void>;
}

/**
 * Largest response sent. The biggest valid response is a 1000-line ListCharges page whose lines
 * all carry maximal metadata (~21.6 MB in four-byte characters), so 32 MiB never refuses a valid
 * answer while still bounding what a bug could put on the wire. Clients with grpc's 4 MiB default
 * receive limit should page with smaller `page_size` when lines carry heavy metadata.
 */
const maxSendMessageBytes = 32 * 1024 * 1024;

/**
 * Starts the gRPC server: WalletService and ReceiptService over a {@link Ledger} on `store`,
 * EventService over an {@link EventFeed} on the same store, the standard health service (driven
 * by `store.ping()`), and server reflection; and, with `httpAddress`, the HTTP face serving the
 * same bodies over Connect and gRPC-Web, and the Prometheus metrics. Resolves once the ports are
 * bound, or rejects with a {@link BindError} saying which cannot be and why (in use, not an
 * address of this machine, ...). Plaintext unless `tls` is given; terminating TLS in front (a
 * proxy or mesh) is as usual for a service that runs next to its callers.
 */
export async function startTollgateServer(options: TollgateServerOptions): Promise<TollgateServer> {
  const logger = options.logger ?? createLogger(options.logLevel ?? configDefaults.logLevel);
  const address = options.address ?? configDefaults.address;
  const graceMs = options.shutdownGraceMs ?? configDefaults.shutdownGraceMs;
  const credentials =
    options.credentials ??
    (await CredentialIssuer.create(undefined, configDefaults.credentialTtlSeconds * 1000));
  const now = options.now ?? Date.now;
  const catalog = options.catalog ?? Catalog.empty();
  const agentKeys = new AgentKeys(
    options.store.agentKeys,
    credentials.derivedSecret("tollgate agent keys v1"),
    now,
  );
  const authenticator = new Authenticator(options.apiKeys ?? [], agentKeys);
  const redeemer = new CredentialRedeemer(
    credentials,
    options.store.redemptions,
    agentKeys,
    now,
    options.store,
  );
  const streams = new OpenStreams();
  const serverStreams = new OpenStreams();
  const metrics = new Metrics({ maxSpendLabelPairs: options.metricsMaxSpendLabelPairs });
  metrics.countSpendStreams(() => streams.size);
  if (isObservableStore(options.store)) {
    options.store.observeScripts((store, script, seconds) =>
      metrics.observeStoreScript(store, script, seconds),
    );
  }
  const deps: RpcDependencies = {
    ledger: new Ledger(options.store, credentials, { now, catalog }),
    authenticator,
    access: new AccessPolicy(options.store, now, catalog),
    logger,
    metrics,
    streams,
    serverStreams,
  };
  const maxMessageBytes = options.maxMessageBytes ?? configDefaults.maxMessageBytes;

  const server = new Server(serverOptions(maxMessageBytes));
  // Undecodable requests reach the handlers, which refuse them INVALID_ARGUMENT with an ErrorInfo.
  server.addService(tolerantRequests(walletServiceDefinition), walletServiceHandlers(deps));
  server.addService(tolerantRequests(ReceiptServiceService), receiptServiceHandlers(deps));
  const events = new EventFeed(options.store, {
    now,
    maxWatchersPerProject: options.maxWatchersPerProject ?? defaultMaxWatchersPerProject,
  });
  const watchStallMs = options.watchStallMs ?? defaultWatchStallMs;
  const eventBodies = eventServiceBodies(events, (committedMs) =>
    metrics.observeWatcherLag(committedMs, now()),
  );
  server.addService(
    tolerantRequests(eventServiceDefinition),
    eventServiceHandlers({ ...deps, events, watchStallMs }, eventBodies),
  );
  const agentKeyBodies = agentKeyServiceBodies({ ledger: deps.ledger, agentKeys });
  server.addService(
    tolerantRequests(AgentKeyServiceService),
    agentKeyServiceHandlers(deps, agentKeyBodies),
  );
  const credentialBodies = credentialServiceBodies({ issuer: credentials, redeemer, now });
  server.addService(
    tolerantRequests(CredentialServiceService),
    credentialServiceHandlers(deps, credentialBodies),
  );
  const catalogBodies = catalogServiceBodies(catalog);
  server.addService(
    tolerantRequests(CatalogServiceService),
    catalogServiceHandlers(deps, catalogBodies),
  );
  const health = new StoreHealth(
    options.store,
    options.healthIntervalMs ?? configDefaults.healthIntervalMs,
  );
  health.implementation.addToServer(server);
  reflectionService().addToServer(server);

  const port = await bind(server, address, options.tls ?? ServerCredentials.createInsecure());
  let http: HttpFace | undefined;
  if (options.httpAddress !== undefined) {
    // The same bodies as the grpc-js handlers above: one set per service, two transports.
    const services: ServedService[] = [
      {
        descriptor: WalletService,
        definition: walletServiceDefinition,
        bodies: { ...walletServiceBodies(deps) },
      },
      {
        descriptor: ReceiptService,
        definition: ReceiptServiceService,
        bodies: { ...receiptServiceBodies(deps) },
      },
      {
        descriptor: EventService,
        definition: EventServiceService,
        bodies: { ...eventBodies },
        stallLimits: { watchEvents: watchStallLimit(watchStallMs) },
      },
      {
        descriptor: AgentKeyService,
        definition: AgentKeyServiceService,
        bodies: { ...agentKeyBodies },
      },
      {
        descriptor: CredentialService,
        definition: CredentialServiceService,
        bodies: { ...credentialBodies },
      },
      {
        descriptor: CatalogService,
        definition: CatalogServiceService,
        bodies: { ...catalogBodies },
      },
    ];
    try {
      http = await startHttpFace({
        address: options.httpAddress,
        deps,
        services,
        maxMessageBytes,
        maxSendMessageBytes,
        jwks: () => credentials.jwks(now()),
      });
    } catch (error) {
      server.forceShutdown();
      throw error;
    }
  }
  let gateway: Gateway | undefined;
  if (options.gatewayAddress !== undefined) {
    try {
      gateway = await startGateway({
        address: options.gatewayAddress,
        catalog,
        ledger: deps.ledger,
        redeemer,
        authenticator,
        policy: deps.access,
        redemptions: options.store.redemptions,
        logger,
        metrics,
        now,
        requestTimeoutMs: options.gatewayRequestTimeoutMs,
      });
    } catch (error) {
      server.forceShutdown();
      await http?.close(0);
      throw error;
    }
  }
  health.start();
  void health.probe();
  const sweeper = new Sweeper(
    options.store,
    options.sweepIntervalMs ?? configDefaults.sweepIntervalMs,
    now,
    logger,
  );
  sweeper.start();

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      health.stop();
      // Close the listener first, so clients of the wound-down streams reconnect elsewhere
      // instead of to this server.
      const drained = drain(server, graceMs, logger);
      const httpClosed = http?.close(graceMs);
      const gatewayClosed = gateway?.close(graceMs);
      streams.windDownAll();
      serverStreams.windDownAll();
      await Promise.all([drained, httpClosed, gatewayClosed, sweeper.stop()]);
      try {
        await options.store.close();
      } catch (error) {
        logger.error({ err: error }, "closing the store failed");
      }
    })();
    return stopping;
  };

  return {
    port,
    address: `${address.slice(0, address.lastIndexOf(":"))}:${port}`,
    httpPort: http?.port,
    httpAddress: http?.address,
    gatewayPort: gateway?.port,
    gatewayAddress: gateway?.address,
    authOpen: authenticator.open,
    shutdown,
  };
}

/** grpc-js channel options, each chosen on purpose. */
function serverOptions(maxMessageBytes: number): ServerOptions {
  return {
    // Requests are small (~22 KB at most); refuse bigger ones before decoding them.
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxSendMessageBytes,
    // Ping each connection every 60 s and drop it if the ack takes over 20 s: frees the sessions
    // (and later, open streams) of agents that died or sit behind a NAT that forgot them, well
    // before typical cloud load-balancer idle timeouts (350 s AWS NLB) cut them silently.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    // No max connection age: long-lived streaming sessions are the high-rate path
    // (docs/architecture.md#why-a-streaming-mode), and forcing reconnects would cut them for no
    // benefit while there is one replica per address.
    // Cap concurrent streams per connection so one client cannot open unbounded work; 1000 is far
    // above the 16-64 in flight the benchmarks use.
    "grpc.max_concurrent_streams": 1000,
  };
}

function bind(server: Server, address: string, tls: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, tls, (error, port) =>
      error ? reject(bindError(address, error)) : resolve(port),
    );
  });
}

/** tryShutdown waits for in-flight calls; past the grace deadline, forceShutdown cancels them. */
function drain(server: Server, graceMs: number, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      logger.warn({ graceMs }, "shutdown grace period over: cancelling in-flight calls");
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(deadline);
      resolve();
    });
  });
}
