import { credentials, type Metadata } from "@grpc/grpc-js";
import { AgentKeyServiceClient } from "../../gen/ts-proto/tollgate/v1/agent_key_service.js";
import { CatalogServiceClient } from "../../gen/ts-proto/tollgate/v1/catalog_service.js";
import { CredentialServiceClient } from "../../gen/ts-proto/tollgate/v1/credential_service.js";
import type { TollgateServerOptions } from "../../server/server.js";
import { bearer, call, createRequest, type Harness, startHarness } from "../rpc/harness.js";

/** The grpc harness plus clients of the credential isolation services. */
export interface CredentialHarness extends Harness {
  agentKeys: AgentKeyServiceClient;
  credentialService: CredentialServiceClient;
  catalog: CatalogServiceClient;
}

export async function startCredentialHarness(
  options: Partial<TollgateServerOptions> = {},
): Promise<CredentialHarness> {
  const h = await startHarness(options);
  const address = h.server.address;
  const agentKeys = new AgentKeyServiceClient(address, credentials.createInsecure());
  const credentialService = new CredentialServiceClient(address, credentials.createInsecure());
  const catalog = new CatalogServiceClient(address, credentials.createInsecure());
  return {
    ...h,
    agentKeys,
    credentialService,
    catalog,
    async close() {
      agentKeys.close();
      credentialService.close();
      catalog.close();
      await h.close();
    },
  };
}

/** Creates a root (or a child of `parentId`) and returns its id. */
export async function createWallet(
  h: Harness,
  auth: Metadata,
  requestId: string,
  budget: number,
  parentId = "",
): Promise<string> {
  const created = await call(
    h.wallets,
    h.wallets.createWallet,
    createRequest({ requestId, budget: BigInt(budget), parentId, name: requestId }),
    auth,
  );
  return created.wallet?.id ?? "";
}

/** Mints an agent key for `walletId` and returns its secret. */
export async function mintAgentKey(
  h: CredentialHarness,
  auth: Metadata,
  walletId: string,
  fields: { services?: string[]; ttlSeconds?: number; requestId?: string } = {},
): Promise<{ id: string; secret: string }> {
  const minted = await call(
    h.agentKeys,
    h.agentKeys.createAgentKey,
    {
      walletId,
      services: fields.services ?? [],
      ttlSeconds: BigInt(fields.ttlSeconds ?? 0),
      name: "agent",
      requestId: fields.requestId ?? `mint-${walletId}-${Math.random()}`,
    },
    auth,
  );
  return { id: minted.key?.id ?? "", secret: minted.secret };
}

export { bearer };
