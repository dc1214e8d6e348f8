import type { Command } from "commander";
import type { Breakdown, ChildReceipt, Receipt } from "../types.js";
import type { Wallet } from "../wallet.js";
import type { CliContext } from "./context.js";
import { fields, type Output, paint, table, writeJson, writeLine } from "./output.js";
import { availableText, walletStatus } from "./present.js";
import type { Runner } from "./run.js";

/** `tollgate receipt <wallet> [--all]`. */
export function registerReceipt(program: Command, runner: Runner): void {
  program
    .command("receipt")
    .description("who spent what: a wallet subtree's totals by agent, by service and by child")
    .argument("<wallet>", "wallet id")
    .option(
      "--all",
      "page every agent, service and child (default: the top 20 of each breakdown plus an " +
        '"other" row, and the first 100 children)',
    )
    .action((walletId: string, options: { all?: boolean }, command: Command) =>
      runner.run(command, (ctx) => receipt(ctx, walletId, options.all === true)),
    );
}

/** A receipt, with every row of each breakdown and every child when `--all` read them. */
interface FullReceipt extends Receipt {
  /** True when byService, byAgent and children hold every row (then the "other" rows are 0). */
  complete: boolean;
}

async function receipt(ctx: CliContext, walletId: string, all: boolean): Promise<undefined> {
  const wallet = await ctx.tg.wallets.get(walletId);
  const read = await wallet.getReceipt();
  const full: FullReceipt = all ? await everyRow(wallet, read) : { ...read, complete: false };
  if (ctx.out.json) {
    writeJson(ctx.out, full);
    return undefined;
  }
  for (const line of receiptLines(ctx.out, full)) writeLine(ctx.out, line);
  return undefined;
}

/** The receipt with its breakdowns and children read in full, page by page. */
async function everyRow(wallet: Wallet, receipt: Receipt): Promise<FullReceipt> {
  const collect = async <T>(pages: AsyncIterable<T[]>): Promise<T[]> => {
    const rows: T[] = [];
    for await (const page of pages) rows.push(...page);
    return rows;
  };
  const pageSize = 1000;
  const [byService, byAgent, children] = await Promise.all([
    collect(wallet.listBreakdown("service", { pageSize })),
    collect(wallet.listBreakdown("agent", { pageSize })),
    collect(wallet.listChildReceipts({ pageSize })),
  ]);
  const none: Breakdown = { key: "", credits: 0n, callCount: 0n };
  return {
    ...receipt,
    byService,
    byServiceOther: none,
    byAgent,
    byAgentOther: none,
    children,
    complete: true,
  };
}

function receiptLines(out: Output, r: FullReceipt): string[] {
  const name = r.name === "" ? "" : ` (${r.name})`;
  const lines = [
    paint(out, "bold", `receipt ${r.walletId}${name}`),
    ...fields([
      ["spent", `${r.totalCredits} of ${r.budget} in ${plural(r.callCount, "call")}`],
      ["own", `${r.ownCredits} in ${plural(r.ownCallCount, "call")}`],
      ["available", availableText(out, r.available)],
      ["refills", `${r.refillCredits} in ${plural(r.refillCount, "refill")}`],
      [
        "released",
        `${r.voidedHoldCredits} in ${plural(r.voidedHoldCount, "voided or expired hold")}`,
      ],
      ["over budget", plural(r.overBudgetCount, "line")],
    ]).map((l) => `  ${l}`),
  ];
  lines.push("", ...breakdownLines(out, "agent", r.byAgent, r.byAgentOther, r.agentKeyCount));
  lines.push(
    "",
    ...breakdownLines(out, "service", r.byService, r.byServiceOther, r.serviceKeyCount),
  );
  lines.push("", ...childLines(out, r.children, r.childCount, r.complete));
  return lines;
}

function breakdownLines(
  out: Output,
  by: "agent" | "service",
  rows: Breakdown[],
  other: Breakdown,
  keyCount: bigint,
): string[] {
  const title = paint(out, "bold", `by ${by}`) + (keyCount > 0n ? ` (${keyCount})` : "");
  if (rows.length === 0) return [title, "  (none)"];
  const cells = rows.map((row) => [row.key, String(row.credits), String(row.callCount)]);
  const hidden = keyCount - BigInt(rows.length);
  if (hidden > 0n) {
    cells.push([
      paint(out, "dim", `(${hidden} other${hidden === 1n ? "" : "s"}; --all lists them)`),
      String(other.credits),
      String(other.callCount),
    ]);
  }
  const header = [
    { header: by.toUpperCase() },
    { header: "CREDITS", align: "right" as const },
    { header: "CALLS", align: "right" as const },
  ];
  return [title, ...table(header, cells).map((l) => `  ${l}`)];
}

function childLines(
  out: Output,
  children: ChildReceipt[],
  childCount: bigint,
  complete: boolean,
): string[] {
  const title = paint(out, "bold", "by child") + (childCount > 0n ? ` (${childCount})` : "");
  if (children.length === 0) return [title, "  (none)"];
  const cells = children.map((c) => [
    c.walletId,
    c.name,
    String(c.budget),
    String(c.totalCredits),
    String(c.callCount),
    availableText(out, c.available),
    walletStatus(out, c),
  ]);
  const header = [
    { header: "ID" },
    { header: "NAME" },
    { header: "BUDGET", align: "right" as const },
    { header: "CREDITS", align: "right" as const },
    { header: "CALLS", align: "right" as const },
    { header: "AVAILABLE", align: "right" as const },
    { header: "STATUS" },
  ];
  const lines = [title, ...table(header, cells).map((l) => `  ${l}`)];
  const hidden = childCount - BigInt(children.length);
  if (!complete && hidden > 0n) {
    lines.push(paint(out, "dim", `  (${hidden} more; --all lists them)`));
  }
  return lines;
}

/** `1 call`, `2 calls`. */
function plural(count: bigint, noun: string): string {
  return `${count} ${noun}${count === 1n ? "" : "s"}`;
}
