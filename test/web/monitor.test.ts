import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Charge, Wallet } from "../../client/index.js";
import { type Browser, launchChromium } from "../../scripts/support/chromium.js";
import { MonitorPage, waitUntil } from "./monitor-page.js";
import {
  apiKey,
  runTeamExample,
  type ServedMonitor,
  type StoreKind,
  serveMonitor,
} from "./served-monitor.js";

/**
 * The web monitor in a real browser (Debian's Chromium through playwright-core), served by a real
 * server, watching the team example run in streaming mode: what a person sees, checked against
 * what the typed client reads.
 */
const stores: StoreKind[] = ["memory", "redis"];

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const credits = (n: bigint) => n.toLocaleString("en-US");

describe.each(stores)("the web monitor on the %s store", (kind) => {
  let served: ServedMonitor | undefined;
  let monitor: MonitorPage | undefined;
  afterEach(async () => {
    await monitor?.close();
    await served?.dispose();
    monitor = undefined;
    served = undefined;
  });

  it("shows the team example's run: the researcher exhausted, 1000 spent, by agent as the receipt", async () => {
    served = await serveMonitor(kind);
    monitor = await MonitorPage.open(browser, served.url, apiKey);
    await monitor.page.getByText("No runs yet").waitFor();

    await runTeamExample(served.server);

    // The run appears in the list (the project watch announced it) and opens.
    let task: Wallet | undefined;
    for await (const page of served.tg.wallets.list()) task ??= page.find((w) => w.name === "task");
    expect(task).toBeDefined();
    const taskId = task?.id ?? "";
    await monitor.run(taskId).waitFor();
    await monitor.chooseRun(taskId);

    // The researcher's bar is full and its cap has bitten.
    const researcher = monitor.wallet("researcher");
    await researcher.getByTestId("exhausted").waitFor();
    expect(await researcher.getByTestId("wallet-figures").textContent()).toContain(
      "spent 400 · held 0 · to sub-wallets 0 · available 0 of 400",
    );
    expect(await researcher.locator(".bar-spent").getAttribute("style")).toContain("width: 100%");
    expect(await researcher.locator(".bar-available").count()).toBe(0);

    // The task's total reaches 1000.
    await waitUntil(
      async () => (await monitor?.runTotal().textContent()) ?? "",
      (text) => text.startsWith("1,000 of 1,000 spent"),
      "the run's total to reach 1,000",
    );

    // By agent, as the receipt reads through the typed client.
    const receipt = await (await served.tg.wallets.get(taskId)).getReceipt();
    expect(receipt.totalCredits).toBe(1000n);
    const expected = receipt.byAgent.map((row) => [
      row.key,
      credits(row.callCount),
      credits(row.credits),
    ]);
    expect(expected.map(([agent]) => agent).sort()).toEqual(
      ["critic", "lead", "researcher", "writer"].sort(),
    );
    await waitUntil(
      () => monitor?.byAgent() ?? Promise.resolve([]),
      (rows) => JSON.stringify(rows) === JSON.stringify(expected),
      "the by-agent table to equal the receipt",
    );

    // Alerts stand out, and a line opens on its details: request id, metadata, hash chain.
    expect(await monitor.page.locator(".feed-alert").count()).toBeGreaterThan(0);
    const charges: Charge[] = [];
    for await (const page of (await served.tg.wallets.get(taskId)).listCharges({
      includeDescendants: true,
    })) {
      charges.push(...page);
    }
    await monitor.page.locator('[data-kind="capture"], [data-kind="spend"]').last().click();
    const detail = monitor.page.getByTestId("detail");
    await detail.waitFor();
    const hash = (await detail.getByTestId("hash").textContent()) ?? "";
    const shown = charges.find((c) => c.hash === hash);
    expect(shown).toBeDefined();
    expect(await detail.getByTestId("prev-hash").textContent()).toContain(
      shown?.prevHash || "(none: the tree's first line)",
    );
    expect(await detail.getByTestId("request-id").textContent()).toBe(shown?.requestId);
    expect(await detail.getByTestId("metadata").textContent()).toContain(
      `agent = ${shown?.metadata.agent}`,
    );
  }, 60_000);

  it("shows a spend made from a separate client in the feed within 1 s of its commit", async () => {
    served = await serveMonitor(kind);
    const task = await served.tg.wallets.create({ name: "live-run", budget: 500 });
    await task.spend(5, { service: "warm-up" });
    monitor = await MonitorPage.open(browser, served.url, apiKey);
    await monitor.chooseRun(task.id);
    await waitUntil(
      () => monitor?.connection() ?? Promise.resolve(""),
      (state) => state === "live",
      "the watches to be live",
    );
    await monitor.feedLines().filter({ hasText: "warm-up" }).waitFor();

    for (let i = 1; i <= 3; i++) {
      const { charge } = await task.spend(7, { service: `separate-client-${i}` });
      // From the commit's own time (the same machine's clock), not from when the call returned.
      const remaining = charge.createdAt.getTime() + 1000 - Date.now();
      await monitor
        .feedLines()
        .filter({ hasText: `separate-client-${i}` })
        .waitFor({ timeout: Math.max(1, remaining) });
    }
    // A top-up shows too (as a top-up line), and the run's total follows.
    await task.addCredits(100, { metadata: { reason: "lead tops up" } });
    await monitor.page.locator('[data-kind="top-up"]').waitFor();
    await waitUntil(
      async () => (await monitor?.runTotal().textContent()) ?? "",
      (text) => text.startsWith("26 of 600 spent"),
      "the run's total after the top-up",
    );
  }, 60_000);

  it("works at phone width with the keyboard only: choose a run, open a line's details", async () => {
    served = await serveMonitor(kind);
    const task = await served.tg.wallets.create({ name: "phone-run", budget: 100 });
    await task.spend(12, { service: "pocket", metadata: { agent: "scout" } });
    monitor = await MonitorPage.open(browser, served.url, apiKey);
    const { page } = monitor;
    await page.setViewportSize({ width: 390, height: 844 });
    await monitor.run(task.id).waitFor();

    const focused = (attribute: string) =>
      page.evaluate(
        `document.activeElement?.closest("[${attribute}]")?.getAttribute("${attribute}") ?? ""`,
      );
    const tabTo = async (attribute: string, value: string) => {
      for (let i = 0; i < 40; i++) {
        if ((await focused(attribute)) === value) return;
        await page.keyboard.press("Tab");
      }
      throw new Error(`Tab never reached [${attribute}="${value}"]`);
    };
    await tabTo("data-run-id", task.id);
    await page.keyboard.press("Enter");
    await monitor.runTotal().waitFor();
    const spend = await waitUntil(
      () => monitor?.feedLineIds() ?? Promise.resolve([]),
      (ids) => ids.length === 2,
      "the run's two events",
    );
    await tabTo("data-line-id", spend[0] ?? "");
    await page.keyboard.press("Enter");
    const detail = page.getByTestId("detail");
    await detail.waitFor();
    expect(await detail.getByTestId("metadata").textContent()).toContain("agent = scout");
    // Nothing wider than the phone's screen: no sideways scrolling.
    expect(
      await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth",
      ),
    ).toBe(true);
  }, 60_000);
});
