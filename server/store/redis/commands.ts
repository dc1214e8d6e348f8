import { performance } from "node:perf_hooks";
import type { ClientContext, Result } from "ioredis";
import type { RedisClient } from "./connect.js";
import { luaKeysInclude } from "./keys.js";
import { luaConstantsInclude } from "./reply-codes.js";
import { loadScript } from "./script-loader.js";

/**
 * The store's Lua scripts as ioredis commands. `defineCommand` sends EVALSHA and falls back to
 * EVAL on NOSCRIPT, so a Redis that restarted, failed over or ran SCRIPT FLUSH is reloaded on the
 * next call with no start-up step. The version in the names keeps two deployed versions of the
 * scripts apart on a shared client; bump it whenever a script's KEYS, ARGV or reply changes.
 */

/**
 * A script's reply: `[0, ...payload]` on success, `[code, ...detail]` when it refused, `[16]`
 * when it must be called again (see reply-codes.ts). Payload and detail entries are strings.
 */
export type ScriptReply = [number, ...string[]];

/** Command name -> script file. The number ending each file name is its key count. */
const scriptFiles = {
  tollgate_v4_add_root: "add-root-1",
  tollgate_v4_list_roots: "list-roots-1",
  tollgate_v4_create_root: "create-root-2",
  tollgate_v4_create_child: "create-child-2",
  tollgate_v4_get_wallet: "get-wallet-1",
  tollgate_v4_list_wallets: "list-wallets-1",
  tollgate_v4_add_credits: "add-credits-2",
  tollgate_v4_close_wallet: "close-wallet-2",
  tollgate_v4_spend: "spend-2",
  tollgate_v4_spend_batch: "spend-batch-2",
  tollgate_v4_authorize: "authorize-2",
  tollgate_v4_capture: "capture-2",
  tollgate_v4_void: "void-2",
  tollgate_v4_get_receipt: "get-receipt-1",
  tollgate_v4_list_charges: "list-charges-1",
  tollgate_v4_list_breakdown: "list-breakdown-1",
  tollgate_v4_list_child_receipts: "list-child-receipts-1",
  tollgate_v4_sweep: "sweep-1",
  tollgate_v4_claim_due: "claim-due-1",
  tollgate_v4_settle_due: "settle-due-1",
  tollgate_v4_read_events: "read-events-1",
} as const;

type CommandName = keyof typeof scriptFiles;

/** One key (the tree, a project's root listing or the sweeper's schedule) then ARGV. */
type OneKey<Context extends ClientContext> = (
  key: string,
  ...argv: string[]
) => Result<ScriptReply, Context>;
/** The tree and its idempotency records (P{R}:idem), then ARGV. */
type TwoKeys<Context extends ClientContext> = (
  tree: string,
  idempotency: string,
  ...argv: string[]
) => Result<ScriptReply, Context>;

declare module "ioredis" {
  interface RedisCommander<Context> {
    tollgate_v4_add_root: OneKey<Context>;
    tollgate_v4_list_roots: OneKey<Context>;
    tollgate_v4_create_root: TwoKeys<Context>;
    tollgate_v4_create_child: TwoKeys<Context>;
    tollgate_v4_get_wallet: OneKey<Context>;
    tollgate_v4_list_wallets: OneKey<Context>;
    tollgate_v4_add_credits: TwoKeys<Context>;
    tollgate_v4_close_wallet: TwoKeys<Context>;
    tollgate_v4_spend: TwoKeys<Context>;
    tollgate_v4_spend_batch: TwoKeys<Context>;
    tollgate_v4_authorize: TwoKeys<Context>;
    tollgate_v4_capture: TwoKeys<Context>;
    tollgate_v4_void: TwoKeys<Context>;
    tollgate_v4_get_receipt: OneKey<Context>;
    tollgate_v4_list_charges: OneKey<Context>;
    tollgate_v4_list_breakdown: OneKey<Context>;
    tollgate_v4_list_child_receipts: OneKey<Context>;
    tollgate_v4_sweep: OneKey<Context>;
    tollgate_v4_claim_due: OneKey<Context>;
    tollgate_v4_settle_due: OneKey<Context>;
    tollgate_v4_read_events: OneKey<Context>;
  }
}

let sources: Map<CommandName, { lua: string; numberOfKeys: number }> | undefined;

/** Every script's resolved source, read once per process (on first use: nothing runs at import). */
export function scriptSources(): ReadonlyMap<CommandName, { lua: string; numberOfKeys: number }> {
  if (sources === undefined) {
    const generated = { keys: luaKeysInclude(), constants: luaConstantsInclude() };
    sources = new Map();
    for (const [command, file] of Object.entries(scriptFiles) as [CommandName, string][]) {
      sources.set(command, { lua: loadScript(file, generated), numberOfKeys: keyCount(file) });
    }
  }
  return sources;
}

/**
 * Registers every script on `redis` (idempotent: defining again replaces the same script). On a
 * cluster each call is routed by its first key (the tree, or the project's root listing); a
 * master that lacks the script answers NOSCRIPT and the EVAL fallback goes to the same master, so
 * each master loads each script on first use and again after a restart or failover.
 */
export function defineLedgerCommands(redis: RedisClient): void {
  for (const [command, definition] of scriptSources()) redis.defineCommand(command, definition);
}

/**
 * Reports every script call on `redis` to `observer` from now on: the script's name (its file
 * without the key count: `spend`, `claim-due`) and the seconds until Redis answered (or the call
 * failed). It wraps the command functions `defineLedgerCommands` put on the client, so call it
 * after that; it changes nothing about the call or its result.
 */
export function observeLedgerCommands(
  redis: RedisClient,
  observer: (script: string, seconds: number) => void,
): void {
  const commands = redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [command, file] of Object.entries(scriptFiles)) {
    const send = commands[command];
    if (send === undefined) continue;
    const script = file.replace(/-\d+$/, "");
    commands[command] = function (this: unknown, ...args: unknown[]) {
      const startedMs = performance.now();
      const reply = send.apply(this, args);
      const done = () => observer(script, (performance.now() - startedMs) / 1000);
      reply.then(done, done);
      return reply;
    };
  }
}

function keyCount(file: string): number {
  const match = /-(\d+)$/.exec(file);
  if (match?.[1] === undefined) throw new Error(`script ${file} does not end with its key count`);
  return Number(match[1]);
}
