import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { CatalogService } from "../catalog/catalog.js";
import type { SecretScrubber } from "./secret-scrubber.js";

/** Hop-by-hop headers (RFC 9110 7.6.1), plus the proxy ones: never forwarded, either way. */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Request headers the agent sends that never go upstream:
 * - `host`: the upstream's host is the catalog's, always (undici writes it from the URL);
 * - `authorization` (the credential or key) and `cookie` (the gateway's origin is shared by every
 *   service, so a cookie is never the upstream's own);
 * - `forwarded`, `x-forwarded-*`, `x-real-ip`: what an agent claims about routing is not passed on
 *   as if the gateway had said it;
 * - `idempotency-key` and `accept-encoding`: the gateway sets its own (the key derived from the
 *   charge; identity, so answers can be scrubbed of the secret);
 * - `expect` (Node answered the 100-continue already), `content-length` (set from the body);
 * - `tollgate-*`: the gateway's own headers (wallet, metadata).
 */
const droppedRequestHeaders = new Set([
  "host",
  "authorization",
  "cookie",
  "forwarded",
  "x-real-ip",
  "idempotency-key",
  "accept-encoding",
  "expect",
  "content-length",
]);

/**
 * Answer headers that never reach the agent: `set-cookie` (as `cookie`: the gateway's origin is
 * every service's, so an upstream's cookie would travel to the others), and the body framing,
 * which Node writes for the body it actually sends.
 */
const droppedResponseHeaders = new Set(["set-cookie", "content-length", "content-encoding"]);

/** The headers `connection` names, which are hop-by-hop too (RFC 9110 7.6.1). */
function namedByConnection(value: string | string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  return new Set(
    text
      .split(",")
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ""),
  );
}

/**
 * The headers sent upstream: the agent's, less everything above, plus the service's own
 * authorization (`<header>: <scheme> <secret>`, replacing any the agent sent under that name), the
 * call's `Idempotency-Key` and request id, and `accept-encoding: identity`.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  service: CatalogService,
  extra: { idempotencyKey: string; requestId: string; contentLength: number | undefined },
): Record<string, string | string[]> {
  const connectionNamed = namedByConnection(incoming.connection);
  const auth = service.auth;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    if (hopByHop.has(name) || connectionNamed.has(name) || droppedRequestHeaders.has(name)) {
      continue;
    }
    if (name.startsWith("x-forwarded-") || name.startsWith("tollgate-")) continue;
    if (auth !== undefined && name === auth.header) continue;
    out[name] = value;
  }
  if (auth !== undefined) {
    const secret = auth.secret.reveal();
    out[auth.header] = auth.scheme === "" ? secret : `${auth.scheme} ${secret}`;
  }
  out["idempotency-key"] = extra.idempotencyKey;
  out["x-request-id"] = extra.requestId;
  out["accept-encoding"] = "identity";
  if (extra.contentLength !== undefined) out["content-length"] = String(extra.contentLength);
  return out;
}

/**
 * The answer's headers as the agent gets them: hop-by-hop ones and those above dropped, and the
 * secret masked in every value (an upstream that echoes request headers back must not hand it
 * over). `content-length` is kept only for an identity body (masking keeps lengths).
 */
export function agentResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  scrubber: SecretScrubber | undefined,
  keepLength: boolean,
): OutgoingHttpHeaders {
  const connectionNamed = namedByConnection(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower) || connectionNamed.has(lower)) continue;
    if (droppedResponseHeaders.has(lower) && !(keepLength && lower === "content-length")) continue;
    if (scrubber === undefined) out[lower] = value;
    else
      out[lower] = Array.isArray(value)
        ? value.map((v) => scrubber.scrubText(v))
        : scrubber.scrubText(value);
  }
  return out;
}
