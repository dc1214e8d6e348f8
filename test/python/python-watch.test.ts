import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { type Charge, createClient, type TollgateClient, type Wallet } from "../../client/index.js";
import { apiKeysFromPairs } from "../../server/auth/api-keys.js";
import {
  startTollgateServer,
  type TollgateServer,
  type TollgateServerOptions,
} from "../../server/server.js";
import type { LedgerStore, StoreOptions } from "../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";
import { createRedisClient } from "../../server/store/redis/connect.js";
import { RedisLedgerStore } from "../../server/store/redis/redis-ledger-store.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";
import { apiKey, python, pythonDir, usePythonSide } from "./python-env.js";

const py = usePythonSide();
const probeScript = fileURLToPath(new URL("./watch_probe.py", import.meta.url));

/**
 * A store that outlives the servers started over it, as a restart would find it: Redis through a
 * new connection under the same key prefix for each server; the memory store kept open across
 * servers (a server's shutdown closes its store, so each server gets a handle whose close is a
 * no-op).
 */
interface LastingStore {
  forServer(): LedgerStore;
  dispose(): Promise<void>;
}

const lastingStores: { name: string; open(options?: StoreOptions): LastingStore }[] = [
  {
    name: "memory",
    open(options) {
      const inner = new MemoryLedgerStore(options);
      const handle = new Proxy(inner, {
        get(target, key) {
          if (key === "close") return async () => {};
          const value = Reflect.get(target, key, target) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      return { forServer: () => handle, dispose: () => inner.close() };
    },
  },
  {
    name: "redis",
    open(options) {
      const url = inject("redisUrl");
      const keyPrefix = testKeyPrefix();
      return {
        forServer: () => new RedisLedgerStore(createRedisClient(url), { ...options, keyPrefix }),
        async dispose() {
          const redis = new Redis(url);
          try {
            await deleteKeys(redis, keyPrefix);
          } finally {
            redis.disconnect();
          }
        },
      };
    },
  },
];

interface PyEvent {
  cursor: string;
  kind: string;
  wallet_id: string;
  root_id: string;
  sequence: number;
  is_alert: boolean;
  threshold_percent: number | null;
  charge: { id: string; amount: number; service: string; hash: string; prev_hash: string } | null;
  balances: { budget: number; spent: number; available: number; total_spent: number };
}

interface PyError {
  class: string;
  code: string;
  reason: string;
  metadata: Record<string, string>;
}

/** One line the probe printed (see watch_probe.py). */
interface ProbeLine {
  ready?: string;
  event?: PyEvent;
  reconnect?: { attempt: number; code: string; reason: string; after: string };
  error?: PyError;
  closed?: string;
  page?: { events: PyEvent[]; next: string };
}

/** watch_probe.py running against `address`, its lines as they come. */
interface Probe {
  lines: ProbeLine[];
  events(): PyEvent[];
  /** Waits until `check` holds over the lines so far (fails after 20 s, with the output). */
  until(check: (lines: ProbeLine[]) => boolean, what: string): Promise<void>;
  /** Closes its stdin (the watch closes from another thread), and waits for it to exit. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Python processes a test started; any still running after it are killed. */
const running: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

function startProbe(address: string, args: string[]): Probe {
  const child = spawn(python, [probeScript, ...args], {
    cwd: pythonDir,
    env: py.env(address),
  });
  running.push(child);
  const lines: ProbeLine[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(JSON.parse(line) as ProbeLine);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const output = () =>
    `probe output:\n${lines.map((l) => JSON.stringify(l)).join("\n")}\n${stderr}`;
  return {
    lines,
    events: () => lines.flatMap((l) => (l.event ? [l.event] : [])),
    async until(check, what) {
      const deadline = Date.now() + 20_000;
      while (!check(lines)) {
        if (Date.now() > deadline || exitCode !== undefined) {
          throw new Error(`timed out waiting for ${what} (exit ${exitCode}); ${output()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      child.stdin.end();
      const code = await Promise.race([
        exited,
        new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 10_000)),
      ]);
      if (code === "hung") throw new Error(`the probe did not end after close(); ${output()}`);
      if (code !== 0) throw new Error(`the probe exited ${code}; ${output()}`);
      return code;
    },
    exited,
  };
}

/** Every line of a tree, oldest first, as the TypeScript client reads them. */
async function treeLines(root: Wallet): Promise<Charge[]> {
  const lines: Charge[] = [];
  for await (const page of root.listCharges({ includeDescendants: true, pageSize: 1000 })) {
    lines.push(...page);
  }
  return lines;
}

const lineKinds = new Set(["SPEND", "CAPTURE", "VOID", "EXPIRE", "REFILL", "ALLOCATION"]);

/** The events' sequences are consecutive from the first: nothing repeated, nothing skipped. */
function expectConsecutive(events: PyEvent[]): void {
  const sequences = events.map((e) => e.sequence);
  const first = sequences[0] ?? 0;
  expect(sequences).toEqual(sequences.map((_, i) => first + i));
}

describe.each(lastingStores)("the Python client watching a real server ($name store)", (kind) => {
  let lasting: LastingStore | undefined;
  const servers: TollgateServer[] = [];
  const clients: TollgateClient[] = [];

  const serve = async (address = "127.0.0.1:0", options: Partial<TollgateServerOptions> = {}) => {
    const server = await startTollgateServer({
      store: (lasting as LastingStore).forServer(),
      address,
      logLevel: "silent",
      apiKeys: apiKeysFromPairs(`py=${apiKey}`),
      ...options,
    });
    servers.push(server);
    return server;
  };
  const connect = (address: string) => {
    const tg = createClient({
      address,
      apiKey,
      retry: { maxAttempts: 8, initialBackoffMs: 20, maxBackoffMs: 200 },
    });
    clients.push(tg);
    return tg;
  };

  afterEach(async () => {
    for (const tg of clients.splice(0)) tg.close();
    for (const server of servers.splice(0)) await server.shutdown();
    await lasting?.dispose();
    lasting = undefined;
  });

  it("receives a TypeScript client's spends in order, with every line and each threshold once", async () => {
    lasting = kind.open();
    const server = await serve();
    const tg = connect(server.address);
    const task = await tg.wallets.create({ name: "task", budget: 1000 });
    const probe = startProbe(server.address, ["--wallet", task.id]);
    // Without `after` the watch starts at the next event committed: wait for its checkpoint.
    await probe.until((l) => l.some((x) => x.ready), "the watch's checkpoint");

    const researcher = await task.createChild({ name: "researcher", budget: 400 });
    for (let i = 0; i < 10; i++) await researcher.spend(30, { service: "web_search" });
    for (let i = 0; i < 20; i++) await task.spend(30, { service: "llm" });
    // The last spend takes the task's last own credits: WALLET_EXHAUSTED is its last event.
    await probe.until(
      () => probe.events().some((e) => e.kind === "WALLET_EXHAUSTED"),
      "the 30 spends and the task's exhaustion",
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more should come
    await probe.stop();

    const events = probe.events();
    expectConsecutive(events);
    expect(events[0]).toMatchObject({ kind: "WALLET_CREATED", wallet_id: researcher.id });
    expect(new Set(events.map((e) => e.root_id))).toEqual(new Set([task.id]));
    // Every line of the tree, in commit order, as the TypeScript client lists them.
    const lines = await treeLines(task);
    const delivered = events.filter((e) => lineKinds.has(e.kind));
    expect(delivered.map((e) => e.charge?.id)).toEqual(lines.map((l) => l.id));
    expect(delivered.map((e) => [e.charge?.amount, e.charge?.service])).toEqual(
      lines.map((l) => [Number(l.amount), l.service]),
    );
    // The hash chain as Python received it is the tree's.
    expect(delivered.map((e) => [e.charge?.hash, e.charge?.prev_hash])).toEqual(
      lines.map((l) => [l.hash, l.prevHash]),
    );
    delivered.slice(1).forEach((e, i) => {
      expect(e.charge?.prev_hash).toBe(delivered[i]?.charge?.hash);
    });
    // Each alert once: the researcher's 50% (200 of 400), the task's 50% and 80% of 1000 as the
    // subtree's debits reach 500 and 800, and the task's own 600 (1000 less the 400 carved out)
    // used up by its last spend.
    const alerts = events.filter((e) => e.is_alert);
    expect(alerts.map((e) => [e.kind, e.wallet_id, e.threshold_percent])).toEqual([
      ["THRESHOLD_CROSSED", researcher.id, 50],
      ["THRESHOLD_CROSSED", task.id, 50],
      ["THRESHOLD_CROSSED", task.id, 80],
      ["WALLET_EXHAUSTED", task.id, null],
    ]);
    expect(events.filter((e) => !e.is_alert).every((e) => e.threshold_percent === null)).toBe(true);
    const last = events.at(-1) as PyEvent;
    expect(last.balances).toEqual({ budget: 1000, spent: 600, available: 0, total_spent: 900 });
    // The probe's final cursor is the last event's, and the server has nothing after it.
    expect(last.kind).toBe("WALLET_EXHAUSTED");
    const closed = probe.lines.find((l) => l.closed !== undefined)?.closed;
    expect(closed).toBe(last.cursor);
    expect((await task.listEvents({ after: closed })).events).toEqual([]);
  });

  it("resumes across server restarts on the same port, with no event repeated or missed", async () => {
    lasting = kind.open();
    const first = await serve();
    const address = `127.0.0.1:${first.port}`;
    const tg = connect(address);
    const task = await tg.wallets.create({ name: "task", budget: 1000 });
    const probe = startProbe(address, ["--wallet", task.id]);
    await probe.until((l) => l.some((x) => x.ready), "the watch's checkpoint");

    // A restart before any event: the watch resumes after its checkpoint.
    await first.shutdown();
    const second = await serve(address);
    expect(second.port).toBe(first.port);
    for (let i = 0; i < 15; i++) await task.spend(20, { service: "llm" });
    await probe.until(() => probe.events().length >= 15, "the first 15 spends");

    // A restart between events, with spends committed before the watch is back.
    await second.shutdown();
    await serve(address);
    for (let i = 0; i < 15; i++) await task.spend(40, { service: "search" });
    const all = await task.listEvents({ pageSize: 1000 });
    const expected = all.events.slice(1); // after WALLET_CREATED, which preceded the watch
    await probe.until(
      () => probe.events().length >= expected.length,
      `all ${expected.length} events`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more should come
    await probe.stop();

    const events = probe.events();
    expectConsecutive(events);
    expect(events.map((e) => [e.sequence, e.kind, e.cursor])).toEqual(
      expected.map((e) => [Number(e.sequence), e.kind, e.cursor]),
    );
    const lines = await treeLines(task);
    expect(events.filter((e) => e.charge).map((e) => e.charge?.id)).toEqual(lines.map((l) => l.id));
    expect(lines).toHaveLength(30);
    expect(
      events.filter((e) => e.kind === "THRESHOLD_CROSSED").map((e) => e.threshold_percent),
    ).toEqual([50, 80]);
    // It reconnected after each shutdown (UNAVAILABLE), resuming after the cursor it had.
    const reconnects = probe.lines.flatMap((l) => (l.reconnect ? [l.reconnect] : []));
    expect(reconnects.length).toBeGreaterThanOrEqual(2);
    expect(reconnects.every((r) => r.code === "UNAVAILABLE" && r.after !== "")).toBe(true);
    expect(probe.lines.some((l) => l.error)).toBe(false);
  });

  it("resumes a watcher the server ended for reading too slowly (WATCHER_TOO_SLOW), losing nothing", async () => {
    lasting = kind.open();
    const server = await serve("127.0.0.1:0", { watchStallMs: 1000 });
    const tg = connect(server.address);
    const task = await tg.wallets.create({
      name: "task",
      budget: 1_000_000,
      alertThresholds: [1000],
    });
    // After its first event the probe stops reading for 4 s, so the server's buffer fills.
    const probe = startProbe(server.address, [
      "--wallet",
      task.id,
      "--stall-after",
      "1",
      "--stall-s",
      "4",
      "--small-buffers",
    ]);
    await probe.until((l) => l.some((x) => x.ready), "the watch's checkpoint");
    const metadata = { note: "x".repeat(250) };
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 150; i++) await task.spend(1, { service: "llm", metadata });
      }),
    );
    await probe.until(() => probe.events().length >= 1200, "all 1200 spends");
    await probe.stop();
    const events = probe.events();
    expectConsecutive(events);
    expect(events).toHaveLength(1200);
    expect(events.at(-1)?.balances.total_spent).toBe(1200);
    const reconnects = probe.lines.flatMap((l) => (l.reconnect ? [l.reconnect] : []));
    expect(reconnects.map((r) => [r.code, r.reason])).toContainEqual([
      "ABORTED",
      "WATCHER_TOO_SLOW",
    ]);
  });

  it("raises EventsExpiredError for a cursor older than the server retains", async () => {
    // Redis trims whole stream nodes (`MAXLEN ~`, 100 entries each), so keep well past one node.
    lasting = kind.open({ eventRetention: { maxEventsPerTree: 5 } });
    const server = await serve();
    const tg = connect(server.address);
    const task = await tg.wallets.create({ name: "task", budget: 10_000, alertThresholds: [1000] });
    const { nextCursor } = await task.listEvents();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 25; i++) await task.spend(1, { service: "llm" });
      }),
    );
    const oldest = (await task.listEvents({ pageSize: 1 })).events[0]?.sequence ?? 0n;
    expect(oldest).toBeGreaterThan(2n);

    const watch = startProbe(server.address, ["--wallet", task.id, "--after", nextCursor]);
    await watch.until((l) => l.some((x) => x.error), "the watch's error");
    expect(await watch.exited).toBe(0);
    const expired: PyError = {
      class: "EventsExpiredError",
      code: "OUT_OF_RANGE",
      reason: "EVENTS_EXPIRED",
      metadata: { root_id: task.id, oldest_sequence: String(oldest) },
    };
    expect(watch.lines.find((l) => l.error)?.error).toEqual(expired);
    expect(watch.events()).toEqual([]);
    expect(watch.lines.some((l) => l.reconnect)).toBe(false);

    const list = startProbe(server.address, ["--list", "--wallet", task.id, "--after", nextCursor]);
    expect(await list.exited).toBe(0);
    expect(list.lines.map((l) => l.error)).toEqual([expired]);
  });

  it("fails NotFoundError for a wallet that does not exist, watching or listing", async () => {
    lasting = kind.open();
    const server = await serve();
    const unknown = `w_${randomBytes(12).toString("hex")}`;
    const notFound: PyError = {
      class: "NotFoundError",
      code: "NOT_FOUND",
      reason: "WALLET_NOT_FOUND",
      metadata: { wallet_id: unknown },
    };
    for (const args of [
      ["--wallet", unknown],
      ["--list", "--wallet", unknown],
    ]) {
      const probe = startProbe(server.address, args);
      expect(await probe.exited).toBe(0);
      expect(probe.lines.filter((l) => !l.ready)).toEqual([{ error: notFound }]);
    }
  });
});

describe("examples/python/watch.py", () => {
  const servers: TollgateServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.shutdown();
  });

  it("prints one line per event with running totals and alerts marked, and the cursor on Ctrl-C", async () => {
    const server = await startTollgateServer({
      store: new MemoryLedgerStore(),
      address: "127.0.0.1:0",
      logLevel: "silent",
      apiKeys: apiKeysFromPairs(`py=${apiKey}`),
    });
    servers.push(server);
    const tg = createClient({ address: server.address, apiKey });
    try {
      const task = await tg.wallets.create({ name: "task", budget: 100 });
      const { nextCursor } = await task.listEvents();
      const child = spawn(python, ["watch.py", task.id, "--after", nextCursor], {
        cwd: pythonDir,
        env: py.env(server.address),
      });
      running.push(child);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      for (const amount of [30, 30, 30, 10]) await task.spend(amount, { service: "web_search" });

      const id = task.id;
      const expected = [
        `#2 SPEND 30 web_search ${id}: spent 30, available 70, subtree 30 | seen: 30 in 1 debit`,
        `#3 SPEND 30 web_search ${id}: spent 60, available 40, subtree 60 | seen: 60 in 2 debits`,
        `!! #4 THRESHOLD_CROSSED 50% ${id}: subtree 60 of budget 100 | seen: 60 in 2 debits`,
        `#5 SPEND 30 web_search ${id}: spent 90, available 10, subtree 90 | seen: 90 in 3 debits`,
        `!! #6 THRESHOLD_CROSSED 80% ${id}: subtree 90 of budget 100 | seen: 90 in 3 debits`,
        `#7 SPEND 10 web_search ${id}: spent 100, available 0, subtree 100 | seen: 100 in 4 debits`,
        `!! #8 WALLET_EXHAUSTED ${id}: spent 100 of budget 100, available 0 | seen: 100 in 4 debits`,
        `!! #9 THRESHOLD_CROSSED 100% ${id}: subtree 100 of budget 100 | seen: 100 in 4 debits`,
      ];
      const deadline = Date.now() + 20_000;
      while (stdout.split("\n").length <= expected.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(stdout.split("\n")).toEqual([...expected, ""]);
      const resume = /^stopped; resume with --after (\S+)$/m.exec(stderr)?.[1];
      expect(resume, stderr).toBeDefined();
      // The cursor printed is right after the last event: resuming there gives nothing again.
      const after = await task.listEvents({ after: resume });
      expect(after.events).toEqual([]);
      expect(after.nextCursor).toBe(resume);
    } finally {
      tg.close();
    }
  });
});
