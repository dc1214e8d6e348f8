/**
 * The monitor: asks for an API key when the server wants one, then shows the runs beside the one
 * chosen (its id in the URL's fragment, so a reload or a shared link keeps it).
 */
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { forgetApiKey, saveApiKey, savedApiKey } from "../api/api-key.js";
import { type Api, createApi } from "../api/clients.js";
import type { ConnectionState } from "../live/resumable-watch.js";
import { useRun } from "../live/use-run.js";
import { useRuns } from "../live/use-runs.js";
import { ApiKeyForm } from "./api-key-form.js";
import { ConnectionStatus, worseOf } from "./connection-status.js";
import { RunList } from "./run-list.js";
import { RunView } from "./run-view.js";

export function App() {
  const [apiKey, setApiKey] = useState(savedApiKey);
  /** Set once the server answered UNAUTHENTICATED: its message, "" before a key was typed. */
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const api = useMemo(() => createApi(apiKey), [apiKey]);
  const onUnauthenticated = useCallback(
    (message: string) => setRefusal(apiKey === undefined ? "" : message),
    [apiKey],
  );
  const changeKey = (key: string | undefined) => {
    if (key === undefined) forgetApiKey();
    else saveApiKey(key);
    setApiKey(key);
    setRefusal(undefined);
  };
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      {refusal !== undefined ? (
        <>
          <Header
            auth={apiKey === undefined ? "none" : "key"}
            onForget={() => changeKey(undefined)}
          />
          <main id="main" class="single">
            <ApiKeyForm refusal={refusal === "" ? undefined : refusal} onSubmit={changeKey} />
          </main>
        </>
      ) : (
        <Monitor
          api={api}
          auth={apiKey === undefined ? "open" : "key"}
          onUnauthenticated={onUnauthenticated}
          onForget={() => changeKey(undefined)}
        />
      )}
    </>
  );
}

function Monitor(props: {
  api: Api;
  auth: "open" | "key";
  onUnauthenticated: (message: string) => void;
  onForget: () => void;
}) {
  const { runs, connection, error } = useRuns(props.api, props.onUnauthenticated);
  const [runConnection, setRunConnection] = useState<ConnectionState | undefined>(undefined);
  const selected = useSelectedRun();
  useEffect(() => {
    if (selected === undefined) setRunConnection(undefined);
  }, [selected]);
  const shown = runConnection === undefined ? connection : worseOf(connection, runConnection);
  return (
    <>
      <Header auth={props.auth} connection={shown} onForget={props.onForget} />
      <main id="main" class="layout">
        <RunList runs={runs} selected={selected} onSelect={selectRun} />
        {error !== undefined && (
          <p class="error" role="alert">
            Listing runs failed: {error}
          </p>
        )}
        {selected === undefined ? (
          <p class="hint">Choose a run to see its wallets, receipt and live events.</p>
        ) : (
          <SelectedRun
            key={selected}
            api={props.api}
            runId={selected}
            onUnauthenticated={props.onUnauthenticated}
            onConnection={setRunConnection}
          />
        )}
      </main>
    </>
  );
}

function SelectedRun(props: {
  api: Api;
  runId: string;
  onUnauthenticated: (message: string) => void;
  onConnection: (state: ConnectionState) => void;
}) {
  const run = useRun(props.api, props.runId, props.onUnauthenticated);
  const { onConnection } = props;
  useEffect(() => onConnection(run.connection), [run.connection, onConnection]);
  return <RunView run={run} />;
}

function Header(props: {
  auth: "open" | "key" | "none";
  connection?: ConnectionState;
  onForget: () => void;
}) {
  return (
    <header class="top">
      <h1>
        tollgate <span>monitor</span>
      </h1>
      {props.connection !== undefined && <ConnectionStatus state={props.connection} />}
      <div class="auth">
        {props.auth === "open" && <span title="The server has no API keys">open mode</span>}
        {props.auth === "key" && (
          <>
            <span>API key set for this tab</span>
            <button type="button" class="link" onClick={props.onForget}>
              Forget key
            </button>
          </>
        )}
      </div>
    </header>
  );
}

/** The run named in the URL fragment (`#run=<id>`), following back and forward. */
function useSelectedRun(): string | undefined {
  const [selected, setSelected] = useState(runInHash);
  useEffect(() => {
    const onChange = () => setSelected(runInHash());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return selected;
}

function runInHash(): string | undefined {
  const value = new URLSearchParams(window.location.hash.slice(1)).get("run");
  return value === null || value === "" ? undefined : value;
}

function selectRun(id: string): void {
  window.location.hash = new URLSearchParams({ run: id }).toString();
}
