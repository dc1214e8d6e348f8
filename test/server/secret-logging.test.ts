import { connect } from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { redactSecrets } from "../../server/redact-secrets.js";
import { eventually } from "../support/eventually.js";
import { type Started, startMain } from "../support/main-process.js";
import { freePort } from "../support/redis-server.js";

/** A key that cannot appear in any output by chance. */
const apiKey = "canary-key-5f0c9e1d7a3b";

/** What a raw gRPC call got back: the HTTP status and every header and trailer. */
interface RawAnswer {
  httpStatus: number | undefined;
  grpcStatus: string | undefined;
}

/**
 * One unary gRPC call over plain node:http2, so the request can carry a header no gRPC client
 * would send: here an `authorization` value with a byte outside printable ASCII. The request is
 * GetWallet with an empty message (5 bytes of framing: not compressed, length 0).
 */
function rawGetWallet(port: number, authorization: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const answer: RawAnswer = { httpStatus: undefined, grpcStatus: undefined };
    const request = session.request({
      ":method": "POST",
      ":path": "/tollgate.v1.WalletService/GetWallet",
      "content-type": "application/grpc",
      te: "trailers",
      authorization,
    });
    const read = (headers: Record<string, unknown>) => {
      const value = headers["grpc-status"];
      if (typeof value === "string") answer.grpcStatus = value;
    };
    request.on("response", (headers) => {
      answer.httpStatus = Number(headers[":status"]);
      read(headers);
    });
    request.on("trailers", read);
    request.on("data", () => {});
    request.on("end", () => {
      session.close();
      resolve(answer);
    });
    request.on("error", reject);
    request.end(Buffer.alloc(5));
  });
}

describe("API keys never reach a log", () => {
  let started: Started | undefined;
  afterEach(async () => {
    if (started && started.child.exitCode === null) {
      process.kill(started.pid, "SIGKILL");
      await started.exited;
    }
    started = undefined;
  });

  it("not when a header with a non-ASCII byte makes grpc-js log it, nor in grpc-js's traces", async () => {
    const port = await freePort();
    started = await startMain({
      TOLLGATE_ADDRESS: `127.0.0.1:${port}`,
      TOLLGATE_API_KEYS: `canary=${apiKey}`,
      // grpc-js's tracer quotes every request's headers: on, to show they are redacted too.
      TOLLGATE_LOG_LEVEL: "debug",
      GRPC_TRACE: "server_call",
    });
    const server = started;

    // "é" is sent as the single byte 0xE9: grpc-js refuses the entry and logs it.
    const invalid = await rawGetWallet(port, `Bearer ${apiKey}\u00e9`);
    expect(invalid).toEqual({ httpStatus: 200, grpcStatus: "16" }); // UNAUTHENTICATED
    // The key in a valid header: past auth, refused for the empty wallet id.
    const valid = await rawGetWallet(port, `Bearer ${apiKey}`);
    expect(valid).toEqual({ httpStatus: 200, grpcStatus: "3" }); // INVALID_ARGUMENT

    const lines = () =>
      server
        .stdout()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await eventually(async () => {
      expect(lines().filter((l) => l.method === "GetWallet")).toHaveLength(2);
    });
    process.kill(server.pid, "SIGTERM");
    expect(await server.exited).toBe(0);

    expect(server.stdout()).not.toContain(apiKey);
    expect(server.stderr()).not.toContain(apiKey);
    // grpc-js's lines did arrive, through pino, redacted: the assertions above are not vacuous.
    const fromGrpc = lines().filter((l) => l.component === "grpc-js");
    expect(fromGrpc).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: expect.stringMatching(/^Failed to add metadata entry authorization: \[REDACTED\] /),
      }),
    );
    expect(fromGrpc).toContainEqual(
      expect.objectContaining({
        level: 20,
        msg: expect.stringContaining('"authorization":"[REDACTED]"'),
      }),
    );
    // Nothing of grpc-js's bypasses pino: stderr is the banner only.
    expect(
      server
        .stderr()
        .split("\n")
        .filter((l) => l !== ""),
    ).toEqual(server.banner);
  });
});

describe("redactSecrets", () => {
  it.each([
    [
      "a metadata entry grpc-js refused, whose reason quotes the value again",
      `Failed to add metadata entry authorization: Bearer ${apiKey}\u00e9. Metadata string value "Bearer ${apiKey}\u00e9" contains illegal characters. For more information see https://github.com/grpc/grpc-node/issues/1173`,
      "Failed to add metadata entry authorization: [REDACTED] (the value has characters metadata does not allow: only printable ASCII); the entry was dropped from the request",
    ],
    [
      "a refused entry of any name (a key sent under the wrong header)",
      `Failed to add metadata entry x-token: ${apiKey}\u00e9. Metadata string value "${apiKey}\u00e9" contains illegal characters.`,
      "Failed to add metadata entry x-token: [REDACTED] (the value has characters metadata does not allow: only printable ASCII); the entry was dropped from the request",
    ],
    [
      "headers traced as JSON",
      `Request to /tollgate.v1.WalletService/Spend received headers {"authorization":["Bearer ${apiKey}"],"x-api-key":"${apiKey}","user-agent":["grpc-node-js/1.14.7"]}`,
      'Request to /tollgate.v1.WalletService/Spend received headers {"authorization":"[REDACTED]","x-api-key":"[REDACTED]","user-agent":["grpc-node-js/1.14.7"]}',
    ],
    [
      "a header line",
      `Received server headers:\nAuthorization: Bearer ${apiKey}\ncontent-type: application/grpc`,
      "Received server headers:\nAuthorization: [REDACTED]\ncontent-type: application/grpc",
    ],
    [
      "a bearer token anywhere",
      `calling with Bearer ${apiKey}, then`,
      "calling with Bearer [REDACTED], then",
    ],
  ])("withholds %s", (_what, text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  it("leaves text without credentials alone", () => {
    const text = "Connection to dns:127.0.0.1:50051 rejected by server because of excess pings";
    expect(redactSecrets(text)).toBe(text);
  });
});
