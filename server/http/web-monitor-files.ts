import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type StaticFiles, staticFiles } from "./static-files.js";

/**
 * The web monitor as the HTTP face serves it at `/`: the files `npm run build:web` writes to
 * web/dist of this package (docs/monitor.md).
 */

/**
 * web/dist of the package this module belongs to: the first directory above it that holds a
 * package.json, which is the repository from the sources (server/http) and the installed package
 * from the build (dist/server/http).
 */
export function webMonitorDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("the tollgate package has no package.json above its code");
    dir = parent;
  }
  return join(dir, "web", "dist");
}

/** Whether the monitor has been built (the banner says how to build it when not). */
export function webMonitorBuilt(): boolean {
  return existsSync(join(webMonitorDirectory(), "index.html"));
}

/** What a browser reads at `/` while the monitor is not built. */
const notBuilt =
  "The tollgate web monitor is not built on this server.\n\n" +
  "Build it with `npm run build:web` in the tollgate repository (`npm start` and `npm run build`\n" +
  "do it for you), then reload this page. The RPC routes and /metrics work meanwhile.\n";

export function webMonitorFiles(): StaticFiles {
  return staticFiles(webMonitorDirectory(), notBuilt);
}
