import { describe, expect, it } from "vitest";
import { Limits } from "../../server/ledger/limits.js";
import type { Breakdown, ChildReceipt } from "../../server/ledger/types.js";
import {
  createChild,
  createRoot,
  expectRefused,
  otherProject,
  project,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";
import { expectTreeInvariants } from "./tree-invariants.js";

/**
 * A receipt stays small however wide its tree grows: the top rows of each breakdown plus an
 * "other" row, the first children plus a count; the rest page in full. And attribution by role:
 * a line without an `agent` label counts under its wallet's name.
 */
describe.each(storeFactories)("receipt pages ($name store)", (factory) => {
  const env = useLedger(factory);

  it("carries the top services, the rest as other, and pages through every one", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100_000);
    const services = Limits.receiptBreakdownTop + 7;
    // Credits 1..27, with 10 and 11 both spent twice on two services to make ties.
    for (let i = 1; i <= services; i++) await spend(ledger, root.id, i, { service: `svc-${i}` });
    await spend(ledger, root.id, 11, { service: "svc-10" });
    await spend(ledger, root.id, 10, { service: "svc-11" });
    const receipt = await ledger.getReceipt(project, { walletId: root.id });
    const all: Breakdown[] = [];
    let pageToken = "";
    do {
      const page = await ledger.listBreakdown(project, {
        walletId: root.id,
        dimension: "service",
        pageSize: 6,
        pageToken,
      });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(all).toHaveLength(services);
    // Most credits first, ties by name: svc-10 and svc-11 both have 21.
    expect(all.slice(0, 3).map((r) => [r.key, r.credits, r.callCount])).toEqual([
      ["svc-27", 27, 1],
      ["svc-26", 26, 1],
      ["svc-25", 25, 1],
    ]);
    const tied = all.filter((r) => r.credits === 21).map((r) => r.key);
    expect(tied).toEqual(["svc-10", "svc-11", "svc-21"]);
    expect(receipt.byService).toEqual(all.slice(0, Limits.receiptBreakdownTop));
    const rest = all.slice(Limits.receiptBreakdownTop);
    expect(receipt.byServiceOther).toEqual({
      key: "",
      credits: rest.reduce((sum, r) => sum + r.credits, 0),
      callCount: rest.reduce((sum, r) => sum + r.callCount, 0),
    });
    expect(receipt.serviceKeyCount).toBe(services);
    expect(
      receipt.byService.reduce((sum, r) => sum + r.credits, 0) + receipt.byServiceOther.credits,
    ).toBe(receipt.totalCredits);
  });

  it("summarises the first children, counts them all, and pages through every one", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100_000);
    const width = Limits.receiptChildrenMax + 30;
    const ids: string[] = [];
    for (let i = 0; i < width; i++) ids.push((await createChild(ledger, root.id, 5)).id);
    await spend(ledger, ids.at(-1) as string, 2);
    const receipt = await ledger.getReceipt(project, { walletId: root.id });
    expect(receipt.childCount).toBe(width);
    expect(receipt.children.map((c) => c.walletId)).toEqual(
      ids.slice(0, Limits.receiptChildrenMax),
    );
    const all: ChildReceipt[] = [];
    let pageToken = "";
    do {
      const page = await ledger.listChildReceipts(project, {
        walletId: root.id,
        pageSize: 50,
        pageToken,
      });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(all.map((c) => c.walletId)).toEqual(ids);
    expect(all.slice(0, Limits.receiptChildrenMax)).toEqual(receipt.children);
    expect(all.at(-1)).toMatchObject({ totalCredits: 2, callCount: 1, available: 3 });
  });

  it("breaks a team down by role with no metadata at all", async () => {
    const { ledger } = env();
    const task = await createRoot(ledger, 1000, { name: "task" });
    const roles = ["researcher", "writer", "critic"];
    const wallets = [];
    for (const name of roles) wallets.push(await createChild(ledger, task.id, 300, { name }));
    await spend(ledger, wallets[0]?.id as string, 40, { service: "search" });
    await spend(ledger, wallets[1]?.id as string, 30, { service: "llm" });
    await spend(ledger, wallets[2]?.id as string, 20, { service: "llm" });
    await spend(ledger, wallets[0]?.id as string, 5, { service: "llm" });
    // An explicit label still wins.
    await spend(ledger, wallets[2]?.id as string, 1, { metadata: { agent: "reviewer" } });
    const receipt = await ledger.getReceipt(project, { walletId: task.id });
    expect(receipt.byAgent).toEqual([
      { key: "researcher", credits: 45, callCount: 2 },
      { key: "writer", credits: 30, callCount: 1 },
      { key: "critic", credits: 20, callCount: 1 },
      { key: "reviewer", credits: 1, callCount: 1 },
    ]);
    await expectTreeInvariants(ledger, task.id);
  });

  it("pages nothing of another project's wallet", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 10);
    await expectRefused(
      ledger.listBreakdown(otherProject, { walletId: root.id, dimension: "agent" }),
      "WALLET_NOT_FOUND",
      { wallet_id: root.id },
    );
    await expectRefused(
      ledger.listChildReceipts(otherProject, { walletId: root.id }),
      "WALLET_NOT_FOUND",
      { wallet_id: root.id },
    );
    await expectRefused(
      ledger.listBreakdown(project, { walletId: root.id, dimension: "region" }),
      "INVALID_ARGUMENT",
      { field: "dimension" },
    );
  });
});
