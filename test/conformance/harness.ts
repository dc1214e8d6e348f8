import { afterEach, beforeAll, beforeEach, expect, inject } from "vitest";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { type ErrorMetadata, LedgerError } from "../../server/ledger/ledger-error.js";
import type { ReasonCode } from "../../server/ledger/reasons.js";
import type { ChargeLine, Receipt, WalletView } from "../../server/ledger/types.js";
import type { LedgerStore, StoreOptions } from "../../server/store/ledger-store.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";

/**
 * The conformance harness: every case runs once per store through the real `Ledger`, with a fake
 * clock so hold expiry is driven by the test, never by wall time.
 */

/** A store under test and how to tear it down (Redis: delete this test's keys, quit the client). */
export interface OpenedStore {
  store: LedgerStore;
  dispose(): Promise<void>;
}

/** Builds a fresh, empty store (Redis: under a key prefix no other test uses). */
export interface StoreFactory {
  name: string;
  open(options?: StoreOptions): Promise<OpenedStore>;
}

// Stores are imported when a test opens one, so a store that fails to load fails only its own
// cases and the other store's results still come through.

export const memoryStore: StoreFactory = {
  name: "memory",
  async open(options) {
    const { MemoryLedgerStore } = await import("../../server/store/memory/memory-ledger-store.js");
    const store = new MemoryLedgerStore(options);
    return { store, dispose: () => store.close() };
  },
};

export const redisStore: StoreFactory = {
  name: "redis",
  async open(options) {
    const { createRedisClient, waitForReady } = await import("../../server/store/redis/connect.js");
    const { RedisLedgerStore } = await import("../../server/store/redis/redis-ledger-store.js");
    const redis = createRedisClient(inject("redisUrl"));
    const keyPrefix = testKeyPrefix();
    const store = new RedisLedgerStore(redis, { ...options, keyPrefix });
    return {
      store,
      async dispose() {
        // Delete before closing: the store may quit the client it was given. The client queues
        // nothing while connecting, so a test that never used it must wait for it here.
        await waitForReady(redis, 10_000);
        await deleteKeys(redis, keyPrefix);
        await store.close();
        if (redis.status === "ready") await redis.quit();
      },
    };
  },
};

/**
 * The Redis store on a 3-master Redis Cluster (started once per run by global-setup.ts): the same
 * scripts, routed by each tree's hash tag to the master of its slot.
 */
export const redisClusterStore: StoreFactory = {
  name: "redis cluster",
  async open(options) {
    const { createRedisCluster, waitForReady } = await import(
      "../../server/store/redis/connect.js"
    );
    const { RedisLedgerStore } = await import("../../server/store/redis/redis-ledger-store.js");
    const cluster = createRedisCluster(inject("redisClusterUrl"));
    const keyPrefix = testKeyPrefix();
    const store = new RedisLedgerStore(cluster, { ...options, keyPrefix });
    return {
      store,
      async dispose() {
        await waitForReady(cluster, 10_000);
        await deleteKeys(cluster, keyPrefix);
        await store.close();
        if (cluster.status === "ready") await cluster.quit();
      },
    };
  },
};

/** Every store implementation; each conformance case runs against all of them. */
export const storeFactories: StoreFactory[] = [memoryStore, redisStore, redisClusterStore];

/** 2025-01-01T00:00:00Z: a fixed start, so expected timestamps are plain numbers. */
export const startMs = Date.UTC(2025, 0, 1);

/** A clock the test moves by hand. */
export interface FakeClock {
  now(): number;
  advance(ms: number): void;
}

export function fakeClock(start = startMs): FakeClock {
  let nowMs = start;
  return {
    now: () => nowMs,
    advance(ms) {
      nowMs += ms;
    },
  };
}

/** Credentials live 60 s in these tests, the service default. */
export const credentialTtlMs = 60_000;

/** What each test gets: a ledger on a fresh store, its clock and its issuer. */
export interface LedgerEnv {
  ledger: Ledger;
  store: LedgerStore;
  clock: FakeClock;
  issuer: CredentialIssuer;
}

/**
 * Registers hooks in the enclosing `describe` that give every test a ledger on a fresh store, and
 * returns an accessor for it. The issuer is shared per file: generating keys is not what we test.
 */
export function useLedger(factory: StoreFactory, options?: StoreOptions): () => LedgerEnv {
  let issuer: CredentialIssuer | undefined;
  let opened: OpenedStore | undefined;
  let env: LedgerEnv | undefined;
  beforeAll(async () => {
    issuer = await CredentialIssuer.create(undefined, credentialTtlMs);
  });
  beforeEach(async () => {
    if (issuer === undefined) throw new Error("issuer not ready");
    opened = await factory.open(options);
    const clock = fakeClock();
    env = {
      ledger: new Ledger(opened.store, issuer, { now: clock.now }),
      store: opened.store,
      clock,
      issuer,
    };
  });
  afterEach(async () => {
    await opened?.dispose();
    opened = undefined;
    env = undefined;
  });
  return () => {
    if (env === undefined) throw new Error("useLedger: no ledger outside a test");
    return env;
  };
}

/** The project most cases act as; `otherProject` is a second tenant that must see nothing. */
export const project = "acme";
export const otherProject = "globex";

let requestSeq = 0;

/** A request id no other call in this run uses. */
export function rid(label = "req"): string {
  requestSeq += 1;
  return `${label}-${requestSeq}`;
}

/**
 * Awaits a call that must be refused and checks the reason (and the named metadata entries).
 * Returns the error for further checks.
 */
export async function expectRefused(
  call: Promise<unknown>,
  reason: ReasonCode,
  metadata?: ErrorMetadata,
): Promise<LedgerError> {
  let outcome: unknown;
  try {
    outcome = await call;
  } catch (error) {
    expect(error).toBeInstanceOf(LedgerError);
    const ledgerError = error as LedgerError;
    expect({ reason: ledgerError.reason, metadata: ledgerError.metadata }).toMatchObject({
      reason,
      metadata: metadata ?? {},
    });
    return ledgerError;
  }
  throw new Error(`expected ${reason}, but the call succeeded with ${JSON.stringify(outcome)}`);
}

/** INVALID_ARGUMENT naming `field`. */
export function expectInvalid(call: Promise<unknown>, field: string): Promise<LedgerError> {
  return expectRefused(call, "INVALID_ARGUMENT", { field });
}

/** Creates a root wallet (hard-capped unless told otherwise). */
export function createRoot(
  ledger: Ledger,
  budget: number,
  options: WalletOptions = {},
  asProject = project,
): Promise<WalletView> {
  return ledger.createWallet(asProject, {
    name: options.name ?? "task",
    budget,
    hardCap: options.hardCap,
    metadata: options.metadata,
    alertThresholds: options.alertThresholds,
    requestId: rid("root"),
  });
}

/** Optional settings of a new wallet (unset: the ledger's defaults). */
export interface WalletOptions {
  name?: string;
  hardCap?: boolean;
  metadata?: Record<string, string>;
  alertThresholds?: number[];
}

/** Carves a child out of `parentId`. */
export function createChild(
  ledger: Ledger,
  parentId: string,
  budget: number,
  options: WalletOptions = {},
): Promise<WalletView> {
  return ledger.createWallet(project, {
    parentId,
    name: options.name ?? "child",
    budget,
    hardCap: options.hardCap,
    metadata: options.metadata,
    alertThresholds: options.alertThresholds,
    requestId: rid("child"),
  });
}

/** Spends `amount` on `service` (default "search") with optional metadata. */
export function spend(
  ledger: Ledger,
  walletId: string,
  amount: number,
  options: { service?: string; metadata?: Record<string, string>; requestId?: string } = {},
) {
  return ledger.spend(project, {
    walletId,
    amount,
    service: options.service ?? "search",
    metadata: options.metadata,
    requestId: options.requestId ?? rid("spend"),
  });
}

/** Every line of the wallet's subtree, oldest first (one page: tests stay well under 1000). */
export async function allLines(
  ledger: Ledger,
  walletId: string,
  includeDescendants = true,
): Promise<ChargeLine[]> {
  const page = await ledger.listCharges(project, { walletId, includeDescendants, pageSize: 1000 });
  expect(page.nextPageToken).toBe("");
  return page.items;
}

/** Every wallet of the subtree under `walletId`, parents before children. */
export async function subtreeWallets(ledger: Ledger, walletId: string): Promise<WalletView[]> {
  const top = await ledger.getWallet(project, { walletId });
  const out = [top];
  const page = await ledger.listWallets(project, { parentId: walletId, pageSize: 1000 });
  for (const child of page.items) out.push(...(await subtreeWallets(ledger, child.id)));
  return out;
}

/** Everything a caller can observe about a tree: each wallet, each receipt, every line. */
export interface TreeState {
  wallets: WalletView[];
  receipts: Receipt[];
  lines: ChargeLine[];
}

export async function treeState(ledger: Ledger, rootId: string): Promise<TreeState> {
  const wallets = await subtreeWallets(ledger, rootId);
  const receipts: Receipt[] = [];
  for (const wallet of wallets)
    receipts.push(await ledger.getReceipt(project, { walletId: wallet.id }));
  return { wallets, receipts, lines: await allLines(ledger, rootId) };
}

/** Runs a call that must be refused and checks that the tree looks exactly as before. */
export async function expectRefusedUnchanged(
  ledger: Ledger,
  rootId: string,
  call: () => Promise<unknown>,
  reason: ReasonCode,
  metadata?: ErrorMetadata,
): Promise<LedgerError> {
  const before = await treeState(ledger, rootId);
  const error = await expectRefused(call(), reason, metadata);
  expect(await treeState(ledger, rootId)).toEqual(before);
  return error;
}
