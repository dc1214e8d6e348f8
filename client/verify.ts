import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { readCredentialClaims } from "./credential-claims.js";

/**
 * `tollgate/verify`: checks a credential from Spend or Authorize the way a paid tool (or a proxy in
 * front of it) must: signature against tollgate's published keys, issuer, audience = the service,
 * expiry. It does not redeem: a credential used once only is what `CredentialService.
 * RedeemCredential` (or the gateway) is for (docs/credentials.md).
 */

/** What a verified credential vouches for. */
export interface VerifiedCredential {
  /** `charge`: the amount is already debited; `hold`: up to the amount is reserved. */
  kind: "charge" | "hold";
  /** The charge id or hold id (claim `jti`). */
  id: string;
  project: string;
  walletId: string;
  service: string;
  amount: number;
  /** The agent key that obtained it; undefined for a project key. */
  agentKeyId: string | undefined;
  issuedAt: Date;
  expiresAt: Date;
}

/** Why a credential was refused. */
export type CredentialRefusal =
  /** Malformed, tampered, signed by an unknown key, or not a tollgate credential. */
  | "CREDENTIAL_INVALID"
  /** Past its expiry. */
  | "CREDENTIAL_EXPIRED"
  /** Valid, but for another service. */
  | "CREDENTIAL_WRONG_SERVICE";

/** A refused credential, with the reason a caller can branch on. */
export class CredentialError extends Error {
  constructor(
    readonly reason: CredentialRefusal,
    message: string,
  ) {
    super(message);
    this.name = "CredentialError";
  }
}

/** Where the public keys come from, and what the credential must be for. */
export interface VerifyOptions {
  /** The service verifying: the credential's audience must be exactly this. */
  service: string;
  /** A JWK Set (from `GetSigningKeys`' `jwks_json`, or a file). */
  jwks?: JSONWebKeySet;
  /**
   * Or the JWKS address, e.g. `http://127.0.0.1:8080/.well-known/jwks.json`: fetched on first use,
   * cached, and fetched again when a token names a key it does not know (a rotation).
   */
  url?: string | URL;
  /** The time to check expiry against. Default: now. */
  now?: Date;
}

const remoteSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
const localSets = new WeakMap<JSONWebKeySet, ReturnType<typeof createLocalJWKSet>>();

/**
 * Verifies `token` and returns its claims.
 *
 * @throws CredentialError with the reason it was refused.
 */
export async function verifyCredential(
  token: string,
  options: VerifyOptions,
): Promise<VerifiedCredential> {
  const keys = keySet(options);
  refuseGatewayCredential(token);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      issuer: "tollgate",
      algorithms: ["EdDSA"],
      currentDate: options.now,
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) {
      throw new CredentialError("CREDENTIAL_EXPIRED", "the credential has expired");
    }
    throw new CredentialError(
      "CREDENTIAL_INVALID",
      `the credential is not valid: ${describe(error)}`,
    );
  }
  const claims = readCredentialClaims(payload);
  if (claims === undefined) {
    throw new CredentialError("CREDENTIAL_INVALID", "the credential's claims are not tollgate's");
  }
  if (payload.aud !== options.service || claims.service !== options.service) {
    throw new CredentialError(
      "CREDENTIAL_WRONG_SERVICE",
      `the credential is for service ${JSON.stringify(claims.service)}, not ${JSON.stringify(options.service)}`,
    );
  }
  return claims;
}

function keySet(options: VerifyOptions) {
  if (options.jwks !== undefined) {
    let set = localSets.get(options.jwks);
    if (set === undefined) {
      set = createLocalJWKSet(options.jwks);
      localSets.set(options.jwks, set);
    }
    return set;
  }
  if (options.url !== undefined) {
    const url = new URL(options.url);
    let set = remoteSets.get(url.href);
    if (set === undefined) {
      set = createRemoteJWKSet(url);
      remoteSets.set(url.href, set);
    }
    return set;
  }
  throw new TypeError("verifyCredential needs `jwks` or `url`");
}

/**
 * A credential for a service in tollgate's catalog is an HS256 MAC that only tollgate (its gateway,
 * or `RedeemCredential`) can verify: no published key verifies it, so say so rather than "unknown
 * key".
 */
function refuseGatewayCredential(token: string): void {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    return; // malformed: jwtVerify says so
  }
  if (alg === "HS256") {
    throw new CredentialError(
      "CREDENTIAL_INVALID",
      "the credential is a gateway credential (HS256, for a service in tollgate's catalog): only tollgate's gateway or CredentialService.RedeemCredential can verify it, not the JWKS",
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof errors.JWKSNoMatchingKey) return "signed by a key tollgate does not publish";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad signature";
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} is wrong`;
  if (error instanceof errors.JOSEError) return error.code;
  return "malformed";
}
