import type { Caller } from "../auth/caller.js";
import type { Catalog } from "../catalog/catalog.js";
import type { CredentialRedeemer } from "../credentials/credential-redeemer.js";
import type { RedemptionStore } from "../credentials/redemption-store.js";
import type {
  AuthorizeInput,
  AuthorizeResult,
  CaptureInput,
  NoCredential,
  SpendInput,
  SpendResult,
  Uncredentialed,
  VoidInput,
} from "../ledger/ledger.js";
import type { Logger } from "../logger.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import type { UpstreamDispatchers } from "./upstream-dispatchers.js";

/**
 * What the gateway needs of the ledger: paying (agent-key mode) and settling. Narrowed to these
 * four methods so the gateway's tests and its reader see exactly what it can do with money. It
 * pays without a credential: it hands none out, so none is signed.
 */
export interface GatewayLedger {
  spend(
    project: string,
    input: SpendInput,
    agentKeyId: string | undefined,
    options: NoCredential,
  ): Promise<Uncredentialed<SpendResult>>;
  authorize(
    project: string,
    input: AuthorizeInput,
    agentKeyId: string | undefined,
    options: NoCredential,
  ): Promise<Uncredentialed<AuthorizeResult>>;
  capture(project: string, input: CaptureInput): Promise<unknown>;
  void(project: string, input: VoidInput): Promise<unknown>;
}

/** Who an API key (project or agent key) belongs to: the server's Authenticator. */
export interface GatewayAuthenticator {
  authenticateHeader(authorization: unknown): Caller | Promise<Caller>;
}

/** Whether a caller may pay from a wallet for a service: the server's AccessPolicy. */
export interface GatewayPolicy {
  check(
    caller: Caller,
    method: "Spend" | "Authorize",
    request: { walletId?: string; service?: string },
  ): Promise<void>;
}

/** Everything one gateway call uses, built once by startGateway. */
export interface GatewayContext {
  catalog: Catalog;
  ledger: GatewayLedger;
  redeemer: Pick<CredentialRedeemer, "verify" | "redeem">;
  authenticator: GatewayAuthenticator;
  policy: GatewayPolicy;
  redemptions: Pick<
    RedemptionStore,
    "redeem" | "markDelivered" | "recordGatewayFailure" | "gatewayFailureOf"
  >;
  logger: Logger;
  metrics: GatewayMetrics;
  dispatchers: UpstreamDispatchers;
  now: () => number;
}
