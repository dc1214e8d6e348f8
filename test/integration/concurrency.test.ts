import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, defined, errorInfoOf, type TestClients } from "../support/grpc.js";
import { type ServedLedger, serveOnRedis } from "../support/served-ledger.js";

/**
 * The money rules under real concurrency: real Redis, real grpc-js server, real clients, many
 * calls in flight at once. Every figure is exact.
 */
describe("concurrent spends through the server on Redis", () => {
  let served: ServedLedger;
  let c: TestClients;

  beforeEach(async () => {
    served = await serveOnRedis();
    c = served.clients;
  });
  afterEach(async () => {
    await served.dispose();
  });

  const createRoot = async (budget: number, requestId: string) =>
    defined(
      (
        await call(c.wallets, c.wallets.createWallet, {
          parentId: "",
          name: "task",
          budget: BigInt(budget),
          hardCap: true,
          metadata: {},
          alertThresholds: [],
          requestId,
        })
      ).wallet,
      "wallet",
    );

  const createChild = async (parentId: string, name: string, budget: number) =>
    defined(
      (
        await call(c.wallets, c.wallets.createWallet, {
          parentId,
          name,
          budget: BigInt(budget),
          metadata: {},
          alertThresholds: [],
          requestId: `child-${name}`,
        })
      ).wallet,
      "wallet",
    );

  const spend = (walletId: string, amount: number, requestId: string) =>
    call(c.wallets, c.wallets.spend, {
      walletId,
      amount: BigInt(amount),
      service: "web_search",
      metadata: {},
      alertThresholds: [],
      requestId,
    });

  const getWallet = async (walletId: string) =>
    defined((await call(c.wallets, c.wallets.getWallet, { walletId })).wallet, "wallet");

  /** Fires every spend at once and counts grants and refusals (anything else fails the test). */
  async function spendAll(walletId: string, amount: number, attempts: number, tag: string) {
    const results = await Promise.allSettled(
      Array.from({ length: attempts }, (_, i) => spend(walletId, amount, `${tag}-${i}`)),
    );
    let granted = 0;
    for (const result of results) {
      if (result.status === "fulfilled") {
        granted++;
        continue;
      }
      expect(result.reason.code).toBe(status.FAILED_PRECONDITION);
      expect(errorInfoOf(result.reason)?.reason).toBe("INSUFFICIENT_CREDITS");
    }
    return { granted, refused: attempts - granted };
  }

  it("grants exactly 71 of 200 concurrent spends of 7 on a hard cap of 500 and leaves 3", async () => {
    const wallet = await createRoot(500, "root-500");

    const { granted, refused } = await spendAll(wallet.id, 7, 200, "s");

    expect(granted).toBe(71);
    expect(refused).toBe(129);
    const after = await getWallet(wallet.id);
    expect(after.available).toBe(3n);
    expect(after.spent).toBe(497n);
    const { receipt } = await call(c.receipts, c.receipts.getReceipt, { walletId: wallet.id });
    expect(receipt?.totalCredits).toBe(497n);
    expect(receipt?.callCount).toBe(71n);
    const lines = await call(c.receipts, c.receipts.listCharges, {
      walletId: wallet.id,
      includeDescendants: false,
      pageSize: 1000,
      pageToken: "",
    });
    expect(lines.charges).toHaveLength(71);
    expect(lines.charges.reduce((sum, line) => sum + line.amount, 0n)).toBe(497n);
  });

  it("never overspends any level while a root, its children and a grandchild spend at once", async () => {
    const root = await createRoot(1000, "root-tree");
    const researcher = await createChild(root.id, "researcher", 300);
    const writer = await createChild(root.id, "writer", 300);
    const critic = await createChild(root.id, "critic", 200);
    const scout = await createChild(researcher.id, "scout", 100);

    // Own available: root 200, researcher 200 (100 carved to scout), writer 300, critic 200, scout 100.
    const [r, re, w, cr, sc] = await Promise.all([
      spendAll(root.id, 11, 40, "root"),
      spendAll(researcher.id, 13, 40, "researcher"),
      spendAll(writer.id, 13, 40, "writer"),
      spendAll(critic.id, 13, 40, "critic"),
      spendAll(scout.id, 13, 40, "scout"),
    ]);

    expect([r.granted, re.granted, w.granted, cr.granted, sc.granted]).toEqual([18, 15, 23, 15, 7]);
    const available = await Promise.all(
      [root, researcher, writer, critic, scout].map(async (x) => (await getWallet(x.id)).available),
    );
    expect(available).toEqual([2n, 5n, 1n, 5n, 9n]);
    const rootAfter = await getWallet(root.id);
    expect(rootAfter.totalSpent).toBe(198n + 195n + 299n + 195n + 91n);
    expect(rootAfter.exhausted).toBe(false);
    const { receipt } = await call(c.receipts, c.receipts.getReceipt, { walletId: root.id });
    expect(receipt?.totalCredits).toBe(978n);
    expect(receipt?.callCount).toBe(18n + 15n + 23n + 15n + 7n);
  });

  it("charges once for 50 concurrent repeats of one request id", async () => {
    const wallet = await createRoot(1000, "root-idem");

    const replies = await Promise.all(
      Array.from({ length: 50 }, () => spend(wallet.id, 10, "the-one-request")),
    );

    expect(new Set(replies.map((reply) => reply.charge?.id)).size).toBe(1);
    expect(new Set(replies.map((reply) => reply.remaining)).size).toBe(1);
    expect(replies[0]?.remaining).toBe(990n);
    expect(new Set(replies.map((reply) => reply.credential)).size).toBe(1);
    const after = await getWallet(wallet.id);
    expect(after.spent).toBe(10n);
    expect(after.available).toBe(990n);
    const { receipt } = await call(c.receipts, c.receipts.getReceipt, { walletId: wallet.id });
    expect(receipt?.callCount).toBe(1n);
  });
});
