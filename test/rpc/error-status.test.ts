import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { BadRequest, ErrorInfo } from "../../gen/ts-proto/google/rpc/error_details.js";
import { Status } from "../../gen/ts-proto/google/rpc/status.js";
import { ReceiptServiceService } from "../../gen/ts-proto/tollgate/v1/receipt_service.js";
import { WalletServiceService } from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import { Reason, type ReasonCode } from "../../server/ledger/reasons.js";
import { errorToStatus } from "../../server/rpc/error-status.js";
import { misbehavingStore } from "./failing-store.js";
import {
  bearer,
  call,
  createRequest,
  failure,
  type Harness,
  startHarness,
  statusDetails,
} from "./harness.js";

const keyA = "alpha-key-0123456789";

const expectedCode: Record<ReasonCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  IDEMPOTENCY_KEY_REUSED: status.INVALID_ARGUMENT,
  WALLET_NOT_FOUND: status.NOT_FOUND,
  HOLD_NOT_FOUND: status.NOT_FOUND,
  INSUFFICIENT_CREDITS: status.FAILED_PRECONDITION,
  WALLET_CLOSED: status.FAILED_PRECONDITION,
  HOLD_EXPIRED: status.FAILED_PRECONDITION,
  HOLD_ALREADY_RESOLVED: status.FAILED_PRECONDITION,
  TOO_MANY_OPEN_HOLDS: status.RESOURCE_EXHAUSTED,
  TOO_MANY_CHILDREN: status.RESOURCE_EXHAUSTED,
  TOO_MANY_BREAKDOWN_KEYS: status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  STORE_UNAVAILABLE: status.UNAVAILABLE,
  MALFORMED_REQUEST: status.INVALID_ARGUMENT,
  EVENTS_EXPIRED: status.OUT_OF_RANGE,
  WATCHER_TOO_SLOW: status.ABORTED,
  TOO_MANY_WATCHERS: status.RESOURCE_EXHAUSTED,
  AGENT_KEY_NOT_ALLOWED: status.PERMISSION_DENIED,
  OUTSIDE_AGENT_SCOPE: status.PERMISSION_DENIED,
  SERVICE_NOT_ALLOWED: status.PERMISSION_DENIED,
  AGENT_KEY_NOT_FOUND: status.NOT_FOUND,
  PRICE_SET_BY_CATALOG: status.INVALID_ARGUMENT,
  CREDENTIAL_INVALID: status.UNAUTHENTICATED,
  CREDENTIAL_EXPIRED: status.UNAUTHENTICATED,
  CREDENTIAL_WRONG_SERVICE: status.PERMISSION_DENIED,
  CREDENTIAL_ALREADY_REDEEMED: status.FAILED_PRECONDITION,
  AGENT_KEY_REVOKED: status.PERMISSION_DENIED,
  AGENT_KEY_SECRET_LOST: status.FAILED_PRECONDITION,
};

describe("errorToStatus", () => {
  it.each(Object.values(Reason))(
    "maps %s to its code with an ErrorInfo in the details trailer",
    (reason) => {
      const s = errorToStatus(
        new LedgerError(reason, "amount: told you", { field: "amount", wallet_id: "w_1" }),
      );
      expect(s.code).toBe(expectedCode[reason]);
      expect(s.reason).toBe(reason);
      const [bin, ...more] = s.metadata.get("grpc-status-details-bin");
      expect(more).toEqual([]);
      const decoded = Status.decode(bin as Buffer);
      expect(decoded.code).toBe(expectedCode[reason]);
      expect(decoded.message).toBe(s.details);
      expect(decoded.details[0]?.typeUrl).toBe("type.googleapis.com/google.rpc.ErrorInfo");
      expect(ErrorInfo.decode(decoded.details[0]?.value ?? Buffer.alloc(0))).toEqual({
        reason,
        domain: "tollgate.dev",
        metadata: { field: "amount", wallet_id: "w_1" },
      });
      if (expectedCode[reason] === status.INVALID_ARGUMENT) {
        expect(decoded.details).toHaveLength(2);
        expect(decoded.details[1]?.typeUrl).toBe("type.googleapis.com/google.rpc.BadRequest");
        expect(BadRequest.decode(decoded.details[1]?.value ?? Buffer.alloc(0))).toEqual({
          fieldViolations: [{ field: "amount", description: "told you" }],
        });
      } else {
        expect(decoded.details).toHaveLength(1);
      }
    },
  );

  it("keeps domain messages but hides a store's own message behind a fixed one", () => {
    expect(errorToStatus(new LedgerError("WALLET_CLOSED", "wallet w_1 is closed")).details).toBe(
      "wallet w_1 is closed",
    );
    expect(
      errorToStatus(new LedgerError("STORE_UNAVAILABLE", "connect ECONNREFUSED 10.0.0.7:6379"))
        .details,
    ).toBe(
      "store unavailable: no credential was granted, but the call may have been applied; retry with the same request_id",
    );
  });

  it.each([
    ["an Error", new Error("ENOENT /srv/secret/config")],
    ["a string", "boom"],
    ["undefined", undefined],
    ["a LedgerError with an unknown reason", new LedgerError("NOPE" as ReasonCode, "x")],
  ])("turns %s into INTERNAL with no detail", (_what, error) => {
    const s = errorToStatus(error);
    expect(s).toMatchObject({
      code: status.INTERNAL,
      details: "internal error",
      reason: undefined,
    });
    expect(s.metadata.getMap()).toEqual({});
  });
});

describe("errors through the server", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("sends code, ErrorInfo and BadRequest for a refused request", async () => {
    h = await startHarness();
    const root =
      (
        await call(
          h.wallets,
          h.wallets.createWallet,
          createRequest({ requestId: "r", budget: 100n }),
        )
      ).wallet?.id ?? "";
    const error = await failure(
      call(h.wallets, h.wallets.spend, {
        walletId: root,
        amount: 0n,
        service: "llm",
        metadata: {},
        requestId: "s",
      }),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe("amount: must be an integer from 1 to 2^53-1");
    const d = statusDetails(error);
    expect(d.errorInfo).toEqual({
      reason: "INVALID_ARGUMENT",
      domain: "tollgate.dev",
      metadata: { field: "amount" },
    });
    expect(d.badRequest).toEqual({
      fieldViolations: [{ field: "amount", description: "must be an integer from 1 to 2^53-1" }],
    });

    const refused = await failure(
      call(h.wallets, h.wallets.spend, {
        walletId: root,
        amount: 101n,
        service: "llm",
        metadata: {},
        requestId: "s",
      }),
    );
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(statusDetails(refused).errorInfo).toEqual({
      reason: "INSUFFICIENT_CREDITS",
      domain: "tollgate.dev",
      metadata: { wallet_id: root, requested: "101", available: "100" },
    });
    expect(statusDetails(refused).badRequest).toBeUndefined();
    expect(refused.metadata.get("x-request-id")).toEqual(["s"]);
  });

  it.each([
    [
      "WALLET_NOT_FOUND",
      status.NOT_FOUND,
      (h: Harness, root: string) =>
        call(h.wallets, h.wallets.getWallet, { walletId: `${root}.w7` }),
    ],
    [
      "HOLD_NOT_FOUND",
      status.NOT_FOUND,
      (h: Harness, root: string) =>
        call(h.wallets, h.wallets.void, { holdId: `${root}.h7`, requestId: "v" }),
    ],
    [
      "IDEMPOTENCY_KEY_REUSED",
      status.INVALID_ARGUMENT,
      async (h: Harness, root: string) => {
        await call(h.wallets, h.wallets.spend, {
          walletId: root,
          amount: 1n,
          service: "a",
          metadata: {},
          requestId: "k",
        });
        return call(h.wallets, h.wallets.spend, {
          walletId: root,
          amount: 2n,
          service: "a",
          metadata: {},
          requestId: "k",
        });
      },
    ],
    [
      "WALLET_CLOSED",
      status.FAILED_PRECONDITION,
      async (h: Harness, root: string) => {
        await call(h.wallets, h.wallets.closeWallet, { walletId: root, requestId: "c" });
        return call(h.wallets, h.wallets.spend, {
          walletId: root,
          amount: 1n,
          service: "a",
          metadata: {},
          requestId: "s",
        });
      },
    ],
    [
      "HOLD_ALREADY_RESOLVED",
      status.FAILED_PRECONDITION,
      async (h: Harness, root: string) => {
        const { hold } = await call(h.wallets, h.wallets.authorize, {
          walletId: root,
          amount: 5n,
          service: "a",
          metadata: {},
          requestId: "a",
          ttlSeconds: 0,
        });
        await call(h.wallets, h.wallets.void, { holdId: hold?.id ?? "", requestId: "v1" });
        return call(h.wallets, h.wallets.void, { holdId: hold?.id ?? "", requestId: "v2" });
      },
    ],
  ] as const)("%s arrives as %s", async (reason, code, act) => {
    h = await startHarness();
    const root =
      (
        await call(
          h.wallets,
          h.wallets.createWallet,
          createRequest({ requestId: "r", budget: 100n }),
        )
      ).wallet?.id ?? "";
    const error = await failure(act(h, root));
    expect(error.code).toBe(code);
    expect(statusDetails(error).errorInfo).toMatchObject({ reason, domain: "tollgate.dev" });
  });

  it("HOLD_EXPIRED arrives as FAILED_PRECONDITION once the injected clock passes the hold's expiry", async () => {
    let nowMs = 1_750_000_000_000;
    h = await startHarness({ now: () => nowMs });
    const root =
      (
        await call(
          h.wallets,
          h.wallets.createWallet,
          createRequest({ requestId: "r", budget: 100n }),
        )
      ).wallet?.id ?? "";
    const { hold } = await call(h.wallets, h.wallets.authorize, {
      walletId: root,
      amount: 5n,
      service: "a",
      metadata: {},
      requestId: "a",
      ttlSeconds: 1,
    });
    nowMs += 1000;
    const error = await failure(
      call(h.wallets, h.wallets.capture, {
        holdId: hold?.id ?? "",
        amount: 1n,
        requestId: "c",
        metadata: {},
      }),
    );
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(statusDetails(error).errorInfo?.reason).toBe("HOLD_EXPIRED");
  });

  it("STORE_UNAVAILABLE arrives as UNAVAILABLE without the driver's message", async () => {
    const store = misbehavingStore("getWallet", {
      error: new LedgerError("STORE_UNAVAILABLE", "connect ECONNREFUSED 10.0.0.7:6379"),
    });
    h = await startHarness({ store });
    const error = await failure(
      call(h.wallets, h.wallets.getWallet, { walletId: "w_000000000000000000000001" }),
    );
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.details).toBe(
      "store unavailable: no credential was granted, but the call may have been applied; retry with the same request_id",
    );
    expect(statusDetails(error).errorInfo).toEqual({
      reason: "STORE_UNAVAILABLE",
      domain: "tollgate.dev",
      metadata: {},
    });
    expect(JSON.stringify(statusDetails(error).status)).not.toContain("10.0.0.7");
  });

  it("INTERNAL hides the error from the client and logs it with the request id", async () => {
    const store = misbehavingStore("spend", {
      error: new Error("secret: password=hunter2 at /srv/redis.ts:42"),
    });
    h = await startHarness({ store });
    const root =
      (
        await call(
          h.wallets,
          h.wallets.createWallet,
          createRequest({ requestId: "r", budget: 100n }),
        )
      ).wallet?.id ?? "";
    const error = await failure(
      call(h.wallets, h.wallets.spend, {
        walletId: root,
        amount: 1n,
        service: "a",
        metadata: {},
        requestId: "req-42",
      }),
    );
    expect(error.code).toBe(status.INTERNAL);
    expect(error.details).toBe("internal error");
    expect(error.metadata.get("grpc-status-details-bin")).toEqual([]);
    expect(JSON.stringify(error.metadata.getMap())).not.toContain("hunter2");
    const line = h.logs.find((l) => l.method === "Spend");
    expect(line).toMatchObject({
      level: 50,
      requestId: "req-42",
      walletId: root,
      code: "INTERNAL",
      msg: "rpc",
    });
    const logged = line?.err as { message: string; stack: string } | undefined;
    expect(logged?.message).toBe("secret: password=hunter2 at /srv/redis.ts:42");
    expect(logged?.stack).toContain("Error: secret");
  });

  /** Sends `bytes` as the request of the unary method at `path` and returns how it failed. */
  const sendRaw = (path: string, bytes: Buffer, metadata = new Metadata()) =>
    new Promise<ServiceError | null>((resolve) => {
      const identity = (b: Buffer) => b;
      if (h === undefined) throw new Error("no server started");
      h.wallets.makeUnaryRequest(path, identity, identity, bytes, metadata, (error) =>
        resolve(error),
      );
    });

  /** Every unary method tollgate serves (SpendStream decodes its own messages). */
  const unaryPaths = [
    ...Object.values(WalletServiceService),
    ...Object.values(ReceiptServiceService),
  ]
    .filter((method) => !method.requestStream)
    .map((method) => method.path);

  // Field 1 as a length-delimited value whose length varint never ends: no decoder accepts it.
  const undecodable = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);

  it("refuses undecodable request bytes INVALID_ARGUMENT MALFORMED_REQUEST on every unary method, and serves on", async () => {
    h = await startHarness();
    expect(unaryPaths).toHaveLength(13);
    for (const path of unaryPaths) {
      const error = await sendRaw(path, undecodable);
      expect([path, error?.code]).toEqual([path, status.INVALID_ARGUMENT]);
      expect(error?.details).toMatch(
        new RegExp(`^the request of ${path} does not decode as its protobuf message \\(.+\\)$`),
      );
      const { status: details, errorInfo, badRequest } = statusDetails(error as ServiceError);
      expect(details?.message).toBe(error?.details);
      expect(errorInfo).toEqual({
        reason: "MALFORMED_REQUEST",
        domain: "tollgate.dev",
        metadata: {},
      });
      expect(badRequest).toBeUndefined();
    }
    // One ordinary refusal line per call, at info: the client's fault, not the server's.
    const lines = h.logs.filter((l) => l.msg === "rpc");
    expect(lines).toHaveLength(unaryPaths.length);
    for (const line of lines) {
      expect(line).toMatchObject({
        level: 30,
        code: "INVALID_ARGUMENT",
        reason: "MALFORMED_REQUEST",
      });
    }
    const { wallet } = await call(
      h.wallets,
      h.wallets.createWallet,
      createRequest({ requestId: "after", budget: 1n }),
    );
    expect(wallet?.budget).toBe(1n);
  });

  it("answers an undecodable request without a valid key UNAUTHENTICATED, not MALFORMED_REQUEST", async () => {
    h = await startHarness({ apiKeys: [{ project: "alpha", keySha256: hashApiKey(keyA) }] });
    const refused = await sendRaw("/tollgate.v1.WalletService/Spend", undecodable);
    expect(refused?.code).toBe(status.UNAUTHENTICATED);
    expect(statusDetails(refused as ServiceError).errorInfo?.reason).toBe("UNAUTHENTICATED");
    const malformed = await sendRaw("/tollgate.v1.WalletService/Spend", undecodable, bearer(keyA));
    expect(statusDetails(malformed as ServiceError).errorInfo?.reason).toBe("MALFORMED_REQUEST");
  });
});
