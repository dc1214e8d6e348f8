import type { Command } from "commander";
import { alertKinds, type EventKind, type WalletEvent } from "../events.js";
import type { Wallet } from "../wallet.js";
import { parseList } from "./arguments.js";
import type { CliContext } from "./context.js";
import { usageError } from "./exit-codes.js";
import { type Output, paint, toJsonLine, writeLine, writeNote } from "./output.js";
import type { Runner } from "./run.js";

/** `tollgate watch <wallet>`: a wallet subtree's events as they commit. */
export function registerWatch(program: Command, runner: Runner): void {
  program
    .command("watch")
    .description(
      "print a wallet subtree's events as they commit, with the wallet's running totals; " +
        "alerts stand out; reconnects and resumes by itself; Ctrl-C prints the cursor to resume from",
    )
    .argument("<wallet>", "wallet id")
    .option(
      "--kinds <kinds>",
      `only these kinds, comma-separated (${eventKinds.map((k) => k.toLowerCase()).join(", ")}, ` +
        'or "alerts" for the three alert kinds)',
    )
    .option("--after <cursor>", "start right after this cursor (printed when a watch stops)")
    .option("--count <n>", "stop after printing n events")
    .action((walletId: string, options: WatchFlags, command: Command) =>
      runner.run(command, (ctx) => watch(ctx, walletId, options)),
    );
}

interface WatchFlags {
  kinds?: string;
  after?: string;
  count?: string;
}

const eventKinds: readonly EventKind[] = [
  "SPEND",
  "CAPTURE",
  "VOID",
  "EXPIRE",
  "REFILL",
  "ALLOCATION",
  "WALLET_CREATED",
  "WALLET_CLOSED",
  "HOLD_PLACED",
  "THRESHOLD_CROSSED",
  "SOFT_CAP_EXCEEDED",
  "WALLET_EXHAUSTED",
];

/** --kinds as event kinds; an unknown name is a usage error. */
function kindsOf(text: string | undefined): Set<EventKind> | undefined {
  if (text === undefined) return undefined;
  const kinds = new Set<EventKind>();
  for (const name of parseList(text)) {
    const upper = name.toUpperCase().replace(/-/g, "_");
    if (upper === "ALERTS") {
      for (const kind of alertKinds) kinds.add(kind);
    } else if ((eventKinds as readonly string[]).includes(upper)) {
      kinds.add(upper as EventKind);
    } else {
      throw usageError(`--kinds: unknown event kind "${name}"`);
    }
  }
  if (kinds.size === 0) throw usageError("--kinds: name at least one kind");
  return kinds;
}

function countOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw usageError(`--count: must be a whole number of at least 1, got "${text}"`);
  }
  return Number(text);
}

/** The watched wallet's figures that every line shows: its subtree's debits against its budget. */
interface Totals {
  spent: bigint;
  budget: bigint;
}

/** Debits: what moves a subtree's `totalSpent`. */
function debit(event: WalletEvent): bigint {
  return event.kind === "SPEND" || event.kind === "CAPTURE" ? (event.charge?.amount ?? 0n) : 0n;
}

/** Credits granted to the watched wallet itself: what moves its budget. */
function grant(event: WalletEvent, walletId: string): bigint {
  if (event.walletId !== walletId) return 0n;
  return event.kind === "REFILL" || event.kind === "ALLOCATION" ? (event.charge?.amount ?? 0n) : 0n;
}

/**
 * The watched wallet's totals after `event`: an event of the wallet itself carries them exactly;
 * a descendant's debit adds to its subtree's spent.
 */
function advance(totals: Totals, event: WalletEvent, walletId: string): Totals {
  if (event.walletId === walletId) {
    return { spent: event.balances.totalSpent, budget: event.balances.budget };
  }
  return { spent: totals.spent + debit(event), budget: totals.budget };
}

/** How many times the start tries to read the wallet while no event commits. */
const startAttempts = 5;

/**
 * Where the watch starts and the wallet's totals right there, consistent with each other. A
 * wallet read carries no log position, so the log's end is read before and after it: when no
 * event committed in between, the read is exactly the totals at that end. With `after`, the
 * totals at `after` are the read minus what the events since `after` added. Under a constant
 * stream of spends the reads may never be quiet; after a few tries the last one is used (its
 * totals may then be off by the events committed during the read, until the wallet's own next
 * event, which carries them exactly).
 */
async function start(
  wallet: Wallet,
  after: string | undefined,
): Promise<{ cursor: string; totals: Totals }> {
  const cursor = after ?? "";
  const since: WalletEvent[] = [];
  const readToEnd = async (from: string) => {
    let position = from;
    for (;;) {
      const page = await wallet.listEvents({ after: position, pageSize: 1000 });
      since.push(...page.events);
      if (page.events.length === 0 || page.nextCursor === position) return page.nextCursor;
      position = page.nextCursor;
    }
  };
  let end = await readToEnd(cursor);
  for (let attempt = 1; ; attempt++) {
    await wallet.refresh();
    const before = since.length;
    end = await readToEnd(end);
    if (since.length === before || attempt >= startAttempts) break;
  }
  if (after === undefined) {
    // Start at the end: only events committed from now on.
    return { cursor: end, totals: { spent: wallet.totalSpent, budget: wallet.budget } };
  }
  // Replay from `after`: the read minus what the events since then added.
  let totals: Totals = { spent: wallet.totalSpent, budget: wallet.budget };
  for (const event of since) {
    totals = {
      spent: totals.spent - debit(event),
      budget: totals.budget - grant(event, wallet.id),
    };
  }
  return { cursor, totals };
}

async function watch(ctx: CliContext, walletId: string, flags: WatchFlags): Promise<undefined> {
  const shown = kindsOf(flags.kinds);
  const count = countOf(flags.count);
  const wallet = await ctx.tg.wallets.get(walletId);
  const begun = await start(wallet, flags.after);
  let totals = begun.totals;

  const stop = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let outage = false;
  // Every kind is watched, whatever --kinds shows: the running totals need every debit.
  const events = wallet.watch({
    after: begun.cursor,
    signal: stop.signal,
    onReconnect: ({ attempt, error }) => {
      outage = true;
      // The first attempt of an outage, then ever more rarely (the client backs off to 1 s).
      if ((attempt & (attempt - 1)) !== 0) return;
      writeNote(
        ctx.out,
        `tollgate: watch interrupted (${error.reason}: ${oneLine(error.message)}); ` +
          `reconnecting (attempt ${attempt}), resuming after the last event`,
      );
    },
  });
  writeNote(
    ctx.out,
    `watching ${wallet.id}${wallet.name === "" ? "" : ` (${wallet.name})`}: ` +
      `spent ${totals.spent} of ${totals.budget}; Ctrl-C stops`,
  );
  let printed = 0;
  // Where to resume: the last event's cursor (every event, shown or not), else where it began.
  let last = begun.cursor;
  try {
    for await (const event of events) {
      last = event.cursor;
      if (outage) {
        outage = false;
        writeNote(ctx.out, "tollgate: watch resumed");
      }
      totals = advance(totals, event, wallet.id);
      if (shown !== undefined && !shown.has(event.kind)) continue;
      writeLine(
        ctx.out,
        ctx.out.json ? eventJson(event, wallet.id, totals) : eventLine(ctx.out, event, totals),
      );
      printed++;
      if (count !== undefined && printed >= count) break;
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (last !== "") writeNote(ctx.out, `tollgate: watch stopped; resume with --after ${last}`);
  }
  return undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** One NDJSON line: the event as the client gives it, plus the watched wallet's totals. */
function eventJson(event: WalletEvent, walletId: string, totals: Totals): string {
  return toJsonLine({
    ...event,
    alert: alertKinds.has(event.kind),
    watched: { walletId, spent: totals.spent, budget: totals.budget },
  });
}

/** The widest kind name, so the columns after it line up. */
const kindWidth = Math.max(...eventKinds.map((k) => k.length));

/**
 * `<time> <kind> <wallet> <what happened>  spent <spent>/<budget>`; an alert is colored on a
 * terminal and marked `!` otherwise (every other line starts with a space, so columns align).
 */
function eventLine(out: Output, event: WalletEvent, totals: Totals): string {
  const alert = alertKinds.has(event.kind);
  const marker = out.color ? "" : alert ? "! " : "  ";
  const text =
    `${event.time.toISOString()}  ${event.kind.padEnd(kindWidth)}  ${event.walletId}  ` +
    `${describe(event)}  [spent ${totals.spent}/${totals.budget}]`;
  if (!alert) return marker + text;
  return marker + paint(out, event.kind === "THRESHOLD_CROSSED" ? "yellow" : "red", text);
}

function describe(event: WalletEvent): string {
  const { charge, balances } = event;
  switch (event.kind) {
    case "SPEND":
    case "CAPTURE": {
      const agent = charge?.metadata.agent === undefined ? "" : ` by ${charge.metadata.agent}`;
      const over = charge?.overBudget ? " (over budget)" : "";
      return `-${charge?.amount ?? 0n} ${charge?.service ?? ""}${agent}${over}`;
    }
    case "VOID":
    case "EXPIRE":
      return `+${charge?.amount ?? 0n} released (hold ${charge?.holdId ?? ""})`;
    case "REFILL":
    case "ALLOCATION":
      return `+${charge?.amount ?? 0n} budget, now ${balances.budget}`;
    case "WALLET_CREATED":
      return `created with budget ${balances.budget}`;
    case "WALLET_CLOSED":
      return "closed";
    case "HOLD_PLACED":
      return `hold ${event.holdId ?? ""}, held ${balances.held}`;
    case "THRESHOLD_CROSSED":
      return `${event.thresholdPercent ?? 0}% of budget spent (${balances.totalSpent} of ${balances.budget})`;
    case "SOFT_CAP_EXCEEDED":
      return `over budget: available ${balances.available}`;
    case "WALLET_EXHAUSTED":
      return `exhausted: available ${balances.available}`;
  }
}
