import { describe, expect, it } from "vitest";
import { rootIdFor } from "../../server/ledger/ids.js";
import type { Ledger } from "../../server/ledger/ledger.js";
import {
  createChild,
  createRoot,
  expectRefused,
  expectRefusedUnchanged,
  otherProject,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";

/** Every operation that names a wallet, as `asProject` would call it. */
function walletCalls(ledger: Ledger, asProject: string, walletId: string) {
  return {
    getWallet: () => ledger.getWallet(asProject, { walletId }),
    listWallets: () => ledger.listWallets(asProject, { parentId: walletId }),
    createChild: () =>
      ledger.createWallet(asProject, { parentId: walletId, budget: 0, requestId: rid() }),
    addCredits: () => ledger.addCredits(asProject, { walletId, amount: 1, requestId: rid() }),
    closeWallet: () => ledger.closeWallet(asProject, { walletId, requestId: rid() }),
    spend: () =>
      ledger.spend(asProject, { walletId, amount: 1, service: "search", requestId: rid() }),
    authorize: () =>
      ledger.authorize(asProject, { walletId, amount: 1, service: "llm", requestId: rid() }),
    getReceipt: () => ledger.getReceipt(asProject, { walletId }),
    listCharges: () => ledger.listCharges(asProject, { walletId, includeDescendants: true }),
  };
}

/** Every operation that names a hold. */
function holdCalls(ledger: Ledger, asProject: string, holdId: string) {
  return {
    capture: () => ledger.capture(asProject, { holdId, amount: 1, requestId: rid() }),
    void: () => ledger.void(asProject, { holdId, requestId: rid() }),
  };
}

describe.each(storeFactories)("not found ($name store)", (factory) => {
  const env = useLedger(factory);

  it("answers WALLET_NOT_FOUND for a well-formed id of a tree that does not exist", async () => {
    const { ledger } = env();
    const ghost = rootIdFor(project, "never-created");
    for (const walletId of [ghost, `${ghost}.w1`]) {
      for (const call of Object.values(walletCalls(ledger, project, walletId))) {
        await expectRefused(call(), "WALLET_NOT_FOUND");
      }
    }
    for (const call of Object.values(holdCalls(ledger, project, `${ghost}.h1`))) {
      await expectRefused(call(), "HOLD_NOT_FOUND");
    }
  });

  it("answers WALLET_NOT_FOUND and HOLD_NOT_FOUND for missing ids inside an existing tree", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 10);
    const { hold } = await ledger.authorize(project, {
      walletId: child.id,
      amount: 1,
      service: "llm",
      requestId: rid(),
    });
    const { line } = await spend(ledger, child.id, 1);
    expect([child.id, hold.id, line.id]).toEqual([
      `${root.id}.w1`,
      `${root.id}.h2`,
      `${root.id}.c3`,
    ]);
    // Same tree: numbers in use by a hold or a line, and a number not used yet.
    const missingWallets = [`${root.id}.w2`, `${root.id}.w3`, `${root.id}.w99`];
    for (const walletId of missingWallets) {
      for (const call of Object.values(walletCalls(ledger, project, walletId))) {
        await expectRefusedUnchanged(ledger, root.id, call, "WALLET_NOT_FOUND");
      }
    }
    const missingHolds = [`${root.id}.h1`, `${root.id}.h3`, `${root.id}.h99`];
    for (const holdId of missingHolds) {
      for (const call of Object.values(holdCalls(ledger, project, holdId))) {
        await expectRefusedUnchanged(ledger, root.id, call, "HOLD_NOT_FOUND");
      }
    }
    // The real hold is still there and still open.
    expect((await ledger.void(project, { holdId: hold.id, requestId: rid() })).hold.status).toBe(
      "voided",
    );
  });

  it("hides every wallet and hold of another project behind NOT_FOUND", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 10);
    const { hold } = await ledger.authorize(project, {
      walletId: child.id,
      amount: 1,
      service: "llm",
      requestId: rid(),
    });
    for (const walletId of [root.id, child.id]) {
      for (const call of Object.values(walletCalls(ledger, otherProject, walletId))) {
        await expectRefusedUnchanged(ledger, root.id, call, "WALLET_NOT_FOUND");
      }
    }
    for (const call of Object.values(holdCalls(ledger, otherProject, hold.id))) {
      await expectRefusedUnchanged(ledger, root.id, call, "HOLD_NOT_FOUND");
    }
  });
});
