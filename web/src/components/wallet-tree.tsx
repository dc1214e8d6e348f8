/**
 * A run's wallets, indented by depth, each with its budget bar, its cap, and the states the
 * server reports: exhausted, over budget, closed (greyed).
 */
import { WalletStatus } from "../../../gen/es/tollgate/v1/wallet_pb.js";
import { credits, walletLabel } from "../format.js";
import type { TreeWallet } from "../live/use-run.js";
import { BarLegend, BudgetBar } from "./budget-bar.js";

export function WalletTree({ tree }: { tree: TreeWallet[] }) {
  return (
    <section class="panel" aria-labelledby="tree-heading">
      <div class="panel-heading">
        <h3 id="tree-heading">Wallets</h3>
        <BarLegend />
      </div>
      <ul class="tree">
        {tree.map(({ wallet, level }) => {
          const closed = wallet.status === WalletStatus.CLOSED;
          const over = wallet.available < 0n;
          return (
            <li
              key={wallet.id}
              class={`wallet${closed ? " wallet-closed" : ""}`}
              style={{ "--level": level }}
              data-testid="wallet"
              data-wallet-id={wallet.id}
              data-wallet-name={wallet.name}
            >
              <div class="wallet-heading">
                <span class="wallet-name">{walletLabel(wallet.name, wallet.id)}</span>
                <span class="badge">{wallet.hardCap ? "hard cap" : "soft cap"}</span>
                {closed && <span class="badge badge-closed">closed</span>}
                {!closed && wallet.exhausted && (
                  <span class="badge badge-exhausted" data-testid="exhausted">
                    exhausted
                  </span>
                )}
                {over && (
                  <span class="badge badge-over" data-testid="over-budget">
                    over budget by {credits(-wallet.available)}
                  </span>
                )}
              </div>
              <BudgetBar wallet={wallet} />
              <p class="wallet-figures" data-testid="wallet-figures">
                spent {credits(wallet.spent)} · held {credits(wallet.held)} · to sub-wallets{" "}
                {credits(wallet.allocated + wallet.settled)} · available {credits(wallet.available)}{" "}
                of {credits(wallet.budget)}
                {level === 0 || wallet.totalSpent !== wallet.spent
                  ? ` · subtree spent ${credits(wallet.totalSpent)}`
                  : ""}
              </p>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
