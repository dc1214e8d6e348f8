import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/es/google/rpc/error_details_pb.js";
import { ChargeKind } from "../../gen/es/tollgate/v1/charge_pb.js";
import { CreateWalletRequestSchema } from "../../gen/es/tollgate/v1/wallet_service_pb.js";
import { WalletServiceClient } from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { bearer, call, failure, statusDetails } from "../rpc/harness.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import { type HttpHarness, protocols, rejection, startHttpHarness } from "./harness.js";

const keyA = "alpha-key-0123456789";
const keyB = "bravo-key-0123456789";

const rootRequest = (requestId: string, budget: bigint) =>
  create(CreateWalletRequestSchema, { requestId, name: "task", budget, hardCap: true });

describe.each(stores)("the HTTP face over the $name store", ({ open }) => {
  let h: HttpHarness | undefined;
  let opened: StoreUnderTest | undefined;
  afterEach(async () => {
    await h?.close();
    await opened?.cleanup();
    h = undefined;
    opened = undefined;
  });
  const start = async () => {
    opened = open();
    h = await startHttpHarness({
      store: opened.store,
      apiKeys: [
        { project: "alpha", keySha256: hashApiKey(keyA) },
        { project: "bravo", keySha256: hashApiKey(keyB) },
      ],
    });
    return h;
  };

  it.each(protocols)("serves the same ledger over %s as over gRPC", async (protocol) => {
    const harness = await start();
    const wallets = harness.wallets(protocol, keyA);
    const receipts = harness.receipts(protocol, keyA);
    const { wallet: root } = await wallets.createWallet(rootRequest("root", 100n));
    const rootId = root?.id ?? "";
    expect(root).toMatchObject({ budget: 100n, available: 100n, hardCap: true, depth: 1 });

    const spent = await wallets.spend({
      walletId: rootId,
      amount: 30n,
      service: "search",
      metadata: { agent: "researcher" },
      requestId: "s-1",
    });
    expect(spent.remaining).toBe(70n);
    expect(spent.charge).toMatchObject({
      kind: ChargeKind.SPEND,
      amount: 30n,
      service: "search",
      requestId: "s-1",
    });
    expect(spent.credential).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // A replay over HTTP is answered from the same idempotency record.
    const replayed = await wallets.spend({
      walletId: rootId,
      amount: 30n,
      service: "search",
      metadata: { agent: "researcher" },
      requestId: "s-1",
    });
    expect(replayed.charge?.id).toBe(spent.charge?.id);

    // The same wallet through grpc-js: one ledger, two transports.
    const grpc = new WalletServiceClient(harness.server.address, grpcCredentials.createInsecure());
    try {
      const { wallet } = await call(grpc, grpc.getWallet, { walletId: rootId }, bearer(keyA));
      expect(wallet).toMatchObject({ spent: 30n, available: 70n });
    } finally {
      grpc.close();
    }

    const receipt = await receipts.getReceipt({ walletId: rootId });
    expect(receipt.receipt?.totalCredits).toBe(30n);
    const charges = await receipts.listCharges({ walletId: rootId, pageSize: 10 });
    expect(charges.charges.map((c) => [c.kind, c.amount, c.service])).toEqual([
      [ChargeKind.SPEND, 30n, "search"],
    ]);

    // Projects stay apart over HTTP too: bravo's key does not see alpha's wallet.
    const other = await rejection(harness.wallets(protocol, keyB).getWallet({ walletId: rootId }));
    expect(ConnectError.from(other).code).toBe(Code.NotFound);
  });

  it.each(protocols)(
    "refuses a missing or wrong key with UNAUTHENTICATED (%s)",
    async (protocol) => {
      const harness = await start();
      for (const key of [undefined, "not-a-key-0123456789"]) {
        const error = ConnectError.from(
          await rejection(harness.wallets(protocol, key).createWallet(rootRequest("r", 5n))),
        );
        expect(error.code).toBe(Code.Unauthenticated);
        expect(error.rawMessage).toBe(
          key === undefined
            ? "missing API key: send authorization: Bearer <key>"
            : "invalid API key",
        );
        expect(error.findDetails(ErrorInfoSchema)).toMatchObject([
          { reason: "UNAUTHENTICATED", domain: "tollgate.dev" },
        ]);
      }
      // Nothing was created for either.
      const listed = await harness.wallets(protocol, keyA).listWallets({ pageSize: 10 });
      expect(listed.wallets).toEqual([]);
    },
  );

  it.each(protocols)(
    "carries the same code, message, ErrorInfo and BadRequest as gRPC (%s)",
    async (protocol) => {
      const harness = await start();
      const wallets = harness.wallets(protocol, keyA);
      const { wallet } = await wallets.createWallet(rootRequest("root", 100n));
      const walletId = wallet?.id ?? "";
      const grpc = new WalletServiceClient(
        harness.server.address,
        grpcCredentials.createInsecure(),
      );
      try {
        // INSUFFICIENT_CREDITS: a refusal with metadata.
        const tooMuch = { walletId, amount: 101n, service: "s", metadata: {}, requestId: "big" };
        const overHttp = ConnectError.from(await rejection(wallets.spend(tooMuch)));
        const overGrpc = await failure(call(grpc, grpc.spend, tooMuch, bearer(keyA)));
        expect(overHttp.code).toBe(Code.FailedPrecondition);
        expect(overHttp.code as number).toBe(overGrpc.code);
        expect(overHttp.rawMessage).toBe(overGrpc.details);
        const [info] = overHttp.findDetails(ErrorInfoSchema);
        expect(info).toMatchObject({
          reason: "INSUFFICIENT_CREDITS",
          domain: "tollgate.dev",
          metadata: { wallet_id: walletId, requested: "101", available: "100" },
        });
        expect({ ...info, $typeName: undefined }).toEqual({
          ...statusDetails(overGrpc).errorInfo,
          $typeName: undefined,
        });
        expect(overHttp.metadata.get("x-request-id")).toBe("big");

        // INVALID_ARGUMENT: a bad field named by a BadRequest as well.
        const zero = { walletId, amount: 0n, service: "s", metadata: {}, requestId: "zero" };
        const badHttp = ConnectError.from(await rejection(wallets.spend(zero)));
        const badGrpc = await failure(call(grpc, grpc.spend, zero, bearer(keyA)));
        expect(badHttp.code).toBe(Code.InvalidArgument);
        expect(badHttp.rawMessage).toBe(badGrpc.details);
        expect(badHttp.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_ARGUMENT");
        const [violation] = badHttp.findDetails(BadRequestSchema)[0]?.fieldViolations ?? [];
        expect(violation?.field).toBe("amount");
        expect(violation?.description).toBe(
          statusDetails(badGrpc).badRequest?.fieldViolations[0]?.description,
        );
      } finally {
        grpc.close();
      }
      // Nothing was debited by either refusal.
      const after = await wallets.getWallet({ walletId });
      expect(after.wallet).toMatchObject({ spent: 0n, available: 100n });
    },
  );

  it.each(protocols)(
    "keeps the hard cap under 50 concurrent spends: exactly 14 of 7 fit in 100 (%s)",
    async (protocol) => {
      const harness = await start();
      const wallets = harness.wallets(protocol, keyA);
      const { wallet } = await wallets.createWallet(rootRequest("root", 100n));
      const walletId = wallet?.id ?? "";
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          wallets.spend({ walletId, amount: 7n, service: "s", metadata: {}, requestId: `c-${i}` }),
        ),
      );
      const granted = results.filter((r) => r.status === "fulfilled");
      const refused = results.flatMap((r) =>
        r.status === "rejected" ? [ConnectError.from(r.reason)] : [],
      );
      expect(granted).toHaveLength(14);
      expect(refused).toHaveLength(36);
      expect(new Set(refused.map((e) => e.findDetails(ErrorInfoSchema)[0]?.reason))).toEqual(
        new Set(["INSUFFICIENT_CREDITS"]),
      );
      const after = await wallets.getWallet({ walletId });
      expect(after.wallet).toMatchObject({ spent: 98n, available: 2n });
    },
  );

  it("logs one line per call with its transport, as grpc-js does", async () => {
    const harness = await start();
    const { wallet } = await harness
      .wallets("connect+json", keyA)
      .createWallet(rootRequest("root", 10n));
    await rejection(
      harness.wallets("grpc-web", keyA).spend({
        walletId: wallet?.id ?? "",
        amount: 11n,
        service: "s",
        metadata: {},
        requestId: "too-much",
      }),
    );
    const lines = harness.logs.filter((l) => l.msg === "rpc");
    expect(lines).toMatchObject([
      {
        method: "CreateWallet",
        transport: "connect",
        requestId: "root",
        project: "alpha",
        walletId: wallet?.id,
        code: "OK",
      },
      {
        method: "Spend",
        transport: "grpc-web",
        requestId: "too-much",
        project: "alpha",
        walletId: wallet?.id,
        code: "FAILED_PRECONDITION",
        reason: "INSUFFICIENT_CREDITS",
      },
    ]);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(typeof line.latencyMs).toBe("number");
  });
});
