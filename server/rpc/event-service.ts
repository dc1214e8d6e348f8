import {
  type EventServiceServer,
  EventServiceService,
  type ListEventsRequest,
  type ListEventsResponse,
  type WatchEventsRequest,
  WatchEventsResponse,
} from "../../gen/ts-proto/tollgate/v1/event_service.js";
import type { EventFeed } from "../events/event-feed.js";
import { LedgerError } from "../ledger/ledger-error.js";
import type { LedgerEvent } from "../ledger/types.js";
import { eventKindsFromMessage, eventToMessage } from "./codec.js";
import {
  type ServerStreamOptions,
  type StreamBody,
  serverStreamCall,
} from "./server-stream-call.js";
import { type RpcDependencies, type UnaryBody, unaryCall } from "./unary-call.js";

/** What the event service needs besides the common dependencies. */
export interface EventServiceDependencies extends RpcDependencies {
  events: EventFeed;
  /** How long a watcher may leave events unread before it is ended to resume later. */
  watchStallMs: number;
}

/** Default of {@link EventServiceDependencies.watchStallMs}. */
export const defaultWatchStallMs = 30_000;

/** The transport-neutral bodies of EventService. */
export interface EventServiceBodies {
  listEvents: UnaryBody<ListEventsRequest, ListEventsResponse>;
  watchEvents: StreamBody<WatchEventsRequest, WatchEventsResponse>;
}

/**
 * The bodies of tollgate.v1.EventService, transport-neutral: decode -> event feed -> encode.
 * Every rule (scopes, cursors, retention, watcher limits) lives in the feed. `delivered`, when
 * given, hears the commit time (epoch ms) of each event a watcher is handed (for the watcher lag
 * metric); it only observes.
 */
export function eventServiceBodies(
  events: EventFeed,
  delivered?: (committedMs: number) => void,
): EventServiceBodies {
  // Live watchers of one tree share its events (server/events/tree-tails.ts), and those of the
  // same scope share each event's cursor too: the message is built once for all of them, and
  // (below) encoded once, instead of once per watcher.
  const built = new WeakMap<LedgerEvent, { cursor: string; message: WatchEventsResponse }>();
  return {
    async listEvents(req, { project }) {
      const page = await events.list(project, {
        walletId: req.walletId,
        kinds: eventKindsFromMessage(req.kinds),
        after: req.after,
        pageSize: req.pageSize,
      });
      return { events: page.events.map(eventToMessage), nextCursor: page.nextCursor };
    },

    async *watchEvents(req, { project, signal }) {
      const feed = events.watch(
        project,
        { walletId: req.walletId, kinds: eventKindsFromMessage(req.kinds), after: req.after },
        signal,
      );
      for await (const item of feed) {
        if (!item.event) {
          yield { event: undefined, checkpoint: item.cursor };
          continue;
        }
        delivered?.(item.event.ms);
        const shared = built.get(item.event);
        if (shared?.cursor === item.cursor) {
          yield shared.message;
          continue;
        }
        const message = { event: eventToMessage(item), checkpoint: "" };
        built.set(item.event, { cursor: item.cursor, message });
        yield message;
      }
    },
  };
}

const encoded = new WeakMap<WatchEventsResponse, Buffer>();

/** Encodes a WatchEvents message once, however many watchers it is written to. */
function encodeOnce(message: WatchEventsResponse): Buffer {
  let bytes = encoded.get(message);
  if (!bytes) {
    bytes = Buffer.from(WatchEventsResponse.encode(message).finish());
    encoded.set(message, bytes);
  }
  return bytes;
}

/** tollgate.v1.EventService as registered with grpc-js: WatchEvents encodes each message once. */
export const eventServiceDefinition = {
  ...EventServiceService,
  watchEvents: { ...EventServiceService.watchEvents, responseSerialize: encodeOnce },
} as const;

/** A watcher ended for reading too slowly; it resumes after `cursor`, its last event's. */
export function watcherTooSlow(cursor: string): LedgerError {
  return new LedgerError(
    "WATCHER_TOO_SLOW",
    "the watcher left events unread too long; resume after its last cursor",
    { cursor },
  );
}

/**
 * WatchEvents' stall limit, the same on every transport: a watcher that leaves events unread for
 * `stallMs` ends with WATCHER_TOO_SLOW and the cursor of the last message sent.
 */
export function watchStallLimit(stallMs: number): ServerStreamOptions<WatchEventsResponse> {
  return {
    stallMs,
    tooSlow: (last) => watcherTooSlow(last.event?.cursor ?? last.checkpoint),
  };
}

/** grpc-js handlers of tollgate.v1.EventService (`bodies`: the ones the HTTP face serves too). */
export function eventServiceHandlers(
  deps: EventServiceDependencies,
  bodies: EventServiceBodies = eventServiceBodies(deps.events),
): EventServiceServer {
  return {
    listEvents: unaryCall("ListEvents", deps, bodies.listEvents),
    watchEvents: serverStreamCall(
      "WatchEvents",
      deps,
      bodies.watchEvents,
      watchStallLimit(deps.watchStallMs),
    ),
  };
}
