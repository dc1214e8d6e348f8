import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Wallet } from "../../client/index.js";
import { callSlotsInUse } from "../../middleware/call-slots.js";
import { withBudget } from "../../middleware/index.js";
import { eventually } from "../support/eventually.js";
import { type Fixture, startFixture, stores } from "./fixture.js";

type Ctx = { toolCallId?: string; abortSignal?: AbortSignal };

// Its own file: the count of call slots is per process, and no other test's runs may move it.
describe.each(stores)("withBudget: call slots ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;

  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(100, "research");
  });
  afterEach(() => f.close());

  it("a run that never settles gives up its call slot when its hold expires", async () => {
    const options = { wallet, price: 10, holdTtlSeconds: 1 };
    const hung = withBudget((_q: string, _ctx?: Ctx) => new Promise<string>(() => {}), {
      ...options,
      toolName: "hung",
    });
    const pages = withBudget(
      async function* (_q: string, _ctx?: Ctx) {
        yield "page 1";
        yield "page 2";
      },
      { ...options, toolName: "pages" },
    );
    const before = callSlotsInUse();
    void hung("q"); // no call id: a slot under a random request-id base
    void hung("q", { toolCallId: "call-1" });
    // An iterator read once and dropped without return().
    expect((await pages("q", { toolCallId: "call-2" }).next()).value).toBe("page 1");
    await eventually(async () => expect((await wallet.refresh()).held).toBe(30n));
    expect(callSlotsInUse()).toBe(before + 3);
    await eventually(async () => expect(callSlotsInUse()).toBe(before));
  });
});
