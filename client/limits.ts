import { invalidArgument } from "./errors/invalid-argument-error.js";

/**
 * The ledger's input limits, mirrored from `server/ledger/limits.ts` (the source of truth, with
 * the reason for each) and applied as `server/ledger/validation.ts` applies them. Mirrored, not
 * imported, so the client never pulls a server module into a caller's bundle;
 * `test/client/limits.test.ts` fails if the two drift apart.
 *
 * The client checks them before any RPC so that one bad call fails alone with an
 * {@link InvalidArgumentError}: in stream mode an oversized field would otherwise end the stream
 * that every other operation shares.
 */
export const ClientLimits = {
  nameMaxChars: 128,
  serviceMaxChars: 64,
  metadataMaxKeys: 16,
  metadataKeyMaxChars: 64,
  metadataValueMaxChars: 256,
  requestIdMaxChars: 128,
  holdTtlMinSeconds: 1,
  holdTtlMaxSeconds: 86_400,
} as const;

/** Lengths are counted in code points, as the server counts them (an emoji is one character). */
function codePoints(s: string): number {
  return [...s].length;
}

/** `value` as text of `min..max` characters, or an InvalidArgumentError naming `field`. */
function checkText(field: string, value: unknown, min: number, max: number): string {
  if (typeof value !== "string") {
    throw invalidArgument(field, `must be a string, got ${typeof value}`);
  }
  const length = codePoints(value);
  if (length < min || length > max) {
    const range = min === 0 ? `at most ${max}` : `${min}..${max}`;
    throw invalidArgument(field, `must be ${range} characters, got ${length}`);
  }
  return value;
}

/** A spend's or hold's service label: 1..64 characters. */
export function checkService(value: unknown): string {
  return checkText("service", value, 1, ClientLimits.serviceMaxChars);
}

/** A wallet's name: 0..128 characters (omitted is ""). */
export function checkName(value: unknown): string {
  return checkText("name", value ?? "", 0, ClientLimits.nameMaxChars);
}

/**
 * A copy of `value` as request metadata: at most 16 keys, each key 1..64 characters, each value
 * a string of at most 256 (omitted is {}).
 */
export function checkMetadata(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw invalidArgument("metadata", "must be an object of strings");
  }
  const entries = Object.entries(value);
  if (entries.length > ClientLimits.metadataMaxKeys) {
    throw invalidArgument(
      "metadata",
      `at most ${ClientLimits.metadataMaxKeys} keys, got ${entries.length}`,
    );
  }
  for (const [key, entry] of entries) {
    const keyLength = codePoints(key);
    if (keyLength < 1 || keyLength > ClientLimits.metadataKeyMaxChars) {
      throw invalidArgument(
        "metadata",
        `keys must be 1..${ClientLimits.metadataKeyMaxChars} characters, got ${keyLength}`,
      );
    }
    if (typeof entry !== "string") {
      throw invalidArgument("metadata", `values must be strings (key ${key})`);
    }
    if (codePoints(entry) > ClientLimits.metadataValueMaxChars) {
      throw invalidArgument(
        "metadata",
        `values must be at most ${ClientLimits.metadataValueMaxChars} characters (key ${key})`,
      );
    }
  }
  return Object.fromEntries(entries);
}

const requestIdPattern = new RegExp(`^[\\x21-\\x7e]{1,${ClientLimits.requestIdMaxChars}}$`);

/**
 * An idempotency key: 1..128 printable ASCII characters without spaces, because it travels back
 * in the `x-request-id` trailer and into logs and Redis keys.
 */
export function checkRequestId(value: unknown): string {
  if (typeof value !== "string" || !requestIdPattern.test(value)) {
    throw invalidArgument(
      "request_id",
      `must be 1..${ClientLimits.requestIdMaxChars} printable ASCII characters without spaces`,
    );
  }
  return value;
}

/** A hold's lifetime in seconds: 1..86400, or 0/omitted for the server's default (300). */
export function checkTtlSeconds(value: unknown): number {
  if (value === undefined || value === 0) return 0;
  const { holdTtlMinSeconds: min, holdTtlMaxSeconds: max } = ClientLimits;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(
      "ttl_seconds",
      `must be an integer of ${min}..${max} seconds (0: default), got ${String(value)}`,
    );
  }
  return value;
}
