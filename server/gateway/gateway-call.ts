import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayContext } from "./gateway-context.js";
import type { GatewayOutcome } from "./gateway-metrics.js";
import { type GatewayRefusal, refusalOf, refuse, sendRefusal } from "./gateway-refusal.js";
import { type Payment, payForCall } from "./payment.js";
import { gatewayRequestId } from "./request-id.js";
import { type GatewayTarget, parseTarget } from "./request-target.js";
import { settlePayment } from "./settle-payment.js";
import { type CallEnd, settlementFor } from "./settlement.js";
import { relayCall } from "./upstream-relay.js";

/**
 * One gateway call, start to end: request id, target, payment (every refusal answered before
 * anything is forwarded), the relay, the settlement, then one log line and the metrics. Never
 * throws.
 */
export async function handleGatewayCall(
  context: GatewayContext,
  request: IncomingMessage,
  response: ServerResponse,
  closing: boolean,
): Promise<void> {
  const startedMs = performance.now();
  const { id: requestId, given: requestIdGiven } = gatewayRequestId(request.headers);
  const method = request.method ?? "GET";
  let target: GatewayTarget | undefined;
  let payment: Payment | undefined;
  let contentLength: number | undefined;
  try {
    if (closing) throw refuse.shuttingDown();
    target = parseTarget(request.url);
    // Node has already refused a malformed or repeated content-length.
    const declared = request.headers["content-length"];
    contentLength = declared === undefined ? undefined : Number(declared);
    payment = await payForCall(context, {
      target,
      method,
      headers: request.headers,
      requestId,
      requestIdGiven,
      contentLength,
    });
  } catch (error) {
    const refusal = refusalOf(error);
    sendRefusal(response, refusal, requestId, !request.complete);
    finish(context, {
      startedMs,
      requestId,
      method,
      service: payment?.service.name,
      target,
      outcome: "refused",
      refusal,
      error: refusal.status === 500 ? error : undefined,
    });
    return;
  }

  const relayed = await relayCall(
    context,
    payment,
    target,
    request,
    response,
    requestId,
    contentLength,
  );
  const settlement = settlementFor(payment.kind, payment.service, payment.amount, relayed.end);
  const settled = await settlePayment(context, payment, settlement, requestId);
  finish(context, {
    startedMs,
    requestId,
    method,
    service: payment.service.name,
    target,
    outcome: outcomeOf(relayed.end),
    refusal: relayed.refusal,
    payment,
    upstreamStatus: relayed.upstreamStatus,
    end: relayed.end.kind === "answered" ? relayed.end.body : relayed.end.kind,
    settlement: settled.outcome,
    cost: settled.cost,
    settlementError: settled.error,
    note: settlement.action === "capture" ? settlement.note : undefined,
  });
}

function outcomeOf(end: CallEnd): GatewayOutcome {
  switch (end.kind) {
    case "answered":
      return `answered_${Math.floor(end.status / 100)}xx` as GatewayOutcome;
    case "unreachable":
    case "bad_answer":
      return "unreachable";
    case "timeout":
      return "timeout";
    case "request_too_large":
      return "refused";
    default:
      return "cancelled";
  }
}

interface Finished {
  startedMs: number;
  requestId: string;
  method: string;
  service: string | undefined;
  target: GatewayTarget | undefined;
  outcome: GatewayOutcome;
  refusal: GatewayRefusal | undefined;
  error?: unknown;
  payment?: Payment;
  upstreamStatus?: number;
  end?: string;
  settlement?: string;
  cost?: number;
  settlementError?: string;
  note?: string;
}

/**
 * The call's log line and metrics. The line names the call (request id, service, method, the
 * charge or hold id, the wallet) and how it went; never the credential, the key, the upstream
 * secret, the path's query or any body: a query may carry a caller's data, and the line is
 * indexed by more people than the agent's owner.
 */
function finish(context: GatewayContext, call: Finished): void {
  const seconds = (performance.now() - call.startedMs) / 1000;
  context.metrics.observe(call.service, call.outcome, seconds);
  const line = {
    requestId: call.requestId,
    service: call.service ?? call.target?.service,
    method: call.method,
    path: call.target?.path,
    status: call.refusal?.status ?? call.upstreamStatus,
    upstreamStatus: call.upstreamStatus,
    reason: call.refusal?.reason,
    outcome: call.outcome,
    end: call.end,
    project: call.payment?.project,
    walletId: call.payment?.walletId,
    [call.payment?.kind === "hold" ? "holdId" : "chargeId"]: call.payment?.id,
    agentKeyId: call.payment?.agentKeyId,
    settlement: call.settlement,
    cost: call.cost,
    settlementError: call.settlementError,
    note: call.note,
    durationMs: Math.round(seconds * 1e4) / 10,
  };
  if (call.error !== undefined) {
    context.logger.error({ ...line, err: call.error }, "gateway call failed");
  } else if (call.settlementError !== undefined) {
    context.logger.warn(line, "gateway call not settled: its hold expires by itself");
  } else {
    context.logger.info(line, "gateway call");
  }
}
