/**
 * The page's link to the server, said in words (not only a colour): live, connecting, or
 * disconnected and retrying. Screen readers hear the changes (role="status").
 */
import type { ConnectionState } from "../live/resumable-watch.js";

export function ConnectionStatus({ state }: { state: ConnectionState }) {
  return (
    <div class={`connection connection-${state.kind}`} role="status" data-state={state.kind}>
      <span class="connection-dot" aria-hidden="true" />
      <span>{describe(state)}</span>
    </div>
  );
}

function describe(state: ConnectionState): string {
  switch (state.kind) {
    case "connecting":
      return "Connecting…";
    case "live":
      return state.resumed ? "Live (resumed after a disconnection)" : "Live";
    case "disconnected":
      return `Disconnected: retrying in ${(state.retryInMs / 1000).toFixed(1)} s (attempt ${state.attempt})`;
    case "stopped":
      return `Stopped: ${state.reason || "the server refused the watch"}`;
  }
}

/** The worse of two watches' states: the page is only live when both are. */
export function worseOf(a: ConnectionState, b: ConnectionState): ConnectionState {
  const rank = { live: 0, connecting: 1, disconnected: 2, stopped: 3 } as const;
  return rank[b.kind] > rank[a.kind] ? b : a;
}
