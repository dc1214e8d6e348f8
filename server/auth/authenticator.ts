import { createHash, timingSafeEqual } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";
import { AgentKeys } from "../agent-keys/agent-keys.js";
import { LedgerError } from "../ledger/ledger-error.js";
import type { ApiKey } from "./api-keys.js";
import type { Caller } from "./caller.js";

/** The project every call belongs to when no API keys are configured (open mode). */
export const openProject = "default";

/**
 * Resolves the caller of a call from its `authorization: Bearer <key>` metadata (gRPC) or header
 * (HTTP): a project key (configured, hashed) or an agent key (`tga_...`, minted, in the store).
 *
 * The presented key is hashed and compared with every configured hash using
 * `crypto.timingSafeEqual`, without stopping at the first match, so the time taken reveals
 * neither which key matched nor how many bytes of a guess were right.
 */
export class Authenticator {
  private readonly keys: ReadonlyArray<{ project: string; hash: Buffer }>;

  constructor(
    keys: readonly ApiKey[],
    /** Agent keys; without them a `tga_` key is just an unknown key. */
    private readonly agentKeys?: AgentKeys,
  ) {
    this.keys = keys.map((k) => ({ project: k.project, hash: Buffer.from(k.keySha256, "hex") }));
  }

  /** True when no keys are configured: every call is accepted as project {@link openProject}. */
  get open(): boolean {
    return this.keys.length === 0;
  }

  /**
   * The project of a gRPC call, from its `authorization` metadata: {@link authenticateHeader}.
   */
  authenticate(metadata: Metadata): Caller | Promise<Caller> {
    return this.authenticateHeader(metadata.get("authorization")[0]);
  }

  /**
   * The caller, from the value of its `authorization` header (HTTP) or metadata (gRPC): the one
   * check every transport runs. A project key is checked in memory (synchronously); an agent key
   * needs its record, so its answer is a promise. An agent key is honoured in open mode too: its
   * scope still applies.
   *
   * @throws LedgerError UNAUTHENTICATED when the key is missing, malformed or unknown (one
   * message for all three outside "missing", so a caller learns nothing about configured keys),
   * or an agent key is expired or revoked.
   */
  authenticateHeader(authorization: unknown): Caller | Promise<Caller> {
    const key = bearerKey(authorization);
    if (key !== undefined && this.agentKeys !== undefined && AgentKeys.isAgentKey(key)) {
      return this.agentKeys
        .authenticate(key)
        .then(({ project, scope }) => ({ project, agent: scope }));
    }
    if (this.open) return { project: openProject, agent: undefined };
    if (key === undefined) {
      throw new LedgerError("UNAUTHENTICATED", "missing API key: send authorization: Bearer <key>");
    }
    const presented = createHash("sha256").update(key, "utf8").digest();
    let project: string | undefined;
    for (const candidate of this.keys) {
      // No early exit: every configured hash is compared on every call.
      if (timingSafeEqual(candidate.hash, presented) && project === undefined) {
        project = candidate.project;
      }
    }
    if (project === undefined) throw new LedgerError("UNAUTHENTICATED", "invalid API key");
    return { project, agent: undefined };
  }
}

/** The token of an `authorization: Bearer <token>` value; undefined for anything else. */
export function bearerKey(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match?.[1];
}
