import { createHash } from "node:crypto";

/**
 * The canonical encoding of a receipt line and its hash (docs/events.md#the-hash-chain). Both
 * stores write `hash` and `prevHash` with this encoding (the Redis scripts with their own Lua
 * copy of it), and the client's audit recomputes them, so it is part of the public contract:
 * any verifier in any language can implement it from the docs.
 */

/** The fields of a line that its hash covers. */
export interface HashedLine {
  id: string;
  walletId: string;
  kind: string;
  amount: number | bigint;
  service: string;
  overBudget: boolean;
  holdId: string;
  requestId: string;
  createdAtMs: number;
  metadata: Record<string, string>;
  prevHash: string;
}

const version = "tollgate-line-v1";

/** `<byte length>:<UTF-8 bytes>,` */
function netstring(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([Buffer.from(`${bytes.length}:`, "latin1"), bytes, Buffer.from(",")]);
}

/** The canonical bytes of a line: netstrings of its fields, metadata keys in UTF-8 byte order. */
export function canonicalLine(line: HashedLine): Buffer {
  const keys = Object.keys(line.metadata)
    .map((key) => Buffer.from(key, "utf8"))
    .sort(Buffer.compare)
    .map((bytes) => bytes.toString("utf8"));
  const fields = [
    version,
    line.id,
    line.walletId,
    line.kind,
    String(line.amount),
    line.service,
    line.overBudget ? "1" : "0",
    line.holdId,
    line.requestId,
    String(line.createdAtMs),
    String(keys.length),
    ...keys.flatMap((key) => [key, line.metadata[key] ?? ""]),
    line.prevHash,
  ];
  return Buffer.concat(fields.map(netstring));
}

/** Lowercase hex SHA-1 of the canonical encoding. */
export function lineHash(line: HashedLine): string {
  return createHash("sha1").update(canonicalLine(line)).digest("hex");
}
