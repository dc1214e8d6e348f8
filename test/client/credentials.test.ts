import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createClient,
  InsufficientCreditsError,
  InvalidArgumentError,
  PermissionDeniedError,
  type TollgateClient,
  TollgateError,
  UnauthenticatedError,
} from "../../client/index.js";
import { type CredentialError, verifyCredential } from "../../client/verify.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { Catalog } from "../../server/catalog/catalog.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import { collect, rejection } from "./support.js";

/**
 * The typed client's agent keys, signing keys, redemption and catalog, against a real server on
 * each store: what a project key mints, what the minted key may and may not do, and what a paid
 * service does with the credential it is handed.
 */

const apiKey = "client-credentials-key-0123456789";

/** The catalog of these tests: a fixed price, and a metered service. */
const catalog = Catalog.fromEntries([
  {
    project: "creds",
    name: "search",
    upstream: "http://127.0.0.1:9/api",
    price: { credits: 7 },
  },
  {
    project: "creds",
    name: "llm",
    upstream: "http://127.0.0.1:9/llm",
    price: {
      maxCredits: 500,
      meter: { json: "usage.total_tokens", rate: { credits: 1, units: 1000 } },
    },
    methods: ["POST"],
    timeoutMs: 60_000,
  },
]);

describe.each(stores)("agent keys, credentials and the catalog ($name store)", ({ open }) => {
  let opened: StoreUnderTest;
  let server: TollgateServer;
  const clients: TollgateClient[] = [];
  let tg: TollgateClient;
  const client = (key: string | undefined) => {
    const made = createClient({ address: server.address, apiKey: key });
    clients.push(made);
    return made;
  };

  beforeEach(async () => {
    opened = open();
    server = await startTollgateServer({
      store: opened.store,
      address: "127.0.0.1:0",
      logLevel: "silent",
      apiKeys: [{ project: "creds", keySha256: hashApiKey(apiKey) }],
      catalog,
    });
    tg = client(apiKey);
  });
  afterEach(async () => {
    for (const made of clients.splice(0)) made.close();
    await server.shutdown();
    await opened.cleanup();
  });

  it("mints a key bound to a wallet, lists it without its secret, and revokes it", async () => {
    const task = await tg.wallets.create({ name: "task", budget: 100 });
    const created = await tg.agentKeys.create(
      { wallet: task, services: ["search"], ttlSeconds: 3600, name: "researcher" },
      { requestId: "mint-1" },
    );
    expect(created.secret).toMatch(/^tga_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    expect(created.secret.startsWith(`tga_${created.key.id.slice(3)}_`)).toBe(true);
    expect(created.key).toMatchObject({
      walletId: task.id,
      services: ["search"],
      name: "researcher",
      revokedAt: undefined,
    });
    const lifetime = created.key.expiresAt.getTime() - created.key.createdAt.getTime();
    expect(lifetime).toBe(3_600_000);

    // The same request id: the same key and secret, not a second key.
    const again = await tg.agentKeys.create(
      { walletId: task.id, services: ["search"], ttlSeconds: 3600, name: "researcher" },
      { requestId: "mint-1" },
    );
    expect(again).toEqual(created);

    const { items } = await collect(tg.agentKeys.list());
    expect(items).toEqual([created.key]);
    expect(JSON.stringify(items)).not.toContain(created.secret.slice(-43));

    const revoked = await tg.agentKeys.revoke(created.key.id);
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    const agent = client(created.secret);
    expect(await rejection(agent.wallets.get(task.id))).toBeInstanceOf(UnauthenticatedError);
  });

  it("refuses a create that names no wallet, or two, before any call", async () => {
    const both = await rejection(tg.agentKeys.create({ wallet: "w_1", walletId: "w_1" }));
    expect(both).toBeInstanceOf(InvalidArgumentError);
    expect((both as InvalidArgumentError).field).toBe("wallet_id");
    expect(await rejection(tg.agentKeys.create({}))).toBeInstanceOf(InvalidArgumentError);
  });

  it("an agent key spends within its subtree at the catalog's price and nothing else", async () => {
    const task = await tg.wallets.create({ name: "task", budget: 100 });
    const researcher = await task.createChild({ name: "researcher", budget: 20 });
    const other = await tg.wallets.create({ name: "other", budget: 100 });
    const { secret } = await tg.agentKeys.create({ wallet: researcher, services: ["search"] });
    const agent = client(secret);

    const own = await agent.wallets.get(researcher.id);
    // 0: the server prices a catalog service.
    const spent = await own.spend(0, { service: "search" });
    expect(spent.charge.amount).toBe(7n);
    expect(spent.remaining).toBe(13n);
    const priced = await rejection(own.spend(5, { service: "search" }));
    expect(priced).toBeInstanceOf(InvalidArgumentError);
    expect((priced as TollgateError).reason).toBe("PRICE_SET_BY_CATALOG");

    const outside = await rejection(agent.wallets.get(other.id));
    expect(outside).toBeInstanceOf(PermissionDeniedError);
    expect((outside as TollgateError).reason).toBe("OUTSIDE_AGENT_SCOPE");
    const parent = await rejection(agent.wallets.get(task.id));
    expect((parent as TollgateError).reason).toBe("OUTSIDE_AGENT_SCOPE");
    const notBound = await rejection(own.authorize(0, { service: "llm" }));
    expect(notBound).toBeInstanceOf(PermissionDeniedError);
    expect((notBound as TollgateError).reason).toBe("SERVICE_NOT_ALLOWED");
    const topUp = await rejection(own.addCredits(10));
    expect((topUp as TollgateError).reason).toBe("AGENT_KEY_NOT_ALLOWED");
    const mint = await rejection(agent.agentKeys.create({ wallet: researcher }));
    expect(mint).toBeInstanceOf(PermissionDeniedError);
    expect((mint as TollgateError).reason).toBe("AGENT_KEY_NOT_ALLOWED");

    await own.spend(0, { service: "search" });
    const broke = await rejection(own.spend(0, { service: "search" }));
    expect(broke).toBeInstanceOf(InsufficientCreditsError);
    expect((broke as InsufficientCreditsError).available).toBe(6n);
  });

  it("lists the catalog read-only; an agent key sees only its services", async () => {
    const services = await tg.services();
    expect(services).toEqual([
      {
        name: "llm",
        price: 0n,
        maxPrice: 500n,
        meter: expect.stringMatching(/^json:usage\.total_tokens/),
        methods: ["POST"],
        pathPrefixes: ["/"],
        timeoutMs: 60_000,
      },
      {
        name: "search",
        price: 7n,
        maxPrice: 0n,
        meter: "",
        methods: ["GET", "POST"],
        pathPrefixes: ["/"],
        timeoutMs: 30_000,
      },
    ]);
    const task = await tg.wallets.create({ name: "task", budget: 100 });
    const { secret } = await tg.agentKeys.create({ wallet: task, services: ["search"] });
    expect((await client(secret).services()).map((s) => s.name)).toEqual(["search"]);
  });

  it("verifies a credential against the signing keys, and redeems it once", async () => {
    const task = await tg.wallets.create({ name: "task", budget: 100 });
    const { secret, key } = await tg.agentKeys.create({
      wallet: task,
      services: ["search", "translate"],
    });
    const agentWallet = await client(secret).wallets.get(task.id);
    const { credential, charge } = await agentWallet.spend(0, { service: "search" });

    // A verifier holds no API key: both calls are public.
    const verifier = client(undefined);
    const { jwks, currentKeyId } = await verifier.signingKeys();
    expect(jwks.keys.map((k) => k.kid)).toContain(currentKeyId);
    expect(JSON.stringify(jwks)).not.toMatch(/"d":/);
    // A service outside the catalog: EdDSA, verified offline by whoever has the JWKS.
    const thirdParty = await agentWallet.spend(3, { service: "translate" });
    const verified = await verifyCredential(thirdParty.credential, { jwks, service: "translate" });
    expect(verified).toMatchObject({
      kind: "charge",
      id: thirdParty.charge.id,
      walletId: task.id,
      amount: 3,
      agentKeyId: key.id,
    });
    const wrong = await rejection(
      verifyCredential(thirdParty.credential, { jwks, service: "llm" }),
    );
    expect((wrong as CredentialError).reason).toBe("CREDENTIAL_WRONG_SERVICE");
    // A catalog service's is for tollgate's gateway (HS256): no published key verifies it.
    const gatewayOnly = await rejection(verifyCredential(credential, { jwks, service: "search" }));
    expect((gatewayOnly as CredentialError).reason).toBe("CREDENTIAL_INVALID");
    expect((gatewayOnly as CredentialError).message).toMatch(/gateway credential/);

    // Redemption verifies both kinds, the gateway's with the server's own key.
    expect(
      (await verifier.credentials.redeem(thirdParty.credential, { service: "translate" })).claims
        .id,
    ).toBe(thirdParty.charge.id);
    const first = await verifier.credentials.redeem(credential, {
      service: "search",
      requestId: "redeem-1",
    });
    expect(first.replayed).toBe(false);
    expect(first.claims).toMatchObject({
      kind: "charge",
      id: charge.id,
      project: "creds",
      walletId: task.id,
      service: "search",
      amount: 7n,
      agentKeyId: key.id,
    });
    expect(first.claims.expiresAt.getTime()).toBeGreaterThan(first.claims.issuedAt.getTime());
    // The same redemption retried: answered alike. Another redemption: refused.
    const retried = await verifier.credentials.redeem(credential, {
      service: "search",
      requestId: "redeem-1",
    });
    expect(retried).toEqual({ ...first, replayed: true });
    const twice = await rejection(verifier.credentials.redeem(credential, { service: "search" }));
    expect(twice).toBeInstanceOf(TollgateError);
    expect((twice as TollgateError).reason).toBe("CREDENTIAL_ALREADY_REDEEMED");

    const tampered = `${credential.slice(0, -4)}AAAA`;
    const bad = await rejection(verifier.credentials.redeem(tampered, { service: "search" }));
    expect(bad).toBeInstanceOf(UnauthenticatedError);
    expect((bad as TollgateError).reason).toBe("CREDENTIAL_INVALID");
    const elsewhere = await rejection(verifier.credentials.redeem(credential, { service: "llm" }));
    expect(elsewhere).toBeInstanceOf(PermissionDeniedError);
    expect((elsewhere as TollgateError).reason).toBe("CREDENTIAL_WRONG_SERVICE");
  });

  it("refuses the credentials of a revoked key", async () => {
    const task = await tg.wallets.create({ name: "task", budget: 100 });
    const { secret, key } = await tg.agentKeys.create({ wallet: task });
    const agentWallet = await client(secret).wallets.get(task.id);
    const { credential } = await agentWallet.spend(0, { service: "search" });
    const thirdParty = await agentWallet.spend(3, { service: "translate" });
    await tg.agentKeys.revoke(key.id);
    for (const [token, service] of [
      [credential, "search"],
      [thirdParty.credential, "translate"],
    ] as const) {
      const refused = await rejection(tg.credentials.redeem(token, { service }));
      expect(refused).toBeInstanceOf(PermissionDeniedError);
      expect((refused as TollgateError).reason).toBe("AGENT_KEY_REVOKED");
    }
    // tollgate/verify checks signatures only: revocation is the redeemer's to know.
    const { jwks } = await tg.signingKeys();
    await expect(
      verifyCredential(thirdParty.credential, { jwks, service: "translate" }),
    ).resolves.toMatchObject({ agentKeyId: key.id });
  });
});
