/**
 * The run's events, newest first, alerts highlighted. Each line is a button: choosing one shows
 * its details beside the feed.
 */
import type { Event } from "../../../gen/es/tollgate/v1/event_service_pb.js";
import { isAlert, kindLabel } from "../event-kinds.js";
import { agentOf, lineId, summary } from "../feed-lines.js";
import { clockTime, walletLabel } from "../format.js";

export function EventFeed(props: {
  feed: Event[];
  names: ReadonlyMap<string, string>;
  selected: string | undefined;
  onSelect: (id: string) => void;
}) {
  return (
    <ol class="feed" aria-label="Events, newest first" data-testid="feed">
      {props.feed.length === 0 && <li class="empty">no events yet</li>}
      {props.feed.map((event) => {
        const id = lineId(event);
        const alert = isAlert(event.kind);
        return (
          <li
            key={id}
            class={`feed-line${alert ? " feed-alert" : ""}`}
            data-testid="feed-line"
            data-line-id={id}
            data-kind={kindLabel(event.kind)}
          >
            <button
              type="button"
              aria-pressed={props.selected === id}
              onClick={() => props.onSelect(id)}
            >
              <time>{clockTime(event.time)}</time>
              <span class="feed-main">
                {alert && <span class="alert-mark">alert </span>}
                <span class="feed-kind">{kindLabel(event.kind)}</span>{" "}
                <span class="feed-wallet">
                  {walletLabel(props.names.get(event.walletId), event.walletId)}
                </span>
              </span>
              <span class="feed-sub">
                {summary(event)}
                {agentOf(event) !== "" && <span class="feed-agent"> · agent {agentOf(event)}</span>}
              </span>
            </button>
          </li>
        );
      })}
    </ol>
  );
}
