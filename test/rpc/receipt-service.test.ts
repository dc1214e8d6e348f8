import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lineHash } from "../../client/line-hash.js";
import { ChargeKind } from "../../gen/ts-proto/tollgate/v1/charge.js";
import { WalletStatus } from "../../gen/ts-proto/tollgate/v1/wallet.js";
import { call, createRequest, type Harness, startHarness } from "./harness.js";
import { type StoreUnderTest, stores } from "./stores.js";

const T = 1_750_000_000_000;

describe.each(stores)("ReceiptService over grpc-js ($name store)", ({ open }) => {
  let h: Harness;
  let opened: StoreUnderTest;
  let rootId: string;
  let researcher: string;
  let writer: string;

  beforeEach(async () => {
    opened = open();
    h = await startHarness({ store: opened.store, now: () => T });
    rootId =
      (
        await call(
          h.wallets,
          h.wallets.createWallet,
          createRequest({ requestId: "root", name: "task", budget: 1000n }),
        )
      ).wallet?.id ?? "";
    const child = async (name: string, budget: bigint) =>
      (
        await call(
          h.wallets,
          h.wallets.createWallet,
          createRequest({ requestId: name, parentId: rootId, name, budget }),
        )
      ).wallet?.id ?? "";
    researcher = await child("researcher", 400n);
    writer = await child("writer", 300n);
    const spend = (
      walletId: string,
      amount: bigint,
      service: string,
      agent: string,
      requestId: string,
    ) =>
      call(h.wallets, h.wallets.spend, {
        walletId,
        amount,
        service,
        metadata: { agent },
        requestId,
      });
    await spend(researcher, 45n, "web_search", "researcher", "s1");
    await spend(researcher, 45n, "web_search", "researcher", "s2");
    await spend(writer, 35n, "llm", "writer", "s3");
    await spend(rootId, 10n, "llm", "planner", "s4");
  });
  afterEach(async () => {
    await h.close();
    await opened.cleanup();
  });

  it("GetReceipt totals the subtree with breakdowns and a line per child", async () => {
    const { receipt } = await call(h.receipts, h.receipts.getReceipt, { walletId: rootId });
    expect(receipt).toEqual({
      walletId: rootId,
      name: "task",
      totalCredits: 135n,
      callCount: 4n,
      ownCredits: 10n,
      ownCallCount: 1n,
      byService: [
        { key: "web_search", credits: 90n, callCount: 2n },
        { key: "llm", credits: 45n, callCount: 2n },
      ],
      byServiceOther: { key: "", credits: 0n, callCount: 0n },
      serviceKeyCount: 2n,
      byAgent: [
        { key: "researcher", credits: 90n, callCount: 2n },
        { key: "writer", credits: 35n, callCount: 1n },
        { key: "planner", credits: 10n, callCount: 1n },
      ],
      byAgentOther: { key: "", credits: 0n, callCount: 0n },
      agentKeyCount: 3n,
      refillCredits: 0n,
      refillCount: 0n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
      overBudgetCount: 0n,
      budget: 1000n,
      available: 290n,
      childCount: 2n,
      children: [
        {
          walletId: researcher,
          name: "researcher",
          budget: 400n,
          totalCredits: 90n,
          callCount: 2n,
          available: 310n,
          status: WalletStatus.WALLET_STATUS_OPEN,
          exhausted: false,
        },
        {
          walletId: writer,
          name: "writer",
          budget: 300n,
          totalCredits: 35n,
          callCount: 1n,
          available: 265n,
          status: WalletStatus.WALLET_STATUS_OPEN,
          exhausted: false,
        },
      ],
    });
  });

  it("ListCharges pages a wallet's lines, or its subtree's, oldest first", async () => {
    const own = await call(h.receipts, h.receipts.listCharges, {
      walletId: rootId,
      includeDescendants: false,
      pageSize: 0,
      pageToken: "",
    });
    expect(own.charges.map((c) => [c.walletId, c.amount, c.requestId])).toEqual([
      [rootId, 10n, "s4"],
    ]);
    expect(own.nextPageToken).toBe("");

    const page1 = await call(h.receipts, h.receipts.listCharges, {
      walletId: rootId,
      includeDescendants: true,
      pageSize: 3,
      pageToken: "",
    });
    expect(page1.charges.map((c) => c.requestId)).toEqual(["s1", "s2", "s3"]);
    // The tree's first line: the chain starts at "", and the hash covers the domain fields.
    const firstId = page1.charges[0]?.id ?? "";
    expect(page1.charges[0]).toEqual({
      id: firstId,
      walletId: researcher,
      kind: ChargeKind.CHARGE_KIND_SPEND,
      amount: 45n,
      service: "web_search",
      metadata: { agent: "researcher" },
      overBudget: false,
      holdId: "",
      requestId: "s1",
      createdAt: new Date(T),
      prevHash: "",
      gatewayFailure: "",
      hash: lineHash({
        id: firstId,
        walletId: researcher,
        kind: "spend",
        amount: 45,
        service: "web_search",
        metadata: { agent: "researcher" },
        overBudget: false,
        holdId: "",
        requestId: "s1",
        createdAtMs: T,
        prevHash: "",
      }),
    });
    expect(page1.charges.slice(1).map((c) => c.prevHash)).toEqual(
      page1.charges.slice(0, -1).map((c) => c.hash),
    );
    const page2 = await call(h.receipts, h.receipts.listCharges, {
      walletId: rootId,
      includeDescendants: true,
      pageSize: 3,
      pageToken: page1.nextPageToken,
    });
    expect(page2.charges.map((c) => c.requestId)).toEqual(["s4"]);
    expect(page2.nextPageToken).toBe("");
  });
});
