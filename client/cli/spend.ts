import type { Command } from "commander";
import { amountOf, collectMetadata } from "./arguments.js";
import type { CliContext } from "./context.js";
import { usageError } from "./exit-codes.js";
import { paint, writeJson, writeLine } from "./output.js";
import { availableText } from "./present.js";
import type { Runner } from "./run.js";

/** `tollgate spend <wallet> <amount> --service S`. */
export function registerSpend(program: Command, runner: Runner): void {
  program
    .command("spend")
    .description(
      "debit a wallet for one paid call (refused, exit 4, if a hard cap would be crossed)",
    )
    .argument("<wallet>", "wallet id")
    .argument("<amount>", "whole credits to debit", amountOf("amount"))
    .requiredOption("--service <name>", "the paid service, 1..64 characters")
    .option("--agent <name>", "the agent label of the line (default: the wallet's name)")
    .option("--meta <key=value>", "a metadata label of the line (repeatable)", collectMetadata)
    .option("--request-id <id>", "idempotency key: a retry with the same id is charged once")
    .option(
      "--credential",
      "include the signed credential (a bearer token for the service) in the --json output",
    )
    .action((walletId: string, amount: bigint, options: SpendFlags, command: Command) =>
      runner.run(command, (ctx) => spend(ctx, walletId, amount, options)),
    );
}

interface SpendFlags {
  service: string;
  agent?: string;
  meta?: Record<string, string>;
  requestId?: string;
  credential?: boolean;
}

async function spend(
  ctx: CliContext,
  walletId: string,
  amount: bigint,
  flags: SpendFlags,
): Promise<undefined> {
  // The credential is a bearer token: it goes only where it was asked for, into a JSON document
  // a script parses, never onto a terminal or into a human log line.
  if (flags.credential && !ctx.out.json) {
    throw usageError("--credential needs --json (the credential is a bearer token)");
  }
  const metadata = { ...flags.meta };
  if (flags.agent !== undefined) metadata.agent = flags.agent;
  const wallet = await ctx.tg.wallets.get(walletId);
  const result = await wallet.spend(amount, {
    service: flags.service,
    metadata,
    requestId: flags.requestId,
  });
  if (ctx.out.json) {
    writeJson(ctx.out, {
      charge: result.charge,
      remaining: result.remaining,
      credentialExpiresAt: result.credentialExpiresAt,
      ...(flags.credential ? { credential: result.credential } : {}),
    });
    return undefined;
  }
  const { charge } = result;
  const over = charge.overBudget ? paint(ctx.out, "yellow", " (over budget)") : "";
  const agent = charge.metadata.agent === undefined ? "" : ` by ${charge.metadata.agent}`;
  writeLine(
    ctx.out,
    `spent ${charge.amount} on ${charge.service}${agent} from ${charge.walletId}${over}: ` +
      `charge ${charge.id}, ${availableText(ctx.out, result.remaining)} remaining`,
  );
  return undefined;
}
