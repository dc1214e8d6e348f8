import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createClient } from "../../client/index.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { createRedisClient } from "../../server/store/redis/connect.js";
import { treeKey } from "../../server/store/redis/keys.js";
import { RedisLedgerStore } from "../../server/store/redis/redis-ledger-store.js";
import { redisSpace } from "../client/support.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";
import {
  apiKey,
  type CliServer,
  cli,
  json,
  type Running,
  serveForCli,
  serverOptions,
  startCli,
} from "./support.js";

/**
 * `tollgate watch` and `tollgate audit` as processes against a real server on Redis (a server
 * can restart on the same data, and a line can be edited by hand).
 */

const resumeHint = /resume with --after (\S+)/;

describe("tollgate watch and audit", { timeout: 90_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A server on its own Redis key prefix; `restart()` serves the same data on the same port. */
  async function serveOnRedis() {
    const space = redisSpace();
    let server: TollgateServer = await startTollgateServer(
      serverOptions(space.store(), { shutdownGraceMs: 200 }),
    );
    const address = server.address;
    cleanups.push(async () => {
      await server.shutdown();
      await space.cleanup();
    });
    return {
      address,
      env: { TOLLGATE_ADDRESS: address, TOLLGATE_API_KEY: apiKey },
      stop: () => server.shutdown(),
      async start() {
        server = await startTollgateServer(
          serverOptions(space.store(), { address, shutdownGraceMs: 200 }),
        );
      },
    };
  }

  /** A typed client (a second program spending while the CLI watches). */
  function client(address: string) {
    const tg = createClient({ address, apiKey });
    cleanups.push(() => tg.close());
    return tg;
  }

  function watchProcess(args: string[], env: Record<string, string>): Running {
    const running = startCli(["watch", ...args], env);
    cleanups.push(() => {
      if (running.child.exitCode === null) running.child.kill("SIGKILL");
    });
    return running;
  }

  const watching = (r: Running) => /^watching /m.test(r.stderr());
  const spends = (r: Running) => r.lines().filter((l) => /\bSPEND\b/.test(l));

  it("prints another client's spends with running totals, marks alerts, and exits 0 on SIGINT with the cursor", async () => {
    const served = await serveOnRedis();
    const tg = client(served.address);
    const task = await tg.wallets.create({ name: "task", budget: 100 });
    const researcher = await task.createChild({ name: "researcher", budget: 60 });
    await task.spend(5, { service: "llm" });

    const watch = watchProcess([task.id], served.env);
    await watch.until(watching, "the watch to start");
    expect(watch.stderr()).toContain(`watching ${task.id} (task): spent 5 of 100`);

    await researcher.spend(20, { service: "web_search", metadata: { agent: "r1" } });
    await task.spend(30, { service: "llm" }); // 55 of 100: crosses 50%
    await watch.until((r) => r.lines().length >= 3, "three events");
    const lines = watch.lines();
    expect(lines[0]).toMatch(
      new RegExp(
        `^ {2}\\S+Z\\s+SPEND\\s+${researcher.id}\\s+-20 web_search by r1\\s+\\[spent 25/100\\]$`,
      ),
    );
    expect(lines[1]).toMatch(
      new RegExp(`^ {2}\\S+Z\\s+SPEND\\s+${task.id}\\s+-30 llm\\s+\\[spent 55/100\\]$`),
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^! \\S+Z\\s+THRESHOLD_CROSSED\\s+${task.id}\\s+50% of budget spent \\(55 of 100\\)`,
      ),
    );

    watch.child.kill("SIGINT");
    expect(await watch.exited).toBe(0);
    const cursor = resumeHint.exec(watch.stderr())?.[1] ?? "";
    expect(cursor).not.toBe("");

    // Resuming after the printed cursor: only what came later, once.
    await researcher.spend(7, { service: "web_search" });
    const resumed = await cli(
      ["watch", task.id, "--after", cursor, "--count", "1", "--json"],
      served.env,
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    const events = resumed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: "SPEND",
      walletId: researcher.id,
      charge: { amount: "7", service: "web_search" },
      balances: { totalSpent: "27", budget: "60" },
      alert: false,
      watched: { walletId: task.id, spent: "62", budget: "100" },
    });
  });

  it("filters kinds, and prints NDJSON with --json", async () => {
    const served = await serveOnRedis();
    const tg = client(served.address);
    const task = await tg.wallets.create({ name: "task", budget: 10, alertThresholds: [50] });
    const watch = watchProcess([task.id, "--kinds", "alerts", "--json"], served.env);
    await watch.until(watching, "the watch to start");
    await task.spend(4, { service: "llm" });
    await task.spend(6, { service: "llm" }); // 100%: exhausted, and 50% crossed
    await watch.until((r) => r.lines().length >= 2, "two alerts");
    const events = watch
      .lines()
      .map((l) => JSON.parse(l) as { kind: string; alert: boolean; watched: object });
    expect(events.map((e) => e.kind)).toEqual(["WALLET_EXHAUSTED", "THRESHOLD_CROSSED"]);
    expect(events.every((e) => e.alert)).toBe(true);
    expect(events[1]?.watched).toEqual({ walletId: task.id, spent: "10", budget: "10" });
    watch.child.kill("SIGINT");
    expect(await watch.exited).toBe(0);

    const bad = await cli(["watch", task.id, "--kinds", "spend,bogus"], served.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('tollgate: --kinds: unknown event kind "bogus"\n');
  });

  it("survives a server restart on the same port and resumes without duplicate lines", async () => {
    const served = await serveOnRedis();
    const before = client(served.address);
    const task = await before.wallets.create({ name: "task", budget: 1000 });
    const watch = watchProcess([task.id], served.env);
    await watch.until(watching, "the watch to start");

    await task.spend(10, { service: "one" });
    await watch.until((r) => spends(r).length === 1, "the first spend");

    await served.stop();
    await watch.until((r) => /watch interrupted/.test(r.stderr()), "the reconnect notice");
    await served.start();

    const after = client(served.address);
    const again = await after.wallets.get(task.id);
    await again.spend(20, { service: "two" });
    await again.spend(30, { service: "three" });
    await watch.until((r) => spends(r).length >= 3, "the spends after the restart");
    // Give a duplicate the time to show up if the resume were wrong.
    await new Promise((r) => setTimeout(r, 500));
    expect(spends(watch).map((l) => /-(\d+ \w+)\s+\[spent (\d+)/.exec(l)?.slice(1))).toEqual([
      ["10 one", "10"],
      ["20 two", "30"],
      ["30 three", "60"],
    ]);
    expect(watch.stderr()).toMatch(/tollgate: watch interrupted \(UNAVAILABLE: .*\); reconnecting/);
    expect(watch.stderr()).toContain("tollgate: watch resumed");

    watch.child.kill("SIGINT");
    expect(await watch.exited).toBe(0);
  });

  it("exits 3 for an unknown wallet and 5 for a wrong key, like every command", async () => {
    const served = await serveOnRedis();
    const [missing, wrongKey] = await Promise.all([
      cli(["watch", "w_000000000000000000000000"], served.env),
      cli(["watch", "w_000000000000000000000000"], {
        ...served.env,
        TOLLGATE_API_KEY: "wrong-key-0123456789abcdef",
      }),
    ]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^tollgate: WALLET_NOT_FOUND: /);
    expect(wrongKey.code).toBe(5);
  });

  it("audits a clean tree (exit 0) and names the line edited by hand in Redis (exit 7)", async () => {
    const redisUrl = inject("redisUrl");
    const keyPrefix = testKeyPrefix();
    const redis = new Redis(redisUrl);
    const served: CliServer = await serveForCli({
      store: new RedisLedgerStore(createRedisClient(redisUrl), { keyPrefix }),
    });
    cleanups.push(async () => {
      await served.dispose();
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
    });
    const task = await served.tg.wallets.create({ name: "task", budget: 1000 });
    const child = await task.createChild({ name: "researcher", budget: 300 });
    await child.spend(45, { service: "web_search" });
    await task.spend(10, { service: "llm" });
    await child.spend(5, { service: "web_search" });

    const clean = await served.run(["audit", child.id]);
    expect(clean.stderr).toBe("");
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(
      new RegExp(`^audit of tree ${task.id}: \\d+ lines, 2 wallets$`, "m"),
    );
    expect(clean.stdout).toMatch(
      /^OK: the hash chain verifies and every total matches its lines$/m,
    );
    expect(json(await served.run(["audit", task.id, "--json"]))).toMatchObject({
      ok: true,
      rootId: task.id,
    });

    // Someone with write access to Redis changes what a line says it charged.
    let edited = "";
    for await (const page of child.listCharges()) {
      edited = page.find((line) => line.amount === 45n)?.id ?? edited;
    }
    expect(edited).not.toBe("");
    // Lines are stored compact under their id relative to the tree (amount is element 5).
    const key = treeKey(keyPrefix, task.id, "lines");
    const field = edited.slice(task.id.length + 1);
    const line = JSON.parse((await redis.hget(key, field)) ?? "null") as unknown[];
    expect(line[5]).toBe(45);
    line[5] = 4;
    await redis.hset(key, field, JSON.stringify(line));

    const broken = await served.run(["audit", task.id]);
    expect(broken.code).toBe(7);
    expect(broken.stderr).toMatch(
      new RegExp(
        `^tollgate: audit failed: line ${edited.replace(/\./g, "\\.")} \\(#\\d+ of \\d+ in tree ${task.id}\\): hash does not match the line's content\\n$`,
      ),
    );
    expect(broken.stdout).toMatch(/^hash chain: BROKEN at line /m);
    const report = json<{ ok: boolean; firstBreak: { lineId: string } }>(
      await served.run(["audit", task.id, "--json"]),
    );
    expect(report.ok).toBe(false);
    expect(report.firstBreak.lineId).toBe(edited);
  });
});
