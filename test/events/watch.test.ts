import { afterEach, describe, expect, it } from "vitest";
import type { Charge, WalletEvent } from "../../client/index.js";
import { startTcpProxy, type TcpProxy } from "../client/tcp-proxy.js";
import { storeFactories } from "../conformance/harness.js";
import { collectEvents, type ServedEvents, serveEvents, until } from "./served-events.js";

/** Every line of a tree, oldest first. */
async function treeLines(served: ServedEvents, rootId: string): Promise<Charge[]> {
  const root = await served.tg.wallets.get(rootId);
  const lines: Charge[] = [];
  for await (const page of root.listCharges({ includeDescendants: true, pageSize: 1000 })) {
    lines.push(...page);
  }
  return lines;
}

const lineKinds = new Set(["SPEND", "CAPTURE", "VOID", "EXPIRE", "REFILL", "ALLOCATION"]);

describe.each(storeFactories)("WatchEvents on $name", (factory) => {
  let served: ServedEvents | undefined;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await served?.dispose();
    proxy = undefined;
    served = undefined;
  });

  it("delivers every committed line exactly once across a cut connection, thresholds once each", async () => {
    served = await serveEvents(factory);
    proxy = await startTcpProxy(served.server.port);
    const task = await served.tg.wallets.create({ name: "task", budget: 1000 });
    const watcher = served.client({ address: proxy.address });
    const reconnects: string[] = [];
    const watch = (await watcher.wallets.get(task.id)).watch({
      onReconnect: ({ error }) => reconnects.push(error.code.toString()),
    });
    const seen = collectEvents(watch);
    // The watch has begun once its checkpoint arrived: nothing committed after is missed.
    await until(() => watch.lastCursor !== "", "the watch's checkpoint");

    const spends = Array.from({ length: 100 }, (_, i) =>
      task.spend(8, { service: i % 2 ? "search" : "llm", metadata: { agent: `a${i % 3}` } }),
    );
    await until(() => seen.events.length >= 20, "some events before the cut");
    proxy.cut();
    await Promise.all(spends);
    await task.addCredits(200);
    const lines = await treeLines(served, task.id);
    await until(
      () => seen.events.some((e) => e.kind === "REFILL"),
      "the top-up's event after the reconnect",
    );
    watch.close();
    await seen.done;

    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    const sequences = seen.events.map((e) => e.sequence);
    expect(new Set(sequences).size).toBe(sequences.length);
    expect(sequences).toEqual([...sequences].sort((a, b) => (a < b ? -1 : 1)));
    const delivered = seen.events.filter((e) => lineKinds.has(e.kind));
    expect(delivered.map((e) => e.charge?.id)).toEqual(lines.map((l) => l.id));
    expect(delivered.map((e) => e.charge)).toEqual(lines);
    const thresholds = seen.events
      .filter((e) => e.kind === "THRESHOLD_CROSSED")
      .map((e) => e.thresholdPercent);
    expect(thresholds).toEqual([50, 80]);
    // The events carry the balances right after each step; the last is the top-up's.
    const last = seen.events.at(-1) as WalletEvent;
    expect(last.balances).toMatchObject({ budget: 1200n, spent: 800n, available: 400n });
  });

  it("resumes a watch from a cursor with every later event, once", async () => {
    served = await serveEvents(factory);
    const task = await served.tg.wallets.create({ name: "task", budget: 100 });
    const first = await task.listEvents();
    expect(first.events.map((e) => e.kind)).toEqual(["WALLET_CREATED"]);
    await task.spend(10, { service: "llm" });
    await task.spend(20, { service: "llm" });
    const controller = new AbortController();
    const seen = collectEvents(task.watch({ after: first.nextCursor, signal: controller.signal }));
    await until(() => seen.events.length === 2, "the two spends");
    await task.spend(30, { service: "llm" });
    await until(() => seen.events.length >= 4, "the live spend and its alert");
    controller.abort();
    await seen.done;
    expect(seen.events.map((e) => [e.sequence, e.kind, e.charge?.amount])).toEqual([
      [2n, "SPEND", 10n],
      [3n, "SPEND", 20n],
      [4n, "SPEND", 30n],
      [5n, "THRESHOLD_CROSSED", undefined],
    ]);
    expect(seen.events.at(-1)?.thresholdPercent).toBe(50);
  });

  it("watches every tree of the project, and only the caller's", async () => {
    served = await serveEvents(factory);
    const watch = served.tg.events.watch({ kinds: ["WALLET_CREATED", "SPEND"] });
    const seen = collectEvents(watch);
    await until(() => watch.lastCursor !== "", "the watch's checkpoint");
    const a = await served.tg.wallets.create({ name: "a", budget: 100 });
    const b = await served.tg.wallets.create({ name: "b", budget: 100 });
    const stranger = served.client({ key: "events-other-key-0123456789" });
    const theirs = await stranger.wallets.create({ name: "theirs", budget: 100 });
    await theirs.spend(1, { service: "llm" });
    await a.spend(1, { service: "llm" });
    await b.spend(2, { service: "llm" });
    await until(() => seen.events.length >= 4, "both trees' events");
    const resumeFrom = watch.lastCursor;
    watch.close();
    await seen.done;
    expect(seen.events.map((e) => `${e.rootId === a.id ? "a" : "b"}:${e.kind}`).sort()).toEqual(
      ["a:SPEND", "a:WALLET_CREATED", "b:SPEND", "b:WALLET_CREATED"].sort(),
    );
    expect(seen.events.every((e) => e.rootId !== theirs.id)).toBe(true);

    // Resumed: only what committed after, from every tree, including a new one.
    await a.spend(3, { service: "llm" });
    const c = await served.tg.wallets.create({ name: "c", budget: 100 });
    const resumed = served.tg.events.watch({
      after: resumeFrom,
      kinds: ["WALLET_CREATED", "SPEND"],
    });
    const again = collectEvents(resumed);
    await until(() => again.events.length >= 2, "the resumed events");
    resumed.close();
    await again.done;
    expect(again.events.map((e) => `${e.rootId}:${e.kind}`).sort()).toEqual(
      [`${a.id}:SPEND`, `${c.id}:WALLET_CREATED`].sort(),
    );
  });

  it("lists events in pages that continue exactly where the last ended", async () => {
    served = await serveEvents(factory);
    const task = await served.tg.wallets.create({ name: "task", budget: 1000 });
    const child = await task.createChild({ name: "researcher", budget: 100 });
    for (let i = 0; i < 12; i++) await child.spend(1, { service: "search" });
    const all: WalletEvent[] = [];
    let after = "";
    for (let pages = 0; pages < 10; pages++) {
      const page = await task.listEvents({ after, pageSize: 5 });
      all.push(...page.events);
      if (page.events.length === 0) break;
      after = page.nextCursor;
    }
    expect(all.map((e) => e.sequence)).toEqual(all.map((_, i) => BigInt(i + 1)));
    expect(all.filter((e) => e.kind === "SPEND")).toHaveLength(12);
    // A child's watch sees its own subtree only.
    const own = await child.listEvents({ pageSize: 100 });
    expect(own.events.every((e) => e.walletId === child.id)).toBe(true);
    expect(own.events.map((e) => e.kind)).toEqual(["WALLET_CREATED", ...Array(12).fill("SPEND")]);
  });
});
