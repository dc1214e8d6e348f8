import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, until } from "../support/eventually.js";
import { agentCall, expectNoSecretAnywhere, seenByAgent } from "./agent.js";
import { type GatewayHarness, startGatewayHarness, storeKinds, upstreamSecret } from "./harness.js";
import { startUpstream, type TestUpstream } from "./upstream.js";

describe.each(storeKinds)("gateway money (%s store)", (storeKind) => {
  let upstream: TestUpstream;
  let harness: GatewayHarness;

  beforeAll(async () => {
    upstream = await startUpstream(upstreamSecret);
    harness = await startGatewayHarness({ store: storeKind, upstreamUrl: upstream.url });
  });

  afterAll(async () => {
    await expectNoSecretAnywhere(harness);
    await harness.close();
    await upstream.close();
  });

  async function wallet(budget: number): Promise<string> {
    const view = await harness.ledger.createWallet("default", {
      budget,
      hardCap: true,
      requestId: randomUUID(),
    });
    return view.id;
  }

  async function lines(walletId: string) {
    return (await harness.ledger.listCharges("default", { walletId, pageSize: 1000 })).items;
  }

  it("200 concurrent calls at price 7 on a 500 hard cap: exactly 71 reach the upstream", async () => {
    const walletId = await wallet(500);
    const key = await harness.agentKeys.mint("default", { walletId, requestId: randomUUID() });
    const tag = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        agentCall(harness.gatewayUrl, `/echo/echo/${tag}`, {
          headers: {
            authorization: `Bearer ${key.secret}`,
            "tollgate-wallet": walletId,
            "x-request-id": `${tag}-${i}`,
          },
        }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200).length).toBe(71);
    expect(statuses.filter((s) => s === 402).length).toBe(129);
    expect(answers.find((a) => a.status === 402)?.json().error?.reason).toBe(
      "INSUFFICIENT_CREDITS",
    );
    expect(upstream.calls.filter((c) => c.url === `/echo/${tag}`).length).toBe(71);
    const view = await harness.ledger.getWallet("default", { walletId });
    expect(view.spent).toBe(497);
  });

  it("a streamed answer the agent cancels after k events is captured at k", async () => {
    const walletId = await wallet(1_000);
    const k = 5;
    const abort = new AbortController();
    const closed = upstream.streamClosed();
    const response = await fetch(`${harness.gatewayUrl}/stream/sse?n=${k}&hold=1`, {
      headers: { "tollgate-wallet": walletId },
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    const holdId = response.headers.get("tollgate-hold-id") ?? "";
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = "";
    while ((received.match(/\n\n/g) ?? []).length < k) {
      const { value, done } = await reader.read();
      if (done) break;
      received += Buffer.from(value ?? new Uint8Array()).toString("utf8");
    }
    seenByAgent.push(received);
    abort.abort();
    await closed;
    // Settled once the gateway saw the agent go: look until it has.
    await eventually(async () => {
      const settled = (await lines(walletId)).filter((l) => l.holdId === holdId);
      expect(settled.map((l) => [l.kind, l.amount])).toEqual([["capture", k]]);
    });
  });

  it("a retry after the gateway died between charge and answer is charged once", async () => {
    const walletId = await wallet(1_000);
    const requestId = `crash-${randomUUID()}`;
    const headers = { "tollgate-wallet": walletId, "x-request-id": requestId };
    const tag = randomUUID();
    const path = `/echo/hang-first?tag=${tag}`;
    // The first attempt is charged and forwarded; the upstream holds it; the gateway dies.
    const first = agentCall(harness.gatewayUrl, path, { headers }).catch((error: unknown) => error);
    await until(
      () => upstream.calls.some((c) => c.url.includes(tag)),
      "the first attempt upstream",
    );
    await harness.server.shutdown();
    expect(await first).toBeInstanceOf(Error);
    // The retry lands on another server over the same store.
    const second = await harness.secondServer();
    const retry = await agentCall(second.gatewayUrl, path, { headers });
    expect(retry.status).toBe(200);
    const attempts = upstream.calls.filter((c) => c.url.includes(tag));
    expect(attempts.length).toBe(2);
    expect(attempts[0]?.headers["idempotency-key"]).toBe(attempts[1]?.headers["idempotency-key"]);
    const spends = (await lines(walletId)).filter((l) => l.kind === "spend");
    expect(spends.map((l) => l.amount)).toEqual([7]);
  });
});
