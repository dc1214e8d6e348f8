import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { createClient, type TollgateClient } from "../../client/index.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";
import { apiKey, redisSpace, serverOptions } from "../client/support.js";

/** Which store a browser test runs on. */
export type StoreKind = "memory" | "redis";

/**
 * A real server (gRPC and the HTTP face, which serves the monitor) with API keys, on `kind`'s
 * store, and a typed client with the key. `restart` shuts the server down and starts it again on
 * the same ports over the same data (Redis only: the memory store dies with its server).
 */
export interface ServedMonitor {
  server: TollgateServer;
  /** `http://127.0.0.1:<http port>/`: what the banner prints and a person opens. */
  url: string;
  tg: TollgateClient;
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

export async function serveMonitor(kind: StoreKind): Promise<ServedMonitor> {
  const space = kind === "redis" ? redisSpace() : undefined;
  const store = (): LedgerStore => space?.store() ?? new MemoryLedgerStore();
  let server = await startTollgateServer({
    ...serverOptions(store()),
    httpAddress: "127.0.0.1:0",
  });
  const tg = createClient({
    address: server.address,
    apiKey,
    retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
  });
  const served: ServedMonitor = {
    server,
    url: `http://127.0.0.1:${server.httpPort}/`,
    tg,
    async restart() {
      if (space === undefined) throw new Error("a restart keeps its data on Redis only");
      const { address, httpAddress } = server;
      await server.shutdown();
      server = await startTollgateServer({ ...serverOptions(store()), address, httpAddress });
      served.server = server;
    },
    async dispose() {
      tg.close();
      await server.shutdown();
      await space?.cleanup();
    },
  };
  return served;
}

const root = resolve(import.meta.dirname, "../..");
const tsx = createRequire(import.meta.url).resolve("tsx/cli");

/** `npm run example:team` in streaming mode against `server`, as a person would run it; its output. */
export async function runTeamExample(server: TollgateServer): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [tsx, "examples/team.ts"], {
    cwd: root,
    env: {
      ...process.env,
      TOLLGATE_ADDRESS: server.address,
      TOLLGATE_API_KEY: apiKey,
      TOLLGATE_MODE: "stream",
    },
  });
  return stdout;
}

export { apiKey };
