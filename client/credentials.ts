import type {
  CredentialClaims,
  CredentialServiceClient,
} from "../gen/ts-proto/tollgate/v1/credential_service.js";
import { required } from "./convert.js";
import { TollgateError } from "./errors/tollgate-error.js";
import { requestIdOf } from "./operations.js";
import type { CallOptions } from "./options.js";
import type { UnaryInvoker } from "./unary.js";

/**
 * One public key of a JWK Set (RFC 7517): Ed25519 (`kty` OKP, `crv` Ed25519, `x`) with its `kid`.
 * Declared here rather than imported from jose, so the client (and the CLI on it) does not load
 * jose; it is what `verifyCredential`'s `jwks` accepts.
 */
export interface PublicJwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  crv?: string;
  x?: string;
}

/** A JWK Set: `{"keys": [...]}`. */
export interface JwkSet {
  keys: PublicJwk[];
}

/** The public keys credentials are signed with (what `/.well-known/jwks.json` serves). */
export interface SigningKeys {
  /** The JWK Set: hand it to `verifyCredential(token, { jwks, service })` (`tollgate/verify`). */
  jwks: JwkSet;
  /** The key id (`kid`) new credentials are signed with; the others are retired keys. */
  currentKeyId: string;
}

/** What a redeemed credential vouches for. */
export interface RedeemedClaims {
  /** `charge`: the amount is already debited; `hold`: up to the amount is reserved. */
  kind: "charge" | "hold";
  /** The charge id or hold id. */
  id: string;
  project: string;
  walletId: string;
  service: string;
  amount: bigint;
  /** The agent key that obtained it; undefined for a project key. */
  agentKeyId: string | undefined;
  issuedAt: Date;
  expiresAt: Date;
}

/** The answer of {@link Credentials.redeem}. */
export interface Redemption {
  claims: RedeemedClaims;
  /** True when this call repeated an earlier redemption with the same request id (a retry). */
  replayed: boolean;
}

/** Options of {@link Credentials.redeem}. */
export interface RedeemOptions extends CallOptions {
  /** The service redeeming it: must be the credential's audience. */
  service: string;
}

/**
 * What a paid service (or a proxy in front of it) does with a credential from Spend or Authorize
 * over gRPC (docs/credentials.md#verifying-credentials). Both calls are public: a verifier needs
 * no API key.
 */
export interface Credentials {
  /**
   * Verifies `credential` and redeems it, once: a second redemption fails FAILED_PRECONDITION
   * (`CREDENTIAL_ALREADY_REDEEMED`) unless it carries the first one's request id (generated when
   * omitted and reused on the client's own retries, so a retried redemption is answered alike).
   * A bad, tampered or expired credential fails with {@link UnauthenticatedError}
   * (`CREDENTIAL_INVALID`, `CREDENTIAL_EXPIRED`); one for another service or of a revoked agent
   * key with {@link PermissionDeniedError}.
   */
  redeem(credential: string, options: RedeemOptions): Promise<Redemption>;
}

/** {@link Credentials} and the signing keys over the client's unary calls. */
export class CredentialCalls implements Credentials {
  constructor(
    private readonly invoker: UnaryInvoker,
    private readonly stub: CredentialServiceClient,
  ) {}

  async redeem(credential: string, options: RedeemOptions): Promise<Redemption> {
    const request = { credential, service: options.service, requestId: requestIdOf(options) };
    const response = await this.invoker.call(
      this.stub,
      this.stub.redeemCredential,
      request,
      options,
      { requestId: request.requestId },
    );
    return {
      claims: toClaims(required(response.claims, "claims")),
      replayed: response.replayed,
    };
  }

  async signingKeys(options?: CallOptions): Promise<SigningKeys> {
    const response = await this.invoker.call(this.stub, this.stub.getSigningKeys, {}, options, {});
    let jwks: JwkSet;
    try {
      jwks = JSON.parse(response.jwksJson) as JwkSet;
    } catch (error) {
      throw malformed("jwks_json is not JSON", error);
    }
    if (typeof jwks !== "object" || jwks === null || !Array.isArray(jwks.keys)) {
      throw malformed("jwks_json is not a JWK Set");
    }
    return { jwks, currentKeyId: response.currentKeyId };
  }
}

function toClaims(message: CredentialClaims): RedeemedClaims {
  if (message.kind !== "charge" && message.kind !== "hold") {
    throw malformed(`claims.kind ${JSON.stringify(message.kind)}`);
  }
  return {
    kind: message.kind,
    id: message.id,
    project: message.project,
    walletId: message.walletId,
    service: message.service,
    amount: message.amount,
    agentKeyId: message.agentKeyId === "" ? undefined : message.agentKeyId,
    issuedAt: required(message.issuedAt, "claims.issued_at"),
    expiresAt: required(message.expiresAt, "claims.expires_at"),
  };
}

function malformed(what: string, cause?: unknown): TollgateError {
  // INTERNAL (13): the server answered something this client cannot read.
  return new TollgateError(`malformed response: ${what}`, {
    code: 13,
    reason: "MALFORMED_RESPONSE",
    cause,
  });
}
