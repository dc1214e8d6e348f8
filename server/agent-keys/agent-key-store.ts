import type { Page } from "../ledger/types.js";

/** One agent key as stored: its secret only as a SHA-256 hash. */
export interface AgentKeyRecord {
  /** `ak_` and 24 hex digits, derived from project and request id (a retry finds it). */
  id: string;
  project: string;
  /** The wallet the key is bound to; it reaches that wallet's subtree. */
  walletId: string;
  /** Services the key may pay for; empty means any. */
  services: string[];
  name: string;
  /** SHA-256 (hex) of the whole bearer secret. */
  secretSha256: string;
  /** SHA-256 (hex) of the create request's parameters, to refuse a reused request id. */
  fingerprint: string;
  createdAtMs: number;
  expiresAtMs: number;
  /** Set once, by the first revocation. */
  revokedAtMs?: number;
}

/**
 * Where agent keys live: shared by every replica (Redis), or in memory with the embedded store.
 * Records never change after creation except `revokedAtMs`, which is set at most once.
 */
export interface AgentKeyStore {
  /** Stores `record` unless its id exists; returns what is stored (the earlier one on a retry). */
  create(record: AgentKeyRecord): Promise<AgentKeyRecord>;
  /** The key, or undefined when it does not exist (or was forgotten a day after it expired). */
  get(id: string): Promise<AgentKeyRecord | undefined>;
  /** The project's keys, newest first; `cursor` is an offset. */
  list(project: string, cursor: number, pageSize: number): Promise<Page<AgentKeyRecord>>;
  /** Sets `revokedAtMs` unless already set; the key as it is now, or undefined if it is unknown. */
  revoke(id: string, atMs: number): Promise<AgentKeyRecord | undefined>;
}

/**
 * How long a key's record outlives its expiry: credentials it obtained just before it expired stay
 * checkable (revoked or not) until they expire too (at most a day, `TOLLGATE_CREDENTIAL_TTL_SECONDS`).
 */
export const agentKeyRetentionMs = 86_400_000 + 60_000;
