import { describe, expect, it } from "vitest";
import type { LedgerError } from "../../../server/ledger/ledger-error.js";
import { IdempotencyLog } from "../../../server/store/memory/idempotency-log.js";
import { memoryEnv, project, rid, root } from "./fixture.js";

const ttlMs = 1_000;

/** Request ids are remembered for `idempotencyTtlMs` of command time, not of wall time. */
describe("memory store idempotency records", () => {
  it("answers a replay until the TTL has passed, then charges again", async () => {
    const { ledger, advance } = await memoryEnv({ idempotencyTtlMs: ttlMs });
    const wallet = await root(ledger, 100);
    const input = { walletId: wallet.id, amount: 10, service: "search", requestId: rid() };
    const first = await ledger.spend(project, input);

    advance(ttlMs - 1);
    const replay = await ledger.spend(project, input);
    expect(replay.line).toEqual(first.line);
    expect(replay.remaining).toBe(90);
    expect((await ledger.getWallet(project, { walletId: wallet.id })).spent).toBe(10);

    advance(1);
    const again = await ledger.spend(project, input);
    expect(again.line.id).toBe(`${wallet.id}.c2`);
    expect(again.remaining).toBe(80);
    expect((await ledger.getWallet(project, { walletId: wallet.id })).spent).toBe(20);
  });

  it("refuses a reused key with other parameters only while the record lives", async () => {
    const { ledger, advance } = await memoryEnv({ idempotencyTtlMs: ttlMs });
    const wallet = await root(ledger, 100);
    const requestId = rid();
    await ledger.spend(project, { walletId: wallet.id, amount: 10, service: "a", requestId });
    const reused = (await ledger
      .spend(project, { walletId: wallet.id, amount: 11, service: "a", requestId })
      .catch((e: unknown) => e)) as LedgerError;
    expect([reused.reason, reused.field]).toEqual(["IDEMPOTENCY_KEY_REUSED", "request_id"]);

    advance(ttlMs);
    const fresh = await ledger.spend(project, {
      walletId: wallet.id,
      amount: 11,
      service: "a",
      requestId,
    });
    expect(fresh.remaining).toBe(79);
  });

  it("answers a root create after its record expired from the tree it made", async () => {
    const { ledger, advance } = await memoryEnv({ idempotencyTtlMs: ttlMs });
    const requestId = rid();
    const created = await ledger.createWallet(project, { name: "t", budget: 10, requestId });
    await ledger.spend(project, {
      walletId: created.id,
      amount: 4,
      service: "s",
      requestId: rid(),
    });

    advance(ttlMs * 5);
    const replay = await ledger.createWallet(project, { name: "t", budget: 10, requestId });
    expect(replay).toMatchObject({ id: created.id, budget: 10, spent: 4, available: 6 });
    expect((await ledger.listWallets(project, {})).items.map((w) => w.id)).toEqual([created.id]);

    const other = (await ledger
      .createWallet(project, { name: "t", budget: 11, requestId })
      .catch((e: unknown) => e)) as LedgerError;
    expect([other.reason, other.field]).toEqual(["IDEMPOTENCY_KEY_REUSED", "request_id"]);
  });

  it("drops expired records from the front of the log", () => {
    const log = new IdempotencyLog(ttlMs);
    const outcome = { kind: "wallet", walletId: "w" } as const;
    log.remember("a", "fa", outcome, 0);
    log.remember("b", "fb", outcome, 500);
    log.remember("c", "fc", outcome, 900);
    log.prune(1_499);
    expect(log.size).toBe(2);
    expect(log.find("a", 1_499)).toBeUndefined();
    expect(log.find("b", 1_499)?.fingerprint).toBe("fb");
    expect(log.find("b", 1_500)).toBeUndefined();
    expect(log.size).toBe(1);
    // Re-using an expired id moves it to the back, behind "c".
    log.remember("a", "fa2", outcome, 1_600);
    log.prune(1_900);
    expect(log.size).toBe(1);
    expect(log.find("a", 1_900)?.fingerprint).toBe("fa2");
  });
});
