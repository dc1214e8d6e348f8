import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable, type Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { type Dispatcher, errors, request } from "undici";
import { agentResponseHeaders, upstreamRequestHeaders } from "./forwarded-headers.js";
import type { GatewayContext } from "./gateway-context.js";
import { type GatewayRefusal, refuse, sendRefusal } from "./gateway-refusal.js";
import type { Payment } from "./payment.js";
import { upstreamIdempotencyKey } from "./request-id.js";
import { type GatewayTarget, upstreamUrl } from "./request-target.js";
import { SecretScrubber } from "./secret-scrubber.js";
import type { CallEnd } from "./settlement.js";
import { UsageMeter } from "./usage-meter.js";

/** What relaying a paid call found: how it ended, and what the log line says about it. */
export interface Relayed {
  end: CallEnd;
  /** The upstream's status, when it answered. */
  upstreamStatus: number | undefined;
  /** The refusal the gateway answered instead of an upstream answer (502, 504, 413). */
  refusal: GatewayRefusal | undefined;
}

/**
 * Forwards a paid call upstream and relays the answer back, streaming both bodies:
 *
 * - the request body is capped at the service's `maxRequestBytes` as it streams (a body that grows
 *   past it aborts the upstream request and is answered 413);
 * - the answer is decoded if the upstream compressed it anyway (the gateway asked for identity),
 *   so the secret can be masked in it ({@link SecretScrubber}), and its cost read as it passes
 *   ({@link UsageMeter});
 * - the agent going away aborts the upstream request, and what it had received so far is what a
 *   per-unit meter counts.
 *
 * Never throws: every ending is a {@link CallEnd} for settlement.
 */
export async function relayCall(
  context: GatewayContext,
  payment: Payment,
  target: GatewayTarget,
  request_: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  contentLength: number | undefined,
): Promise<Relayed> {
  const service = payment.service;
  const abort = new AbortController();
  let agentGone = false;
  response.on("close", () => {
    if (!response.writableFinished) {
      agentGone = true;
      abort.abort();
    }
  });
  let bodyTooLarge = false;
  const hasBody =
    contentLength !== undefined ? contentLength > 0 : "transfer-encoding" in request_.headers;
  const body = hasBody
    ? Readable.from(
        capped(request_, service.maxRequestBytes, () => {
          bodyTooLarge = true;
        }),
        { objectMode: false },
      )
    : undefined;
  const headers = upstreamRequestHeaders(request_.headers, service, {
    idempotencyKey: upstreamIdempotencyKey(payment.project, payment.id),
    requestId,
    contentLength: hasBody ? contentLength : undefined,
  });

  let answer: Dispatcher.ResponseData;
  try {
    answer = await request(upstreamUrl(service, target), {
      dispatcher: context.dispatchers.for(service),
      method: request_.method as Dispatcher.HttpMethod,
      headers,
      body,
      signal: abort.signal,
    });
  } catch (error) {
    if (bodyTooLarge) {
      const refusal = refuse.tooLarge(service.maxRequestBytes);
      sendRefusal(response, refusal, requestId, true);
      return { end: { kind: "request_too_large" }, upstreamStatus: undefined, refusal };
    }
    if (agentGone)
      return {
        end: { kind: "agent_gone_before_answer" },
        upstreamStatus: undefined,
        refusal: undefined,
      };
    const timedOut = isTimeout(error);
    const refusal = timedOut ? refuse.timeout() : refuse.unreachable();
    sendRefusal(response, refusal, requestId, !request_.complete);
    return {
      end: { kind: timedOut ? "timeout" : "unreachable" },
      upstreamStatus: undefined,
      refusal,
    };
  }

  const status = answer.statusCode;
  const decoded = decoder(answer.headers["content-encoding"]);
  if (decoded === "unknown") {
    answer.body.destroy();
    const refusal = refuse.badAnswer(
      "the upstream answered in a content encoding the gateway cannot read",
    );
    sendRefusal(response, refusal, requestId, !request_.complete);
    return { end: { kind: "bad_answer" }, upstreamStatus: status, refusal };
  }
  const meter = UsageMeter.for(service);
  meter?.headers(answer.headers);
  const scrubber =
    service.auth === undefined ? undefined : new SecretScrubber(service.auth.secret.reveal());
  const outHeaders = agentResponseHeaders(answer.headers, scrubber, decoded === undefined);
  outHeaders["x-request-id"] = requestId;
  outHeaders[payment.kind === "hold" ? "tollgate-hold-id" : "tollgate-charge-id"] = payment.id;
  if (agentGone) {
    answer.body.destroy();
    return {
      end: { kind: "agent_gone_before_answer" },
      upstreamStatus: status,
      refusal: undefined,
    };
  }
  // From here the call is answered: no replay of its payment may be forwarded again. A store
  // that cannot record it does not stop the answer the agent paid for (logged: a replay of this
  // request id could then reach the upstream once more, with the same Idempotency-Key).
  await context.redemptions.markDelivered(payment.id).catch((error: unknown) => {
    context.logger.warn({ requestId, err: error }, "gateway could not mark a call answered");
  });
  response.writeHead(status, outHeaders);

  const source: Readable = decoded === undefined ? answer.body : answer.body.pipe(decoded);
  if (decoded !== undefined) answer.body.on("error", (error) => decoded.destroy(error));
  const send = async (chunk: Buffer) => {
    if (chunk.length === 0 || agentGone) return;
    meter?.relayed(chunk);
    if (!response.write(chunk)) await drained(response);
  };
  let ending: "complete" | "agent_cancelled" | "upstream_cut" | "upstream_timeout" = "complete";
  try {
    for await (const chunk of source) {
      if (agentGone) break;
      await send(scrubber === undefined ? (chunk as Buffer) : scrubber.push(chunk as Buffer));
    }
    if (scrubber !== undefined) await send(scrubber.flush());
    if (agentGone) ending = "agent_cancelled";
    else response.end();
  } catch (error) {
    if (agentGone) ending = "agent_cancelled";
    else {
      ending = isTimeout(error) ? "upstream_timeout" : "upstream_cut";
      // The headers are out: the only way to tell the agent the body is incomplete is to cut it.
      response.destroy();
    }
  } finally {
    answer.body.destroy();
  }
  return {
    end: { kind: "answered", status, body: ending, reading: meter?.reading() },
    upstreamStatus: status,
    refusal: undefined,
  };
}

/** The request body, failing once it passes `limit` bytes (which aborts the upstream request). */
async function* capped(
  source: IncomingMessage,
  limit: number,
  onTooLarge: () => void,
): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      onTooLarge();
      throw refuse.tooLarge(limit);
    }
    yield chunk as Buffer;
  }
}

/**
 * A decompressor for the answer's `content-encoding`: undefined for none or identity, `unknown`
 * for an encoding the gateway cannot decode (then the secret could hide in it, so the answer is
 * refused rather than relayed).
 */
function decoder(value: string | string[] | undefined): Transform | "unknown" | undefined {
  if (value === undefined) return undefined;
  const encoding = (Array.isArray(value) ? value.join(",") : value).trim().toLowerCase();
  switch (encoding) {
    case "":
    case "identity":
      return undefined;
    case "gzip":
    case "x-gzip":
      return createGunzip();
    case "deflate":
      return createInflate();
    case "br":
      return createBrotliDecompress();
    default:
      return "unknown";
  }
}

function isTimeout(error: unknown): boolean {
  return (
    error instanceof errors.ConnectTimeoutError ||
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError
  );
}

/** Resolves when `response` can take more, or has closed (the agent went away). */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}
