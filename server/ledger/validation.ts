import { z } from "zod";
import { isHoldId, isWalletId } from "./ids.js";
import { invalidArgument } from "./ledger-error.js";
import { Limits } from "./limits.js";
import type { BreakdownDimension, EventKind } from "./types.js";

/**
 * Request validation: every limit of the contract in one place. A violation becomes
 * INVALID_ARGUMENT naming the proto field (snake_case), before anything touches a store.
 */

const codePoints = (s: string) => [...s].length;

function text(min: number, max: number) {
  return z
    .string({ error: "must be a string" })
    .refine((s) => codePoints(s) >= min && codePoints(s) <= max, {
      error: min === 0 ? `must be at most ${max} characters` : `must be ${min}..${max} characters`,
    });
}

/** Credits as `number` (safe integers only) or `bigint`, normalised to an exact `number`. */
function credits(min: number) {
  return z.union([z.bigint(), z.number()], { error: "must be an integer" }).transform((v, ctx) => {
    const n = typeof v === "bigint" ? bigintToSafe(v) : v;
    if (!Number.isSafeInteger(n) || n < min || n > Limits.maxCredits) {
      ctx.addIssue({ code: "custom", message: `must be an integer from ${min} to 2^53-1` });
      return z.NEVER;
    }
    return n;
  });
}

function bigintToSafe(v: bigint): number {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : Number.NaN;
}

const metadata = z
  .record(z.string(), z.string({ error: "values must be strings" }))
  .default({})
  .refine((m) => Object.keys(m).length <= Limits.metadataMaxKeys, {
    error: `at most ${Limits.metadataMaxKeys} keys`,
  })
  .refine(
    (m) =>
      Object.keys(m).every(
        (k) => codePoints(k) >= 1 && codePoints(k) <= Limits.metadataKeyMaxChars,
      ),
    { error: `keys must be 1..${Limits.metadataKeyMaxChars} characters` },
  )
  .refine((m) => Object.values(m).every((v) => codePoints(v) <= Limits.metadataValueMaxChars), {
    error: `values must be at most ${Limits.metadataValueMaxChars} characters`,
  });

/** True for a well-formed request id (the rule below), e.g. one taken from an HTTP header. */
export function isRequestId(text: string): boolean {
  return requestIdPattern.test(text);
}

const requestIdPattern = new RegExp(`^[\\x21-\\x7e]{1,${Limits.requestIdMaxChars}}$`);

/**
 * Request ids travel back in the `x-request-id` trailer and into logs and Redis keys, so they are
 * printable ASCII without spaces (UUIDs, ULIDs and every framework's tool-call ids qualify).
 */
export const requestId = z.string({ error: "must be a string" }).regex(requestIdPattern, {
  error: `must be 1..${Limits.requestIdMaxChars} printable ASCII characters without spaces`,
});
export const walletId = z.string().refine(isWalletId, { error: "is not a wallet id" });
const holdId = z.string().refine(isHoldId, { error: "is not a hold id" });
const name = text(0, Limits.nameMaxChars);
const service = text(1, Limits.serviceMaxChars);
const pageSize = z
  .number()
  .int()
  .min(0, { error: `must be 0..${Limits.pageSizeMax}` })
  .max(Limits.pageSizeMax, { error: `must be 0..${Limits.pageSizeMax}` })
  .default(0)
  .transform((n) => (n === 0 ? Limits.pageSizeDefault : n));
const pageToken = z.string().default("");

/** The default alert thresholds: half, most, and all of the budget. */
export const defaultAlertThresholds = [50, 80, 100];

const alertThresholds = z
  .array(
    z
      .number()
      .int()
      .min(Limits.alertThresholdMin, {
        error: `must be ${Limits.alertThresholdMin}..${Limits.alertThresholdMax}`,
      })
      .max(Limits.alertThresholdMax, {
        error: `must be ${Limits.alertThresholdMin}..${Limits.alertThresholdMax}`,
      }),
  )
  .max(Limits.alertThresholdsMax, { error: `at most ${Limits.alertThresholdsMax} thresholds` })
  .refine((ts) => new Set(ts).size === ts.length, { error: "must not repeat a threshold" })
  .default([])
  .transform((ts) =>
    ts.length === 0 ? [...defaultAlertThresholds] : [...ts].sort((a, b) => a - b),
  );

export const createWalletInput = z.object({
  parentId: z
    .string()
    .default("")
    .refine((id) => id === "" || isWalletId(id), { error: "is not a wallet id" }),
  name: name.default(""),
  budget: credits(0),
  hardCap: z.boolean().optional(),
  metadata,
  requestId,
  alertThresholds,
});

export const walletInput = z.object({ walletId });

export const listWalletsInput = z.object({
  parentId: z
    .string()
    .default("")
    .refine((id) => id === "" || isWalletId(id), { error: "is not a wallet id" }),
  pageSize,
  pageToken,
});

export const addCreditsInput = z.object({ walletId, amount: credits(1), metadata, requestId });

export const closeWalletInput = z.object({ walletId, requestId });

export const spendInput = z.object({ walletId, amount: credits(1), service, metadata, requestId });

export const authorizeInput = spendInput.extend({
  ttlSeconds: z
    .number()
    .int()
    .default(0)
    .refine((s) => s === 0 || (s >= Limits.holdTtlMinSeconds && s <= Limits.holdTtlMaxSeconds), {
      error: `must be ${Limits.holdTtlMinSeconds}..${Limits.holdTtlMaxSeconds} seconds (0: default)`,
    })
    .transform((s) => (s === 0 ? Limits.holdTtlDefaultSeconds : s)),
});

export const captureInput = z.object({ holdId, amount: credits(1), metadata, requestId });

export const voidInput = z.object({ holdId, requestId });

export const listChargesInput = z.object({
  walletId,
  includeDescendants: z.boolean().default(false),
  pageSize,
  pageToken,
});

export const listBreakdownInput = z.object({
  walletId,
  // A string in, so a transport can hand over whatever it decoded and this names the field.
  dimension: z
    .string()
    .refine((d): d is BreakdownDimension => d === "service" || d === "agent", {
      error: "must be SERVICE or AGENT",
    })
    .transform((d) => d as BreakdownDimension),
  pageSize,
  pageToken,
});

export const listChildReceiptsInput = z.object({ walletId, pageSize, pageToken });

/** Every event kind, as the feed takes them. */
export const eventKinds = [
  "spend",
  "capture",
  "void",
  "expire",
  "refill",
  "allocation",
  "wallet_created",
  "wallet_closed",
  "hold_placed",
  "threshold_crossed",
  "soft_cap_exceeded",
  "wallet_exhausted",
] as const satisfies readonly EventKind[];

const eventScope = {
  // Empty: every tree of the caller's project.
  walletId: z
    .string()
    .default("")
    .refine((id) => id === "" || isWalletId(id), { error: "is not a wallet id" }),
  // Strings in, so a transport hands over whatever it decoded (an unknown enum value becomes "")
  // and this names the field. Empty: every kind.
  kinds: z
    .array(
      z.string().refine((k): k is EventKind => (eventKinds as readonly string[]).includes(k), {
        error: "must be known event kinds",
      }),
    )
    .max(eventKinds.length * 2, { error: "too many kinds" })
    .default([])
    .transform((ks) => new Set(ks as EventKind[])),
  after: z.string().max(Limits.eventCursorMaxChars, { error: "not an event cursor" }).default(""),
};

export const watchEventsInput = z.object(eventScope);

export const listEventsInput = z.object({ ...eventScope, pageSize });

/**
 * Parses `input` or throws INVALID_ARGUMENT naming the first offending field in snake_case
 * (`walletId` -> `wallet_id`), which is how every client language spells it.
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const head = issue?.path[0];
  const field = typeof head === "string" ? snakeCase(head) : "request";
  const missing = issue !== undefined && valueAt(input, issue.path) === undefined;
  const message = missing ? "is required" : issue?.message;
  throw invalidArgument(field, message ?? "is invalid");
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** `walletId` -> `wallet_id`: a field as the proto and every client language spell it. */
export function snakeCase(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
