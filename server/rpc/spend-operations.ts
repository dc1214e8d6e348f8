import type {
  AuthorizeRequest,
  AuthorizeResponse,
  CaptureRequest,
  CaptureResponse,
  SpendRequest,
  SpendResponse,
  VoidRequest,
  VoidResponse,
} from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import type { Ledger } from "../ledger/ledger.js";
import { chargeToMessage, holdToMessage } from "./codec.js";
import type { UnaryBody } from "./unary-call.js";

/** The operations a SpendStream carries, each with the unary RPC's body. */
export interface SpendOperations {
  spend: UnaryBody<SpendRequest, SpendResponse>;
  authorize: UnaryBody<AuthorizeRequest, AuthorizeResponse>;
  capture: UnaryBody<CaptureRequest, CaptureResponse>;
  void: UnaryBody<VoidRequest, VoidResponse>;
}

/**
 * Decode -> ledger -> encode for Spend, Authorize, Capture and Void, shared by the unary handlers
 * and SpendStream so an operation means exactly the same on both (docs/architecture.md#data-flow: adapters hold no
 * rules, the ledger validates every field).
 */
export function spendOperations(ledger: Ledger): SpendOperations {
  return {
    async spend(req, { project, agent }) {
      const spent = await ledger.spend(
        project,
        {
          walletId: req.walletId,
          amount: req.amount,
          service: req.service,
          metadata: req.metadata,
          requestId: req.requestId,
        },
        agent?.keyId,
      );
      return {
        charge: chargeToMessage(spent.line),
        remaining: BigInt(spent.remaining),
        credential: spent.credential.token,
        credentialExpiresAt: new Date(spent.credential.expiresAtMs),
      };
    },

    async authorize(req, { project, agent }) {
      const authorized = await ledger.authorize(
        project,
        {
          walletId: req.walletId,
          amount: req.amount,
          service: req.service,
          metadata: req.metadata,
          requestId: req.requestId,
          ttlSeconds: req.ttlSeconds,
        },
        agent?.keyId,
      );
      return {
        hold: holdToMessage(authorized.hold),
        remaining: BigInt(authorized.remaining),
        credential: authorized.credential.token,
        credentialExpiresAt: new Date(authorized.credential.expiresAtMs),
      };
    },

    async capture(req, { project }) {
      const captured = await ledger.capture(project, {
        holdId: req.holdId,
        amount: req.amount,
        metadata: req.metadata,
        requestId: req.requestId,
      });
      return {
        charge: chargeToMessage(captured.line),
        hold: holdToMessage(captured.hold),
        remaining: BigInt(captured.remaining),
      };
    },

    async void(req, { project }) {
      const voided = await ledger.void(project, { holdId: req.holdId, requestId: req.requestId });
      return { hold: holdToMessage(voided.hold), remaining: BigInt(voided.remaining) };
    },
  };
}
