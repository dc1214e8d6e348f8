import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { hashApiKey } from "../auth/api-keys.js";
import type { AgentScope } from "../auth/caller.js";
import { treeOf } from "../ledger/ids.js";
import { LedgerError } from "../ledger/ledger-error.js";
import { Reason } from "../ledger/reasons.js";
import type { Page } from "../ledger/types.js";
import { parse, requestId, walletId as walletIdSchema } from "../ledger/validation.js";
import type { AgentKeyRecord, AgentKeyStore } from "./agent-key-store.js";

/** What minting a key takes (the project key's request, validated here). */
export interface MintAgentKeyInput {
  walletId: string;
  services?: readonly string[];
  ttlSeconds?: number;
  name?: string;
  requestId: string;
}

/** A minted key: its record and the bearer secret, shown this once (and to a retry). */
export interface MintedAgentKey {
  record: AgentKeyRecord;
  secret: string;
}

const defaultTtlSeconds = 86_400;
const maxTtlSeconds = 31_536_000;
/** How long a looked-up key is trusted before it is read again (revocation elsewhere). */
export const agentKeyCacheMs = 1_000;
const maxCached = 10_000;

const mintInput = z.object({
  walletId: walletIdSchema,
  services: z
    .array(z.string().regex(/^[\x21-\x7e]{1,64}$/, "1..64 printable ASCII characters"))
    .max(32)
    .default([])
    .transform((s) => [...new Set(s)].sort()),
  ttlSeconds: z
    .number()
    .int()
    .min(0)
    .max(maxTtlSeconds)
    .default(0)
    .transform((t) => (t === 0 ? defaultTtlSeconds : t)),
  name: z.string().max(64).default(""),
  requestId,
});

/** `tga_<24 hex>_<43 base64url>`: the key id's hex, then the secret part. */
const tokenPattern = /^tga_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

/**
 * Scoped agent keys: minting (by a project key), authenticating a presented key, revoking.
 *
 * A key's id is derived from project and request id, and its secret from the id with a server
 * secret (HMAC), so a retried create answers the same key and secret, as every mutation is
 * idempotent by request id; only the secret's SHA-256 is stored. Lookups are cached for
 * {@link agentKeyCacheMs}: a revocation takes effect at once on the server that revoked, and
 * within that on other replicas.
 */
export class AgentKeys {
  private readonly cache = new Map<string, { record: AgentKeyRecord | undefined; atMs: number }>();

  constructor(
    private readonly store: AgentKeyStore,
    /** Derives secrets from key ids; keep it secret and the same on every replica. */
    private readonly derivationKey: Buffer,
    private readonly now: () => number,
  ) {}

  /** True when `authorization` carries an agent key (`Bearer tga_...`), valid or not. */
  static isAgentKey(token: string): boolean {
    return token.startsWith("tga_");
  }

  /**
   * Mints a key bound to `walletId` (which the caller checked exists in `project`).
   *
   * @throws LedgerError INVALID_ARGUMENT for a bad field, IDEMPOTENCY_KEY_REUSED when the request
   * id minted a different key, FAILED_PRECONDITION when the secret of a retried create cannot be
   * derived again (the server's signing key changed since).
   */
  async mint(project: string, input: MintAgentKeyInput): Promise<MintedAgentKey> {
    const { walletId, services, ttlSeconds, name, requestId } = parse(mintInput, input);
    const hex = createHash("sha256")
      .update(`agent-key\0${project}\0${requestId}`)
      .digest("hex")
      .slice(0, 24);
    const id = `ak_${hex}`;
    const secret = `tga_${hex}_${this.secretPart(project, id)}`;
    const fingerprint = createHash("sha256")
      .update(JSON.stringify({ walletId, services, ttlSeconds, name }))
      .digest("hex");
    const nowMs = this.now();
    const stored = await this.store.create({
      id,
      project,
      walletId,
      services,
      name,
      secretSha256: hashApiKey(secret),
      fingerprint,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + ttlSeconds * 1000,
    });
    if (stored.project !== project || stored.fingerprint !== fingerprint) {
      throw new LedgerError(
        Reason.IdempotencyKeyReused,
        "request_id was already used to mint a different agent key",
        { field: "request_id" },
      );
    }
    if (stored.secretSha256 !== hashApiKey(secret)) {
      throw new LedgerError(
        Reason.AgentKeySecretLost,
        `agent key ${id} was minted before the server's signing key changed, so its secret cannot be shown again: revoke it and mint another`,
        { key_id: id },
      );
    }
    return { record: stored, secret };
  }

  /**
   * The scope of a presented agent key.
   *
   * @throws LedgerError UNAUTHENTICATED when it is malformed, unknown, wrong, expired or revoked
   * (one message for the first three, so a caller learns nothing about which ids exist).
   */
  async authenticate(token: string): Promise<{ project: string; scope: AgentScope }> {
    const match = tokenPattern.exec(token);
    const record = match === null ? undefined : await this.lookup(`ak_${match[1]}`);
    if (record === undefined || !sameHash(record.secretSha256, hashApiKey(token))) {
      throw new LedgerError("UNAUTHENTICATED", "invalid API key");
    }
    const problem = this.unusable(record);
    if (problem !== undefined) throw new LedgerError("UNAUTHENTICATED", problem);
    return {
      project: record.project,
      scope: {
        keyId: record.id,
        walletId: record.walletId,
        rootId: treeOf(record.walletId),
        services: record.services,
      },
    };
  }

  /**
   * Why credentials obtained with key `keyId` may no longer be used (`agent key revoked`), or
   * undefined when they may. A key forgotten after its retention counts as revoked.
   */
  async refusalOf(keyId: string): Promise<string | undefined> {
    const record = await this.lookup(keyId);
    if (record === undefined) return "agent key unknown or revoked";
    if (record.revokedAtMs !== undefined) return "agent key revoked";
    if (record.expiresAtMs <= this.now()) return "agent key expired";
    return undefined;
  }

  async list(project: string, cursor: number, pageSize: number): Promise<Page<AgentKeyRecord>> {
    return this.store.list(project, cursor, pageSize);
  }

  /**
   * Revokes `keyId` of `project`: the key and its credentials are refused from now on.
   *
   * @throws LedgerError NOT_FOUND (reason AGENT_KEY_NOT_FOUND) when no such key is the project's.
   */
  async revoke(project: string, keyId: string): Promise<AgentKeyRecord> {
    const existing = /^ak_[0-9a-f]{24}$/.test(keyId) ? await this.store.get(keyId) : undefined;
    if (existing === undefined || existing.project !== project) {
      throw new LedgerError(Reason.AgentKeyNotFound, "no such agent key", {
        key_id: keyId.slice(0, 64),
      });
    }
    const revoked = (await this.store.revoke(keyId, this.now())) ?? existing;
    this.cache.set(keyId, { record: revoked, atMs: this.now() });
    return revoked;
  }

  private unusable(record: AgentKeyRecord): string | undefined {
    if (record.revokedAtMs !== undefined) return "agent key revoked";
    if (record.expiresAtMs <= this.now()) return "agent key expired";
    return undefined;
  }

  private async lookup(id: string): Promise<AgentKeyRecord | undefined> {
    const nowMs = this.now();
    const cached = this.cache.get(id);
    if (cached !== undefined && nowMs - cached.atMs < agentKeyCacheMs) return cached.record;
    const record = await this.store.get(id);
    if (this.cache.size >= maxCached) this.cache.clear();
    this.cache.set(id, { record, atMs: nowMs });
    return record;
  }

  private secretPart(project: string, id: string): string {
    return createHmac("sha256", this.derivationKey).update(`${project}\0${id}`).digest("base64url");
  }
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, "hex"), Buffer.from(b, "hex"));
}
