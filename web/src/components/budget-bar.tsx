/**
 * A wallet's budget as one bar: what it spent itself, what its open holds reserve, what went to
 * its sub-wallets (open ones' budgets and closed ones' spend), and what is available, each the
 * server's figure. A soft-capped wallet over its budget shows the overshoot past a budget mark.
 */
import type { Wallet } from "../../../gen/es/tollgate/v1/wallet_pb.js";
import { credits } from "../format.js";

export function BudgetBar({ wallet }: { wallet: Wallet }) {
  const toChildren = wallet.allocated + wallet.settled;
  const available = wallet.available > 0n ? wallet.available : 0n;
  const used = wallet.spent + wallet.held + toChildren;
  // Over budget, the bar grows to what was used and marks where the budget ended.
  const scale = used + available > wallet.budget ? used + available : wallet.budget;
  const share = (part: bigint) => (scale === 0n ? 0 : Number((part * 10_000n) / scale) / 100);
  const segments = [
    { key: "spent", value: wallet.spent },
    { key: "held", value: wallet.held },
    { key: "children", value: toChildren },
    { key: "available", value: available },
  ];
  const label =
    `spent ${credits(wallet.spent)}, held ${credits(wallet.held)}, ` +
    `to sub-wallets ${credits(toChildren)}, available ${credits(wallet.available)}, ` +
    `of a budget of ${credits(wallet.budget)}`;
  return (
    <div class="bar" role="img" aria-label={label} title={label}>
      {segments.map(
        (s) =>
          s.value > 0n && (
            <span key={s.key} class={`bar-${s.key}`} style={{ width: `${share(s.value)}%` }} />
          ),
      )}
      {scale > wallet.budget && (
        <span class="bar-budget-mark" style={{ left: `${share(wallet.budget)}%` }} />
      )}
    </div>
  );
}

export function BarLegend() {
  return (
    <ul class="legend" aria-label="Bar legend">
      <li>
        <span class="swatch bar-spent" /> spent
      </li>
      <li>
        <span class="swatch bar-held" /> held
      </li>
      <li>
        <span class="swatch bar-children" /> to sub-wallets
      </li>
      <li>
        <span class="swatch bar-available" /> available
      </li>
    </ul>
  );
}
