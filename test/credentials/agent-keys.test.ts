import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { Catalog } from "../../server/catalog/catalog.js";
import { call, failure, statusDetails } from "../rpc/harness.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import {
  bearer,
  type CredentialHarness,
  createWallet,
  mintAgentKey,
  startCredentialHarness,
} from "./harness.js";

const T = 1_750_000_000_000;
const projectKey = "alpha-project-key-0123456789";
const otherProjectKey = "bravo-project-key-0123456789";
const admin = bearer(projectKey);

async function refusal(promise: Promise<unknown>) {
  const error = await failure(promise);
  const { errorInfo } = statusDetails(error);
  return { code: error.code, reason: errorInfo?.reason, metadata: errorInfo?.metadata };
}

describe.each(stores)("agent keys ($name store)", ({ open }) => {
  let h: CredentialHarness;
  let opened: StoreUnderTest;
  let nowMs = T;

  beforeEach(async () => {
    nowMs = T;
    opened = open();
    h = await startCredentialHarness({
      store: opened.store,
      now: () => nowMs,
      apiKeys: [
        { project: "alpha", keySha256: hashApiKey(projectKey) },
        { project: "bravo", keySha256: hashApiKey(otherProjectKey) },
      ],
      catalog: Catalog.fromEntries([
        {
          project: "alpha",
          name: "search",
          upstream: "http://127.0.0.1:1/",
          price: { credits: 7 },
        },
        {
          project: "alpha",
          name: "llm",
          upstream: "http://127.0.0.1:1/",
          price: { maxCredits: 50, meter: { header: "x-usage-credits" } },
        },
      ]),
    });
  });
  afterEach(async () => {
    await h.close();
    await opened.cleanup();
  });

  /** task -> (researcher -> notes), writer; plus another tree. */
  async function team() {
    const task = await createWallet(h, admin, "task", 1000);
    const researcher = await createWallet(h, admin, "researcher", 400, task);
    const notes = await createWallet(h, admin, "notes", 100, researcher);
    const writer = await createWallet(h, admin, "writer", 300, task);
    const otherTree = await createWallet(h, admin, "other-task", 100);
    return { task, researcher, notes, writer, otherTree };
  }

  const spend = (key: string, walletId: string, requestId: string, service = "search") =>
    call(
      h.wallets,
      h.wallets.spend,
      { walletId, amount: 0n, service, metadata: {}, requestId },
      bearer(key),
    );

  it("spends, authorizes, captures, voids and reads within its subtree, and nothing else", async () => {
    const w = await team();
    const key = await mintAgentKey(h, admin, w.researcher);
    expect(key.secret).toMatch(/^tga_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    const agent = bearer(key.secret);

    const own = await spend(key.secret, w.researcher, "s1");
    expect(own.charge?.amount).toBe(7n);
    await spend(key.secret, w.notes, "s2");
    const catalogHold = await call(
      h.wallets,
      h.wallets.authorize,
      {
        walletId: w.notes,
        amount: 0n,
        service: "llm",
        metadata: {},
        requestId: "a1",
        ttlSeconds: 0,
      },
      agent,
    );
    expect(catalogHold.hold?.amount).toBe(50n);
    // A catalog hold is settled by the gateway (or a project key), never by the agent itself:
    // otherwise it could void its hold and still have the gateway forward the call.
    for (const settle of [
      call(
        h.wallets,
        h.wallets.void,
        { holdId: catalogHold.hold?.id ?? "", requestId: "v1" },
        agent,
      ),
      call(
        h.wallets,
        h.wallets.capture,
        { holdId: catalogHold.hold?.id ?? "", amount: 1n, requestId: "c0", metadata: {} },
        agent,
      ),
    ]) {
      expect(await refusal(settle)).toMatchObject({
        code: status.PERMISSION_DENIED,
        reason: "AGENT_KEY_NOT_ALLOWED",
      });
    }
    await call(
      h.wallets,
      h.wallets.void,
      { holdId: catalogHold.hold?.id ?? "", requestId: "v-admin" },
      admin,
    );
    // A hold on a service outside the catalog is the agent's own to settle.
    const hold = await call(
      h.wallets,
      h.wallets.authorize,
      {
        walletId: w.notes,
        amount: 50n,
        service: "own",
        metadata: {},
        requestId: "a2",
        ttlSeconds: 0,
      },
      agent,
    );
    await call(
      h.wallets,
      h.wallets.capture,
      { holdId: hold.hold?.id ?? "", amount: 20n, requestId: "c1", metadata: {} },
      agent,
    );
    // A hold that does not exist (yet): refused before the ledger, so a capture racing a
    // sibling's authorize for a predictable id can never land on the sibling's hold.
    const [root, seq] = (hold.hold?.id ?? "").split(".h");
    expect(
      await refusal(
        call(
          h.wallets,
          h.wallets.void,
          { holdId: `${root}.h${Number(seq) + 50}`, requestId: "vx" },
          agent,
        ),
      ),
    ).toMatchObject({ code: status.NOT_FOUND, reason: "HOLD_NOT_FOUND" });
    const read = await call(h.wallets, h.wallets.getWallet, { walletId: w.notes }, agent);
    expect(read.wallet?.spent).toBe(27n);
    const receipt = await call(
      h.receipts,
      h.receipts.getReceipt,
      { walletId: w.researcher },
      agent,
    );
    expect(receipt.receipt?.totalCredits).toBe(34n);

    for (const [walletId, field] of [
      [w.writer, "wallet_id"],
      [w.task, "wallet_id"],
      [w.otherTree, "wallet_id"],
    ] as const) {
      expect(await refusal(spend(key.secret, walletId, `x-${walletId}`))).toMatchObject({
        code: status.PERMISSION_DENIED,
        reason: "OUTSIDE_AGENT_SCOPE",
        metadata: { field },
      });
    }
    expect(
      await refusal(call(h.wallets, h.wallets.getWallet, { walletId: w.task }, agent)),
    ).toMatchObject({ code: status.PERMISSION_DENIED, reason: "OUTSIDE_AGENT_SCOPE" });

    // A hold of a wallet outside the subtree cannot be captured or voided with the key.
    const writersHold = await call(
      h.wallets,
      h.wallets.authorize,
      {
        walletId: w.writer,
        amount: 5n,
        service: "own",
        metadata: {},
        requestId: "wa",
        ttlSeconds: 0,
      },
      admin,
    );
    expect(
      await refusal(
        call(
          h.wallets,
          h.wallets.void,
          { holdId: writersHold.hold?.id ?? "", requestId: "v" },
          agent,
        ),
      ),
    ).toMatchObject({ code: status.PERMISSION_DENIED, reason: "OUTSIDE_AGENT_SCOPE" });

    // No roots, no top-ups, no closes, no listing of roots, no minting.
    const notAllowed = [
      call(
        h.wallets,
        h.wallets.addCredits,
        { walletId: w.researcher, amount: 5n, metadata: {}, requestId: "t" },
        agent,
      ),
      call(h.wallets, h.wallets.closeWallet, { walletId: w.notes, requestId: "c" }, agent),
      call(h.wallets, h.wallets.listWallets, { parentId: "", pageSize: 0, pageToken: "" }, agent),
      call(
        h.agentKeys,
        h.agentKeys.createAgentKey,
        { walletId: w.notes, services: [], ttlSeconds: 0n, name: "", requestId: "m" },
        agent,
      ),
    ];
    for (const refused of notAllowed) {
      expect(await refusal(refused)).toMatchObject({
        code: status.PERMISSION_DENIED,
        reason: "AGENT_KEY_NOT_ALLOWED",
      });
    }
    const created = await refusal(
      call(
        h.wallets,
        h.wallets.createWallet,
        {
          parentId: "",
          name: "",
          metadata: {},
          budget: 10n,
          requestId: "r",
          hardCap: undefined,
          alertThresholds: [],
        },
        agent,
      ),
    );
    expect(created).toMatchObject({
      code: status.PERMISSION_DENIED,
      reason: "AGENT_KEY_NOT_ALLOWED",
    });

    // Nothing the refused calls asked for happened.
    const researcher = await call(
      h.wallets,
      h.wallets.getWallet,
      { walletId: w.researcher },
      admin,
    );
    expect(researcher.wallet?.budget).toBe(400n);
  });

  it("pays only for the services it is bound to", async () => {
    const w = await team();
    const key = await mintAgentKey(h, admin, w.researcher, { services: ["search"] });
    await spend(key.secret, w.researcher, "ok");
    expect(await refusal(spend(key.secret, w.researcher, "no", "llm"))).toMatchObject({
      code: status.PERMISSION_DENIED,
      reason: "SERVICE_NOT_ALLOWED",
    });
    const listed = await call(h.catalog, h.catalog.listServices, {}, bearer(key.secret));
    expect(listed.services.map((s) => s.name)).toEqual(["search"]);
    const all = await call(h.catalog, h.catalog.listServices, {}, admin);
    expect(all.services.map((s) => [s.name, s.price, s.maxPrice, s.meter])).toEqual([
      ["llm", 0n, 50n, "header:x-usage-credits"],
      ["search", 7n, 0n, ""],
    ]);
  });

  it("is minted idempotently, listed without its secret, expires and is revoked at once", async () => {
    const w = await team();
    const first = await mintAgentKey(h, admin, w.researcher, {
      requestId: "mint-1",
      ttlSeconds: 60,
    });
    const again = await mintAgentKey(h, admin, w.researcher, {
      requestId: "mint-1",
      ttlSeconds: 60,
    });
    expect(again).toEqual(first);
    expect(
      await refusal(mintAgentKey(h, admin, w.writer, { requestId: "mint-1", ttlSeconds: 60 })),
    ).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "IDEMPOTENCY_KEY_REUSED" });
    // Another project can neither bind a key to this wallet nor see or revoke this key.
    expect(await refusal(mintAgentKey(h, bearer(otherProjectKey), w.researcher))).toMatchObject({
      code: status.NOT_FOUND,
      reason: "WALLET_NOT_FOUND",
    });
    expect(
      await refusal(
        call(h.agentKeys, h.agentKeys.revokeAgentKey, { keyId: first.id }, bearer(otherProjectKey)),
      ),
    ).toMatchObject({ code: status.NOT_FOUND, reason: "AGENT_KEY_NOT_FOUND" });

    nowMs += 1000;
    const second = await mintAgentKey(h, admin, w.writer, { requestId: "mint-2" });
    const listed = await call(
      h.agentKeys,
      h.agentKeys.listAgentKeys,
      { pageSize: 0, pageToken: "" },
      admin,
    );
    expect(listed.keys.map((k) => k.id)).toEqual([second.id, first.id]);
    expect(JSON.stringify(listed)).not.toContain(first.secret.slice(29));
    const otherList = await call(
      h.agentKeys,
      h.agentKeys.listAgentKeys,
      { pageSize: 0, pageToken: "" },
      bearer(otherProjectKey),
    );
    expect(otherList.keys).toEqual([]);

    // Expired after its TTL.
    nowMs += 60_000;
    expect(await refusal(spend(first.secret, w.researcher, "late"))).toMatchObject({
      code: status.UNAUTHENTICATED,
    });
    // Revoked: refused at once on this server.
    await spend(second.secret, w.writer, "before-revoke");
    const revoked = await call(
      h.agentKeys,
      h.agentKeys.revokeAgentKey,
      { keyId: second.id },
      admin,
    );
    expect(revoked.key?.revokedAt).toEqual(new Date(nowMs));
    expect(await refusal(spend(second.secret, w.writer, "after-revoke"))).toMatchObject({
      code: status.UNAUTHENTICATED,
    });
    // A made-up key of the right shape is refused like any unknown key.
    expect(
      await refusal(spend(`tga_${"0".repeat(24)}_${"A".repeat(43)}`, w.writer, "forged")),
    ).toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it("prices catalog services on the server", async () => {
    const w = await team();
    const priced = await call(
      h.wallets,
      h.wallets.spend,
      { walletId: w.writer, amount: 7n, service: "search", metadata: {}, requestId: "p1" },
      admin,
    );
    expect(priced.charge?.amount).toBe(7n);
    expect(
      await refusal(
        call(
          h.wallets,
          h.wallets.spend,
          { walletId: w.writer, amount: 1n, service: "search", metadata: {}, requestId: "p2" },
          admin,
        ),
      ),
    ).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "PRICE_SET_BY_CATALOG",
      metadata: { field: "amount", price: "7" },
    });
    expect(
      await refusal(
        call(
          h.wallets,
          h.wallets.spend,
          { walletId: w.writer, amount: 0n, service: "llm", metadata: {}, requestId: "p3" },
          admin,
        ),
      ),
    ).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PRICE_SET_BY_CATALOG" });
    // Outside the catalog, the caller prices its spend as before.
    const own = await call(
      h.wallets,
      h.wallets.spend,
      { walletId: w.writer, amount: 3n, service: "uncatalogued", metadata: {}, requestId: "p4" },
      admin,
    );
    expect(own.charge?.amount).toBe(3n);
    const writer = await call(h.wallets, h.wallets.getWallet, { walletId: w.writer }, admin);
    expect(writer.wallet?.spent).toBe(10n);
  });
});
