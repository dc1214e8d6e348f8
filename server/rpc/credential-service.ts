import { z } from "zod";
import type {
  CredentialServiceServer,
  GetSigningKeysRequest,
  GetSigningKeysResponse,
  RedeemCredentialRequest,
  RedeemCredentialResponse,
} from "../../gen/ts-proto/tollgate/v1/credential_service.js";
import type { CredentialIssuer } from "../credentials/credential-issuer.js";
import type { CredentialRedeemer } from "../credentials/credential-redeemer.js";
import { invalidArgument } from "../ledger/ledger-error.js";
import { parse, requestId } from "../ledger/validation.js";
import type { RpcDependencies, UnaryBody } from "./bodies.js";
import { unaryCall } from "./unary-call.js";

/** The transport-neutral bodies of CredentialService. */
export interface CredentialServiceBodies {
  getSigningKeys: UnaryBody<GetSigningKeysRequest, GetSigningKeysResponse>;
  redeemCredential: UnaryBody<RedeemCredentialRequest, RedeemCredentialResponse>;
}

/** What the bodies need. */
export interface CredentialDependencies {
  issuer: CredentialIssuer;
  redeemer: CredentialRedeemer;
  now: () => number;
}

const requestIdInput = z.object({ requestId });
const servicePattern = /^[\x21-\x7e]{1,64}$/;

/**
 * The bodies of tollgate.v1.CredentialService: public, since a verifier holds no API key (the
 * call runner skips authentication for them: `publicMethods`). The keys are exactly what
 * `/.well-known/jwks.json` serves.
 */
export function credentialServiceBodies(deps: CredentialDependencies): CredentialServiceBodies {
  return {
    async getSigningKeys() {
      return {
        jwksJson: JSON.stringify(deps.issuer.jwks(deps.now())),
        currentKeyId: deps.issuer.publicJwk.kid as string,
      };
    },

    async redeemCredential(req) {
      if (req.credential === "" || req.credential.length > 8192) {
        throw invalidArgument("credential", "must be a compact JWS of at most 8192 characters");
      }
      if (!servicePattern.test(req.service)) {
        throw invalidArgument("service", "must be 1..64 printable ASCII characters");
      }
      parse(requestIdInput, { requestId: req.requestId });
      const { claims, replayed } = await deps.redeemer.redeem(
        req.credential,
        req.service,
        req.requestId,
      );
      return {
        claims: {
          kind: claims.kind,
          id: claims.id,
          project: claims.project,
          walletId: claims.walletId,
          service: claims.service,
          amount: BigInt(claims.amount),
          agentKeyId: claims.agentKeyId ?? "",
          issuedAt: claims.issuedAt,
          expiresAt: claims.expiresAt,
        },
        replayed,
      };
    },
  };
}

/** grpc-js handlers of tollgate.v1.CredentialService: the bodies above. */
export function credentialServiceHandlers(
  deps: RpcDependencies,
  bodies: CredentialServiceBodies,
): CredentialServiceServer {
  return {
    getSigningKeys: unaryCall("GetSigningKeys", deps, bodies.getSigningKeys),
    redeemCredential: unaryCall("RedeemCredential", deps, bodies.redeemCredential),
  };
}
