import { isWalletId, treeOf } from "../ledger/ids.js";
import { invalidArgument } from "../ledger/ledger-error.js";
import { Limits } from "../ledger/limits.js";
import type { EventPosition } from "../ledger/types.js";

/**
 * Event cursors (docs/events.md#cursors): where a reader of the event feed stands. Opaque to
 * clients: base64url of `{"v":1,"t":{"<root>":"<ms>-<seq>"},"s":<ms>}`, the position of the
 * last event read per tree, plus, for a project-wide reader, when it began: a tree it has no
 * position for is read from its first event after `s`.
 *
 * A cursor carries no secret and needs none: every read through it is checked against the
 * caller's project like any other call, so a cursor from another project reads nothing.
 */
export interface EventCursor {
  /** Last position read, per root id. */
  trees: Map<string, EventPosition>;
  /** Project-wide readers: trees without a position are read from events with `ms` > this. */
  sinceMs?: number;
}

/** The position as `<ms>-<seq>`, the form of Redis stream ids. */
export function formatPosition(p: EventPosition): string {
  return `${p.ms}-${p.seq}`;
}

export function encodeCursor(cursor: EventCursor): string {
  const trees: Record<string, string> = {};
  for (const [root, position] of cursor.trees) trees[root] = formatPosition(position);
  const body: { v: 1; t: Record<string, string>; s?: number } = { v: 1, t: trees };
  if (cursor.sinceMs !== undefined) body.s = cursor.sinceMs;
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

const positionPattern = /^(0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,15})$/;

/** The cursor in `text`; INVALID_ARGUMENT (field "after") when it is not one. */
export function decodeCursor(text: string): EventCursor {
  const bad = () => invalidArgument("after", "not an event cursor");
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw bad();
  const { v, t, s } = body as { v?: unknown; t?: unknown; s?: unknown };
  if (v !== 1 || typeof t !== "object" || t === null || Array.isArray(t)) throw bad();
  if (s !== undefined && !(Number.isSafeInteger(s) && (s as number) >= 0)) throw bad();
  const entries = Object.entries(t as Record<string, unknown>);
  if (entries.length > Limits.eventCursorMaxTrees) throw bad();
  const trees = new Map<string, EventPosition>();
  for (const [root, position] of entries) {
    if (!isWalletId(root) || treeOf(root) !== root || typeof position !== "string") throw bad();
    const match = positionPattern.exec(position);
    if (!match) throw bad();
    const ms = Number(match[1]);
    const seq = Number(match[2]);
    if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) throw bad();
    trees.set(root, { ms, seq });
  }
  return s === undefined ? { trees } : { trees, sinceMs: s as number };
}
