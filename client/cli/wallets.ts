import type { Command } from "commander";
import type { Wallet } from "../wallet.js";
import { amountOf, collectMetadata, parseThresholds } from "./arguments.js";
import type { CliContext } from "./context.js";
import { table, writeJson, writeLine, writeNote } from "./output.js";
import { availableText, walletLines, walletRecord, walletStatus } from "./present.js";
import type { Runner } from "./run.js";

/** `tollgate wallets create|get|list|top-up|close`. */
export function registerWallets(program: Command, runner: Runner): void {
  const wallets = program
    .command("wallets")
    .description("create, read, list, top up and close wallets");

  wallets
    .command("create")
    .description("create a root wallet, or a child carved out of --parent's available credits")
    .requiredOption("--name <name>", "the wallet's name (its role in receipts), 0..128 characters")
    .requiredOption("--budget <credits>", "initial budget, whole credits", amountOf("--budget"))
    .option("--parent <wallet>", "create a child of this wallet (its budget comes from the parent)")
    .option("--soft-cap", "allow spending past the budget, flagged over budget (default: hard cap)")
    .option(
      "--alert <percents>",
      "alert thresholds, percent of the budget (default 50,80,100)",
      parseThresholds,
    )
    .option("--meta <key=value>", "a metadata label (repeatable)", collectMetadata)
    .option("--request-id <id>", "idempotency key: a retry with the same id creates nothing more")
    .action((options: CreateOptions, command: Command) =>
      runner.run(command, (ctx) => create(ctx, options)),
    );

  wallets
    .command("get")
    .description("show a wallet's balances and settings")
    .argument("<wallet>", "wallet id")
    .action((id: string, _options: unknown, command: Command) =>
      runner.run(command, (ctx) => get(ctx, id)),
    );

  wallets
    .command("list")
    .description("list your root wallets, or --parent's children, in creation order")
    .option("--parent <wallet>", "list this wallet's children")
    .option("--all", "read every page (default: the first 100 wallets)")
    .action((options: ListOptions, command: Command) =>
      runner.run(command, (ctx) => list(ctx, options)),
    );

  wallets
    .command("top-up")
    .description("add credits: a refill on a root, drawn from the parent on a child")
    .argument("<wallet>", "wallet id")
    .argument("<amount>", "whole credits to add", amountOf("amount"))
    .option("--request-id <id>", "idempotency key: a retry with the same id adds nothing more")
    .action((id: string, amount: bigint, options: RequestOptions, command: Command) =>
      runner.run(command, (ctx) => topUp(ctx, id, amount, options)),
    );

  wallets
    .command("close")
    .description("close a wallet and its subtree, void their holds, return the rest to the parent")
    .argument("<wallet>", "wallet id")
    .option("--request-id <id>", "idempotency key")
    .action((id: string, options: RequestOptions, command: Command) =>
      runner.run(command, (ctx) => close(ctx, id, options)),
    );
}

interface RequestOptions {
  requestId?: string;
}

interface CreateOptions extends RequestOptions {
  name: string;
  budget: bigint;
  parent?: string;
  softCap?: boolean;
  alert?: number[];
  meta?: Record<string, string>;
}

interface ListOptions {
  parent?: string;
  all?: boolean;
}

async function create(ctx: CliContext, options: CreateOptions): Promise<undefined> {
  const input = {
    name: options.name,
    budget: options.budget,
    hardCap: options.softCap === true ? false : undefined,
    metadata: options.meta,
    alertThresholds: options.alert,
  };
  const call = { requestId: options.requestId };
  const wallet =
    options.parent === undefined
      ? await ctx.tg.wallets.create(input, call)
      : await (await ctx.tg.wallets.get(options.parent)).createChild(input, call);
  show(ctx, wallet, `created ${wallet.id}`);
  return undefined;
}

async function get(ctx: CliContext, id: string): Promise<undefined> {
  show(ctx, await ctx.tg.wallets.get(id));
  return undefined;
}

async function topUp(
  ctx: CliContext,
  id: string,
  amount: bigint,
  options: RequestOptions,
): Promise<undefined> {
  const wallet = await ctx.tg.wallets.get(id);
  await wallet.addCredits(amount, { requestId: options.requestId });
  const source = wallet.parentId === "" ? "" : ` (from ${wallet.parentId})`;
  show(ctx, wallet, `added ${amount} to ${wallet.id}${source}`);
  return undefined;
}

async function close(ctx: CliContext, id: string, options: RequestOptions): Promise<undefined> {
  const wallet = await ctx.tg.wallets.get(id);
  const { returned } = await wallet.close({ requestId: options.requestId });
  if (ctx.out.json) {
    writeJson(ctx.out, { returned, wallet: walletRecord(wallet) });
    return undefined;
  }
  const back = wallet.parentId === "" ? "" : `; ${returned} returned to ${wallet.parentId}`;
  writeLine(ctx.out, `closed ${wallet.id}${back}`);
  return undefined;
}

/** A wallet, as JSON or as its block under an optional headline. */
function show(ctx: CliContext, wallet: Wallet, headline?: string): void {
  if (ctx.out.json) {
    writeJson(ctx.out, walletRecord(wallet));
    return;
  }
  if (headline !== undefined) writeLine(ctx.out, headline);
  for (const line of walletLines(ctx.out, wallet)) writeLine(ctx.out, line);
}

/** The first page shown without --all. */
const firstPage = 100;

async function list(ctx: CliContext, options: ListOptions): Promise<undefined> {
  const pages = ctx.tg.wallets
    .list({ parentId: options.parent, pageSize: firstPage })
    [Symbol.asyncIterator]();
  const found: Wallet[] = [];
  let more = false;
  for (let page = await pages.next(); !page.done; page = await pages.next()) {
    if (!options.all && found.length > 0) {
      // A second page exists: say so rather than read everything unasked.
      more = true;
      await pages.return?.();
      break;
    }
    found.push(...page.value);
  }
  if (ctx.out.json) {
    writeJson(ctx.out, { wallets: found.map(walletRecord), more });
    return undefined;
  }
  const rows = found.map((w) => [
    w.id,
    w.name,
    String(w.budget),
    String(w.totalSpent),
    String(w.held),
    availableText(ctx.out, w.available),
    `${walletStatus(ctx.out, w)}${w.hardCap ? "" : ", soft cap"}`,
  ]);
  const lines = table(
    [
      { header: "ID" },
      { header: "NAME" },
      { header: "BUDGET", align: "right" },
      { header: "SPENT", align: "right" },
      { header: "HELD", align: "right" },
      { header: "AVAILABLE", align: "right" },
      { header: "STATUS" },
    ],
    rows,
  );
  if (found.length === 0) {
    writeNote(ctx.out, options.parent === undefined ? "no wallets" : "no children");
  } else {
    for (const line of lines) writeLine(ctx.out, line);
  }
  if (more) writeNote(ctx.out, `(first ${found.length} shown; --all lists every wallet)`);
  return undefined;
}
