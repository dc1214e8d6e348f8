import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChargeKind } from "../../gen/ts-proto/tollgate/v1/charge.js";
import { apiKeysFromPairs } from "../../server/auth/api-keys.js";
import { bearer, call, type Harness, startHarness } from "../rpc/harness.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import { defined } from "../support/grpc.js";
import { apiKey, usePythonSide } from "./python-env.js";

const py = usePythonSide();

/** Runs a Python script of examples/python against the harness's server. */
const runPython = (h: Harness, args: string[], env: Record<string, string> = {}) =>
  py.run(h.server.address, args, env);

describe.each(stores)("Python client against a real server ($name store)", ({ open }) => {
  let h: Harness;
  let opened: StoreUnderTest;

  beforeEach(async () => {
    opened = open();
    h = await startHarness({ store: opened.store, apiKeys: apiKeysFromPairs(`py=${apiKey}`) });
  });
  afterEach(async () => {
    await h.close();
    await opened.cleanup();
  });

  const wallet = async (walletId: string) =>
    defined(
      (await call(h.wallets, h.wallets.getWallet, { walletId }, bearer(apiKey))).wallet,
      "wallet",
    );
  const receipt = async (walletId: string) =>
    defined(
      (await call(h.receipts, h.receipts.getReceipt, { walletId }, bearer(apiKey))).receipt,
      "receipt",
    );

  it("passes test_client.py, and the server agrees with the balances it left", async () => {
    const results = join(py.genDir, `results-${randomUUID()}.json`);
    const { stderr } = await runPython(h, ["test_client.py", "-v"], { TOLLGATE_RESULTS: results });
    expect(stderr).toMatch(/Ran 13 tests in .*\n\nOK\n$/);
    const ids = JSON.parse(await readFile(results, "utf8")) as Record<
      string,
      Record<string, string>
    >;
    const id = (test: string, key: string) => defined(ids[test]?.[key], `${test}.${key}`);

    expect(await wallet(id("workflow", "task"))).toMatchObject({
      name: "research-task",
      budget: 1200n,
      allocated: 750n,
      spent: 0n,
      available: 450n,
      totalSpent: 125n,
      metadata: { run: "python" },
    });
    expect(await wallet(id("workflow", "researcher"))).toMatchObject({
      budget: 400n,
      spent: 90n,
      available: 310n,
    });
    expect(await wallet(id("workflow", "writer"))).toMatchObject({
      budget: 350n,
      spent: 35n,
      available: 315n,
    });
    expect(await receipt(id("workflow", "task"))).toMatchObject({
      totalCredits: 125n,
      callCount: 3n,
      refillCredits: 200n,
      refillCount: 1n,
    });
    expect(await wallet(id("insufficient", "wallet"))).toMatchObject({
      budget: 100n,
      spent: 60n,
      available: 40n,
    });
    expect(await receipt(id("budgeted", "wallet"))).toMatchObject({
      totalCredits: 80n,
      callCount: 2n,
      available: 20n,
      byService: [{ key: "web_search", credits: 80n, callCount: 2n }],
    });
    const charges = async (walletId: string) =>
      (
        await call(
          h.receipts,
          h.receipts.listCharges,
          { walletId, includeDescendants: false, pageSize: 0, pageToken: "" },
          bearer(apiKey),
        )
      ).charges;
    // A raising tool's hold was voided (a VOID line of the 40 released, nothing charged); the next
    // call's hold was captured.
    const lines = async (walletId: string) =>
      (await charges(walletId)).map((c) => [c.kind, c.amount, c.metadata.tool]);
    expect(await lines(id("raising", "wallet"))).toEqual([
      [ChargeKind.CHARGE_KIND_VOID, 40n, "web_search"],
      [ChargeKind.CHARGE_KIND_CAPTURE, 40n, "web_search"],
    ]);
    expect(await receipt(id("raising", "wallet"))).toMatchObject({
      totalCredits: 40n,
      callCount: 1n,
      available: 60n,
    });
    // upfront=True spends before the call, so its failed call stays charged.
    expect(await lines(id("raising", "upfront"))).toEqual([
      [ChargeKind.CHARGE_KIND_SPEND, 40n, "upfront_search"],
    ]);
    expect(await receipt(id("retried", "wallet"))).toMatchObject({
      totalCredits: 60n,
      callCount: 2n,
      available: 40n,
    });

    // Both attempts of the retried spend reached the server with one request id; one line exists.
    const retriedId = id("retried", "request_id");
    const spendLines = h.logs.filter((l) => l.method === "Spend" && l.requestId === retriedId);
    expect(spendLines).toMatchObject([
      { project: "py", code: "OK" },
      { project: "py", code: "OK" },
    ]);
    const retried = await charges(id("retried", "wallet"));
    expect(retried.filter((c) => c.requestId === retriedId)).toHaveLength(1);
  });

  it("runs example.py: six 30-credit searches, then PAYMENT_LIMIT_REACHED", async () => {
    const { stdout } = await runPython(h, ["example.py"]);
    const walletId = defined(/\((w_[0-9a-f]+)\)/.exec(stdout)?.[1], "a wallet id in the output");
    const calls = [170, 140, 110, 80, 50, 20].map(
      (left, i) => `call ${i + 1}: results for 'agent budgets ${i + 1}' (${left} credits left)`,
    );
    expect(stdout.split("\n")).toEqual([
      `wallet python-example (${walletId}): budget 200, hard cap`,
      ...calls,
      "call 7: PAYMENT_LIMIT_REACHED: python-example has 20 credits left; web_search costs 30",
      "spent 180 credits in 6 calls",
      "available 20, exhausted False",
      "",
    ]);
    expect(await wallet(walletId)).toMatchObject({ budget: 200n, spent: 180n, available: 20n });
    expect(await receipt(walletId)).toMatchObject({ totalCredits: 180n, callCount: 6n });
  });
});
