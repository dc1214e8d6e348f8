import { describe, expect, it } from "vitest";
import { MemoryAgentKeyStore } from "../../server/agent-keys/memory-agent-key-store.js";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { rootIdFor } from "../../server/ledger/ids.js";
import { Ledger } from "../../server/ledger/ledger.js";
import type { ChargeLine, HoldView, WalletView } from "../../server/ledger/types.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { MemoryRedemptionStore } from "../../server/store/memory/memory-redemption-store.js";

/**
 * The ledger without a real store: a store that records the commands it receives, to check
 * what the ledger derives (root ids, defaults, units, fingerprints, cursors) before any store runs.
 */

const nowMs = Date.UTC(2025, 0, 1);
const rootId = rootIdFor("acme", "root-1");
const wallet = { id: rootId } as WalletView;
const line = {
  id: `${rootId}.c1`,
  walletId: rootId,
  service: "s",
  amount: 1,
  createdAtMs: nowMs,
} as ChargeLine;
const hold = {
  id: `${rootId}.h1`,
  walletId: rootId,
  service: "s",
  amount: 1,
  createdAtMs: nowMs,
} as HoldView;

function recordingStore() {
  const calls: Array<[string, Record<string, unknown>]> = [];
  const record =
    <T>(name: string, result: T) =>
    async (cmd: object): Promise<T> => {
      calls.push([name, { ...cmd }]);
      return result;
    };
  const store: LedgerStore = {
    createRoot: record("createRoot", wallet),
    createChild: record("createChild", wallet),
    getWallet: record("getWallet", wallet),
    listWallets: record("listWallets", { items: [wallet], nextCursor: 5 }),
    addCredits: record("addCredits", wallet),
    closeWallet: record("closeWallet", { wallet, returned: 0 }),
    spend: record("spend", { line, remaining: 0 }),
    authorize: record("authorize", { hold, remaining: 0 }),
    capture: record("capture", { line, hold, remaining: 0 }),
    void: record("void", { line, hold, remaining: 0 }),
    getReceipt: record("getReceipt", {} as never),
    listCharges: record("listCharges", { items: [], nextCursor: undefined }),
    listBreakdown: record("listBreakdown", { items: [], nextCursor: undefined }),
    listChildReceipts: record("listChildReceipts", { items: [], nextCursor: undefined }),
    sweep: async () => false,
    readEvents: record("readEvents", {
      events: [],
      scannedTo: undefined,
      firstSeq: 1,
      head: { ms: 0, seq: 0 },
    }),
    subscribeEvents: () => () => {},
    ping: async () => {},
    close: async () => {},
    holdInfo: async () => undefined,
    agentKeys: new MemoryAgentKeyStore(),
    redemptions: new MemoryRedemptionStore(),
  };
  return { store, calls };
}

async function setup() {
  const { store, calls } = recordingStore();
  const issuer = await CredentialIssuer.create(undefined, 60_000);
  const ledger = new Ledger(store, issuer, { now: () => nowMs });
  return { ledger, calls };
}

describe("ledger commands", () => {
  it("creates a root under the id derived from project and request id, hard-capped by default", async () => {
    const { ledger, calls } = await setup();
    await ledger.createWallet("acme", { budget: 5n, requestId: "root-1" });
    expect(calls).toEqual([
      [
        "createRoot",
        {
          project: "acme",
          requestId: "root-1",
          nowMs,
          fingerprint: expect.any(String),
          rootId,
          name: "",
          budget: 5,
          hardCap: true,
          metadata: {},
          alertThresholds: [50, 80, 100],
        },
      ],
    ]);
  });

  it("leaves a child's cap for the store to inherit when the caller gives none", async () => {
    const { ledger, calls } = await setup();
    await ledger.createWallet("acme", { parentId: rootId, budget: 1, requestId: "c" });
    expect(calls[0]?.[0]).toBe("createChild");
    expect(calls[0]?.[1]).toMatchObject({ parentId: rootId, hardCap: undefined, budget: 1 });
  });

  it("turns a hold ttl in seconds into milliseconds, 300 s when none is given", async () => {
    const { ledger, calls } = await setup();
    const input = { walletId: rootId, amount: 1, service: "s", requestId: "a" };
    await ledger.authorize("acme", input);
    await ledger.authorize("acme", { ...input, ttlSeconds: 2 });
    expect(calls.map(([, cmd]) => cmd.ttlMs)).toEqual([300_000, 2000]);
  });

  it("gives a request the same fingerprint however its numbers and metadata are spelled", async () => {
    const { ledger, calls } = await setup();
    const base = { walletId: rootId, service: "s", requestId: "r" };
    await ledger.spend("acme", { ...base, amount: 3, metadata: { a: "1", b: "2" } });
    await ledger.spend("acme", { ...base, amount: 3n, metadata: { b: "2", a: "1" } });
    await ledger.spend("acme", { ...base, amount: 4, metadata: { a: "1", b: "2" } });
    const [first, second, third] = calls.map(([, cmd]) => cmd.fingerprint);
    expect(second).toBe(first);
    expect(third).not.toBe(first);
  });

  it("turns page tokens into store cursors and back", async () => {
    const { ledger, calls } = await setup();
    const page = await ledger.listWallets("acme", { parentId: rootId, pageSize: 5 });
    expect(page.nextPageToken).not.toBe("");
    await ledger.listWallets("acme", {
      parentId: rootId,
      pageSize: 5,
      pageToken: page.nextPageToken,
    });
    expect(calls.map(([, q]) => [q.cursor, q.pageSize])).toEqual([
      [0, 5],
      [5, 5],
    ]);
    const charges = await ledger.listCharges("acme", { walletId: rootId });
    expect(charges.nextPageToken).toBe("");
  });

  it("never reaches the store with an invalid request", async () => {
    const { ledger, calls } = await setup();
    await expect(
      ledger.spend("acme", { walletId: rootId, amount: 0, service: "s", requestId: "r" }),
    ).rejects.toMatchObject({
      reason: "INVALID_ARGUMENT",
      metadata: { field: "amount" },
    });
    expect(calls).toEqual([]);
  });
});
