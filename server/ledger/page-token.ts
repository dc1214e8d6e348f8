import { createHash } from "node:crypto";
import { invalidArgument } from "./ledger-error.js";

/**
 * Opaque page tokens. A token carries the offset to resume at and a digest of the query it
 * belongs to, so a token from one listing cannot be replayed against another (AIP-158).
 */
export function encodePageToken(cursor: number | undefined, query: string): string {
  if (cursor === undefined) return "";
  return Buffer.from(JSON.stringify({ o: cursor, q: queryDigest(query) })).toString("base64url");
}

/** Offset to start at; 0 for an empty token. Throws INVALID_ARGUMENT on a foreign or bad token. */
export function decodePageToken(token: string, query: string): number {
  if (token === "") return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "o" in parsed &&
      "q" in parsed &&
      Number.isSafeInteger(parsed.o) &&
      (parsed.o as number) >= 0 &&
      parsed.q === queryDigest(query)
    ) {
      return parsed.o as number;
    }
  } catch {
    // fall through: any undecodable token is the caller's error
  }
  throw invalidArgument("page_token", "not a page token of this listing");
}

function queryDigest(query: string): string {
  return createHash("sha256").update(query).digest("base64url").slice(0, 12);
}
