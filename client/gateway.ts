import { status } from "@grpc/grpc-js";
import { errorFromReason } from "./errors/from-status.js";
import { invalidArgument } from "./errors/invalid-argument-error.js";
import type { TollgateError } from "./errors/tollgate-error.js";
import { checkMetadata } from "./limits.js";
import { requestIdOf } from "./operations.js";
import type { ResolvedOptions } from "./options.js";
import { backoffMs, sleep } from "./retry.js";
import { clientClosed } from "./unary.js";
import type { Wallet } from "./wallet.js";

/** How one gateway call is paid for, and labelled. */
export interface GatewayCallOptions {
  /**
   * The wallet the gateway charges the catalog price to, with the client's API key (an agent key
   * bound to it, or a project key): one call, no credential to carry. Exclusive with `credential`.
   */
  wallet?: Wallet | string;
  /**
   * Or a credential from `wallet.spend` / `wallet.authorize` for this service, redeemed by the
   * gateway (once). Exclusive with `wallet`.
   */
  credential?: string;
  /**
   * The call's idempotency key (`x-request-id`): generated (a random UUID) when omitted, and sent
   * unchanged on the client's own retries, so a call retried after a lost answer is charged once.
   * Give your own to make a retry of your own (after a crash, say) charge once too.
   */
  requestId?: string;
  /** Labels of the charge (`{ agent: "researcher" }`), as for a spend's metadata. */
  metadata?: Record<string, string>;
}

/** The client's way through tollgate's paid-API gateway (docs/credentials.md#the-gateway). */
export interface Gateway {
  /**
   * Calls `path` of the catalog service `service` through the gateway, which pays for the call,
   * adds the upstream's secret (the caller never holds it) and relays the upstream's answer:
   *
   * ```ts
   * const res = await tg.gateway.fetch("search", "/v1/search?q=tollgate", {}, { wallet });
   * ```
   *
   * Resolves with the upstream's answer as a WHATWG `Response`, whatever its status. Rejects with
   * a {@link TollgateError} when tollgate refused the call (nothing was forwarded):
   * {@link InsufficientCreditsError} (HTTP 402) when the wallet cannot pay the price,
   * {@link UnauthenticatedError} (401) for a missing, wrong or expired key or credential,
   * {@link PermissionDeniedError} (403) for a wallet, service, method or path the key or the
   * catalog does not allow, {@link InvalidArgumentError} (400) and the rest by code; and with
   * {@link UnavailableError} when the gateway or the upstream could not be reached (502, 503,
   * 504, or no connection), after retrying a replayable request under the same request id.
   * `init.signal` aborts the call (and its retries), as with `fetch`. The client's `deadlineMs`
   * does not apply: an answer may stream for minutes (an LLM's tokens), and the catalog's
   * `timeoutMs` bounds each wait on the upstream. Redirects are not followed (`redirect` is
   * always `"manual"`): a 3xx is the upstream's answer, and its target is not behind the gateway.
   */
  fetch(
    service: string,
    path: string,
    init: RequestInit | undefined,
    options: GatewayCallOptions,
  ): Promise<Response>;
}

/** As the catalog names services (server/catalog/catalog.ts). */
const serviceName = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The headers a relayed answer carries: the charge or hold that paid for it. A refusal has
 * neither, which is how a gateway refusal is told from an upstream's own 4xx/5xx answer.
 */
const paidHeaders = ["tollgate-charge-id", "tollgate-hold-id"];

/** {@link Gateway} over `fetch`, with the client's API key and retry policy. */
export class GatewayFetcher implements Gateway {
  private closed = false;

  constructor(private readonly settings: ResolvedOptions) {}

  /** Refuses every later call with CLIENT_CLOSED (calls in flight finish). */
  close(): void {
    this.closed = true;
  }

  async fetch(
    service: string,
    path: string,
    init: RequestInit | undefined,
    options: GatewayCallOptions,
  ): Promise<Response> {
    const requestId = requestIdOf(options);
    const url = this.urlOf(service, path);
    const headers = this.headersOf(init, options, requestId);
    const walletId = walletIdOf(options.wallet);
    const replayable = isReplayable(init?.body);
    const signal = init?.signal ?? undefined;
    const retry = this.settings.retry;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      if (this.closed) throw clientClosed(requestId);
      const canRetry = replayable && attempt < retry.maxAttempts;
      let response: Response;
      try {
        response = await fetch(url, { ...init, headers, redirect: "manual" });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (canRetry) {
          await sleep(backoffMs(attempt, retry), signal);
          continue;
        }
        throw errorFromReason(
          {
            code: status.UNAVAILABLE,
            message: `the gateway at ${url.origin} could not be reached: ${describe(error)}`,
            reason: "",
            metadata: {},
          },
          { requestId, walletId },
          error,
        );
      }
      const refusal = await refusalOf(response, { requestId, walletId });
      if (refusal === undefined) return response;
      if (refusal instanceof Response) return refusal;
      // 503: the gateway is shutting down or its store is down; nothing was forwarded, and the
      // same request id makes the retry safe.
      if (response.status === 503 && canRetry) {
        await sleep(backoffMs(attempt, retry), signal);
        continue;
      }
      throw refusal;
    }
  }

  private urlOf(service: string, path: string): URL {
    const base = this.settings.gatewayUrl;
    if (base === undefined) {
      throw invalidArgument(
        "gateway_url",
        'this client has no gatewayUrl: createClient({ ..., gatewayUrl: "http://127.0.0.1:8081" })',
      );
    }
    if (typeof service !== "string" || !serviceName.test(service)) {
      throw invalidArgument("service", "must be 1..64 of A-Z a-z 0-9 . _ -");
    }
    if (typeof path !== "string") throw invalidArgument("path", "must be a string");
    const root = base.href.endsWith("/") ? base.href : `${base.href}/`;
    // The path is the caller's, below the service: its query included, not re-encoded.
    return new URL(`${root}${service}/${path.replace(/^\/+/, "")}`);
  }

  private headersOf(
    init: RequestInit | undefined,
    options: GatewayCallOptions,
    requestId: string,
  ): Headers {
    const headers = new Headers(init?.headers);
    if ((options.wallet === undefined) === (options.credential === undefined)) {
      throw invalidArgument("wallet", "give exactly one of `wallet` and `credential`");
    }
    // The caller's own authorization, if any, is never forwarded (the gateway strips it too): the
    // upstream gets the catalog's secret, and the gateway gets the key or credential.
    if (options.credential !== undefined) {
      headers.set("authorization", `Bearer ${options.credential}`);
    } else {
      const apiKey = this.settings.apiKey;
      if (apiKey === undefined) headers.delete("authorization");
      else headers.set("authorization", `Bearer ${apiKey}`);
      headers.set("tollgate-wallet", walletIdOf(options.wallet) ?? "");
    }
    headers.set("x-request-id", requestId);
    const metadata = checkMetadata(options.metadata);
    if (Object.keys(metadata).length > 0) {
      headers.set("tollgate-metadata", asciiJson(metadata));
    } else {
      headers.delete("tollgate-metadata");
    }
    return headers;
  }
}

/**
 * The typed error of a gateway refusal (`{"error": {"code", "reason", "message", "metadata"}}`
 * on an answer that no charge or hold paid for); the answer itself, rebuilt, when its body is not
 * one after all; undefined for a paid answer, which is the upstream's to give whatever its status.
 */
async function refusalOf(
  response: Response,
  context: { requestId: string; walletId: string | undefined },
): Promise<TollgateError | Response | undefined> {
  if (response.ok || paidHeaders.some((name) => response.headers.has(name))) return undefined;
  if (!/^application\/json\b/i.test(response.headers.get("content-type") ?? "")) return undefined;
  const text = await response.text();
  const error = parseRefusal(text);
  if (error === undefined) {
    return new Response(text, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }
  const code = status[error.code as keyof typeof status];
  return errorFromReason(
    {
      code: typeof code === "number" ? code : status.UNKNOWN,
      message: error.message,
      reason: error.reason,
      metadata: error.metadata,
    },
    context,
  );
}

interface RefusalBody {
  code: string;
  reason: string;
  message: string;
  metadata: Record<string, string>;
}

function parseRefusal(text: string): RefusalBody | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const error = (body as { error?: unknown } | null)?.error as Partial<RefusalBody> | undefined;
  if (
    typeof error !== "object" ||
    error === null ||
    typeof error.code !== "string" ||
    typeof error.reason !== "string" ||
    typeof error.message !== "string"
  ) {
    return undefined;
  }
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(error.metadata ?? {})) {
    if (typeof value === "string") metadata[key] = value;
  }
  return { code: error.code, reason: error.reason, message: error.message, metadata };
}

/**
 * A body fetch can send again as it is: a stream or an async iterable is consumed by the first
 * attempt, so a call with one is never retried by the client.
 */
function isReplayable(body: RequestInit["body"]): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === "string") return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (body instanceof URLSearchParams || body instanceof Blob || body instanceof FormData) {
    return true;
  }
  return false;
}

function walletIdOf(wallet: Wallet | string | undefined): string | undefined {
  return wallet === undefined || typeof wallet === "string" ? wallet : wallet.id;
}

/** JSON with every non-ASCII character escaped: a header value must be bytes, and stay JSON. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** fetch's network errors say "fetch failed" and keep the reason in `cause`. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}
