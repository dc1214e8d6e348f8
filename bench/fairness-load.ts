import { randomBytes } from "node:crypto";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import type { Redis } from "ioredis";
import { ReceiptServiceClient } from "../gen/ts-proto/tollgate/v1/receipt_service.js";
import { WalletStatus } from "../gen/ts-proto/tollgate/v1/wallet.js";
import { WalletServiceClient } from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import { treeKey } from "../server/store/redis/keys.js";
import type { World } from "./fairness-setup.js";

/**
 * Project A's side of `npm run bench:fairness`, through the gRPC server with the generated stubs:
 * from E it reads its 10,000-child tree (GetReceipt, then ListChildReceipts and ListWallets page
 * by page, over and over), calls GetWallet on each hold tree (which works that tree's backlog off
 * in the foreground, batch by batch, alongside the server's sweeper) and closes the wide root.
 * Then the checks that the work was all done, and done right.
 */

/** A's clients, with the project's key on every call. */
export class ProjectClient {
  readonly wallets: WalletServiceClient;
  readonly receipts: ReceiptServiceClient;
  private readonly metadata = new Metadata();

  constructor(address: string, apiKey: string) {
    this.wallets = new WalletServiceClient(address, credentials.createInsecure());
    this.receipts = new ReceiptServiceClient(address, credentials.createInsecure());
    this.metadata.set("authorization", `Bearer ${apiKey}`);
  }

  /** Calls `invoke` with the key and a 5-minute deadline, as a promise. */
  call<Res>(
    invoke: (
      metadata: Metadata,
      options: { deadline: number },
      done: (error: ServiceError | null, response: Res) => void,
    ) => unknown,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke(this.metadata, { deadline: Date.now() + 300_000 }, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  }

  close(): void {
    this.wallets.close();
    this.receipts.close();
  }
}

/**
 * Before the idle phase: every kind of call A makes later, once, so the server's first-call costs
 * (JIT, lazy modules) are not counted as A's backlog. Reads the wide tree (one page each), a hold
 * tree (nothing is due yet) and closes the small warm-up tree.
 */
export async function warmUp(client: ProjectClient, world: World, pageSize: number): Promise<void> {
  const walletId = world.wideRoot;
  for (let round = 0; round < 3; round++) {
    await client.call((md, opts, done) => client.receipts.getReceipt({ walletId }, md, opts, done));
    await client.call((md, opts, done) =>
      client.receipts.listChildReceipts({ walletId, pageSize, pageToken: "" }, md, opts, done),
    );
    await client.call((md, opts, done) =>
      client.wallets.listWallets({ parentId: walletId, pageSize, pageToken: "" }, md, opts, done),
    );
    await client.call((md, opts, done) =>
      client.wallets.getWallet({ walletId: world.holdTrees[0]?.rootId ?? "" }, md, opts, done),
    );
  }
  await client.call((md, opts, done) =>
    client.wallets.closeWallet(
      { walletId: world.warmRoot, requestId: `close-${randomBytes(6).toString("hex")}` },
      md,
      opts,
      done,
    ),
  );
}

/** How long each kind of A's calls took (ms), and when the work was done (epoch ms). */
export interface LoadResult {
  getWalletMs: number[];
  closeMs: number;
  closeStartMs: number;
  /** First poll (every 50 ms) that found no open hold on any hold tree. */
  drainedAtMs: number;
  readPasses: number;
  readMs: { getReceipt: number[]; childPage: number[]; walletPage: number[] };
}

/** Runs A's load from `startAtMs` (E) until its backlog is gone, the close done, a read pass over. */
export async function runLoad(options: {
  client: ProjectClient;
  redis: Redis;
  keyPrefix: string;
  world: World;
  pageSize: number;
  closeDelayMs: number;
  /** How many of the hold trees A calls GetWallet on at E (the others: the sweeper alone). */
  foregroundTrees: number;
  /** How many of those GetWallet calls run at once. */
  foregroundConcurrency: number;
}): Promise<LoadResult> {
  const { client, world, pageSize } = options;
  const timed = async <T>(into: number[], op: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = await op();
    into.push(performance.now() - start);
    return result;
  };
  let finished = false;

  const holdKeys = world.holdTrees.map(({ rootId }) =>
    treeKey(options.keyPrefix, rootId, "openHolds"),
  );
  const drained = new Promise<number>((resolve, reject) => {
    const poll = async () => {
      const counts = await Promise.all(holdKeys.map((key) => options.redis.zcard(key)));
      if (counts.every((n) => n === 0)) return resolve(Date.now());
      setTimeout(() => poll().catch(reject), 50);
    };
    poll().catch(reject);
  });

  const getWalletMs: number[] = [];
  const foregroundRoots = world.holdTrees.slice(0, options.foregroundTrees).map((t) => t.rootId);
  const drainTrees = async () => {
    for (;;) {
      const walletId = foregroundRoots.shift();
      if (walletId === undefined) return;
      await timed(getWalletMs, () =>
        client.call((md, opts, done) => client.wallets.getWallet({ walletId }, md, opts, done)),
      );
    }
  };
  const foreground = Promise.all(
    Array.from(
      { length: Math.min(options.foregroundConcurrency, foregroundRoots.length) },
      drainTrees,
    ),
  );

  const closeStartMs = Date.now() + options.closeDelayMs;
  const closing = (async () => {
    await new Promise((r) => setTimeout(r, options.closeDelayMs));
    const start = performance.now();
    await client.call((md, opts, done) =>
      client.wallets.closeWallet(
        { walletId: world.wideRoot, requestId: `close-${randomBytes(6).toString("hex")}` },
        md,
        opts,
        done,
      ),
    );
    return performance.now() - start;
  })();

  const readMs: LoadResult["readMs"] = { getReceipt: [], childPage: [], walletPage: [] };
  let readPasses = 0;
  const reading = (async () => {
    do {
      await timed(readMs.getReceipt, () =>
        client.call((md, opts, done) =>
          client.receipts.getReceipt({ walletId: world.wideRoot }, md, opts, done),
        ),
      );
      let token = "";
      do {
        const page = await timed(readMs.childPage, () =>
          client.call<{ nextPageToken: string }>((md, opts, done) =>
            client.receipts.listChildReceipts(
              { walletId: world.wideRoot, pageSize, pageToken: token },
              md,
              opts,
              done,
            ),
          ),
        );
        token = page.nextPageToken;
      } while (token !== "");
      do {
        const page = await timed(readMs.walletPage, () =>
          client.call<{ nextPageToken: string }>((md, opts, done) =>
            client.wallets.listWallets(
              { parentId: world.wideRoot, pageSize, pageToken: token },
              md,
              opts,
              done,
            ),
          ),
        );
        token = page.nextPageToken;
      } while (token !== "");
      readPasses += 1;
    } while (!finished);
  })();

  const [drainedAtMs, closeMs] = await Promise.all([drained, closing, foreground]).then(
    ([at, ms]) => [at, ms] as const,
  );
  finished = true;
  await reading;
  return { getWalletMs, closeMs, closeStartMs, drainedAtMs, readPasses, readMs };
}

/** One correctness check, for the report and the smoke test. */
export interface Check {
  what: string;
  pass: boolean;
}

/** After the run: every hold expired, the close complete, B charged exactly what it spent. */
export async function verify(
  a: ProjectClient,
  b: ProjectClient,
  world: World,
  bSpends: number,
): Promise<Check[]> {
  const checks: Check[] = [];
  const n = (value: number | bigint) => value.toLocaleString("en-US");
  let held = 0n;
  let expired = 0n;
  const expected = world.holdTrees.reduce((sum, t) => sum + t.holds, 0);
  for (const { rootId } of world.holdTrees) {
    const { wallet } = await a.call<{ wallet?: { held: bigint } }>((md, opts, done) =>
      a.wallets.getWallet({ walletId: rootId }, md, opts, done),
    );
    held += wallet?.held ?? -1n;
    const { receipt } = await a.call<{ receipt?: { voidedHoldCount: bigint } }>((md, opts, done) =>
      a.receipts.getReceipt({ walletId: rootId }, md, opts, done),
    );
    expired += receipt?.voidedHoldCount ?? 0n;
  }
  checks.push({
    what: `held is 0 on all ${world.holdTrees.length} of A's hold trees (total held ${n(held)})`,
    pass: held === 0n,
  });
  checks.push({
    what: `${n(expired)} holds expired on A's hold trees (voidedHoldCount), ${n(expected)} expected`,
    pass: expired === BigInt(expected),
  });

  let closed = 0;
  let listed = 0;
  let token = "";
  do {
    const page = await a.call<{ wallets: { status: WalletStatus }[]; nextPageToken: string }>(
      (md, opts, done) =>
        a.wallets.listWallets(
          { parentId: world.wideRoot, pageSize: 1000, pageToken: token },
          md,
          opts,
          done,
        ),
    );
    listed += page.wallets.length;
    closed += page.wallets.filter((w) => w.status === WalletStatus.WALLET_STATUS_CLOSED).length;
    token = page.nextPageToken;
  } while (token !== "");
  const { receipt } = await a.call<{
    receipt?: { voidedHoldCount: bigint; totalCredits: bigint; available: bigint };
  }>((md, opts, done) => a.receipts.getReceipt({ walletId: world.wideRoot }, md, opts, done));
  const { wallet: root } = await a.call<{ wallet?: { status: WalletStatus } }>((md, opts, done) =>
    a.wallets.getWallet({ walletId: world.wideRoot }, md, opts, done),
  );
  checks.push({
    what: `the close left the wide root and all ${n(listed)} of ${n(world.children)} children closed (${n(closed)} closed)`,
    pass:
      root?.status === WalletStatus.WALLET_STATUS_CLOSED &&
      listed === world.children &&
      closed === world.children,
  });
  checks.push({
    what: `the close voided the ${n(world.childHolds)} children's holds (voidedHoldCount ${n(receipt?.voidedHoldCount ?? 0n)}) and kept their ${n(world.childSpends * 5)} credits spent`,
    pass:
      receipt?.voidedHoldCount === BigInt(world.childHolds) &&
      receipt.totalCredits === BigInt(world.childSpends * 5),
  });

  const { wallet: bRoot } = await b.call<{ wallet?: { spent: bigint } }>((md, opts, done) =>
    b.wallets.getWallet({ walletId: world.bRoot }, md, opts, done),
  );
  checks.push({
    what: `B's spent ${n(bRoot?.spent ?? -1n)} equals its ${n(bSpends)} successful spends`,
    pass: bRoot?.spent === BigInt(bSpends),
  });
  return checks;
}
