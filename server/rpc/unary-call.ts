import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type handleUnaryCall, Metadata, status } from "@grpc/grpc-js";
import type { Authenticator } from "../auth/authenticator.js";
import type { Ledger } from "../ledger/ledger.js";
import type { Logger } from "../logger.js";
import { errorToStatus } from "./error-status.js";

/** What every handler needs: the ledger (all business rules), auth, and the call log. */
export interface RpcDependencies {
  ledger: Ledger;
  authenticator: Authenticator;
  logger: Logger;
}

/** Per-call facts a handler may use. */
export interface CallContext {
  /** The caller's project, resolved from its API key before the handler runs. */
  project: string;
  requestId: string;
}

/** A handler body: decode -> ledger -> encode, nothing else. */
export type UnaryBody<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/** Request ids longer than the ledger accepts are cut for logging, so a call cannot flood logs. */
const requestIdLogMaxChars = 128;

/**
 * Wraps a handler body into a grpc-js unary handler that can never throw or reject: it
 * authenticates, runs the body, turns any failure into a status through {@link errorToStatus},
 * echoes the request id in an `x-request-id` trailer, and writes exactly one log line per call
 * (method, request id, project, wallet and hold ids, code, reason, latencyMs). An unexpected error
 * is logged with its stack at `error`; the client only ever sees INTERNAL "internal error".
 */
export function unaryCall<Req, Res>(
  method: string,
  deps: RpcDependencies,
  body: UnaryBody<Req, Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const startedMs = performance.now();
    const request: unknown = call.request;
    const requestId = requestIdOf(request, call.metadata);
    let project: string | undefined;
    const finish = async () => {
      let response: Res | undefined;
      let failure: unknown;
      try {
        project = deps.authenticator.authenticate(call.metadata);
        response = await body(call.request, { project, requestId });
      } catch (error) {
        failure = error;
      }
      const trailer = new Metadata();
      trailer.set("x-request-id", requestId);
      const line = {
        method,
        requestId,
        project,
        walletId: walletIdOf(request, response),
        holdId: stringField(request, "holdId"),
        latencyMs: 0,
      };
      if (failure === undefined) {
        line.latencyMs = elapsedMs(startedMs);
        deps.logger.info({ ...line, code: "OK" }, "rpc");
        callback(null, response, trailer);
        return;
      }
      const error = errorToStatus(failure);
      error.metadata.merge(trailer);
      line.latencyMs = elapsedMs(startedMs);
      const entry = { ...line, code: status[error.code], reason: error.reason };
      if (error.code === status.INTERNAL) deps.logger.error({ ...entry, err: failure }, "rpc");
      else if (error.code === status.UNAVAILABLE)
        deps.logger.warn({ ...entry, err: failure }, "rpc");
      else deps.logger.info(entry, "rpc");
      callback(error);
    };
    finish().catch((error: unknown) => {
      // Only reachable if logging or the callback itself threw; never let it take the process down.
      deps.logger.error({ method, requestId, err: error }, "rpc handler failed after completion");
      try {
        callback({ code: status.INTERNAL, details: "internal error" });
      } catch {
        // The call is already finished; nothing left to tell the client.
      }
    });
  };
}

/**
 * The request's own `request_id`, else an `x-request-id` header, else a fresh UUID. The id goes
 * into a trailer, which grpc-js only accepts as printable ASCII: an id the ledger will refuse
 * (say, non-ASCII) is percent-encoded here so the refusal still reaches the client.
 */
function requestIdOf(request: unknown, metadata: Metadata): string {
  const own = stringField(request, "requestId");
  if (own !== undefined) {
    const printable = /^[\x20-\x7e]*$/.test(own) ? own : encodeURIComponent(own);
    return printable.slice(0, requestIdLogMaxChars);
  }
  const header = metadata.get("x-request-id")[0];
  if (typeof header === "string" && header !== "") return header.slice(0, requestIdLogMaxChars);
  return randomUUID();
}

/**
 * The wallet a call was about: the request's `wallet_id`; else the wallet the response shows
 * (a created wallet, a captured or voided hold's wallet); else the parent a list or create named.
 */
function walletIdOf(request: unknown, response: unknown): string | undefined {
  return (
    stringField(request, "walletId") ??
    stringField(field(response, "wallet"), "id") ??
    stringField(field(response, "hold"), "walletId") ??
    stringField(request, "parentId")
  );
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function stringField(value: unknown, key: string): string | undefined {
  const v = field(value, key);
  return typeof v === "string" && v !== "" ? v : undefined;
}

function elapsedMs(startedMs: number): number {
  return Math.round((performance.now() - startedMs) * 100) / 100;
}
