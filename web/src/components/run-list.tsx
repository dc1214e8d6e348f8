/** The caller's task runs, newest first, filterable by name or id and by state. */
import { useState } from "preact/hooks";
import { type Wallet, WalletStatus } from "../../../gen/es/tollgate/v1/wallet_pb.js";
import { credits, dateTime, walletLabel } from "../format.js";

type StateFilter = "all" | "open" | "exhausted" | "closed";

/** A run's state in one word, from the server's status and exhausted flag. */
export function runState(run: Wallet): Exclude<StateFilter, "all"> {
  if (run.status === WalletStatus.CLOSED) return "closed";
  return run.exhausted ? "exhausted" : "open";
}

export function RunList(props: {
  runs: Wallet[] | undefined;
  selected: string | undefined;
  onSelect: (id: string) => void;
}) {
  const [text, setText] = useState("");
  const [state, setState] = useState<StateFilter>("all");
  const needle = text.trim().toLowerCase();
  const shown = (props.runs ?? []).filter(
    (run) =>
      (state === "all" || runState(run) === state) &&
      (needle === "" ||
        run.name.toLowerCase().includes(needle) ||
        run.id.toLowerCase().includes(needle)),
  );
  return (
    <nav class="runs" aria-labelledby="runs-heading">
      <h2 id="runs-heading">Task runs</h2>
      <div class="filters">
        <label>
          <span>Filter</span>
          <input
            type="search"
            placeholder="name or id"
            value={text}
            onInput={(event) => setText(event.currentTarget.value)}
            data-testid="run-filter"
          />
        </label>
        <label>
          <span>State</span>
          <select
            value={state}
            onChange={(event) => setState(event.currentTarget.value as StateFilter)}
            data-testid="run-state-filter"
          >
            <option value="all">all</option>
            <option value="open">open</option>
            <option value="exhausted">exhausted</option>
            <option value="closed">closed</option>
          </select>
        </label>
      </div>
      {props.runs === undefined ? (
        <p class="empty">loading…</p>
      ) : shown.length === 0 ? (
        <p class="empty">
          {props.runs.length === 0 ? "No runs yet: create a root wallet." : "No run matches."}
        </p>
      ) : (
        <ul class="run-list">
          {shown.map((run) => (
            <li key={run.id}>
              <button
                type="button"
                class="run"
                aria-current={props.selected === run.id ? "true" : undefined}
                onClick={() => props.onSelect(run.id)}
                data-testid="run"
                data-run-id={run.id}
                title={`created ${dateTime(run.createdAt)}`}
              >
                <span class="run-name">{walletLabel(run.name, run.id)}</span>
                <span class={`badge badge-${runState(run)}`}>{runState(run)}</span>
                <span class="run-figures">
                  {credits(run.totalSpent)} of {credits(run.budget)} spent
                </span>
                <code class="run-id">{run.id}</code>
              </button>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}
