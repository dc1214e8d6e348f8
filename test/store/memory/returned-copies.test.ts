import { describe, expect, it } from "vitest";
import { fingerprint } from "../../../server/ledger/fingerprint.js";
import { MemoryLedgerStore } from "../../../server/store/memory/memory-ledger-store.js";
import { hashedLine } from "../../support/hashed-line.js";
import { child, memoryEnv, project, rid, root, startMs } from "./fixture.js";

/**
 * The memory store keeps its state in plain objects in the caller's process, so every value it
 * returns must be a copy and every value it keeps must not alias the caller's input.
 */
describe("memory store returns copies", () => {
  it("does not let a returned wallet change the stored one", async () => {
    const { ledger } = await memoryEnv();
    const view = await ledger.createWallet(project, {
      name: "task",
      budget: 100,
      metadata: { team: "growth" },
      requestId: rid(),
    });
    view.budget = 1_000_000;
    view.available = 1_000_000;
    view.metadata.team = "mallory";
    view.status = "closed";
    expect(await ledger.getWallet(project, { walletId: view.id })).toMatchObject({
      budget: 100,
      available: 100,
      metadata: { team: "growth" },
      status: "open",
    });
    const page = await ledger.listWallets(project, {});
    const listed = page.items[0];
    if (listed === undefined) throw new Error("root not listed");
    listed.metadata.team = "mallory";
    expect((await ledger.getWallet(project, { walletId: view.id })).metadata).toEqual({
      team: "growth",
    });
  });

  it("does not let a returned line change the stored line, the listing or a replay", async () => {
    const { ledger } = await memoryEnv();
    const wallet = await root(ledger, 100);
    const requestId = rid();
    const input = { walletId: wallet.id, amount: 7, service: "search", requestId };
    const first = await ledger.spend(project, { ...input, metadata: { agent: "a" } });
    first.line.amount = 1;
    first.line.metadata.agent = "mallory";
    const listed = await ledger.listCharges(project, { walletId: wallet.id });
    const line = listed.items[0];
    if (line === undefined) throw new Error("line not listed");
    line.kind = "refill";
    line.metadata.agent = "mallory";

    const replay = await ledger.spend(project, { ...input, metadata: { agent: "a" } });
    expect(replay.line).toEqual(
      hashedLine(
        {
          id: `${wallet.id}.c1`,
          walletId: wallet.id,
          kind: "spend",
          amount: 7,
          service: "search",
          metadata: { agent: "a" },
          overBudget: false,
          holdId: "",
          requestId,
          createdAtMs: startMs,
        },
        "",
      ),
    );
    expect((await ledger.listCharges(project, { walletId: wallet.id })).items).toEqual([
      replay.line,
    ]);
  });

  it("does not let a returned hold or receipt change the stored ones", async () => {
    const { ledger } = await memoryEnv();
    const wallet = await root(ledger, 100);
    const sub = await child(ledger, wallet.id, 40);
    const { hold } = await ledger.authorize(project, {
      walletId: sub.id,
      amount: 30,
      service: "llm",
      metadata: { agent: "writer" },
      requestId: rid(),
    });
    hold.amount = 1;
    hold.metadata.agent = "mallory";
    const captured = await ledger.capture(project, {
      holdId: hold.id,
      amount: 30,
      requestId: rid(),
    });
    expect(captured.line).toMatchObject({ amount: 30, metadata: { agent: "writer" } });
    expect(captured.hold).toMatchObject({ amount: 30, status: "captured", capturedAmount: 30 });

    const receipt = await ledger.getReceipt(project, { walletId: wallet.id });
    receipt.byService.push({ key: "extra", credits: 1, callCount: 1 });
    const service = receipt.byService[0];
    if (service === undefined) throw new Error("no breakdown");
    service.credits = 0;
    receipt.children.pop();
    const again = await ledger.getReceipt(project, { walletId: wallet.id });
    expect(again.byService).toEqual([{ key: "llm", credits: 30, callCount: 1 }]);
    expect(again.byAgent).toEqual([{ key: "writer", credits: 30, callCount: 1 }]);
    expect(again.children.map((c) => c.walletId)).toEqual([sub.id]);
  });

  it("keeps its own copy of the metadata a command carries", async () => {
    // Straight to the store: the ledger's validation already rebuilds metadata objects.
    const store = new MemoryLedgerStore();
    const metadata = { team: "growth" };
    const alertThresholds = [50, 100];
    const params = { name: "task", budget: 5, hardCap: true, metadata, alertThresholds };
    const created = await store.createRoot({
      ...params,
      project,
      requestId: "r1",
      rootId: "w_000000000000000000000001",
      fingerprint: fingerprint("createWallet", params),
      nowMs: startMs,
    });
    metadata.team = "mallory";
    alertThresholds.push(1000);
    created.alertThresholds.push(1);
    const read = await store.getWallet({ project, walletId: created.id, nowMs: startMs });
    expect(read.metadata).toEqual({ team: "growth" });
    expect(read.alertThresholds).toEqual([50, 100]);
  });
});
