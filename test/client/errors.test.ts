import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  HoldAlreadyResolvedError,
  HoldExpiredError,
  IdempotencyKeyReusedError,
  InsufficientCreditsError,
  InvalidArgumentError,
  type Mode,
  NotFoundError,
  TollgateError,
  UnauthenticatedError,
  UnavailableError,
  WalletClosedError,
} from "../../client/index.js";
import { freePort } from "../support/redis-server.js";
import { rejection, type Served, serve } from "./support.js";

/**
 * Every typed error class, each from a real server's answer (a real Redis behind it), in both
 * modes: the stream decodes its per-operation google.rpc.Status into the same classes as the
 * unary trailer.
 */
describe.each<Mode>(["unary", "stream"])("typed errors (%s mode)", (mode) => {
  let served: Served | undefined;
  let clockMs = Date.now();
  afterEach(async () => {
    await served?.dispose();
    served = undefined;
  });
  const start = async () => {
    clockMs = Date.now();
    served = await serve({ client: { mode }, server: { now: () => clockMs } });
    return served.tg;
  };

  it("InsufficientCreditsError names the wallet, requested and available", async () => {
    const tg = await start();
    const wallet = await tg.wallets.create({ budget: 5 });
    const error = await rejection(
      wallet.spend(7, { service: "search", requestId: "insufficient-1" }),
    );
    expect(error).toBeInstanceOf(InsufficientCreditsError);
    expect(error).toBeInstanceOf(TollgateError);
    expect(error).toMatchObject({
      name: "InsufficientCreditsError",
      code: status.FAILED_PRECONDITION,
      reason: "INSUFFICIENT_CREDITS",
      walletId: wallet.id,
      requested: 7n,
      available: 5n,
      requestId: "insufficient-1",
      metadata: { wallet_id: wallet.id, requested: "7", available: "5" },
    });
    // A carve-out names the parent that lacked the credits.
    const child = await rejection(wallet.createChild({ budget: 6 }));
    expect(child).toMatchObject({ walletId: wallet.id, requested: 6n, available: 5n });
  });

  it("InvalidArgumentError names the field the server refused", async () => {
    const tg = await start();
    const wallet = await tg.wallets.create({ budget: 5 });
    // A zero amount passes the client's checks (it checks types and lengths, not ranges).
    const error = await rejection(wallet.spend(0, { service: "s" }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "INVALID_ARGUMENT",
      field: "amount",
    });
    expect((error as Error).message).toMatch(/^amount: /);
  });

  it("IdempotencyKeyReusedError for a request id reused with other parameters", async () => {
    const tg = await start();
    const wallet = await tg.wallets.create({ budget: 50 });
    const first = await wallet.spend(2, { service: "s", requestId: "reuse-1" });
    const again = await wallet.spend(2, { service: "s", requestId: "reuse-1" });
    expect(again.charge.id).toBe(first.charge.id);
    const error = await rejection(wallet.spend(3, { service: "s", requestId: "reuse-1" }));
    expect(error).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({
      reason: "IDEMPOTENCY_KEY_REUSED",
      field: "request_id",
      requestId: "reuse-1",
    });
    expect((await wallet.refresh()).spent).toBe(2n);
  });

  it("NotFoundError for an unknown wallet or hold", async () => {
    const tg = await start();
    const wallet = await tg.wallets.create({ budget: 5 });
    const missingWallet = `${wallet.id}.w999`;
    const missingHold = `${wallet.id}.h999`;
    const error = await rejection(tg.wallets.get(missingWallet));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({
      code: status.NOT_FOUND,
      reason: "WALLET_NOT_FOUND",
      metadata: { wallet_id: missingWallet },
    });
    const spend = await rejection(tg.stream().spend(missingWallet, 1, { service: "s" }));
    expect(spend).toMatchObject({ reason: "WALLET_NOT_FOUND" });
    const hold = await rejection(wallet.capture(missingHold, 1));
    expect(hold).toBeInstanceOf(NotFoundError);
    expect(hold).toMatchObject({ reason: "HOLD_NOT_FOUND", metadata: { hold_id: missingHold } });
  });

  it("WalletClosedError for a mutation on a closed wallet", async () => {
    const tg = await start();
    const wallet = await tg.wallets.create({ budget: 5 });
    await wallet.close();
    const error = await rejection(wallet.spend(1, { service: "s" }));
    expect(error).toBeInstanceOf(WalletClosedError);
    expect(error).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: "WALLET_CLOSED",
      walletId: wallet.id,
    });
  });

  it("HoldExpiredError once a short-lived hold is past its ttl", async () => {
    const tg = await start();
    const wallet = await tg.wallets.create({ budget: 50 });
    const auth = await wallet.authorize(20, { service: "s", ttlSeconds: 1 });
    clockMs += 1001;
    const error = await rejection(auth.capture(5));
    expect(error).toBeInstanceOf(HoldExpiredError);
    expect(error).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: "HOLD_EXPIRED",
      holdId: auth.hold.id,
    });
    expect((await wallet.refresh()).available).toBe(50n);
  });

  it("HoldAlreadyResolvedError for a second resolution of a hold", async () => {
    const tg = await start();
    const wallet = await tg.wallets.create({ budget: 50 });
    const auth = await wallet.authorize(20, { service: "s" });
    await auth.void();
    const error = await rejection(auth.capture(5));
    expect(error).toBeInstanceOf(HoldAlreadyResolvedError);
    expect(error).toMatchObject({ reason: "HOLD_ALREADY_RESOLVED", holdId: auth.hold.id });
  });

  it("UnauthenticatedError for a wrong API key, never retried", async () => {
    const tg = await start();
    const owner = await tg.wallets.create({ budget: 5 });
    const stranger = served?.client({ apiKey: "wrong-key-0123456789abcdef" });
    const error = await rejection(stranger?.wallets.create({ budget: 5 }) ?? Promise.resolve());
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ code: status.UNAUTHENTICATED, reason: "UNAUTHENTICATED" });
    const spend = await rejection(
      stranger?.stream().spend(owner.id, 1, { service: "s" }) ?? Promise.resolve(),
    );
    expect(spend).toBeInstanceOf(UnauthenticatedError);
  });
});

describe("UnavailableError", () => {
  it("in stream mode once the operation's deadline passes with no server to answer", async () => {
    const { createClient } = await import("../../client/index.js");
    const tg = createClient({
      address: `127.0.0.1:${await freePort()}`,
      mode: "stream",
      deadlineMs: 400,
    });
    try {
      const error = await rejection(
        tg.stream().spend("w_0", 1, { service: "s", requestId: "r-1" }),
      );
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ code: status.DEADLINE_EXCEEDED, requestId: "r-1" });
      expect((error as Error).message).toMatch(/last stream failure: UNAVAILABLE/);
      expect((error as Error).message).toContain("retry with the same request_id r-1");
    } finally {
      tg.close();
    }
  });

  it("after bounded retries against a server that is not there", async () => {
    const { createClient } = await import("../../client/index.js");
    const tg = createClient({
      address: `127.0.0.1:${await freePort()}`,
      retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 10 },
    });
    try {
      const error = await rejection(tg.wallets.create({ budget: 5 }, { requestId: "down-1" }));
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ code: status.UNAVAILABLE, requestId: "down-1" });
      expect((error as Error).message).toContain("retry with the same request_id down-1");
    } finally {
      tg.close();
    }
  });
});
