import { describe, expect, it } from "vitest";
import { rootIdFor } from "../../server/ledger/ids.js";
import type { Ledger } from "../../server/ledger/ledger.js";
import type { LedgerError } from "../../server/ledger/ledger-error.js";
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

/**
 * The whole error a caller sees for an id it asked for and cannot have: a function of that id
 * alone, so a missing id and another project's id are answered alike (nothing reveals that the
 * other project's wallet exists), and both stores answer the same.
 */
function notFound(kind: "wallet" | "hold", id: string) {
  return kind === "wallet"
    ? { reason: "WALLET_NOT_FOUND", message: `wallet ${id} not found`, metadata: { wallet_id: id } }
    : { reason: "HOLD_NOT_FOUND", message: `hold ${id} not found`, metadata: { hold_id: id } };
}

/** Exactly the error above: reason, message and metadata, no entry more or less. */
function expectExactly(error: LedgerError, kind: "wallet" | "hold", id: string, label: string) {
  const seen = { reason: error.reason, message: error.message, metadata: error.metadata };
  expect([label, seen]).toEqual([label, notFound(kind, id)]);
}

/** Runs every wallet call for `walletId` and every hold call for `holdId`, as `asProject`. */
async function expectAllNotFound(
  ledger: Ledger,
  asProject: string,
  ids: { wallets: string[]; holds: string[] },
  refuse: (call: () => Promise<unknown>, reason: LedgerError["reason"]) => Promise<LedgerError>,
): Promise<void> {
  for (const walletId of ids.wallets) {
    for (const [name, call] of Object.entries(walletCalls(ledger, asProject, walletId))) {
      // createChild and listWallets name the wallet as the parent: it is still the id asked for.
      expectExactly(await refuse(call, "WALLET_NOT_FOUND"), "wallet", walletId, name);
    }
  }
  for (const holdId of ids.holds) {
    for (const [name, call] of Object.entries(holdCalls(ledger, asProject, holdId))) {
      expectExactly(await refuse(call, "HOLD_NOT_FOUND"), "hold", holdId, name);
    }
  }
}

describe.each(storeFactories)("not found ($name store)", (factory) => {
  const env = useLedger(factory);

  it("answers WALLET_NOT_FOUND for a well-formed id of a tree that does not exist", async () => {
    const { ledger } = env();
    const ghost = rootIdFor(project, "never-created");
    await expectAllNotFound(
      ledger,
      project,
      { wallets: [ghost, `${ghost}.w1`], holds: [`${ghost}.h1`] },
      (call, reason) => expectRefused(call(), reason),
    );
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
    await expectAllNotFound(
      ledger,
      project,
      {
        wallets: [`${root.id}.w2`, `${root.id}.w3`, `${root.id}.w99`],
        holds: [`${root.id}.h1`, `${root.id}.h3`, `${root.id}.h99`],
      },
      (call, reason) => expectRefusedUnchanged(ledger, root.id, call, reason),
    );
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
    // The same error, message included, as for an id that does not exist (the cases above).
    await expectAllNotFound(
      ledger,
      otherProject,
      { wallets: [root.id, child.id], holds: [hold.id] },
      (call, reason) => expectRefusedUnchanged(ledger, root.id, call, reason),
    );
  });
});
