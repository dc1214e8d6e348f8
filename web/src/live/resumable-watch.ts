/**
 * WatchEvents as the page needs it: reconnects with backoff after a broken stream (a server
 * restart, a network cut) and resumes after the last cursor it received, the checkpoint that
 * opens every watch included, so each committed event arrives once: none lost, none twice. The
 * same logic as the Node client's watch (client/events.ts), over connect-web.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Event } from "../../../gen/es/tollgate/v1/event_service_pb.js";
import type { Api } from "../api/clients.js";

/** Where a watch stands, for the page to say so. */
export type ConnectionState =
  | { kind: "connecting" }
  /** Receiving; `resumed` once it has come back from at least one disconnection. */
  | { kind: "live"; resumed: boolean }
  /** The stream broke; the next attempt starts in `retryInMs`. */
  | { kind: "disconnected"; attempt: number; retryInMs: number; reason: string }
  /** Resuming cannot help (a wrong key, an expired cursor): the watch has ended. */
  | { kind: "stopped"; code: Code; reason: string };

export interface WatchHandlers {
  onEvent(event: Event): void;
  onState(state: ConnectionState): void;
}

/** A running watch. */
export interface ResumableWatch {
  stop(): void;
}

/**
 * Codes after which resuming by cursor helps: the stream broke (UNAVAILABLE, or UNKNOWN and
 * INTERNAL as fetch reports a dropped connection), the server ended a watcher that read too
 * slowly (ABORTED, RESOURCE_EXHAUSTED: WATCHER_TOO_SLOW) or a deadline passed.
 */
const resumableCodes: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.Unknown,
  Code.Internal,
  Code.Aborted,
  Code.ResourceExhausted,
  Code.DeadlineExceeded,
]);

const firstBackoffMs = 250;
const maxBackoffMs = 5_000;

/** Watches `walletId`'s subtree ("" for every tree of the project) from right after `after`. */
export function watchResumably(
  api: Api,
  walletId: string,
  after: string,
  handlers: WatchHandlers,
): ResumableWatch {
  const stopped = new AbortController();
  let attemptAbort: AbortController | undefined;
  // A network cut can leave a fetch waiting on a dead connection: the browser knows first.
  const onOffline = () => attemptAbort?.abort(new ConnectError("offline", Code.Unavailable));
  window.addEventListener("offline", onOffline);

  void (async () => {
    let cursor = after;
    let attempt = 0;
    let disconnections = 0;
    handlers.onState({ kind: "connecting" });
    while (!stopped.signal.aborted) {
      attemptAbort = new AbortController();
      const signal = AbortSignal.any([stopped.signal, attemptAbort.signal]);
      let failure: ConnectError;
      try {
        for await (const message of api.events.watchEvents(
          { walletId, after: cursor },
          { signal },
        )) {
          if (message.event !== undefined) {
            cursor = message.event.cursor;
            handlers.onEvent(message.event);
          } else if (message.checkpoint !== "") {
            // The watch has begun: from here on, resuming starts exactly where it stands.
            cursor = message.checkpoint;
            attempt = 0;
            handlers.onState({ kind: "live", resumed: disconnections > 0 });
          }
        }
        failure = new ConnectError("the server ended the watch", Code.Unavailable);
      } catch (error) {
        failure = ConnectError.from(signal.reason ?? error);
      }
      if (stopped.signal.aborted) break;
      if (!resumableCodes.has(failure.code)) {
        handlers.onState({ kind: "stopped", code: failure.code, reason: failure.rawMessage });
        break;
      }
      attempt++;
      disconnections++;
      const retryInMs = backoffMs(attempt);
      handlers.onState({ kind: "disconnected", attempt, retryInMs, reason: failure.rawMessage });
      await sleep(retryInMs, stopped.signal);
    }
    window.removeEventListener("offline", onOffline);
  })();

  return { stop: () => stopped.abort() };
}

/** Doubling from 250 ms to 5 s, with jitter so that many tabs do not reconnect in step. */
function backoffMs(attempt: number): number {
  const ceiling = Math.min(maxBackoffMs, firstBackoffMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
