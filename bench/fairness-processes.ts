import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";

/**
 * The processes `npm run bench:fairness` starts and always stops: its own redis-server (never the
 * shared 6379 one, which it would have to fill with 200,000 holds), a real tollgate server
 * (`server/main.ts`, as `npm start` runs it), and project B's spender (fairness-spender.ts).
 */

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** A child process's end: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A free TCP port on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no free port")),
      );
    });
  });
}

export interface OwnRedis {
  url: string;
  stop(): Promise<void>;
}

/** redis-server on a free loopback port, no persistence, in a temporary directory of its own. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "tollgate-fairness-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const child = spawn("redis-server", [...args, "--dir", dir], { stdio: "ignore" });
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      retryStrategy: () => null,
    });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      return { url: `redis://127.0.0.1:${port}`, stop };
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw new Error(`redis-server on ${port} did not start`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

export interface ServerProcess {
  address: string;
  pid: number;
  /** The last lines the server logged (warn and above), for a failure's report. */
  recentLog(): string[];
  stop(): Promise<void>;
}

/**
 * `server/main.ts` under tsx in a process of its own, with only the given tollgate settings, and
 * fairness-probe.ts preloaded: it samples the server's event-loop delay and CPU into `probeFile`.
 */
export async function startServer(
  settings: Record<string, string>,
  probeFile: string,
): Promise<ServerProcess> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("TOLLGATE_") && k !== "REDIS_URL" && k !== "REDIS_CLUSTER",
    ),
  );
  const probe = fileURLToPath(new URL("./fairness-probe.ts", import.meta.url));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--import", probe, join(repoRoot, "server/main.ts")],
    {
      cwd: repoRoot,
      env: { ...env, ...settings, FAIRNESS_PROBE_FILE: probeFile },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const log: string[] = [];
  const keep = (line: string) => {
    log.push(line);
    if (log.length > 50) log.shift();
  };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", keep);
  const stderr = createInterface({ input: child.stderr as NodeJS.ReadableStream });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the server printed no banner")), 30_000);
      stderr.on("line", (line) => {
        keep(line);
        const match = /^tollgate serving gRPC on (\S+) /.exec(line);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}) before its banner:\n${log.join("\n")}`));
      });
    });
    return {
      address,
      pid: child.pid ?? 0,
      recentLog: () => [...log],
      stop: () => stopChild(child),
    };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/** One of B's spends: when it started (epoch ms), how long it took, and whether it succeeded. */
export interface Sample {
  phase: string;
  atMs: number;
  ms: number;
  ok: boolean;
}

/** What the spender reports when stopped. */
export interface SpenderResult {
  samples: Sample[];
  errors: string[];
  /** PINGs to Redis on the spender's own connection, every 10 ms while a phase runs. */
  pings: Sample[];
}

export interface Spender {
  /** Spends one at a time, each sample labelled `phase`, until the next command. */
  run(phase: string): Promise<void>;
  /** Finishes the spend in flight and waits. */
  pause(): Promise<void>;
  /** Finishes the spend in flight, and resolves with every sample; the process exits. */
  finish(): Promise<SpenderResult>;
  kill(): Promise<void>;
}

/**
 * fairness-spender.ts in a process of its own, so that the bench's other work (decoding A's
 * 1,000-row pages, polling Redis) can never stall the event loop that times B's spends.
 */
export async function startSpender(settings: {
  address: string;
  apiKey: string;
  walletId: string;
  redisUrl: string;
  probeFile: string;
}): Promise<Spender> {
  const entry = fileURLToPath(new URL("./fairness-spender.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    env: {
      ...process.env,
      FAIRNESS_SPENDER: JSON.stringify(settings),
      FAIRNESS_PROBE_FILE: settings.probeFile,
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const replies: Array<{ resolve(line: string): void; reject(error: Error): void }> = [];
  child.once("exit", (code) => {
    for (const reply of replies.splice(0)) reply.reject(new Error(`spender exited (${code})`));
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) =>
    replies.shift()?.resolve(line),
  );
  const ask = (command: string) =>
    new Promise<string>((resolve, reject) => {
      replies.push({ resolve, reject });
      child.stdin?.write(`${command}\n`);
    });
  await ask("ready");
  return {
    run: async (phase) => {
      await ask(`run ${phase}`);
    },
    pause: async () => {
      await ask("pause");
    },
    finish: async () => JSON.parse(await ask("finish")) as SpenderResult,
    kill: () => stopChild(child, 2_000),
  };
}
