import type { VerifiedCredential } from "./verify.js";

/**
 * A credential's payload read as tollgate's claims, or undefined when it is not tollgate's:
 * shared by `tollgate/verify` (a third party, with the JWKS) and the server's own verification
 * (the gateway and `RedeemCredential`), so both read the same claims the same way.
 */
export function readCredentialClaims(p: Record<string, unknown>): VerifiedCredential | undefined {
  const kind = p.kind;
  const amount = p.amount;
  if (
    (kind !== "charge" && kind !== "hold") ||
    typeof p.jti !== "string" ||
    typeof p.sub !== "string" ||
    typeof p.wallet_id !== "string" ||
    typeof p.service !== "string" ||
    typeof amount !== "number" ||
    !Number.isSafeInteger(amount) ||
    amount < 0 ||
    typeof p.iat !== "number" ||
    typeof p.exp !== "number" ||
    (p.agent_key !== undefined && typeof p.agent_key !== "string")
  ) {
    return undefined;
  }
  return {
    kind,
    id: p.jti,
    project: p.sub,
    walletId: p.wallet_id,
    service: p.service,
    amount,
    agentKeyId: p.agent_key as string | undefined,
    issuedAt: new Date(p.iat * 1000),
    expiresAt: new Date(p.exp * 1000),
  };
}
