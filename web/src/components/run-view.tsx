/** One run: its totals, its wallets, its receipt, and its live feed with a line's details. */
import { useMemo, useState } from "preact/hooks";
import { lineId } from "../feed-lines.js";
import { credits, walletLabel } from "../format.js";
import type { Run } from "../live/use-run.js";
import { Breakdowns } from "./breakdowns.js";
import { EventDetail } from "./event-detail.js";
import { EventFeed } from "./event-feed.js";
import { runState } from "./run-list.js";
import { WalletTree } from "./wallet-tree.js";

export function RunView({ run }: { run: Run }) {
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const names = useMemo(
    () => new Map((run.tree ?? []).map(({ wallet }) => [wallet.id, wallet.name])),
    [run.tree],
  );
  const root = run.tree?.[0]?.wallet;
  const chosen = run.feed.find((event) => lineId(event) === selected);
  return (
    <article class="run-view" aria-labelledby="run-heading">
      <header class="run-header">
        <h2 id="run-heading">{root ? walletLabel(root.name, root.id) : "Loading run…"}</h2>
        {root && (
          <p class="run-total" data-testid="run-total">
            <strong>{credits(root.totalSpent)}</strong> of {credits(root.budget)} spent ·{" "}
            {credits(root.available)} unallocated · <span>{runState(root)}</span>
          </p>
        )}
        {run.error !== undefined && (
          <p class="error" role="alert">
            {run.error}
          </p>
        )}
      </header>
      <div class="run-grid">
        <div class="run-column">
          {run.tree && <WalletTree tree={run.tree} />}
          {run.receipt && <Breakdowns receipt={run.receipt} />}
        </div>
        <div class="run-column">
          <section class="panel" aria-labelledby="feed-heading">
            <h3 id="feed-heading">Live feed</h3>
            <EventFeed feed={run.feed} names={names} selected={selected} onSelect={setSelected} />
          </section>
          {chosen !== undefined && (
            <EventDetail
              event={chosen}
              feed={run.feed}
              names={names}
              onSelect={setSelected}
              onClose={() => setSelected(undefined)}
            />
          )}
        </div>
      </div>
    </article>
  );
}
