import {
  type ChannelCredentials,
  credentials,
  type ClientOptions as GrpcClientOptions,
} from "@grpc/grpc-js";
import { AgentKeyServiceClient } from "../gen/ts-proto/tollgate/v1/agent_key_service.js";
import { CatalogServiceClient } from "../gen/ts-proto/tollgate/v1/catalog_service.js";
import { CredentialServiceClient } from "../gen/ts-proto/tollgate/v1/credential_service.js";
import { EventServiceClient } from "../gen/ts-proto/tollgate/v1/event_service.js";
import { ReceiptServiceClient } from "../gen/ts-proto/tollgate/v1/receipt_service.js";
import { WalletServiceClient } from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import { AgentKeyDirectory, type AgentKeys } from "./agent-keys.js";
import { type AuditReport, auditTree } from "./audit.js";
import { listServices, type PaidService } from "./catalog.js";
import type { ClientCore } from "./core.js";
import { CredentialCalls, type Credentials, type SigningKeys } from "./credentials.js";
import {
  type EventWatch,
  type ListEventsOptions,
  listEvents,
  type WalletEvent,
  type WatchOptions,
  watchEvents,
} from "./events.js";
import { type Gateway, GatewayFetcher } from "./gateway.js";
import { UnaryOperations } from "./operations.js";
import {
  type CallOptions,
  type ClientOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./options.js";
import { type SpendStream, StreamChannel } from "./spend-stream.js";
import { UnaryInvoker } from "./unary.js";
import { WalletDirectory, type Wallets } from "./wallets.js";

/** The events of every tree of a project. */
export interface ProjectEvents {
  /** Every tree's events as they commit; resumes by cursor after a broken stream. */
  watch(options?: WatchOptions): EventWatch;
  /** One page of every tree's events. */
  list(options?: ListEventsOptions): Promise<{ events: WalletEvent[]; nextCursor: string }>;
}

/** A connection to one tollgate server. */
export interface TollgateClient {
  /** Wallet handles: create, get, list. */
  readonly wallets: Wallets;
  /** Events of every tree of the caller's project (a wallet's own: `wallet.watch()`). */
  readonly events: ProjectEvents;
  /** Scoped agent keys: mint one per agent, bound to its wallet's subtree (project keys only). */
  readonly agentKeys: AgentKeys;
  /** Redeem a credential once, as a paid service does (public: no API key needed). */
  readonly credentials: Credentials;
  /** Paid calls through tollgate's gateway (needs the `gatewayUrl` option). */
  readonly gateway: Gateway;
  /**
   * The public keys credentials are signed with, as a JWK Set for `verifyCredential`
   * (`tollgate/verify`); public: no API key needed.
   */
  signingKeys(options?: CallOptions): Promise<SigningKeys>;
  /** The caller's project's paid services (for an agent key: those it may pay for). */
  services(options?: CallOptions): Promise<PaidService[]>;
  /**
   * Re-verifies the hash chain of `walletId`'s tree and recomputes every wallet's totals from
   * its lines (docs/events.md#the-hash-chain); names the first line that breaks.
   */
  audit(walletId: string, options?: CallOptions): Promise<AuditReport>;
  /** The client's shared streaming channel (opened lazily, reconnects, replays unanswered ops). */
  stream(): SpendStream;
  /**
   * Closes the stream (its unanswered operations reject with CLIENT_CLOSED; they may have been
   * applied) and the channel; later calls reject with CLIENT_CLOSED. Idempotent. Unary calls
   * already in flight still finish; nothing else the client started keeps the process alive.
   */
  close(): void;
}

/**
 * The largest response accepted, in bytes: the server's own send limit (server/server.ts), which
 * a 1000-line ListCharges page with maximal metadata can approach (~21.6 MB), far past grpc's
 * default 4 MiB receive limit.
 */
const maxReceiveMessageBytes = 32 * 1024 * 1024;

/**
 * grpc-js channel options, each on purpose. Reconnect backoff: grpc's default grows to 120 s,
 * which would leave agents failing (closed) for minutes after a server restart; a spend-control
 * service next to its callers should be retried within about a second.
 */
function channelOptions(settings: ResolvedOptions): Partial<GrpcClientOptions> {
  return {
    "grpc.max_receive_message_length": maxReceiveMessageBytes,
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
    interceptors: settings.interceptors,
  };
}

function channelCredentials(tls: ResolvedOptions["tls"]): ChannelCredentials {
  if (tls === undefined || tls === false) return credentials.createInsecure();
  if (tls === true) return credentials.createSsl();
  return credentials.createSsl(
    tls.rootCerts ?? null,
    tls.privateKey ?? null,
    tls.certChain ?? null,
  );
}

/**
 * Connects to a tollgate server (lazily: the first call connects):
 *
 * ```ts
 * const tg = createClient({ address: "127.0.0.1:50051", apiKey });
 * const task = await tg.wallets.create({ name: "research", budget: 1000, hardCap: true });
 * const { credential } = await task.spend(5, { service: "web-search" });
 * ```
 *
 * Every call has a deadline (default 5000 ms per attempt), takes an AbortSignal, and is retried
 * on UNAVAILABLE / DEADLINE_EXCEEDED with its request id unchanged (see {@link ClientOptions}).
 */
export function createClient(options: ClientOptions): TollgateClient {
  const settings = resolveOptions(options);
  const creds = channelCredentials(settings.tls);
  const wallets = new WalletServiceClient(settings.address, creds, channelOptions(settings));
  // One channel for every service: one connection, one TLS handshake.
  const channel = { channelOverride: wallets.getChannel(), interceptors: settings.interceptors };
  const receipts = new ReceiptServiceClient(settings.address, creds, channel);
  const events = new EventServiceClient(settings.address, creds, channel);
  const agentKeys = new AgentKeyServiceClient(settings.address, creds, channel);
  const credentialStub = new CredentialServiceClient(settings.address, creds, channel);
  const catalog = new CatalogServiceClient(settings.address, creds, channel);
  const invoker = new UnaryInvoker(settings);
  const gateway = new GatewayFetcher(settings);
  const credentialCalls = new CredentialCalls(invoker, credentialStub);
  const unary = new UnaryOperations(invoker, wallets);
  let closed = false;
  let stream: StreamChannel | undefined;
  const openStream = () => {
    if (stream === undefined) {
      stream = new StreamChannel(wallets, invoker, settings);
      // First asked for after close(): born closed, so its calls reject with CLIENT_CLOSED.
      if (closed) stream.close();
    }
    return stream;
  };
  const core: ClientCore = {
    invoker,
    wallets,
    receipts,
    events,
    gateway,
    retry: settings.retry,
    mode: settings.mode,
    operations: (mode) => (mode === "stream" ? openStream() : unary),
  };
  return {
    wallets: new WalletDirectory(core),
    events: {
      watch: (options) => watchEvents(core, "", options),
      list: (options) => listEvents(core, "", options),
    },
    agentKeys: new AgentKeyDirectory(invoker, agentKeys),
    credentials: credentialCalls,
    gateway,
    signingKeys: (options) => credentialCalls.signingKeys(options),
    services: (options) => listServices(invoker, catalog, options),
    audit: (walletId, options) => auditTree(core, walletId, options),
    stream: openStream,
    close() {
      if (closed) return;
      closed = true;
      invoker.close();
      gateway.close();
      // Only a stream that exists has anything to close.
      stream?.close();
      wallets.close();
    },
  };
}
