import type { Command } from "commander";
import type { AuditReport } from "../audit.js";
import type { CliContext } from "./context.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { paint, table, writeJson, writeLine } from "./output.js";
import type { Runner } from "./run.js";

/** `tollgate audit <wallet>`: re-verify a tree's hash chain and totals from its lines. */
export function registerAudit(program: Command, runner: Runner): void {
  program
    .command("audit")
    .description(
      "re-verify a wallet tree from the outside: every line's hash and link, and every wallet's " +
        "totals recomputed from the lines (exit 7 naming the first broken line otherwise)",
    )
    .argument("<wallet>", "wallet id (its whole tree, from the root, is audited)")
    .action((walletId: string, _options: unknown, command: Command) =>
      runner.run(command, (ctx) => audit(ctx, walletId)),
    );
}

async function audit(ctx: CliContext, walletId: string): Promise<undefined> {
  const report = await ctx.tg.audit(walletId);
  if (ctx.out.json) {
    writeJson(ctx.out, report);
  } else {
    for (const line of reportLines(ctx, report)) writeLine(ctx.out, line);
  }
  if (!report.ok) throw new CliError(failure(report), ExitCode.auditFailed);
  return undefined;
}

/** The one stderr line of a failed audit: the first broken line, else the first wrong total. */
function failure(report: AuditReport): string {
  const broken = report.firstBreak;
  if (broken !== undefined) {
    return (
      `audit failed: line ${broken.lineId} (#${broken.index + 1} of ${report.lines} in tree ` +
      `${report.rootId}): ${broken.problem}`
    );
  }
  const [first] = report.mismatches;
  const more = report.mismatches.length > 1 ? ` (and ${report.mismatches.length - 1} more)` : "";
  return first === undefined
    ? `audit failed for tree ${report.rootId}`
    : `audit failed: ${first.walletId} ${first.figure} is ${first.reported}, its lines add up to ` +
        `${first.fromLines}${more}`;
}

function reportLines(ctx: CliContext, report: AuditReport): string[] {
  const { out } = ctx;
  const head = `audit of tree ${report.rootId}: ${report.lines} lines, ${report.wallets} wallets`;
  if (report.ok) {
    return [
      head,
      `${paint(out, "green", "OK")}: the hash chain verifies and every total matches its lines`,
    ];
  }
  const lines = [head];
  const broken = report.firstBreak;
  lines.push(
    broken === undefined
      ? "hash chain: verifies"
      : `${paint(out, "red", "hash chain: BROKEN")} at line ${broken.lineId} ` +
          `(#${broken.index + 1}): ${broken.problem}`,
  );
  if (report.mismatches.length === 0) {
    lines.push("totals: every total matches its lines");
  } else {
    lines.push(paint(out, "red", `totals: ${report.mismatches.length} do not match their lines`));
    const rows = report.mismatches.map((m) => [
      m.walletId,
      m.figure,
      String(m.reported),
      String(m.fromLines),
    ]);
    const columns = [
      { header: "WALLET" },
      { header: "FIGURE" },
      { header: "REPORTED", align: "right" as const },
      { header: "FROM LINES", align: "right" as const },
    ];
    lines.push(...table(columns, rows).map((l) => `  ${l}`));
  }
  return lines;
}
