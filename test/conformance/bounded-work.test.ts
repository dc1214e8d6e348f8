import { describe, expect, it } from "vitest";
import { Limits } from "../../server/ledger/limits.js";
import {
  allLines,
  createChild,
  createRoot,
  expectRefused,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";
import { authorize } from "./hold-calls.js";
import { expectTreeInvariants } from "./tree-invariants.js";

/**
 * Work that grows with what a tenant piled up (a mass hold expiry, closing a wide subtree) is
 * done in batches of at most `Limits.workBatch` units, each its own store step, and every
 * operation on the tree works off that backlog before it acts: nobody sees a due hold still held
 * or a half-done close, and no other tree's call waits behind more than one batch.
 */
describe.each(storeFactories)("bounded work ($name store)", (factory) => {
  const env = useLedger(factory);
  /** More than two batches' worth. */
  const backlog = Limits.workBatch * 2 + 50;

  /** `backlog` holds of 1 credit on `walletId`, due at three different times (with ties). */
  async function holdsFallingDue(walletId: string) {
    const holds = [];
    for (let i = 0; i < backlog; i++) {
      holds.push((await authorize(env().ledger, walletId, 1, { ttlSeconds: 60 + (i % 3) })).hold);
    }
    return holds;
  }

  it("expires a backlog of due holds in due order, ties in creation order, none left held", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 10_000);
    const agent = await createChild(ledger, root.id, 5_000);
    const holds = await holdsFallingDue(agent.id);
    clock.advance(70_000);
    expect(await ledger.getWallet(project, { walletId: agent.id })).toMatchObject({
      held: 0,
      available: 5_000,
    });
    const expiries = (await allLines(ledger, root.id)).filter((l) => l.kind === "expire");
    const dueOrder = [...holds].sort(
      (a, b) => a.expiresAtMs - b.expiresAtMs || seqOf(a.id) - seqOf(b.id),
    );
    expect(expiries.map((l) => [l.holdId, l.createdAtMs])).toEqual(
      dueOrder.map((h) => [h.id, h.expiresAtMs]),
    );
    await expectTreeInvariants(ledger, root.id);
  });

  it("lets the sweeper work off an idle tree's due holds, a batch per tree per round", async () => {
    const { ledger, store, clock } = env();
    const root = await createRoot(ledger, 10_000);
    const holds = await holdsFallingDue(root.id);
    clock.advance(30_000);
    // Nothing is due yet.
    expect(await store.sweep(clock.now())).toBe(false);
    clock.advance(40_000);
    let rounds = 1;
    while (await store.sweep(clock.now())) rounds += 1;
    expect(rounds).toBeGreaterThanOrEqual(3);
    expect(await store.sweep(clock.now())).toBe(false);
    const expiries = (await allLines(ledger, root.id)).filter((l) => l.kind === "expire");
    expect(expiries).toHaveLength(holds.length);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({ held: 0 });
  });

  it("never holds up another tree's call behind a tree's backlog", async () => {
    const { ledger, clock } = env();
    const busy = await createRoot(ledger, 10_000);
    await holdsFallingDue(busy.id);
    const quiet = await createRoot(ledger, 100);
    clock.advance(70_000);
    const finished: string[] = [];
    await Promise.all([
      ledger.getWallet(project, { walletId: busy.id }).then(() => finished.push("busy tree")),
      spend(ledger, quiet.id, 1).then(() => finished.push("quiet tree")),
    ]);
    // The quiet tree's spend went between the busy tree's batches.
    expect(finished).toEqual(["quiet tree", "busy tree"]);
    expect(await ledger.getWallet(project, { walletId: busy.id })).toMatchObject({ held: 0 });
  });

  it("closes a wide subtree children first, with the outcome of one atomic close", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100_000);
    const team = await createChild(ledger, root.id, 50_000, { name: "team" });
    const teamHold = (await authorize(ledger, team.id, 5)).hold;
    const agents = [];
    const voidOrder: string[] = [];
    for (let i = 0; i < backlog / 2; i++) {
      const agent = await createChild(ledger, team.id, 100, { name: `agent-${i}` });
      agents.push(agent);
      await spend(ledger, agent.id, 3);
      if (i % 10 === 0) {
        // A grandchild closes (and voids its hold) before its parent.
        const helper = await createChild(ledger, agent.id, 20, { name: `helper-${i}` });
        await spend(ledger, helper.id, 2);
        voidOrder.push((await authorize(ledger, helper.id, 4)).hold.id);
      }
      voidOrder.push((await authorize(ledger, agent.id, 7)).hold.id);
    }
    voidOrder.push(teamHold.id);
    const closing = await ledger.closeWallet(project, { walletId: team.id, requestId: rid() });
    // Spent: 3 per agent and 2 per helper; the holds went back.
    const spent = agents.length * 3 + Math.ceil(agents.length / 10) * 2;
    expect(closing.returned).toBe(50_000 - spent);
    expect(closing.wallet).toMatchObject({ status: "closed", held: 0, allocated: 0 });
    expect(closing.wallet.settled).toBe(spent);
    const voids = (await allLines(ledger, root.id)).filter((l) => l.kind === "void");
    expect(voids.map((l) => l.holdId)).toEqual(voidOrder);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      allocated: 0,
      settled: spent,
      available: 100_000 - spent,
    });
    await expectTreeInvariants(ledger, root.id);
  });

  it("lets no call on the tree see a close half done", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100_000);
    const team = await createChild(ledger, root.id, 50_000);
    const agents = [];
    for (let i = 0; i < backlog; i++) agents.push(await createChild(ledger, team.id, 10));
    const last = agents.at(-1)?.id as string;
    const close = ledger.closeWallet(project, { walletId: team.id, requestId: rid() });
    // Started after the close began: each waits for it to finish, then sees it whole.
    const [read, refused] = await Promise.all([
      ledger.getWallet(project, { walletId: last }),
      expectRefused(spend(ledger, last, 1), "WALLET_CLOSED"),
      close,
    ]);
    expect(read).toMatchObject({ status: "closed", available: 0 });
    expect(refused.reason).toBe("WALLET_CLOSED");
    expect(await ledger.getWallet(project, { walletId: team.id })).toMatchObject({
      status: "closed",
      allocated: 0,
    });
  });
});

function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(".") + 2));
}
