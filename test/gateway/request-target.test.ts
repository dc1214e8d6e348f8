import { describe, expect, it } from "vitest";
import { Catalog } from "../../server/catalog/catalog.js";
import { GatewayRefusal } from "../../server/gateway/gateway-refusal.js";
import { checkRoute, parseTarget, upstreamUrl } from "../../server/gateway/request-target.js";

function refusalOf(run: () => unknown): GatewayRefusal {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayRefusal) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("gateway request targets", () => {
  it("splits /<service>/<path>?query", () => {
    expect(parseTarget("/search/v1/items?q=a%20b")).toEqual({
      service: "search",
      path: "/v1/items",
      query: "?q=a%20b",
    });
    expect(parseTarget("/search")).toEqual({ service: "search", path: "/", query: "" });
    expect(parseTarget("/search/")).toEqual({ service: "search", path: "/", query: "" });
    expect(parseTarget("/search/v1/")).toEqual({ service: "search", path: "/v1/", query: "" });
    // Encoded slashes are fine in a query: it never routes.
    expect(parseTarget("/s/a?u=https%3A%2F%2Fx").query).toBe("?u=https%3A%2F%2Fx");
  });

  it.each([
    "http://evil.example/search/x",
    "*",
    "//search/x",
    "/search/../admin",
    "/search/./x",
    "/search/a/..",
    "/search/%2e%2e/admin",
    "/search/%2E%2E/admin",
    "/search/.%2e/admin",
    "/search/a%2fb",
    "/search/a%2Fb",
    "/search/a%5cb",
    "/search/a\\b",
    "/search/a//b",
    "/search/a%00b",
    "/search/a%0d%0aX-Injected:1",
    "/search/a?x=%0d%0a",
    "/search/a%252e%252e/x",
    "/search/a%zz",
    "/search/a#frag",
    "/search/a b",
    "/search/caf\u00e9",
    "/search/public/..;/admin",
    "/search/public/..%3B/admin",
    "/search/public/x;jsessionid=1",
    "/search/public/..%c0%af",
    "/search/public/%e2%80%ae",
    "/..",
    "/./x",
    "/",
    "",
  ])("refuses %j with MALFORMED_PATH 400", (target) => {
    const refusal = refusalOf(() => parseTarget(target));
    expect(refusal.status).toBe(400);
    expect(refusal.reason).toBe("MALFORMED_PATH");
  });

  const catalog = Catalog.fromEntries(
    [
      {
        name: "search",
        upstream: "http://127.0.0.1:9/api/",
        price: { credits: 1 },
        methods: ["GET", "POST"],
        pathPrefixes: ["/v1", "/public/"],
      },
    ],
    {},
  );
  const search = catalog.find("default", "search");
  if (search === undefined) throw new Error("catalog entry missing");

  it("forwards allowed methods under allowed prefixes, at a segment boundary", () => {
    expect(() => checkRoute(search, "GET", "/v1")).not.toThrow();
    expect(() => checkRoute(search, "POST", "/v1/items")).not.toThrow();
    expect(() => checkRoute(search, "GET", "/public/x")).not.toThrow();
    expect(refusalOf(() => checkRoute(search, "GET", "/v10")).reason).toBe("PATH_NOT_ALLOWED");
    expect(refusalOf(() => checkRoute(search, "GET", "/admin")).status).toBe(403);
    expect(refusalOf(() => checkRoute(search, "DELETE", "/v1")).reason).toBe("METHOD_NOT_ALLOWED");
  });

  it("appends the path to the catalog's base, never resolving it", () => {
    expect(upstreamUrl(search, parseTarget("/search/v1/items?q=1"))).toBe(
      "http://127.0.0.1:9/api/v1/items?q=1",
    );
    expect(upstreamUrl(search, parseTarget("/search"))).toBe("http://127.0.0.1:9/api/");
  });
});
