import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { CreateWalletRequestSchema } from "../../gen/es/tollgate/v1/wallet_service_pb.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { type HttpHarness, startHttpHarness } from "./harness.js";

const key = "input-key-0123456789";
const spendPath = "/tollgate.v1.WalletService/Spend";

/** A Connect error body, as curl would print it. */
interface ConnectErrorJson {
  code: string;
  message?: string;
  details?: { type: string; value: string; debug?: Record<string, unknown> }[];
}

describe("bad input on the HTTP face", () => {
  let h: HttpHarness;
  let walletId: string;
  afterEach(async () => {
    await h.close();
  });
  const start = async () => {
    h = await startHttpHarness({
      apiKeys: [{ project: "input", keySha256: hashApiKey(key) }],
      maxMessageBytes: 2048,
    });
    const { wallet } = await h
      .wallets("connect+json", key)
      .createWallet(
        create(CreateWalletRequestSchema, { requestId: "root", name: "t", budget: 100n }),
      );
    walletId = wallet?.id ?? "";
  };
  const post = (path: string, body: string | Uint8Array, headers: Record<string, string>) =>
    fetch(`${h.baseUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, ...headers },
      body,
    });
  const json = { "content-type": "application/json" };
  /** The wallet is untouched: nothing a bad request sent was applied. */
  const untouched = async () => {
    const { wallet } = await h.wallets("connect+proto", key).getWallet({ walletId });
    expect(wallet).toMatchObject({ spent: 0n, available: 100n });
  };
  const refusalLines = () => h.logs.filter((l) => l.msg === "rpc" && l.method === "Spend");

  it("answers a content type it does not serve with 415, changes nothing, and logs it", async () => {
    await start();
    const body = JSON.stringify({ walletId, amount: "5", service: "s", requestId: "r" });
    const response = await post(spendPath, body, { "content-type": "text/plain" });
    expect(response.status).toBe(415);
    await untouched();
    expect(refusalLines()).toMatchObject([
      { transport: "connect", code: "UNSUPPORTED_MEDIA_TYPE", httpStatus: 415 },
    ]);
    expect(await h.metrics()).toContain(
      'tollgate_calls_total{method="Spend",code="UNSUPPORTED_MEDIA_TYPE",transport="connect"} 1',
    );
  });

  it.each([
    [
      "a field of the wrong type",
      { walletId: "", amount: "lots", service: "s", requestId: "r" },
      /does not decode as its protobuf message \(cannot decode field tollgate\.v1\.SpendRequest\.amount from JSON: .*lots/,
    ],
    [
      "an unknown field",
      { walletId: "", amout: "5", service: "s", requestId: "r" },
      /does not decode as its protobuf message \(.*key "amout" is unknown\)/,
    ],
  ])("refuses JSON with %s INVALID_ARGUMENT MALFORMED_REQUEST", async (_what, fields, why) => {
    await start();
    const body = JSON.stringify({ ...fields, walletId });
    const response = await post(spendPath, body, json);
    expect(response.status).toBe(400);
    const error = (await response.json()) as ConnectErrorJson;
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toMatch(/^the request of \/tollgate\.v1\.WalletService\/Spend /);
    expect(error.message).toMatch(why);
    expect(error.details?.[0]).toMatchObject({
      type: "google.rpc.ErrorInfo",
      debug: { reason: "MALFORMED_REQUEST", domain: "tollgate.dev" },
    });
    await untouched();
    expect(refusalLines()).toMatchObject([
      {
        transport: "connect",
        project: "input",
        code: "INVALID_ARGUMENT",
        reason: "MALFORMED_REQUEST",
      },
    ]);
  });

  it("authenticates before it judges the body, as grpc-js does", async () => {
    await start();
    const response = await fetch(`${h.baseUrl}${spendPath}`, {
      method: "POST",
      headers: json,
      body: "{not json",
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as ConnectErrorJson).code).toBe("unauthenticated");
  });

  it("refuses bytes that are not protobuf INVALID_ARGUMENT MALFORMED_REQUEST, not INTERNAL", async () => {
    await start();
    const response = await post(spendPath, new Uint8Array([0x0f, 0xff, 0xff]), {
      "content-type": "application/proto",
    });
    expect(response.status).toBe(400);
    const error = (await response.json()) as ConnectErrorJson;
    expect(error.code).toBe("invalid_argument");
    expect(error.details?.[0]?.debug).toMatchObject({ reason: "MALFORMED_REQUEST" });

    // The same over gRPC-Web: the status is in the trailer frame of a 200 response.
    const envelope = new Uint8Array([0, 0, 0, 0, 3, 0x0f, 0xff, 0xff]);
    const web = await post(spendPath, envelope, { "content-type": "application/grpc-web+proto" });
    expect(web.status).toBe(200);
    const trailer = Buffer.from(await web.arrayBuffer());
    expect(trailer[0]).toBe(0x80);
    const text = trailer.subarray(5).toString("latin1");
    expect(text).toMatch(/grpc-status: ?3\r\n/);
    expect(text).toMatch(/grpc-status-details-bin: ?\S+/);
    await untouched();
    expect(refusalLines()).toMatchObject([
      { transport: "connect", reason: "MALFORMED_REQUEST" },
      { transport: "grpc-web", reason: "MALFORMED_REQUEST" },
    ]);
  });

  it("refuses a body over the size limit RESOURCE_EXHAUSTED before decoding it", async () => {
    await start();
    const body = JSON.stringify({
      walletId,
      amount: "5",
      service: "s",
      requestId: "r",
      metadata: { note: "x".repeat(3000) },
    });
    const response = await post(spendPath, body, json);
    expect(response.status).toBe(429);
    const error = (await response.json()) as ConnectErrorJson;
    expect(error.code).toBe("resource_exhausted");
    expect(error.message).toMatch(/larger than configured readMaxBytes 2048/);
    await untouched();
    expect(refusalLines()).toMatchObject([
      { transport: "connect", code: "RESOURCE_EXHAUSTED", httpStatus: 429 },
    ]);
  });

  it("answers SpendStream over HTTP/1.1 with 505, an unknown path with 404, and keeps serving", async () => {
    await start();
    const stream = await post("/tollgate.v1.WalletService/SpendStream", "", {
      "content-type": "application/connect+json",
    });
    expect(stream.status).toBe(505);
    expect((await post("/tollgate.v1.WalletService/Nope", "{}", json)).status).toBe(404);
    // `/` is the web monitor (test/web); a path that names nothing is still 404.
    expect((await fetch(`${h.baseUrl}/nothing-here`)).status).toBe(404);
    expect(h.logs.filter((l) => l.method === "SpendStream")).toMatchObject([
      { code: "HTTP_VERSION_NOT_SUPPORTED", httpStatus: 505 },
    ]);
    // After all of it, the server still answers.
    const ok = await post(
      spendPath,
      JSON.stringify({ walletId, amount: "5", service: "s", requestId: "ok" }),
      json,
    );
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { remaining: string }).remaining).toBe("95");
  });
});
