import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { eventually } from "../support/eventually.js";
import { agentCall, expectNoSecretAnywhere, expectRefusal } from "./agent.js";
import { type GatewayHarness, startGatewayHarness, storeKinds, upstreamSecret } from "./harness.js";
import { startUpstream, type TestUpstream } from "./upstream.js";

describe.each(storeKinds)("gateway with credentials (%s store)", (storeKind) => {
  let upstream: TestUpstream;
  let harness: GatewayHarness;
  let walletId: string;

  beforeAll(async () => {
    upstream = await startUpstream(upstreamSecret);
    harness = await startGatewayHarness({ store: storeKind, upstreamUrl: upstream.url });
    const wallet = await harness.ledger.createWallet("default", {
      budget: 10_000,
      requestId: randomUUID(),
    });
    walletId = wallet.id;
  });

  afterAll(async () => {
    await expectNoSecretAnywhere(harness);
    await harness.close();
    await upstream.close();
  });

  async function spendCredential(service: string, amount = 7, ledger = harness.ledger) {
    const result = await ledger.spend("default", {
      walletId,
      amount,
      service,
      requestId: randomUUID(),
    });
    return { token: result.credential.token, chargeId: result.line.id };
  }

  async function holdCredential(service: string, amount: number) {
    const result = await harness.ledger.authorize("default", {
      walletId,
      amount,
      service,
      requestId: randomUUID(),
    });
    return { token: result.credential.token, holdId: result.hold.id };
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /**
   * The lines resolving a hold (CAPTURE or VOID), once there are any: the gateway settles after
   * the answer's last byte, so the agent may look before it has.
   */
  async function holdOf(holdId: string) {
    return eventually(async () => {
      const page = await harness.ledger.listCharges("default", { walletId, pageSize: 1000 });
      const lines = page.items.filter((line) => line.holdId === holdId);
      if (lines.length === 0) throw new Error(`hold ${holdId} is not settled yet`);
      return lines;
    });
  }

  it("forwards a paid call with the upstream's secret, and the agent never sees it", async () => {
    const { token } = await spendCredential("echo");
    const before = upstream.calls.length;
    const answer = await agentCall(harness.gatewayUrl, "/echo/echo/items?q=1", {
      method: "POST",
      headers: { ...bearer(token), "content-type": "application/json", cookie: "a=b" },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(answer.status).toBe(200);
    expect(upstream.calls.length).toBe(before + 1);
    const received = upstream.calls.at(-1);
    expect(received?.url).toBe("/echo/items?q=1");
    expect(received?.headers.authorization).toBe(`Bearer ${upstreamSecret}`);
    expect(received?.headers.cookie).toBeUndefined();
    expect(received?.headers["idempotency-key"]).toMatch(/^tg-/);
    expect(received?.body.toString()).toBe('{"hello":"world"}');
    // The upstream echoed the secret in its body and a header: masked, same length.
    expect(answer.text).not.toContain(upstreamSecret);
    expect(answer.text).toContain("*".repeat(upstreamSecret.length));
    expect(answer.headers["x-echo-auth"]).toBe("*".repeat(upstreamSecret.length));
    expect(answer.headers["tollgate-charge-id"]).toMatch(/^w_/);
  });

  const algOf = (token: string) =>
    (JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()) as { alg: string })
      .alg;

  it("takes both kinds: a catalog spend's HS256 MAC, and an EdDSA credential for the service", async () => {
    const mac = await spendCredential("echo");
    expect(algOf(mac.token)).toBe("HS256");
    const answer = await agentCall(harness.gatewayUrl, "/echo/echo", {
      headers: bearer(mac.token),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["tollgate-charge-id"]).toBe(mac.chargeId);
    const hold = await holdCredential("held", 20);
    expect(algOf(hold.token)).toBe("HS256");
    expect(
      (await agentCall(harness.gatewayUrl, "/held/cost?n=2", { headers: bearer(hold.token) }))
        .status,
    ).toBe(200);
    expect((await holdOf(hold.holdId)).map((l) => [l.kind, l.amount])).toEqual([["capture", 2]]);

    // EdDSA for a catalog service (signed by this server's key): verified and redeemed too.
    const { line } = await harness.ledger.spend(
      "default",
      { walletId, amount: 7, service: "echo", requestId: randomUUID() },
      undefined,
      { credential: false },
    );
    const eddsa = await harness.issuer.issue({
      project: "default",
      walletId,
      subjectId: line.id,
      kind: "charge",
      service: "echo",
      amount: 7,
      issuedAtMs: line.createdAtMs,
    });
    expect(algOf(eddsa.token)).toBe("EdDSA");
    expect(
      (await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(eddsa.token) })).status,
    ).toBe(200);
  });

  it("refuses an expired MAC credential (401) and a MAC under another key (401)", async () => {
    const claims = {
      project: "default",
      walletId,
      subjectId: `${walletId}.s999990`,
      kind: "charge" as const,
      service: "echo",
      amount: 7,
    };
    const expired = await harness.issuer.issue(
      { ...claims, issuedAtMs: Date.now() - 3_600_000 },
      "gateway",
    );
    expect(algOf(expired.token)).toBe("HS256");
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(expired.token) }),
      401,
      "CREDENTIAL_EXPIRED",
    );
    const stranger = await CredentialIssuer.create(undefined, 60_000);
    const foreign = await stranger.issue({ ...claims, issuedAtMs: Date.now() }, "gateway");
    const before = upstream.calls.length;
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(foreign.token) }),
      401,
      "CREDENTIAL_INVALID",
    );
    expect(upstream.calls.length).toBe(before);
  });

  it("signs nothing when it pays from a wallet itself (key mode): no credential is issued", async () => {
    const issue = vi.spyOn(harness.issuer, "issue");
    try {
      // The spy sees issuing: a spend for a credential counts one.
      await spendCredential("echo");
      expect(issue).toHaveBeenCalledTimes(1);
      issue.mockClear();
      const fixed = await agentCall(harness.gatewayUrl, "/echo/echo", {
        headers: { "tollgate-wallet": walletId, "x-request-id": `key-${randomUUID()}` },
      });
      expect(fixed.status).toBe(200);
      expect(fixed.headers["tollgate-charge-id"]).toMatch(/^w_/);
      const metered = await agentCall(harness.gatewayUrl, "/held/cost?n=3", {
        headers: { "tollgate-wallet": walletId, "x-request-id": `key-${randomUUID()}` },
      });
      expect(metered.status).toBe(200);
      expect(
        (await holdOf(metered.headers["tollgate-hold-id"] ?? "")).map((l) => l.amount),
      ).toEqual([3]);
      expect(issue).not.toHaveBeenCalled();
    } finally {
      issue.mockRestore();
    }
  });

  it("refuses a replayed credential (403) and forwards nothing", async () => {
    const { token } = await spendCredential("echo");
    expect(
      (await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(token) })).status,
    ).toBe(200);
    const before = upstream.calls.length;
    const replay = await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(token) });
    expectRefusal(replay, 403, "CREDENTIAL_ALREADY_REDEEMED");
    expect(upstream.calls.length).toBe(before);
  });

  it("forwards a paid call once: after its answer, a replay by the same or another request is refused", async () => {
    const { token } = await spendCredential("echo");
    const headers = { ...bearer(token), "x-request-id": `retry-${randomUUID()}` };
    const before = upstream.calls.length;
    const first = await agentCall(harness.gatewayUrl, "/echo/echo", { headers });
    expect(first.status).toBe(200);
    // The same request id again, for the same call or another path: the call was answered.
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers }),
      403,
      "CREDENTIAL_ALREADY_REDEEMED",
    );
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/other", { headers }),
      403,
      "CREDENTIAL_ALREADY_REDEEMED",
    );
    expect(upstream.calls.length).toBe(before + 1);
  });

  it("redeems a hold credential only while its hold is open and outlives the upstream's timeout", async () => {
    const before = upstream.calls.length;
    // Voided (by the project: an agent key cannot settle a catalog hold itself).
    const voided = await holdCredential("echo", 7);
    await harness.ledger.void("default", { holdId: voided.holdId, requestId: randomUUID() });
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(voided.token) }),
      409,
      "HOLD_ALREADY_RESOLVED",
    );
    // Captured already.
    const captured = await holdCredential("echo", 7);
    await harness.ledger.capture("default", {
      holdId: captured.holdId,
      amount: 1,
      requestId: randomUUID(),
    });
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(captured.token) }),
      409,
      "HOLD_ALREADY_RESOLVED",
    );
    // Expiring before the upstream's timeout could pass: the capture would find it gone.
    const short = await harness.ledger.authorize("default", {
      walletId,
      amount: 7,
      service: "echo",
      requestId: randomUUID(),
      ttlSeconds: 1,
    });
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", {
        headers: bearer(short.credential.token),
      }),
      409,
      "HOLD_EXPIRED",
    );
    expect(upstream.calls.length).toBe(before);
  });

  it("refuses wrong-service, tampered and foreign credentials, forwarding nothing", async () => {
    const before = upstream.calls.length;
    const wrong = await spendCredential("limited", 1);
    const good = await spendCredential("echo");
    const [header, payload, signature] = good.token.split(".");
    const tamperedPayload = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload ?? "", "base64url").toString()),
        amount: 1,
      }),
    ).toString("base64url");
    const tampered = `${header}.${tamperedPayload}.${signature}`;
    const stranger = await CredentialIssuer.create(undefined, 60_000);
    const foreign = await stranger.issue({
      project: "default",
      walletId,
      subjectId: `${walletId}.s1`,
      kind: "charge",
      service: "echo",
      amount: 7,
      issuedAtMs: Date.now(),
    });

    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(wrong.token) }),
      403,
      "CREDENTIAL_WRONG_SERVICE",
    );
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(tampered) }),
      401,
      "CREDENTIAL_INVALID",
    );
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(foreign.token) }),
      401,
      "CREDENTIAL_INVALID",
    );
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer("not-a-jws") }),
      401,
      "CREDENTIAL_INVALID",
    );
    expectRefusal(await agentCall(harness.gatewayUrl, "/echo/echo"), 401, "UNAUTHENTICATED");
    expect(upstream.calls.length).toBe(before);
    // The good one was not spent by any of that.
    expect(
      (await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(good.token) })).status,
    ).toBe(200);
  });

  it("refuses an expired credential with 401", async () => {
    const issuer = harness.issuer;
    const expired = await issuer.issue({
      project: "default",
      walletId,
      subjectId: `${walletId}.s999999`,
      kind: "charge",
      service: "echo",
      amount: 7,
      issuedAtMs: Date.now() - 3_600_000,
    });
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(expired.token) }),
      401,
      "CREDENTIAL_EXPIRED",
    );
  });

  it("refuses a credential of a project whose catalog lacks the service (403)", async () => {
    const issuer = harness.issuer;
    const other = await issuer.issue({
      project: "third",
      walletId,
      subjectId: `${walletId}.s999998`,
      kind: "charge",
      service: "usage",
      amount: 7,
      issuedAtMs: Date.now(),
    });
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/usage/usage", { headers: bearer(other.token) }),
      403,
      "SERVICE_NOT_IN_CATALOG",
    );
  });

  it("refuses the credentials of a revoked agent key (403)", async () => {
    const minted = await harness.agentKeys.mint("default", { walletId, requestId: randomUUID() });
    const issuer = harness.issuer;
    const credential = await issuer.issue({
      project: "default",
      walletId,
      subjectId: `${walletId}.s999997`,
      kind: "charge",
      service: "echo",
      amount: 7,
      issuedAtMs: Date.now(),
      agentKeyId: minted.record.id,
    });
    await harness.agentKeys.revoke("default", minted.record.id);
    const before = upstream.calls.length;
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/echo/echo", { headers: bearer(credential.token) }),
      403,
      "AGENT_KEY_REVOKED",
    );
    expect(upstream.calls.length).toBe(before);
  });

  it("refuses methods and paths the service does not forward, before redeeming", async () => {
    const { token } = await spendCredential("limited", 1);
    const before = upstream.calls.length;
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/limited/echo/private", { headers: bearer(token) }),
      403,
      "PATH_NOT_ALLOWED",
    );
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/limited/echo/public", {
        method: "POST",
        headers: bearer(token),
        body: "x",
      }),
      403,
      "METHOD_NOT_ALLOWED",
    );
    expect(upstream.calls.length).toBe(before);
    // Still unspent.
    expect(
      (await agentCall(harness.gatewayUrl, "/limited/echo/public/a", { headers: bearer(token) }))
        .status,
    ).toBe(200);
  });

  it("voids a hold when the upstream answers 500, and records the failure of a charge", async () => {
    const hold = await holdCredential("held", 20);
    const answer = await agentCall(harness.gatewayUrl, "/held/fail", {
      headers: bearer(hold.token),
    });
    expect(answer.status).toBe(500);
    expect(answer.text).not.toContain(upstreamSecret);
    expect((await holdOf(hold.holdId)).map((l) => l.kind)).toEqual(["void"]);

    const charge = await spendCredential("echo");
    expect(
      (await agentCall(harness.gatewayUrl, "/echo/fail", { headers: bearer(charge.token) })).status,
    ).toBe(500);
    await eventually(async () => {
      const lines = await harness.ledger.listCharges("default", { walletId, pageSize: 1000 });
      const line = lines.items.find((l) => l.id === charge.chargeId);
      expect(line?.gatewayFailure).toBe("upstream_status:500");
    });
  });

  it("refuses a retry of a call whose hold was voided, instead of forwarding it unpaid", async () => {
    const hold = await holdCredential("held", 20);
    const headers = { ...bearer(hold.token), "x-request-id": `voided-${randomUUID()}` };
    expect((await agentCall(harness.gatewayUrl, "/held/fail", { headers })).status).toBe(500);
    await holdOf(hold.holdId);
    const before = upstream.calls.length;
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/held/cost?n=3", { headers }),
      409,
      "HOLD_ALREADY_RESOLVED",
    );
    expect(upstream.calls.length).toBe(before);

    // The same with the gateway's own hold (agent-key mode, here a project's open mode).
    const keyHeaders = { "tollgate-wallet": walletId, "x-request-id": `voided-${randomUUID()}` };
    const failed = await agentCall(harness.gatewayUrl, "/held/fail", { headers: keyHeaders });
    expect(failed.status).toBe(500);
    await holdOf(failed.headers["tollgate-hold-id"] ?? "");
    expectRefusal(
      await agentCall(harness.gatewayUrl, "/held/cost?n=3", { headers: keyHeaders }),
      409,
      "HOLD_ALREADY_RESOLVED",
    );
    expect(upstream.calls.length).toBe(before + 1);
  });

  it("voids a hold when the upstream times out (504), charging nothing", async () => {
    const hold = await holdCredential("held", 20);
    const answer = await agentCall(harness.gatewayUrl, "/held/slow", {
      headers: bearer(hold.token),
    });
    expectRefusal(answer, 504, "UPSTREAM_TIMEOUT");
    expect((await holdOf(hold.holdId)).map((l) => l.kind)).toEqual(["void"]);
  });

  it("captures a hold at the metered cost: header and JSON usage", async () => {
    const byHeader = await holdCredential("held", 20);
    expect(
      (await agentCall(harness.gatewayUrl, "/held/cost?n=4", { headers: bearer(byHeader.token) }))
        .status,
    ).toBe(200);
    expect((await holdOf(byHeader.holdId)).map((l) => [l.kind, l.amount])).toEqual([
      ["capture", 4],
    ]);

    const byJson = await holdCredential("usage", 40);
    expect(
      (await agentCall(harness.gatewayUrl, "/usage/usage?n=12", { headers: bearer(byJson.token) }))
        .status,
    ).toBe(200);
    expect((await holdOf(byJson.holdId)).map((l) => [l.kind, l.amount])).toEqual([["capture", 12]]);
  });

  it("passes a redirect back without following it, and drops hop-by-hop headers and cookies", async () => {
    const redirect = await agentCall(harness.gatewayUrl, "/echo/redirect", {
      headers: bearer((await spendCredential("echo")).token),
    });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toContain("169.254.169.254");
    expect(upstream.calls.at(-1)?.url).toBe("/redirect");

    const hop = await agentCall(harness.gatewayUrl, "/echo/hop", {
      headers: bearer((await spendCredential("echo")).token),
    });
    expect(hop.status).toBe(200);
    expect(hop.headers["x-hop"]).toBeUndefined();
    expect(hop.headers["set-cookie"]).toBeUndefined();
    // Node writes the gateway's own keep-alive; the upstream's must not come through.
    expect(hop.headers["keep-alive"] ?? "").not.toContain("77");
  });

  it("decodes a compressed answer to mask the secret in it", async () => {
    const answer = await agentCall(harness.gatewayUrl, "/echo/gzip", {
      headers: bearer((await spendCredential("echo")).token),
    });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe(`compressed ${"*".repeat(upstreamSecret.length)} inside`);
  });

  it("logs one line per call, with no credential in it", async () => {
    const { token } = await spendCredential("echo");
    const requestId = `log-${randomUUID()}`;
    await agentCall(harness.gatewayUrl, "/echo/echo", {
      headers: { ...bearer(token), "x-request-id": requestId },
    });
    const lines = harness.logs.filter((l) => l.includes(requestId));
    expect(lines.length).toBe(1);
    const line = JSON.parse(lines[0] ?? "{}");
    expect(line).toMatchObject({ service: "echo", status: 200, upstreamStatus: 200, cost: 7 });
    expect(harness.logs.join("\n")).not.toContain(token);
    expect(await harness.metrics()).toMatch(
      /tollgate_gateway_requests_total\{service="echo",outcome="answered_2xx"\} \d+/,
    );
  });
});
