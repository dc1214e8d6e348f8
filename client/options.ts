import type { Interceptor } from "@grpc/grpc-js";
import { invalidArgument } from "./errors/invalid-argument-error.js";

/** How Wallet handles send spend/authorize/capture/void. */
export type Mode = "unary" | "stream";

/** Retry policy of UNAVAILABLE and DEADLINE_EXCEEDED failures. */
export interface RetryOptions {
  /**
   * Attempts in all, the first included. Default 4: with the default backoff the three retries
   * wait at most 0.35 s in all (jitter halves that on average), enough to ride over a dropped
   * connection or a brief store hiccup; a longer outage surfaces as an UnavailableError soon,
   * since failing closed fast beats leaving an agent blocked on a spend that will not come.
   */
  maxAttempts?: number;
  /** Upper bound of the first backoff, in ms; it doubles per attempt. Default 50. */
  initialBackoffMs?: number;
  /** Cap of any one backoff, in ms. Default 1000. */
  maxBackoffMs?: number;
}

/** Everything {@link createClient} needs; only `address` is required. */
export interface ClientOptions {
  /** "host:port" of the tollgate server. */
  address: string;
  /** API key sent as `authorization: Bearer <key>`; omit for a server running open. */
  apiKey?: string;
  /** false/omitted = plaintext; true = TLS with system roots; or explicit PEM buffers. */
  tls?: boolean | { rootCerts?: Buffer; privateKey?: Buffer; certChain?: Buffer };
  /**
   * Per-attempt deadline in ms for every call. Default 5000: a spend is one Redis script (a few
   * ms, tens under load), so 5 s is far above any healthy answer and still covers a Redis
   * failover or a long GC pause, while bounding how long an agent waits before the call fails
   * (closed: no credential) and is retried. In stream mode it bounds each operation as a whole,
   * reconnects included.
   */
  deadlineMs?: number;
  /**
   * Retries of UNAVAILABLE / DEADLINE_EXCEEDED with the same request_id. Default
   * `{ maxAttempts: 4, initialBackoffMs: 50, maxBackoffMs: 1000 }`. Mutations are safe to retry
   * because the server answers a repeated request_id with the first result; nothing else is
   * ever retried (INVALID_ARGUMENT, FAILED_PRECONDITION, ... would fail the same way again).
   */
  retry?: RetryOptions;
  /**
   * How Wallet handles send spend/authorize/capture/void: one RPC each ("unary", default) or
   * multiplexed on the client's SpendStream ("stream"). Unary is the default because it needs
   * nothing from the server beyond the plain RPCs and suits agents that spend a few times per
   * second; "stream" is for high rates (measured by `npm run bench` on 2 cores: 1.6x to 2.4x the
   * spends per second of unary mode, from 1 to 64 in flight).
   */
  mode?: Mode;
  /**
   * How long the SpendStream stays open with no operation pending, in ms. Default 1000: an open
   * stream is an active gRPC call, which keeps the Node process alive, so an idle stream is
   * closed (and reopened by the next operation, which costs one HTTP/2 stream) so a program that
   * forgets `close()` still exits about a second after its last spend. Bursts keep it open.
   */
  streamIdleMs?: number;
  /** grpc-js client interceptors (tracing, logging, tests that drop answers), outermost first. */
  interceptors?: Interceptor[];
  /**
   * Base URL of tollgate's paid-API gateway (`TOLLGATE_GATEWAY_ADDRESS` of the server), e.g.
   * `http://127.0.0.1:8081`: what `tg.gateway.fetch` calls. Omitted: the client has no gateway.
   */
  gatewayUrl?: string | URL;
}

/** Options of one call. */
export interface CallOptions {
  /** Idempotency key; generated (random UUID) when omitted, and reused on every retry of this call. */
  requestId?: string;
  /** Cancels the call (and its retries); the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Overrides the client's per-attempt deadline for this call. */
  deadlineMs?: number;
}

/** {@link ClientOptions} with every default filled in. */
export interface ResolvedOptions {
  address: string;
  apiKey: string | undefined;
  tls: ClientOptions["tls"];
  deadlineMs: number;
  retry: Required<RetryOptions>;
  mode: Mode;
  streamIdleMs: number;
  interceptors: Interceptor[];
  gatewayUrl: URL | undefined;
}

/** Fills in the defaults documented on {@link ClientOptions}; refuses nonsense early. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    address: options.address,
    apiKey: options.apiKey,
    tls: options.tls ?? false,
    deadlineMs: options.deadlineMs ?? 5000,
    retry: {
      maxAttempts: options.retry?.maxAttempts ?? 4,
      initialBackoffMs: options.retry?.initialBackoffMs ?? 50,
      maxBackoffMs: options.retry?.maxBackoffMs ?? 1000,
    },
    mode: options.mode ?? "unary",
    streamIdleMs: options.streamIdleMs ?? 1000,
    interceptors: options.interceptors ?? [],
    gatewayUrl: gatewayUrlOf(options.gatewayUrl),
  };
  if (typeof resolved.address !== "string" || resolved.address === "") {
    throw invalidArgument("address", "must be host:port");
  }
  checkDeadline(resolved.deadlineMs);
  if (!Number.isSafeInteger(resolved.retry.maxAttempts) || resolved.retry.maxAttempts < 1) {
    throw invalidArgument("retry.max_attempts", "must be an integer of at least 1");
  }
  for (const [field, value] of [
    ["retry.initial_backoff_ms", resolved.retry.initialBackoffMs],
    ["retry.max_backoff_ms", resolved.retry.maxBackoffMs],
    ["stream_idle_ms", resolved.streamIdleMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) throw invalidArgument(field, "must be >= 0");
  }
  if (resolved.mode !== "unary" && resolved.mode !== "stream") {
    throw invalidArgument("mode", 'must be "unary" or "stream"');
  }
  return resolved;
}

/** An http(s) URL without credentials, query or fragment; undefined when not given. */
function gatewayUrlOf(value: string | URL | undefined): URL | undefined {
  if (value === undefined || value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidArgument(
      "gateway_url",
      `must be an http:// or https:// URL, got ${String(value)}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalidArgument("gateway_url", `must be an http:// or https:// URL, got ${url.href}`);
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    // The API key goes in a header; a URL is logged and shown far more often than a header.
    throw invalidArgument("gateway_url", "must not carry credentials, a query or a fragment");
  }
  return url;
}

/** A deadline must be a positive, finite number of ms. */
export function checkDeadline(deadlineMs: number): number {
  if (typeof deadlineMs !== "number" || !Number.isFinite(deadlineMs) || deadlineMs <= 0) {
    throw invalidArgument("deadline_ms", `must be a positive number of ms, got ${deadlineMs}`);
  }
  return deadlineMs;
}
