/**
 * Input limits. Each one exists so that a single request cannot make the ledger slow, unbounded or
 * inexact; each violation is rejected with INVALID_ARGUMENT naming the field.
 */
export const Limits = {
  /** 2^53 - 1: Redis Lua numbers are doubles, so no amount or balance may pass this. */
  maxCredits: Number.MAX_SAFE_INTEGER,
  /** Names are labels for people, not documents. */
  nameMaxChars: 128,
  /** Service names are identifiers ("web_search"), short enough to be breakdown keys. */
  serviceMaxChars: 64,
  /** Metadata rides on every receipt line: bounded so lines stay small. */
  metadataMaxKeys: 16,
  metadataKeyMaxChars: 64,
  metadataValueMaxChars: 256,
  requestIdMaxChars: 128,
  /** A tree has at most 8 levels (root = 1): every spend walks its ancestors once. */
  maxDepth: 8,
  /** A hold that lives less than a second cannot cover a real tool call. */
  holdTtlMinSeconds: 1,
  /** A hold longer than a day is a leak of reserved credits, not a reservation. */
  holdTtlMaxSeconds: 86_400,
  /** Five minutes covers a slow LLM call with margin. */
  holdTtlDefaultSeconds: 300,
  pageSizeMax: 1000,
  pageSizeDefault: 100,
} as const;
