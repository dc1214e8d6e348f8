import { createHmac, timingSafeEqual, verify } from "node:crypto";
import { readCredentialClaims } from "../../client/credential-claims.js";
import { CredentialError, type VerifiedCredential } from "../../client/verify.js";
import type { CredentialIssuer } from "./credential-issuer.js";

/** The keys that verify this server's credentials: the issuer's, current and retired. */
export type CredentialKeys = Pick<CredentialIssuer, "verificationKey">;

const segment = /^[A-Za-z0-9_-]+$/;
/** An HS256 tag, 32 bytes, is 43 base64url characters. */
const macLength = 32;

/**
 * Verifies a credential the server itself is handed (the gateway, `RedeemCredential`), both
 * kinds: EdDSA with `crypto.verify` on the public key's cached KeyObject, HS256 with an HMAC
 * compared in constant time. The same checks and refusal reasons as `tollgate/verify` (which
 * third parties run, through jose): a compact JWS of three base64url segments; a header with
 * `alg` EdDSA or HS256, a `kid` the server holds at `nowMs`, `typ` JWT if any, no `crit`; the
 * signature; issuer `tollgate`; `iat` and `nbf` if present, numbers, `nbf` passed; `exp` not
 * passed (CREDENTIAL_EXPIRED); tollgate's claims; audience and `service` = `service`
 * (CREDENTIAL_WRONG_SERVICE). Synchronous: jose's `jwtVerify` goes through WebCrypto (an async
 * job per call, and a key import per call for a JWK Set rebuilt per call), measured at ~426 us a
 * call on the bench machine, against tens of microseconds here.
 *
 * @throws CredentialError CREDENTIAL_INVALID, CREDENTIAL_EXPIRED or CREDENTIAL_WRONG_SERVICE.
 */
export function verifyServerCredential(
  token: string,
  service: string,
  keys: CredentialKeys,
  nowMs: number,
): VerifiedCredential {
  const parts = token.split(".");
  const [head, body, signature] = parts;
  if (
    parts.length !== 3 ||
    head === undefined ||
    body === undefined ||
    signature === undefined ||
    !segment.test(head) ||
    !segment.test(body) ||
    !segment.test(signature)
  ) {
    throw invalid("malformed");
  }
  const header = jsonObject(head);
  if (header === undefined) throw invalid("malformed");
  const { alg, kid } = header;
  if (
    (alg !== "EdDSA" && alg !== "HS256") ||
    typeof kid !== "string" ||
    (header.typ !== undefined && header.typ !== "JWT") ||
    header.crit !== undefined ||
    header.b64 !== undefined
  ) {
    throw invalid("not a tollgate credential header");
  }
  const key = keys.verificationKey(alg, kid, nowMs);
  if (key === undefined) {
    throw invalid(
      alg === "HS256"
        ? "signed by a gateway key this server does not hold (retired, or restarted without it)"
        : "signed by a key tollgate does not publish",
    );
  }
  const signingInput = Buffer.from(`${head}.${body}`, "utf8");
  const given = Buffer.from(signature, "base64url");
  let good: boolean;
  if (key.alg === "EdDSA") {
    good = verify(null, signingInput, key.publicKey, given);
  } else {
    const expected = createHmac("sha256", key.secret).update(signingInput).digest();
    good = given.length === macLength && timingSafeEqual(given, expected);
  }
  if (!good) throw invalid("bad signature");

  const payload = jsonObject(body);
  if (payload === undefined) throw invalid("malformed");
  const nowS = Math.floor(nowMs / 1000);
  if (payload.iss !== "tollgate") throw invalid("claim iss is wrong");
  if (payload.iat !== undefined && typeof payload.iat !== "number") {
    throw invalid("claim iat is wrong");
  }
  if (payload.nbf !== undefined && (typeof payload.nbf !== "number" || payload.nbf > nowS)) {
    throw invalid("claim nbf is wrong");
  }
  if (payload.exp !== undefined) {
    if (typeof payload.exp !== "number") throw invalid("claim exp is wrong");
    if (payload.exp <= nowS) {
      throw new CredentialError("CREDENTIAL_EXPIRED", "the credential has expired");
    }
  }
  const claims = readCredentialClaims(payload);
  if (claims === undefined) {
    throw new CredentialError("CREDENTIAL_INVALID", "the credential's claims are not tollgate's");
  }
  if (payload.aud !== service || claims.service !== service) {
    throw new CredentialError(
      "CREDENTIAL_WRONG_SERVICE",
      `the credential is for service ${JSON.stringify(claims.service)}, not ${JSON.stringify(service)}`,
    );
  }
  return claims;
}

function invalid(why: string): CredentialError {
  return new CredentialError("CREDENTIAL_INVALID", `the credential is not valid: ${why}`);
}

/** A base64url segment's JSON object, or undefined. */
function jsonObject(encoded: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
