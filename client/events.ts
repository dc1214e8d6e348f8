import { type ServiceError, status } from "@grpc/grpc-js";
import {
  EventKind as EventKindMessage,
  type Event as EventMessage,
  type WatchEventsResponse,
} from "../gen/ts-proto/tollgate/v1/event_service.js";
import { required, toCharge } from "./convert.js";
import type { ClientCore } from "./core.js";
import { errorFromServiceError } from "./errors/from-status.js";
import type { TollgateError } from "./errors/tollgate-error.js";
import type { CallOptions } from "./options.js";
import { backoffMs, sleep } from "./retry.js";
import type { Charge } from "./types.js";

/** What an event reports (docs/events.md). */
export type EventKind =
  | "SPEND"
  | "CAPTURE"
  | "VOID"
  | "EXPIRE"
  | "REFILL"
  | "ALLOCATION"
  | "WALLET_CREATED"
  | "WALLET_CLOSED"
  | "HOLD_PLACED"
  | "THRESHOLD_CROSSED"
  | "SOFT_CAP_EXCEEDED"
  | "WALLET_EXHAUSTED";

/** The alert kinds, which a monitor shows louder. */
export const alertKinds: ReadonlySet<EventKind> = new Set([
  "THRESHOLD_CROSSED",
  "SOFT_CAP_EXCEEDED",
  "WALLET_EXHAUSTED",
]);

/** A wallet's balances right after an event. */
export interface Balances {
  budget: bigint;
  spent: bigint;
  held: bigint;
  allocated: bigint;
  available: bigint;
  /** Debits of the wallet's whole subtree (what thresholds measure). */
  totalSpent: bigint;
}

/** Something that happened to a wallet, as committed. */
export interface WalletEvent {
  /** Pass as `after` to resume right after this event. */
  cursor: string;
  kind: EventKind;
  walletId: string;
  rootId: string;
  /** Position in the tree's event log, from 1, without gaps. */
  sequence: bigint;
  /** The receipt line, for SPEND, CAPTURE, VOID, EXPIRE, REFILL and ALLOCATION. */
  charge?: Charge;
  balances: Balances;
  time: Date;
  /** THRESHOLD_CROSSED: the percentage of the budget crossed. */
  thresholdPercent?: number;
  /** HOLD_PLACED: the hold. */
  holdId?: string;
}

/** Options of a watch. */
export interface WatchOptions {
  /** Only these kinds; default every kind. */
  kinds?: readonly EventKind[];
  /** Resume right after this cursor (an event's, or `lastCursor` of an earlier watch). */
  after?: string;
  /** Ends the watch: the iterator finishes without an error. */
  signal?: AbortSignal;
  /**
   * Called before each reconnect, with the error that ended the stream (the server restarted,
   * the network dropped, the watcher read too slowly). Default: none.
   */
  onReconnect?: (info: { attempt: number; error: TollgateError; after: string }) => void;
}

/** Options of one page of events. */
export interface ListEventsOptions extends CallOptions {
  kinds?: readonly EventKind[];
  /** Continue after this cursor; default from the oldest event retained. */
  after?: string;
  /** 1..1000; default 100. */
  pageSize?: number;
}

/** A watch: the events as they commit, and where it stands. */
export interface EventWatch extends AsyncIterableIterator<WalletEvent> {
  /** The cursor to resume from: the last event's, or where the watch began. */
  readonly lastCursor: string;
  /**
   * Ends the watch now, even while it waits for the next event (a generator's `return()` would
   * wait for that event): a loop over it finishes without an error.
   */
  close(): void;
}

const kindNames: Partial<Record<EventKindMessage, EventKind>> = {
  [EventKindMessage.EVENT_KIND_SPEND]: "SPEND",
  [EventKindMessage.EVENT_KIND_CAPTURE]: "CAPTURE",
  [EventKindMessage.EVENT_KIND_VOID]: "VOID",
  [EventKindMessage.EVENT_KIND_EXPIRE]: "EXPIRE",
  [EventKindMessage.EVENT_KIND_REFILL]: "REFILL",
  [EventKindMessage.EVENT_KIND_ALLOCATION]: "ALLOCATION",
  [EventKindMessage.EVENT_KIND_WALLET_CREATED]: "WALLET_CREATED",
  [EventKindMessage.EVENT_KIND_WALLET_CLOSED]: "WALLET_CLOSED",
  [EventKindMessage.EVENT_KIND_HOLD_PLACED]: "HOLD_PLACED",
  [EventKindMessage.EVENT_KIND_THRESHOLD_CROSSED]: "THRESHOLD_CROSSED",
  [EventKindMessage.EVENT_KIND_SOFT_CAP_EXCEEDED]: "SOFT_CAP_EXCEEDED",
  [EventKindMessage.EVENT_KIND_WALLET_EXHAUSTED]: "WALLET_EXHAUSTED",
};

const kindValues = Object.fromEntries(
  Object.entries(kindNames).map(([value, name]) => [name, Number(value)]),
) as Record<EventKind, EventKindMessage>;

function kindsToMessage(kinds: readonly EventKind[] | undefined): EventKindMessage[] {
  // An unknown name goes as UNSPECIFIED, which the server refuses naming the field.
  return (kinds ?? []).map((k) => kindValues[k] ?? EventKindMessage.EVENT_KIND_UNSPECIFIED);
}

/** An event as the public {@link WalletEvent}. */
export function toWalletEvent(message: EventMessage): WalletEvent {
  const b = required(message.balances, "event.balances");
  const event: WalletEvent = {
    cursor: message.cursor,
    kind: required(kindNames[message.kind], `known event kind (got ${message.kind})`),
    walletId: message.walletId,
    rootId: message.rootId,
    sequence: message.sequence,
    balances: {
      budget: b.budget,
      spent: b.spent,
      held: b.held,
      allocated: b.allocated,
      available: b.available,
      totalSpent: b.totalSpent,
    },
    time: required(message.time, "event.time"),
  };
  if (message.charge) event.charge = toCharge(message.charge);
  if (message.kind === EventKindMessage.EVENT_KIND_THRESHOLD_CROSSED) {
    event.thresholdPercent = message.thresholdPercent;
  }
  if (message.holdId !== "") event.holdId = message.holdId;
  return event;
}

/**
 * Codes after which a watch resumes by cursor: the stream broke (UNAVAILABLE, a server
 * shutting down or a network cut; INTERNAL, as grpc-js reports a connection reset mid-stream),
 * or the server ended a watcher that read too slowly (ABORTED). Anything else (NOT_FOUND,
 * INVALID_ARGUMENT, OUT_OF_RANGE for an expired cursor, RESOURCE_EXHAUSTED for too many
 * watchers, UNAUTHENTICATED) would fail again, so it ends the watch with its typed error.
 */
function isResumable(code: number | undefined): boolean {
  return (
    code === status.UNAVAILABLE ||
    code === status.ABORTED ||
    code === status.INTERNAL ||
    code === status.DEADLINE_EXCEEDED ||
    code === status.UNKNOWN
  );
}

/**
 * Watches `walletId`'s subtree ("" for every tree of the project): an async iterator of events
 * that reconnects with backoff after a broken stream and resumes after the last cursor it saw,
 * so it yields every committed event once, in commit order per tree. It ends when `signal`
 * aborts or the loop breaks, and throws on an error that resuming cannot fix.
 */
export function watchEvents(
  core: ClientCore,
  walletId: string,
  options: WatchOptions = {},
): EventWatch {
  let lastCursor = options.after ?? "";
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const iterator = (async function* (): AsyncGenerator<WalletEvent> {
    const kinds = kindsToMessage(options.kinds);
    for (let attempt = 0; ; ) {
      if (signal.aborted) return;
      const call = core.events.watchEvents(
        { walletId, kinds, after: lastCursor },
        core.invoker.metadata(),
      );
      const cancel = () => call.cancel();
      signal.addEventListener("abort", cancel, { once: true });
      let failure: ServiceError | undefined;
      try {
        for await (const message of call as AsyncIterable<WatchEventsResponse>) {
          attempt = 0;
          if (message.event) {
            const event = toWalletEvent(message.event);
            lastCursor = event.cursor;
            yield event;
          } else if (message.checkpoint !== "") {
            lastCursor = message.checkpoint;
          }
        }
      } catch (error) {
        failure = error as ServiceError;
      } finally {
        signal.removeEventListener("abort", cancel);
        // A consumer that stopped iterating (break, return) ends the call too.
        call.cancel();
      }
      if (signal.aborted) return;
      const error = errorFromServiceError(failure ?? unexpectedEnd(), {
        walletId: walletId || undefined,
      });
      if (failure && !isResumable(failure.code)) throw error;
      attempt++;
      options.onReconnect?.({ attempt, error, after: lastCursor });
      try {
        await sleep(backoffMs(attempt, core.retry), signal);
      } catch {
        return;
      }
    }
  })();
  // defineProperty, not Object.assign: assign would copy the getter's value once.
  Object.defineProperty(iterator, "lastCursor", { get: () => lastCursor });
  return Object.assign(iterator, { close: () => stop.abort() }) as unknown as EventWatch;
}

/** A stream that ended without a status error: the server went away cleanly; resume. */
function unexpectedEnd(): Partial<ServiceError> {
  return { code: status.UNAVAILABLE, details: "the watch ended; resuming", message: "" };
}

/** One page of events of `walletId`'s subtree ("" for the project), with the cursor to continue. */
export async function listEvents(
  core: ClientCore,
  walletId: string,
  options: ListEventsOptions = {},
): Promise<{ events: WalletEvent[]; nextCursor: string }> {
  const response = await core.invoker.call(
    core.events,
    core.events.listEvents,
    {
      walletId,
      kinds: kindsToMessage(options.kinds),
      after: options.after ?? "",
      pageSize: options.pageSize ?? 0,
    },
    options,
    { walletId: walletId || undefined },
  );
  return { events: response.events.map(toWalletEvent), nextCursor: response.nextCursor };
}
