import type { CatalogService } from "../catalog/catalog.js";
import { refuse } from "./gateway-refusal.js";

/** A gateway request target split into the service it names and what goes upstream. */
export interface GatewayTarget {
  service: string;
  /** The path under the service, from its leading `/` (`/` when the target is just `/<service>`). */
  path: string;
  /** `?...` as sent, or "". */
  query: string;
}

const serviceName = /^[A-Za-z0-9._-]{1,64}$/;
/** Printable ASCII without space: anything else in a target is refused, not guessed at. */
const targetCharacters = /^[\x21-\x7e]*$/;
/** Characters a path segment may hold as they are (RFC 3986 pchar, minus `%` handled apart). */
const segmentCharacters = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/;

/**
 * Parses the request target of a gateway call, refusing (MALFORMED_PATH, 400) whatever could
 * reach anything but the service's own base path, rather than normalising it: the upstream may
 * decode or normalise differently from us, so the only safe target is one every reader sees the
 * same way.
 *
 * Refused: anything but origin form (`http://host/...` absolute form, `*`); control characters,
 * space, non-ASCII and `#`; a backslash; empty segments (`//`); `.` and `..` segments; a percent
 * sign not followed by two hex digits; and percent-encodings of `.`, `/`, `\`, `%` and control
 * characters (`%2e`, `%2F`, `%5c`, `%25`, `%00`, ...), which some servers decode before routing.
 */
export function parseTarget(url: string | undefined): GatewayTarget {
  if (url === undefined || !url.startsWith("/")) {
    throw refuse.malformedPath("the request target must be /<service>/<path>");
  }
  if (!targetCharacters.test(url) || url.includes("#")) {
    throw refuse.malformedPath("the request target has characters the gateway does not forward");
  }
  const mark = url.indexOf("?");
  const rawPath = mark === -1 ? url : url.slice(0, mark);
  const query = mark === -1 ? "" : url.slice(mark);
  // A query never routes, so encoded slashes and dots are fine there (`?url=https%3A%2F%2F...`);
  // encoded controls (`%0d%0a`) are not.
  checkEncodings(query, false);
  const segments = rawPath.slice(1).split("/");
  const service = segments[0] ?? "";
  if (!serviceName.test(service) || service === "." || service === "..") {
    throw refuse.malformedPath("the request target must start with /<service> (A-Z a-z 0-9 . _ -)");
  }
  const rest = segments.slice(1);
  rest.forEach((segment, index) => {
    // A trailing slash is a path of its own (`/v1/items/`); an empty segment anywhere else is `//`.
    if (segment === "" && index !== rest.length - 1) {
      throw refuse.malformedPath("the path has an empty segment (//)");
    }
    if (segment === "." || segment === "..") {
      throw refuse.malformedPath("the path has a . or .. segment");
    }
    // `;` starts path parameters, which Java servers (Tomcat, Jetty, Spring) strip before
    // routing: `/public/..;/admin` is `/admin` to them, past the catalog's path prefixes.
    if (segment.includes(";") || /%3b/i.test(segment)) {
      throw refuse.malformedPath("the path has a ; (path parameters are not forwarded)");
    }
    checkEncodings(segment, true);
    if (!segmentCharacters.test(segment.replaceAll(/%[0-9A-Fa-f]{2}/g, ""))) {
      throw refuse.malformedPath("the path has characters the gateway does not forward");
    }
  });
  return { service, path: rest.length === 0 ? "/" : `/${rest.join("/")}`, query };
}

/**
 * Refuses a malformed percent sign, or one encoding a control character; in a path (`routing`)
 * also one encoding `.`, `/`, `\` or `%`.
 */
function checkEncodings(text: string, routing: boolean): void {
  for (let at = text.indexOf("%"); at !== -1; at = text.indexOf("%", at + 1)) {
    const hex = text.slice(at + 1, at + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
      throw refuse.malformedPath("the target has a % not followed by two hex digits");
    }
    const code = Number.parseInt(hex, 16);
    if (code < 0x20 || code === 0x7f) {
      throw refuse.malformedPath("the target encodes a control character");
    }
    if (routing && (code === 0x2e || code === 0x2f || code === 0x5c || code === 0x25)) {
      throw refuse.malformedPath("the path encodes a dot, a slash, a backslash or a percent sign");
    }
    // Bytes past ASCII in a path: an overlong UTF-8 `/` (`%c0%af`) is a slash to a lax decoder.
    if (routing && code >= 0x80) {
      throw refuse.malformedPath("the path encodes a byte outside ASCII");
    }
  }
}

/**
 * Checks `method` and `path` against what the service forwards: the method is one of its methods;
 * the path equals a prefix, or continues it at a `/` (prefix `/v1` allows `/v1` and `/v1/x`, not
 * `/v10`). Throws the refusal (403) otherwise.
 */
export function checkRoute(service: CatalogService, method: string, path: string): void {
  if (!service.methods.includes(method)) throw refuse.method(method, service.methods);
  const allowed = service.pathPrefixes.some(
    (prefix) =>
      path === prefix ||
      (path.startsWith(prefix) && (prefix.endsWith("/") || path[prefix.length] === "/")),
  );
  if (!allowed) throw refuse.path();
}

/**
 * The upstream URL: the service's base URL (whose path ends with `/`) followed by the path under
 * the service and the query. Concatenated, never resolved (`new URL(path, base)` would let a path
 * climb out of the base); {@link parseTarget} has already refused anything that could.
 */
export function upstreamUrl(service: CatalogService, target: GatewayTarget): string {
  const base = service.upstream;
  return `${base.origin}${base.pathname}${target.path.slice(1)}${target.query}`;
}
