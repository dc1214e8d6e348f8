import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createClient, type TollgateClient } from "../../client/index.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import {
  startTollgateServer,
  type TollgateServer,
  type TollgateServerOptions,
} from "../../server/server.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";

/**
 * The `tollgate` command as users run it: a child process of the bin's entry (server/cli.ts,
 * through tsx), with only the environment a test gives it, against a real server this test
 * process serves.
 */

const root = resolve(import.meta.dirname, "../..");
const entry = "server/cli.ts";

/** The API key of the served project. */
export const apiKey = "cli-test-key-0123456789";

/** A finished run of the CLI. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment without any tollgate setting, colors or a terminal's width. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith("TOLLGATE_") || key === "NO_COLOR") continue;
    if (key === "REDIS_URL" || key === "REDIS_CLUSTER") continue;
    env[key] = value;
  }
  return env;
}

/** Starts `tollgate <args>` with `env` on top of a clean environment. */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", entry, ...args], {
    cwd: root,
    // `tollgate serve`'s gateway default port is fixed (8081): a free one unless a test names it.
    env: { ...cleanEnv(), TOLLGATE_GATEWAY_ADDRESS: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs `tollgate <args>` to its end (killed after `timeoutMs`, then code null). */
export async function cli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 25_000,
): Promise<Ran> {
  const child = spawnCli(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((done) => child.once("close", done));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A server for the CLI to talk to, and a typed client to check what the CLI did. */
export interface CliServer {
  server: TollgateServer;
  /** TOLLGATE_ADDRESS and TOLLGATE_API_KEY for this server. */
  env: Record<string, string>;
  /** `tollgate <args>` against this server. */
  run(args: readonly string[], env?: Record<string, string>): Promise<Ran>;
  tg: TollgateClient;
  dispose(): Promise<void>;
}

/** A keyed server on a free loopback port, on `store` (default: a fresh memory store). */
export async function serveForCli(
  options: { store?: LedgerStore; server?: Partial<TollgateServerOptions> } = {},
): Promise<CliServer> {
  const server = await startTollgateServer(serverOptions(options.store, options.server));
  const env = { TOLLGATE_ADDRESS: server.address, TOLLGATE_API_KEY: apiKey };
  const tg = createClient({ address: server.address, apiKey });
  return {
    server,
    env,
    run: (args, more = {}) => cli(args, { ...env, ...more }),
    tg,
    async dispose() {
      tg.close();
      await server.shutdown();
    },
  };
}

/** The options of a CLI test's server: keyed, quiet, on a free loopback port unless told. */
export function serverOptions(
  store: LedgerStore = new MemoryLedgerStore(),
  more: Partial<TollgateServerOptions> = {},
): TollgateServerOptions {
  return {
    store,
    address: "127.0.0.1:0",
    logLevel: "silent",
    apiKeys: [{ project: "cli-tests", keySha256: hashApiKey(apiKey) }],
    ...more,
  };
}

/** stdout parsed as one JSON document. */
export function json<T = Record<string, unknown>>(ran: Ran): T {
  return JSON.parse(ran.stdout) as T;
}

/** A CLI process that keeps running (`watch`): its output so far, and ways to wait on it. */
export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Complete stdout lines so far. */
  lines(): string[];
  /** Resolves once `predicate` holds for the output (polled), or rejects after `timeoutMs`. */
  until(predicate: (r: Running) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** The exit code, once it exits. */
  exited: Promise<number | null>;
}

/** Starts `tollgate <args>` and returns at once, capturing its output. */
export function startCli(args: readonly string[], env: Record<string, string>): Running {
  const child = spawnCli(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((done) => child.once("close", done));
  const running: Running = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    lines: () => stdout.split("\n").slice(0, -1),
    async until(predicate, what, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(running)) {
        if (child.exitCode !== null) {
          throw new Error(`exited ${child.exitCode} waiting for ${what}; stderr: ${stderr}`);
        }
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}; stdout: ${stdout}; stderr: ${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exited,
  };
  return running;
}
