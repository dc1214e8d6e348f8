import type { Command } from "commander";
import type { AgentKey } from "../agent-keys.js";
import { collectList, parseSeconds } from "./arguments.js";
import type { CliContext } from "./context.js";
import { fields, paint, table, writeJson, writeLine, writeNote } from "./output.js";
import type { Runner } from "./run.js";

/** `tollgate agent-keys create|list|revoke`: scoped keys for agents (project keys only). */
export function registerAgentKeys(program: Command, runner: Runner): void {
  const keys = program
    .command("agent-keys")
    .description("mint, list and revoke agent keys: API keys bound to one wallet's subtree");

  keys
    .command("create")
    .description(
      "mint a key bound to <wallet> and its descendants; the secret is printed this once " +
        "(only its hash is stored)",
    )
    .argument("<wallet>", "wallet id the key is bound to")
    .option(
      "--service <name>",
      "a catalog service the key may pay for (repeatable; default: any)",
      collectList,
    )
    .option(
      "--ttl <seconds>",
      "lifetime, up to a year (default 86400: a day)",
      parseSeconds("--ttl"),
    )
    .option("--name <name>", "a label for people: the agent's role, say (0..64 characters)")
    .option("--request-id <id>", "idempotency key: a retry with the same id returns the same key")
    .action((walletId: string, options: CreateOptions, command: Command) =>
      runner.run(command, (ctx) => create(ctx, walletId, options)),
    );

  keys
    .command("list")
    .description("list the project's agent keys, newest first (never their secrets)")
    .option("--all", "read every page (default: the first 100 keys)")
    .action((options: { all?: boolean }, command: Command) =>
      runner.run(command, (ctx) => list(ctx, options.all === true)),
    );

  keys
    .command("revoke")
    .description("revoke a key at once: its calls and every credential it obtained are refused")
    .argument("<key>", "the key's id (ak_...)")
    .action((keyId: string, _options: unknown, command: Command) =>
      runner.run(command, (ctx) => revoke(ctx, keyId)),
    );
}

interface CreateOptions {
  service?: string[];
  ttl?: number;
  name?: string;
  requestId?: string;
}

/** A key for `--json` (dates as ISO strings). */
function keyRecord(key: AgentKey) {
  return { ...key, revokedAt: key.revokedAt ?? null };
}

/** active / expired / revoked, as of now. */
function keyStatus(ctx: CliContext, key: AgentKey, now = Date.now()): string {
  if (key.revokedAt !== undefined) return paint(ctx.out, "dim", "revoked");
  if (key.expiresAt.getTime() <= now) return paint(ctx.out, "dim", "expired");
  return "active";
}

function servicesText(key: AgentKey): string {
  return key.services.length === 0 ? "any" : key.services.join(",");
}

async function create(
  ctx: CliContext,
  walletId: string,
  options: CreateOptions,
): Promise<undefined> {
  const { key, secret } = await ctx.tg.agentKeys.create(
    { walletId, services: options.service, ttlSeconds: options.ttl, name: options.name },
    { requestId: options.requestId },
  );
  if (ctx.out.json) {
    writeJson(ctx.out, { key: keyRecord(key), secret });
    return undefined;
  }
  writeLine(ctx.out, `created ${key.id}`);
  const lines = fields([
    ["wallet", key.walletId],
    ["services", servicesText(key)],
    ["name", key.name === "" ? "-" : key.name],
    ["expires", key.expiresAt.toISOString()],
    ["secret", paint(ctx.out, "bold", secret)],
  ]);
  for (const line of lines) writeLine(ctx.out, line);
  writeNote(
    ctx.out,
    "the secret is shown this once (only its hash is stored): give it to the agent as its API key",
  );
  return undefined;
}

/** The first page shown without --all. */
const firstPage = 100;

async function list(ctx: CliContext, all: boolean): Promise<undefined> {
  const pages = ctx.tg.agentKeys.list({ pageSize: firstPage })[Symbol.asyncIterator]();
  const found: AgentKey[] = [];
  let more = false;
  for (let page = await pages.next(); !page.done; page = await pages.next()) {
    if (!all && found.length > 0) {
      // A second page exists: say so rather than read everything unasked.
      more = true;
      await pages.return?.();
      break;
    }
    found.push(...page.value);
  }
  if (ctx.out.json) {
    writeJson(ctx.out, { keys: found.map(keyRecord), more });
    return undefined;
  }
  if (found.length === 0) {
    writeNote(ctx.out, "no agent keys");
    return undefined;
  }
  const now = Date.now();
  const rows = found.map((k) => [
    k.id,
    k.walletId,
    k.name === "" ? "-" : k.name,
    servicesText(k),
    k.expiresAt.toISOString(),
    keyStatus(ctx, k, now),
  ]);
  const columns = [
    { header: "ID" },
    { header: "WALLET" },
    { header: "NAME" },
    { header: "SERVICES" },
    { header: "EXPIRES" },
    { header: "STATUS" },
  ];
  for (const line of table(columns, rows)) writeLine(ctx.out, line);
  if (more) writeNote(ctx.out, `(first ${found.length} shown; --all lists every key)`);
  return undefined;
}

async function revoke(ctx: CliContext, keyId: string): Promise<undefined> {
  const key = await ctx.tg.agentKeys.revoke(keyId);
  if (ctx.out.json) {
    writeJson(ctx.out, keyRecord(key));
    return undefined;
  }
  writeLine(ctx.out, `revoked ${key.id} (wallet ${key.walletId})`);
  return undefined;
}
