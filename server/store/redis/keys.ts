/**
 * Every Redis key of the store, built in this one module (BullMQ's `queue-keys.ts`, ratelimit's
 * `CacheKeyGenerator`). The Lua scripts build keys too (a spend walks its ancestors, which the
 * caller cannot name up front), so the layout is declared once here as data and turned into both
 * the TypeScript builders below and the Lua functions of the generated `keys` include: the two
 * can never disagree.
 *
 * Layout, with `P` the key prefix (default `tg:`) and `R` a root id:
 *
 * | key                        | type   | holds                                               |
 * | -------------------------- | ------ | --------------------------------------------------- |
 * | `P{R}:tree`                | hash   | project, seq (the id counter), held (open holds'    |
 * |                            |        | credits), fingerprint (of the create, kept for good)|
 * |                            |        | close_at, close_request (a close under way),        |
 * |                            |        | eseq, ems (the event log's last seq and ms), lhash  |
 * |                            |        | (hash of the tree's last line: the chain's head),   |
 * |                            |        | lid ("<its field in lines> <hash>"), fmt ("2":      |
 * |                            |        | created with the compact layout below)              |
 * | `P{R}:idem`                | hash   | request id -> its idempotency record: "<expires ms> |
 * |                            |        | <fingerprint> lc12 r993" (idempotency.lua); expired |
 * |                            |        | ones are ignored and overwritten, and live as long  |
 * |                            |        | as the tree                                         |
 * | `P{R}:idem:<request id>`   | string | a record as written before that hash (JSON, PX):    |
 * |                            |        | read only on trees created before it (no `fmt`)     |
 * | `P{R}:w:<id>`              | hash   | a wallet: balances, settings, receipt aggregates,   |
 * |                            |        | alerts (thresholds, "50,80,100"), alert_level,      |
 * |                            |        | over_alerted (soft cap alert fired, "1")            |
 * | `P{R}:w:<id>:children`     | list   | direct children, creation order                     |
 * | `P{R}:w:<id>:lines`        | list   | ids of the wallet's own lines, oldest first, as the |
 * |                            |        | lines hash names them                               |
 * | `P{R}:w:<id>:sublines`     | list   | ids of the subtree's lines, oldest first, as above  |
 * | `P{R}:w:<id>:svc`          | zset   | by service: name scored by minus its credits, so    |
 * |                            |        | rank order is most credits first, ties by name      |
 * | `P{R}:w:<id>:svc:n`        | hash   | by service: name -> calls                           |
 * | `P{R}:w:<id>:agent`        | zset   | by agent, as `svc`                                  |
 * | `P{R}:w:<id>:agent:n`      | hash   | by agent: name -> calls                             |
 * | `P{R}:w:<id>:holds`        | zset   | the wallet's open hold ids, scored by creation seq  |
 * | `P{R}:h:<hold id>`         | hash   | a hold                                              |
 * | `P{R}:holds`               | zset   | the tree's open holds as 16-digit zero-padded seqs, |
 * |                            |        | scored by expiresAtMs: due order, ties by creation  |
 * | `P{R}:closing`             | list   | a close under way: a stack of "<child cursor> <id>" |
 * | `P{R}:lines`               | hash   | line id relative to the tree ("c12") -> the line,   |
 * |                            |        | compact (docs/architecture.md#receipt-lines); lines |
 * |                            |        | written before that: full id -> JSON object         |
 * | `P{R}:events`              | stream | the tree's event log: id `<ms>-<seq>`, one field    |
 * |                            |        | `e` (compact JSON; docs/events.md#redis-layout)     |
 * | `P{R}:rdm:<charge or hold>`| string | the request id that redeemed its credential, PX =   |
 * |                            |        | until the credential expires                        |
 * | `P{R}:gwfail`              | hash   | spend line or hold id -> the gateway's failure      |
 * | `Pp:{<project>}:roots`     | zset   | the project's root ids, scored by position          |
 * | `Pp:{<project>}:agent-keys`| zset   | the project's agent key ids, scored by creation ms  |
 * | `Pak:{<key id>}`           | hash   | an agent key: `r` (JSON record), `revoked` (ms);    |
 * |                            |        | expires a day after the key does                    |
 * | `P{sweep}:due`             | zset   | root ids with pending work (due holds, a close),    |
 * |                            |        | scored by when it is due: the sweeper's schedule    |
 *
 * The hash tag `{R}` puts every key of one tree in one cluster slot, so each script touches one
 * slot and the store runs on Redis Cluster unchanged. The root listing and the sweeper's schedule
 * span trees, so each has a tag of its own and scripts of its own.
 *
 * One pub/sub channel, not a key: `Pevents:<URI-encoded project>`, on which every script that
 * appended events to a tree PUBLISHes `<root> <ms>-<seq>` (its last event). Classic PUBLISH
 * reaches every node of a cluster, so a subscriber on any node hears every tree.
 */

/** The key prefix when none is configured: short, because it is on every key. */
export const defaultKeyPrefix = "tg:";

/** A piece of a key pattern: literal text, or the one parameter (an id) of the key. */
const param = Symbol("param");
type Part = string | typeof param;

/** The per-tree keys, as the suffix after `P{R}:`. Order is irrelevant; names are the API. */
const treeLayout = {
  tree: ["tree"],
  idempotency: ["idem"],
  legacyIdempotency: ["idem:", param],
  wallet: ["w:", param],
  children: ["w:", param, ":children"],
  ownLines: ["w:", param, ":lines"],
  subtreeLines: ["w:", param, ":sublines"],
  byService: ["w:", param, ":svc"],
  serviceCalls: ["w:", param, ":svc:n"],
  byAgent: ["w:", param, ":agent"],
  agentCalls: ["w:", param, ":agent:n"],
  walletHolds: ["w:", param, ":holds"],
  hold: ["h:", param],
  openHolds: ["holds"],
  closing: ["closing"],
  lines: ["lines"],
  events: ["events"],
  redemption: ["rdm:", param],
  gatewayFailures: ["gwfail"],
} as const satisfies Record<string, readonly Part[]>;

type TreeKeyName = keyof typeof treeLayout;

/**
 * Throws unless `prefix` is usable: a brace in it would become the hash tag instead of the root
 * id, scattering one tree over many slots.
 */
export function assertKeyPrefix(prefix: string): void {
  if (/[{}]/.test(prefix)) {
    throw new RangeError(`key prefix ${JSON.stringify(prefix)} must not contain "{" or "}"`);
  }
}

/** `P{R}:`, the common start of every key of one tree. */
export function treeBase(prefix: string, rootId: string): string {
  return `${prefix}{${rootId}}:`;
}

/** One key of a tree; `id` is the wallet, hold or request id for the keys that take one. */
export function treeKey(prefix: string, rootId: string, name: TreeKeyName, id = ""): string {
  const parts: readonly Part[] = treeLayout[name];
  return treeBase(prefix, rootId) + parts.map((p) => (p === param ? id : p)).join("");
}

/**
 * The project's root listing. The project is URI-encoded so that no project name can contain a
 * brace (and steal the hash tag) or collide with another project's key.
 */
export function projectRootsKey(prefix: string, project: string): string {
  return `${prefix}p:{${encodeURIComponent(project)}}:roots`;
}

/** The project's agent key ids, scored by creation time (the root listing's tag: one slot). */
export function projectAgentKeysKey(prefix: string, project: string): string {
  return `${prefix}p:{${encodeURIComponent(project)}}:agent-keys`;
}

/** One agent key's record: its own hash tag, so lookups by id go straight to its slot. */
export function agentKeyKey(prefix: string, keyId: string): string {
  return `${prefix}ak:{${keyId}}`;
}

/**
 * The sweeper's schedule: root ids with pending work, scored by when it is due. Its own hash
 * tag, since it spans trees (on a cluster it lives on one master, like a project's listing).
 */
export function sweepScheduleKey(prefix: string): string {
  return `${prefix}{sweep}:due`;
}

/**
 * The channel a project's event notifications go to (see the layout above). URI-encoded like the
 * root listing's tag, so no project name can collide with another's channel.
 */
export function eventsChannel(prefix: string, project: string): string {
  return `${prefix}events:${encodeURIComponent(project)}`;
}

/**
 * Lua source of the generated `keys` include. Scripts get the tree's `tree` key as KEYS[1]; from
 * it this derives the tree base and root id and defines `key_<name>(id)` for every key above.
 */
export function luaKeysInclude(): string {
  const treeSuffix = treeLayout.tree.join("");
  const lines = [
    "-- Generated from server/store/redis/keys.ts: the key layout lives there, not here.",
    `local TREE_BASE = string.sub(KEYS[1], 1, #KEYS[1] - ${treeSuffix.length})`,
    'local ROOT_ID = string.match(KEYS[1], "{([^}]*)}")',
    "-- The key prefix: everything before the tree's hash tag (a prefix has no brace).",
    'local KEY_PREFIX = string.sub(KEYS[1], 1, string.find(KEYS[1], "{", 1, true) - 1)',
  ];
  for (const [name, parts] of Object.entries(treeLayout) as [TreeKeyName, readonly Part[]][]) {
    const body = parts.map((p) => (p === param ? "id" : JSON.stringify(p))).join(" .. ");
    lines.push(`local function key_${snake(name)}(id) return TREE_BASE .. ${body} end`);
  }
  lines.push(
    "-- encodeURIComponent, byte by byte (a project is UTF-8): eventsChannel in keys.ts.",
    "local function events_channel(project)",
    '  local encoded = string.gsub(project, "[^A-Za-z0-9%-_%.!~%*\'%(%)]", function(c)',
    '    return string.format("%%%02X", string.byte(c))',
    "  end)",
    '  return KEY_PREFIX .. "events:" .. encoded',
    "end",
  );
  return lines.join("\n");
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
