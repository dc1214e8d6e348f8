import { describe, expect, it } from "vitest";
import { lineHash } from "../../client/line-hash.js";
import type { ChargeLine } from "../../server/ledger/types.js";
import { allEvents } from "./event-calls.js";
import {
  allLines,
  createChild,
  createRoot,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";
import { authorize, capture, voidHold } from "./hold-calls.js";

/** Checks that `lines` (a tree's lines in commit order) form one chain from "". */
function expectChain(lines: ChargeLine[]): void {
  let prevHash = "";
  for (const line of lines) {
    expect(line.prevHash).toBe(prevHash);
    expect(line.hash).toMatch(/^[0-9a-f]{40}$/);
    expect(line.hash).toBe(lineHash(line));
    prevHash = line.hash;
  }
}

/** docs/events.md#the-hash-chain. */
describe.each(storeFactories)("line hash chain ($name store)", (factory) => {
  const env = useLedger(factory);

  it("links every line of a tree to the one before it, in commit order", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 1000);
    const child = await createChild(ledger, root.id, 300);
    await spend(ledger, child.id, 10, { metadata: { zeta: "1", alpha: "2", é: "3" } });
    await spend(ledger, root.id, 5, { service: "llm" });
    const held = (await authorize(ledger, root.id, 20, { metadata: { agent: "w" } })).hold;
    await capture(ledger, held.id, 15, { step: "2" });
    const voided = (await authorize(ledger, child.id, 5)).hold;
    await voidHold(ledger, voided.id);
    await ledger.addCredits(project, { walletId: root.id, amount: 5, requestId: rid() });
    await ledger.addCredits(project, { walletId: child.id, amount: 5, requestId: rid() });
    await authorize(ledger, child.id, 7, { ttlSeconds: 1 });
    clock.advance(2_000);
    await ledger.getWallet(project, { walletId: root.id });
    await authorize(ledger, child.id, 3);
    await ledger.closeWallet(project, { walletId: child.id, requestId: rid() });

    const lines = await allLines(ledger, root.id);
    expect(lines.map((l) => l.kind)).toEqual([
      "spend",
      "spend",
      "capture",
      "void",
      "refill",
      "allocation",
      "expire",
      "void",
    ]);
    expectChain(lines);
    expect(new Set(lines.map((l) => l.hash)).size).toBe(lines.length);
    // A wallet's own lines link to the tree's previous line, whichever wallet wrote it.
    const own = await allLines(ledger, root.id, false);
    expect(own[0]?.prevHash).toBe(lines[0]?.hash);
    // The event log carries the same lines.
    const logged = (await allEvents(env(), root.id)).flatMap((ev) => ev.line ?? []);
    expect(logged).toEqual(lines);
  });

  it("starts each tree's chain at its own first line, and a replay returns the same hash", async () => {
    const { ledger } = env();
    const one = await createRoot(ledger, 100);
    const two = await createRoot(ledger, 100);
    const requestId = rid("spend");
    const first = await spend(ledger, one.id, 1, { requestId });
    const other = await spend(ledger, two.id, 1);
    expect(first.line.prevHash).toBe("");
    expect(other.line.prevHash).toBe("");
    expect(first.line.hash).toBe(lineHash(first.line));
    // Same fields in another tree (its own ids): another hash.
    expect(other.line.hash).not.toBe(first.line.hash);
    const replay = await spend(ledger, one.id, 1, { requestId });
    expect(replay.line).toEqual(first.line);
    const next = await spend(ledger, one.id, 1);
    expect(next.line.prevHash).toBe(first.line.hash);
    expectChain(await allLines(ledger, one.id));
  });

  it("hashes the canonical encoding: changing any field breaks the link", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100, { hardCap: false });
    await spend(ledger, root.id, 150, { metadata: { agent: "a" } });
    const [line] = await allLines(ledger, root.id);
    if (line === undefined) throw new Error("no line");
    expect(line.overBudget).toBe(true);
    const edits: Partial<ChargeLine>[] = [
      { amount: 149 },
      { overBudget: false },
      { service: "other" },
      { metadata: { agent: "b" } },
      { metadata: {} },
      { createdAtMs: line.createdAtMs + 1 },
      { requestId: "forged" },
      { prevHash: "0".repeat(40) },
    ];
    for (const edit of edits) expect(lineHash({ ...line, ...edit })).not.toBe(line.hash);
  });
});
