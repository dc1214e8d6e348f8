/**
 * Debian's Chromium driven by playwright-core, as the web monitor's browser tests (test/web) and
 * `npm run screenshot:monitor` use it: the system browser (.ci/run installs the `chromium`
 * package), so nothing downloads a browser build; headless, without the sandbox (CI runs as root
 * in a container), and with everything that would reach the network by itself turned off.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const chromiumPath = process.env.TOLLGATE_CHROMIUM ?? "/usr/bin/chromium";

/** A browser with a fresh profile, removed by `close`. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(
  viewport: { width: number; height: number } = { width: 1280, height: 800 },
): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "tollgate-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    return {
      context,
      async close() {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
