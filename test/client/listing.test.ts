import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ReceiptServiceClient } from "../../gen/ts-proto/tollgate/v1/receipt_service.js";
import { apiKey, collect, type Served, serve } from "./support.js";

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

  it("receives a ListCharges page past grpc's default 4 MiB receive limit", async () => {
    const tg = served.client({ mode: "stream" });
    const wallet = await tg.wallets.create({ budget: 10_000 });
    // 16 keys of 64 characters with 256 two-byte characters each: ~9 KB of metadata per line.
    const metadata = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`k${i}`.padEnd(64, "k"), "é".repeat(256)]),
    );
    await Promise.all(
      Array.from({ length: 600 }, () => wallet.spend(1, { service: "s", metadata })),
    );
    const { items, sizes } = await collect(wallet.listCharges({ pageSize: 1000 }));
    expect(sizes).toEqual([600]);
    const lastKey = "k15".padEnd(64, "k");
    expect(items.every((line) => line.metadata[lastKey] === "é".repeat(256))).toBe(true);

    // The same page through a stub with grpc's defaults is refused: the limit matters.
    const raw = new ReceiptServiceClient(served.server.address, credentials.createInsecure());
    try {
      const metadataWithKey = new Metadata();
      metadataWithKey.set("authorization", `Bearer ${apiKey}`);
      const error = await new Promise<ServiceError | null>((resolve) =>
        raw.listCharges(
          { walletId: wallet.id, includeDescendants: false, pageSize: 1000, pageToken: "" },
          metadataWithKey,
          (e) => resolve(e),
        ),
      );
      expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    } finally {
      raw.close();
    }
  });
});
