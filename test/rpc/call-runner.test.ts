import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { AccessPolicy } from "../../server/auth/access-policy.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { Authenticator } from "../../server/auth/authenticator.js";
import type { Ledger } from "../../server/ledger/ledger.js";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import { createLogger } from "../../server/logger.js";
import { Metrics } from "../../server/metrics/metrics.js";
import type { RpcDependencies, StreamContext } from "../../server/rpc/bodies.js";
import { runServerStream, type StreamSink } from "../../server/rpc/call-runner.js";
import { OpenStreams } from "../../server/rpc/open-streams.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";

const key = "runner-key-0123456789";

function dependencies(): RpcDependencies {
  return {
    ledger: undefined as unknown as Ledger,
    authenticator: new Authenticator([{ project: "p", keySha256: hashApiKey(key) }]),
    access: new AccessPolicy(new MemoryLedgerStore(), Date.now),
    logger: createLogger("silent"),
    metrics: new Metrics(),
    streams: new OpenStreams(),
    serverStreams: new OpenStreams(),
  };
}

const incoming = {
  method: "Watch",
  transport: "grpc" as const,
  request: {},
  authorization: `Bearer ${key}`,
  requestId: "r-1",
};

/** A sink whose sends wait until the test lets them through (or take them at once). */
function manualSink(options: { immediate?: boolean } = {}) {
  const gone = new AbortController();
  const sent: number[] = [];
  const waiting: (() => void)[] = [];
  const sink: StreamSink<number> = {
    clientGone: gone.signal,
    send(message) {
      sent.push(message);
      if (options.immediate) return undefined;
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
  };
  return {
    sink,
    sent,
    gone,
    takeOne: () => waiting.shift()?.(),
  };
}

/** A body that counts how far it was pulled, and records its signal. */
function countingBody(limit = Number.POSITIVE_INFINITY) {
  const state = { pulled: 0, signal: undefined as AbortSignal | undefined, finished: false };
  async function* body(_request: unknown, context: StreamContext) {
    state.signal = context.signal;
    try {
      for (let i = 1; i <= limit; i++) {
        state.pulled = i;
        yield i;
      }
    } finally {
      state.finished = true;
    }
  }
  return { body, state };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("runServerStream", () => {
  it("pulls the body one message ahead of the transport at most, with or without a stall limit", async () => {
    for (const stallLimit of [
      undefined,
      {
        stallMs: 60_000,
        tooSlow: () => new LedgerError("WATCHER_TOO_SLOW", "slow", { cursor: "c" }),
      },
    ]) {
      const deps = dependencies();
      const { sink, sent, gone, takeOne } = manualSink();
      const { body, state } = countingBody();
      const running = runServerStream(deps, incoming, body, sink, stallLimit);
      await tick();
      expect(sent).toEqual([1]);
      expect(state.pulled).toBe(1);
      takeOne();
      await tick();
      takeOne();
      await tick();
      expect(sent).toEqual([1, 2, 3]);
      expect(state.pulled).toBe(3);
      gone.abort();
      expect(await running).toEqual({ failure: undefined, cancelled: true });
      expect(state.signal?.aborted).toBe(true);
    }
  });

  it("ends a stream whose transport does not take a message within the stall limit", async () => {
    const deps = dependencies();
    const { sink, sent, takeOne } = manualSink();
    const { body, state } = countingBody();
    const running = runServerStream(deps, incoming, body, sink, {
      stallMs: 50,
      tooSlow: (last) => new LedgerError("WATCHER_TOO_SLOW", "slow", { cursor: String(last) }),
    });
    await tick();
    takeOne();
    const outcome = await running;
    expect(sent).toEqual([1, 2]);
    expect(outcome.cancelled).toBe(false);
    expect(outcome.failure?.reason).toBe("WATCHER_TOO_SLOW");
    expect(outcome.failure?.status.code).toBe(status.ABORTED);
    expect(state.signal?.aborted).toBe(true);
    await tick();
    expect(state.finished).toBe(true);
  });

  it("ends OK when the body ends, and with the body's error when it throws", async () => {
    const deps = dependencies();
    const { sink, sent } = manualSink({ immediate: true });
    expect(await runServerStream(deps, incoming, countingBody(3).body, sink)).toEqual({
      failure: undefined,
      cancelled: false,
    });
    expect(sent).toEqual([1, 2, 3]);

    async function* failing() {
      yield 1;
      throw new LedgerError("EVENTS_EXPIRED", "gone", { root_id: "w" });
    }
    const failed = await runServerStream(
      deps,
      incoming,
      failing,
      manualSink({ immediate: true }).sink,
    );
    expect(failed.failure?.reason).toBe("EVENTS_EXPIRED");
    expect(failed.failure?.status.code).toBe(status.OUT_OF_RANGE);
  });

  it("ends UNAVAILABLE at shutdown without waiting for a body that ignores its signal", async () => {
    const deps = dependencies();
    async function* stuck() {
      yield 1;
      await new Promise(() => {});
    }
    const running = runServerStream(deps, incoming, stuck, manualSink({ immediate: true }).sink);
    await tick();
    deps.serverStreams.windDownAll();
    const outcome = await running;
    expect(outcome.failure?.status).toEqual({
      code: status.UNAVAILABLE,
      message: "server shutting down; resume by cursor",
      details: [],
    });
  });

  it("refuses a stream without a valid key before running the body", async () => {
    const deps = dependencies();
    const { body, state } = countingBody();
    const outcome = await runServerStream(
      deps,
      { ...incoming, authorization: "Bearer nope-nope-nope-nope" },
      body,
      manualSink().sink,
    );
    expect(outcome.failure?.reason).toBe("UNAUTHENTICATED");
    expect(state.pulled).toBe(0);
    expect(deps.serverStreams.size).toBe(0);
  });
});
