import { performance } from "node:perf_hooks";
import { createContextValues } from "@connectrpc/connect";
import type {
  UniversalHandler,
  UniversalServerRequest,
  UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import type { Logger } from "../logger.js";
import type { Metrics, Transport } from "../metrics/metrics.js";
import { codeName, elapsedMs, logCall, requestIdOf } from "../rpc/call-log.js";
import { beginHttpCall } from "./http-call.js";

/** The code logged for an HTTP refusal that has no gRPC code of its own. */
const refusalNames: ReadonlyMap<number, string> = new Map([
  [405, "METHOD_NOT_ALLOWED"],
  [415, "UNSUPPORTED_MEDIA_TYPE"],
  [505, "HTTP_VERSION_NOT_SUPPORTED"],
]);

/**
 * `handler` with the one-line-per-call rule kept for requests no call adapter ever saw. Connect
 * refuses some requests itself, before any handler runs: a content type it does not serve (415),
 * a GET to a method with side effects (405), SpendStream over HTTP/1.1 (505), a body over the size
 * cap (RESOURCE_EXHAUSTED), a broken envelope. Each such request gets its call line and count here
 * (method, transport, request id, the code, `httpStatus`), so the HTTP face logs one line per
 * call like grpc-js. Requests a call adapter took are logged by the adapter (call-runner.ts).
 *
 * The code is the gRPC name when there is one (RESOURCE_EXHAUSTED for an oversized body, the
 * Connect error's own code for a Connect unary error), else the refusal's name
 * (`UNSUPPORTED_MEDIA_TYPE`, `METHOD_NOT_ALLOWED`, `HTTP_VERSION_NOT_SUPPORTED`), else
 * `HTTP_<status>`; a refusal inside a 200 stream (a broken envelope) is `UNKNOWN`.
 */
export function loggedRefusals(
  handler: UniversalHandler,
  logger: Logger,
  metrics: Metrics,
): UniversalHandler {
  async function logged(request: UniversalServerRequest): Promise<UniversalServerResponse> {
    const startedMs = performance.now();
    const values = request.contextValues ?? createContextValues();
    const call = beginHttpCall(values);
    const response = await handler({ ...request, contextValues: values });
    if (call.handled) return response;
    const latencyMs = elapsedMs(startedMs);
    const { code, body } = await refusalCode(response, call.oversized);
    const method = handler.method.name;
    const transport = transportOf(request.header.get("content-type"));
    logCall(
      logger,
      "info",
      {
        method,
        transport,
        requestId: requestIdOf(undefined, request.header.get("x-request-id") ?? undefined),
        project: undefined,
        walletId: undefined,
        holdId: undefined,
        latencyMs,
        httpStatus: response.status,
      },
      { code, reason: undefined },
    );
    metrics.observeCall({
      method,
      transport,
      code: codeName(code),
      reason: undefined,
      seconds: latencyMs / 1000,
      project: undefined,
      response: undefined,
    });
    return { ...response, body };
  }
  return Object.assign(logged, {
    protocolNames: handler.protocolNames,
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}

/** `grpc-web` for gRPC-Web content types, else `connect`. */
export function transportOf(contentType: string | null): Transport {
  return (contentType ?? "").toLowerCase().startsWith("application/grpc-web")
    ? "grpc-web"
    : "connect";
}

/**
 * The code of a refused request's response. A Connect unary error's JSON body is read for its
 * code (it is one small chunk) and handed back to be sent as it was.
 */
async function refusalCode(
  response: UniversalServerResponse,
  oversized: boolean,
): Promise<{ code: string; body: UniversalServerResponse["body"] }> {
  const body = response.body;
  if (oversized) return { code: "RESOURCE_EXHAUSTED", body };
  const named = refusalNames.get(response.status);
  if (named !== undefined) return { code: named, body };
  if (response.status === 200) return { code: "UNKNOWN", body };
  const json = (response.header?.get("content-type") ?? "").startsWith("application/json");
  if (!json || body === undefined) return { code: `HTTP_${response.status}`, body };
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  let code = `HTTP_${response.status}`;
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { code?: unknown };
    if (typeof parsed.code === "string") code = parsed.code.toUpperCase();
  } catch {
    // Not a Connect error body: keep the HTTP status.
  }
  return {
    code,
    body: (async function* () {
      yield* chunks;
    })(),
  };
}
