import type { Locator, Page } from "playwright-core";
import type { Browser } from "../../scripts/support/chromium.js";

/**
 * The web monitor as a person uses it, through what the page shows: its runs, a run's wallets,
 * receipt and feed, and the connection status. Feed lines are counted by their line id
 * (`<root>/<sequence>`, each event's place in its tree's gapless log).
 */
export class MonitorPage {
  private constructor(readonly page: Page) {}

  /** Opens `url`, typing `apiKey` into the page when the server asks for one. */
  static async open(browser: Browser, url: string, apiKey?: string): Promise<MonitorPage> {
    const page = await browser.context.newPage();
    await page.goto(url);
    const monitor = new MonitorPage(page);
    if (apiKey !== undefined) {
      await page.getByLabel("API key", { exact: true }).fill(apiKey);
      await page.getByRole("button", { name: "Connect" }).click();
    }
    await page.getByRole("heading", { name: "Task runs" }).waitFor();
    return monitor;
  }

  run(id: string): Locator {
    return this.page.locator(`[data-testid="run"][data-run-id="${id}"]`);
  }

  async chooseRun(id: string): Promise<void> {
    await this.run(id).click();
    await this.page.getByTestId("run-total").waitFor();
  }

  wallet(name: string): Locator {
    return this.page.locator(`[data-testid="wallet"][data-wallet-name="${name}"]`);
  }

  runTotal(): Locator {
    return this.page.getByTestId("run-total");
  }

  /** The by-agent table's rows as [agent, calls, credits], as shown. */
  async byAgent(): Promise<string[][]> {
    const rows = this.page.getByTestId("by-agent").locator("tbody tr[data-key]");
    return (await rows.all()).length === 0
      ? []
      : Promise.all(
          (await rows.all()).map(async (row) =>
            (await row.locator("th, td").allTextContents()).map((cell) => cell.trim()),
          ),
        );
  }

  feedLines(): Locator {
    return this.page.getByTestId("feed-line");
  }

  /** The line ids the feed shows, newest first. */
  async feedLineIds(): Promise<string[]> {
    return this.feedLines().evaluateAll((lines) =>
      lines.map((line) => line.getAttribute("data-line-id") ?? ""),
    );
  }

  /** The connection status's state: connecting, live, disconnected or stopped. */
  async connection(): Promise<string> {
    return (await this.page.getByRole("status").getAttribute("data-state")) ?? "";
  }

  async close(): Promise<void> {
    await this.page.close();
  }
}

/**
 * Polls `check` every 20 ms until it holds; fails after `timeoutMs` naming `what` and the last
 * value seen. For what a page shows after something happened elsewhere: never a fixed sleep.
 */
export async function waitUntil<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
