import { usageError } from "./exit-codes.js";

/**
 * Parsers of the CLI's arguments and option values, each made for the name it reports. They run
 * while commander parses, before the command's action: a bad amount is a usage error (exit 2)
 * and never reaches the server.
 */

/** The largest amount the ledger accepts: 2^53 - 1. */
const maxCredits = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Credits: decimal digits only. `1.5`, `-3`, `1e3`, `0x10` and `abc` are refused rather than
 * rounded or reinterpreted, since a different number is a different charge.
 */
export function amountOf(name: string): (text: string) => bigint {
  return (text) => {
    if (!/^\d+$/.test(text)) {
      throw usageError(
        `${name}: must be a whole number of credits (digits only: no sign, fraction or exponent), got "${text}"`,
      );
    }
    const value = BigInt(text);
    if (value > maxCredits) {
      throw usageError(`${name}: must be at most 2^53-1 (9007199254740991), got ${text}`);
    }
    return value;
  };
}

/** A positive whole number of milliseconds (--timeout). */
export function parseMilliseconds(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw usageError(`--timeout: must be a positive whole number of milliseconds, got "${text}"`);
  }
  return Number(text);
}

/**
 * A positive whole number of seconds (--ttl); the server checks the upper bound (a year for an
 * agent key).
 */
export function parseSeconds(name: string): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
      throw usageError(`${name}: must be a positive whole number of seconds, got "${text}"`);
    }
    return Number(text);
  };
}

/** A repeatable option (--service a --service b), collected in order. */
export function collectList(text: string, previous: string[] = []): string[] {
  return [...previous, text];
}

/** --alert 50,80,100: percentages of the budget (the server checks 1..1000, at most 10). */
export function parseThresholds(text: string): number[] {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw usageError(
      `--alert: must be comma-separated whole percentages such as 50,80,100, got "${text}"`,
    );
  }
  return parts.map(Number);
}

/** --meta k=v, repeatable: collects into one record (a repeated key keeps the last value). */
export function collectMetadata(
  text: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const at = text.indexOf("=");
  if (at <= 0) throw usageError(`--meta: must be key=value, got "${text}"`);
  return { ...previous, [text.slice(0, at)]: text.slice(at + 1) };
}

/** A comma-separated list (--kinds spend,refill), each item trimmed, empty items dropped. */
export function parseList(text: string): string[] {
  return text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
}
