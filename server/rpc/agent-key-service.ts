import type {
  AgentKey as AgentKeyMessage,
  AgentKeyServiceServer,
  CreateAgentKeyRequest,
  CreateAgentKeyResponse,
  ListAgentKeysRequest,
  ListAgentKeysResponse,
  RevokeAgentKeyRequest,
  RevokeAgentKeyResponse,
} from "../../gen/ts-proto/tollgate/v1/agent_key_service.js";
import type { AgentKeyRecord } from "../agent-keys/agent-key-store.js";
import type { AgentKeys } from "../agent-keys/agent-keys.js";
import { invalidArgument } from "../ledger/ledger-error.js";
import { decodePageToken, encodePageToken } from "../ledger/page-token.js";
import type { RpcDependencies, UnaryBody } from "./bodies.js";
import { unaryCall } from "./unary-call.js";

/** The transport-neutral bodies of AgentKeyService. */
export interface AgentKeyServiceBodies {
  createAgentKey: UnaryBody<CreateAgentKeyRequest, CreateAgentKeyResponse>;
  listAgentKeys: UnaryBody<ListAgentKeysRequest, ListAgentKeysResponse>;
  revokeAgentKey: UnaryBody<RevokeAgentKeyRequest, RevokeAgentKeyResponse>;
}

/** What the bodies need beyond the common dependencies. */
export interface AgentKeyDependencies extends Pick<RpcDependencies, "ledger"> {
  agentKeys: AgentKeys;
}

/**
 * The bodies of tollgate.v1.AgentKeyService. Only project keys reach them (the access policy
 * refuses agent keys); the wallet a key is bound to must be the project's.
 */
export function agentKeyServiceBodies(deps: AgentKeyDependencies): AgentKeyServiceBodies {
  const { ledger, agentKeys } = deps;
  return {
    async createAgentKey(req, { project }) {
      // WALLET_NOT_FOUND for a wallet of another project, as every call answers it.
      await ledger.getWallet(project, { walletId: req.walletId });
      const ttl = req.ttlSeconds;
      const minted = await agentKeys.mint(project, {
        walletId: req.walletId,
        services: req.services,
        ttlSeconds: ttl > BigInt(Number.MAX_SAFE_INTEGER) || ttl < 0n ? -1 : Number(ttl),
        name: req.name,
        requestId: req.requestId,
      });
      return { key: agentKeyToMessage(minted.record), secret: minted.secret };
    },

    async listAgentKeys(req, { project }) {
      const query = `agent-keys:${project}`;
      if (req.pageSize < 0 || req.pageSize > 1000) {
        throw invalidArgument("page_size", "must be 0..1000");
      }
      const page = await agentKeys.list(
        project,
        decodePageToken(req.pageToken, query),
        req.pageSize === 0 ? 100 : req.pageSize,
      );
      return {
        keys: page.items.map(agentKeyToMessage),
        nextPageToken: encodePageToken(page.nextCursor, query),
      };
    },

    async revokeAgentKey(req, { project }) {
      return { key: agentKeyToMessage(await agentKeys.revoke(project, req.keyId)) };
    },
  };
}

/** grpc-js handlers of tollgate.v1.AgentKeyService: the bodies above. */
export function agentKeyServiceHandlers(
  deps: RpcDependencies,
  bodies: AgentKeyServiceBodies,
): AgentKeyServiceServer {
  return {
    createAgentKey: unaryCall("CreateAgentKey", deps, bodies.createAgentKey),
    listAgentKeys: unaryCall("ListAgentKeys", deps, bodies.listAgentKeys),
    revokeAgentKey: unaryCall("RevokeAgentKey", deps, bodies.revokeAgentKey),
  };
}

function agentKeyToMessage(r: AgentKeyRecord): AgentKeyMessage {
  return {
    id: r.id,
    walletId: r.walletId,
    services: [...r.services],
    name: r.name,
    createdAt: new Date(r.createdAtMs),
    expiresAt: new Date(r.expiresAtMs),
    revokedAt: r.revokedAtMs === undefined ? undefined : new Date(r.revokedAtMs),
  };
}
