/**
 * One feed line in full: its receipt line's metadata and request id, the balances after it, and
 * its place in the tree's hash chain (the lines before and after it, when the feed has them).
 */
import type { Event } from "../../../gen/es/tollgate/v1/event_service_pb.js";
import { isAlert, kindLabel } from "../event-kinds.js";
import { lineId } from "../feed-lines.js";
import { credits, dateTime, walletLabel } from "../format.js";

export function EventDetail(props: {
  event: Event;
  feed: Event[];
  names: ReadonlyMap<string, string>;
  onSelect: (id: string) => void;
  onClose: () => void;
}) {
  const { event, feed } = props;
  const charge = event.charge;
  const b = event.balances;
  const previous =
    charge && charge.prevHash !== ""
      ? feed.find((e) => e.charge?.hash === charge.prevHash)
      : undefined;
  const next = charge ? feed.find((e) => e.charge?.prevHash === charge.hash) : undefined;
  const metadata = Object.entries(charge?.metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return (
    <section class="panel detail" aria-labelledby="detail-heading" data-testid="detail">
      <div class="panel-heading">
        <h3 id="detail-heading">
          {isAlert(event.kind) ? "Alert: " : ""}
          {kindLabel(event.kind)} #{event.sequence.toString()}
        </h3>
        <button type="button" class="link" onClick={props.onClose}>
          Close
        </button>
      </div>
      <dl>
        <dt>wallet</dt>
        <dd>
          {walletLabel(props.names.get(event.walletId), event.walletId)}{" "}
          <code>{event.walletId}</code>
        </dd>
        <dt>committed</dt>
        <dd>{dateTime(event.time)}</dd>
        <dt>position</dt>
        <dd>
          event {event.sequence.toString()} of tree <code>{event.rootId}</code>
        </dd>
        {event.thresholdPercent > 0 && (
          <>
            <dt>threshold</dt>
            <dd>{event.thresholdPercent}% of budget</dd>
          </>
        )}
        {event.holdId !== "" && (
          <>
            <dt>hold</dt>
            <dd>
              <code>{event.holdId}</code>
            </dd>
          </>
        )}
        {charge !== undefined && (
          <>
            <dt>line</dt>
            <dd>
              <code>{charge.id}</code>: {credits(charge.amount)} credits
              {charge.service !== "" && ` for ${charge.service}`}
              {charge.overBudget && ", over budget"}
            </dd>
            <dt>request id</dt>
            <dd data-testid="request-id">
              {charge.requestId !== "" ? <code>{charge.requestId}</code> : "none (an expiry)"}
            </dd>
            {charge.holdId !== "" && (
              <>
                <dt>resolves hold</dt>
                <dd>
                  <code>{charge.holdId}</code>
                </dd>
              </>
            )}
            <dt>metadata</dt>
            <dd data-testid="metadata">
              {metadata.length === 0 ? (
                "none"
              ) : (
                <ul class="metadata">
                  {metadata.map(([key, value]) => (
                    <li key={key}>
                      <code>{key}</code> = <code>{value}</code>
                    </li>
                  ))}
                </ul>
              )}
            </dd>
            <dt>hash</dt>
            <dd>
              <code class="hash" data-testid="hash">
                {charge.hash}
              </code>
            </dd>
            <dt>previous hash</dt>
            <dd>
              <code class="hash" data-testid="prev-hash">
                {charge.prevHash !== "" ? charge.prevHash : "(none: the tree's first line)"}
              </code>
              {previous !== undefined && (
                <ChainLink label="previous line" event={previous} onSelect={props.onSelect} />
              )}
            </dd>
            {next !== undefined && (
              <>
                <dt>next line</dt>
                <dd>
                  <ChainLink label="next line" event={next} onSelect={props.onSelect} />
                </dd>
              </>
            )}
          </>
        )}
        {b !== undefined && (
          <>
            <dt>after it</dt>
            <dd>
              budget {credits(b.budget)} · spent {credits(b.spent)} · held {credits(b.held)} ·
              allocated {credits(b.allocated)} · available {credits(b.available)} · subtree spent{" "}
              {credits(b.totalSpent)}
            </dd>
          </>
        )}
        <dt>cursor</dt>
        <dd>
          <code class="hash">{event.cursor}</code>
        </dd>
      </dl>
    </section>
  );
}

function ChainLink(props: { label: string; event: Event; onSelect: (id: string) => void }) {
  const { event } = props;
  return (
    <button type="button" class="link chain-link" onClick={() => props.onSelect(lineId(event))}>
      {props.label}: {kindLabel(event.kind)} #{event.sequence.toString()}
    </button>
  );
}
