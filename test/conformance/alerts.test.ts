import { describe, expect, it } from "vitest";
import type { LedgerEvent } from "../../server/ledger/types.js";
import { balances, briefs, stepEvents } from "./event-calls.js";
import {
  createChild,
  createRoot,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";
import { authorize, capture, voidHold } from "./hold-calls.js";

const max = Number.MAX_SAFE_INTEGER;

/** docs/events.md#budget-alerts: thresholds, the soft cap and exhaustion. */
describe.each(storeFactories)("budget alerts ($name store)", (factory) => {
  const env = useLedger(factory);

  /** The events (in brief) that one step appends to the tree of `walletId`. */
  async function step(walletId: string, call: () => Promise<unknown>) {
    return briefs(await stepEvents(env(), walletId, call));
  }

  function topUp(walletId: string, amount: number) {
    return env().ledger.addCredits(project, { walletId, amount, requestId: rid() });
  }

  it("stores thresholds per wallet, sorted, defaulting to 50/80/100", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    expect(root.alertThresholds).toEqual([50, 80, 100]);
    const child = await createChild(ledger, root.id, 10, { alertThresholds: [90, 10, 250] });
    expect(child.alertThresholds).toEqual([10, 90, 250]);
    expect(await ledger.getWallet(project, { walletId: child.id })).toMatchObject({
      alertThresholds: [10, 90, 250],
    });
    const listed = await ledger.listWallets(project, { parentId: root.id });
    expect(listed.items.map((w) => w.alertThresholds)).toEqual([[10, 90, 250]]);
  });

  it("crosses each threshold once, and a top-up re-arms the ones above what is crossed", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, 100)).id;
    expect(await step(r, () => spend(ledger, r, 49))).toEqual([["spend", r]]);
    expect(await step(r, () => spend(ledger, r, 1))).toEqual([
      ["spend", r],
      ["threshold_crossed", r, 50],
    ]);
    expect(await step(r, () => spend(ledger, r, 35))).toEqual([
      ["spend", r],
      ["threshold_crossed", r, 80],
    ]);
    expect(await step(r, () => spend(ledger, r, 14))).toEqual([["spend", r]]);
    const last = await stepEvents(env(), r, () => spend(ledger, r, 1));
    expect(briefs(last)).toEqual([
      ["spend", r],
      ["wallet_exhausted", r],
      ["threshold_crossed", r, 100],
    ]);
    expect(last.map((ev) => balances(ev.balances))).toEqual([
      [100, 100, 0, 0, 0, 100],
      [100, 100, 0, 0, 0, 100],
      [100, 100, 0, 0, 0, 100],
    ]);
    // Budget 200: 50% (100) is still crossed, 80% (160) and 100% (200) are armed again.
    expect(await step(r, () => topUp(r, 100))).toEqual([["refill", r]]);
    expect(await step(r, () => spend(ledger, r, 59))).toEqual([["spend", r]]);
    expect(await step(r, () => spend(ledger, r, 1))).toEqual([
      ["spend", r],
      ["threshold_crossed", r, 80],
    ]);
    expect(await step(r, () => spend(ledger, r, 40))).toEqual([
      ["spend", r],
      ["wallet_exhausted", r],
      ["threshold_crossed", r, 100],
    ]);
  });

  it("crosses several thresholds of one debit in ascending order, then the ancestors'", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, 100)).id;
    const c = (await createChild(ledger, r, 50, { alertThresholds: [10, 90] })).id;
    const events = await stepEvents(env(), r, () => spend(ledger, c, 50));
    expect(briefs(events)).toEqual([
      ["spend", c],
      ["wallet_exhausted", c],
      ["threshold_crossed", c, 10],
      ["threshold_crossed", c, 90],
      ["threshold_crossed", r, 50],
    ]);
    expect(balances((events.at(-1) as LedgerEvent).balances)).toEqual([100, 0, 0, 50, 50, 50]);
  });

  it("counts debits, not holds, and a capture crosses like a spend", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, 100)).id;
    const { hold } = await authorize(ledger, r, 90);
    expect(await step(r, () => capture(ledger, hold.id, 80))).toEqual([
      ["capture", r],
      ["threshold_crossed", r, 50],
      ["threshold_crossed", r, 80],
    ]);
  });

  it("compares with exact integer math near 2^53", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, max, { alertThresholds: [50, 100] })).id;
    // ceil(50 * (2^53 - 1) / 100) = 4503599627370496 exactly.
    expect(await step(r, () => spend(ledger, r, 4503599627370495))).toEqual([["spend", r]]);
    expect(await step(r, () => spend(ledger, r, 1))).toEqual([
      ["spend", r],
      ["threshold_crossed", r, 50],
    ]);
    expect(await step(r, () => spend(ledger, r, max - 4503599627370496 - 1))).toEqual([
      ["spend", r],
    ]);
    expect(await step(r, () => spend(ledger, r, 1))).toEqual([
      ["spend", r],
      ["wallet_exhausted", r],
      ["threshold_crossed", r, 100],
    ]);

    // 1000% of 900719925474099 is 9007199254740990: one short of it crosses nothing.
    const s = (
      await createRoot(ledger, 900719925474099, { hardCap: false, alertThresholds: [1000] })
    ).id;
    expect(await step(s, () => spend(ledger, s, 9007199254740989))).toEqual([
      ["spend", s],
      ["soft_cap_exceeded", s],
    ]);
    expect(await step(s, () => spend(ledger, s, 1))).toEqual([
      ["spend", s],
      ["threshold_crossed", s, 1000],
    ]);
  });

  it("crosses every threshold of a zero budget with the first debit", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, 0, { hardCap: false })).id;
    expect(await step(r, () => spend(ledger, r, 1))).toEqual([
      ["spend", r],
      ["soft_cap_exceeded", r],
      ["threshold_crossed", r, 50],
      ["threshold_crossed", r, 80],
      ["threshold_crossed", r, 100],
    ]);
  });

  it("alerts a soft cap once, until a top-up leaves the wallet's available >= 0", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, 100, { hardCap: false, alertThresholds: [1000] })).id;
    // Reaching 0 is not exhaustion for a soft cap.
    expect(await step(r, () => spend(ledger, r, 100))).toEqual([["spend", r]]);
    const over = await stepEvents(env(), r, () => spend(ledger, r, 1));
    expect(briefs(over)).toEqual([
      ["spend", r],
      ["soft_cap_exceeded", r],
    ]);
    expect(balances((over[1] as LedgerEvent).balances)).toEqual([100, 101, 0, 0, -1, 101]);
    expect(await step(r, () => spend(ledger, r, 1))).toEqual([["spend", r]]);
    // Still below 0 after the top-up: not re-armed.
    expect(await step(r, () => topUp(r, 1))).toEqual([["refill", r]]);
    expect(await step(r, () => spend(ledger, r, 1))).toEqual([["spend", r]]);
    // 111 - 103 = 8 >= 0: re-armed.
    expect(await step(r, () => topUp(r, 10))).toEqual([["refill", r]]);
    expect(await step(r, () => spend(ledger, r, 8))).toEqual([["spend", r]]);
    expect(await step(r, () => spend(ledger, r, 1))).toEqual([
      ["spend", r],
      ["soft_cap_exceeded", r],
    ]);
  });

  it("alerts a soft child's cap on the child, and an over-budget capture too", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, 1000, { hardCap: false, alertThresholds: [1000] })).id;
    const c = (await createChild(ledger, r, 10, { alertThresholds: [1000] })).id;
    const { hold } = await authorize(ledger, c, 10);
    expect(await step(r, () => spend(ledger, c, 5))).toEqual([
      ["spend", c],
      ["soft_cap_exceeded", c],
    ]);
    expect(await step(r, () => capture(ledger, hold.id, 10))).toEqual([["capture", c]]);
    // Back to 0: re-armed. A hold takes it below 0 but alerts nothing (no line); its capture does.
    expect(await step(r, () => topUp(c, 5))).toEqual([["allocation", c]]);
    const again = (await authorize(ledger, c, 1)).hold;
    expect(await step(r, () => capture(ledger, again.id, 1))).toEqual([
      ["capture", c],
      ["soft_cap_exceeded", c],
    ]);
  });

  it("alerts exhaustion on spend, carve-out and allocation, re-armed by credits", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, 100, { alertThresholds: [1000] })).id;
    const { hold } = await authorize(ledger, r, 100);
    expect(await step(r, () => voidHold(ledger, hold.id))).toEqual([["void", r]]);
    const big = (await authorize(ledger, r, 60)).hold;
    expect(await step(r, () => spend(ledger, r, 40))).toEqual([
      ["spend", r],
      ["wallet_exhausted", r],
    ]);
    // The void gives credits back, which re-arms it.
    expect(await step(r, () => voidHold(ledger, big.id))).toEqual([["void", r]]);
    let child = "";
    const carved = await stepEvents(env(), r, async () => {
      child = (await createChild(ledger, r, 60)).id;
    });
    expect(briefs(carved)).toEqual([
      ["wallet_created", child],
      ["wallet_exhausted", r],
    ]);
    expect(balances((carved[1] as LedgerEvent).balances)).toEqual([100, 40, 0, 60, 0, 40]);
    expect(await step(r, () => topUp(r, 10))).toEqual([["refill", r]]);
    expect(await step(r, () => topUp(child, 10))).toEqual([
      ["allocation", child],
      ["wallet_exhausted", r],
    ]);
    let placed = "";
    expect(
      await step(r, async () => {
        placed = (await authorize(ledger, child, 70)).hold.id;
      }),
    ).toEqual([
      ["hold_placed", child, placed],
      ["wallet_exhausted", child],
    ]);
  });

  it("alerts exhaustion on the authorize that takes the last credit", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, 100)).id;
    let holdId = "";
    const events = await stepEvents(env(), r, async () => {
      holdId = (await authorize(ledger, r, 100)).hold.id;
    });
    expect(briefs(events)).toEqual([
      ["hold_placed", r, holdId],
      ["wallet_exhausted", r],
    ]);
    expect(balances((events[1] as LedgerEvent).balances)).toEqual([100, 0, 100, 0, 0, 0]);
    // A zero-budget child takes nothing: 0 to 0 is no transition, for the parent or the child.
    let zero = "";
    expect(
      await step(r, async () => {
        zero = (await createChild(ledger, r, 0)).id;
      }),
    ).toEqual([["wallet_created", zero]]);
    expect(await step(r, () => voidHold(ledger, holdId))).toEqual([["void", r]]);
    let other = "";
    expect(
      await step(r, async () => {
        other = (await createChild(ledger, r, 0)).id;
      }),
    ).toEqual([["wallet_created", other]]);
  });

  it("emits no alert for a wallet closing, nor for a closed wallet", async () => {
    const { ledger } = env();
    const r = (await createRoot(ledger, 100)).id;
    const c = (await createChild(ledger, r, 50)).id;
    await spend(ledger, c, 10);
    // Closing leaves available 0 on a hard-capped wallet that still had credits: no exhaustion.
    expect(
      await step(r, () => ledger.closeWallet(project, { walletId: c, requestId: rid() })),
    ).toEqual([["wallet_closed", c]]);
    // The root crosses on the closed child's debits plus its own; the child stays silent.
    expect(await step(r, () => spend(ledger, r, 90))).toEqual([
      ["spend", r],
      ["wallet_exhausted", r],
      ["threshold_crossed", r, 50],
      ["threshold_crossed", r, 80],
      ["threshold_crossed", r, 100],
    ]);
  });
});
