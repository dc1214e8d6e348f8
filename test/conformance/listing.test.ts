import { describe, expect, it } from "vitest";
import {
  createChild,
  createRoot,
  expectInvalid,
  otherProject,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";

describe.each(storeFactories)("listing and pagination ($name store)", (factory) => {
  const env = useLedger(factory);

  it("lists the project's roots in creation order, and only its own", async () => {
    const { ledger } = env();
    const first = await createRoot(ledger, 1);
    await createRoot(ledger, 1, {}, otherProject);
    const second = await createRoot(ledger, 2);
    await createChild(ledger, first.id, 1);
    const page = await ledger.listWallets(project, {});
    expect(page.items.map((w) => w.id)).toEqual([first.id, second.id]);
    expect(page.nextPageToken).toBe("");
    // Listed as they are now: the first root has carved out a child since its creation.
    expect(page.items[0]).toEqual({ ...first, allocated: 1, available: 0 });
    const theirs = await ledger.listWallets(otherProject, {});
    expect(theirs.items.map((w) => w.budget)).toEqual([1]);
  });

  it("lists direct children in creation order, as they are now, closed ones included", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const a = await createChild(ledger, root.id, 10, { name: "a" });
    const b = await createChild(ledger, root.id, 20, { name: "b" });
    await createChild(ledger, a.id, 5, { name: "a1" });
    const c = await createChild(ledger, root.id, 30, { name: "c" });
    await spend(ledger, c.id, 4);
    await ledger.closeWallet(project, { walletId: b.id, requestId: rid() });
    const page = await ledger.listWallets(project, { parentId: root.id });
    expect(page.nextPageToken).toBe("");
    expect(page.items.map((w) => [w.name, w.status, w.spent, w.available])).toEqual([
      ["a", "open", 0, 5],
      ["b", "closed", 0, 0],
      ["c", "open", 4, 26],
    ]);
    expect(await ledger.listWallets(project, { parentId: c.id })).toEqual({
      items: [],
      nextPageToken: "",
    });
  });

  it("pages through children, with no token after the last page", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await createChild(ledger, root.id, 1)).id);
    const pages: string[][] = [];
    let pageToken = "";
    do {
      const page = await ledger.listWallets(project, { parentId: root.id, pageSize: 2, pageToken });
      pages.push(page.items.map((w) => w.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "" && pages.length < 10);
    expect(pages).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);

    // When the last item ends a page exactly, that page is the last: no empty page after it.
    const first = await ledger.listWallets(project, { parentId: root.id, pageSize: 3 });
    const last = await ledger.listWallets(project, {
      parentId: root.id,
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(last).toMatchObject({ nextPageToken: "" });
    expect(last.items.map((w) => w.id)).toEqual(ids.slice(3));
  });

  it("returns 100 items per page by default and at most 1000", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    for (let i = 0; i < 101; i += 1) await createChild(ledger, root.id, 1);
    const byDefault = await ledger.listWallets(project, { parentId: root.id });
    expect(byDefault.items).toHaveLength(100);
    const rest = await ledger.listWallets(project, {
      parentId: root.id,
      pageToken: byDefault.nextPageToken,
    });
    expect(rest.items.map((w) => w.id)).toEqual([`${root.id}.w101`]);
    expect(rest.nextPageToken).toBe("");
    const zero = await ledger.listWallets(project, { parentId: root.id, pageSize: 0 });
    expect(zero).toEqual(byDefault);
    const all = await ledger.listWallets(project, { parentId: root.id, pageSize: 1000 });
    expect([all.items.length, all.nextPageToken]).toEqual([101, ""]);
  });

  it("pages through lines, and binds each token to its listing", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 50);
    const lineIds: string[] = [];
    for (const walletId of [root.id, child.id, root.id, child.id, root.id]) {
      lineIds.push((await spend(ledger, walletId, 1)).line.id);
    }
    const first = await ledger.listCharges(project, {
      walletId: root.id,
      includeDescendants: true,
      pageSize: 2,
    });
    const second = await ledger.listCharges(project, {
      walletId: root.id,
      includeDescendants: true,
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    const third = await ledger.listCharges(project, {
      walletId: root.id,
      includeDescendants: true,
      pageSize: 2,
      pageToken: second.nextPageToken,
    });
    expect([first, second, third].map((p) => p.items.map((l) => l.id))).toEqual([
      lineIds.slice(0, 2),
      lineIds.slice(2, 4),
      lineIds.slice(4),
    ]);
    expect(third.nextPageToken).toBe("");

    const token = first.nextPageToken;
    await expectInvalid(
      ledger.listCharges(project, { walletId: root.id, pageSize: 2, pageToken: token }),
      "page_token",
    );
    await expectInvalid(
      ledger.listCharges(project, {
        walletId: child.id,
        includeDescendants: true,
        pageToken: token,
      }),
      "page_token",
    );
    await expectInvalid(
      ledger.listCharges(otherProject, {
        walletId: root.id,
        includeDescendants: true,
        pageToken: token,
      }),
      "page_token",
    );
    await expectInvalid(
      ledger.listWallets(project, { parentId: root.id, pageToken: token }),
      "page_token",
    );
  });

  it("refuses a children token for another parent or for the roots", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    for (let i = 0; i < 3; i += 1) await createChild(ledger, root.id, 1);
    const { nextPageToken } = await ledger.listWallets(project, {
      parentId: root.id,
      pageSize: 1,
    });
    expect(nextPageToken).not.toBe("");
    const other = await createRoot(ledger, 100);
    await expectInvalid(
      ledger.listWallets(project, { parentId: other.id, pageToken: nextPageToken }),
      "page_token",
    );
    await expectInvalid(ledger.listWallets(project, { pageToken: nextPageToken }), "page_token");
  });
});
