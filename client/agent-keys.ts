import type {
  AgentKey as AgentKeyMessage,
  AgentKeyServiceClient,
} from "../gen/ts-proto/tollgate/v1/agent_key_service.js";
import { toCount } from "./amount.js";
import { required } from "./convert.js";
import { pages } from "./core.js";
import { invalidArgument } from "./errors/invalid-argument-error.js";
import { requestIdOf } from "./operations.js";
import type { CallOptions } from "./options.js";
import type { UnaryInvoker } from "./unary.js";
import type { Wallet } from "./wallet.js";

/** One agent key, as listed: never its secret, which only {@link AgentKeys.create} returns. */
export interface AgentKey {
  /** `ak_` and 24 hex digits; the secret's prefix names it. */
  id: string;
  /** The wallet the key is bound to; it reaches this wallet and its descendants. */
  walletId: string;
  /** Catalog services the key may pay for; empty means any. */
  services: string[];
  /** A label for people (the agent's role, say). */
  name: string;
  createdAt: Date;
  expiresAt: Date;
  /** Set once the key is revoked. */
  revokedAt: Date | undefined;
}

/** What a new agent key is bound to. */
export interface CreateAgentKeyInput {
  /** The wallet to bind the key to (a handle or its id); or give `walletId`. */
  wallet?: Wallet | string;
  /** The wallet's id, when there is no handle at hand. */
  walletId?: string;
  /** Services the key may pay for (at most 32); omitted or empty means any. */
  services?: readonly string[];
  /** Seconds until the key expires, 1..31536000 (a year); default 86400 (a day). */
  ttlSeconds?: number;
  /** A label, 0..64 characters. */
  name?: string;
}

/** A minted key: its record, and the bearer secret, shown this once. */
export interface CreatedAgentKey {
  key: AgentKey;
  /**
   * `tga_<id>_<43 base64url characters>`: what the agent sends as its API key
   * (`createClient({ apiKey })`). Only its hash is stored; keep it like any other secret.
   */
  secret: string;
}

/** Options of {@link AgentKeys.list}. */
export interface ListAgentKeysInput {
  /** Keys per page, 1..1000; default (0) 100. */
  pageSize?: number;
}

/**
 * Scoped agent keys (docs/credentials.md#agent-keys): a project key mints a key bound to one
 * wallet's subtree (and optionally some services) for an agent to run on, so a leaked agent secret
 * reaches that subtree's credits and nothing else. Every method needs a project key: an agent key
 * is refused PERMISSION_DENIED (`AGENT_KEY_NOT_ALLOWED`).
 */
export interface AgentKeys {
  /**
   * Mints a key. Idempotent by `options.requestId` (generated when omitted, reused on the client's
   * own retries): a retry returns the same key and secret.
   */
  create(input: CreateAgentKeyInput, options?: CallOptions): Promise<CreatedAgentKey>;
  /** Pages of the project's agent keys, newest first. */
  list(input?: ListAgentKeysInput, options?: CallOptions): AsyncIterable<AgentKey[]>;
  /**
   * Revokes a key at once: its calls, and every credential it obtained, are refused from then on.
   * Revoking twice is fine (the first revocation's time is kept).
   */
  revoke(keyId: string, options?: CallOptions): Promise<AgentKey>;
}

/** {@link AgentKeys} over the client's unary calls. */
export class AgentKeyDirectory implements AgentKeys {
  constructor(
    private readonly invoker: UnaryInvoker,
    private readonly stub: AgentKeyServiceClient,
  ) {}

  async create(input: CreateAgentKeyInput, options?: CallOptions): Promise<CreatedAgentKey> {
    const request = {
      walletId: walletIdOf(input),
      services: [...(input.services ?? [])],
      ttlSeconds: BigInt(toCount("ttl_seconds", input.ttlSeconds)),
      name: input.name ?? "",
      requestId: requestIdOf(options),
    };
    const response = await this.invoker.call(
      this.stub,
      this.stub.createAgentKey,
      request,
      options,
      { requestId: request.requestId, walletId: request.walletId },
    );
    return { key: toAgentKey(required(response.key, "key")), secret: response.secret };
  }

  list(input: ListAgentKeysInput = {}, options?: CallOptions): AsyncIterable<AgentKey[]> {
    const pageSize = toCount("page_size", input.pageSize);
    return pages(async (pageToken) => {
      const response = await this.invoker.call(
        this.stub,
        this.stub.listAgentKeys,
        { pageSize, pageToken },
        options,
        {},
      );
      return { items: response.keys.map(toAgentKey), nextPageToken: response.nextPageToken };
    });
  }

  async revoke(keyId: string, options?: CallOptions): Promise<AgentKey> {
    const response = await this.invoker.call(
      this.stub,
      this.stub.revokeAgentKey,
      { keyId },
      options,
      {},
    );
    return toAgentKey(required(response.key, "key"));
  }
}

/** The wallet id of `wallet` or `walletId` (exactly one). */
function walletIdOf(input: CreateAgentKeyInput): string {
  const { wallet, walletId } = input;
  if ((wallet === undefined) === (walletId === undefined)) {
    throw invalidArgument("wallet_id", "give exactly one of `wallet` and `walletId`");
  }
  if (walletId !== undefined) return walletId;
  return typeof wallet === "string" ? wallet : (wallet as Wallet).id;
}

function toAgentKey(message: AgentKeyMessage): AgentKey {
  return {
    id: message.id,
    walletId: message.walletId,
    services: [...message.services],
    name: message.name,
    createdAt: required(message.createdAt, "key.created_at"),
    expiresAt: required(message.expiresAt, "key.expires_at"),
    revokedAt: message.revokedAt,
  };
}
