import type {
  EventServiceServer,
  ListEventsRequest,
  ListEventsResponse,
  WatchEventsRequest,
  WatchEventsResponse,
} from "../../gen/ts-proto/tollgate/v1/event_service.js";
import type { EventFeed } from "../events/event-feed.js";
import { LedgerError } from "../ledger/ledger-error.js";
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
        if (item.event) delivered?.(item.event.ms);
        yield item.event
          ? { event: eventToMessage(item), checkpoint: "" }
          : { event: undefined, checkpoint: item.cursor };
      }
    },
  };
}

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
