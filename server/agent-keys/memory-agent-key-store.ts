import type { Page } from "../ledger/types.js";
import type { AgentKeyRecord, AgentKeyStore } from "./agent-key-store.js";

/** The embedded store's agent keys: a map, gone with the process like the rest of its ledger. */
export class MemoryAgentKeyStore implements AgentKeyStore {
  private readonly keys = new Map<string, AgentKeyRecord>();
  private readonly byProject = new Map<string, string[]>();

  async create(record: AgentKeyRecord): Promise<AgentKeyRecord> {
    const existing = this.keys.get(record.id);
    if (existing !== undefined) return { ...existing };
    this.keys.set(record.id, { ...record, services: [...record.services] });
    const ids = this.byProject.get(record.project) ?? [];
    ids.push(record.id);
    this.byProject.set(record.project, ids);
    return { ...record };
  }

  async get(id: string): Promise<AgentKeyRecord | undefined> {
    const record = this.keys.get(id);
    return record === undefined ? undefined : { ...record };
  }

  async list(project: string, cursor: number, pageSize: number): Promise<Page<AgentKeyRecord>> {
    const ids = [...(this.byProject.get(project) ?? [])].reverse();
    const items = ids
      .slice(cursor, cursor + pageSize)
      .map((id) => ({ ...(this.keys.get(id) as AgentKeyRecord) }));
    const next = cursor + pageSize < ids.length ? cursor + pageSize : undefined;
    return { items, nextCursor: next };
  }

  async revoke(id: string, atMs: number): Promise<AgentKeyRecord | undefined> {
    const record = this.keys.get(id);
    if (record === undefined) return undefined;
    record.revokedAtMs ??= atMs;
    return { ...record };
  }
}
