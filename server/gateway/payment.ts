import type { IncomingHttpHeaders } from "node:http";
import { decodeJwt } from "jose";
import { bearerKey } from "../auth/authenticator.js";
import { type CatalogService, catalogAmount } from "../catalog/catalog.js";
import { LedgerError } from "../ledger/ledger-error.js";
import { Limits } from "../ledger/limits.js";
import type { GatewayContext } from "./gateway-context.js";
import { refuse } from "./gateway-refusal.js";
import { checkRoute, type GatewayTarget } from "./request-target.js";

/** The money behind one forwarded call: a charge already debited, or a hold to settle. */
export interface Payment {
  /** `credential`: the agent brought a credential; `key`: the gateway charged the wallet itself. */
  mode: "credential" | "key";
  kind: "charge" | "hold";
  /** The charge (spend line) id or the hold id. */
  id: string;
  project: string;
  walletId: string;
  /** Credits charged, or held. */
  amount: number;
  service: CatalogService;
  agentKeyId: string | undefined;
}

/** The call as far as paying for it goes. */
export interface PaidCallRequest {
  target: GatewayTarget;
  method: string;
  headers: IncomingHttpHeaders;
  requestId: string;
  /** The declared body length, when there is one. */
  contentLength: number | undefined;
  /** True when the agent named the request id (only then can the call be a retry). */
  requestIdGiven: boolean;
}

/**
 * Pays for a call, or throws the refusal. Nothing is forwarded before this resolves, and every
 * check that does not need the money (the service, the method, the path, the declared body size)
 * runs before anything is redeemed or charged, so a refused call costs nothing and leaves its
 * credential unspent.
 *
 * - With `tollgate-wallet`, the authorization is an API key (an agent key, or a project key) and
 *   the gateway charges the catalog price itself: a fixed price is spent, a metered one is
 *   authorized at its maximum and settled after the answer. The call's request id is the
 *   ledger's, so a retry is charged once.
 * - Otherwise the authorization is a credential from Spend or Authorize for this service, redeemed
 *   here (once; again only by the same request id, a retry).
 */
export async function payForCall(context: GatewayContext, call: PaidCallRequest): Promise<Payment> {
  const wallet = call.headers["tollgate-wallet"];
  return wallet === undefined
    ? payWithCredential(context, call)
    : payFromWallet(context, call, wallet);
}

async function payWithCredential(context: GatewayContext, call: PaidCallRequest): Promise<Payment> {
  const token = bearerKey(call.headers.authorization);
  if (token === undefined) {
    throw new LedgerError(
      "UNAUTHENTICATED",
      "send Authorization: Bearer <credential from Spend or Authorize>, or an API key with tollgate-wallet",
    );
  }
  const name = call.target.service;
  // The catalog is per project, and the project is in the credential: read it unverified to find
  // the service, then verify before any refusal is answered, so a bad credential is always a 401
  // whatever else is wrong, and nothing about the catalog is told to whoever holds one.
  const project = unverifiedProject(token);
  const service = project === undefined ? undefined : context.catalog.find(project, name);
  try {
    if (service === undefined) throw refuse.notInCatalog(name);
    checkRequest(service, call);
  } catch (refusal) {
    await context.redeemer.verify(token, name);
    throw refusal;
  }
  const { claims, replayed } = await context.redeemer.redeem(token, name, claimantOf(call), {
    holdMustLastMs: service.timeoutMs,
  });
  if (claims.project !== service.project) throw refuse.notInCatalog(name);
  if (replayed && claims.kind === "hold") await refuseIfVoided(context, claims.id);
  return {
    mode: "credential",
    kind: claims.kind,
    id: claims.id,
    project: claims.project,
    walletId: claims.walletId,
    amount: claims.amount,
    service,
    agentKeyId: claims.agentKeyId,
  };
}

async function payFromWallet(
  context: GatewayContext,
  call: PaidCallRequest,
  walletHeader: string | string[],
): Promise<Payment> {
  const caller = await context.authenticator.authenticateHeader(call.headers.authorization);
  if (typeof walletHeader !== "string" || walletHeader === "") {
    throw refuse.invalidHeader("tollgate-wallet", "tollgate-wallet must be one wallet id");
  }
  const service = context.catalog.find(caller.project, call.target.service);
  if (service === undefined) throw refuse.notInCatalog(call.target.service);
  checkRequest(service, call);
  const metadata = metadataOf(call.headers["tollgate-metadata"]);
  const walletId = walletHeader;
  const agentKeyId = caller.agent?.keyId;
  const amount = catalogAmount(service);
  const input = { walletId, amount, service: service.name, metadata, requestId: call.requestId };
  if (service.price.kind === "fixed") {
    await context.policy.check(caller, "Spend", { walletId, service: service.name });
    // No credential: the gateway pays for this call itself and hands none out.
    const { line } = await context.ledger.spend(caller.project, input, agentKeyId, noCredential);
    await claimCall(context, line.id, call);
    return {
      mode: "key",
      kind: "charge",
      id: line.id,
      project: caller.project,
      walletId: line.walletId,
      amount: line.amount,
      service,
      agentKeyId,
    };
  }
  await context.policy.check(caller, "Authorize", { walletId, service: service.name });
  const { hold } = await context.ledger.authorize(
    caller.project,
    { ...input, ttlSeconds: holdTtlSeconds(service) },
    agentKeyId,
    noCredential,
  );
  // A request id the agent chose may be a retry, answered with the first attempt's hold.
  if (call.requestIdGiven) await refuseIfVoided(context, hold.id);
  await claimCall(context, hold.id, call);
  return {
    mode: "key",
    kind: "hold",
    id: hold.id,
    project: caller.project,
    walletId: hold.walletId,
    amount: hold.amount,
    service,
    agentKeyId,
  };
}

const noCredential = { credential: false } as const;

/**
 * Who redeems a payment: the call's request id, method and path. A retry (after a crash between
 * charge and answer) is the same request id for the same call; the same id with another method or
 * path is another call, refused as a replay.
 */
function claimantOf(call: PaidCallRequest): string {
  return `${call.requestId} ${call.method} ${call.target.path}`;
}

/** How long a charge paid from a wallet is claimed: the ledger's idempotency window, at most. */
const walletClaimMs = 86_400_000;

/**
 * Claims a charge or hold paid from a wallet for this call, as a credential is redeemed: a replay
 * of its request id by the same call goes through until the call is answered (a retry after a
 * crash); anything else, or anything after the answer, is refused.
 */
async function claimCall(
  context: GatewayContext,
  id: string,
  call: PaidCallRequest,
): Promise<void> {
  const now = context.now();
  const outcome = await context.redemptions.redeem(id, claimantOf(call), now + walletClaimMs, now);
  if (outcome === "taken") {
    throw new LedgerError(
      "CREDENTIAL_ALREADY_REDEEMED",
      "this request id already paid for a call that was answered, or for another call: send a new x-request-id to pay for a new one",
      { credential_id: id },
    );
  }
}

/**
 * Refuses a retry whose hold the gateway voided on an earlier attempt (its upstream failed, or the
 * agent left before the answer): forwarding it again would be a call with nothing left to pay
 * for it. The agent pays again, with a new request id.
 */
async function refuseIfVoided(context: GatewayContext, holdId: string): Promise<void> {
  const voided = await context.redemptions.gatewayFailureOf(holdId);
  if (voided !== undefined) {
    throw new LedgerError(
      "HOLD_ALREADY_RESOLVED",
      `an earlier attempt of this call was not answered and its hold was voided (${voided}): pay again with a new request id`,
      { hold_id: holdId },
    );
  }
}

/**
 * How long a hold the gateway places lives: the default, or twice the service's timeout when
 * that is longer, so a slow answer is still captured. If the gateway dies before settling, the
 * hold expires by itself after this and its credits return.
 */
function holdTtlSeconds(service: CatalogService): number {
  const wanted = Math.max(Limits.holdTtlDefaultSeconds, Math.ceil((service.timeoutMs * 2) / 1000));
  return Math.min(wanted, Limits.holdTtlMaxSeconds);
}

/** The service's method and path rules, and its body limit when the length is declared. */
function checkRequest(service: CatalogService, call: PaidCallRequest): void {
  checkRoute(service, call.method, call.target.path);
  if (call.contentLength !== undefined && call.contentLength > service.maxRequestBytes) {
    throw refuse.tooLarge(service.maxRequestBytes);
  }
}

/** `tollgate-metadata: {"agent": "researcher"}`: labels for the charge, string values only. */
function metadataOf(header: string | string[] | undefined): Record<string, string> {
  if (header === undefined) return {};
  let parsed: unknown;
  try {
    parsed = typeof header === "string" ? JSON.parse(header) : undefined;
  } catch {
    parsed = undefined;
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    Array.isArray(parsed) ||
    !Object.values(parsed).every((v) => typeof v === "string")
  ) {
    throw refuse.invalidHeader(
      "tollgate-metadata",
      'tollgate-metadata must be a JSON object of strings, e.g. {"agent":"researcher"}',
    );
  }
  return parsed as Record<string, string>;
}

/** The `sub` claim of a token, unverified: only to find which catalog to look in. */
function unverifiedProject(token: string): string | undefined {
  try {
    const sub = decodeJwt(token).sub;
    return typeof sub === "string" ? sub : undefined;
  } catch {
    return undefined;
  }
}
