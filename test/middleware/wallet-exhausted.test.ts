import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Wallet, WalletClosedError } from "../../client/index.js";
import { walletExhausted, withBudget } from "../../middleware/index.js";
import { type Fixture, startFixture, stores } from "./fixture.js";

/** A budgeted tool that returns its input, priced as given. */
const priced = (wallet: Wallet, toolName: string, price: number | ((n: number) => number)) =>
  withBudget(async (n: number) => n, { wallet, price, toolName });

describe.each(stores)("walletExhausted: what a wallet can still pay ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;
  const gets = () => f.methods.filter((m) => m === "GetWallet").length;

  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(100, "task");
  });
  afterEach(() => f.close());

  it("a maxPrice tool needs its maximum held, whatever its calls end up costing", async () => {
    const crawl = withBudget(async (n: number) => n, {
      wallet,
      maxPrice: 40,
      cost: () => 35,
      toolName: "crawl",
    });
    await crawl(1);
    const exhausted = walletExhausted(wallet);
    expect(await exhausted()).toBe(false);
    await crawl(2);
    // 30 left would pay the 35 a call costs, but not the 40 it must hold first.
    expect(await exhausted()).toBe(true);
    expect(wallet.available).toBe(30n);
  });

  it("an input-priced tool counts as 1 credit and a free tool not at all", async () => {
    const perPage = priced(wallet, "pages", (n) => n);
    const free = priced(wallet, "free", 0);
    const exhausted = walletExhausted(wallet);
    await perPage(99);
    expect(await exhausted()).toBe(false);
    await perPage(1);
    // The free tool could still run, but the wallet can pay for nothing: the loop ends.
    expect(await exhausted()).toBe(true);
    expect(await free(7)).toBe(7);
  });

  it("the cheapest of the wallet's tools decides; tools makes only those count", async () => {
    const search = priced(wallet, "search", 30);
    const lookup = priced(wallet, "lookup", 10);
    const other = priced(await f.wallet(100, "other"), "cheap", 1);
    for (let n = 0; n < 3; n++) await search(n);
    expect(await walletExhausted(wallet)()).toBe(false);
    // Another wallet's 1-credit tool among `tools` does not count for this one.
    expect(await walletExhausted(wallet, { tools: [search, other] })()).toBe(true);
    await lookup(1);
    expect(await walletExhausted(wallet)()).toBe(true);
  });

  it("asks nothing while the last charge's answer covers the cheapest tool; a stop is re-read", async () => {
    const search = priced(wallet, "search", 30);
    const elsewhere = await f.client.wallets.get(wallet.id);
    const before = gets();
    const exhausted = walletExhausted(wallet);
    for (let n = 0; n < 3; n++) {
      await search(n);
      if (n < 2) expect(await exhausted()).toBe(false);
    }
    expect(gets() - before).toBe(0);
    // Topped up through another handle after the last charge: the re-read sees it, once.
    await elsewhere.addCredits(50);
    expect(await exhausted()).toBe(false);
    expect(await exhausted()).toBe(false);
    expect(gets() - before).toBe(1);
    await search(3);
    await search(4);
    expect(await exhausted()).toBe(true);
    expect(gets() - before).toBe(2);
  });

  it("a wallet closed elsewhere ends the loop", async () => {
    const search = priced(wallet, "search", 30);
    await search(1);
    const exhausted = walletExhausted(wallet);
    expect(await exhausted()).toBe(false);
    await (await f.client.wallets.get(wallet.id)).close();
    await expect(search(2)).rejects.toBeInstanceOf(WalletClosedError);
    expect(await exhausted()).toBe(true);
  });

  it("with no priced tool of its own, a wallet stops when the server reports it exhausted", async () => {
    const child = await wallet.createChild({ name: "researcher", budget: 60 });
    const search = priced(child, "search", 30);
    const exhausted = walletExhausted(wallet);
    // The task wallet's own 40 credits pay none of its children's tools; its subtree can spend.
    await search(1);
    await search(2);
    expect(await walletExhausted(child)()).toBe(true);
    expect(await exhausted()).toBe(false);
    await wallet.spend(40, { service: "lead" });
    expect(await exhausted()).toBe(true);
  });
});
