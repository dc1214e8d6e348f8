/**
 * `npm run screenshot:monitor`: docs/monitor.png, the web monitor showing a finished run of the
 * team example. Starts a server (memory store) with its HTTP face, runs examples/team.ts against
 * it over the SpendStream, opens the page at 1280x800 in Chromium (scripts/support/chromium.ts),
 * chooses the run and a capture line in its feed (its details show the hash chain), and takes
 * a screenshot of the whole page.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { createLogger } from "../server/logger.js";
import { startTollgateServer } from "../server/server.js";
import { MemoryLedgerStore } from "../server/store/memory/memory-ledger-store.js";
import { launchChromium } from "./support/chromium.js";

const root = resolve(import.meta.dirname, "..");
const tsx = createRequire(import.meta.url).resolve("tsx/cli");
const run = promisify(execFile);

await run(process.execPath, [tsx, "scripts/build-web.ts", "--if-changed"], { cwd: root });
const server = await startTollgateServer({
  store: new MemoryLedgerStore(),
  address: "127.0.0.1:0",
  httpAddress: "127.0.0.1:0",
  logger: createLogger("silent"),
});
const browser = await launchChromium({ width: 1280, height: 800 });
try {
  await run(process.execPath, [tsx, "examples/team.ts"], {
    cwd: root,
    env: { ...process.env, TOLLGATE_ADDRESS: server.address, TOLLGATE_MODE: "stream" },
  });
  const page = await browser.context.newPage();
  await page.goto(`http://127.0.0.1:${server.httpPort}/`);
  await page.getByTestId("run").first().click();
  await page.getByTestId("run-total").getByText("1,000 of 1,000 spent").waitFor();
  await page.locator('[data-kind="capture"]').first().getByRole("button").click();
  await page.getByTestId("detail").waitFor();
  const file = join(root, "docs", "monitor.png");
  await page.screenshot({ path: file, fullPage: true });
  process.stderr.write(`wrote ${file}\n`);
} finally {
  await browser.close();
  await server.shutdown();
}
