/**
 * One run as the page shows it: its tree of wallets, its receipt, and its events. The feed starts
 * with the run's history (ListEvents, page after page) and continues with a watch from the
 * cursor the history ended at, so no event falls between the two and none comes twice. Each event
 * re-reads the tree and the receipt: the page shows the server's figures, never its own sums.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useState } from "preact/hooks";
import type { Event } from "../../../gen/es/tollgate/v1/event_service_pb.js";
import type { Receipt } from "../../../gen/es/tollgate/v1/receipt_service_pb.js";
import type { Wallet } from "../../../gen/es/tollgate/v1/wallet_pb.js";
import type { Api } from "../api/clients.js";
import { readAllPages } from "../api/read-all.js";
import { coalesced } from "./coalesced.js";
import { type ConnectionState, watchResumably } from "./resumable-watch.js";

/** The most feed lines kept: the newest. A long run's older lines stay on the server. */
export const maxFeedLines = 1000;

/** The most wallets of a tree shown (every wallet costs a listing of its children). */
export const maxTreeWallets = 500;

/** A wallet of the tree with its depth below the run (0 for the run itself). */
export interface TreeWallet {
  wallet: Wallet;
  level: number;
}

export interface Run {
  /** Depth-first, children in creation order; undefined until read. */
  tree: TreeWallet[] | undefined;
  receipt: Receipt | undefined;
  /** Newest first. */
  feed: Event[];
  connection: ConnectionState;
  error: string | undefined;
}

export function useRun(api: Api, runId: string, onUnauthenticated: (message: string) => void): Run {
  const [tree, setTree] = useState<TreeWallet[] | undefined>(undefined);
  const [receipt, setReceipt] = useState<Receipt | undefined>(undefined);
  const [feed, setFeed] = useState<Event[]>([]);
  const [connection, setConnection] = useState<ConnectionState>({ kind: "connecting" });
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    let disposed = false;
    setTree(undefined);
    setReceipt(undefined);
    setFeed([]);
    setError(undefined);
    setConnection({ kind: "connecting" });
    const fail = (caught: unknown) => {
      if (disposed) return;
      const failure = ConnectError.from(caught);
      if (failure.code === Code.Unauthenticated) onUnauthenticated(failure.rawMessage);
      else setError(failure.rawMessage);
    };
    const refresh = coalesced(async () => {
      try {
        const [wallets, answer] = await Promise.all([
          readTree(api, runId),
          api.receipts.getReceipt({ walletId: runId }),
        ]);
        if (disposed) return;
        setTree(wallets);
        setReceipt(answer.receipt);
      } catch (caught) {
        fail(caught);
      }
    });
    refresh();

    let watch: { stop(): void } | undefined;
    void readHistory(api, runId).then(
      ({ events, cursor }) => {
        if (disposed) return;
        setFeed(events.reverse().slice(0, maxFeedLines));
        watch = watchResumably(api, runId, cursor, {
          onEvent(event) {
            if (disposed) return;
            setFeed((lines) => [event, ...lines].slice(0, maxFeedLines));
            refresh();
          },
          onState(state) {
            if (disposed) return;
            setConnection(state);
            if (state.kind === "live") refresh();
            if (state.kind === "stopped") fail(new ConnectError(state.reason, state.code));
          },
        });
      },
      (caught: unknown) => {
        fail(caught);
        if (!disposed) {
          setConnection({ kind: "stopped", code: ConnectError.from(caught).code, reason: "" });
        }
      },
    );
    return () => {
      disposed = true;
      watch?.stop();
    };
  }, [api, runId, onUnauthenticated]);

  return { tree, receipt, feed, connection, error };
}

/** The run and its descendants, level by level, arranged depth-first. */
async function readTree(api: Api, runId: string): Promise<TreeWallet[]> {
  const root = (await api.wallets.getWallet({ walletId: runId })).wallet;
  if (root === undefined) return [];
  const children = new Map<string, Wallet[]>();
  let level: Wallet[] = [root];
  let count = 1;
  while (level.length > 0 && count < maxTreeWallets) {
    const listed = await Promise.all(
      level.map((parent) =>
        readAllPages(async (pageToken) => {
          const page = await api.wallets.listWallets({
            parentId: parent.id,
            pageSize: 1000,
            pageToken,
          });
          return { items: page.wallets, nextPageToken: page.nextPageToken };
        }, maxTreeWallets),
      ),
    );
    const next: Wallet[] = [];
    level.forEach((parent, i) => {
      const kids = (listed[i] ?? []).slice(0, Math.max(0, maxTreeWallets - count));
      count += kids.length;
      children.set(parent.id, kids);
      next.push(...kids);
    });
    level = next;
  }
  const ordered: TreeWallet[] = [];
  const visit = (wallet: Wallet, depth: number) => {
    ordered.push({ wallet, level: depth });
    for (const child of children.get(wallet.id) ?? []) visit(child, depth + 1);
  };
  visit(root, 0);
  return ordered;
}

/** Every retained event of the run, oldest first, and the cursor after the last one. */
async function readHistory(api: Api, runId: string): Promise<{ events: Event[]; cursor: string }> {
  const events: Event[] = [];
  let after = "";
  for (;;) {
    const page = await api.events.listEvents({ walletId: runId, after, pageSize: 1000 });
    events.push(...page.events);
    // Keep only what the feed can show; the cursor still moves past the rest.
    if (events.length > maxFeedLines) events.splice(0, events.length - maxFeedLines);
    after = page.nextCursor;
    if (page.events.length < 1000) return { events, cursor: after };
  }
}
