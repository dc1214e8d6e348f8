import type { AgentKeyRecord, AgentKeyStore } from "../../agent-keys/agent-key-store.js";
import { agentKeyRetentionMs } from "../../agent-keys/agent-key-store.js";
import type { Page } from "../../ledger/types.js";
import type { RedisClient } from "./connect.js";
import { agentKeyKey, projectAgentKeysKey } from "./keys.js";
import type { StoreConnection } from "./store-connection.js";

/**
 * Agent keys in Redis (layout in keys.ts): each record a hash of its own, written once with HSETNX
 * so a retried create keeps the first; `revoked` set once with HSETNX too. Every command touches
 * one key, so this runs on a cluster unchanged.
 */
export class RedisAgentKeyStore implements AgentKeyStore {
  constructor(
    private readonly connection: StoreConnection,
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async create(record: AgentKeyRecord): Promise<AgentKeyRecord> {
    const key = agentKeyKey(this.prefix, record.id);
    const { revokedAtMs: _never, ...stored } = record;
    const created = await this.connection.call(() =>
      this.redis.hsetnx(key, "r", JSON.stringify(stored)),
    );
    if (created === 1) {
      // Listed after it exists: a crash between the two leaves a key that works but is not
      // listed, never a listed id without a key.
      // Relative to now (the key's lifetime plus the retention), so neither Redis's clock nor this
      // server's decides alone when the record goes.
      const lifetimeMs = record.expiresAtMs - record.createdAtMs + agentKeyRetentionMs;
      await this.connection.call(() => this.redis.pexpire(key, lifetimeMs));
      await this.connection.call(() =>
        this.redis.zadd(
          projectAgentKeysKey(this.prefix, record.project),
          record.createdAtMs,
          record.id,
        ),
      );
      return record;
    }
    return (await this.get(record.id)) ?? record;
  }

  async get(id: string): Promise<AgentKeyRecord | undefined> {
    const fields = await this.connection.call(() =>
      this.redis.hmget(agentKeyKey(this.prefix, id), "r", "revoked"),
    );
    return decode(fields[0] ?? null, fields[1] ?? null);
  }

  async list(project: string, cursor: number, pageSize: number): Promise<Page<AgentKeyRecord>> {
    const listKey = projectAgentKeysKey(this.prefix, project);
    const ids = await this.connection.call(() =>
      this.redis.zrevrange(listKey, cursor, cursor + pageSize),
    );
    const items: AgentKeyRecord[] = [];
    for (const id of ids.slice(0, pageSize)) {
      const record = await this.get(id);
      if (record !== undefined) items.push(record);
      else await this.connection.call(() => this.redis.zrem(listKey, id));
    }
    return { items, nextCursor: ids.length > pageSize ? cursor + pageSize : undefined };
  }

  async revoke(id: string, atMs: number): Promise<AgentKeyRecord | undefined> {
    const key = agentKeyKey(this.prefix, id);
    if ((await this.get(id)) === undefined) return undefined;
    await this.connection.call(() => this.redis.hsetnx(key, "revoked", String(atMs)));
    return this.get(id);
  }
}

function decode(json: string | null, revoked: string | null): AgentKeyRecord | undefined {
  if (json === null) return undefined;
  const record = JSON.parse(json) as AgentKeyRecord;
  if (revoked !== null) record.revokedAtMs = Number(revoked);
  return record;
}
