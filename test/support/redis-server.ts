import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/** A redis-server this test run owns: safe to stop, restart or flush (never the shared 6379). */
export interface OwnRedis {
  url: string;
  port: number;
  /** Stops the server (SIGKILL when `crash` is set, as a fault would). */
  stop(options?: { crash?: boolean }): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it and deletes its data directory. */
  dispose(): Promise<void>;
}

/** Whether `port` can be listened on, on loopback, right now. */
export function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

/** How to start an own redis-server. */
export interface OwnRedisOptions {
  /** Persist every write (appendfsync always), so a restart finds the balances it had. */
  appendonly?: boolean;
  /** The port to listen on. Default: a free one. */
  port?: number;
  /** More `redis-server` arguments; relative paths are inside the server's own temp directory. */
  args?: readonly string[];
  /** `--requirepass`: the default user's password (the start-up PING sends it). */
  password?: string;
}

/**
 * Starts `redis-server` on a free loopback port, with its own temporary data directory. With
 * `appendonly` it persists every write (appendfsync always) so a restart finds the balances it
 * had, as a production Redis would.
 */
export async function startOwnRedis(options: OwnRedisOptions = {}): Promise<OwnRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "tollgate-redis-"));
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--dir",
    dir,
    "--appendonly",
    options.appendonly ? "yes" : "no",
    "--appendfsync",
    "always",
    ...(options.password === undefined ? [] : ["--requirepass", options.password]),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn("redis-server", args, { stdio: "ignore" });
    await waitForPing(port, options.password);
  };
  const stop = async ({ crash = false } = {}) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill(crash ? "SIGKILL" : "SIGTERM");
    await exited;
  };
  try {
    await start();
  } catch (error) {
    // A server that never answered must not outlive the test run, nor its data directory.
    await stop({ crash: true });
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(port: number, password?: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({
      port,
      host: "127.0.0.1",
      password,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`redis-server on ${port} did not start`, { cause: error });
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}
