import { afterEach, describe, expect, it } from "vitest";
import type { Charge } from "../../gen/es/tollgate/v1/charge_pb.js";
import {
  type Event,
  EventKind,
  type WatchEventsResponse,
} from "../../gen/es/tollgate/v1/event_service_pb.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import { until } from "../support/eventually.js";
import { type HttpHarness, startHttpHarness } from "./harness.js";

const key = "resume-key-0123456789";

const lineKinds = new Set([
  EventKind.SPEND,
  EventKind.CAPTURE,
  EventKind.VOID,
  EventKind.EXPIRE,
  EventKind.REFILL,
  EventKind.ALLOCATION,
]);

/**
 * The events issue's end-to-end scenario over the Connect protocol: a monitor subscribes, 100
 * concurrent spends and a top-up happen, the stream is cut mid-way and resumed with the last
 * cursor, and the events received equal the receipt lines exactly, thresholds crossed once each.
 */
describe.each(stores)("WatchEvents over Connect, cut and resumed ($name store)", ({ open }) => {
  let h: HttpHarness | undefined;
  let opened: StoreUnderTest | undefined;
  afterEach(async () => {
    await h?.close();
    await opened?.cleanup();
  });

  it("delivers every committed line once, thresholds once each", async () => {
    opened = open();
    const harness = await startHttpHarness({
      store: opened.store,
      apiKeys: [{ project: "resume", keySha256: hashApiKey(key) }],
    });
    h = harness;
    const wallets = harness.wallets("connect+json", key);
    const events = harness.events("connect+json", key);
    const created = await wallets.createWallet({ requestId: "root", name: "task", budget: 1000n });
    const walletId = created.wallet?.id ?? "";

    const received: Event[] = [];
    let cursor = "";
    const watch = (signal: AbortSignal) =>
      (async () => {
        const stream = events.watchEvents({ walletId, after: cursor }, { signal });
        for await (const message of stream as AsyncIterable<WatchEventsResponse>) {
          if (message.event) {
            received.push(message.event);
            cursor = message.event.cursor;
          } else {
            cursor = message.checkpoint;
          }
        }
      })().catch(() => {});

    const first = new AbortController();
    const firstRun = watch(first.signal);
    await until(() => cursor !== "", "the checkpoint");
    const spends = Array.from({ length: 100 }, (_, i) =>
      wallets.spend({ walletId, amount: 8n, service: "llm", requestId: `s-${i}` }),
    );
    await until(() => received.length >= 20, "some events before the cut");
    first.abort();
    await firstRun;
    await Promise.all(spends);
    await wallets.addCredits({ walletId, amount: 200n, requestId: "top-up" });

    const second = new AbortController();
    const secondRun = watch(second.signal);
    await until(
      () => received.some((e) => e.kind === EventKind.REFILL),
      "the top-up's event after resuming",
    );
    second.abort();
    await secondRun;

    const lines: Charge[] = [];
    for (let pageToken = ""; ; ) {
      const page = await harness
        .receipts("connect+json", key)
        .listCharges({ walletId, includeDescendants: true, pageSize: 1000, pageToken });
      lines.push(...page.charges);
      pageToken = page.nextPageToken;
      if (pageToken === "") break;
    }
    const sequences = received.map((e) => e.sequence);
    expect(sequences).toEqual(sequences.map((_, i) => (sequences[0] ?? 0n) + BigInt(i)));
    const delivered = received.filter((e) => lineKinds.has(e.kind)).map((e) => e.charge);
    expect(delivered.map((c) => c?.id)).toEqual(lines.map((l) => l.id));
    expect(delivered.map((c) => c?.hash)).toEqual(lines.map((l) => l.hash));
    expect(
      received.filter((e) => e.kind === EventKind.THRESHOLD_CROSSED).map((e) => e.thresholdPercent),
    ).toEqual([50, 80]);
  });
});
