import { Metadata, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { apiKeysFromFile, apiKeysFromPairs, hashApiKey } from "../../server/auth/api-keys.js";
import { Authenticator } from "../../server/auth/authenticator.js";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import {
  bearer,
  call,
  createRequest,
  failure,
  type Harness,
  startHarness,
  statusDetails,
} from "./harness.js";
import { type StoreUnderTest, stores } from "./stores.js";

const keyA = "alpha-key-0123456789";
const keyB = "bravo-key-0123456789";

describe("API keys", () => {
  it("parses project=key pairs into SHA-256 hashes only", () => {
    expect(apiKeysFromPairs(` alpha=${keyA}, bravo=${keyB} ,`)).toEqual([
      { project: "alpha", keySha256: hashApiKey(keyA) },
      { project: "bravo", keySha256: hashApiKey(keyB) },
    ]);
    expect(hashApiKey("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it.each([
    ["alpha", "entry 1 is not project=key"],
    [`=${keyA}`, "entry 1 is not project=key"],
    ["alpha=short", "entry 1 (alpha): keys must be at least 16 characters"],
    [`al pha=${keyA}`, "entry 1: project names are 1..64 of A-Z a-z 0-9 . _ -"],
    [`alpha=${keyA},bravo=${keyA}`, "a key of project bravo is configured twice"],
  ])("refuses %j", (text, message) => {
    expect(() => apiKeysFromPairs(text)).toThrow(message);
    expect(() => apiKeysFromPairs(text)).not.toThrow(keyA);
  });

  it("parses a key file and normalises hex case", () => {
    const hash = hashApiKey(keyA);
    expect(
      apiKeysFromFile(JSON.stringify([{ project: "alpha", keySha256: hash.toUpperCase() }])),
    ).toEqual([{ project: "alpha", keySha256: hash }]);
    expect(() => apiKeysFromFile("[{")).toThrow("is not valid JSON");
    expect(() => apiKeysFromFile('[{"project":"a","keySha256":"abc"}]')).toThrow(
      "entry 0.keySha256: keySha256 must be 64 hex digits",
    );
  });

  it("authenticates a bearer key to its project and refuses anything else", () => {
    const auth = new Authenticator(apiKeysFromPairs(`alpha=${keyA},bravo=${keyB}`));
    expect(auth.open).toBe(false);
    expect(auth.authenticate(bearer(keyA))).toEqual({ project: "alpha", agent: undefined });
    expect(auth.authenticate(bearer(keyB))).toEqual({ project: "bravo", agent: undefined });
    const lowercase = new Metadata();
    lowercase.set("authorization", `bearer   ${keyB}`);
    expect(auth.authenticate(lowercase)).toEqual({ project: "bravo", agent: undefined });
    const basic = new Metadata();
    basic.set("authorization", `Basic ${keyA}`);
    for (const [metadata, message] of [
      [new Metadata(), "missing API key: send authorization: Bearer <key>"],
      [basic, "missing API key: send authorization: Bearer <key>"],
      [bearer(`${keyA}x`), "invalid API key"],
    ] as const) {
      let thrown: unknown;
      try {
        auth.authenticate(metadata);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(LedgerError);
      expect(thrown).toMatchObject({ reason: "UNAUTHENTICATED", message });
    }
  });

  it("is open with no keys: every caller is project default", () => {
    const auth = new Authenticator([]);
    expect(auth.open).toBe(true);
    expect(auth.authenticate(new Metadata())).toEqual({ project: "default", agent: undefined });
    expect(auth.authenticate(bearer("anything-at-all-here"))).toEqual({
      project: "default",
      agent: undefined,
    });
  });
});

describe.each(stores)("auth through the server ($name store)", ({ open }) => {
  let h: Harness;
  let opened: StoreUnderTest;
  afterEach(async () => {
    await h.close();
    await opened.cleanup();
  });
  const serve = (options: Parameters<typeof startHarness>[0] = {}) => {
    opened = open();
    return startHarness({ store: opened.store, ...options });
  };

  it("refuses a missing or wrong key with UNAUTHENTICATED", async () => {
    h = await serve({ apiKeys: apiKeysFromPairs(`alpha=${keyA}`) });
    expect(h.server.authOpen).toBe(false);
    for (const metadata of [new Metadata(), bearer("not-the-key-0123456789")]) {
      const error = await failure(
        call(h.wallets, h.wallets.getWallet, { walletId: "w_000000000000000000000001" }, metadata),
      );
      expect(error.code).toBe(status.UNAUTHENTICATED);
      expect(statusDetails(error).errorInfo).toEqual({
        reason: "UNAUTHENTICATED",
        domain: "tollgate.dev",
        metadata: {},
      });
    }
    const { wallet } = await call(
      h.wallets,
      h.wallets.createWallet,
      createRequest({ requestId: "r", budget: 5n }),
      bearer(keyA),
    );
    expect(wallet?.budget).toBe(5n);
  });

  it("hides project B's wallets from project A's key: NOT_FOUND for every call", async () => {
    h = await serve({ apiKeys: apiKeysFromPairs(`alpha=${keyA},bravo=${keyB}`) });
    const b = bearer(keyB);
    const a = bearer(keyA);
    const root =
      (
        await call(
          h.wallets,
          h.wallets.createWallet,
          createRequest({ requestId: "r", budget: 100n }),
          b,
        )
      ).wallet?.id ?? "";
    const { hold } = await call(
      h.wallets,
      h.wallets.authorize,
      {
        walletId: root,
        amount: 5n,
        service: "x",
        metadata: {},
        requestId: "h",
        ttlSeconds: 0,
      },
      b,
    );
    const holdId = hold?.id ?? "";

    const attempts = {
      GetWallet: () => call(h.wallets, h.wallets.getWallet, { walletId: root }, a),
      ListWallets: () =>
        call(h.wallets, h.wallets.listWallets, { parentId: root, pageSize: 0, pageToken: "" }, a),
      CreateWallet: () =>
        call(
          h.wallets,
          h.wallets.createWallet,
          createRequest({ requestId: "c", parentId: root, budget: 1n }),
          a,
        ),
      AddCredits: () =>
        call(
          h.wallets,
          h.wallets.addCredits,
          { walletId: root, amount: 1n, requestId: "a", metadata: {} },
          a,
        ),
      Spend: () =>
        call(
          h.wallets,
          h.wallets.spend,
          { walletId: root, amount: 1n, service: "x", metadata: {}, requestId: "s" },
          a,
        ),
      Authorize: () =>
        call(
          h.wallets,
          h.wallets.authorize,
          {
            walletId: root,
            amount: 1n,
            service: "x",
            metadata: {},
            requestId: "z",
            ttlSeconds: 0,
          },
          a,
        ),
      Capture: () =>
        call(
          h.wallets,
          h.wallets.capture,
          { holdId, amount: 1n, requestId: "cap", metadata: {} },
          a,
        ),
      Void: () => call(h.wallets, h.wallets.void, { holdId, requestId: "v" }, a),
      CloseWallet: () =>
        call(h.wallets, h.wallets.closeWallet, { walletId: root, requestId: "cl" }, a),
      GetReceipt: () => call(h.receipts, h.receipts.getReceipt, { walletId: root }, a),
      ListCharges: () =>
        call(
          h.receipts,
          h.receipts.listCharges,
          {
            walletId: root,
            includeDescendants: true,
            pageSize: 0,
            pageToken: "",
          },
          a,
        ),
    };
    for (const [method, attempt] of Object.entries(attempts)) {
      const error = await failure(attempt());
      expect([method, error.code]).toEqual([method, status.NOT_FOUND]);
      // The id A asked for comes back, exactly as it would for an id that does not exist.
      const expected =
        method === "Capture" || method === "Void"
          ? { reason: "HOLD_NOT_FOUND", metadata: { hold_id: holdId } }
          : { reason: "WALLET_NOT_FOUND", metadata: { wallet_id: root } };
      const info = statusDetails(error).errorInfo;
      expect([method, { reason: info?.reason, metadata: info?.metadata }]).toEqual([
        method,
        expected,
      ]);
    }
    const rootsOfA = await call(
      h.wallets,
      h.wallets.listWallets,
      { parentId: "", pageSize: 0, pageToken: "" },
      a,
    );
    expect(rootsOfA.wallets).toEqual([]);

    // Nothing changed for B.
    const { wallet } = await call(h.wallets, h.wallets.getWallet, { walletId: root }, b);
    expect(wallet).toMatchObject({
      budget: 100n,
      spent: 0n,
      held: 5n,
      available: 95n,
      allocated: 0n,
    });
    expect(h.logs.filter((l) => l.project === "alpha" && l.code === "NOT_FOUND")).toHaveLength(11);
  });

  it("runs open with no keys configured", async () => {
    h = await serve();
    expect(h.server.authOpen).toBe(true);
    const { wallet } = await call(
      h.wallets,
      h.wallets.createWallet,
      createRequest({ requestId: "r", budget: 7n }),
    );
    expect(wallet?.budget).toBe(7n);
    expect(h.logs.find((l) => l.method === "CreateWallet")?.project).toBe("default");
  });
});
