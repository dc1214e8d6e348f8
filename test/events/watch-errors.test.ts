import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import type { TollgateError, WalletEvent } from "../../client/index.js";
import {
  EventKind,
  EventServiceClient,
  type WatchEventsResponse,
} from "../../gen/ts-proto/tollgate/v1/event_service.js";
import { memoryStore, redisStore } from "../conformance/harness.js";
import { statusDetails } from "../rpc/harness.js";
import {
  apiKey,
  collectEvents,
  otherApiKey,
  type ServedEvents,
  serveEvents,
  until,
} from "./served-events.js";

/** A raw grpc-js client of the event service, to send what the typed client never would. */
function rawEvents(served: ServedEvents): EventServiceClient {
  return new EventServiceClient(served.server.address, credentials.createInsecure());
}

function auth(key = apiKey): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${key}`);
  return metadata;
}

/** How a watch opened with `request` ends, and what it delivered first. */
function watchOutcome(
  client: EventServiceClient,
  request: Partial<{ walletId: string; kinds: EventKind[]; after: string }>,
  key?: string,
): Promise<{ messages: WatchEventsResponse[]; error: ServiceError }> {
  return new Promise((resolve) => {
    const messages: WatchEventsResponse[] = [];
    const call = client.watchEvents({ walletId: "", kinds: [], after: "", ...request }, auth(key));
    call.on("data", (m: WatchEventsResponse) => messages.push(m));
    call.on("error", (error: ServiceError) => resolve({ messages, error }));
  });
}

describe.each([memoryStore, redisStore])("WatchEvents refusals on $name", (factory) => {
  let served: ServedEvents | undefined;
  let raw: EventServiceClient | undefined;
  afterEach(async () => {
    raw?.close();
    await served?.dispose();
    served = undefined;
    raw = undefined;
  });

  it("refuses bad input with a reason and the field, and keeps serving", async () => {
    served = await serveEvents(factory);
    raw = rawEvents(served);
    const task = await served.tg.wallets.create({ name: "task", budget: 10 });
    const other = await served.tg.wallets.create({ name: "other", budget: 10 });
    const theirs = await served.client({ key: otherApiKey }).wallets.create({ budget: 10 });
    const { nextCursor: otherCursor } = await other.listEvents();

    const cases: [
      Partial<{ walletId: string; kinds: EventKind[]; after: string }>,
      status,
      string,
    ][] = [
      [
        { walletId: task.id, kinds: [EventKind.EVENT_KIND_UNSPECIFIED] },
        status.INVALID_ARGUMENT,
        "kinds",
      ],
      [{ walletId: task.id, kinds: [99 as EventKind] }, status.INVALID_ARGUMENT, "kinds"],
      [{ walletId: task.id, after: "not-a-cursor" }, status.INVALID_ARGUMENT, "after"],
      [
        { walletId: task.id, after: Buffer.from('{"v":1,"t":{"x":"1-1"}}').toString("base64url") },
        status.INVALID_ARGUMENT,
        "after",
      ],
      [{ walletId: task.id, after: otherCursor }, status.INVALID_ARGUMENT, "after"],
      [{ walletId: "w_nope" }, status.INVALID_ARGUMENT, "wallet_id"],
      [{ walletId: theirs.id }, status.NOT_FOUND, ""],
    ];
    for (const [request, code, field] of cases) {
      const { error, messages } = await watchOutcome(raw, request);
      expect(error.code, JSON.stringify(request)).toBe(code);
      expect(messages).toEqual([]);
      const { errorInfo, badRequest } = statusDetails(error);
      if (field !== "") {
        expect(errorInfo?.metadata.field ?? badRequest?.fieldViolations[0]?.field).toBe(field);
      } else {
        expect(errorInfo?.reason).toBe("WALLET_NOT_FOUND");
      }
    }
    // A cursor of a project-wide watch names the caller's trees only.
    const theirCursor = (await served.client({ key: otherApiKey }).events.list()).nextCursor;
    const foreign = await watchOutcome(raw, { after: theirCursor });
    expect(foreign.error.code).toBe(status.INVALID_ARGUMENT);
    // Nothing changed, and the server still serves.
    expect((await task.refresh()).available).toBe(10n);
    expect((await task.listEvents()).events.map((e) => e.kind)).toEqual(["WALLET_CREATED"]);
  });

  it("limits open watchers per project with RESOURCE_EXHAUSTED, and frees a slot when one ends", async () => {
    served = await serveEvents(factory, { server: { maxWatchersPerProject: 2 } });
    const task = await served.tg.wallets.create({ name: "task", budget: 10 });
    const first = task.watch();
    const second = task.watch();
    const a = collectEvents(first);
    const b = collectEvents(second);
    await until(() => first.lastCursor !== "" && second.lastCursor !== "", "two watches open");
    const third = collectEvents(task.watch());
    const error = (await third.done) as TollgateError;
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error.reason).toBe("TOO_MANY_WATCHERS");
    expect(error.metadata.limit).toBe("2");
    // Another project has slots of its own.
    const theirs = await served.client({ key: otherApiKey }).wallets.create({ budget: 1 });
    const their = theirs.watch();
    collectEvents(their);
    await until(() => their.lastCursor !== "", "another project's watch");
    their.close();
    first.close();
    await a.done;
    const fourth = task.watch();
    const d = collectEvents(fourth);
    await until(() => fourth.lastCursor !== "", "a watch in the freed slot");
    second.close();
    fourth.close();
    await Promise.all([b.done, d.done]);
  });
});

describe("WatchEvents retention and slow watchers (memory)", () => {
  let served: ServedEvents | undefined;
  afterEach(async () => {
    await served?.dispose();
    served = undefined;
  });

  it("fails OUT_OF_RANGE with EVENTS_EXPIRED for a cursor older than retention", async () => {
    served = await serveEvents(memoryStore, { store: { eventRetention: { maxEventsPerTree: 5 } } });
    const task = await served.tg.wallets.create({
      name: "task",
      budget: 1000,
      alertThresholds: [1000],
    });
    const { nextCursor } = await task.listEvents();
    for (let i = 0; i < 10; i++) await task.spend(1, { service: "llm" });
    const error = (await collectEvents(task.watch({ after: nextCursor })).done) as TollgateError;
    expect(error.code).toBe(status.OUT_OF_RANGE);
    expect(error.reason).toBe("EVENTS_EXPIRED");
    expect(error.metadata.root_id).toBe(task.id);
    const listed = await task.listEvents({ after: nextCursor }).catch((e: TollgateError) => e);
    expect((listed as TollgateError).reason).toBe("EVENTS_EXPIRED");
    // From the oldest retained, the newest five.
    expect((await task.listEvents()).events.map((e) => e.sequence)).toEqual([7n, 8n, 9n, 10n, 11n]);
  });

  it("ends a watcher that stops reading with ABORTED WATCHER_TOO_SLOW and its cursor, while spends go on", async () => {
    served = await serveEvents(memoryStore, { server: { watchStallMs: 1000 } });
    const task = await served.tg.wallets.create({
      name: "task",
      budget: 1_000_000,
      alertThresholds: [1000],
    });
    const raw = rawEvents(served);
    const messages: WatchEventsResponse[] = [];
    const ended = new Promise<ServiceError>((resolve) => {
      const call = raw.watchEvents({ walletId: task.id, kinds: [], after: "" }, auth());
      call.once("data", (m: WatchEventsResponse) => {
        messages.push(m);
        // Stop reading: grpc-js stops draining the socket, the server's buffer fills.
        call.pause();
        setTimeout(() => call.resume(), 3000);
      });
      call.on("data", (m: WatchEventsResponse) => messages.push(m));
      call.on("error", resolve);
    });
    const metadata = { note: "x".repeat(250) };
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 150; i++) await task.spend(1, { service: "llm", metadata });
      }),
    );
    const error = await ended;
    raw.close();
    expect(error.code).toBe(status.ABORTED);
    const { errorInfo } = statusDetails(error);
    expect(errorInfo?.reason).toBe("WATCHER_TOO_SLOW");
    // The cursor resumes right after the last event it wrote: nothing is lost.
    const cursor = errorInfo?.metadata.cursor ?? "";
    expect(cursor).not.toBe("");
    const rest: WalletEvent[] = [];
    for (let after = cursor; ; ) {
      const page = await task.listEvents({ after, pageSize: 1000 });
      rest.push(...page.events);
      if (page.events.length === 0) break;
      after = page.nextCursor;
    }
    const deliveredSeqs = messages.flatMap((m) => (m.event ? [m.event.sequence] : []));
    const all = [...deliveredSeqs, ...rest.map((e) => e.sequence)];
    const first = all[0] ?? 0n;
    expect(all).toEqual(all.map((_, i) => first + BigInt(i)));
    expect(all.at(-1)).toBe(1201n);
  });
});
