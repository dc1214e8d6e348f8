import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { agentCall, expectNoSecretAnywhere, expectRefusal } from "./agent.js";
import { type GatewayHarness, startGatewayHarness, storeKinds, upstreamSecret } from "./harness.js";
import { startUpstream, type TestUpstream } from "./upstream.js";

describe.each(storeKinds)("gateway with agent keys (%s store)", (storeKind) => {
  let upstream: TestUpstream;
  let harness: GatewayHarness;
  let walletId: string;
  let otherTree: string;

  beforeAll(async () => {
    upstream = await startUpstream(upstreamSecret);
    harness = await startGatewayHarness({ store: storeKind, upstreamUrl: upstream.url });
    const create = (budget: number) =>
      harness.ledger.createWallet("default", { budget, requestId: randomUUID() });
    walletId = (await create(1_000)).id;
    otherTree = (await create(1_000)).id;
  });

  afterAll(async () => {
    await expectNoSecretAnywhere(harness);
    await harness.close();
    await upstream.close();
  });

  const mint = (services?: string[]) =>
    harness.agentKeys.mint("default", { walletId, services, requestId: randomUUID() });

  it("charges the catalog price with the agent's labels, and forwards", async () => {
    const key = await mint();
    const answer = await agentCall(harness.gatewayUrl, "/echo/echo", {
      headers: {
        authorization: `Bearer ${key.secret}`,
        "tollgate-wallet": walletId,
        "tollgate-metadata": JSON.stringify({ agent: "researcher" }),
      },
    });
    expect(answer.status).toBe(200);
    const chargeId = answer.headers["tollgate-charge-id"];
    const lines = await harness.ledger.listCharges("default", { walletId, pageSize: 1000 });
    const line = lines.items.find((l) => l.id === chargeId);
    expect(line).toMatchObject({ kind: "spend", amount: 7, service: "echo" });
    expect(line?.metadata.agent).toBe("researcher");
  });

  it("refuses a wallet outside the key's subtree and a service outside its list (403)", async () => {
    const before = upstream.calls.length;
    const key = await mint(["echo"]);
    const auth = `Bearer ${key.secret}`;
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", {
        headers: { authorization: auth, "tollgate-wallet": otherTree },
      }),
      403,
      "OUTSIDE_AGENT_SCOPE",
    );
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/limited/echo/public", {
        headers: { authorization: auth, "tollgate-wallet": walletId },
      }),
      403,
      "SERVICE_NOT_ALLOWED",
    );
    expect(upstream.calls.length).toBe(before);
  });

  it("refuses a revoked or unknown key (401), forwarding nothing", async () => {
    const before = upstream.calls.length;
    const key = await mint();
    await harness.agentKeys.revoke("default", key.record.id);
    for (const secret of [key.secret, `${key.secret.slice(0, -2)}xx`]) {
      expectRefusal(
        await agentCall(harness.gatewayUrl, "/echo/echo", {
          headers: { authorization: `Bearer ${secret}`, "tollgate-wallet": walletId },
        }),
        401,
        "UNAUTHENTICATED",
      );
    }
    expect(upstream.calls.length).toBe(before);
  });

  it("authorizes a metered service at its maximum and captures the measured cost", async () => {
    const key = await mint();
    const answer = await agentCall(harness.gatewayUrl, "/usage/usage?n=9", {
      headers: { authorization: `Bearer ${key.secret}`, "tollgate-wallet": walletId },
    });
    expect(answer.status).toBe(200);
    const holdId = answer.headers["tollgate-hold-id"];
    // Settled after the answer's last byte: look until it is.
    await eventually(async () => {
      const lines = await harness.ledger.listCharges("default", { walletId, pageSize: 1000 });
      const settled = lines.items.filter((l) => l.holdId === holdId);
      expect(settled.map((l) => [l.kind, l.amount])).toEqual([["capture", 9]]);
    });
  });
});
