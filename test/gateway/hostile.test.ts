import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentCall, expectNoSecretAnywhere, expectRefusal, rawCall } from "./agent.js";
import { type GatewayHarness, startGatewayHarness, storeKinds, upstreamSecret } from "./harness.js";
import { startUpstream, type TestUpstream } from "./upstream.js";

describe.each(storeKinds)("hostile requests at the gateway (%s store)", (storeKind) => {
  let upstream: TestUpstream;
  let harness: GatewayHarness;
  let walletId: string;

  beforeAll(async () => {
    upstream = await startUpstream(upstreamSecret);
    harness = await startGatewayHarness({
      store: storeKind,
      upstreamUrl: upstream.url,
      requestTimeoutMs: 1_000,
    });
    walletId = (
      await harness.ledger.createWallet("default", { budget: 10_000, requestId: randomUUID() })
    ).id;
  });

  afterAll(async () => {
    await expectNoSecretAnywhere(harness);
    await harness.close();
    await upstream.close();
  });

  const spent = async () => (await harness.ledger.getWallet("default", { walletId })).spent;
  const port = () => harness.gatewayPort;

  /** After each hostile request: the gateway still forwards a normal call. */
  async function stillServes(): Promise<void> {
    const answer = await agentCall(harness.gatewayUrl, "/echo/echo/ok", {
      headers: { "tollgate-wallet": walletId },
    });
    expect(answer.status).toBe(200);
  }

  it("refuses a body declared over the limit with 413, charging and forwarding nothing", async () => {
    const before = { calls: upstream.calls.length, spent: await spent() };
    const answer = await agentCall(harness.gatewayUrl, "/upload/echo", {
      method: "POST",
      headers: { "tollgate-wallet": walletId },
      body: Buffer.alloc(4096, 120),
    });
    expectRefusal(answer, 413, "REQUEST_TOO_LARGE");
    expect({ calls: upstream.calls.length, spent: await spent() }).toEqual(before);
    await stillServes();
  });

  it("cuts a chunked body that grows past the limit: 413, the upstream gets no request", async () => {
    const before = upstream.calls.length;
    const chunk = "x".repeat(512);
    const chunks = Array.from({ length: 6 }, () => `200\r\n${chunk}\r\n`).join("");
    const raw = await rawCall(
      port(),
      `POST /upload/echo HTTP/1.1\r\nhost: x\r\ntollgate-wallet: ${walletId}\r\n` +
        `transfer-encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 413 /);
    expect(raw).toContain("REQUEST_TOO_LARGE");
    expect(upstream.calls.length).toBe(before);
    await stillServes();
  });

  it.each([
    "/echo/../admin",
    "/echo/%2e%2e/admin",
    "/echo/%2E%2e%2fadmin",
    "/echo/.%2E/admin",
    "/echo/a%5c..%5cadmin",
    "/echo/a\\..\\admin",
    "/echo//169.254.169.254/x",
    "/../echo/x",
    "http://evil.example/echo/x",
    "/echo/echo%0d%0aX-Injected:%201",
    "/echo/echo%00",
  ])("refuses the target %s with 400 before paying", async (target) => {
    const before = { calls: upstream.calls.length, spent: await spent() };
    const raw = await rawCall(
      port(),
      `GET ${target} HTTP/1.1\r\nhost: x\r\ntollgate-wallet: ${walletId}\r\nconnection: close\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect({ calls: upstream.calls.length, spent: await spent() }).toEqual(before);
    await stillServes();
  });

  it("refuses CR, LF and NUL in headers (Node's parser) with a 400, forwarding nothing", async () => {
    const before = upstream.calls.length;
    for (const header of ["x-a: a\rX-Injected: 1", "x-a: a\nX-Injected: 1", "x-a: a\u0000b"]) {
      const raw = await rawCall(
        port(),
        `GET /echo/echo HTTP/1.1\r\nhost: x\r\ntollgate-wallet: ${walletId}\r\n${header}\r\n\r\n`,
      );
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(upstream.calls.length).toBe(before);
    await stillServes();
  });

  it("drops hop-by-hop headers and Host and forwarding tricks on the way up", async () => {
    const tag = randomUUID();
    const raw = await rawCall(
      port(),
      `GET /echo/echo/${tag} HTTP/1.1\r\nhost: evil.example\r\n` +
        `tollgate-wallet: ${walletId}\r\nconnection: close, x-hop-secret\r\nx-hop-secret: 1\r\n` +
        "keep-alive: timeout=1\r\nte: trailers\r\nproxy-authorization: Basic eDp5\r\n" +
        "x-forwarded-host: evil.example\r\nx-forwarded-for: 10.0.0.1\r\nforwarded: host=evil\r\n" +
        "idempotency-key: mine\r\ntollgate-metadata: {}\r\n\r\n",
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    const call = upstream.calls.find((c) => c.url === `/echo/${tag}`);
    const headers = call?.headers ?? {};
    expect(headers.host).toBe(new URL(upstream.url).host);
    for (const name of [
      "x-hop-secret",
      "keep-alive",
      "te",
      "proxy-authorization",
      "x-forwarded-host",
      "x-forwarded-for",
      "forwarded",
      "tollgate-wallet",
      "tollgate-metadata",
    ]) {
      expect(headers[name], name).toBeUndefined();
    }
    expect(headers["idempotency-key"]).toMatch(/^tg-/);
    await stillServes();
  });

  it("cuts a client whose body does not arrive in time (408): no whole request reaches the upstream", async () => {
    const before = upstream.calls.length;
    const raw = await rawCall(
      port(),
      `POST /upload/echo HTTP/1.1\r\nhost: x\r\ntollgate-wallet: ${walletId}\r\n` +
        "content-length: 100\r\n\r\n0123456789",
    );
    expect(raw).toMatch(/^HTTP\/1\.1 408 /);
    expect(upstream.calls.length).toBe(before);
    await stillServes();
  });

  it("cuts a client whose headers do not arrive in time (408)", async () => {
    const raw = await rawCall(port(), "GET /echo/echo HTTP/1.1\r\nhost: x\r\nx-slow: ");
    expect(raw).toMatch(/^HTTP\/1\.1 408 /);
    await stillServes();
  });

  it("refuses a malformed wallet or metadata header with 400", async () => {
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", {
        headers: { "tollgate-wallet": walletId, "tollgate-metadata": "[1]" },
      }),
      400,
      "INVALID_HEADER",
    );
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", {
        headers: { "tollgate-wallet": "nope" },
      }),
      400,
      "INVALID_ARGUMENT",
    );
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/nosuch/echo", {
        headers: { "tollgate-wallet": walletId },
      }),
      403,
      "SERVICE_NOT_IN_CATALOG",
    );
  });
});
