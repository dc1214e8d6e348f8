import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Wallet } from "../../client/index.js";
import { type Browser, launchChromium } from "../../scripts/support/chromium.js";
import { MonitorPage, waitUntil } from "./monitor-page.js";
import { apiKey, type ServedMonitor, serveMonitor } from "./served-monitor.js";

/**
 * The monitor's feed across a broken connection: it says it is disconnected, then resumes by
 * cursor, and the feed ends up with every event of the run exactly once (its line ids equal the
 * server's event log, none twice).
 */
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

let served: ServedMonitor | undefined;
let monitor: MonitorPage | undefined;
afterEach(async () => {
  await monitor?.close();
  await served?.dispose();
  monitor = undefined;
  served = undefined;
});

/** The run's events as the server's log holds them, as feed line ids (`<root>/<sequence>`). */
async function loggedLineIds(run: Wallet): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await run.listEvents({ after, pageSize: 1000 });
    ids.push(...page.events.map((e) => `${e.rootId}/${e.sequence}`));
    if (page.events.length < 1000) return ids;
    after = page.nextCursor;
  }
}

/** Waits until the feed shows exactly the server's log of `run`, each line once. */
async function expectFeedEqualsLog(page: MonitorPage, run: Wallet): Promise<void> {
  const logged = await loggedLineIds(run);
  const shown = await waitUntil(
    () => page.feedLineIds(),
    (ids) => ids.length >= logged.length,
    `the feed to show all ${logged.length} events`,
  );
  expect(new Set(shown).size).toBe(shown.length);
  expect([...shown].reverse()).toEqual(logged);
}

async function watchesLive(page: MonitorPage): Promise<void> {
  await waitUntil(
    () => page.connection(),
    (s) => s === "live",
    "the page to be live",
  );
}

describe("the web monitor across a disconnection", () => {
  it("says so when the server restarts, then resumes the feed by cursor without losing or doubling a line (Redis)", async () => {
    served = await serveMonitor("redis");
    const run = await served.tg.wallets.create({ name: "restarted-run", budget: 1000 });
    for (let i = 0; i < 3; i++) await run.spend(10, { service: "before" });
    monitor = await MonitorPage.open(browser, served.url, apiKey);
    await monitor.chooseRun(run.id);
    await watchesLive(monitor);
    // Lines that arrive live before the cut: a resume from anywhere but the last cursor doubles them.
    for (let i = 0; i < 2; i++) await run.spend(10, { service: "live-before" });
    await monitor.feedLines().filter({ hasText: "live-before" }).nth(1).waitFor();
    await expectFeedEqualsLog(monitor, run);

    const restarted = served.restart();
    await waitUntil(
      () => monitor?.connection() ?? Promise.resolve(""),
      (s) => s === "disconnected",
      "the page to say it is disconnected",
    );
    expect(await monitor.page.getByRole("status").textContent()).toMatch(/^Disconnected/);
    await restarted;
    // Committed while the page is still away: it must catch up on them from its cursor.
    for (let i = 0; i < 3; i++) await run.spend(20, { service: "after-restart" });
    await watchesLive(monitor);
    expect(await monitor.page.getByRole("status").textContent()).toContain("resumed");
    // And live ones after it is back.
    for (let i = 0; i < 2; i++) await run.spend(30, { service: "live-again" });
    await monitor.feedLines().filter({ hasText: "live-again" }).nth(1).waitFor();
    await expectFeedEqualsLog(monitor, run);
    await waitUntil(
      async () => (await monitor?.runTotal().textContent()) ?? "",
      (text) => text.startsWith("170 of 1,000 spent"),
      "the run's total after the restart",
    );
  }, 60_000);

  it("says so when the network is cut, then resumes without losing or doubling a line (memory)", async () => {
    served = await serveMonitor("memory");
    const run = await served.tg.wallets.create({ name: "cut-run", budget: 1000 });
    await run.spend(1, { service: "before" });
    monitor = await MonitorPage.open(browser, served.url, apiKey);
    await monitor.chooseRun(run.id);
    await watchesLive(monitor);
    await run.spend(1, { service: "live-before" });
    await monitor.feedLines().filter({ hasText: "live-before" }).waitFor();

    await browser.context.setOffline(true);
    await waitUntil(
      () => monitor?.connection() ?? Promise.resolve(""),
      (s) => s === "disconnected",
      "the page to say it is disconnected",
    );
    for (let i = 0; i < 4; i++) await run.spend(2, { service: "while-cut" });
    await browser.context.setOffline(false);
    await watchesLive(monitor);
    await run.spend(3, { service: "after-cut" });
    await monitor.feedLines().filter({ hasText: "after-cut" }).waitFor();
    await expectFeedEqualsLog(monitor, run);
  }, 60_000);
});
