import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { collect, type Served, serve } from "./support.js";

/** list() and listCharges() as async iterators over pages, against a real server. */
describe("listing", () => {
  let served: Served;
  beforeEach(async () => {
    served = await serve();
  });
  afterEach(async () => {
    await served.dispose();
  });

  it("pages through root wallets and children in creation order", async () => {
    const { tg } = served;
    const roots = [];
    for (let i = 0; i < 7; i++) roots.push(await tg.wallets.create({ name: `r${i}`, budget: 10 }));
    const listed = await collect(tg.wallets.list({ pageSize: 3 }));
    expect(listed.sizes).toEqual([3, 3, 1]);
    expect(listed.items.map((w) => w.id)).toEqual(roots.map((w) => w.id));
    expect(listed.items[6]).toMatchObject({ name: "r6", budget: 10n, available: 10n });

    const parent = roots[0];
    if (parent === undefined) throw new Error("no root");
    const children = [];
    for (let i = 0; i < 5; i++) children.push(await parent.createChild({ budget: 1 }));
    const kids = await collect(tg.wallets.list({ parentId: parent.id, pageSize: 2 }));
    expect(kids.sizes).toEqual([2, 2, 1]);
    expect(kids.items.map((w) => w.id)).toEqual(children.map((w) => w.id));
    expect(kids.items.every((w) => w.parentId === parent.id)).toBe(true);

    // An empty listing runs its loop zero times.
    const none = await collect(tg.wallets.list({ parentId: children[0]?.id }));
    expect(none).toEqual({ items: [], sizes: [] });
  });

  it("pages through receipt lines, with descendants when asked", async () => {
    const { tg } = served;
    const root = await tg.wallets.create({ budget: 100 });
    for (let i = 1; i <= 5; i++) await root.spend(i, { service: "s" });
    const child = await root.createChild({ budget: 20 });
    await child.spend(7, { service: "c" });

    const own = await collect(root.listCharges({ pageSize: 2 }));
    expect(own.sizes).toEqual([2, 2, 1]);
    expect(own.items.map((c) => c.amount)).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(own.items.every((c) => c.kind === "SPEND" && c.walletId === root.id)).toBe(true);

    const tree = await collect(root.listCharges({ includeDescendants: true, pageSize: 4 }));
    expect(tree.sizes).toEqual([4, 2]);
    expect(tree.items.at(-1)).toMatchObject({ walletId: child.id, amount: 7n, service: "c" });
  });
});
