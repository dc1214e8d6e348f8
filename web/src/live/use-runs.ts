/**
 * The caller's task runs (root wallets), newest first, kept current by a watch of the whole
 * project: any event may change a run's figures, and a new run starts with one.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useState } from "preact/hooks";
import type { Wallet } from "../../../gen/es/tollgate/v1/wallet_pb.js";
import type { Api } from "../api/clients.js";
import { readAllPages } from "../api/read-all.js";
import { coalesced } from "./coalesced.js";
import { type ConnectionState, watchResumably } from "./resumable-watch.js";

export interface Runs {
  /** Undefined until the first listing answered. */
  runs: Wallet[] | undefined;
  connection: ConnectionState;
  /** The last listing's failure, if it failed. */
  error: string | undefined;
}

export function useRuns(api: Api, onUnauthenticated: (message: string) => void): Runs {
  const [runs, setRuns] = useState<Wallet[] | undefined>(undefined);
  const [connection, setConnection] = useState<ConnectionState>({ kind: "connecting" });
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    let disposed = false;
    setRuns(undefined);
    const refresh = coalesced(async () => {
      try {
        const roots = await readAllPages(async (pageToken) => {
          const page = await api.wallets.listWallets({ parentId: "", pageSize: 1000, pageToken });
          return { items: page.wallets, nextPageToken: page.nextPageToken };
        });
        if (disposed) return;
        setRuns(newestFirst(roots));
        setError(undefined);
      } catch (caught) {
        if (disposed) return;
        const failure = ConnectError.from(caught);
        if (failure.code === Code.Unauthenticated) onUnauthenticated(failure.rawMessage);
        else setError(failure.rawMessage);
      }
    });
    refresh();
    const watch = watchResumably(api, "", "", {
      onEvent: refresh,
      onState(state) {
        if (disposed) return;
        setConnection(state);
        // Live again: whatever changed while no watch was open shows now.
        if (state.kind === "live") refresh();
        if (state.kind === "stopped" && state.code === Code.Unauthenticated) {
          onUnauthenticated(state.reason);
        }
      },
    });
    return () => {
      disposed = true;
      watch.stop();
    };
  }, [api, onUnauthenticated]);

  return { runs, connection, error };
}

function newestFirst(wallets: Wallet[]): Wallet[] {
  const ms = (w: Wallet) =>
    w.createdAt ? Number(w.createdAt.seconds) * 1000 + w.createdAt.nanos / 1e6 : 0;
  // Listed in creation order: reversing keeps runs created in the same millisecond in order.
  return [...wallets].reverse().sort((a, b) => ms(b) - ms(a));
}
