import { status } from "@grpc/grpc-js";
import { compactVerify, importJWK } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lineHash } from "../../client/line-hash.js";
import { ChargeKind } from "../../gen/ts-proto/tollgate/v1/charge.js";
import { HoldStatus, WalletStatus } from "../../gen/ts-proto/tollgate/v1/wallet.js";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import {
  call,
  createRequest,
  failure,
  type Harness,
  startHarness,
  statusDetails,
} from "./harness.js";
import { type StoreUnderTest, stores } from "./stores.js";

const T = 1_750_000_000_000;

describe.each(stores)("WalletService over grpc-js ($name store)", ({ open }) => {
  let h: Harness;
  let opened: StoreUnderTest;
  let issuer: CredentialIssuer;
  let nowMs = T;

  beforeEach(async () => {
    nowMs = T;
    issuer = await CredentialIssuer.create(undefined, 60_000);
    opened = open();
    h = await startHarness({ store: opened.store, credentials: issuer, now: () => nowMs });
  });
  afterEach(async () => {
    await h.close();
    await opened.cleanup();
  });

  const createRoot = () =>
    call(
      h.wallets,
      h.wallets.createWallet,
      createRequest({
        requestId: "root",
        name: "task",
        budget: 1000n,
        hardCap: true,
        metadata: { team: "search" },
      }),
    );

  it("CreateWallet (root and child), GetWallet and ListWallets round-trip every field", async () => {
    const { wallet: root } = await createRoot();
    expect(root?.id).toMatch(/^w_[0-9a-f]{24}$/);
    const rootId = root?.id ?? "";
    expect(root).toEqual({
      id: rootId,
      name: "task",
      parentId: "",
      budget: 1000n,
      hardCap: true,
      metadata: { team: "search" },
      spent: 0n,
      held: 0n,
      allocated: 0n,
      settled: 0n,
      available: 1000n,
      totalSpent: 0n,
      status: WalletStatus.WALLET_STATUS_OPEN,
      exhausted: false,
      createdAt: new Date(T),
      rootId,
      depth: 1,
      alertThresholds: [50, 80, 100],
    });

    nowMs = T + 1000;
    const { wallet: child } = await call(
      h.wallets,
      h.wallets.createWallet,
      createRequest({
        requestId: "child",
        parentId: rootId,
        name: "researcher",
        budget: 400n,
      }),
    );
    expect(child).toMatchObject({
      id: `${rootId}.w1`,
      parentId: rootId,
      name: "researcher",
      budget: 400n,
      hardCap: true,
      available: 400n,
      depth: 2,
      rootId,
      createdAt: new Date(T + 1000),
    });

    const { wallet: reread } = await call(h.wallets, h.wallets.getWallet, { walletId: rootId });
    expect(reread).toMatchObject({ allocated: 400n, available: 600n, budget: 1000n });

    const roots = await call(h.wallets, h.wallets.listWallets, {
      parentId: "",
      pageSize: 0,
      pageToken: "",
    });
    expect(roots.wallets.map((w) => w.id)).toEqual([rootId]);
    expect(roots.nextPageToken).toBe("");

    await call(
      h.wallets,
      h.wallets.createWallet,
      createRequest({
        requestId: "child2",
        parentId: rootId,
        name: "writer",
        budget: 300n,
      }),
    );
    const first = await call(h.wallets, h.wallets.listWallets, {
      parentId: rootId,
      pageSize: 1,
      pageToken: "",
    });
    expect(first.wallets.map((w) => w.name)).toEqual(["researcher"]);
    expect(first.nextPageToken).not.toBe("");
    const second = await call(h.wallets, h.wallets.listWallets, {
      parentId: rootId,
      pageSize: 1,
      pageToken: first.nextPageToken,
    });
    expect(second.wallets.map((w) => w.name)).toEqual(["writer"]);
    expect(second.nextPageToken).toBe("");
  });

  it("AddCredits, Spend (with a verifiable credential), Authorize, Capture, Void and CloseWallet", async () => {
    const rootId = (await createRoot()).wallet?.id ?? "";
    const { wallet: topped } = await call(h.wallets, h.wallets.addCredits, {
      walletId: rootId,
      amount: 500n,
      requestId: "topup",
      metadata: { reason: "more" },
    });
    expect(topped).toMatchObject({ budget: 1500n, available: 1500n });

    const { wallet: child } = await call(
      h.wallets,
      h.wallets.createWallet,
      createRequest({
        requestId: "child",
        parentId: rootId,
        budget: 400n,
      }),
    );
    const childId = child?.id ?? "";

    nowMs = T + 2500;
    const spent = await call(h.wallets, h.wallets.spend, {
      walletId: childId,
      amount: 100n,
      service: "llm",
      metadata: { agent: "researcher" },
      requestId: "spend-1",
    });
    expect(spent.remaining).toBe(300n);
    // Linked after the refill, the tree's line before it; the hash covers the domain fields.
    const prevHash = spent.charge?.prevHash ?? "";
    expect(prevHash).toMatch(/^[0-9a-f]{40}$/);
    expect(spent.charge).toEqual({
      id: spent.charge?.id,
      walletId: childId,
      kind: ChargeKind.CHARGE_KIND_SPEND,
      amount: 100n,
      service: "llm",
      metadata: { agent: "researcher" },
      overBudget: false,
      holdId: "",
      requestId: "spend-1",
      createdAt: new Date(T + 2500),
      prevHash,
      gatewayFailure: "",
      hash: lineHash({
        id: `${rootId}.c3`,
        walletId: childId,
        kind: "spend",
        amount: 100,
        service: "llm",
        metadata: { agent: "researcher" },
        overBudget: false,
        holdId: "",
        requestId: "spend-1",
        createdAtMs: T + 2500,
        prevHash,
      }),
    });
    expect(spent.charge?.id).toBe(`${rootId}.c3`); // c1 refill, w2 child, c3 this spend
    // Credentials expire TTL after the whole second they were issued in.
    expect(spent.credentialExpiresAt).toEqual(new Date(T + 2000 + 60_000));
    const key = await importJWK(issuer.publicJwk, "EdDSA");
    const { payload } = await compactVerify(spent.credential, key);
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({
      wallet_id: childId,
      kind: "charge",
      service: "llm",
      amount: 100,
      jti: spent.charge?.id,
      sub: "default",
    });

    const replay = await call(h.wallets, h.wallets.spend, {
      walletId: childId,
      amount: 100n,
      service: "llm",
      metadata: { agent: "researcher" },
      requestId: "spend-1",
    });
    expect(replay).toEqual(spent);

    const authorized = await call(h.wallets, h.wallets.authorize, {
      walletId: childId,
      amount: 50n,
      service: "scrape",
      metadata: {},
      requestId: "auth-1",
      ttlSeconds: 0,
    });
    expect(authorized.remaining).toBe(250n);
    expect(authorized.hold).toMatchObject({
      walletId: childId,
      amount: 50n,
      service: "scrape",
      status: HoldStatus.HOLD_STATUS_OPEN,
      capturedAmount: 0n,
      createdAt: new Date(T + 2500),
      expiresAt: new Date(T + 2500 + 300_000),
    });
    expect(authorized.credential.split(".")).toHaveLength(3);

    const holdId = authorized.hold?.id ?? "";
    const captured = await call(h.wallets, h.wallets.capture, {
      holdId,
      amount: 30n,
      requestId: "cap-1",
      metadata: { note: "x" },
    });
    expect(captured.remaining).toBe(270n);
    expect(captured.hold).toMatchObject({
      id: holdId,
      status: HoldStatus.HOLD_STATUS_CAPTURED,
      capturedAmount: 30n,
    });
    expect(captured.charge).toMatchObject({
      kind: ChargeKind.CHARGE_KIND_CAPTURE,
      amount: 30n,
      service: "scrape",
      holdId,
      metadata: { note: "x" },
    });

    const second = await call(h.wallets, h.wallets.authorize, {
      walletId: childId,
      amount: 20n,
      service: "scrape",
      metadata: {},
      requestId: "auth-2",
      ttlSeconds: 10,
    });
    expect(second.hold?.expiresAt).toEqual(new Date(T + 2500 + 10_000));
    expect(second.remaining).toBe(250n);
    const voided = await call(h.wallets, h.wallets.void, {
      holdId: second.hold?.id ?? "",
      requestId: "void-1",
    });
    expect(voided.remaining).toBe(270n);
    expect(voided.hold).toMatchObject({
      status: HoldStatus.HOLD_STATUS_VOIDED,
      capturedAmount: 0n,
    });

    const closed = await call(h.wallets, h.wallets.closeWallet, {
      walletId: childId,
      requestId: "close-1",
    });
    expect(closed.returned).toBe(270n);
    expect(closed.wallet).toMatchObject({
      status: WalletStatus.WALLET_STATUS_CLOSED,
      available: 0n,
      exhausted: true,
      spent: 130n,
    });
    const { wallet: after } = await call(h.wallets, h.wallets.getWallet, { walletId: rootId });
    expect(after).toMatchObject({
      budget: 1500n,
      allocated: 0n,
      settled: 130n,
      available: 1370n,
      totalSpent: 130n,
    });
  });

  it("writes one log line per call with method, request id, wallet id, code and latency", async () => {
    const rootId = (await createRoot()).wallet?.id ?? "";
    await call(h.wallets, h.wallets.getWallet, { walletId: rootId });
    const lines = h.logs.filter((l) => l.msg === "rpc");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      method: "CreateWallet",
      requestId: "root",
      walletId: rootId,
      project: "default",
      code: "OK",
    });
    expect(lines[1]).toMatchObject({ method: "GetWallet", walletId: rootId, code: "OK" });
    expect(lines[1]?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof lines[1]?.latencyMs).toBe("number");
  });

  it("refuses a non-ASCII request id with INVALID_ARGUMENT (not INTERNAL), charges nothing, logs it", async () => {
    const rootId = (await createRoot()).wallet?.id ?? "";
    const error = await failure(
      call(h.wallets, h.wallets.spend, {
        walletId: rootId,
        amount: 10n,
        service: "search",
        metadata: {},
        requestId: "café-1",
      }),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(statusDetails(error).errorInfo?.metadata).toEqual({ field: "request_id" });
    expect(error.metadata.get("x-request-id")).toEqual(["caf%C3%A9-1"]);
    const { wallet } = await call(h.wallets, h.wallets.getWallet, { walletId: rootId });
    expect(wallet?.spent).toBe(0n);
    expect(h.logs.filter((l) => l.msg === "rpc" && l.method === "Spend")).toMatchObject([
      { requestId: "caf%C3%A9-1", code: "INVALID_ARGUMENT" },
    ]);
  });
});
