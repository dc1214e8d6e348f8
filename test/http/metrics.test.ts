import { create } from "@bufbuild/protobuf";
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import { afterEach, describe, expect, inject, it } from "vitest";
import { CreateWalletRequestSchema } from "../../gen/es/tollgate/v1/wallet_service_pb.js";
import { WalletServiceClient } from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { bearer, call, failure, type Harness } from "../rpc/harness.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import { openStream } from "../rpc/stream-harness.js";
import { type HttpHarness, rejection, startHttpHarness, until } from "./harness.js";

const key = "metrics-key-0123456789";

/** The value of one series in a /metrics text (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every sample of `name` (exactly that metric), as label text -> value. */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) found.set(match[1] ?? "", Number(match[2]));
  }
  return found;
}

describe.each(stores)("/metrics ($name store)", ({ name, open }) => {
  let h: HttpHarness | undefined;
  let opened: StoreUnderTest | undefined;
  let grpc: WalletServiceClient | undefined;
  afterEach(async () => {
    grpc?.close();
    await h?.close();
    await opened?.cleanup();
    h = undefined;
    opened = undefined;
    grpc = undefined;
  });
  const start = async (maxSpendLabelPairs?: number) => {
    opened = open();
    h = await startHttpHarness({
      store: opened.store,
      apiKeys: [{ project: "alpha", keySha256: hashApiKey(key) }],
      metricsMaxSpendLabelPairs: maxSpendLabelPairs,
    });
    grpc = new WalletServiceClient(h.server.address, grpcCredentials.createInsecure());
    const { wallet } = await h
      .wallets("connect+proto", key)
      .createWallet(
        create(CreateWalletRequestSchema, { requestId: "root", name: "t", budget: 1000n }),
      );
    return { harness: h, client: grpc, walletId: wallet?.id ?? "" };
  };

  it("counts calls by method, code and transport, refusals, spends, store scripts and streams", async () => {
    const { harness, client, walletId } = await start();
    const spend = (requestId: string, amount: bigint, service = "search") => ({
      walletId,
      amount,
      service,
      metadata: {},
      requestId,
    });
    await call(client, client.spend, spend("g-1", 10n), bearer(key));
    await harness.wallets("connect+json", key).spend(spend("c-1", 20n));
    await harness.wallets("grpc-web", key).spend(spend("w-1", 30n, "llm"));
    await failure(call(client, client.spend, spend("g-big", 5000n), bearer(key)));
    await rejection(harness.wallets("connect+json", key).spend(spend("c-big", 5000n)));
    // A hold captured is a debit too.
    const { hold } = await harness
      .wallets("connect+json", key)
      .authorize({ walletId, amount: 50n, service: "llm", metadata: {}, requestId: "a-1" });
    await harness
      .wallets("connect+json", key)
      .capture({ holdId: hold?.id ?? "", amount: 40n, metadata: {}, requestId: "cap-1" });
    // A SpendStream operation, while the stream is open.
    const stream = openStream({ wallets: client } as unknown as Harness, bearer(key));
    await stream.send({ correlationId: 1, spend: spend("s-1", 1n) });

    const text = await harness.metrics();
    expect(sample(text, 'tollgate_calls_total{method="Spend",code="OK",transport="grpc"}')).toBe(1);
    expect(sample(text, 'tollgate_calls_total{method="Spend",code="OK",transport="connect"}')).toBe(
      1,
    );
    expect(
      sample(text, 'tollgate_calls_total{method="Spend",code="OK",transport="grpc-web"}'),
    ).toBe(1);
    for (const transport of ["grpc", "connect"]) {
      expect(
        sample(
          text,
          `tollgate_calls_total{method="Spend",code="FAILED_PRECONDITION",transport="${transport}"}`,
        ),
      ).toBe(1);
    }
    expect(
      sample(text, 'tollgate_calls_total{method="SpendStream.Spend",code="OK",transport="grpc"}'),
    ).toBe(1);
    expect(
      sample(
        text,
        'tollgate_call_duration_seconds_count{method="Spend",code="OK",transport="connect"}',
      ),
    ).toBe(1);
    expect(text).toMatch(
      /tollgate_call_duration_seconds_bucket\{le="0\.005",method="Spend",code="OK",transport="grpc"\} [01]/,
    );
    expect(sample(text, 'tollgate_refusals_total{reason="INSUFFICIENT_CREDITS"}')).toBe(2);
    // Spends: Spend on every transport, the SpendStream operation, and the capture.
    expect(sample(text, 'tollgate_spends_total{project="alpha",service="search"}')).toBe(3);
    expect(sample(text, 'tollgate_spends_total{project="alpha",service="llm"}')).toBe(2);
    expect(sample(text, 'tollgate_credits_spent_total{project="alpha",service="search"}')).toBe(31);
    expect(sample(text, 'tollgate_credits_spent_total{project="alpha",service="llm"}')).toBe(70);
    const spendScripts = sample(
      text,
      `tollgate_store_script_duration_seconds_count{store="${name}",script="spend"}`,
    );
    // One script (or operation) per spend that reached the store: 4 granted, 2 refused.
    expect(spendScripts).toBe(6);
    expect(sample(text, "tollgate_open_spend_streams")).toBe(1);
    // The default process metrics are there too.
    expect(text).toContain("process_cpu_user_seconds_total");
    expect(text).toContain("nodejs_eventloop_lag_seconds");
    // No secret in any label: not the key, not its hash.
    expect(text).not.toContain(key);
    expect(text).not.toContain(hashApiKey(key));

    stream.stream.end();
    await stream.ended;
    await until(() => harness.logs.some((l) => l.msg === "stream closed"), "the stream to close");
    expect(sample(await harness.metrics(), "tollgate_open_spend_streams")).toBe(0);
  });

  it("keeps (project, service) label pairs bounded, counting the rest as other", async () => {
    const { harness, client, walletId } = await start(3);
    for (let i = 0; i < 10; i++) {
      await call(
        client,
        client.spend,
        { walletId, amount: BigInt(i + 1), service: `svc-${i}`, metadata: {}, requestId: `r-${i}` },
        bearer(key),
      );
    }
    // A pair already admitted keeps its series.
    await call(
      client,
      client.spend,
      { walletId, amount: 100n, service: "svc-0", metadata: {}, requestId: "again" },
      bearer(key),
    );
    const text = await harness.metrics();
    expect(samples(text, "tollgate_spends_total")).toEqual(
      new Map([
        ['{project="alpha",service="svc-0"}', 2],
        ['{project="alpha",service="svc-1"}', 1],
        ['{project="alpha",service="svc-2"}', 1],
        ['{project="other",service="other"}', 7],
      ]),
    );
    const credits = samples(text, "tollgate_credits_spent_total");
    expect(credits.get('{project="other",service="other"}')).toBe(4 + 5 + 6 + 7 + 8 + 9 + 10);
    expect([...credits.values()].reduce((a, b) => a + b, 0)).toBe(55 + 100);
  });

  it("counts open watchers and how late events reach them", async () => {
    const { harness, walletId } = await start();
    const abort = new AbortController();
    const received: unknown[] = [];
    const watching = (async () => {
      for await (const message of harness
        .events("connect+json", key)
        .watchEvents({ walletId }, { signal: abort.signal })) {
        received.push(message);
      }
    })().catch(() => {});
    await until(() => received.length === 1, "the checkpoint");
    expect(
      sample(
        await harness.metrics(),
        'tollgate_open_server_streams{method="WatchEvents",transport="connect"}',
      ),
    ).toBe(1);
    await harness
      .wallets("connect+json", key)
      .spend({ walletId, amount: 1n, service: "s", metadata: {}, requestId: "w-1" });
    await until(() => received.length === 2, "the spend event");
    const text = await harness.metrics();
    expect(sample(text, "tollgate_watcher_lag_seconds_count")).toBe(1);
    abort.abort();
    await watching;
    await until(
      () => harness.logs.some((l) => l.method === "WatchEvents"),
      "the watch to be logged",
    );
    const after = await harness.metrics();
    expect(
      sample(after, 'tollgate_open_server_streams{method="WatchEvents",transport="connect"}'),
    ).toBe(0);
    expect(
      sample(
        after,
        'tollgate_calls_total{method="WatchEvents",code="CANCELLED",transport="connect"}',
      ),
    ).toBe(1);
  });
});

describe("/metrics and secrets", () => {
  it("never shows the Redis URL", async () => {
    const url = inject("redisUrl");
    const opened = stores.find((s) => s.name === "redis")?.open();
    const h = await startHttpHarness({ store: opened?.store });
    try {
      await h
        .wallets("connect+json")
        .createWallet(create(CreateWalletRequestSchema, { requestId: "r", name: "t", budget: 1n }));
      const text = await h.metrics();
      expect(text).toContain('store="redis"');
      expect(text).not.toContain(url);
      expect(text).not.toContain(new URL(url).host);
    } finally {
      await h.close();
      await opened?.cleanup();
    }
  });
});
